"""Generated data, labelled as such: perimeter-block buildings from street blocks, and cameras at the
intersections of major streets. Both are deterministic."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

HIGHWAY_WEIGHT = {"motorway": 6, "trunk": 5, "primary": 4, "secondary": 3, "tertiary": 2}


def buildings_from_streets(streets: gpd.GeoDataFrame, *, setback_m: float, depth_m: float, min_block_area_m2: float,
                           max_block_area_m2: float, levels: tuple[int, int], seed: int) -> gpd.GeoDataFrame:
    """One perimeter-block building per street block: the block shrunk by ``setback_m`` (half a street),
    ``depth_m`` deep, with the block's interior as a courtyard hole when it is large enough.

    Returns id, geometry, levels (uniform in ``levels`` from ``seed``), in the streets' CRS (metric).
    """
    lines = shapely.line_merge(shapely.union_all(streets.geometry.values))
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))), dtype=object)
    area = shapely.area(faces)
    faces = faces[(area >= min_block_area_m2) & (area <= max_block_area_m2)]
    outer = shapely.buffer(faces, -setback_m, join_style="mitre")
    inner = shapely.buffer(faces, -(setback_m + depth_m), join_style="mitre")
    ring = shapely.difference(outer, inner)
    ring = shapely.simplify(ring, 0.5)
    parts, idx = shapely.get_parts(ring, return_index=True)
    keep = shapely.area(parts) >= 60.0
    parts, idx = parts[keep], idx[keep]
    # deterministic order: by block centroid
    c = shapely.get_coordinates(shapely.centroid(parts))
    order = np.lexsort((c[:, 0], c[:, 1]))
    parts = parts[order]
    rng = np.random.default_rng(seed)
    lv = rng.integers(levels[0], levels[1] + 1, len(parts))
    return gpd.GeoDataFrame({"id": [f"gen-{i}" for i in range(len(parts))], "levels": lv.astype(float)},
                            geometry=parts, crs=streets.crs)


def intersection_points(streets: gpd.GeoDataFrame, *, highways: tuple[str, ...], count: int,
                        min_separation_m: float) -> np.ndarray:
    """(k, 2) points [m] where major streets meet, best first: nodes where at least three street ends
    meet, scored by the classes meeting there; picked greedily at least ``min_separation_m`` apart."""
    hw = streets["highway"].astype(str).to_numpy() if "highway" in streets.columns else np.array([])
    major = np.isin(hw, highways)
    geoms = streets.geometry.values
    ends = np.concatenate([shapely.get_coordinates(shapely.get_point(geoms, 0)),
                           shapely.get_coordinates(shapely.get_point(geoms, -1))])
    weight = np.array([HIGHWAY_WEIGHT.get(h, 1) for h in hw], float)
    w2 = np.concatenate([weight, weight])
    m2 = np.concatenate([major, major])
    key = np.round(ends, 1)
    uniq, inv, deg = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    score = np.bincount(inv, weights=w2)
    n_major = np.bincount(inv, weights=m2.astype(float))
    ok = (deg >= 3) & (n_major >= 2)
    cand, sc = uniq[ok], score[ok]
    order = np.lexsort((cand[:, 1], cand[:, 0], -sc))
    chosen: list[np.ndarray] = []
    for p in cand[order]:
        if all(np.hypot(*(p - q)) >= min_separation_m for q in chosen):
            chosen.append(p)
            if len(chosen) == count:
                break
    return np.array(chosen).reshape(-1, 2)
