"""Search boxes over a scene's targets, triangles and street samples, so that cutting a part of the
scene (``run.tiles.scene_part``) costs what the part holds, not the whole scene."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..geom import ball

Box = tuple[float, float, float, float]  # (xmin, ymin, xmax, ymax) [m]


class Boxes:
    """2D boxes [lo, hi] (each (n, 2)) with a KD-tree of their centres: ``within(box)`` gives, in
    ascending order, every box that may meet ``box`` (a superset: the caller tests them exactly)."""

    def __init__(self, lo: NDArray[np.float64], hi: NDArray[np.float64]) -> None:
        self.lo, self.hi = lo, hi
        centre = (lo + hi) / 2
        self.reach = float(np.hypot(*(hi - lo).T).max(initial=0.0)) / 2
        self.tree = cKDTree(centre if len(centre) else np.zeros((1, 2)))
        self.n = len(lo)

    def within(self, box: Box) -> NDArray[np.intp]:
        if self.n == 0:
            return np.zeros(0, np.intp)
        mid = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        r = math.hypot(box[2] - box[0], box[3] - box[1]) / 2 + self.reach + 1e-6
        return ball(self.tree, mid, r)


@dataclass(frozen=True)
class PartIndex:
    """The boxes of the targets (centroid +- radius), the triangles and the street samples."""

    targets: Boxes
    triangles: Boxes
    streets: Boxes

    @classmethod
    def of(cls, centroid_xy: NDArray[np.float64], radius_m: NDArray[np.float64], triangles: NDArray[np.float64],
           street_samples: NDArray[np.float64]) -> PartIndex:
        tri = triangles[:, :, :2]
        pts = street_samples[:, :2]
        r = radius_m[:, None]
        return cls(Boxes(centroid_xy - r, centroid_xy + r), Boxes(tri.min(axis=1), tri.max(axis=1)), Boxes(pts, pts))
