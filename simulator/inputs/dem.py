"""Digital elevation models (GeoTIFF) through rasterio, resampled onto a regular grid in the scene CRS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS

from ..errors import InputError
from ..frames import parse_crs


@dataclass(frozen=True)
class DemGrid:
    """Heights [m] on a north-up grid in the scene CRS: ``z[row, col]`` at cell centres
    ``x = x0 + (col + 0.5) * dx``, ``y = y0 - (row + 0.5) * dy``; NaN where the DEM has no data."""

    z: NDArray[np.float64]
    x0: float
    y0: float
    dx: float
    dy: float


def read_dem(
    path: Path,
    *,
    scene_crs: CRS,
    crs: str | None = None,
    label: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    fallback_crs: str | None = None,
) -> DemGrid:
    """Read band 1 of a GeoTIFF DEM and resample it (bilinear) to ``scene_crs``.

    ``crs`` overrides the file's CRS; ``fallback_crs`` (the scenario's) applies when the file has none,
    and one of them is required then. ``bounds`` (scene CRS) crops the result.
    """
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    name = label or str(path)
    if not Path(path).is_file():
        raise InputError("file not found", file=name)
    try:
        src = rasterio.open(path)
    except Exception as exc:
        raise InputError(f"cannot read as a raster ({str(exc).splitlines()[0]})", file=name) from None
    with src:
        src_crs = src.crs
        if src_crs is None:
            crs = crs or fallback_crs
            if crs is None:
                raise InputError("the DEM has no CRS; state it with 'crs:' under terrain", file=name, field="crs")
            src_crs = parse_crs(crs, file=name)
        elif crs is not None:
            src_crs = parse_crs(crs, file=name)
        try:
            data = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        except Exception as exc:
            raise InputError(f"cannot read raster data ({str(exc).splitlines()[0]})", file=name) from None
        nodata = src.nodata
        if nodata is not None and np.isfinite(nodata):
            data[data == nodata] = np.nan
        data[np.abs(data) > 1e6] = np.nan
        if np.isnan(data).all():
            raise InputError("the DEM holds no valid heights", file=name)
        transform, width, height = calculate_default_transform(
            src_crs, scene_crs, src.width, src.height, *src.bounds)
        res = min(abs(transform.a), abs(transform.e))
        transform, width, height = calculate_default_transform(
            src_crs, scene_crs, src.width, src.height, *src.bounds, resolution=res)
        out = np.full((height, width), np.nan)
        reproject(data, out, src_transform=src.transform, src_crs=src_crs, dst_transform=transform,
                  dst_crs=scene_crs, resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
    grid = DemGrid(z=out, x0=transform.c, y0=transform.f, dx=abs(transform.a), dy=abs(transform.e))
    return crop(grid, bounds) if bounds is not None else grid


def crop(grid: DemGrid, bounds: tuple[float, float, float, float]) -> DemGrid:
    """The part of ``grid`` covering ``bounds`` (xmin, ymin, xmax, ymax) plus one cell."""
    xmin, ymin, xmax, ymax = bounds
    c0 = max(int(np.floor((xmin - grid.x0) / grid.dx)) - 1, 0)
    c1 = min(int(np.ceil((xmax - grid.x0) / grid.dx)) + 1, grid.z.shape[1])
    r0 = max(int(np.floor((grid.y0 - ymax) / grid.dy)) - 1, 0)
    r1 = min(int(np.ceil((grid.y0 - ymin) / grid.dy)) + 1, grid.z.shape[0])
    if c1 - c0 < 2 or r1 - r0 < 2:
        raise InputError("the DEM does not cover the scene", field="terrain")
    return DemGrid(z=grid.z[r0:r1, c0:c1], x0=grid.x0 + c0 * grid.dx, y0=grid.y0 - r0 * grid.dy,
                   dx=grid.dx, dy=grid.dy)
