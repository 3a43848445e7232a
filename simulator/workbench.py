"""The app's working state, without any UI: a cached scene, the cameras as editable specs, and each
camera's exposures and mask plan, recomputed one camera at a time when it changes."""

from __future__ import annotations

import copy
import io
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .build.cameras import place_on_scene
from .inputs.bundle import pack_scenario
from .outputs.analysed import AnalysedCameras
from .outputs.export.plans import result_footprints
from .outputs.report.tables import camera_table
from .outputs.writers import coverage_frame, jsonable
from .results import CameraResult, Result, assemble, label_exposures
from .run.camera import camera_result
from .run.pipeline import camera_results
from .run.place import Proposal
from .scenario import PlacementSettings, WatchAreasLayer, camera_spec
from .scene import Camera, Scene

VENDOR_FILES = {"onvif": "onvif/*.xml", "axis": "axis/*.txt", "hikvision": "hikvision/*.xml", "json": "*.json"}


def spec_of(camera: Camera) -> dict[str, Any]:
    """A camera as an editable spec (scene-CRS position; the keys of ``scenario.CameraSpec``)."""
    profile, source, configuration, node = camera.onvif_tokens
    return {"id": camera.id, "model": camera.model, "x": camera.x, "y": camera.y,
            "mount_height_m": camera.mount_height_m, "kind": camera.kind, "resolution_px": list(camera.resolution_px),
            "hfov_deg": list(camera.hfov_deg), "pan_limits_deg": list(camera.pan_limits_deg),
            "tilt_limits_deg": list(camera.tilt_limits_deg), "direction_deg": camera.direction_deg,
            "tilt_deg": camera.tilt_deg, "range_m": camera.range_m,
            "mask_limits": {"max_masks": camera.mask_limits.max_masks, "max_vertices": camera.mask_limits.max_vertices,
                            "rectangle_only": camera.mask_limits.rectangle_only},
            "onvif": {"profile_token": profile, "video_source_token": source, "ptz_configuration_token": configuration,
                      "ptz_node_token": node}}


@dataclass
class Workbench:
    """The cameras being edited (``specs``: each as the keys of a scenario's camera entry, every value
    resolved), placed (``cameras``) and analysed one at a time (``results``: the per-camera step of
    every run, ``run.camera.camera_result``)."""

    scene: Scene
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cameras: dict[str, Camera] = field(default_factory=dict)
    results: dict[str, CameraResult] = field(default_factory=dict)
    footprints: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)  # lon/lat, per camera
    cache: AnalysedCameras | None = None  # analysed cameras on disk: none cast twice
    analysed_from_cache: int = 0  # of the cameras ``open`` found, those read from ``cache``
    _assembled: Result | None = field(default=None, repr=False)  # ``result()``, until a camera changes
    _table: pd.DataFrame | None = field(default=None, repr=False)  # ``regulator_table()``, likewise
    # each camera's labelled rows (``results.label_exposures``) with the result they were made from:
    # an edit labels only the edited camera's rows again
    _labelled: dict[str, tuple[CameraResult, pd.DataFrame]] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, scene: Scene, state: list[dict[str, Any]] | None = None, *,
             progress: Callable[[str, int, int], None] | None = None, processes: int = 1,
             cache: AnalysedCameras | None = None) -> Workbench:
        """A workbench on ``scene`` with its own cameras, or those of a saved ``state``. Cameras found in
        ``cache`` are not analysed again; the others run as ``simulator run`` runs them (on
        ``processes`` worker processes), ``progress(camera_id, done, total)`` called as each is done,
        and are added to the cache."""
        wb = cls(scene, cache=cache)
        cams = list(scene.cameras) if state is None else [wb.place(spec) for spec in state]
        found = {c.id: cache.load(c) if cache is not None else None for c in cams}
        todo = [c for c in cams if found[c.id] is None]
        if todo:
            work = scene
            if state is not None:  # edited cameras: a shallow copy holding them (it shares the mesh)
                work = copy.copy(scene)
                work.cameras = todo
            done = camera_results(work, cameras=[c.id for c in todo], progress=progress, processes=processes)
            for cam, made in zip(todo, done, strict=True):
                found[cam.id] = made
                if cache is not None:
                    cache.save(cam, made)
        wb.analysed_from_cache = len(cams) - len(todo)
        for cam in cams:
            r = found[cam.id]
            assert r is not None
            wb.cameras[cam.id] = cam
            wb.specs[cam.id] = spec_of(cam)
            wb.results[cam.id] = r
        return wb

    def place(self, spec: dict[str, Any]) -> Camera:
        """A camera placed from ``spec``, validated as a scenario file's camera entry is
        (``scenario.camera_spec``: an error names the field), not analysed."""
        where = f"camera {spec.get('id')}" if isinstance(spec, dict) else "camera"
        entry = camera_spec(spec, source="app", field=where)
        return place_on_scene(self.scene, entry, source="app", field=where)

    def upsert(self, spec: dict[str, Any]) -> Camera:
        """Add or replace one camera and analyse it (only it; from the cache when analysed before)."""
        cam = self.place(spec)
        found = self.cache.load(cam) if self.cache is not None else None
        if found is None:
            found = camera_result(self.scene, cam)
            if self.cache is not None:
                self.cache.save(cam, found)
        self.specs[cam.id] = spec_of(cam)  # every value resolved (catalogue, defaults), editable as is
        self.cameras[cam.id] = cam
        self.results[cam.id] = found
        self.footprints.pop(cam.id, None)
        self._assembled = self._table = None
        return cam

    def remove(self, camera_id: str) -> None:
        for d in (self.specs, self.cameras, self.results, self.footprints, self._labelled):
            d.pop(camera_id, None)
        self._assembled = self._table = None

    def mask_footprints(self, camera_id: str) -> gpd.GeoDataFrame:
        """Where each mask of the camera hides things on the ground and facades (lon/lat polygons)."""
        if camera_id not in self.footprints:
            plan = self.results[camera_id].plan
            masks = plan.masks if plan is not None else []
            geoms = result_footprints(self.result(), camera_id)  # kept with the camera: the report reuses them
            g = gpd.GeoDataFrame({"camera_id": camera_id, "mask_id": [m.id for m in masks],
                                  "targets": [len(m.targets) for m in masks]},
                                 geometry=geoms, crs=self.scene.frame.crs)
            self.footprints[camera_id] = g[~g.geometry.is_empty].to_crs("EPSG:4326")
        return self.footprints[camera_id]

    def coverage_polygons(self) -> gpd.GeoDataFrame:
        """Public ground covered, per camera, DORI class and masked or not (``outputs.writers.coverage_frame``):
        single lon/lat polygons (with holes), each with its ``area_m2``."""
        g = coverage_frame(self.result()).explode(index_parts=False).reset_index(drop=True)
        g["area_m2"] = g.geometry.area  # of each part, in the scene's metres
        return g.to_crs("EPSG:4326")

    def suggest(self, placement: PlacementSettings, *, watch_areas: WatchAreasLayer | None = None,
                models: Sequence[str] = (), processes: int = 1,
                progress: Callable[[str, int, int], None] | None = None) -> Proposal:
        """``simulator place`` on this scene with ``placement`` (and ``watch_areas``, else the street
        space of ``placement.watch_streets``); the working cameras are the 'before' (from their results,
        no ray cast again). ``InputError`` on bad input, as the command line."""
        from .run.place import outcome_of, propose
        from .scenario import Scenario

        sc: Scenario = self.scene.scenario.model_copy(update={"placement": placement, "watch_areas": watch_areas})
        work = copy.copy(self.scene)  # shallow: shares the mesh and caches
        work.scenario = sc
        p = propose(work, models=models, processes=processes, progress=progress, existing=False)
        p.existing = [outcome_of(work, self.cameras[c], self.results[c], p.grid) for c in self.cameras]
        return p

    def accept(self, proposal: Proposal, picked: Sequence[int]) -> list[str]:
        """Add the proposed cameras ``picked`` (positions in ``proposal.chosen``) to the working
        cameras, with their proposed limits, each under a new id; returns the ids."""
        from .run.place import chosen_spec

        ids = []
        for k in picked:
            spec = chosen_spec(proposal, proposal.chosen[k], self.new_id("placed"), self.scene.frame)
            ids.append(self.upsert(spec).id)
        return ids

    def new_id(self, prefix: str = "cam") -> str:
        k = len(self.specs) + 1
        while f"{prefix}-{k:03d}" in self.specs:
            k += 1
        return f"{prefix}-{k:03d}"

    def result(self, camera_ids: list[str] | None = None) -> Result:
        """The cameras' results as one ``Result`` (``results.assemble``, as every run makes it), of all
        cameras (kept until a camera changes) or those in ``camera_ids``."""
        if camera_ids is None and self._assembled is not None:
            return self._assembled
        scene = copy.copy(self.scene)  # shallow: shares the mesh and caches; the cached scene keeps its cameras
        scene.cameras = list(self.cameras.values())
        ids = list(self.results) if camera_ids is None else camera_ids
        made = assemble(scene, [self.results[c] for c in ids], seconds=0.0, labelled=self._labelled_rows)
        if camera_ids is None:
            self._assembled = made
        return made

    def _labelled_rows(self, part: CameraResult) -> pd.DataFrame:
        held = self._labelled.get(part.camera_id)
        if held is None or held[0] is not part:
            held = self._labelled[part.camera_id] = (
                part, label_exposures(self.scene, part.camera_id, part.exposures.copy()))
        return held[1]

    def regulator_table(self) -> pd.DataFrame:
        """Per camera: exposed targets by kind and DORI class, after masks, masks against the limit,
        public share hidden, compliance and reasons (``report.camera_table``), kept until a camera changes."""
        if self._table is None:
            self._table = camera_table(self.result())
        return self._table

    def state(self) -> list[dict[str, Any]]:
        """The cameras as plain JSON-able specs (what the app saves, and a bundle's cameras)."""
        return [jsonable(s) for s in self.specs.values()]

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

