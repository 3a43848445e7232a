"""The per-camera step every executor applies (``camera_result``: exposures, mask plan and public
coverage of one camera), the same step on a tile's part of the scene (``tile_results``), and the
camera selection."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from ..engine.coverage import camera_coverage
from ..engine.exposure import camera_exposures, visible_samples
from ..engine.masks.plan import CameraMasks, plan_camera_masks, visible_street_samples
from ..errors import InputError
from ..results import CameraOutputs, CameraResult, label_exposures, must_hide
from ..scene import Camera, Scene

# what a run derives from each camera's result where it was computed (a worker, or this process), for
# ``CameraResult.outputs``: a module-level function (picklable), given the whole scene
Finish = Callable[[Scene, CameraResult], CameraOutputs]


def finished(scene: Scene, parts: list[CameraResult], finish: Finish | None) -> list[CameraResult]:
    """``parts`` with their ``outputs`` derived by ``finish`` (unchanged without one)."""
    if finish is not None:
        for r in parts:
            r.outputs = finish(scene, r)
    return parts


def camera_result(scene: Scene, cam: Camera) -> CameraResult:
    """Exposures, mask plan and public coverage of one camera (what ``analyse`` does per camera, and
    each task of ``parallel``)."""
    engine = scene.engine
    r0, s0 = engine.rays_cast, engine.ray_seconds
    df, plan = _exposures_and_plan(scene, cam)
    r1 = engine.rays_cast
    cov = None
    if scene.scenario.coverage.enabled:
        cov = camera_coverage(scene, cam, masks=plan.masks if plan is not None else None)
    return CameraResult(cam.id, df, plan, cov, rays=int(r1 - r0), coverage_rays=int(engine.rays_cast - r1),
                        ray_seconds=engine.ray_seconds - s0)


def tile_results(scene: Scene, box: tuple[float, float, float, float], camera_ids: Sequence[str]) -> list[CameraResult]:
    """The results of ``camera_ids`` on the part of ``scene`` in ``box`` (a tile), in the whole
    scene's indices; the part's Embree scene is closed afterwards."""
    from .tiles import result_to_scene, scene_part

    part = scene_part(scene, box, camera_ids)
    try:
        return [result_to_scene(part, camera_result(part, cam)) for cam in part.cameras]
    finally:
        part.close_engine()


def analyse_camera(scene: Scene, cam: Camera, *, masks: bool = True) -> tuple[pd.DataFrame, CameraMasks | None]:
    """One camera: its exposures (with ids, kinds and buildings: ``label_exposures``) and, when masks
    are enabled (in the scenario and here), its plan."""
    df, plan = _exposures_and_plan(scene, cam, masks=masks)
    return label_exposures(scene, cam.id, df), plan


def _exposures_and_plan(scene: Scene, cam: Camera, *, masks: bool = True) -> tuple[pd.DataFrame, CameraMasks | None]:
    """``analyse_camera`` with the rows unlabelled (the ``target`` index only)."""
    t = scene.targets
    an = scene.scenario.analysis
    seen = visible_samples(cam, t, scene.engine, target_radius=scene.target_radius,
                           target_index=scene.target_index if len(t) else None)
    df = camera_exposures(cam, t, scene.engine, dori_thresholds=an.dori_px_per_m.model_dump(),
                          target_radius=scene.target_radius, seen=seen, density_basis=an.density_basis,
                          reveal_m=an.reveal_depth_m, grazing_max_incidence_deg=an.grazing_max_incidence_deg,
                          refine=an.refine, terrain=scene.terrain)
    plan = None
    if masks and scene.scenario.masks.enabled:
        plan = plan_camera_masks(cam, scene, seen, must_hide(scene, df), margin_deg=scene.scenario.masks.margin_deg,
                                 public=visible_street_samples(cam, scene))
    return df, plan


def select_cameras(scene: Scene, ids: Sequence[str] | None) -> list[Camera]:
    """The scene's cameras named in ``ids`` (all when None); an unknown id is an input error."""
    if not ids:
        return list(scene.cameras)
    known = {c.id for c in scene.cameras}
    unknown = [c for c in ids if c not in known]
    if unknown:
        raise InputError(f"unknown camera id {unknown[0]!r}; valid: {', '.join(sorted(known)[:20])}",
                         field="--camera")
    return [c for c in scene.cameras if c.id in set(ids)]
