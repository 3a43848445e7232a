"""Convex spherical polygons with great-circle edges.

A mask is a convex polygon on the unit sphere of directions from its camera (scene frame: x east,
y north, z up). Great circles are straight lines in a gnomonic projection, so each mask is handled as
a convex polygon in the gnomonic (tangent-plane) frame of its centre: that frame *is* a pinhole image
plane pointed at the centre with no roll (x right, y up), which is how cameras draw masks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

F64 = NDArray[np.float64]
MAX_HALF_ANGLE_DEG = 75.0  # gnomonic frames are used up to this angle from their centre


def cross(a: F64, b: F64) -> F64:
    """Cross product of (..., 3) arrays (numpy's ``cross`` is slow on small arrays)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def tangent_frame(centre: F64) -> tuple[F64, F64, F64]:
    """(forward, right, up) unit vectors of a no-roll view towards ``centre`` (3,)."""
    cx, cy, cz = (float(v) for v in centre)
    n = math.sqrt(cx * cx + cy * cy + cz * cz)
    fx, fy, fz = cx / n, cy / n, cz / n
    h = math.hypot(fx, fy)
    rx, ry = (1.0, 0.0) if h < 1e-9 else (fy / h, -fx / h)  # f x z; straight up or down: image right is east
    # up = right x forward
    return (np.array([fx, fy, fz]), np.array([rx, ry, 0.0]),
            np.array([ry * fz, -rx * fz, rx * fy - ry * fx]))


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
    return v / np.sqrt(np.einsum("ij,ij->i", v, v))[:, None]


@dataclass(frozen=True)
class SphericalMask:
    """A convex mask: ``vertices`` (k, 3) unit directions, counter-clockwise seen from the camera
    (i.e. in its image with x right, y up); ``targets`` lists the target ids it covers."""

    id: str
    vertices: F64
    targets: tuple[str, ...]

    @cached_property
    def centre(self) -> F64:
        c = self.vertices.sum(axis=0)
        return c / math.sqrt(float(c @ c))

    def frame(self) -> tuple[F64, F64, F64]:
        return tangent_frame(self.centre)

    @cached_property
    def _inward_normals(self) -> F64:
        # image axes: right x up = -forward, so counter-clockwise in the image is clockwise about the
        # forward axis and the inward great-circle normals are w x v
        v = self.vertices
        return cross(_next(v), v)

    def contains(self, dirs: F64, *, tol: float = 1e-12, unit_length: bool = False) -> NDArray[np.bool_]:
        """Whether directions (n, 3) lie inside (or on) the mask: on the inner side of every great circle.
        ``unit_length``: the directions are unit vectors already (skips normalising them)."""
        d = np.atleast_2d(dirs) if unit_length else unit(dirs)
        return np.all(d @ self._inward_normals.T >= -tol, axis=1) & (d @ self.centre > 0)

    def polygon2d(self, frame: tuple[F64, F64, F64] | None = None) -> shapely.Polygon:
        return shapely.Polygon(project(self.vertices, frame or self.frame()))

    def half_angle_deg(self) -> float:
        """Largest angle [deg] between the centre and a vertex."""
        return float(np.degrees(np.arccos(np.clip(self.vertices @ self.centre, -1, 1))).max())

    @cached_property
    def area_sr(self) -> float:
        return self.solid_angle()

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


def hull_mask(mask_id: str, dirs: F64, targets: tuple[str, ...], *, margin_deg: float,
              max_vertices: int, rectangle_only: bool) -> SphericalMask | None:
    """The convex mask around directions (n, 3), grown by ``margin_deg`` everywhere, with at most
    ``max_vertices`` vertices (reduced conservatively: the polygon only grows), or an image-aligned
    rectangle. None when the directions span more than a gnomonic frame can hold."""
    one = hull_masks([mask_id], dirs, np.zeros(len(dirs), np.intp), [targets], np.array([margin_deg]),
                     max_vertices=max_vertices, rectangle_only=rectangle_only)
    return one[0]


def _finish(mask_id: str, hull: F64, frame: tuple[F64, F64, F64], theta: float, targets: tuple[str, ...], *,
            margin_deg: float, max_vertices: int, rectangle_only: bool) -> SphericalMask | None:
    """The mask from the gnomonic hull (k, 2) of its directions, ``theta`` [rad] their largest angle
    from the frame's centre: grown by the margin, then reduced or made a rectangle. None when the
    result reaches beyond ``MAX_HALF_ANGLE_DEG`` from its own centre (a rectangle around directions
    from nadir to zenith, say): no view can hold it."""
    # in the gnomonic plane an angle a at angle t from the centre spans at least tan(a) * cos(t)^-2 ... so
    # offsetting by tan(margin) / cos^2(t_max) keeps at least the margin everywhere
    buf = max(math.tan(math.radians(margin_deg)) / math.cos(theta + math.radians(margin_deg)) ** 2, 1e-9)
    ring = offset_ring(hull, buf)
    if rectangle_only:
        (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
        ring = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    else:
        ring = reduce_ring(ring, max_vertices)
    mask = SphericalMask(mask_id, unproject(ring, frame), targets)
    return mask if mask.half_angle_deg() <= MAX_HALF_ANGLE_DEG else None


def hull_masks(ids: list[str], dirs: F64, group: NDArray[np.intp], targets: list[tuple[str, ...]],
               margins_deg: F64, *, max_vertices: int, rectangle_only: bool) -> list[SphericalMask | None]:
    """``hull_mask`` for many groups at once: directions (n, 3) with their group number ``group``
    (n,), sorted and covering 0 .. len(ids) - 1; one margin [deg] per group. The projection and
    the convex hulls are computed for all groups in a few array operations."""
    k = len(ids)
    d = unit(dirs)
    starts = np.searchsorted(group, np.arange(k))
    c = np.add.reduceat(d, starts, axis=0)
    f = c / np.sqrt(np.einsum("ij,ij->i", c, c))[:, None]
    h = np.hypot(f[:, 0], f[:, 1])
    vertical = h < 1e-9
    hs = np.where(vertical, 1.0, h)
    r = np.column_stack([np.where(vertical, 1.0, f[:, 1] / hs), np.where(vertical, 0.0, -f[:, 0] / hs),
                         np.zeros(k)])
    u = np.column_stack([r[:, 1] * f[:, 2], -r[:, 0] * f[:, 2], r[:, 0] * f[:, 1] - r[:, 1] * f[:, 0]])
    z = np.einsum("ij,ij->i", d, f[group])
    behind = np.minimum.reduceat(z, starts) <= 1e-9
    zs = np.where(z > 1e-9, z, 1.0)
    xy = np.column_stack([np.einsum("ij,ij->i", d, r[group]) / zs, np.einsum("ij,ij->i", d, u[group]) / zs])
    theta = np.arccos(np.clip(np.minimum.reduceat(z, starts), -1, 1))
    hulls = shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(xy, indices=group)), return_index=True)
    coords, owner = hulls
    bounds = np.searchsorted(owner, np.arange(k + 1))
    out: list[SphericalMask | None] = []
    for g in range(k):
        if behind[g] or math.degrees(theta[g]) + margins_deg[g] > MAX_HALF_ANGLE_DEG:
            out.append(None)
            continue
        ring = coords[bounds[g]:bounds[g + 1]]
        if len(ring) < 4:
            ring = np.unique(ring, axis=0)
        else:
            ring = ring[:-1]
            (ax, ay), (bx, by), (cx, cy) = ring[0], ring[1], ring[2]
            if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) < 0:
                ring = ring[::-1]
        out.append(_finish(ids[g], ring, (f[g], r[g], u[g]), float(theta[g]), targets[g],
                           margin_deg=float(margins_deg[g]), max_vertices=max_vertices,
                           rectangle_only=rectangle_only))
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
    return coords[::-1] if (bx - ax) * (cy - by) - (by - ay) * (cx - bx) < 0 else coords


def offset_convex(pts: F64, dist: float, *, mitre_limit: float = 10.0) -> F64:
    """A convex polygon (k, 2), counter-clockwise, containing every point within ``dist`` of the convex
    hull of ``pts`` (n, 2): each edge moved out by ``dist`` (mitre joins, bevelled beyond
    ``mitre_limit``). A point or a segment becomes the rectangle around it grown by ``dist``.
    (Plain floats: the rings here have a handful of vertices, where numpy's per-call cost dominates.)"""
    return offset_ring(convex_ring(pts), dist, mitre_limit=mitre_limit)


def offset_ring(hull: F64, dist: float, *, mitre_limit: float = 10.0) -> F64:
    """``offset_convex`` of a ring that is already a counter-clockwise convex hull (k, 2), k >= 1."""
    ring = [p for i, p in enumerate(hull.tolist()) if i == 0 or p != hull[i - 1].tolist()]
    if len(ring) > 1 and ring[-1] == ring[0]:
        ring.pop()
    if len(ring) >= 3:
        span = float(np.ptp(hull, axis=0).max())
        if abs(_area2(np.asarray(ring))) <= 1e-9 * span * span:  # (nearly) collinear: its two extremes
            pts = np.asarray(ring)
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
        return np.array([[ax - ox, ay - oy], [bx - ox, by - oy], [bx + ox, by + oy], [ax + ox, ay + oy]])
    k = len(ring)
    normals = []  # outward unit normal of edge i -> i + 1
    for i in range(k):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % k]
        ln = math.hypot(x1 - x0, y1 - y0)
        normals.append(((y1 - y0) / ln, (x0 - x1) / ln))
    out = []
    reach = dist * mitre_limit
    for i in range(k):
        (px, py), (nx, ny), (vx, vy) = normals[i - 1], normals[i], ring[i]
        cos = px * nx + py * ny
        if 2.0 / max(1.0 + cos, 1e-12) <= mitre_limit**2:  # mitre join
            f = dist / (1.0 + cos)
            out.append((vx + f * (px + nx), vy + f * (py + ny)))
            continue
        # a sharp corner: bevel it with the tangent line at mitre_limit x dist along the bisector
        # (outside the disc of radius dist around the corner), cut by the two offset edges
        bx, by = px + nx, py + ny
        bn = math.hypot(bx, by)
        bx, by = bx / bn, by / bn
        tx, ty = vx + reach * bx, vy + reach * by
        for mx, my in ((px, py), (nx, ny)):
            h = (dist - reach * (bx * mx + by * my)) / (-by * mx + bx * my)
            out.append((tx - by * h, ty + bx * h))
    return np.array(out)


def reduce_ring(ring: F64, k: int) -> F64:
    """At most ``k`` vertices (k >= 3) of a convex polygon containing the convex ring (n, 2), counter-clockwise:
    repeatedly replace the edge whose neighbours, extended to their intersection, add the least area;
    if no edge can be removed that way, the minimum rotated rectangle (k >= 4) or a triangle around it."""
    pts = [tuple(p) for p in np.asarray(ring, float).tolist()]
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
            rect = np.asarray(shapely.minimum_rotated_rectangle(shapely.Polygon(pts)).exterior.coords)[:-1]
            rect = rect if _area2(rect) > 0 else rect[::-1]
            if k >= 4:
                return rect
            # a triangle around the rectangle p0 p1 p2 p3: its base p0 p1 extended by one width on
            # each side, its apex one height above the middle of the top edge
            e, f = rect[1] - rect[0], rect[3] - rect[0]
            return np.array([rect[0] - e, rect[1] + e, (rect[2] + rect[3]) / 2 + f])
        _, i, xy = best
        # drop b (index i) and c (index i + 1), put their extension point in their place
        pts = pts[1:n - 1] + [xy] if i == n - 1 else pts[:i] + [xy] + pts[i + 2:]
    return np.array(pts, float)


def reduce_vertices(poly: shapely.Polygon, k: int) -> shapely.Polygon:
    """``reduce_ring`` on a shapely polygon's convex hull."""
    return shapely.Polygon(reduce_ring(convex_ring(shapely.get_coordinates(poly)), k))


def _area2(ring: F64) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return float(np.sum(x * _next(y) - _next(x) * y))


def _next(a: NDArray[Any]) -> NDArray[Any]:
    """Each row's successor in a ring (``np.roll(a, -1, axis=0)`` without its overhead)."""
    return np.concatenate([a[1:], a[:1]])
