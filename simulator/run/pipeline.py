"""The pipeline the CLI runs and notebooks call: scenario -> scene -> exposures -> summary.

    >>> import simulator
    >>> result = simulator.analyse("scenarios/tutorial.yaml")
    >>> result.exposures_gdf()          # one row per camera x target seen, 3D target polygons
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..build import build_scene
from ..results import CameraResult, Result, assemble
from ..scenario import Scenario, load_scenario
from ..scene import Camera, Scene
from .camera import Finish, camera_result, finished, select_cameras, tile_results


def analyse(scenario: str | Path | Scenario | Scene, *, cameras: Sequence[str] | None = None,
            progress: Callable[[str, int, int], None] | None = None, tile_m: float | None = None,
            processes: int = 1, meanwhile: Callable[[Scene], None] | None = None,
            finish: Finish | None = None) -> Result:
    """Run the engine: every camera (or those named in ``cameras``) against every private target.

    ``tile_m`` (default: the scenario's ``analysis.tile_m``): cut the run into tiles of that side, each
    tile's cameras working on the part of the scene within their reach (``simulator.run.tiles``); the
    results are the same. ``processes``: run the cameras on that many local processes that share
    this one's scene (``simulator.run.processes``); the results are the same. ``meanwhile(scene)``: other
    work on the scene (picklable), done by a worker beside the cameras (or first, in this process).
    ``finish``: what to derive from each camera's result where it was computed (``Finish``)."""
    t0 = time.perf_counter()
    scene = scenario if isinstance(scenario, Scene) else build_scene(
        scenario if isinstance(scenario, Scenario) else load_scenario(scenario))
    parts = camera_results(scene, cameras=cameras, progress=progress, tile_m=tile_m, processes=processes,
                           meanwhile=meanwhile, finish=finish)
    return assemble(scene, parts, seconds=time.perf_counter() - t0)


def camera_results(scene: Scene, *, cameras: Sequence[str] | None = None,
                   progress: Callable[[str, int, int], None] | None = None, tile_m: float | None = None,
                   processes: int = 1, meanwhile: Callable[[Scene], None] | None = None,
                   finish: Finish | None = None) -> list[CameraResult]:
    """``analyse`` before the assembly: each selected camera's ``CameraResult``, in the scene's order."""
    selected = select_cameras(scene, cameras)
    tile_m = tile_m if tile_m is not None else scene.scenario.analysis.tile_m
    if processes > 1 and len(selected) > 1:
        from .processes import analyse_on_processes

        parts = analyse_on_processes(scene, selected, processes, tile_m=tile_m, progress=progress,
                                     meanwhile=meanwhile, finish=finish)
    else:
        if meanwhile:
            meanwhile(scene)
        if tile_m is None:
            parts = []
            for i, cam in enumerate(selected):
                if progress:
                    progress(cam.id, i, len(selected))
                parts += finished(scene, [camera_result(scene, cam)], finish)
        else:
            parts = finished(scene, _analyse_by_tiles(scene, selected, tile_m, progress), finish)
    if progress:
        progress("", len(selected), len(selected))
    return parts


def _analyse_by_tiles(scene: Scene, selected: list[Camera], tile_m: float,
                      progress: Callable[[str, int, int], None] | None) -> list[CameraResult]:
    from .tiles import plan_tiles

    by_id: dict[str, CameraResult] = {}
    for tile in plan_tiles(scene, [c.id for c in selected], tile_m):
        for r in tile_results(scene, tile.box, tile.camera_ids):
            by_id[r.camera_id] = r
            if progress:
                progress(r.camera_id, len(by_id), len(selected))
    return [by_id[c.id] for c in selected]


