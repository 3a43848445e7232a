"""The occluding triangle mesh: extruded footprints, 3D model surfaces and terrain, built with numpy
(walls as quads, roofs and 3D polygons by earcut)."""

from __future__ import annotations

import mapbox_earcut as earcut
import numpy as np
import shapely
from numpy.typing import NDArray

from ..geom import newell_vector
from ..vocabulary import F64


def extrusion_triangles(footprints: NDArray[np.object_], base_z: F64, top_z: F64) -> F64:
    """(m, 3, 3) triangles [m]: every ring edge as a wall quad from base_z to top_z, flat roofs at top_z."""
    if len(footprints) == 0:
        return np.empty((0, 3, 3))
    parts, pidx = shapely.get_parts(footprints, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[:-1] == cidx[1:]
    p0, p1 = coords[:-1][same], coords[1:][same]
    b = pidx[ridx[cidx[:-1][same]]]
    z0, z1 = base_z[b], top_z[b]
    a0 = np.column_stack([p0, z0])
    a1 = np.column_stack([p1, z0])
    c1 = np.column_stack([p1, z1])
    c0 = np.column_stack([p0, z1])
    walls = np.concatenate([np.stack([a0, a1, c1], axis=1), np.stack([a0, c1, c0], axis=1)])
    roofs = [_earcut_polygon(p, top_z[i]) for p, i in zip(parts, pidx, strict=True)]
    return np.concatenate([walls, *roofs]) if roofs else walls


def _earcut_polygon(poly: shapely.Polygon, z: float) -> F64:
    rings = [np.asarray(poly.exterior.coords)[:-1, :2]] + [np.asarray(r.coords)[:-1, :2] for r in poly.interiors]
    xy = np.concatenate(rings)
    ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
    idx = earcut.triangulate_float64(xy, ends)
    tri = xy[idx.reshape(-1, 3)]
    return np.concatenate([tri, np.full(tri.shape[:2] + (1,), z)], axis=2)


def polygon3d_triangles(rings: list[F64]) -> F64:
    """Triangles of one planar 3D polygon with holes, by earcut in the plane's dominant projection."""
    pts = np.concatenate(rings)
    n = newell_vector(rings[0])
    drop = int(np.argmax(np.abs(n)))
    keep = [i for i in range(3) if i != drop]
    ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
    idx = earcut.triangulate_float64(np.ascontiguousarray(pts[:, keep]), ends)
    return pts[idx.reshape(-1, 3)] if len(idx) else np.empty((0, 3, 3))


def surfaces_triangles(polygons: list[list[F64]]) -> F64:
    """Triangles of many planar 3D polygons (each a list of rings)."""
    tris = [polygon3d_triangles(r) for r in polygons]
    tris = [t for t in tris if len(t)]
    return np.concatenate(tris) if tris else np.empty((0, 3, 3))
