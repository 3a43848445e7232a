"""The ray engine: Embree (through embreex) segment any-hit queries, threaded across cores.

Embree works in float32, so the mesh and rays are shifted to a local origin near the scene (UTM
coordinates of ~4e6 m would otherwise round to 0.5 m).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh
from numpy.typing import NDArray

F64 = NDArray[np.float64]
EPS_START_M = 0.05  # segments are shortened by these at the camera and the target end
EPS_END_M = 0.02


class RayEngine:
    """Occlusion queries on segments against one triangle mesh (built once, reused by every camera)."""

    def __init__(self, triangles: F64, *, origin: F64 | None = None, threads: int | None = None) -> None:
        tris = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        self.origin = np.zeros(3) if origin is None else np.asarray(origin, float)
        self.n_triangles = len(tris)
        self.threads = threads or os.cpu_count() or 1
        self._scene = rtcore_scene.EmbreeScene()
        if len(tris):
            local = (tris - self.origin).astype(np.float32)
            TriangleMesh(self._scene, local)
        self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        self.rays_cast = 0
        self.ray_seconds = 0.0

    def _run(self, o: NDArray[np.float32], d: NDArray[np.float32], t: NDArray[np.float32]) -> NDArray[np.int32]:
        hit: NDArray[np.int32] = self._scene.run(o, d, dists=t, query="OCCLUDED")
        return hit

    def segment_clear(self, start: F64, end: F64, *, eps_start: float = EPS_START_M,
                      eps_end: float = EPS_END_M) -> NDArray[np.bool_]:
        """True where the segment start -> end (each (n, 3) or (3,) [m]), shortened by ``eps_start`` at
        the start and ``eps_end`` at the end, hits no triangle (any-hit query)."""
        import time

        start = np.broadcast_to(np.asarray(start, float), np.shape(end))
        end = np.asarray(end, float)
        n = len(end)
        if n == 0:
            return np.zeros(0, bool)
        delta = end - start
        length = np.linalg.norm(delta, axis=1)
        length_safe = np.where(length > 0, length, 1.0)
        direction = delta / length_safe[:, None]
        o = (start - self.origin + direction * eps_start).astype(np.float32)
        dist = np.maximum(length - eps_start - eps_end, 0.0).astype(np.float32)
        d = direction.astype(np.float32)
        clear = np.ones(n, bool)
        todo = np.flatnonzero(dist > 0)
        if self.n_triangles == 0 or len(todo) == 0:
            return clear
        t0 = time.perf_counter()
        o, d, dist = o[todo], d[todo], dist[todo]
        if self._pool is None or len(todo) < 4096:
            hit = self._run(o, d, dist)
        else:
            bounds = np.linspace(0, len(todo), self.threads * 4 + 1).astype(int)
            chunks = list(zip(bounds[:-1], bounds[1:], strict=True))
            parts = self._pool.map(lambda ab: self._run(o[ab[0]:ab[1]], d[ab[0]:ab[1]], dist[ab[0]:ab[1]]), chunks)
            hit = np.concatenate(list(parts))
        clear[todo] = hit < 0
        self.ray_seconds += time.perf_counter() - t0
        self.rays_cast += len(todo)
        return clear

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
