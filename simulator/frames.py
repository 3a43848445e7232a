"""Frames and units.

Horizontal: a projected metric CRS (x east, y north, metres); by default the UTM zone of the data.
Vertical: metres in the terrain's datum (or above ground when there is no terrain).
Directions: azimuth [deg] clockwise from **true** north, elevation [deg] above horizontal (negative down).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from .errors import InputError

FloatArray = NDArray[np.float64]


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS containing (lon, lat) [deg]."""
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
    )
    if not infos:  # pragma: no cover - only near the poles
        raise InputError(f"no UTM zone for lon={lon}, lat={lat}", field="crs")
    return CRS.from_epsg(int(infos[0].code))


def parse_crs(value: object, *, file: str | None = None, field: str = "crs") -> CRS:
    """A pyproj CRS from user text (``EPSG:32629``, WKT, PROJ string); one-line error otherwise."""
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises CRSError, a broad family
        raise InputError(f"expected a CRS such as 'EPSG:32629', got {value!r} ({exc})", file=file,
                         field=field) from None


@dataclass(frozen=True)
class Frame:
    """The scene's projected metric CRS and conversions from/to WGS 84."""

    crs: CRS

    @cached_property
    def _to_wgs84(self) -> Transformer:
        return Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    @cached_property
    def _from_wgs84(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    def from_lonlat(self, lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Project WGS 84 (lon, lat) [deg] to scene (x, y) [m]."""
        x, y = self._from_wgs84.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, float), np.asarray(y, float)

    def to_lonlat(self, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Scene (x, y) [m] to WGS 84 (lon, lat) [deg]."""
        lon, lat = self._to_wgs84.transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, float), np.asarray(lat, float)

    def grid_north_offset_deg(self, x: ArrayLike, y: ArrayLike) -> FloatArray:
        """Grid bearing [deg] of true north at scene points (x, y): true azimuth = grid azimuth - offset.

        Measured numerically (a 10 m step north along the meridian), so it holds for any projected CRS
        whatever its sign convention for meridian convergence.
        """
        lon, lat = self.to_lonlat(x, y)
        x1, y1 = self.from_lonlat(lon, np.asarray(lat) + 1e-4)
        x0, y0 = self.from_lonlat(lon, lat)
        return np.degrees(np.arctan2(x1 - x0, y1 - y0))


ArrayLike = float | FloatArray | list[float]


def azimuth_elevation(vectors: NDArray[np.floating]) -> tuple[FloatArray, FloatArray]:
    """Grid azimuth [deg, 0..360, clockwise from grid north] and elevation [deg] of (n, 3) vectors."""
    v = np.asarray(vectors, dtype=float)
    az = np.degrees(np.arctan2(v[:, 0], v[:, 1])) % 360.0
    horiz = np.hypot(v[:, 0], v[:, 1])
    el = np.degrees(np.arctan2(v[:, 2], horiz))
    return az, el


def direction_vectors(azimuth_deg: ArrayLike, elevation_deg: ArrayLike) -> FloatArray:
    """Unit (n, 3) vectors (x east, y north, z up) for grid azimuth/elevation [deg]."""
    az = np.radians(np.atleast_1d(np.asarray(azimuth_deg, float)))
    el = np.radians(np.atleast_1d(np.asarray(elevation_deg, float)))
    return np.stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=-1)


def in_angular_range(angle_deg: NDArray[np.floating], lo: float, hi: float) -> NDArray[np.bool_]:
    """True where ``angle_deg`` lies in the clockwise arc from ``lo`` to ``hi`` [deg] (wraps through 0).

    ``[0, 360]`` (or any span >= 360) is the full circle.
    """
    span = (hi - lo) % 360.0
    if hi - lo >= 360.0 or (span == 0.0 and hi != lo):
        return np.ones(np.shape(angle_deg), dtype=bool)
    return ((np.asarray(angle_deg) - lo) % 360.0) <= span + 1e-9
