"""An independent check of exposures: float64 numpy ray casting (Moller-Trumbore) on a fine grid of
its own, against the engine's Embree float32 casting on the engine's samples and refinement.

For a camera and a target, the check lays its own grid (``GRID`` x ``GRID`` cell centres of the
target's bounds, inside its polygon), keeps the points within range that the target's face turns to
the camera and that lie in the camera's reach (the engine's ``in_reach``: a rule, checked by hand
elsewhere), and casts a float64 segment from the camera to each, shortened as the engine's are
(5 cm at the camera, 2 cm at the target), against every triangle of the scene's mesh whose bounding
box meets that of the pair's segments. It reports seen / not seen, the visible share of the grid and the frontal
px/m at the nearest visible point. Used by ``tests/engine/test_exposure_check.py`` (a small real extract)
and ``benchmarks/exposure_check.py`` (Helsinki, Monaco, Ingolstadt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from simulator.engine.exposure import in_reach

GRID = 24  # points per side of a target's own grid
EPS_START_M, EPS_END_M = 0.05, 0.02  # the engine's segment shortening (the rule, not its code)
EDGE_ON_DEG = 89.5  # the engine's edge-on rule: a surface seen more obliquely is not seen


@dataclass(frozen=True)
class Check:
    seen: bool
    visible_share: float
    px_per_m: float  # frontal, at the nearest visible point (nan: none seen)
    points: int  # grid points that the rules let through to a ray


def grid_points(scene, ti: int, grid: int = GRID) -> np.ndarray:
    """(n, 3): the check's own points on target ``ti``: centres of grid x grid cells of its bounds,
    inside its polygon; ground targets on the terrain (plus the engine's 10 cm)."""
    t = scene.targets
    pl = t.planes
    u0, v0, u1, v1 = pl.bounds[ti]
    a = (np.arange(grid) + 0.5) / grid
    uu, vv = np.meshgrid(u0 + a * (u1 - u0), v0 + a * (v1 - v0))
    uu, vv = uu.ravel(), vv.ravel()
    poly = pl.polygons(np.array([ti]))[0]
    inside = shapely.contains_xy(poly, uu, vv) | (shapely.distance(poly, shapely.points(uu, vv)) < 1e-9)
    uu, vv = uu[inside], vv[inside]
    if pl.draped[ti]:
        return np.column_stack([uu, vv, scene.terrain.height_at(uu, vv) + 0.10])
    return pl.origin[ti] + uu[:, None] * pl.U[ti] + vv[:, None] * pl.V[ti]


def brute_force_clear(start: np.ndarray, end: np.ndarray, tris: np.ndarray, *, margin: float = 1e-7,
                      block: int = 1 << 21) -> tuple[np.ndarray, np.ndarray]:
    """(clear, ambiguous) per segment start -> end (start (3,) or (n, 3), end (n, 3)), shortened by
    EPS_START_M / EPS_END_M: clear when no triangle of ``tris`` (m, 3, 3) crosses it (Moller-Trumbore
    in float64; a hit on an edge counts); ambiguous when a crossing lies within ``margin`` of a
    triangle edge or the segment's ends (float32 may differ there). Only the triangles whose bounding
    box meets that of all the segments are tested, every segment against every one of them, ``block``
    pairs at a time."""
    start = np.broadcast_to(np.asarray(start, float), np.shape(end))
    d = end - start
    length = np.linalg.norm(d, axis=1)
    u = d / length[:, None]
    o = start + u * EPS_START_M
    tmax = length - EPS_START_M - EPS_END_M
    clear = np.ones(len(o), bool)
    ambiguous = np.zeros(len(o), bool)
    if len(tris) == 0 or len(o) == 0:
        return clear, ambiguous
    far = o + u * tmax[:, None]
    lo, hi = np.minimum(o, far).min(axis=0) - 1e-3, np.maximum(o, far).max(axis=0) + 1e-3
    tris = tris[(tris.max(axis=1) >= lo).all(axis=1) & (tris.min(axis=1) <= hi).all(axis=1)]
    if len(tris) == 0:
        return clear, ambiguous
    v0, e1, e2 = tris[:, 0], tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    step = max(1, block // len(tris))
    for k in range(0, len(o), step):
        ob, ub, tb = o[k:k + step, None, :], u[k:k + step, None, :], tmax[k:k + step, None]
        p = np.cross(ub, e2[None])
        det = np.einsum("rtk,tk->rt", p, e1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        sv = ob - v0[None]
        a = np.einsum("rtk,rtk->rt", sv, p) * inv
        q = np.cross(sv, e1[None])
        b = np.einsum("rtk,rtk->rt", ub, q) * inv
        t = np.einsum("tk,rtk->rt", e2, q) * inv
        hit = ok & (a >= 0) & (b >= 0) & (a + b <= 1) & (t > 0) & (t < tb)
        near = ok & (a >= -margin) & (b >= -margin) & (a + b <= 1 + margin) & (t > -1e-4) & (t < tb + 1e-4)
        edge = near & ((np.abs(a) < margin) | (np.abs(b) < margin) | (np.abs(a + b - 1) < margin) |
                       (np.abs(t) < 1e-4) | (np.abs(t - tb) < 1e-4))
        clear[k:k + step] = ~hit.any(axis=1)
        ambiguous[k:k + step] = edge.any(axis=1)
    return clear, ambiguous


def check_pair(scene, camera, ti: int, grid: int = GRID) -> Check:
    """The check for camera x target ``ti`` (see the module docstring)."""
    pts = grid_points(scene, ti, grid)
    cam = np.asarray(camera.position, float)
    vec = pts - cam
    dist = np.linalg.norm(vec, axis=1)
    pl = scene.targets.planes
    # facing, and for a surface not within EDGE_ON_DEG of edge-on (the rule; per point)
    cos = (cam - pts) @ pl.N[ti] / np.maximum(dist, 1e-12)
    facing = cos > (0.0 if pl.draped[ti] else math.cos(math.radians(EDGE_ON_DEG)))  # ground: below the camera
    ok = (dist <= camera.range_m) & (dist > 0) & facing
    ok[ok] = in_reach(camera, vec[ok])
    sel = np.flatnonzero(ok)
    if len(sel) == 0 or len(pts) == 0:
        return Check(False, 0.0, math.nan, 0)
    clear, _ = brute_force_clear(cam, pts[sel], scene.triangles.reshape(-1, 3, 3))
    seen = sel[clear]
    share = len(seen) / len(pts)
    px = math.nan
    if len(seen):
        d = float(dist[seen].min())
        px = camera.resolution_px[0] / (2.0 * d * math.tan(math.radians(camera.hfov_deg[1]) / 2.0))
    return Check(bool(len(seen)), share, px, len(sel))


def candidate_pairs(scene, camera, limit: int, rng: np.random.Generator) -> list[int]:
    """Targets a camera might see (within range of its centroid, facing it): up to ``limit`` of them,
    at random."""
    t = scene.targets
    cam = np.asarray(camera.position, float)
    near = np.flatnonzero(np.linalg.norm(t.centroid - cam, axis=1) <= camera.range_m)
    pl = t.planes
    facing = pl.draped[near] | (np.einsum("ij,ij->i", pl.N[near], cam - pl.origin[near]) > 0)
    near = near[facing]
    return sorted(rng.choice(near, size=min(limit, len(near)), replace=False).tolist()) if len(near) else []
