"""Per-camera work on several local processes or an existing Dask distributed cluster.

The scenario and its data files travel as one bundle (``io.bundle``): the client scatters it to every
worker once; each worker unpacks it and builds the scene once (kept per worker process, keyed by the
bundle's SHA-256), then runs its chunks of cameras with ``pipeline.camera_result``. Scene building is
deterministic, so target indices, camera objects and results are the same as in one process; the
client assembles the results in camera order and writes the outputs. Cameras are dealt into the
chunks round-robin, so that chunks take similar time.

    simulator run SCENARIO --out DIR --workers 2              # a LocalCluster of 2 processes (loopback)
    simulator run SCENARIO --out DIR --scheduler tcp://host:8786   # an existing cluster
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import InputError, MissingDependencyError
from .pipeline import CameraResult, Result, assemble, camera_result, select_cameras
from .scenario import Scenario, load_scenario
from .scene import Scene, build_scene

# per worker process: the scene of the bundle it last received (one at a time: memory stays bounded),
# and how many scenes it has built (the tests check it builds each once)
_WORKER_SCENE: dict[str, Scene] = {}
_BUILDS = {"count": 0}


def _worker_scene(bundle: bytes, digest: str, threads: int) -> Scene:
    if digest not in _WORKER_SCENE:
        from .io.bundle import unpack_bundle

        _WORKER_SCENE.clear()
        folder = Path(tempfile.mkdtemp(prefix="pzs-worker-"))
        try:
            sc = load_scenario(unpack_bundle(bundle, folder / "scenario"))
            sc = sc.model_copy(update={"analysis": sc.analysis.model_copy(update={"threads": threads})})
            scene = build_scene(sc)
            _BUILDS["count"] += 1
            scene.engine  # noqa: B018 - build the Embree scene now, while the data files exist
            _ = scene.target_index, scene.street_index
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        _WORKER_SCENE[digest] = scene
    return _WORKER_SCENE[digest]


def builds() -> int:
    """How many scenes this worker process has built (see ``_worker_scene``)."""
    return _BUILDS["count"]


def run_chunk(bundle: bytes, digest: str, camera_ids: Sequence[str], threads: int = 1) -> list[CameraResult]:
    """A worker's task: the results of ``camera_ids`` on the bundle's scene (built once per worker)."""
    scene = _worker_scene(bundle, digest, threads)
    by_id = {c.id: c for c in scene.cameras}
    return [camera_result(scene, by_id[cid]) for cid in camera_ids]


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
                        chunks_per_worker: int = 2) -> Result:
    """``pipeline.analyse`` on ``workers`` local processes (a LocalCluster on loopback) or on the Dask
    cluster at ``scheduler``. ``scene`` is the client's own scene (built when not given): the outputs
    are written from it."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency; a broken install says so
        raise MissingDependencyError(f"--workers/--scheduler need dask[distributed] ({exc})") from None
    from .io.bundle import pack_scenario

    if (workers is None) == (scheduler is None):
        raise InputError("give either a number of workers or a scheduler address", field="--workers/--scheduler")
    check_cluster_arguments(workers, scheduler)
    t0 = time.perf_counter()
    scene = scene if scene is not None else build_scene(scenario)
    selected = [c.id for c in select_cameras(scene, cameras)]
    bundle = pack_scenario(scenario)
    digest = hashlib.sha256(bundle).hexdigest()
    cluster = None
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
            shared = client.scatter(bundle, broadcast=True)  # each worker receives the scene data once
            parts = chunks(selected, chunks_per_worker * n_workers)
            futures = {client.submit(run_chunk, shared, digest, ids, threads, pure=False): i
                       for i, ids in enumerate(parts)}
            results: dict[int, list[CameraResult]] = {}
            done = 0
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                done += len(parts[futures[fut]])
                if progress:
                    progress(parts[futures[fut]][-1], done, len(selected))
    finally:
        if cluster is not None:
            cluster.close()
    by_id = {r.camera_id: r for rs in results.values() for r in rs}
    ordered = [by_id[cid] for cid in selected]
    return assemble(scene, ordered, seconds=time.perf_counter() - t0)
