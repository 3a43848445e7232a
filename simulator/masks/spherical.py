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
    f = centre / math.sqrt(float(centre @ centre))
    r = np.array([f[1], -f[0], 0.0])  # f x z
    n = math.hypot(r[0], r[1])
    r = np.array([1.0, 0.0, 0.0]) if n < 1e-9 else r / n  # straight up or down: image right is east
    return f, r, cross(r, f)


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
    d = f[None, :] + xy[:, :1] * r[None, :] + xy[:, 1:2] * u[None, :]
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def unit(v: F64) -> F64:
    v = np.atleast_2d(np.asarray(v, float))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


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
        return c / np.linalg.norm(c)

    def frame(self) -> tuple[F64, F64, F64]:
        return tangent_frame(self.centre)

    def contains(self, dirs: F64, *, tol: float = 1e-12) -> NDArray[np.bool_]:
        """Whether directions (n, 3) lie inside (or on) the mask: on the inner side of every great circle."""
        v = self.vertices
        w = np.roll(v, -1, axis=0)
        # image axes: right x up = -forward, so counter-clockwise in the image is clockwise about the
        # forward axis and the inward great-circle normals are w x v
        normals = cross(w, v)
        d = unit(dirs)
        return np.all(d @ normals.T >= -tol, axis=1) & (d @ self.centre > 0)

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
        w = np.roll(v, -1, axis=0)
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
    d = unit(dirs)
    frame = tangent_frame(d.sum(axis=0))
    xy = project(d, frame)
    if np.isnan(xy).any():
        return None
    theta = np.arccos(np.clip(d @ frame[0], -1, 1)).max()
    if math.degrees(theta) + margin_deg > MAX_HALF_ANGLE_DEG:
        return None
    hull = shapely.MultiPoint(xy).convex_hull
    # in the gnomonic plane an angle a at angle t from the centre spans at least tan(a) * cos(t)^-2 ... so
    # buffering by tan(margin) / cos^2(t_max) keeps at least the margin everywhere
    buf = math.tan(math.radians(margin_deg)) / math.cos(theta + math.radians(margin_deg)) ** 2
    poly = hull.buffer(max(buf, 1e-9), join_style="mitre", mitre_limit=10.0)
    if rectangle_only:
        x0, y0, x1, y1 = poly.bounds
        poly = shapely.box(x0, y0, x1, y1)
    else:
        poly = reduce_vertices(poly, max_vertices)
    ring = np.asarray(shapely.orient_polygons(poly).exterior.coords)[:-1]
    return SphericalMask(mask_id, unproject(ring, frame), targets)


def reduce_vertices(poly: shapely.Polygon, k: int) -> shapely.Polygon:
    """A convex polygon with at most ``k`` vertices containing ``poly`` (convex): repeatedly remove the
    edge whose neighbours, extended to their intersection, add the least area; if no edge can be
    removed that way, the minimum rotated rectangle (k >= 4) or the bounding triangle of it."""
    p = shapely.convex_hull(poly)
    pts = np.asarray(shapely.orient_polygons(p).exterior.coords)[:-1]
    while len(pts) > k:
        best = None
        n = len(pts)
        for i in range(n):
            a, b, c, d = pts[i - 1], pts[i], pts[(i + 1) % n], pts[(i + 2) % n]
            x = _intersect(a, b, d, c)  # extend edges a->b and d->c
            if x is None:
                continue
            added = abs(_cross2(b - x, c - x)) / 2
            if best is None or added < best[0]:
                best = (added, i, x)
        if best is None:
            rect = np.asarray(shapely.minimum_rotated_rectangle(shapely.Polygon(pts)).exterior.coords)[:-1]
            return shapely.Polygon(rect) if k >= 4 else shapely.Polygon(rect).envelope
        _, i, x = best
        # drop b (index i) and c (index i + 1), put their extension point x in their place
        rows = list(pts)
        rows = rows[1:n - 1] + [x] if i == n - 1 else rows[:i] + [x] + rows[i + 2:]
        pts = np.array(rows)
    return shapely.Polygon(pts)


def _cross2(a: F64, b: F64) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _intersect(a: F64, b: F64, d: F64, c: F64) -> F64 | None:
    """Intersection of ray a->b (beyond b) and ray d->c (beyond c), or None if they do not meet ahead."""
    r, s = b - a, c - d
    den = _cross2(r, s)
    if abs(den) < 1e-15:
        return None
    t = _cross2(d - a, s) / den
    u = _cross2(d - a, r) / den
    if t < 1 - 1e-12 or u < 1 - 1e-12:
        return None
    return a + t * r
