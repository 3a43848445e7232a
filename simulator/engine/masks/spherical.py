"""Convex spherical polygons with great-circle edges.

A mask is a convex polygon on the unit sphere of directions from its camera (scene frame: x east,
y north, z up). Great circles are straight lines in a gnomonic projection, so each mask is handled as
a convex polygon in the gnomonic (tangent-plane) frame of its centre: that frame *is* a pinhole image
plane pointed at the centre with no roll (x right, y up), which is how cameras draw masks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from ...vocabulary import F64

MAX_HALF_ANGLE_DEG = 75.0  # gnomonic frames are used up to this angle from their centre


def cross(a: F64, b: F64) -> F64:
    """Cross product of (..., 3) arrays (numpy's ``cross`` is slow on small arrays)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def tangent_frame(centre: F64) -> tuple[F64, F64, F64]:
    """(forward, right, up) unit vectors of a no-roll view towards ``centre`` (3,)."""
    f, r, u = _plain_frame(*(float(v) for v in centre))
    return np.array(f), np.array(r), np.array(u)


Vec = tuple[float, float, float]


def _plain_frame(cx: float, cy: float, cz: float) -> tuple[Vec, Vec, Vec]:
    """``tangent_frame`` towards (cx, cy, cz) on plain floats."""
    n = math.sqrt(cx * cx + cy * cy + cz * cz)
    fx, fy, fz = cx / n, cy / n, cz / n
    h = math.hypot(fx, fy)
    rx, ry = (1.0, 0.0) if h < 1e-9 else (fy / h, -fx / h)  # f x z; straight up or down: image right is east
    # up = right x forward
    return (fx, fy, fz), (rx, ry, 0.0), (ry * fz, -rx * fz, rx * fy - ry * fx)


def tangent_frames(forward: F64) -> tuple[F64, F64]:
    """``tangent_frame`` of many unit ``forward`` vectors (n, 3) at once: their (right, up) vectors."""
    h = np.hypot(forward[:, 0], forward[:, 1])
    vertical = h < 1e-9
    hs = np.where(vertical, 1.0, h)
    r = np.column_stack([np.where(vertical, 1.0, forward[:, 1] / hs), np.where(vertical, 0.0, -forward[:, 0] / hs),
                         np.zeros(len(forward))])
    u = np.column_stack([r[:, 1] * forward[:, 2], -r[:, 0] * forward[:, 2],
                         r[:, 0] * forward[:, 1] - r[:, 1] * forward[:, 0]])
    return r, u


def project(dirs: F64, frame: tuple[F64, F64, F64]) -> F64:
    """Gnomonic (x, y) of directions (n, 3) in a tangent frame; NaN behind it."""
    f, r, u = frame
    z = dirs @ f
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = np.column_stack([dirs @ r, dirs @ u]) / z[:, None]
    xy[z <= 1e-9] = np.nan
    return xy


def unproject(xy: F64, frame: tuple[F64, F64, F64]) -> F64:
    f, r, u = frame
    return unit(f[None, :] + xy[:, :1] * r[None, :] + xy[:, 1:2] * u[None, :])


def unit(v: F64) -> F64:
    """Rows of ``v`` (n, 3) scaled to unit length."""
    v = np.atleast_2d(np.asarray(v, float))
    out: F64 = v / np.sqrt(np.einsum("ij,ij->i", v, v))[:, None]
    return out


@dataclass(frozen=True)
class SphericalMask:
    """A convex mask: ``vertices`` (k, 3) unit directions, counter-clockwise seen from the camera
    (i.e. in its image with x right, y up); ``targets`` lists the target ids it covers. ``aim`` (3,):
    where the camera points to frame it, when not at its centre (its centre lies beyond the camera's
    pan or tilt limits)."""

    id: str
    vertices: F64
    targets: tuple[str, ...]
    aim: F64 | None = None

    @cached_property
    def centre(self) -> F64:
        c = self.vertices.sum(axis=0)
        out: F64 = c / math.sqrt(float(c @ c))
        return out

    def frame(self) -> tuple[F64, F64, F64]:
        return tangent_frame(self.centre)

    @cached_property
    def inward_normals(self) -> F64:
        # image axes: right x up = -forward, so counter-clockwise in the image is clockwise about the
        # forward axis and the inward great-circle normals are w x v (on plain floats: a mask has a
        # handful of vertices; the same products and differences as ``cross``)
        v = self.vertices.tolist()
        return np.array([[wy * vz - wz * vy, wz * vx - wx * vz, wx * vy - wy * vx]
                         for (vx, vy, vz), (wx, wy, wz) in zip(v, v[1:] + v[:1], strict=True)]).reshape(-1, 3)

    def contains(self, dirs: F64, *, tol: float = 1e-12, unit_length: bool = False) -> NDArray[np.bool_]:
        """Whether directions (n, 3) lie inside (or on) the mask: on the inner side of every great circle.
        ``unit_length``: the directions are unit vectors already (skips normalising them)."""
        d = np.atleast_2d(dirs) if unit_length else unit(dirs)
        inside: NDArray[np.bool_] = np.all(d @ self.inward_normals.T >= -tol, axis=1) & (d @ self.centre > 0)
        return inside

    def polygon2d(self, frame: tuple[F64, F64, F64] | None = None) -> shapely.Polygon:
        return shapely.Polygon(project(self.vertices, frame or self.frame()))

    def half_angle_deg(self) -> float:
        """Largest angle [deg] between the centre and a vertex."""
        return float(np.degrees(np.arccos(np.clip(self.vertices @ self.centre, -1, 1))).max())

    @cached_property
    def area_sr(self) -> float:
        """``solid_angle`` [sr], computed once (on plain floats: a mask has a handful of vertices)."""
        return _fan_solid_angle(self.vertices.tolist())

    @cached_property
    def view_cache(self) -> dict[Any, Any]:
        """The views that frame this mask, by camera (``engine.masks.views.mask_view``)."""
        return {}

    def solid_angle(self) -> float:
        """Area on the unit sphere [sr] (fan of spherical triangles from the centre)."""
        c = self.centre
        v = self.vertices
        w = _next(v)
        num = np.abs(cross(v, w) @ c)
        den = 1 + v @ c + w @ c + np.einsum("ij,ij->i", v, w)
        return float(np.sum(2 * np.arctan2(num, den)))

    def fits_view(self, hfov_deg: float, vfov_deg: float) -> bool:
        """Whether the camera, pointed at the mask's centre, can frame the whole mask at its wide end."""
        xy = project(self.vertices, self.frame())
        if np.isnan(xy).any():
            return False
        return bool(np.abs(xy[:, 0]).max() <= math.tan(math.radians(hfov_deg) / 2) and
                    np.abs(xy[:, 1]).max() <= math.tan(math.radians(vfov_deg) / 2))


def fits_views(maybe: Sequence[SphericalMask | None], hfov_deg: float, vfov_deg: float) -> NDArray[np.bool_]:
    """``SphericalMask.fits_view`` of many masks at once; False where there is no mask (None)."""
    out = np.zeros(len(maybe), bool)
    have = [i for i, m in enumerate(maybe) if m is not None]
    if not have:
        return out
    if len(maybe) <= SMALL_BATCH:  # a few masks (merge candidates): plain floats, same steps
        tx, ty = math.tan(math.radians(hfov_deg) / 2), math.tan(math.radians(vfov_deg) / 2)
        for i in have:
            out[i] = _fits_small(maybe[i].vertices.tolist(), tx, ty)  # type: ignore[union-attr]
        return out
    masks = [m for m in maybe if m is not None]
    sizes = np.array([len(m.vertices) for m in masks])
    v = np.vstack([m.vertices for m in masks])
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    c = np.array([m.centre for m in masks])
    r, u = tangent_frames(c)
    who = np.repeat(np.arange(len(masks)), sizes)
    z = np.einsum("ij,ij->i", v, c[who])
    zs = np.where(z > 1e-9, z, 1.0)
    x = np.abs(np.einsum("ij,ij->i", v, r[who]) / zs)
    y = np.abs(np.einsum("ij,ij->i", v, u[who]) / zs)
    front = np.minimum.reduceat(z, first) > 1e-9
    out[have] = front & (np.maximum.reduceat(x, first) <= math.tan(math.radians(hfov_deg) / 2)) & \
        (np.maximum.reduceat(y, first) <= math.tan(math.radians(vfov_deg) / 2))
    return out


def _fits_small(verts: list[list[float]], tx: float, ty: float) -> bool:
    """``fits_views`` of one mask's vertices on plain floats (``tx``, ``ty``: tangents of the half views)."""
    cx, cy, cz = (sum(v[i] for v in verts) for i in range(3))
    n = math.sqrt(cx * cx + cy * cy + cz * cz)
    fx, fy, fz = cx / n, cy / n, cz / n
    h = math.hypot(fx, fy)
    rx, ry = (1.0, 0.0) if h < 1e-9 else (fy / h, -fx / h)
    ux, uy, uz = ry * fz, -rx * fz, rx * fy - ry * fx
    for x, y, z in verts:
        d = x * fx + y * fy + z * fz
        if d <= 1e-9 or abs(x * rx + y * ry) / d > tx or abs(x * ux + y * uy + z * uz) / d > ty:
            return False
    return True


def solid_angles(masks: Sequence[SphericalMask]) -> list[float]:
    """``SphericalMask.area_sr`` of each mask (computed once per mask): those not yet known in one
    array operation per vertex count (the fan of ``_fan_solid_angle``; equal to it within a few units
    in the last place), stored on the masks."""
    def fans(v: F64) -> list[float]:
        c = v.sum(axis=1)
        c /= np.sqrt(np.einsum("gj,gj->g", c, c))[:, None]
        w = np.roll(v, -1, axis=1)
        num = np.abs(np.einsum("gkj,gj->gk", cross(v, w), c))
        den = 1 + np.einsum("gkj,gj->gk", v, c) + np.einsum("gkj,gj->gk", w, c) + np.einsum("gkj,gkj->gk", v, w)
        out: list[float] = (2 * np.arctan2(num, den)).sum(axis=1).tolist()
        return out

    _cache_in_batches(masks, "area_sr", fans)
    return [m.area_sr for m in masks]


def _cache_in_batches(masks: Sequence[SphericalMask], name: str, compute: Any) -> None:
    """Fill the cached property ``name`` of the masks that lack it, in one call of ``compute`` (the
    stacked vertices (G, k, 3) -> G values) per vertex count; groups of fewer than 4 masks are left to
    the property itself (numpy's per-call cost would dominate)."""
    todo: dict[int, list[SphericalMask]] = {}
    for m in masks:
        if name not in m.__dict__:
            todo.setdefault(len(m.vertices), []).append(m)
    for group in todo.values():
        if len(group) >= 4:
            for m, value in zip(group, compute(np.stack([m.vertices for m in group])), strict=True):
                m.__dict__[name] = value


def padded_normals(masks: Sequence[SphericalMask]) -> F64:
    """(M, k, 3): every mask's inward normals, padded to the largest vertex count k with its own
    first normal (which changes no inside test)."""
    # those not yet known, in one array operation per vertex count: w x v, as ``SphericalMask.inward_normals``
    _cache_in_batches(masks, "inward_normals", lambda v: cross(np.roll(v, -1, axis=1), v))
    k = max(len(m.vertices) for m in masks)
    return np.stack([m.inward_normals if len(m.vertices) == k else
                     np.concatenate([m.inward_normals, np.repeat(m.inward_normals[:1], k - len(m.vertices), 0)])
                     for m in masks])


def inside_each(masks: Sequence[SphericalMask], dirs: F64, *, chunk: int = 1 << 21) -> NDArray[np.bool_]:
    """(M, n): whether each unit direction (n, 3) lies inside each mask (``SphericalMask.contains``
    with ``unit_length``). Only the directions within a mask's circumscribed cap (the angle of its
    farthest vertex from its centre: no point of a convex mask lies farther) are tested against its
    edges, in masks of at most ``chunk`` (mask, direction) pairs at a time."""
    out = np.zeros((len(masks), len(dirs)), bool)
    if not masks or len(dirs) == 0:
        return out
    padded = padded_normals(masks)
    centres = np.array([m.centre for m in masks])
    cos_cap = np.array([float((m.vertices @ m.centre).min()) for m in masks]) - 1e-9
    step = max(1, chunk // len(dirs))
    for a in range(0, len(masks), step):
        dc = dirs @ centres[a:a + step].T  # (n, chunk)
        di, mi = np.nonzero((dc >= cos_cap[None, a:a + step]) & (dc > 0))
        ok = (np.einsum("pj,pkj->pk", dirs[di], padded[a + mi]) >= -1e-12).all(axis=1)
        out[a + mi[ok], di[ok]] = True
    return out


def inside_any(masks: list[SphericalMask], dirs: F64, *, first: NDArray[np.intp] | None = None,
               chunk: int = 1 << 15) -> NDArray[np.bool_]:
    """Whether each direction (n, 3) lies inside at least one of ``masks`` (the test of
    ``SphericalMask.contains`` for every mask at once, in chunks of directions).

    ``first`` (n,): the index of the mask most likely to hold each direction (-1: no guess), say the
    mask made for its target. That mask is tested alone first; every mask is tested only on the
    directions it does not hold. The answer is the same, at a fraction of the cost when the guesses
    are mostly right."""
    inside = np.zeros(len(dirs), bool)
    if len(dirs) == 0 or not masks:
        return inside
    d = unit(dirs)
    normals = padded_normals(masks)
    k = normals.shape[1]
    centres = np.array([m.centre for m in masks])
    rest = np.arange(len(d))
    if first is not None:
        guessed = np.flatnonzero(first >= 0)
        g = first[guessed]
        dg = d[guessed]
        inside[guessed] = (np.einsum("nj,nkj->nk", dg, normals[g]) >= -1e-12).all(axis=1) & \
            (np.einsum("nj,nj->n", dg, centres[g]) > 0)
        rest = np.flatnonzero(~inside)
    flat = normals.reshape(-1, 3).T
    for a in range(0, len(rest), chunk):
        idx = rest[a:a + chunk]
        part = d[idx]
        ok = (part @ flat >= -1e-12).reshape(len(part), len(masks), k).all(axis=2) & (part @ centres.T > 0)
        inside[idx] = ok.any(axis=1)
    return inside


def hull_mask(mask_id: str, dirs: F64, targets: tuple[str, ...], *, margin_deg: float,
              max_vertices: int, rectangle_only: bool) -> SphericalMask | None:
    """The convex mask around directions (n, 3), grown by ``margin_deg`` everywhere, with at most
    ``max_vertices`` vertices (reduced conservatively: the polygon only grows), or an image-aligned
    rectangle. None when the directions span more than a gnomonic frame can hold."""
    one = hull_masks([mask_id], dirs, np.zeros(len(dirs), np.intp), [targets], np.array([margin_deg]),
                     max_vertices=max_vertices, rectangle_only=rectangle_only)
    return one[0]


SMALL_BATCH = 8  # hull_masks of at most this many groups (of up to 16 directions each) on plain floats
SMALL_ONE = 1024  # one group of up to this many directions (a run of pieces along a wall): ``_hull_one``


def _monotone_hull(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Counter-clockwise convex hull (Andrew's monotone chain), collinear points dropped."""
    pts = sorted(set(pts))
    if len(pts) < 3:
        return pts

    def turn(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and turn(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and turn(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _hull_small(mask_id: str, dirs: list[list[float]], targets: tuple[str, ...], margin_deg: float, *,
                max_vertices: int, rectangle_only: bool) -> SphericalMask | None:
    """One group of ``hull_masks`` (unit ``dirs``) with the same steps on plain floats."""
    f, r, u = _plain_frame(*(sum(v[i] for v in dirs) for i in range(3)))
    zs = [v[0] * f[0] + v[1] * f[1] + v[2] * f[2] for v in dirs]
    theta = _half_angle(min(zs), margin_deg)
    if theta is None:
        return None
    xy = [((v[0] * r[0] + v[1] * r[1] + v[2] * r[2]) / z, (v[0] * u[0] + v[1] * u[1] + v[2] * u[2]) / z)
          for v, z in zip(dirs, zs, strict=True)]
    return _small_mask(mask_id, _monotone_hull(xy), (f, r, u), theta, targets, margin_deg,
                       max_vertices=max_vertices, rectangle_only=rectangle_only)


def _hull_one(mask_id: str, d: F64, targets: tuple[str, ...], margin_deg: float, *,
              max_vertices: int, rectangle_only: bool) -> SphericalMask | None:
    """``hull_masks`` of one group of many unit directions ``d`` (n, 3) by the batch's steps: the
    projection, the filter of points that are no hull vertex (``inside_extremes``: it drops the nearly
    collinear points of a grid's border rows too) and the hull as arrays (GEOS); the rest, as
    ``_hull_small``, on plain floats."""
    f, r, u = _plain_frame(*d.sum(axis=0).tolist())
    zs = d @ np.array(f)
    theta = _half_angle(float(zs.min()), margin_deg)
    if theta is None:
        return None
    xy = np.column_stack([d @ np.array(r) / zs, d @ np.array(u) / zs])
    rest = ~inside_extremes(xy, np.zeros(len(xy), np.intp), np.zeros(1, np.intp))
    hull = [(x, y) for x, y in convex_ring(xy[rest]).tolist()]
    return _small_mask(mask_id, hull, (f, r, u), theta, targets, margin_deg,
                       max_vertices=max_vertices, rectangle_only=rectangle_only)


def _half_angle(zmin: float, margin_deg: float) -> float | None:
    """The largest angle [rad] of a group's directions from its mean direction (``zmin``: the least
    cosine), or None when the group, grown by the margin, is more than a gnomonic frame can hold."""
    theta = math.acos(max(-1.0, min(1.0, zmin)))
    if zmin <= 1e-9 or math.degrees(theta) + margin_deg > MAX_HALF_ANGLE_DEG:
        return None
    return theta


def _small_mask(mask_id: str, hull: list[tuple[float, float]], frame: tuple[Vec, Vec, Vec], theta: float,
                targets: tuple[str, ...], margin_deg: float, *, max_vertices: int,
                rectangle_only: bool) -> SphericalMask | None:
    """The rest of ``_hull_small`` from the convex hull (gnomonic, in ``frame``: forward, right, up;
    ``theta`` [rad]: the largest angle of a direction from forward): grown by the margin, reduced,
    back to directions."""
    f, r, u = frame
    m_rad = math.radians(margin_deg)
    buf = max(math.tan(m_rad) / math.cos(theta + m_rad) ** 2, 1e-9)
    ring = _offset_points(hull, buf)
    if rectangle_only:
        (x0, x1), (y0, y1) = ((min(c), max(c)) for c in zip(*ring, strict=True))
        ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]  # bounding_rectangle
    else:
        ring = _reduce_points(ring, max_vertices)
    verts = []
    for x, y in ring:
        vx, vy, vz = f[0] + x * r[0] + y * u[0], f[1] + x * r[1] + y * u[1], f[2] + x * r[2] + y * u[2]
        ln = math.sqrt(vx * vx + vy * vy + vz * vz)
        verts.append((vx / ln, vy / ln, vz / ln))
    sx, sy, sz = (sum(v[i] for v in verts) for i in range(3))
    sn = math.sqrt(sx * sx + sy * sy + sz * sz)
    cos_min = min((v[0] * sx + v[1] * sy + v[2] * sz) / sn for v in verts)
    if math.degrees(math.acos(max(-1.0, min(1.0, cos_min)))) > MAX_HALF_ANGLE_DEG:
        return None
    m = SphericalMask(mask_id, np.array(verts), targets)
    m.__dict__["centre"] = np.array([sx / sn, sy / sn, sz / sn])  # ``SphericalMask.centre``
    return m


def hull_masks(ids: list[str], dirs: F64, group: NDArray[np.intp], targets: list[tuple[str, ...]],
               margins_deg: F64, *, max_vertices: int, rectangle_only: bool,
               maybe_vertex: NDArray[np.bool_] | None = None) -> list[SphericalMask | None]:
    """``hull_mask`` for many groups at once: directions (n, 3) with their group number ``group``
    (n,), sorted and covering 0 .. len(ids) - 1; one margin [deg] per group. The projection and
    the convex hulls are computed for all groups in a few array operations; a few small groups (the
    merge candidates of a mask plan) go through the same steps on plain floats instead, where numpy's
    per-call cost would dominate, and one group of up to ``SMALL_ONE`` directions (a run of pieces)
    through ``_hull_one``. ``maybe_vertex`` (n,): False for directions known to be no vertex of their
    group's hull (at least one per group True); the batch leaves them out of the hulls (each group's
    frame and extent still come from all its directions)."""
    k = len(ids)
    d = unit(dirs)
    if k == 1 and SMALL_BATCH * 16 < len(d) <= SMALL_ONE:
        return [_hull_one(ids[0], d, targets[0], float(margins_deg[0]), max_vertices=max_vertices,
                          rectangle_only=rectangle_only)]
    if k <= SMALL_BATCH and len(d) <= SMALL_BATCH * 16:
        bounds = np.searchsorted(group, np.arange(k + 1))
        return [_hull_small(ids[g], d[bounds[g]:bounds[g + 1]].tolist(), targets[g], float(margins_deg[g]),
                            max_vertices=max_vertices, rectangle_only=rectangle_only) for g in range(k)]
    starts = np.searchsorted(group, np.arange(k))
    c = np.add.reduceat(d, starts, axis=0)
    f = c / np.sqrt(np.einsum("ij,ij->i", c, c))[:, None]
    r, u = tangent_frames(f)
    z = np.einsum("ij,ij->i", d, f[group])
    behind = np.minimum.reduceat(z, starts) <= 1e-9
    zs = np.where(z > 1e-9, z, 1.0)
    xy = np.column_stack([np.einsum("ij,ij->i", d, r[group]) / zs, np.einsum("ij,ij->i", d, u[group]) / zs])
    theta = np.arccos(np.clip(np.minimum.reduceat(z, starts), -1, 1))
    rest = np.arange(len(xy)) if maybe_vertex is None else np.flatnonzero(maybe_vertex)
    keep = rest[~inside_extremes(xy[rest], group[rest], np.searchsorted(group[rest], np.arange(k)))]
    # (the others are no hull vertices: left out of the hulls) each group's kept points as one
    # multipoint, straight from the coordinates
    points = shapely.from_ragged_array(shapely.GeometryType.MULTIPOINT, np.ascontiguousarray(xy[keep]),
                                       (np.searchsorted(group[keep], np.arange(k + 1)),))
    hulls = shapely.get_coordinates(shapely.convex_hull(points), return_index=True)
    coords, owner = hulls
    bounds = np.searchsorted(owner, np.arange(k + 1))
    ok = ~behind & (np.degrees(theta) + margins_deg <= MAX_HALF_ANGLE_DEG)
    # grown by the margin: in the gnomonic plane an angle a at angle t from the centre spans at least
    # tan(a) / cos(t)^2, so offsetting by tan(margin) / cos^2(t_max + margin) keeps at least the margin
    m_rad = np.radians(margins_deg)
    buf = np.maximum(np.tan(m_rad) / np.cos(np.where(ok, theta + m_rad, 0.0)) ** 2, 1e-9)
    rings: list[F64 | None] = [None] * k
    simple = _offset_batch(coords, owner, bounds, buf, ok)
    for g in range(k):
        if not ok[g]:
            continue
        if g in simple:
            rings[g] = simple[g]
            continue
        ring = coords[bounds[g]:bounds[g + 1]]
        if len(ring) < 4:
            ring = np.unique(ring, axis=0)
        else:
            ring = ring[:-1]
            (ax, ay), (bx, by), (cx, cy) = ring[0], ring[1], ring[2]
            if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) < 0:
                ring = ring[::-1]
        rings[g] = offset_ring(ring, float(buf[g]))
    if rectangle_only:
        done = [None if ring is None else bounding_rectangle(ring) for ring in rings]
    else:
        done = _reduce_batch(rings, max_vertices)
    # back to directions, all at once; masks reaching beyond MAX_HALF_ANGLE_DEG of their own centre
    # (a rectangle around directions from nadir to zenith, say) are refused: no view can hold them
    have = [g for g in range(k) if done[g] is not None]
    out: list[SphericalMask | None] = [None] * k
    if not have:
        return out
    sizes = np.array([len(done[g]) for g in have])  # type: ignore[arg-type]
    rxy = np.vstack([done[g] for g in have])  # type: ignore[misc]
    who = np.repeat(np.asarray(have), sizes)
    v = unit(f[who] + rxy[:, :1] * r[who] + rxy[:, 1:2] * u[who])
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    c = np.add.reduceat(v, first, axis=0)
    c /= np.sqrt(np.einsum("ij,ij->i", c, c))[:, None]
    cosang = np.minimum.reduceat(np.einsum("ij,ij->i", v, np.repeat(c, sizes, axis=0)), first)
    half = np.degrees(np.arccos(np.clip(cosang, -1, 1)))
    for n, g in enumerate(have):
        if half[n] <= MAX_HALF_ANGLE_DEG:
            out[g] = m = SphericalMask(ids[g], v[first[n]:first[n] + sizes[n]], targets[g])
            m.__dict__["centre"] = c[n]  # ``SphericalMask.centre``, the normalised sum of its vertices (to rounding)
    return out


def inside_extremes(xy: F64, group: NDArray[np.intp], starts: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Points (n, 2) that are no vertex of their group's convex hull: those inside or on the convex
    polygon of their group's extreme points in eight directions (x, x + y, y, y - x and their
    opposites; ``group`` sorted, ``starts`` its first indices), other than those extreme points
    themselves (Akl and Toussaint's filter). A point on an edge of that polygon lies between two
    points of the hull, so it is no vertex of it; the many points of a grid's border rows go that way.
    A point within 1e-12 of the polygon's span outside an edge counts as on it: the hull of the rest
    may then lie that far inside the true one (``hull_masks`` grows every hull by at least 1e-9)."""
    x, y = xy[:, 0], xy[:, 1]
    idx = np.arange(len(xy))
    corners = []
    for s in (x, x + y, y, y - x, -x, -x - y, -y, x - y):  # counter-clockwise support directions
        best = np.maximum.reduceat(s, starts)[group]
        corners.append(np.minimum.reduceat(np.where(s == best, idx, len(xy)), starts))
    ci = np.stack(corners, axis=1)  # (k, 8)
    q = xy[ci]  # (k, 8, 2): a convex polygon, counter-clockwise, repeats allowed
    a, b = q[group], np.roll(q, -1, axis=1)[group]  # each point's edges
    ex, ey = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    cross = ex * (y[:, None] - a[..., 1]) - ey * (x[:, None] - a[..., 0])
    span = np.maximum(np.ptp(q[..., 0], axis=1), np.ptp(q[..., 1], axis=1))[group]
    edge = (ex != 0) | (ey != 0)
    inside = np.where(edge, cross >= -1e-12 * (span * span)[:, None], True).all(axis=1)
    corner = (ci[group] == idx[:, None]).any(axis=1)
    out: NDArray[np.bool_] = inside & ~corner & (edge.sum(axis=1) >= 3)
    return out


MITRE_LIMIT = 2.0  # corners whose mitre would reach farther than this many offsets are bevelled


def _offset_batch(coords: F64, owner: NDArray[np.intp], bounds: NDArray[np.intp], buf: F64,
                  ok: NDArray[np.bool_], *, mitre_limit: float = MITRE_LIMIT) -> dict[int, F64]:
    """``offset_ring`` of many shapely hull rings at once (closed, (n, 2) ``coords`` with their ring
    number ``owner``), for the rings it handles simply: a proper polygon (mitre joins, and sharp
    corners bevelled as ``_offset_points`` does). Returns {ring number: offset ring}; the others (a
    point, a segment, a repeated vertex) are left to ``offset_ring``."""
    n_per = np.diff(bounds)
    cand = ok & (n_per >= 4)
    if not cand.any():
        return {}
    take = cand[owner]
    pts, own = coords[take], owner[take]
    nb = np.searchsorted(own, np.flatnonzero(cand))  # start of each candidate ring in pts
    ln = np.diff(np.r_[nb, len(pts)])  # closed length (first vertex repeated)
    last = np.r_[nb[1:], len(pts)] - 1
    keep = np.ones(len(pts), bool)
    keep[last] = False  # drop the closing vertex
    ring_id = np.repeat(np.arange(len(nb)), ln)[keep]
    p = pts[keep]
    m = ln - 1
    start = np.r_[0, np.cumsum(m)[:-1]]
    pos = np.arange(len(p)) - np.repeat(start, m)
    nxt = np.repeat(start, m) + (pos + 1) % np.repeat(m, m)
    prv = np.repeat(start, m) + (pos - 1) % np.repeat(m, m)
    # orientation from the first turn, as in offset_ring's input (counter-clockwise)
    a, b, c = p[start], p[start + np.minimum(1, m - 1)], p[start + np.minimum(2, m - 1)]
    turn = (b[:, 0] - a[:, 0]) * (c[:, 1] - b[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - b[:, 0])
    cw = np.repeat(turn < 0, m)
    nxt, prv = np.where(cw, prv, nxt), np.where(cw, nxt, prv)
    d = p[nxt] - p
    length = np.hypot(d[:, 0], d[:, 1])
    x, y = p[:, 0], p[:, 1]
    area2 = np.bincount(ring_id, weights=x * p[nxt, 1] - p[nxt, 0] * y, minlength=len(nb))
    span = np.maximum(np.maximum.reduceat(x, start) - np.minimum.reduceat(x, start),
                      np.maximum.reduceat(y, start) - np.minimum.reduceat(y, start))
    good = (m >= 3) & (np.abs(area2) > 1e-9 * span * span) & (turn != 0)
    dist = np.repeat(buf[cand], m)
    with np.errstate(divide="ignore", invalid="ignore"):
        nx, ny = d[:, 1] / length, -d[:, 0] / length  # outward normal of edge i -> next
        px, py = nx[prv], ny[prv]
        cos = px * nx + py * ny
        f = dist / (1.0 + cos)
        mitre = 2.0 / np.maximum(1.0 + cos, 1e-12) <= mitre_limit**2
        first = np.column_stack([x + f * (px + nx), y + f * (py + ny)])
        # a sharp corner: the line tangent to the disc of radius dist around it (perpendicular to the
        # bisector), cut by the two offset edges, the incoming one's point first
        bx, by = px + nx, py + ny
        bn = np.hypot(bx, by)
        bx, by = bx / bn, by / bn
        tx, ty = x + dist * bx, y + dist * by
        cuts = []
        for mx, my in ((px, py), (nx, ny)):
            h = (dist - dist * (bx * mx + by * my)) / (-by * mx + bx * my)
            cuts.append(np.column_stack([tx - by * h, ty + bx * h]))
    first = np.where(mitre[:, None], first, cuts[0])
    second = cuts[1]
    bad_vertex = (length <= 0) | ~np.isfinite(first).all(axis=1) | (~mitre & ~np.isfinite(second).all(axis=1))
    good &= np.bincount(ring_id, weights=bad_vertex, minlength=len(nb)) == 0
    # every ring's vertices counter-clockwise (a clockwise one read backwards), each vertex giving its
    # mitre point or its two bevel points
    ccw = np.where(cw, np.repeat(start + m - 1, m) - pos, np.arange(len(p)))
    both = np.stack([first[ccw], second[ccw]], axis=1).reshape(-1, 2)
    emit = np.column_stack([np.ones(len(p), bool), ~mitre[ccw]]).ravel()
    flat = both[emit]
    out_n = np.bincount(ring_id, weights=2 - mitre, minlength=len(nb)).astype(np.intp)
    out_start = np.r_[0, np.cumsum(out_n)[:-1]]
    rings = np.flatnonzero(cand)
    return {int(rings[i]): flat[out_start[i]:out_start[i] + out_n[i]] for i in np.flatnonzero(good)}


def _reduce_batch(rings: list[F64 | None], k: int) -> list[F64 | None]:
    """``reduce_ring(ring, k)`` of every ring (None stays None), in one array per size: each step
    removes, in every ring at once, the edge whose neighbours extended to their intersection add the
    least area, and the rings it leaves one vertex shorter join those of that size (so a batch of
    many sizes takes as many steps as its largest ring has vertices beyond k). Rings where no edge can
    go that way are left to ``reduce_ring``."""
    out: list[F64 | None] = list(rings)
    by_size: dict[int, list[int]] = {}
    for g, ring in enumerate(rings):
        if ring is not None and len(ring) > k:
            by_size.setdefault(len(ring), []).append(g)
    if not by_size:
        return out
    # the minimum rotated rectangle of every ring (by its own size), the alternative to its greedy k-gon
    rect_of: dict[int, F64] = {}
    for idx in by_size.values():
        for g, rect in zip(idx, _min_rects(np.stack([rings[g] for g in idx])), strict=True):  # type: ignore[misc]
            rect_of[g] = rect
    pts = np.zeros((0, max(by_size), 2))  # the largest size comes first
    ids = np.zeros(0, np.intp)
    for n in range(max(by_size), k, -1):
        if n in by_size:  # the rings of this size join those reduced to it
            pts = np.concatenate([pts, np.stack([rings[g] for g in by_size[n]])])  # type: ignore[misc]
            ids = np.concatenate([ids, np.asarray(by_size[n], np.intp)])
        if len(ids) == 0:
            continue
        a, b = np.roll(pts, 1, axis=1), pts
        c, d = np.roll(pts, -1, axis=1), np.roll(pts, -2, axis=1)
        rx, ry = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
        sx, sy = c[..., 0] - d[..., 0], c[..., 1] - d[..., 1]
        den = rx * sy - ry * sx
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((d[..., 0] - a[..., 0]) * sy - (d[..., 1] - a[..., 1]) * sx) / den
            uu = ((d[..., 0] - a[..., 0]) * ry - (d[..., 1] - a[..., 1]) * rx) / den
            xx, yy = a[..., 0] + t * rx, a[..., 1] + t * ry  # not finite where the edges are parallel
            added = np.abs((b[..., 0] - xx) * (c[..., 1] - yy) - (b[..., 1] - yy) * (c[..., 0] - xx)) / 2
        valid = (np.abs(den) >= 1e-15) & (t >= 1 - 1e-12) & (uu >= 1 - 1e-12)
        added = np.where(valid, added, np.inf)
        best = np.argmin(added, axis=1)
        stuck = ~valid.any(axis=1)
        for j in np.flatnonzero(stuck):  # the minimum rotated rectangle (or a triangle) instead
            out[int(ids[j])] = reduce_ring(rings[int(ids[j])], k)  # type: ignore[arg-type]
        rows = np.flatnonzero(~stuck)
        pts, best, ids = pts[rows], best[rows], ids[rows]
        r = np.arange(len(rows))
        pts[r, best] = np.column_stack([xx[rows, best], yy[rows, best]])  # b becomes the corner
        drop = (best + 1) % n  # and c goes
        keep = np.ones(pts.shape[:2], bool)
        keep[r, drop] = False
        pts = pts[keep].reshape(len(rows), n - 1, 2)
    if len(ids):  # the greedy k-gon or the rectangle (a triangle around it for k = 3), whichever is smaller
        rects = np.stack([rect_of[int(g)] for g in ids])
        alts = rects if k >= 4 else np.array([_triangle_around(r.tolist()) for r in rects])
        greedy_smaller = _gnomonic_solid_angles(pts) <= _gnomonic_solid_angles(alts)
        for row, gid in enumerate(ids):
            out[int(gid)] = pts[row] if greedy_smaller[row] else alts[row]
    return out


def _min_rects(rings: F64) -> F64:
    """``min_rect_points`` of many convex rings of one size (G, n, 2) at once: (G, 4, 2)."""
    e = np.roll(rings, -1, axis=1) - rings  # (G, n, 2) edge vectors
    ln = np.hypot(e[..., 0], e[..., 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        ux, uy = e[..., 0] / ln, e[..., 1] / ln  # (G, n): edge directions
    x, y = rings[..., 0][:, None, :], rings[..., 1][:, None, :]  # (G, 1, n)
    s = x * ux[..., None] + y * uy[..., None]  # (G, edges, points)
    t = y * ux[..., None] - x * uy[..., None]
    s0, s1, t0, t1 = s.min(axis=2), s.max(axis=2), t.min(axis=2), t.max(axis=2)
    area = np.where(ln > 0, (s1 - s0) * (t1 - t0), np.inf)
    b = np.argmin(area, axis=1)
    g = np.arange(len(rings))
    ux, uy, s0, s1, t0, t1 = ux[g, b], uy[g, b], s0[g, b], s1[g, b], t0[g, b], t1[g, b]
    ss = np.stack([s0, s1, s1, s0], axis=1)
    tt = np.stack([t0, t0, t1, t1], axis=1)
    return np.stack([ss * ux[:, None] - tt * uy[:, None], ss * uy[:, None] + tt * ux[:, None]], axis=2)


def _gnomonic_solid_angles(polys: F64) -> F64:
    """``gnomonic_solid_angle`` of many convex polygons of one size (G, k, 2) at once."""
    v = np.concatenate([polys, np.ones(polys.shape[:2] + (1,))], axis=2)
    v /= np.linalg.norm(v, axis=2, keepdims=True)
    c = v.sum(axis=1)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    w = np.roll(v, -1, axis=1)
    num = np.abs(np.einsum("gkj,gj->gk", cross(v, w), c))
    den = 1 + np.einsum("gkj,gj->gk", v, c) + np.einsum("gkj,gj->gk", w, c) + np.einsum("gkj,gkj->gk", v, w)
    out: F64 = np.sum(2 * np.arctan2(num, den), axis=1)
    return out


def convex_ring(pts: F64) -> F64:
    """The counter-clockwise convex hull (k, 2) of points (n, 2), without the closing vertex; fewer than
    three vertices when the points are collinear."""
    coords = shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(pts)))
    if len(coords) < 4:  # a point or a segment
        return np.unique(coords, axis=0)
    coords = coords[:-1]
    (ax, ay), (bx, by), (cx, cy) = coords[0], coords[1], coords[2]
    # a convex ring turns the same way at every vertex: the first turn tells its orientation
    ring: F64 = coords[::-1] if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) < 0 else coords
    return ring


def offset_convex(pts: F64, dist: float, *, mitre_limit: float = MITRE_LIMIT) -> F64:
    """A convex polygon (k, 2), counter-clockwise, containing every point within ``dist`` of the convex
    hull of ``pts`` (n, 2): each edge moved out by ``dist`` (mitre joins; a corner whose mitre would
    reach beyond ``mitre_limit`` x ``dist`` is bevelled by the line tangent to its circle of radius
    ``dist``, so the sharp corners of a sliver seen edge-on add no spike). A point or a segment becomes
    the rectangle around it grown by ``dist``.
    (Plain floats: the rings here have a handful of vertices, where numpy's per-call cost dominates.)"""
    return offset_ring(convex_ring(pts), dist, mitre_limit=mitre_limit)


def offset_ring(hull: F64, dist: float, *, mitre_limit: float = MITRE_LIMIT) -> F64:
    """``offset_convex`` of a ring that is already a counter-clockwise convex hull (k, 2), k >= 1."""
    return np.array(_offset_points(hull.tolist(), dist, mitre_limit))


def _offset_points(hull: list[Any], dist: float, mitre_limit: float = MITRE_LIMIT) -> list[tuple[float, float]]:
    """``offset_ring`` on plain floats: ``hull`` and the result as lists of (x, y)."""
    ring = [p for i, p in enumerate(hull) if i == 0 or p != hull[i - 1]]
    if len(ring) > 1 and ring[-1] == ring[0]:
        ring.pop()
    if len(ring) >= 3:
        xs, ys = [p[0] for p in hull], [p[1] for p in hull]
        span = max(max(xs) - min(xs), max(ys) - min(ys))
        if _collinear(ring, 1e-9 * span * span):  # (nearly) collinear: its two extremes
            pts = np.asarray(ring, float)
            far = np.linalg.norm(pts[:, None, :] - pts[None, :, :], axis=2)
            ia, ib = (int(v) for v in np.unravel_index(int(np.argmax(far)), far.shape))
            ring = [ring[ia], ring[ib]]
    if len(ring) < 3:  # a point or a segment: its rectangle, aligned with the segment
        (ax, ay), (bx, by) = ring[0], ring[-1]
        tx, ty = bx - ax, by - ay
        n = math.hypot(tx, ty)
        tx, ty = (1.0, 0.0) if n < 1e-15 else (tx / n, ty / n)
        ox, oy = -ty * dist, tx * dist
        ax, ay, bx, by = ax - dist * tx, ay - dist * ty, bx + dist * tx, by + dist * ty
        return [(ax - ox, ay - oy), (bx - ox, by - oy), (bx + ox, by + oy), (ax + ox, ay + oy)]
    k = len(ring)
    normals = []  # outward unit normal of edge i -> i + 1
    for i in range(k):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % k]
        ln = math.hypot(x1 - x0, y1 - y0)
        normals.append(((y1 - y0) / ln, (x0 - x1) / ln))
    out = []
    reach = dist  # the bevel is tangent to the corner's circle
    for i in range(k):
        (px, py), (nx, ny), (vx, vy) = normals[i - 1], normals[i], ring[i]
        cos = px * nx + py * ny
        if 2.0 / max(1.0 + cos, 1e-12) <= mitre_limit**2:  # mitre join
            f = dist / (1.0 + cos)
            out.append((vx + f * (px + nx), vy + f * (py + ny)))
            continue
        # a sharp corner: bevel it with the line tangent to the disc of radius dist around the corner
        # (perpendicular to the bisector), cut by the two offset edges
        bx, by = px + nx, py + ny
        bn = math.hypot(bx, by)
        bx, by = bx / bn, by / bn
        tx, ty = vx + reach * bx, vy + reach * by
        for mx, my in ((px, py), (nx, ny)):
            h = (dist - reach * (bx * mx + by * my)) / (-by * mx + bx * my)
            out.append((tx - by * h, ty + bx * h))
    return out


def _collinear(ring: list[Any], tol: float) -> bool:
    """``abs(_area2(ring)) <= tol``, on plain floats; numpy's own sum decides the cases so close to
    the tolerance that the order of summation could (so the answer is numpy's, bit for bit)."""
    terms = [x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)]
    area = abs(sum(terms))
    if abs(area - tol) <= 1e-12 * sum(abs(t) for t in terms):
        return abs(_area2(np.asarray(ring, float))) <= tol
    return bool(area <= tol)


def bounding_rectangle(ring: F64) -> F64:
    """The axis-aligned rectangle (4, 2) around a ring (n, 2), counter-clockwise from its lower left."""
    (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def reduce_ring(ring: F64, k: int) -> F64:
    """At most ``k`` vertices (k >= 3) of a convex polygon containing the convex ring (n, 2) (gnomonic
    coordinates), counter-clockwise: of the enclosing k-gons tried, the one of least solid angle. They
    are the greedy reduction (repeatedly replace the edge whose neighbours, extended to their
    intersection, add the least area) and the minimum-area rotated rectangle (k >= 4) or the
    triangle of twice its area around it (k = 3). So the result's solid angle is at most that of the
    ring's minimum rotated rectangle (k >= 4; twice it for k = 3), however thin the ring: the greedy
    reduction alone extends two nearly parallel edges of a sliver far out."""
    return np.array(_reduce_points([tuple(p) for p in np.asarray(ring, float).tolist()], k), float)


def _reduce_points(pts: list[tuple[float, float]], k: int) -> list[Any]:
    """``reduce_ring`` on plain floats (a list of (x, y))."""
    if len(pts) <= k:
        return pts
    rect = min_rect_points(pts)
    tries = [rect if k >= 4 else _triangle_around(rect)]
    greedy = _greedy_reduce(pts, k)
    if greedy is not None:
        tries.append(greedy)
    return min(tries, key=gnomonic_solid_angle)


def _greedy_reduce(pts: list[tuple[float, float]], k: int) -> list[Any] | None:
    """The greedy edge removal of ``reduce_ring``; None where no edge can be removed that way."""
    while len(pts) > k:
        n = len(pts)
        best: tuple[float, int, tuple[float, float]] | None = None
        for i in range(n):
            (ax, ay), (bx, by), (cx, cy), (dx, dy) = pts[i - 1], pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
            rx, ry, sx, sy = bx - ax, by - ay, cx - dx, cy - dy  # extend edges a->b and d->c
            den = rx * sy - ry * sx
            if abs(den) < 1e-15:
                continue
            t = ((dx - ax) * sy - (dy - ay) * sx) / den
            u = ((dx - ax) * ry - (dy - ay) * rx) / den
            if t < 1 - 1e-12 or u < 1 - 1e-12:
                continue
            x, y = ax + t * rx, ay + t * ry
            added = abs((bx - x) * (cy - y) - (by - y) * (cx - x)) / 2
            if best is None or added < best[0]:
                best = (added, i, (x, y))
        if best is None:
            return None
        _, i, xy = best
        # drop b (index i) and c (index i + 1), put their extension point in their place
        pts = pts[1:n - 1] + [xy] if i == n - 1 else pts[:i] + [xy] + pts[i + 2:]
    return pts


def min_rect_points(pts: list[Any]) -> list[tuple[float, float]]:
    """The minimum-area rectangle around a convex ring (a list of (x, y), counter-clockwise, at least
    two distinct points): one of its sides lies along an edge of the ring (Freeman and Shapira), so
    every edge direction is tried. Counter-clockwise, 4 corners."""
    n = len(pts)
    best: tuple[float, float, float, float, float, float, float] | None = None
    for i in range(n):
        (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % n]
        ln = math.hypot(x1 - x0, y1 - y0)
        if ln == 0.0:
            continue
        ux, uy = (x1 - x0) / ln, (y1 - y0) / ln
        s = [x * ux + y * uy for x, y in pts]
        t = [y * ux - x * uy for x, y in pts]
        s0, s1, t0, t1 = min(s), max(s), min(t), max(t)
        area = (s1 - s0) * (t1 - t0)
        if best is None or area < best[0]:
            best = (area, ux, uy, s0, s1, t0, t1)
    assert best is not None, "a ring of one point has no rectangle"
    _, ux, uy, s0, s1, t0, t1 = best
    return [(s * ux - t * uy, s * uy + t * ux) for s, t in ((s0, t0), (s1, t0), (s1, t1), (s0, t1))]


def _triangle_around(rect: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """A triangle of twice the area of the rectangle p0 p1 p2 p3 around it: its base is p0 p1 extended
    by half its length on each side, its apex two heights above the middle of that base."""
    (ax, ay), (bx, by), _, (dx, dy) = rect
    ex, ey, fx, fy = bx - ax, by - ay, dx - ax, dy - ay
    mx, my = (ax + bx) / 2, (ay + by) / 2
    return [(ax - ex / 2, ay - ey / 2), (bx + ex / 2, by + ey / 2), (mx + 2 * fx, my + 2 * fy)]


def gnomonic_solid_angle(ring: list[Any]) -> float:
    """Solid angle [sr] of a convex polygon given in gnomonic coordinates (x, y) of any tangent frame:
    its vertices are the directions (x, y, 1), joined by great circles (a fan of spherical triangles
    from their mean direction, as ``SphericalMask.solid_angle``)."""
    v = []
    for x, y in ring:
        n = math.sqrt(x * x + y * y + 1.0)
        v.append((x / n, y / n, 1.0 / n))
    return _fan_solid_angle(v)


def _fan_solid_angle(verts: Sequence[Sequence[float]]) -> float:
    """Solid angle [sr] of a convex spherical polygon, unit vertices ``verts`` in order, on plain floats:
    a fan of spherical triangles from the vertices' mean direction (``SphericalMask.solid_angle``)."""
    cx, cy, cz = (sum(v[i] for v in verts) for i in range(3))
    n = math.sqrt(cx * cx + cy * cy + cz * cz)
    cx, cy, cz = cx / n, cy / n, cz / n
    total = 0.0
    for k, (ax, ay, az) in enumerate(verts):
        bx, by, bz = verts[(k + 1) % len(verts)]
        num = abs((ay * bz - az * by) * cx + (az * bx - ax * bz) * cy + (ax * by - ay * bx) * cz)
        den = 1 + ax * cx + ay * cy + az * cz + bx * cx + by * cy + bz * cz + ax * bx + ay * by + az * bz
        total += 2 * math.atan2(num, den)
    return total


def reduce_vertices(poly: shapely.Polygon, k: int) -> shapely.Polygon:
    """``reduce_ring`` on a shapely polygon's convex hull."""
    return shapely.Polygon(reduce_ring(convex_ring(shapely.get_coordinates(poly)), k))


def _area2(ring: F64) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.sum(x * _next(y) - _next(x) * y))


def _next(a: NDArray[Any]) -> NDArray[Any]:
    """Each row's successor in a ring (``np.roll(a, -1, axis=0)`` without its overhead)."""
    return np.concatenate([a[1:], a[:1]])
