"""What a run found: ``CameraResult`` (one camera's exposures, mask plan and coverage) and ``Result``
(every camera of a scene, with the run's statistics and ``summary.json``), assembled from the
per-camera results in one way whichever executor computed them; the exposure columns and their
labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from .engine.coverage import CameraCoverage, cells_to_polygons, identify_cells
from .engine.masks.plan import CameraMasks
from .scene import Camera, Scene

MASKS_HIDE = ("windows, doors, balconies, terraces, courtyards, backyards and sensitive places; a facade "
              "only where its building's openings are unknown (or every facade, with masks.cover_facades)")
EXPOSURE_COLUMNS = ["camera_id", "target_id", "target_kind", "building_id", "visible_fraction", "max_px_per_m",
                    "dori", "distance_m", "max_px_per_m_foreshortened", "iec_2025", "incidence_deg", "seen_into",
                    "visible_fraction_error"]


@dataclass
class Result:
    """Exposures of every camera of a scene, with the run's statistics."""

    scene: Scene
    exposures: pd.DataFrame  # EXPOSURE_COLUMNS + target (index), visible_area_m2, incidence_deg, samples...
    stats: dict[str, Any] = field(default_factory=dict)
    camera_ids: list[str] | None = None  # the cameras analysed (None: all)
    mask_plans: dict[str, CameraMasks] = field(default_factory=dict)
    coverage: dict[str, CameraCoverage] = field(default_factory=dict)
    # what the outputs derive from each camera alone, by camera id (``CameraOutputs``)
    outputs: dict[str, CameraOutputs] = field(default_factory=dict, repr=False)
    _identify: dict[bool, tuple[float, NDArray[np.int64], list[shapely.Geometry] | None]] = field(
        default_factory=dict, repr=False)

    def exposures_gdf(self) -> gpd.GeoDataFrame:
        """Exposures with each target's 3D polygon (scene CRS)."""
        idx = self.exposures["target"].to_numpy(int) if len(self.exposures) else np.zeros(0, int)
        uniq, inv = np.unique(idx, return_inverse=True)
        geom: Any = self.scene.targets.polygons3d(self.scene.terrain, uniq)[inv] if len(idx) else []
        return gpd.GeoDataFrame(self.exposures.copy(), geometry=list(geom), crs=self.scene.frame.crs)

    def summary(self) -> dict[str, Any]:
        """The contract's ``summary.json`` (masks are not generated yet: 0 masks, exposure unchanged)."""
        per_cam = self.exposures.groupby("camera_id").size() if len(self.exposures) else pd.Series(dtype=int)
        cams = []
        for c in self.cameras:
            n = int(per_cam.get(c.id, 0))
            plan = self.mask_plans.get(c.id)
            entry: dict[str, Any] = {"id": c.id, "exposed_targets": n, "exposed_after_masks": n, "masks": 0,
                                     "mask_limit": c.mask_limits.max_masks, "compliant": n == 0,
                                     "model": c.model, "kind": c.kind, "defaults": list(c.defaults)}
            cov = self.coverage.get(c.id)
            if cov is not None:
                areas = cov.areas()
                entry["coverage_m2"] = areas["before_masks"]
                entry["coverage_after_masks_m2"] = areas["after_masks"]
            if plan is not None:
                entry.update({
                    "exposed_after_masks": plan.exposed_after_masks, "masks": len(plan.masks),
                    "compliant": plan.compliant, "reasons": plan.reasons,
                    "verification_samples": plan.verification_samples, "residual_samples": plan.residual_samples,
                    "public_samples_in_view": plan.public_samples,
                    "public_hidden_share": None if plan.public_hidden_share is None
                    else round(plan.public_hidden_share, 4),
                    "proposed_pan_limits_deg": plan.proposed_pan_limits_deg,
                    "proposed_tilt_limits_deg": plan.proposed_tilt_limits_deg,
                    "masks_lower_bound": plan.masks_lower_bound, "plan_method": plan.method,
                    "pieces": plan.pieces, "split_targets": len(plan.split_targets),
                    "unframable_targets": list(plan.unframable_targets), "proposed_limits": plan.proposal,
                })
            cams.append(entry)
        return {"scenario": self.scene.name, "cameras": cams, "stats": self.stats,
                "frame": {"crs": self.scene.frame.crs.to_string(),
                          "azimuth": "degrees clockwise from true north",
                          "elevation": "degrees above horizontal, negative down", "z": "metres"},
                "notes": self.scene.notes,
                "masking": {"margin_deg": self.scene.scenario.masks.margin_deg,
                            "hides": MASKS_HIDE,
                            "facades": "masked whole only where the building's openings are unknown (no "
                                       "opening data and no synthesis), or everywhere with masks.cover_facades",
                            "facades_masked_whole": self.scene.facades_masked_whole,
                            "cover_facades": self.scene.scenario.masks.cover_facades,
                            "objective": self.scene.scenario.masks.objective,
                            "plan": "pieces (targets cut in their own plane where one mask cannot frame them), "
                                    "candidate masks (per piece, blocks of a wall's pieces, merges of neighbours, "
                                    "rectangles drawn in views aimed on a pan/tilt grid), exact set-cover "
                                    "reductions, integer programs (HiGHS, 2,000 nodes each, masks.time_limit_s as "
                                    "a backstop) choosing by masks.objective, the greedy set cover otherwise; "
                                    "masks_lower_bound is proven (visible samples pairwise farther apart than "
                                    "the wide view's diagonal); proposed_limits: masks chosen again for them and "
                                    "verified with fresh rays",
                            "verification": "exposed targets resampled at half the spacing; exposed_after_masks "
                                            "counts targets with a visible sample outside every mask"},
                "coverage": {"cell_m": self.scene.scenario.coverage.cell_m,
                             "height_m": self.scene.scenario.coverage.height_m,
                             "what": "public open ground (not in footprints or private areas) seen at height_m "
                                     "above the ground, by DORI class at the tele end; after_masks: not inside a "
                                     "mask", "enabled": self.scene.scenario.coverage.enabled}}

    def camera(self, camera_id: str) -> Camera:
        """The scene's camera ``camera_id``."""
        return self._cameras_by_id[camera_id]

    @cached_property
    def _cameras_by_id(self) -> dict[str, Camera]:
        return {c.id: c for c in self.scene.cameras}

    def camera_outputs(self, camera_id: str) -> CameraOutputs:
        """What the outputs derived from camera ``camera_id`` so far (filled as they are computed)."""
        return self.outputs.setdefault(camera_id, CameraOutputs())

    def camera_rows(self, camera_id: str) -> pd.DataFrame:
        """The exposure rows of one camera."""
        return self._rows_by_camera.get(camera_id, self.exposures.iloc[:0])

    def must_hide(self, camera_id: str) -> NDArray[np.intp]:
        """The targets (indices) camera ``camera_id`` sees that its masks must hide (``MASKS_HIDE``):
        maskable targets, and of openings those it sees into. What its plan covers and verifies."""
        return must_hide(self.scene, self.camera_rows(camera_id))

    @cached_property
    def _rows_by_camera(self) -> dict[str, pd.DataFrame]:
        ex = self.exposures
        return {str(k): v for k, v in ex.groupby("camera_id", sort=False)} if len(ex) else {}

    def identify_cells(self, *, after_masks: bool) -> tuple[float, NDArray[np.int64]]:
        """(cell size [m], (n, 2) cell indices) of the public ground where at least one camera reaches
        the identify class (through no mask, with ``after_masks``): ``engine.coverage.identify_cells``."""
        if after_masks not in self._identify:
            cell = self.scene.scenario.coverage.cell_m
            self._identify[after_masks] = (cell, identify_cells(self.coverage.values(), after_masks=after_masks),
                                           None)
        cell, cells, _ = self._identify[after_masks]
        return cell, cells

    def identify_polygons(self, *, after_masks: bool) -> list[shapely.Geometry]:
        """``identify_cells`` dissolved into polygons (scene CRS)."""
        cell, cells = self.identify_cells(after_masks=after_masks)
        polygons = self._identify[after_masks][2]
        if polygons is None:
            polygons = [g for _, g in cells_to_polygons(cells[:, 0], cells[:, 1], np.ones(len(cells), np.int32),
                                                        cell)] if len(cells) else []
            self._identify[after_masks] = (cell, cells, polygons)
        return polygons

    @property
    def cameras(self) -> list[Camera]:
        ids = None if self.camera_ids is None else set(self.camera_ids)
        return [c for c in self.scene.cameras if ids is None or c.id in ids]


@dataclass
class CameraResult:
    """One camera's whole outcome: exposures (rows with the ``target`` index), mask plan, coverage, and
    the rays it cast (targets and verification; coverage apart)."""

    camera_id: str
    exposures: pd.DataFrame
    plan: CameraMasks | None
    coverage: CameraCoverage | None
    rays: int
    coverage_rays: int
    ray_seconds: float
    # parts of the outputs already derived from this camera's results where it ran, by the ``Finish``
    # the run was given (the command line's: ``outputs.writers.camera_outputs``)
    outputs: CameraOutputs = field(default_factory=lambda: CameraOutputs())


@dataclass
class CameraOutputs:
    """The parts of the outputs that depend on one camera alone, each computed once: where the camera
    ran (by the run's ``Finish``) or when first needed. None: not computed yet."""

    footprints: list[shapely.Geometry] | None = None  # its masks' ground footprints (scene CRS)
    vendor: dict[str, bytes] | None = None  # its unsigned vendor exports, by format
    section: str | None = None  # its section of the report (HTML, with its map)
    csv: str | None = None  # its rows of exposures.csv, no header (``outputs.writers.csv_rows``)
    csv_rows: int = 0  # how many rows ``csv`` holds


def assemble(scene: Scene, parts: Sequence[CameraResult], *, seconds: float,
             labelled: Callable[[CameraResult], pd.DataFrame] | None = None) -> Result:
    """A ``Result`` from per-camera results, in the order given (their rows labelled here, once:
    ``label_exposures``; or by ``labelled(part)``, which must return the same rows, for a caller that
    keeps them between assemblies)."""
    label = labelled or (lambda p: label_exposures(scene, p.camera_id, p.exposures.copy()))
    frames = [label(p) for p in parts if len(p.exposures)]
    exposures = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in [*EXPOSURE_COLUMNS, "target"]})
    t = scene.targets
    stats = {"rays": sum(p.rays for p in parts), "coverage_rays": sum(p.coverage_rays for p in parts),
             "ray_seconds": round(sum(p.ray_seconds for p in parts), 4), "seconds": round(seconds, 3),
             "mask_planning_seconds": round(sum(p.plan.planning_seconds for p in parts if p.plan is not None), 3),
             "targets": int(len(t)), "samples": int(len(t.samples)), "triangles": int(len(scene.triangles)),
             "buildings": int(len(scene.buildings))}
    return Result(scene=scene, exposures=exposures, stats=stats, camera_ids=[p.camera_id for p in parts],
                  mask_plans={p.camera_id: p.plan for p in parts if p.plan is not None},
                  coverage={p.camera_id: p.coverage for p in parts if p.coverage is not None},
                  outputs={p.camera_id: p.outputs for p in parts})


def must_hide(scene: Scene, rows: pd.DataFrame) -> NDArray[np.intp]:
    """Of one camera's exposure rows, the targets (indices) its masks must hide (``MASKS_HIDE``):
    maskable targets (``Scene.maskable``), and of openings those it sees into (the grazing rule)."""
    if not len(rows):
        return np.zeros(0, np.intp)
    idx = rows["target"].to_numpy(np.intp)[rows["seen_into"].to_numpy(bool)]
    hidden: NDArray[np.intp] = idx[scene.maskable[idx]]
    return hidden


LABELS = ("camera_id", "target_id", "target_kind", "building_id", "target_source")


def label_exposures(scene: Scene, camera_id: str, df: pd.DataFrame) -> pd.DataFrame:
    """One camera's exposure rows with their labels (``LABELS``) taken from ``scene.targets`` by the
    ``target`` index: camera, target id, kind and building first, the target's source last."""
    if len(df):
        t = scene.targets
        idx = df["target"].to_numpy(int)
        df.insert(0, "camera_id", camera_id)
        df.insert(1, "target_id", t.id[idx])
        df.insert(2, "target_kind", t.kind[idx])
        df.insert(3, "building_id", t.planes.building_id[idx])
        df["target_source"] = t.source[idx]
    return df


def targets_frame(scene: Scene, which: slice = slice(None)) -> gpd.GeoDataFrame:
    """Private targets (all, or the slice ``which``) with kind, building, source, area and 3D polygon."""
    t = scene.targets
    idx = np.arange(len(t))[which]
    return gpd.GeoDataFrame({"target_id": t.id[idx], "target_kind": t.kind[idx],
                             "building_id": t.planes.building_id[idx], "source": t.source[idx],
                             "area_m2": np.round(t.area[idx], 3), "samples": np.diff(t.offsets)[idx]},
                            geometry=list(t.polygons3d(scene.terrain, idx)), crs=scene.frame.crs)
