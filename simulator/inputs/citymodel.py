"""The plain result of reading a 3D city model (CityJSON or CityGML): buildings, surfaces, openings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from ..geom import newell_vector

SURFACE_KINDS = {
    "WallSurface": "wall", "RoofSurface": "roof", "GroundSurface": "ground", "ClosureSurface": "closure",
    "OuterCeilingSurface": "roof", "OuterFloorSurface": "roof", "Window": "window", "Door": "door",
}


@dataclass
class Polygon3D:
    """A planar 3D polygon: rings of (k, 3) float coordinates [m], exterior first, not repeated at the end."""

    rings: list[NDArray[np.float64]]

    @property
    def exterior(self) -> NDArray[np.float64]:
        return self.rings[0]

    def newell_normal(self) -> NDArray[np.float64]:
        """Unit normal of the exterior ring by Newell's method (counter-clockwise seen from its front)."""
        n = newell_vector(self.rings[0])
        norm = np.linalg.norm(n)
        return n / norm if norm > 0 else n


@dataclass
class ModelBuilding:
    id: str
    parent: str | None = None
    measured_height: float | None = None
    storeys: float | None = None
    function: str | None = None
    surfaces: list[tuple[str, Polygon3D]] = field(default_factory=list)  # (kind, polygon)


@dataclass
class ModelOpening:
    id: str
    kind: str  # window | door
    building_id: str
    polygons: list[Polygon3D]
    wall_normal: NDArray[np.float64] | None = None


@dataclass
class CityModel:
    """Buildings (with their surfaces) and openings read from one file, in the file's CRS."""

    buildings: list[ModelBuilding]
    openings: list[ModelOpening]
    crs: CRS | None
    source: str


def clean_ring(coords: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """Drop the closing vertex and consecutive duplicates; None if fewer than 3 vertices remain."""
    c = np.asarray(coords, dtype=float).reshape(-1, 3)
    if len(c) and np.array_equal(c[0], c[-1]):
        c = c[:-1]
    if len(c) > 1:
        keep = np.ones(len(c), bool)
        keep[1:] = np.any(np.diff(c, axis=0) != 0, axis=1)
        c = c[keep]
    return c if len(c) >= 3 else None


def footprint_of(surfaces: list[tuple[str, Polygon3D]]) -> shapely.Geometry:
    """2D footprint: union of ground surfaces, else of roof surfaces, else the convex hull of all vertices."""
    for kinds in (("ground",), ("roof",)):
        polys = [shapely.Polygon(p.rings[0][:, :2], [r[:, :2] for r in p.rings[1:]])
                 for k, p in surfaces if k in kinds]
        polys = [shapely.make_valid(p) for p in polys]
        polys = [p for p in polys if p.area > 0.01]
        if polys:
            u = shapely.union_all(shapely.buffer(polys, 0.01)).buffer(-0.01)
            if u.area > 0:
                return u
    pts = np.concatenate([p.rings[0] for _, p in surfaces]) if surfaces else np.empty((0, 3))
    return shapely.MultiPoint(pts[:, :2]).convex_hull if len(pts) >= 3 else shapely.Polygon()


def crs_from_text(text: str | None) -> CRS | None:
    """The horizontal CRS named by an srsName / referenceSystem (first EPSG code found)."""
    if not text:
        return None
    m = re.search(r"EPSG(?:/0/|:[\d.]*:|::?)(\d+)", text, flags=re.IGNORECASE)
    adv = re.search(r"ETRS89_UTM(\d{2})", text)  # German AdV names, e.g. urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH
    if adv and not m:
        crs = CRS.from_epsg(25800 + int(adv.group(1)))
    elif not m:
        try:
            crs = CRS.from_user_input(text)
        except Exception:
            return None
    else:
        crs = CRS.from_epsg(int(m.group(1)))
    if crs.is_compound:
        crs = crs.sub_crs_list[0]
    return crs
