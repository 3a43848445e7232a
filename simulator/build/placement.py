"""What ``simulator place`` works on, made from a scenario and its scene: the watched public ground
(``watch_grid``) and the candidate camera positions (``candidate_sites``, ``candidate_specs``).

The watched ground is the scene's coverage grid (``coverage.cell_m`` cells, aligned as in
``engine.coverage``) restricted to public cells whose centre lies in a watch area; each cell needs the
DORI level of its area (where areas overlap, the most demanding). Without ``watch_areas`` the public
street space is watched: the public ground within ``placement.watch_streets.half_width_m`` of the
streets' centre lines, at ``placement.watch_streets.level``.

Candidate sites, in the scene CRS: poles along the streets (every ``spacing_m``, ``setback_m`` from the
centre line on alternate sides), street lamps, poles and masts from the scenario's OpenStreetMap files,
brackets on the outer walls of non-residential buildings, and the user's own points. A site inside a
building footprint or a private area is left out; so is a second site within 1 m of one already kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
import shapely.geometry.polygon
from numpy.typing import NDArray

from ..errors import InputError
from ..inputs.osm import read_osm
from ..inputs.vector import check_lonlat_order, read_vector
from ..scenario import CameraSpec, Scenario
from ..scene import Scene
from ..vocabulary import DORI_CLASSES

WALL_OFFSET_M = 0.3  # a bracket stands this far out from its wall
MIN_SITE_SEPARATION_M = 1.0


@dataclass(frozen=True)
class WatchGrid:
    """The watched public cells: ``need[r, c]`` is the DORI rank (index into ``DORI_CLASSES``: 0
    identify .. 3 detect) the cell (``ix0 + c``, ``iy0 + r``) needs, -1 where it is not watched;
    ``area[r, c]`` its watch area (index into ``names``), -1 where none. ``cells`` are the flat
    indices (``r * cols + c``) of the watched cells, sorted: element ``k`` of a placement is cell
    ``cells[k]``."""

    cell_m: float
    ix0: int
    iy0: int
    need: NDArray[np.int8]
    area: NDArray[np.int16]
    names: tuple[str, ...]
    levels: tuple[str, ...]  # the level each area needs
    polygons: tuple[shapely.Geometry, ...]  # each area's polygon (scene CRS)
    default: str | None  # what was watched when the scenario has no watch_areas (stated in the outputs)

    @cached_property
    def cells(self) -> NDArray[np.intp]:
        return np.flatnonzero(self.need.ravel() >= 0)  # once per grid: read for every candidate

    @property
    def cell_area_m2(self) -> float:
        return self.cell_m * self.cell_m

    def cell_areas(self) -> NDArray[np.int16]:
        """The watch area of each element (index into ``names``)."""
        return self.area.ravel()[self.cells]

    def elements(self, ix: NDArray[np.int64], iy: NDArray[np.int64]) -> NDArray[np.intp]:
        """The element index of each cell (ix, iy), -1 where the cell is not watched."""
        rows, cols = self.need.shape
        r, c = iy - self.iy0, ix - self.ix0
        inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        flat = np.where(inside, r * cols + c, 0)
        watched = inside & (self.need.ravel()[flat] >= 0)
        out = np.full(len(ix), -1, np.intp)
        out[watched] = np.searchsorted(self.cells, flat[watched])
        return out


def watch_grid(scene: Scene) -> WatchGrid:
    """The watched cells of ``scene`` (see the module docstring); ``InputError`` for a watch layer
    with an unknown level, a geometry that is no polygon, or an area outside the scene."""
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    sc = scene.scenario
    cell = sc.coverage.cell_m
    names, levels, polys, default = _watch_areas(scene)
    ix0, iy0, public = scene.public_cells(cell)
    rows, cols = public.shape
    bounds = np.array([p.bounds for p in polys])
    jx0 = min(ix0, int(np.floor(bounds[:, 0].min() / cell)) - 1)
    jy0 = min(iy0, int(np.floor(bounds[:, 1].min() / cell)) - 1)
    jx1 = max(ix0 + cols, int(np.ceil(bounds[:, 2].max() / cell)) + 1)
    jy1 = max(iy0 + rows, int(np.ceil(bounds[:, 3].max() / cell)) + 1)
    width, height = jx1 - jx0, jy1 - jy0
    if width * height > sc.limits.max_grid_cells:
        raise InputError(f"the watch areas span {width * height:,} cells of {cell:g} m, more than "
                         f"limits.max_grid_cells ({sc.limits.max_grid_cells:,})", file=sc.source, field="watch_areas")
    open_ground = np.ones((height, width), bool)  # row 0 = jy0 (south); outside the raster: open ground
    open_ground[iy0 - jy0:iy0 - jy0 + rows, ix0 - jx0:ix0 - jx0 + cols] = public
    transform = from_origin(jx0 * cell, jy1 * cell, cell, cell)
    # the least demanding first, so that where areas overlap the most demanding is burnt last
    order = sorted(range(len(polys)), key=lambda k: -DORI_CLASSES.index(levels[k]))
    area = rasterize(((polys[k], k + 1) for k in order), out_shape=(height, width), transform=transform, fill=0,
                     dtype="int32")[::-1].astype(np.int16) - 1
    area[~open_ground] = -1
    rank = np.array([DORI_CLASSES.index(v) for v in levels], np.int8)
    need = np.where(area >= 0, rank[np.maximum(area, 0)], -1).astype(np.int8)
    if not (need >= 0).any():
        raise InputError("no public ground cell lies inside the watch areas", file=sc.source,
                         field="watch_areas" if sc.watch_areas else "placement.watch_streets")
    return WatchGrid(cell, jx0, jy0, need, area, tuple(names), tuple(levels), tuple(polys), default)


def _watch_areas(scene: Scene) -> tuple[list[str], list[str], list[shapely.Geometry], str | None]:
    """Names, levels and polygons (scene CRS) of the watch areas, and the statement of the default."""
    sc = scene.scenario
    wa = sc.watch_areas
    if wa is None:
        ws = sc.placement.watch_streets
        streets = scene.streets
        if ws.highways is not None and "highway" in streets:
            streets = streets[streets["highway"].isin(ws.highways)]
        if len(streets) == 0:
            which = f" of highway {', '.join(ws.highways)}" if ws.highways else ""
            raise InputError(f"no watch_areas and no streets{which} to watch: give watch_areas (polygons, each "
                             f"with a level)", file=sc.source, field="watch_areas")
        street_space = shapely.union_all(shapely.buffer(streets.geometry.values, ws.half_width_m))
        which = f" ({', '.join(ws.highways)})" if ws.highways else ""
        default = (f"no watch_areas given: the public street space is watched, the public ground within "
                   f"{ws.half_width_m:g} m of the centre line of the streets{which}, at {ws.level}")
        return ["public street space"], [ws.level], [street_space], default
    g = read_vector(sc.resolve(wa.path), layer=wa.layer, crs=wa.crs, label=wa.path, fallback_crs=sc.crs)
    check_lonlat_order(g, label=wa.path)
    g = g.to_crs(scene.frame.crs)
    names, levels, polys = [], [], []
    box = shapely.box(*scene_box(scene)).buffer(sc.analysis.max_range_m)  # what a camera there could see
    ids = g[wa.id_field] if wa.id_field in g else None  # by column: a field may be no Python name
    lvls = g[wa.level_field] if wa.level_field in g else None
    for k, geom in enumerate(g.geometry.values):
        given = None if ids is None else ids.iloc[k]
        name = str(given) if given is not None and given == given and str(given).strip() else f"area-{k + 1}"
        level = None if lvls is None else lvls.iloc[k]
        level = wa.default_level if level is None or level != level else str(level).strip().lower()
        if level not in DORI_CLASSES:
            raise InputError(f"watch area {name!r}: level {level!r} is not one of {', '.join(DORI_CLASSES)}",
                             file=wa.path, field=wa.level_field)
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(f"watch area {name!r} is not a polygon", file=wa.path, field="geometry")
        if not geom.intersects(box):
            raise InputError(f"watch area {name!r} lies outside the scene's data", file=wa.path, field="geometry")
        names.append(name)
        levels.append(level)
        polys.append(geom)
    if not polys:
        raise InputError("no watch areas in the layer", file=wa.path, field="geometry")
    return names, levels, polys, None


def _data_box(scene: Scene) -> tuple[float, float, float, float]:
    """The scenario's extent (scene CRS) if given, else the bounds of its buildings and streets."""
    if scene.scenario.extent is None:
        return scene_box(scene)
    lon0, lat0, lon1, lat1 = scene.scenario.extent
    x, y = scene.frame.from_lonlat(np.array([lon0, lon1, lon0, lon1]), np.array([lat0, lat0, lat1, lat1]))
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def outline_area(corners: list[tuple[float, float]]) -> shapely.Polygon:
    """The area of corners clicked on a map, joined in their order; their convex hull where that
    outline crosses itself (any coordinates; at least 3 corners)."""
    outline = shapely.Polygon(corners)
    return outline if outline.is_valid else shapely.convex_hull(shapely.MultiPoint(corners))


def corner_points(box: tuple[float, float, float, float], max_points: int = 2500
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Points to click as the corners of an area: the multiples of a round step [m] (1, 2 or 5 x 10^k,
    the least that keeps them within ``max_points``) inside ``box`` (scene CRS); (x, y, step)."""
    x0, y0, x1, y1 = box
    need = float(np.sqrt(max((x1 - x0) * (y1 - y0), 1.0) / max_points))
    step = min(m * 10.0**k for k in range(-1, 7) for m in (1, 2, 5) if m * 10.0**k >= need)
    while True:
        xs = np.arange(np.ceil(x0 / step), np.floor(x1 / step) + 1) * step
        ys = np.arange(np.ceil(y0 / step), np.floor(y1 / step) + 1) * step
        if len(xs) * len(ys) <= max_points:
            break
        step *= 2.0  # (the box's edges can add a row and a column)
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel(), step


def scene_box(scene: Scene) -> tuple[float, float, float, float]:
    """The bounds (scene CRS) of the scene's buildings and streets, and of its extent if given."""
    parts = [g.total_bounds for g in (scene.buildings, scene.streets) if len(g)]
    if scene.scenario.extent is not None:
        lon0, lat0, lon1, lat1 = scene.scenario.extent
        x, y = scene.frame.from_lonlat(np.array([lon0, lon1]), np.array([lat0, lat1]))
        parts.append(np.array([x[0], y[0], x[1], y[1]]))

    if not parts:
        return (0.0, 0.0, 0.0, 0.0)
    b = np.array(parts)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


@dataclass(frozen=True)
class Site:
    """A place a camera may be mounted: position (scene CRS), what it is, and the highest mount it
    allows [m above the ground] (a wall's building height; None: any)."""

    id: str
    x: float
    y: float
    source: str  # "pole" | "highway=street_lamp" | "power=pole" | "man_made=mast" | "facade" | "point"
    max_height_m: float | None = None
    facing_deg: float | None = None  # a bracket's outward normal, grid azimuth [deg]; None: any way


def candidate_sites(scene: Scene) -> list[Site]:
    """Every candidate site of the scenario's ``placement.candidates`` (see the module docstring)."""
    sc = scene.scenario
    cs = sc.placement.candidates
    sites: list[Site] = []
    if cs.poles is not None:
        sites += _poles(scene, cs.poles.spacing_m, cs.poles.setback_m, cs.poles.highways)
    if cs.osm_mounts:
        sites += _osm_mounts(scene)
    if cs.facades is not None:
        sites += _facade_sites(scene, cs.facades.spacing_m)
    if cs.points is not None:
        sites += _user_points(scene)
    return _kept(scene, sites)


def _poles(scene: Scene, spacing_m: float, setback_m: float, highways: tuple[str, ...] | None) -> list[Site]:
    streets = scene.streets
    if highways is not None and "highway" in streets:
        streets = streets[streets["highway"].isin(highways)]
    lines = shapely.line_merge(shapely.union_all(streets.geometry.values)) if len(streets) else None
    if lines is None or lines.is_empty:
        return []
    parts = list(getattr(lines, "geoms", [lines]))
    out: list[Site] = []
    k = 0
    for line in parts:
        length = line.length
        for j, d in enumerate(np.arange(spacing_m / 2, length, spacing_m) if length > spacing_m / 2 else [length / 2]):
            p = line.interpolate(d)
            a, b = line.interpolate(max(d - 0.5, 0.0)), line.interpolate(min(d + 0.5, length))
            dx, dy = b.x - a.x, b.y - a.y
            n = float(np.hypot(dx, dy)) or 1.0
            side = 1.0 if j % 2 == 0 else -1.0
            k += 1
            out.append(Site(f"pole-{k:04d}", p.x - side * dy / n * setback_m, p.y + side * dx / n * setback_m, "pole"))
    return out


def _osm_files(sc: Scenario) -> list[str]:
    paths = [sc.buildings.path if sc.buildings is not None else None, sc.streets.path if sc.streets else None]
    for entry in sc.camera_entries:
        paths.append(getattr(entry, "osm", None))
    return [p for p in dict.fromkeys(paths) if p and Path(p).name.endswith((".osm.pbf", ".osm", ".pbf"))]


def _osm_mounts(scene: Scene) -> list[Site]:
    sc = scene.scenario
    x0, y0, x1, y1 = _data_box(scene)
    out: list[Site] = []
    for path in _osm_files(sc):
        mounts = read_osm(sc.resolve(path), label=path).mounts
        if mounts is None or len(mounts) == 0:
            continue
        xy = shapely.get_coordinates(mounts.geometry.values)
        x, y = (np.atleast_1d(v) for v in scene.frame.from_lonlat(xy[:, 0], xy[:, 1]))
        # a camera outside the data would see homes the scene does not hold: mounts within its box only
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        for oid, kind, px, py, ok in zip(mounts["id"], mounts["mount"], x, y, inside, strict=True):
            if ok:
                out.append(Site(str(oid), float(px), float(py), str(kind)))
    return out


def _facade_sites(scene: Scene, spacing_m: float) -> list[Site]:
    b = scene.buildings
    if len(b) == 0:
        return []
    others = b[b["use"].isin(["non_residential"])] if "use" in b else b.iloc[:0]
    out: list[Site] = []
    for bid, height, geom in zip(others["id"], others["height"], others.geometry.values, strict=True):
        parts = list(getattr(geom, "geoms", [geom]))
        for part, poly in enumerate(parts):
            ring = shapely.geometry.polygon.orient(poly, 1.0).exterior  # counter-clockwise: outward is right
            stem = f"facade-{bid}" if len(parts) == 1 else f"facade-{bid}-part{part + 1}"
            for j, d in enumerate(np.arange(spacing_m / 2, ring.length, spacing_m)):
                p = ring.interpolate(d)
                a, c = ring.interpolate(max(d - 0.5, 0.0)), ring.interpolate(min(d + 0.5, ring.length))
                dx, dy = c.x - a.x, c.y - a.y
                n = float(np.hypot(dx, dy)) or 1.0
                nx, ny = dy / n, -dx / n
                out.append(Site(f"{stem}-{j + 1}", p.x + nx * WALL_OFFSET_M, p.y + ny * WALL_OFFSET_M, "facade",
                                float(height), float(np.degrees(np.arctan2(nx, ny)) % 360.0)))
    return out


def _user_points(scene: Scene) -> list[Site]:
    sc = scene.scenario
    layer = sc.placement.candidates.points
    assert layer is not None
    g = read_vector(sc.resolve(layer.path), layer=layer.layer, crs=layer.crs, label=layer.path, fallback_crs=sc.crs)
    check_lonlat_order(g, label=layer.path)
    g = g.to_crs(scene.frame.crs)
    out = []
    for k, (row, geom) in enumerate(zip(g.drop(columns="geometry").to_dict("records"), g.geometry.values,
                                        strict=True)):
        if geom is None or geom.geom_type != "Point":
            raise InputError(f"candidate point {k + 1} is not a point", file=layer.path, field="geometry")
        out.append(Site(str(row.get("id") or f"point-{k + 1}"), geom.x, geom.y, "point"))
    return out


def _kept(scene: Scene, sites: list[Site]) -> list[Site]:
    """``sites`` less those inside a footprint or a private ground area, and those within
    ``MIN_SITE_SEPARATION_M`` of one kept before them (facade brackets stand outside their wall)."""
    if not sites:
        return []
    pts = shapely.points([(s.x, s.y) for s in sites])
    closed = list(scene.buildings.geometry.values) if len(scene.buildings) else []
    t = scene.targets
    closed += list(t.planes.polygons(t.planes.draped)) if len(t) else []
    inside = np.zeros(len(sites), bool)
    if closed:
        tree = shapely.STRtree(closed)
        hit, _ = tree.query(pts, predicate="within")
        inside[hit] = True
    from scipy.spatial import cKDTree

    xy = np.array([(s.x, s.y) for s in sites])
    near = cKDTree(xy).query_ball_point(xy, MIN_SITE_SEPARATION_M)
    kept = np.zeros(len(sites), bool)
    for k in range(len(sites)):  # in order: a site yields only to one kept before it
        kept[k] = not inside[k] and not kept[[j for j in near[k] if j < k]].any()
    return [s for k, s in enumerate(sites) if kept[k]]


FIXED_DIRECTIONS_DEG = tuple(float(d) for d in range(0, 360, 45))  # the ways a fixed camera is tried


def candidate_specs(sites: list[Site], *, heights_m: tuple[float, ...], models: tuple[str, ...],
                    fixed: frozenset[str] = frozenset(), taken: frozenset[str] = frozenset()
                    ) -> list[tuple[CameraSpec, Site]]:
    """One camera spec per site x mount height (up to the site's own height) x model, with its site; a
    ``fixed`` model once per direction of ``FIXED_DIRECTIONS_DEG`` (on a facade, those within 90 deg
    of its outward normal). Ids ``c00001`` …, in that order, with as many ``c`` as make them differ
    from every id in ``taken`` (the scenario's own cameras)."""
    prefix = "c"
    while any(t.startswith(prefix) and t[len(prefix):].isdigit() for t in taken):
        prefix += "c"
    out: list[tuple[CameraSpec, Site]] = []
    for s in sites:
        for h in heights_m:
            if s.max_height_m is not None and h > s.max_height_m:
                continue
            for m in models:
                for d in FIXED_DIRECTIONS_DEG if m in fixed else (None,):
                    if d is not None and s.facing_deg is not None and _apart_deg(d, s.facing_deg) > 90.0 + 1e-9:
                        continue
                    out.append((CameraSpec(id=f"{prefix}{len(out) + 1:05d}", model=m, x=s.x, y=s.y,
                                           mount_height_m=h, direction_deg=d), s))
    return out


def _apart_deg(a: float, b: float) -> float:
    """The angle between azimuths ``a`` and ``b`` [deg], in [0, 180]."""
    return abs((a - b + 180.0) % 360.0 - 180.0)
