"""OpenStreetMap PBF through pyosmium: buildings (ways, multipolygon relations, ways clipped by the
extract), streets (``highway=*``), gardens (private open space), places used in seclusion (toilets,
changing rooms, showers: ``SENSITIVE_TAGS``) and surveillance cameras.

Geometries are returned in WGS 84 (EPSG:4326) with the raw tags; interpretation happens in ``scene``
and ``camera.osm``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import osmium
import shapely

from ..errors import InputError
from ..geom import polygonal as _polygonal

BUILDING_KEYS = ("building", "height", "building:levels", "building:use", "min_height", "roof:levels", "name")
# enclosed private open space in OSM
GARDEN_TAGS = {("leisure", "garden"), ("landuse", "residential_garden")}
SENSITIVE_TAGS = {("amenity", "toilets"), ("leisure", "changing_room"), ("amenity", "changing_room"),
                  ("building", "toilets"), ("amenity", "shower")}
# street furniture a camera can be mounted on (candidate positions of ``simulator place``)
MOUNT_TAGS = {("highway", "street_lamp"), ("power", "pole"), ("man_made", "mast")}


@dataclass
class OsmData:
    """What the PBF holds, in WGS 84: buildings, streets, gardens, cameras and counts of salvaged data."""

    buildings: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    gardens: gpd.GeoDataFrame
    cameras: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    sensitive: gpd.GeoDataFrame | None = None  # places used in seclusion: toilets, changing rooms, showers
    mounts: gpd.GeoDataFrame | None = None  # street lamps, poles and masts (``MOUNT_TAGS``): points, with ``mount``


class _Handler(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.buildings: list[tuple[str, shapely.Geometry, dict[str, str]]] = []
        self.streets: list[tuple[str, shapely.Geometry, dict[str, str]]] = []
        self.gardens: list[tuple[str, shapely.Geometry, dict[str, str]]] = []
        self.sensitive: list[tuple[str, shapely.Geometry, dict[str, str]]] = []
        self.cameras: list[dict[str, Any]] = []
        self.mounts: list[tuple[str, shapely.Geometry, dict[str, str]]] = []
        self.clipped_salvaged = 0
        self.clipped_dropped = 0

    def node(self, n: osmium.osm.Node) -> None:
        tags = n.tags
        if tags.get("man_made") == "surveillance" and n.location.valid():
            self.cameras.append({"osm_id": f"node/{n.id}", "lon": n.location.lon, "lat": n.location.lat,
                                 "tags": {t.k: t.v for t in tags}})
        mount = next((f"{k}={v}" for k, v in MOUNT_TAGS if tags.get(k) == v), None)
        if mount is not None and n.location.valid():
            self.mounts.append((f"node/{n.id}", shapely.Point(n.location.lon, n.location.lat),
                                {"mount": mount, **_pick(tags, ("height", "name"))}))
        if _is_sensitive(tags) and n.location.valid():
            self.sensitive.append((f"node/{n.id}", shapely.Point(n.location.lon, n.location.lat),
                                   {t.k: t.v for t in tags}))

    def way(self, w: osmium.osm.Way) -> None:
        tags = w.tags
        if "highway" in tags:
            pts = [(nd.lon, nd.lat) for nd in w.nodes if nd.location.valid()]
            if len(pts) >= 2:
                self.streets.append((f"way/{w.id}", shapely.LineString(pts), {t.k: t.v for t in tags}))
        if "building" in tags and tags.get("building") != "no":
            valid = [nd.location.valid() for nd in w.nodes]
            if w.is_closed() and all(valid):
                return  # assembled by the area handler
            # clipped by the extract boundary: keep the part that is present
            pts = [(nd.lon, nd.lat) for nd, ok in zip(w.nodes, valid, strict=True) if ok]
            poly = shapely.make_valid(shapely.Polygon(pts)) if len(pts) >= 3 else None
            if poly is not None and poly.area > 0:
                poly = _polygonal(poly)
                self.buildings.append((f"way/{w.id}", poly, _pick(tags, BUILDING_KEYS) | {"osm:clipped": "yes"}))
                self.clipped_salvaged += 1
            else:
                self.clipped_dropped += 1

    def area(self, a: osmium.osm.Area) -> None:
        tags = a.tags
        oid = f"{'way' if a.from_way() else 'relation'}/{a.orig_id()}"
        is_building = "building" in tags and tags.get("building") != "no"
        is_garden = any(tags.get(k) == v for k, v in GARDEN_TAGS) and tags.get("access") != "public"
        is_sensitive = _is_sensitive(tags)
        if not (is_building or is_garden or is_sensitive):
            return
        try:
            polys = []
            for outer in a.outer_rings():
                shell = [(n.lon, n.lat) for n in outer]
                holes = [[(n.lon, n.lat) for n in inner] for inner in a.inner_rings(outer)]
                polys.append(shapely.Polygon(shell, holes))
        except osmium.InvalidLocationError:
            return
        geom = _polygonal(shapely.make_valid(shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]))
        if geom.is_empty:
            return
        if is_building:
            self.buildings.append((oid, geom, _pick(tags, BUILDING_KEYS)))
        elif is_garden:
            self.gardens.append((oid, geom, {t.k: t.v for t in tags}))
        if is_sensitive:
            self.sensitive.append((oid, geom, {t.k: t.v for t in tags}))


def _is_sensitive(tags: osmium.osm.TagList) -> bool:
    return any(tags.get(k) == v for k, v in SENSITIVE_TAGS)


def _pick(tags: osmium.osm.TagList, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: str(tags.get(k)) for k in keys if k in tags}


def _frame(rows: list[tuple[str, shapely.Geometry, dict[str, str]]]) -> gpd.GeoDataFrame:
    records = [{"id": oid, **tags} for oid, _, tags in rows]
    return gpd.GeoDataFrame(records, geometry=[g for _, g, _ in rows], crs="EPSG:4326") if rows else \
        gpd.GeoDataFrame({"id": []}, geometry=[], crs="EPSG:4326")


def read_osm(path: Path, *, label: str | None = None) -> OsmData:
    """Read an ``.osm.pbf`` (or ``.osm``) file; missing or truncated files give a one-line error."""
    name = label or str(path)
    if not Path(path).is_file():
        raise InputError("file not found", file=name)
    handler = _Handler()
    try:
        handler.apply_file(str(path), locations=True)
    except Exception as exc:  # libosmium raises RuntimeError subclasses for corrupt input
        raise InputError(f"cannot read as OpenStreetMap data ({str(exc).splitlines()[0]})", file=name) from None
    notes = []
    if handler.clipped_salvaged or handler.clipped_dropped:
        notes.append(f"{name}: {handler.clipped_salvaged} building ways clipped by the extract were kept from their "
                     f"nodes present; {handler.clipped_dropped} had fewer than 3 and were dropped")
    return OsmData(buildings=_frame(handler.buildings), streets=_frame(handler.streets),
                   gardens=_frame(handler.gardens), cameras=handler.cameras, notes=notes,
                   sensitive=_frame(handler.sensitive), mounts=_frame(handler.mounts))
