"""Per-camera work on several local processes or an existing Dask distributed cluster, tile by tile.

The client builds the scene and cuts it into tiles (``simulator.run.tiles``): the part of the scene each
tile's cameras can reach. Each part is scattered to the cluster once and its cameras dealt
round-robin into chunks; a worker receives a part once (from the client or a peer), builds its
Embree scene once on the first chunk it runs and keeps it for the next chunks of that tile; when the
tile's chunks are done the part is released, so a worker holds only the parts in flight and its
memory is bounded by the tile size and the cameras' range, not the area. At most a few tiles per
worker are in flight at a time. A camera's results on its part are the same as on the whole scene;
the client assembles them in camera order and writes the outputs.

    simulator run SCENARIO --out DIR --workers 2              # a LocalCluster of 2 processes (loopback)
    simulator run SCENARIO --out DIR --scheduler tcp://host:8786   # an existing cluster
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..build import build_scene
from ..errors import InputError, MissingDependencyError
from ..results import CameraResult, Result, assemble
from ..scenario import DEFAULT_TILE_M, Scenario
from ..scene import Scene
from .camera import Finish, camera_result, finished, select_cameras
from .tiles import plan_tiles, result_to_scene, scene_part

# per worker process: the tiles whose Embree scene it has built (the tests check each is built once)
_BUILT: list[tuple[str, tuple[int, int]]] = []


def run_part(part: Scene, run: str, key: tuple[int, int], camera_ids: Sequence[str],
             task: Callable[..., Any] | None = None, extra: Any = None) -> list[Any]:
    """A worker's task: ``task(part, camera[, extra])`` of each of ``camera_ids`` on a tile's ``part``
    (its Embree scene built on the worker's first chunk of it and kept with it); by default the
    camera's result, its indices turned into the whole scene's."""
    if not part.engine_built:
        _BUILT.append((run, key))
    by_id = {c.id: c for c in part.cameras}
    if task is None:
        return [result_to_scene(part, camera_result(part, by_id[cid])) for cid in camera_ids]
    return [task(part, by_id[cid]) if extra is None else task(part, by_id[cid], extra) for cid in camera_ids]


def built() -> list[tuple[str, tuple[int, int]]]:
    """(run, tile) of every part whose Embree scene this worker process built (see ``run_part``)."""
    return list(_BUILT)


def chunks(ids: Sequence[str], n: int) -> list[list[str]]:
    """``ids`` dealt into ``n`` chunks round-robin (chunk k: ids k, k + n, …), so that each chunk mixes
    cameras from the whole list and the chunks take similar time."""
    n = max(1, min(n, len(ids)))
    return [list(ids[k::n]) for k in range(n)]


def check_cluster_arguments(workers: int | None, scheduler: str | None, *, timeout_s: float = 5.0) -> None:
    """Fail early (before any work) on a bad worker count or a scheduler that does not answer."""
    import socket
    from urllib.parse import urlparse

    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}", field="--workers")
    if scheduler is not None:
        url = urlparse(scheduler if "://" in scheduler else f"tcp://{scheduler}")
        try:
            port = url.port or 8786
        except ValueError:
            port = -1
        if not url.hostname or port <= 0:
            raise InputError(f"expected tcp://HOST:PORT, got {scheduler!r}", field="--scheduler")
        try:
            socket.create_connection((url.hostname, port), timeout=timeout_s).close()
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc.strerror or exc})",
                             field="--scheduler") from None


def analyse_distributed(scenario: Scenario, *, cameras: Sequence[str] | None = None, workers: int | None = None,
                        scheduler: str | None = None, scene: Scene | None = None,
                        progress: Callable[[str, int, int], None] | None = None,
                        chunks_per_worker: int = 2, tile_m: float | None = None,
                        tiles_in_flight: int = 2, finish: Finish | None = None) -> Result:
    """``pipeline.analyse`` on ``workers`` local processes (a LocalCluster on loopback) or on the Dask
    cluster at ``scheduler``, tile by tile (``tile_m``, default the scenario's ``analysis.tile_m``,
    else ``DEFAULT_TILE_M``). ``scene`` is the client's own scene (built when not given): the parts
    are cut from it and the outputs written from it. At most ``tiles_in_flight`` tiles per worker are
    scattered at a time; each tile's cameras go in enough chunks that every worker gets
    ``chunks_per_worker`` of the work when there are few tiles. ``finish``: what the client derives
    from each camera's result as it arrives (``run.camera.Finish``)."""
    t0 = time.perf_counter()
    scene = scene if scene is not None else build_scene(scenario)
    selected = [c.id for c in select_cameras(scene, cameras)]
    results: dict[str, CameraResult] = {}

    def arrived(cid: str, r: Any) -> None:
        results[cid] = finished(scene, [r], finish)[0]

    on_cluster(scene, selected, arrived, workers=workers, scheduler=scheduler, progress=progress,
               chunks_per_worker=chunks_per_worker, tile_m=tile_m or scenario.analysis.tile_m,
               tiles_in_flight=tiles_in_flight)
    return assemble(scene, [results[cid] for cid in selected], seconds=time.perf_counter() - t0)


def on_cluster(scene: Scene, selected: Sequence[str], arrived: Callable[[str, Any], None], *,
               workers: int | None = None, scheduler: str | None = None,
               progress: Callable[[str, int, int], None] | None = None, chunks_per_worker: int = 2,
               tile_m: float | None = None, tiles_in_flight: int = 2, task: Callable[..., Any] | None = None,
               extra: Any = None) -> None:
    """The cameras ``selected`` (ids of ``scene.cameras``) on the cluster, tile by tile (see
    ``analyse_distributed``): ``task(part, camera[, extra])`` of each (default: its ``CameraResult``)
    handed to ``arrived(camera_id, value)`` as it arrives. ``extra`` (the same for every camera) is
    sent to the cluster once."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency; a broken install says so
        raise MissingDependencyError(f"--workers/--scheduler need dask[distributed] ({exc})") from None

    if (workers is None) == (scheduler is None):
        raise InputError("give either a number of workers or a scheduler address", field="--workers/--scheduler")
    check_cluster_arguments(workers, scheduler)
    tile_m = tile_m or DEFAULT_TILE_M
    tiles = plan_tiles(scene, list(selected), tile_m)
    run = f"{os.getpid()}-{time.time_ns()}"
    cluster = None
    done = 0
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise InputError(f"cannot reach the Dask scheduler ({exc})", field="--scheduler") from None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        with client:
            n_workers = max(1, len(client.scheduler_info()["workers"]))
            threads = max(1, (os.cpu_count() or 1) // n_workers) if scheduler is None else 1
            per_tile = max(1, math.ceil(chunks_per_worker * n_workers / len(tiles))) if tiles else 1
            todo = ((tile, chunks(tile.camera_ids, per_tile)) for tile in tiles)
            pending: dict[Any, tuple[tuple[int, int], list[str]]] = {}  # future -> its tile and cameras
            open_chunks: dict[tuple[int, int], int] = {}  # tile -> chunks not yet done
            shared: dict[tuple[int, int], Any] = {}  # tile -> its scattered part
            sent = client.scatter(extra, broadcast=True, hash=False) if extra is not None else None

            def submit_next() -> list[Any]:
                nxt = next(todo, None)
                if nxt is None:
                    return []
                tile, parts = nxt
                part = scene_part(scene, tile.box, tile.camera_ids, threads=threads)
                # sent once to one worker (peers fetch it from there), or to every worker when there are
                # fewer tiles than workers (each then runs chunks of it)
                shared[tile.key] = client.scatter(part, hash=False, broadcast=len(tiles) < n_workers)
                del part
                open_chunks[tile.key] = len(parts)
                futs = []
                for ids in parts:
                    f = client.submit(run_part, shared[tile.key], run, tile.key, ids, task, sent, pure=False)
                    pending[f] = (tile.key, ids)
                    futs.append(f)
                return futs

            first = [f for _ in range(tiles_in_flight * n_workers) for f in submit_next()]
            queue = as_completed(first)
            for fut in queue:
                key, ids = pending.pop(fut)
                for cid, value in zip(ids, fut.result(), strict=True):
                    arrived(cid, value)
                done += len(ids)
                open_chunks[key] -= 1
                if open_chunks[key] == 0:  # the tile is done: release its part on the cluster
                    shared.pop(key).release()
                    for f in submit_next():
                        queue.add(f)
                if progress:
                    progress(ids[-1], done, len(selected))
    finally:
        if cluster is not None:
            cluster.close()
