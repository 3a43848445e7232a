"""Small geometry helpers shared by readers and the scene."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray


def newell_vector(ring: NDArray[np.float64]) -> NDArray[np.float64]:
    """Newell's (unnormalised) normal of a 3D ring (k, 3): counter-clockwise seen from its front;
    its length is twice the ring's area."""
    p = np.asarray(ring, dtype=float)
    q = np.roll(p, -1, axis=0)
    return np.array([np.sum((p[:, 1] - q[:, 1]) * (p[:, 2] + q[:, 2])),
                     np.sum((p[:, 2] - q[:, 2]) * (p[:, 0] + q[:, 0])),
                     np.sum((p[:, 0] - q[:, 0]) * (p[:, 1] + q[:, 1]))])


def polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (e.g. of ``make_valid`` output); an empty polygon if none."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def ball(tree: Any, centre: Any, radius: float) -> NDArray[np.intp]:
    """Indices of the points of a ``cKDTree`` within ``radius`` of ``centre``, in ascending order
    (sorted here: scipy's own ``return_sorted`` takes ten times as long as the query)."""
    return np.sort(np.asarray(tree.query_ball_point(centre, radius, return_sorted=False), dtype=np.intp))
