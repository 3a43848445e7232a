"""The ray engine: Embree (through embreex) segment any-hit queries, threaded across cores.

Embree works in float32, so the mesh and rays are shifted to a local origin near the scene (UTM
coordinates of ~4e6 m would otherwise round to 0.5 m).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh
from numpy.typing import NDArray

from .vocabulary import F64

EPS_START_M = 0.05  # segments are shortened by these at the camera and the target end
EPS_END_M = 0.02
BLOCK = 1 << 15  # rays prepared and cast together (see RayEngine._clear_part)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class RayEngine:
    """Occlusion queries on segments against one triangle mesh (built once, reused by every camera)."""

    def __init__(self, triangles: F64, *, origin: F64 | None = None, threads: int | None = None) -> None:
        tris = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
        self.origin = np.zeros(3) if origin is None else np.asarray(origin, float)
        self.n_triangles = len(tris)
        self.threads = threads or cores()
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
        end = np.asarray(end, float)
        start = np.asarray(start, float)
        n = len(end)
        clear = np.ones(n, bool)
        if n == 0:
            return clear
        if self.n_triangles == 0:  # nothing to hit; the queries still count (as on a scene with a mesh)
            length = np.linalg.norm(end - start, axis=-1)
            self.rays_cast += int(np.count_nonzero(length > eps_start + eps_end))
            return clear
        t0 = time.perf_counter()
        if self._pool is None or n < 4096:
            cast = self._clear_part(start, end, clear, eps_start, eps_end)
        else:  # the preparation runs in the threads too: numpy releases the GIL on these arrays
            bounds = np.linspace(0, n, self.threads + 1).astype(int)
            one_start = start.ndim == 1

            def part(ab: tuple[int, int]) -> int:
                a, b = ab
                return self._clear_part(start if one_start else start[a:b], end[a:b], clear[a:b], eps_start,
                                        eps_end)

            cast = sum(self._pool.map(part, list(zip(bounds[:-1], bounds[1:], strict=True))))
        self.ray_seconds += time.perf_counter() - t0
        self.rays_cast += cast
        return clear

    def _clear_part(self, start: F64, end: F64, clear: NDArray[np.bool_], eps_start: float, eps_end: float) -> int:
        """Fill ``clear`` (a view) for these segments; returns how many rays were cast. Blocks of
        ``BLOCK`` rays: their float32 temporaries stay in the core's cache."""
        cast = 0
        one_start = start.ndim == 1
        for a in range(0, len(end), BLOCK):
            b = min(a + BLOCK, len(end))
            cast += self._clear_block(start if one_start else start[a:b], end[a:b], clear[a:b], eps_start, eps_end)
        return cast

    def _clear_block(self, start: F64, end: F64, clear: NDArray[np.bool_], eps_start: float, eps_end: float) -> int:
        # to the local origin first (float64), then everything in float32 as Embree takes it: local
        # coordinates are within a few km, where float32 resolves a millimetre
        s32 = (start - self.origin).astype(np.float32)
        d = np.subtract(end, self.origin, dtype=np.float64).astype(np.float32)
        d -= s32
        length = np.sqrt(np.einsum("ij,ij->i", d, d))
        d /= np.where(length > 0, length, np.float32(1.0))[:, None]
        o = d * np.float32(eps_start)
        o += s32
        dist = length - np.float32(eps_start + eps_end)
        cast = dist > 0
        n = int(np.count_nonzero(cast))
        if n == 0:
            return 0
        if n == len(cast):
            clear[:] = self._run(o, d, dist) < 0
        else:
            clear[cast] = self._run(np.ascontiguousarray(o[cast]), np.ascontiguousarray(d[cast]), dist[cast]) < 0
        return n

    def first_hit(self, start: F64, directions: F64) -> F64:
        """Distance [m] along unit ``directions`` (n, 3) from ``start`` (3,) to the first triangle; inf if none."""
        d = np.asarray(directions, np.float32)
        o = np.ascontiguousarray(np.broadcast_to((np.asarray(start, float) - self.origin), d.shape), np.float32)
        if self.n_triangles == 0 or len(d) == 0:
            return np.full(len(d), np.inf)
        t = np.asarray(self._scene.run(o, d, query="DISTANCE"), float)
        return np.where(t < 1e30, t, np.inf)

    def intersect(self, start: F64, directions: F64) -> tuple[F64, F64]:
        """First hit distance [m] (inf if none) and unit geometric normal (n, 3) along unit ``directions``."""
        d = np.asarray(directions, np.float32)
        n = len(d)
        if self.n_triangles == 0 or n == 0:
            return np.full(n, np.inf), np.zeros((n, 3))
        o = np.ascontiguousarray(np.broadcast_to((np.asarray(start, float) - self.origin), d.shape), np.float32)
        out = self._scene.run(o, d, output=1)
        t = np.asarray(out["tfar"], float)
        hit = np.asarray(out["primID"]) >= 0
        ng = np.asarray(out["Ng"], float)
        norm = np.linalg.norm(ng, axis=1, keepdims=True)
        ng = np.where(norm > 0, ng / np.where(norm > 0, norm, 1), 0.0)
        return np.where(hit, t, np.inf), ng

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
