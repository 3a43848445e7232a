"""The app's working state, without any UI: a cached scene, the cameras as editable specs, and each
camera's exposures and mask plan, recomputed one camera at a time when it changes."""

from __future__ import annotations

import copy
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .build.cameras import place_camera
from .engine.coverage import CameraCoverage, camera_coverage
from .engine.masks.plan import CameraMasks
from .inputs.bundle import pack_scenario
from .outputs.export.plans import camera_footprints
from .outputs.report.tables import camera_table
from .results import Result
from .run.camera import analyse_camera
from .scene import Scene
from .scene.camera import Camera

VENDOR_FILES = {"onvif": "onvif/*.xml", "axis": "axis/*.txt", "hikvision": "hikvision/*.xml", "json": "*.json"}


def spec_of(camera: Camera) -> dict[str, Any]:
    """A camera as an editable spec (scene-CRS position; the keys of ``scenario.CameraSpec``)."""
    return {"id": camera.id, "model": camera.model, "x": camera.x, "y": camera.y,
            "mount_height_m": camera.mount_height_m, "kind": camera.kind, "resolution_px": list(camera.resolution_px),
            "hfov_deg": list(camera.hfov_deg), "pan_limits_deg": list(camera.pan_limits_deg),
            "tilt_limits_deg": list(camera.tilt_limits_deg), "direction_deg": camera.direction_deg,
            "tilt_deg": camera.tilt_deg, "range_m": camera.range_m,
            "mask_limits": {"max_masks": camera.mask_limits.max_masks, "max_vertices": camera.mask_limits.max_vertices,
                            "rectangle_only": camera.mask_limits.rectangle_only}}


@dataclass
class Workbench:
    scene: Scene
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cameras: dict[str, Camera] = field(default_factory=dict)
    results: dict[str, tuple[pd.DataFrame, CameraMasks | None]] = field(default_factory=dict)

    footprints: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    coverages: dict[str, CameraCoverage] = field(default_factory=dict)

    @classmethod
    def open(cls, scene: Scene, state: list[dict[str, Any]] | None = None, *,
             progress: Callable[[str, int, int], None] | None = None) -> Workbench:
        """A workbench on ``scene`` with its own cameras, or those of a saved ``state``;
        ``progress(camera_id, done, total)`` is called before each camera."""
        wb = cls(scene)
        specs = state if state is not None else [spec_of(c) for c in scene.cameras]
        for i, spec in enumerate(specs):
            if progress:
                progress(str(spec.get("id")), i, len(specs))
            wb.upsert(spec)
        return wb

    def upsert(self, spec: dict[str, Any]) -> Camera:
        """Add or replace one camera and analyse it (only it)."""
        b = self.scene.buildings
        fps = b.geometry.values if len(b) else None
        cam, _ = place_camera(dict(spec), frame=self.scene.frame, ground_at=self.scene.ground_at or (lambda x, y: 0.0),
                              footprints=self.scene.footprint_index, footprint_geoms=fps,
                              scene_bounds=None, default_range_m=self.scene.scenario.analysis.max_range_m,
                              source="app", field=f"camera {spec.get('id')}")
        self.specs[cam.id] = spec_of(cam)  # every value resolved (catalogue, defaults), editable as is
        self.cameras[cam.id] = cam
        self.results[cam.id] = analyse_camera(self.scene, cam)
        self.footprints.pop(cam.id, None)
        if self.scene.scenario.coverage.enabled:
            plan = self.results[cam.id][1]
            self.coverages[cam.id] = camera_coverage(self.scene, cam, masks=plan.masks if plan else None)
        return cam

    def remove(self, camera_id: str) -> None:
        for d in (self.specs, self.cameras, self.results, self.footprints, self.coverages):
            d.pop(camera_id, None)

    def mask_footprints(self, camera_id: str) -> gpd.GeoDataFrame:
        """Where each mask of the camera hides things on the ground and facades (lon/lat polygons)."""
        if camera_id not in self.footprints:
            cam = self.cameras[camera_id]
            _, plan = self.results[camera_id]
            masks = plan.masks if plan is not None else []
            geoms = camera_footprints(self.scene, cam, masks)
            g = gpd.GeoDataFrame({"camera_id": camera_id, "mask_id": [m.id for m in masks],
                                  "targets": [len(m.targets) for m in masks]},
                                 geometry=geoms, crs=self.scene.frame.crs)
            self.footprints[camera_id] = g[~g.geometry.is_empty].to_crs("EPSG:4326")
        return self.footprints[camera_id]

    def coverage_polygons(self) -> gpd.GeoDataFrame:
        """Public ground covered, per camera, DORI class and masked or not: single lon/lat polygons (with
        holes), each with its ``area_m2``."""
        rows, geoms = [], []
        for cid, cov in self.coverages.items():
            for dori, masked, n, geom in cov.polygons():
                rows.append({"camera_id": cid, "dori": dori, "masked": masked, "area_m2": n * cov.cell_m**2})
                geoms.append(geom)
        g = gpd.GeoDataFrame(rows or {"camera_id": [], "dori": [], "masked": [], "area_m2": []}, geometry=geoms,
                             crs=self.scene.frame.crs).explode(index_parts=False).reset_index(drop=True)
        g["area_m2"] = g.geometry.area  # of each part, in the scene's metres
        return g.to_crs("EPSG:4326")

    def new_id(self, prefix: str = "cam") -> str:
        k = len(self.specs) + 1
        while f"{prefix}-{k:03d}" in self.specs:
            k += 1
        return f"{prefix}-{k:03d}"

    def result(self) -> Result:
        frames = [df for df, _ in self.results.values() if len(df)]
        ex = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["camera_id", "target_id", "target_kind", "building_id", "visible_fraction", "max_px_per_m",
                     "dori", "distance_m", "target"])
        scene = copy.copy(self.scene)  # shallow: shares the mesh and caches; the cached scene keeps its cameras
        scene.cameras = list(self.cameras.values())
        plans = {cid: p for cid, (_, p) in self.results.items() if p is not None}
        stats = {"rays": int(scene.engine.rays_cast), "ray_seconds": round(scene.engine.ray_seconds, 4), "seconds": 0.0}
        return Result(scene=scene, exposures=ex, coverage=dict(self.coverages), stats=stats,
                      camera_ids=list(self.cameras), mask_plans=plans)

    def regulator_table(self) -> pd.DataFrame:
        """Per camera: exposed targets by kind and DORI class, after masks, masks against the limit,
        public share hidden, compliance and reasons (``report.camera_table``)."""
        return camera_table(self.result())

    def state(self) -> list[dict[str, Any]]:
        """The cameras as plain JSON-able specs (what the app saves, and a bundle's cameras)."""
        return [json.loads(json.dumps(s, default=_jsonable)) for s in self.specs.values()]

    def bundle(self) -> bytes:
        """The scenario with its data files and the current cameras, as a zip (``io.bundle``)."""
        return pack_scenario(self.scene.scenario, cameras=self.state(), crs=self.scene.frame.crs.to_string())

    def export_zip(self, vendor: str, *, key_path: str | Path | None = None) -> bytes:
        """A zip of the signed mask plans and the chosen vendor's files, with the public key."""
        from .outputs.export.plans import file_sha256, write_mask_exports
        from .outputs.integrity import signing_key, write_public_key

        key, _ = signing_key(key_path)
        result = self.result()
        with tempfile.TemporaryDirectory() as tmp:
            stage = Path(tmp)
            write_public_key(key.public_key(), stage / "signing-key.pub")
            write_mask_exports(stage, result, key,
                               scenario_sha256=file_sha256(Path(self.scene.scenario.source))).finish()
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                z.write(stage / "signing-key.pub", "signing-key.pub")
                for f in sorted((stage / "masks").glob("*.json")):
                    z.write(f, f"masks/{f.name}")
                if vendor != "json":
                    for f in sorted((stage / "masks").glob(VENDOR_FILES[vendor])):
                        z.write(f, f"masks/{vendor}/{f.name}")
                z.write(stage / "masks" / "masks.geojson", "masks/masks.geojson")
            return buf.getvalue()


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)
