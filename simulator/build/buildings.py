"""Buildings: one table for every source, with heights (and their source) and use classes.

Columns of a buildings GeoDataFrame (scene CRS): ``id`` str, ``geometry`` footprint polygon,
``height`` [m] roof above ground, ``height_source`` (measured | levels | default | generated | model),
``levels`` float (NaN unknown), ``use`` (residential | mixed | non_residential | unknown),
``private`` bool (its openings are private targets), ``source`` (vector | osm | cityjson | citygml |
generated), ``has_model`` bool (the mesh comes from 3D surfaces), ``ground_z`` and ``roof_z`` [m].
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .osm_tags import parse_number

RESIDENTIAL = {
    "residential", "apartments", "house", "detached", "semidetached_house", "terrace", "dormitory",
    "bungalow", "houseboat", "static_caravan", "cabin", "farm", "flats", "home", "villa", "housing",
}
MIXED = {"hotel", "mixed", "mixed_use", "retail;residential", "commercial;residential"}
NON_RESIDENTIAL = {
    "commercial", "office", "retail", "industrial", "warehouse", "church", "cathedral", "chapel", "mosque",
    "synagogue", "temple", "school", "university", "college", "kindergarten", "hospital", "public", "civic",
    "government", "train_station", "transportation", "garage", "garages", "parking", "kiosk", "supermarket",
    "stadium", "sports_hall", "museum", "fire_station", "police", "shed", "barn", "roof", "service",
    "carport", "hangar", "stable", "greenhouse", "toilets", "bridge", "ruins", "construction", "bunker",
    "transformer_tower", "water_tower", "religious", "grandstand", "pavilion", "castle", "palace",
    "non_residential",
}


def use_class(value: object) -> str:
    """Use class from an OSM ``building``/``building:use`` value or a CityGML/ALKIS function code.

    ALKIS ``31001_1xxx`` codes are residential (``11xx`` mixed with living), ``31001_2xxx``/``3xxx``
    and other object classes (``51009_...``) non-residential, ``9998`` unknown. Plain codes ``1000``-``1999``
    follow the same rule. Anything unrecognised is ``unknown``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    text = str(value).strip().lower()
    if text in ("", "yes", "building", "9998", "31001_9998", "unknown"):
        return "unknown"
    if text in RESIDENTIAL:
        return "residential"
    if text in MIXED:
        return "mixed"
    if text in NON_RESIDENTIAL:
        return "non_residential"
    m = re.fullmatch(r"(?:(\d{5})_)?(\d{4})", text)
    if m:
        prefix, code = m.group(1), int(m.group(2))
        if prefix not in (None, "31001"):
            return "non_residential"
        if 1100 <= code < 1200:
            return "mixed"
        if 1000 <= code < 2000:
            return "residential"
        if 2000 <= code < 9000:
            return "non_residential"
    return "unknown"


def resolve_heights(measured: pd.Series, levels: pd.Series, *, storey_height_m: float,
                    default_height_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Height [m] and its source per building: measured > levels x storey height > default."""
    h = pd.to_numeric(measured.map(_num), errors="coerce").to_numpy(float, copy=True)
    lv = pd.to_numeric(levels.map(_num), errors="coerce").to_numpy(float, copy=True)
    h[~(h > 0)] = np.nan
    lv[~(lv > 0)] = np.nan
    source = np.where(np.isfinite(h), "measured", np.where(np.isfinite(lv), "levels", "default"))
    height = np.where(np.isfinite(h), h, np.where(np.isfinite(lv), lv * storey_height_m, default_height_m))
    return height, source


def _num(v: object) -> float:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    if isinstance(v, int | float | np.number):
        return float(v)
    n = parse_number(str(v).split(";")[0])
    return np.nan if n is None else n


def normalise(gdf: gpd.GeoDataFrame, *, id_col: str | None, height_col: str | None, levels_col: str | None,
              use_col: str | None, storey_height_m: float, default_height_m: float, unknown_use: str,
              source: str, prefix: str = "") -> gpd.GeoDataFrame:
    """The buildings table from a footprint layer with attribute columns (any of them may be absent)."""
    n = len(gdf)

    def col(name: str | None) -> pd.Series:
        if name and name in gdf.columns:
            return gdf[name].reset_index(drop=True)
        return pd.Series([None] * n, dtype=object)

    ids = col(id_col)
    ids = pd.Series([f"{prefix}{v}" if v is not None and v == v else f"{prefix}{source}-{i}"
                     for i, v in enumerate(ids)])
    if ids.duplicated().any():
        ids = ids + ids.groupby(ids).cumcount().map(lambda k: "" if k == 0 else f"#{k}")
    height, hsource = resolve_heights(col(height_col), col(levels_col), storey_height_m=storey_height_m,
                                      default_height_m=default_height_m)
    uses = col(use_col).map(use_class)
    if "building:use" in gdf.columns:
        explicit = gdf["building:use"].reset_index(drop=True).map(use_class)
        uses = explicit.where(explicit != "unknown", uses)
    levels = pd.to_numeric(col(levels_col).map(_num), errors="coerce")
    out = gpd.GeoDataFrame({
        "id": ids.astype(str), "height": height, "height_source": hsource, "levels": levels.to_numpy(float),
        "use": uses.to_numpy(object), "source": source, "has_model": False,
    }, geometry=gdf.geometry.reset_index(drop=True).values, crs=gdf.crs)
    out["private"] = is_private(out["use"], unknown_use=unknown_use)
    return out


def is_private(use: pd.Series, *, unknown_use: str) -> NDArray[np.bool_]:
    """Whether a building's surfaces are private targets: residential, mixed, and unknown unless told otherwise."""
    private: NDArray[np.bool_] = use.isin(["residential", "mixed"]).to_numpy(bool).copy()
    if unknown_use == "residential":
        private |= (use == "unknown").to_numpy()
    return private
