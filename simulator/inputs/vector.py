"""Vector files through pyogrio: GeoJSON, GeoPackage, Shapefile, FlatGeobuf, in any CRS."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer

from ..errors import InputError
from ..frames import parse_crs
from ..geom import polygonal as _polygonal


def read_vector(
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    label: str | None = None,
    allow_empty: bool = False,
    repair: bool = True,
    fallback_crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer in the file's CRS; ``crs`` overrides it, ``fallback_crs`` (the scenario's)
    applies only when the file has none.

    Errors (one line, naming the file): missing file, unreadable or truncated file, no CRS and none
    given, no features, empty or invalid geometries (3D layers such as openings pass ``repair=False``:
    a vertical polygon has no 2D area) (invalid polygons are repaired with
    ``make_valid`` only when the repair keeps their area; otherwise the feature is named).
    """
    name = label or str(path)
    if not Path(path).is_file():
        raise InputError("file not found", file=name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the error below says it in one line
            gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="raise")
    except shapely.errors.GEOSException as exc:  # a geometry GDAL read but GEOS cannot build: NaN, Infinity...
        raise InputError(f"a geometry that cannot be read ({str(exc).splitlines()[0][:100]}; NaN or Infinity in "
                         f"its coordinates?)", file=name, field="geometry") from None
    except Exception as exc:  # GDAL/pyogrio error families are many
        raise InputError(f"cannot read as a vector file ({str(exc).splitlines()[0]})", file=name) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise InputError("no geometry column", file=name)
    if gdf.crs is None:
        crs = crs or fallback_crs
        if crs is None:
            raise InputError("the file has no CRS; state it with 'crs:' in the scenario", file=name, field="crs")
        gdf = gdf.set_crs(parse_crs(crs, file=name))
    elif crs is not None and CRS.from_user_input(crs) != gdf.crs:
        gdf = gdf.set_crs(parse_crs(crs, file=name), allow_override=True)
    if len(gdf) == 0 and not allow_empty:
        raise InputError("no features", file=name)
    geom = gdf.geometry.values
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    if missing.all() and len(gdf) and not allow_empty:
        raise InputError("every geometry is empty", file=name, field="geometry")
    gdf = gdf[~missing].copy()
    check_finite(gdf, label=name)
    check_area_of_use(gdf, label=name)
    notes = [f"{name}: {int(missing.sum())} features without geometry were left out"] if missing.any() else []
    out = repair_polygons(gdf, label=name) if repair else gdf
    out.attrs["notes"] = notes + out.attrs.get("notes", [])
    return out


def check_finite(gdf: gpd.GeoDataFrame, *, label: str) -> None:
    """Refuse NaN or infinite coordinates, naming the first feature that has one."""
    geom = gdf.geometry.values
    xyz, owner = shapely.get_coordinates(geom, include_z=True, return_index=True)
    has_z = shapely.has_z(geom)[owner]
    bad = ~np.isfinite(xyz[:, :2]).all(axis=1) | (has_z & ~np.isfinite(xyz[:, 2]))
    if bad.any():
        k = int(owner[np.flatnonzero(bad)[0]])
        fid = gdf["id"].iloc[k] if "id" in gdf.columns else gdf.index[k]
        raise InputError(f"feature {str(fid)[:40]}: a coordinate that is not a finite number (NaN or Infinity)",
                         file=label, field="geometry")


def check_area_of_use(gdf: gpd.GeoDataFrame, *, label: str, slack_deg: float = 5.0) -> None:
    """Refuse coordinates far outside the area where the layer's CRS is used (lon/lat degrees declared as
    metres of a UTM zone, say, land in the Gulf of Guinea)."""
    crs = gdf.crs
    area = getattr(crs, "area_of_use", None) if crs is not None else None
    if area is None or len(gdf) == 0 or crs.is_geographic:
        return
    x0, y0, x1, y1 = gdf.total_bounds
    try:
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    except Exception:  # noqa: BLE001 (pyproj raises several kinds for points it cannot transform)
        lon, lat = [np.nan], [np.nan]
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    degrees = -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90
    outside = ~np.isfinite(lon).all() or lon.min() < area.west - slack_deg or lon.max() > area.east + slack_deg \
        or lat.min() < area.south - slack_deg or lat.max() > area.north + slack_deg \
        or (degrees and getattr(crs, "utm_zone", None) is not None)  # 500 km west of a UTM zone's meridian
    if outside:
        looks = " (they look like lon/lat degrees: give the file's CRS as EPSG:4326)" if degrees else ""
        raise InputError(f"coordinates x {x0:.6g}..{x1:.6g}, y {y0:.6g}..{y1:.6g} lie far outside the area where "
                         f"{crs.to_string()} is used ({area.name[:60]}){looks}", file=label, field="crs")


def repair_polygons(gdf: gpd.GeoDataFrame, *, label: str) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``make_valid`` (keeping polygonal parts); name the first that cannot be."""
    geom = gdf.geometry.values
    poly = np.isin(shapely.get_type_id(geom), (3, 6))
    bad = poly & ~shapely.is_valid(geom)
    if bad.any():
        fixed = shapely.make_valid(geom[bad])
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        unfixable = shapely.is_empty(fixed) | (shapely.area(fixed) <= 0)
        if unfixable.any():
            idx = gdf.index[np.flatnonzero(bad)[np.flatnonzero(unfixable)[0]]]
            reason = shapely.is_valid_reason(geom[bad][np.flatnonzero(unfixable)[0]])
            raise InputError(f"feature {idx}: invalid polygon that cannot be repaired ({reason})",
                             file=label, field="geometry")
        geom = geom.copy()
        geom[bad] = fixed
        ids = gdf["id"].iloc[np.flatnonzero(bad)].astype(str).tolist() if "id" in gdf.columns else \
            [str(i) for i in gdf.index[np.flatnonzero(bad)]]
        notes = gdf.attrs.get("notes", [])
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, index=gdf.index, crs=gdf.crs))
        gdf.attrs["notes"] = notes + [f"{label}: {int(bad.sum())} invalid polygons repaired (make_valid, area kept): "
                                      f"{', '.join(ids[:5])}{', …' if len(ids) > 5 else ''}"]
    return gdf


def check_lonlat_order(gdf: gpd.GeoDataFrame, *, label: str) -> None:
    """In a geographic CRS, reject coordinates that are out of range (the usual sign of swapped lon/lat)."""
    if gdf.crs is None or not gdf.crs.is_geographic or len(gdf) == 0:
        return
    x0, y0, x1, y1 = gdf.total_bounds
    if y0 < -90 or y1 > 90 or x0 < -180 or x1 > 180:
        raise InputError(
            f"coordinates out of range for {gdf.crs.to_string()} (y {y0:.3f}..{y1:.3f}); lon/lat swapped?",
            file=label, field="geometry")
