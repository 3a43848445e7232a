"""Terrain: a regular height grid triangulated one way, and heights interpolated on the same triangles
(so points placed on the ground lie exactly on the occluding mesh)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..inputs.dem import DemGrid
from ..vocabulary import F64


@dataclass(frozen=True)
class Terrain:
    """Ground heights [m]; ``grid`` None means flat ground at z = 0. ``first_node`` (row, column):
    where ``grid.z[0, 0]`` lies on the grid whose corner is ``grid.x0, grid.y0`` (a window cut from a
    larger DEM keeps that DEM's corner, so its heights are computed with the same floating-point
    operations, bit for bit)."""

    grid: DemGrid | None = None
    first_node: tuple[int, int] = (0, 0)

    @property
    def is_flat(self) -> bool:
        return self.grid is None

    def _nodes(self) -> tuple[F64, float, float]:
        assert self.grid is not None
        z = self.grid.z
        if np.isnan(z).any():
            z = np.where(np.isnan(z), np.nanmean(z), z)
        return z, self.grid.x0 + 0.5 * self.grid.dx, self.grid.y0 - 0.5 * self.grid.dy

    def height_at(self, x: ArrayLike, y: ArrayLike) -> F64:
        """Ground z [m] at scene (x, y) [m] on the triangulated grid (clamped at its edges)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if self.grid is None:
            return np.zeros(np.broadcast(x, y).shape)
        z, xn, yn = self._nodes()
        nr, nc = z.shape
        r0, c0 = self.first_node
        u = np.clip((x - xn) / self.grid.dx, c0, c0 + nc - 1 - 1e-9)
        v = np.clip((yn - y) / self.grid.dy, r0, r0 + nr - 1 - 1e-9)
        j = np.floor(u).astype(int)
        i = np.floor(v).astype(int)
        fu, fv = u - j, v - i
        i, j = i - r0, j - c0
        z00, z01 = z[i, j], z[i, j + 1]
        z10, z11 = z[i + 1, j], z[i + 1, j + 1]
        upper = fu >= fv  # triangle (i,j) (i,j+1) (i+1,j+1)
        heights: F64 = np.where(upper, z00 + fu * (z01 - z00) + fv * (z11 - z01),
                                z00 + fv * (z10 - z00) + fu * (z11 - z10))
        return heights

    def triangles(self) -> F64:
        """(m, 3, 3) triangles [m] of the grid, split along the (i,j)-(i+1,j+1) diagonal."""
        if self.grid is None:
            return np.empty((0, 3, 3))
        z, xn, yn = self._nodes()
        nr, nc = z.shape
        cols, rows = np.meshgrid(np.arange(nc), np.arange(nr))
        r0, c0 = self.first_node
        pts = np.stack([xn + (cols + c0) * self.grid.dx, yn - (rows + r0) * self.grid.dy, z], axis=-1)
        a, b = pts[:-1, :-1], pts[:-1, 1:]
        c, d = pts[1:, :-1], pts[1:, 1:]
        t1 = np.stack([a, b, d], axis=-2).reshape(-1, 3, 3)
        t2 = np.stack([a, d, c], axis=-2).reshape(-1, 3, 3)
        return np.concatenate([t1, t2])


ArrayLike = float | NDArray[np.floating[Any]]
