"""Cameras on several local processes that share one scene (``simulator run --processes N``).

The scene is built once, in this process, with the figures every camera reads (target radii, search
trees, street samples, the public-ground raster); the worker processes are then forked and share it
(copy-on-write: nothing is pickled). Each worker builds its own Embree scene (this process's, if any,
is not used across the fork). Where the platform cannot fork, the workers are spawned and receive
the pickled scene instead (the caller's main module must then be importable without side effects,
as always with spawned processes).

Each worker's numerical libraries run on one thread and its ray engine on its share of the cores:
the processes are the parallelism. A camera's results are the same as in one process (each camera
is computed the same way, on the same scene); they are returned in camera order.
"""

from __future__ import annotations

import copy
import gc
import multiprocessing as mp
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..build.scene import collector_paused
from ..results import CameraResult
from ..scene import Camera, Scene
from ..visibility import cores
from .camera import Finish, camera_result, finished, tile_results

_SCENE: Scene | None = None  # the scene of this worker process
_FINISH: Finish | None = None  # what this worker derives from each camera's result (``run.camera.Finish``)


def prepare(scene: Scene) -> None:
    """Compute once, before the workers start, the scene-wide figures every camera reads (in three
    groups on threads: the trees, rasters and geometry tests work without the interpreter lock)."""
    from concurrent.futures import ThreadPoolExecutor

    def targets() -> None:
        _ = scene.target_radius, scene.target_index, scene.maskable, scene.buildings_with_openings
        _ = scene.target_labels

    def streets() -> None:
        if scene.scenario.masks.enabled:
            _ = scene.street_samples, scene.street_index

    def ground() -> None:
        if scene.scenario.coverage.enabled:
            scene.public_cells(scene.scenario.coverage.cell_m)

    with collector_paused(), ThreadPoolExecutor(min(3, cores())) as pool:
        for done in [pool.submit(f) for f in (targets, streets, ground)]:
            done.result()


def start_method() -> str:
    """``fork`` where the platform forks, else ``spawn``."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def _trim_heap() -> None:
    """Return the C heap's free memory to the system (glibc's ``malloc_trim``; elsewhere nothing)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _init(scene: Scene | bytes, threads: int, finish: Finish | None) -> None:
    global _SCENE, _FINISH
    import pickle
    import signal

    from threadpoolctl import threadpool_limits

    # a forked worker inherits its parent's Python signal handlers: in a server (Streamlit's stops its
    # event loop, which does not run here) SIGTERM would then be ignored, and the pool's terminate
    # would wait for ever; a worker ends on SIGTERM, and leaves SIGINT (Ctrl-C) to its parent
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1)
    # spawned: the scene as cloudpickle made it (it may hold closures)
    mine: Scene = pickle.loads(scene) if isinstance(scene, bytes) else scene
    mine.new_engine(threads)
    _SCENE, _FINISH = mine, finish


def _camera(i: int) -> tuple[int, list[CameraResult]]:
    assert _SCENE is not None
    return i, finished(_SCENE, [camera_result(_SCENE, _SCENE.cameras[i])], _FINISH)


def _tile(job: tuple[int, tuple[float, float, float, float], tuple[str, ...]]) -> tuple[int, list[CameraResult]]:
    assert _SCENE is not None
    i, box, ids = job
    return i, finished(_SCENE, tile_results(_SCENE, box, ids), _FINISH)


def analyse_on_processes(scene: Scene, selected: Sequence[Camera], processes: int, *, tile_m: float | None = None,
                         progress: Callable[[str, int, int], None] | None = None,
                         meanwhile: Callable[[Scene], None] | None = None,
                         method: str | None = None, finish: Finish | None = None) -> list[CameraResult]:
    """The results of the ``selected`` cameras of ``scene`` computed on ``processes`` worker
    processes, in the order of ``selected``: one task per camera, or per tile with ``tile_m``.
    ``meanwhile(scene)`` (picklable) is the first task a worker takes, beside the cameras.
    ``method``: ``fork`` or ``spawn`` (default: ``start_method()``). ``finish``: what each worker
    derives from each of its results (``run.camera.Finish``, picklable)."""
    prepare(scene)
    n = len(selected)
    processes = max(1, min(processes, n))
    threads = max(1, (scene.scenario.analysis.threads or cores()) // processes)
    jobs: list[Any]
    work: Callable[[Any], tuple[int, list[CameraResult]]]
    if tile_m is None:
        position = {c.id: i for i, c in enumerate(scene.cameras)}
        jobs, work = _heaviest_first(scene, [position[c.id] for c in selected]), _camera
    else:
        from .tiles import plan_tiles

        tiles = plan_tiles(scene, [c.id for c in selected], tile_m)
        jobs, work = [(i, t.box, t.camera_ids) for i, t in enumerate(tiles)], _tile
    method = method or start_method()
    shipped: Scene | bytes = scene
    if method != "fork":
        import cloudpickle

        shipped = cloudpickle.dumps(scene)
    by_id: dict[str, CameraResult] = {}
    if method == "fork":
        # objects that exist now are never collected in the workers, so their pages are not copied
        # there when the collector would otherwise write to every object header (copy-on-write);
        # the heap the scene's building freed goes back to the system first, so that it is not
        # counted once in this process and again in every worker
        gc.collect()
        gc.freeze()
        _trim_heap()
    with warnings.catch_warnings():
        # Python >= 3.12 warns on forking a process with threads (here: the numerical libraries'
        # pools, which re-initialise in the child); the workers touch no lock those threads hold
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        pool = mp.get_context(method).Pool(processes, initializer=_init, initargs=(shipped, threads, finish))
    if method == "fork":
        gc.unfreeze()
    with pool:
        side = pool.apply_async(_side, (meanwhile,)) if meanwhile is not None else None  # first in the queue
        for _, results in pool.imap_unordered(work, jobs, chunksize=1):
            for r in results:
                by_id[r.camera_id] = r
                if progress:
                    progress(r.camera_id, len(by_id), n)
        if side is not None:
            side.get()
        pool.close()  # the workers end on their own once the queue is empty
        pool.join()
    return [by_id[c.id] for c in selected]


_TASK: Callable[[Scene, Camera], Any] | None = None  # in a worker: what ``map_on_processes`` applies
_CAMERAS: list[Camera] = []  # in a worker: the cameras ``map_on_processes`` deals


def _task_init(scene: Scene, threads: int, task: Callable[[Scene, Camera], Any], cameras: list[Camera]) -> None:
    global _TASK, _CAMERAS
    _init(scene, threads, None)
    _TASK, _CAMERAS = task, cameras


def _task(i: int) -> tuple[int, Any]:
    assert _SCENE is not None and _TASK is not None
    return i, _TASK(_SCENE, _CAMERAS[i])


def map_on_processes(scene: Scene, cameras: list[Camera], task: Callable[[Scene, Camera], Any], processes: int, *,
                     progress: Callable[[str, int, int], None] | None = None) -> list[Any]:
    """``[task(scene, c) for c in cameras]`` on ``processes`` forked worker processes that share the
    scene (the workers inherit ``scene``, ``task`` and ``cameras``: nothing of them is pickled, and
    nothing is left in this process's module state, so concurrent calls do not meet; the results must
    be picklable), heaviest cameras first; in order. Where the platform cannot fork, in this process."""
    if start_method() != "fork":
        return [task(scene, c) for c in cameras]
    prepare(scene)
    processes = max(1, min(processes, len(cameras)))
    threads = max(1, (scene.scenario.analysis.threads or cores()) // processes)
    work = copy.copy(scene)
    work.cameras = cameras
    order = _heaviest_first(work, list(range(len(cameras))))
    out: dict[int, Any] = {}
    gc.collect()
    gc.freeze()
    _trim_heap()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        pool = mp.get_context("fork").Pool(processes, initializer=_task_init,
                                           initargs=(scene, threads, task, cameras))
    gc.unfreeze()
    with pool:
        for i, value in pool.imap_unordered(_task, order, chunksize=1):
            out[i] = value
            if progress:
                progress(cameras[i].id, len(out), len(cameras))
        pool.close()
        pool.join()
    return [out[i] for i in range(len(cameras))]


def _heaviest_first(scene: Scene, cameras: list[int]) -> list[int]:
    """Camera indices ordered by the private targets within their range, most first: the last tasks
    dealt are then short ones, and the workers finish together."""
    if len(cameras) < 3 or len(scene.targets) == 0:
        return cameras
    pos = np.array([scene.cameras[i].position for i in cameras])
    reach = np.array([scene.cameras[i].range_m for i in cameras])
    load = scene.target_index.query_ball_point(pos, reach, return_length=True)
    return [cameras[k] for k in np.argsort(-np.asarray(load), kind="stable")]


def _side(job: Callable[[Scene], None]) -> None:
    assert _SCENE is not None
    job(_SCENE)
