"""Public-space coverage: the open ground each camera sees, by DORI class, before and after its masks.

The ground is a grid of square cells (``coverage.cell_m``) aligned on multiples of the cell size in the
scene CRS, so cells of different cameras coincide. A cell is public unless its centre lies in a
building footprint or a private area (courtyard, backyard, terrace on the ground). A camera covers a
public cell when the point ``coverage.height_m`` above the ground at its centre (default 1.6 m: a face)
is within range and reach and the segment to it is clear (the same Embree any-hit query as for
private targets; terrain occludes). Its class is the DORI class of the tele-end pixel density at that
distance; it is *masked* when its direction lies inside one of the camera's masks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..scene import Camera, Scene
from ..vocabulary import DORI_OR_NONE, F64
from .exposure import dori_class, in_reach
from .masks.spherical import SphericalMask, inside_any

CLASSES = DORI_OR_NONE  # identify … detect, then below detect


@dataclass
class CameraCoverage:
    """The public cells a camera sees: cell indices ``ix``, ``iy`` (centre at ((ix + 0.5) cell_m,
    (iy + 0.5) cell_m) in the scene CRS), ``distance_m``, ``px_per_m``, ``dori`` and ``masked``."""

    camera_id: str
    cell_m: float
    ix: NDArray[np.int64]
    iy: NDArray[np.int64]
    distance_m: F64
    px_per_m: F64
    dori: NDArray[np.object_]
    masked: NDArray[np.bool_]

    def area_m2(self, dori: str | None = None, *, after_masks: bool = False) -> float:
        """Covered area [m2] (of one DORI class, or all); ``after_masks``: only cells no mask hides."""
        counts = self._counts()[after_masks]
        return float(sum(counts.values()) if dori is None else counts.get(dori, 0)) * self.cell_m**2

    def _counts(self) -> tuple[Counter[str], Counter[str]]:
        """Cells per DORI class, all and those no mask hides; counted once (and kept when pickled)."""
        return self._class_counts

    @cached_property
    def _class_counts(self) -> tuple[Counter[str], Counter[str]]:
        return Counter(self.dori.tolist()), Counter(self.dori[~self.masked].tolist())

    def polygons(self) -> list[tuple[str, bool, int, Any]]:
        """(DORI class, masked, cells, polygon) for each class and masked state present: the cells
        dissolved into polygons (scene CRS); computed once (and kept when the coverage is pickled)."""
        return list(self._polygons)

    @cached_property
    def _polygons(self) -> list[tuple[str, bool, int, Any]]:
        code = np.array([CLASSES.index(d) for d in self.dori], np.int32) * 2 + self.masked.astype(np.int32)
        return [(CLASSES[v // 2], bool(v % 2), int((code == v).sum()), geom)
                for v, geom in cells_to_polygons(self.ix, self.iy, code, self.cell_m)]

    def areas(self) -> dict[str, dict[str, float]]:
        """``{"before_masks": {class: m2}, "after_masks": {class: m2}}`` for every DORI class and ``none``."""
        return {when: {c: round(self.area_m2(c, after_masks=when == "after_masks"), 1) for c in CLASSES}
                for when in ("before_masks", "after_masks")}


def camera_coverage(scene: Scene, camera: Camera, *, masks: list[SphericalMask] | None = None) -> CameraCoverage:
    """The public ground ``camera`` covers (see the module docstring)."""
    settings = scene.scenario.coverage
    cell = settings.cell_m
    ix0, iy0, public = scene.public_cells(cell)
    r = camera.range_m
    cx, cy, cz = camera.position
    xs = np.arange(int(np.floor((cx - r) / cell)), int(np.ceil((cx + r) / cell)) + 1)
    ys = np.arange(int(np.floor((cy - r) / cell)), int(np.ceil((cy + r) / cell)) + 1)
    gx, gy = np.meshgrid(xs, ys)
    ix, iy = gx.ravel(), gy.ravel()
    x, y = (ix + 0.5) * cell, (iy + 0.5) * cell
    near = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    ix, iy, x, y = ix[near], iy[near], x[near], y[near]
    row, col = iy - iy0, ix - ix0
    inside = (row >= 0) & (row < public.shape[0]) & (col >= 0) & (col < public.shape[1])
    open_ground = np.ones(len(ix), bool)
    open_ground[inside] = public[row[inside], col[inside]]
    ix, iy, x, y = ix[open_ground], iy[open_ground], x[open_ground], y[open_ground]
    ground = (scene.terrain.height_at(x, y) if not scene.terrain.is_flat
              else np.full(len(x), camera.z - camera.mount_height_m))
    pts = np.column_stack([x, y, ground + settings.height_m])
    vec = pts - np.array(camera.position)
    dist = np.linalg.norm(vec, axis=1)
    ok = (dist <= r) & (dist > 0)
    ok[ok] = in_reach(camera, vec[ok])
    sel = np.flatnonzero(ok)
    clear = scene.engine.segment_clear(np.array(camera.position), pts[sel]) if len(sel) else np.zeros(0, bool)
    sel = sel[clear]
    # the point is a face at coverage.height_m, which faces the camera: frontal density, whatever
    # analysis.density_basis (that reads private surfaces)
    px = camera.resolution_px[0] / (2.0 * dist[sel] * np.tan(np.radians(camera.hfov_deg[1]) / 2.0))
    thresholds = scene.scenario.analysis.dori_px_per_m.model_dump()
    masked = inside_any(masks or [], vec[sel])
    return CameraCoverage(camera.id, cell, ix[sel].astype(np.int64), iy[sel].astype(np.int64), dist[sel], px,
                          dori_class(px, thresholds), masked)


def cells_to_polygons(ix: NDArray[np.int64], iy: NDArray[np.int64], values: NDArray[np.integer],
                      cell_m: float) -> list[tuple[int, Any]]:
    """(value, polygon) pairs: the cells (ix, iy) with the same integer value dissolved into polygons
    (scene CRS)."""
    from rasterio.features import shapes
    from rasterio.transform import from_origin

    if len(ix) == 0:
        return []
    import shapely

    x0, y0 = int(ix.min()), int(iy.min())
    w, h = int(ix.max()) - x0 + 1, int(iy.max()) - y0 + 1
    grid = np.zeros((h, w), np.int32)
    has = np.zeros((h, w), bool)
    rows = (h - 1) - (iy - y0)  # row 0 = north
    grid[rows, ix - x0] = values
    has[rows, ix - x0] = True
    transform = from_origin(x0 * cell_m, (y0 + h) * cell_m, cell_m, cell_m)
    # the GeoJSON rings rasterio traces, made into polygons in one call (shapely.geometry.shape on each
    # is slow when there are thousands of them)
    coords: list[Any] = []
    ring_size: list[int] = []  # per ring: its vertices
    rings_of: list[int] = []  # per polygon: its rings
    value_of: list[int] = []  # per polygon: its value
    for geom, value in shapes(grid, mask=has, transform=transform, connectivity=4):
        for ring in geom["coordinates"]:
            coords.extend(ring)
            ring_size.append(len(ring))
        rings_of.append(len(geom["coordinates"]))
        value_of.append(int(value))
    rings = shapely.linearrings(np.asarray(coords, float), indices=np.repeat(np.arange(len(ring_size)), ring_size))
    polys = np.asarray(shapely.polygons(rings, indices=np.repeat(np.arange(len(rings_of)), rings_of)))
    values = np.asarray(value_of)
    out = []
    for v in np.unique(values):
        mine = polys[values == v]
        # one value's polygons are disjoint (4-connected regions may only touch at corners): a
        # multipolygon of them is their union, without an overlay
        out.append((int(v), shapely.multipolygons(mine) if len(mine) > 1 else mine[0]))
    return out


def identify_cells(coverages: Iterable[CameraCoverage], *, after_masks: bool) -> NDArray[np.int64]:
    """(n, 2) unique cell indices, sorted, where at least one of ``coverages`` reaches the identify
    class (only through no mask, with ``after_masks``)."""
    parts = []
    for cov in coverages:
        keep = cov.dori == "identify"
        if after_masks:
            keep &= ~cov.masked
        parts.append(np.column_stack([cov.ix[keep], cov.iy[keep]]))
    cells = np.zeros((0, 2), np.int64)
    both = np.vstack(parts).astype(np.int64) if parts else cells
    if len(both):  # unique (ix, iy) pairs, sorted, marked on a grid (np.unique on rows is slow)
        lo, hi = both.min(axis=0), both.max(axis=0)
        grid = np.zeros(tuple(hi - lo + 1), bool)
        grid[both[:, 0] - lo[0], both[:, 1] - lo[1]] = True
        gx, gy = np.nonzero(grid)
        cells = np.column_stack([gx + lo[0], gy + lo[1]]).astype(np.int64)
    return cells
