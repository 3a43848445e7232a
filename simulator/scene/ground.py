"""The public ground of a scene as a raster: open ground that is neither a building footprint nor a
private ground area (courtyards, backyards), which cameras may cover (``engine.coverage``)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray

from .targets import Targets


def public_cells(targets: Targets, buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame,
                 cell_m: float) -> tuple[int, int, NDArray[np.bool_]]:
    """(ix0, iy0, public) over a scene's buildings and streets, at ``cell_m`` [m] a cell: ``public[r, c]`` is the cell
    (ix0 + c, iy0 + r); False where the cell centre is in a footprint or a private ground area.
    Cells outside the raster are open (public) ground."""
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    t = targets
    private = list(t.planes.polygons(t.planes.draped)) if len(t) else []
    shapes = [*buildings.geometry.values, *private]
    bounds = [g.bounds for g in shapes]
    if len(streets):
        bounds.append(tuple(streets.total_bounds))
    if not bounds:
        return 0, 0, np.ones((0, 0), bool)
    b = np.array(bounds)
    ix0, iy0 = int(np.floor(b[:, 0].min() / cell_m)) - 1, int(np.floor(b[:, 1].min() / cell_m)) - 1
    ix1, iy1 = int(np.ceil(b[:, 2].max() / cell_m)) + 1, int(np.ceil(b[:, 3].max() / cell_m)) + 1
    width, height = ix1 - ix0, iy1 - iy0
    transform = from_origin(ix0 * cell_m, iy1 * cell_m, cell_m, cell_m)  # row 0 is the top (north)
    closed = rasterize(((g, 1) for g in shapes if not g.is_empty), out_shape=(height, width), transform=transform,
                       fill=0, dtype="uint8", all_touched=False) if shapes else np.zeros((height, width), np.uint8)
    return ix0, iy0, (closed == 0)[::-1]  # row 0 = iy0 (south)
