"""Build a ``Scene`` from a scenario: read every source, choose the frame, derive heights, targets,
mesh and cameras. Only this module calls the readers; everything after it is pure computation."""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from ..errors import InputError
from ..frames import Frame, parse_crs, utm_crs_for
from ..inputs.citygml import read_citygml
from ..inputs.cityjson import read_cityjson
from ..inputs.citymodel import CityModel, footprint_of
from ..inputs.dem import read_dem
from ..inputs.osm import OsmData, read_osm
from ..inputs.vector import check_lonlat_order, read_vector
from ..scenario import MAX_BUILDING_HEIGHT_M, CamerasFromFile, CamerasGenerated, CameraSpec, Scenario, camera_spec
from ..scene.camera import Camera
from ..scene.scene import Scene
from ..scene.targets import (
    PlanarSet,
    Targets,
    draped_areas,
    footprint_walls,
    grid_cells,
    horizontal_areas,
    planar_from_polygons3d,
    sample_planes,
    synthesize_openings,
)
from ..scene.terrain import Terrain
from ..visibility import cores
from . import buildings as bmod
from .cameras import place_camera
from .generate import buildings_from_streets, intersection_points
from .mesh import extrusion_triangles, surfaces_triangles
from .osm_tags import camera_specs_from_osm

Progress = Callable[[str], None]


# ---------------------------------------------------------------- reading


def _is_osm(path: Path) -> bool:
    return path.name.endswith((".pbf", ".osm"))


@dataclass(frozen=True)
class CameraEntrySource:
    """A camera entry with where it came from (file and field, for errors) and the defaults its values
    already hold (an OSM node's missing tags)."""

    spec: CameraSpec
    source: str
    field: str
    defaults_used: tuple[str, ...] = ()


@dataclass
class _Raw:
    footprints: list[tuple[gpd.GeoDataFrame, str, str]] = field(default_factory=list)  # (gdf, source, label)
    models: list[CityModel] = field(default_factory=list)
    streets: list[gpd.GeoDataFrame] = field(default_factory=list)
    gardens: list[gpd.GeoDataFrame] = field(default_factory=list)
    sensitive: list[gpd.GeoDataFrame] = field(default_factory=list)  # places used in seclusion
    openings: gpd.GeoDataFrame | None = None
    private_areas: gpd.GeoDataFrame | None = None
    camera_specs: list[CameraEntrySource] = field(default_factory=list)
    osm_cache: dict[Path, OsmData] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _osm(raw: _Raw, path: Path, label: str) -> OsmData:
    if path not in raw.osm_cache:
        raw.osm_cache[path] = read_osm(path, label=label)
        raw.notes += raw.osm_cache[path].notes
    return raw.osm_cache[path]


def _vector(raw: _Raw, path: Path, **kw: Any) -> gpd.GeoDataFrame:
    """``read_vector``, with what it repaired or left out added to the scene's notes."""
    g = read_vector(path, **kw)
    raw.notes += g.attrs.get("notes", [])
    return g


def _read_sources(sc: Scenario) -> _Raw:
    raw = _Raw()
    src = sc.source
    if sc.buildings is not None and sc.buildings.path is not None:
        p = sc.resolve(sc.buildings.path)
        if _is_osm(p):
            raw.footprints.append((_osm(raw, p, sc.buildings.path).buildings, "osm", sc.buildings.path))
            raw.gardens.append(_osm(raw, p, sc.buildings.path).gardens)
            osm_sensitive = _osm(raw, p, sc.buildings.path).sensitive
            if osm_sensitive is not None and len(osm_sensitive):
                raw.sensitive.append(osm_sensitive)
        else:
            g = _vector(raw, p, layer=sc.buildings.layer, crs=sc.buildings.crs, fallback_crs=sc.crs,
                            label=sc.buildings.path)
            check_lonlat_order(g, label=sc.buildings.path)
            raw.footprints.append((g, "vector", sc.buildings.path))
    for i, m in enumerate(sc.models):
        p = sc.resolve(m.path)
        text_head = p.read_bytes()[:200].lstrip() if p.is_file() else b""
        model = read_cityjson(p, label=m.path) if text_head.startswith(b"{") else read_citygml(p, label=m.path)
        if m.crs is not None:
            model.crs = parse_crs(m.crs, file=m.path, field=f"models.{i}.crs")
        if model.crs is None:
            raise InputError("the model names no CRS; state it with 'crs:' in the scenario", file=m.path,
                             field=f"models.{i}.crs")
        raw.models.append(model)
    if sc.streets is not None:
        p = sc.resolve(sc.streets.path)
        if _is_osm(p):
            raw.streets.append(_osm(raw, p, sc.streets.path).streets)
        else:
            g = _vector(raw, p, layer=sc.streets.layer, crs=sc.streets.crs, fallback_crs=sc.crs,
                            label=sc.streets.path)
            check_lonlat_order(g, label=sc.streets.path)
            raw.streets.append(g)
    elif raw.osm_cache:
        raw.streets += [d.streets for d in raw.osm_cache.values()]
    if sc.openings is not None:
        raw.openings = _vector(raw, sc.resolve(sc.openings.path), layer=sc.openings.layer, crs=sc.openings.crs,
                                   label=sc.openings.path, repair=False, fallback_crs=sc.crs)
        if not shapely.has_z(raw.openings.geometry.values).all():
            raise InputError("openings need 3D polygons (PolygonZ): z is the height of each vertex",
                             file=sc.openings.path, field="geometry")
    if sc.sensitive_places is not None:
        sp = sc.sensitive_places
        g = _vector(raw, sc.resolve(sp.path), layer=sp.layer, crs=sp.crs, label=sp.path, fallback_crs=sc.crs)
        check_lonlat_order(g, label=sp.path)
        raw.sensitive.append(g.rename(columns={sp.id_field: "id"}) if sp.id_field in g else
                             g.assign(id=[f"sensitive-{i}" for i in range(len(g))]))
    if sc.private_areas is not None:
        raw.private_areas = _vector(raw, sc.resolve(sc.private_areas.path), layer=sc.private_areas.layer,
                                        crs=sc.private_areas.crs, label=sc.private_areas.path, fallback_crs=sc.crs)
    for i, entry in enumerate(sc.camera_entries):
        fld = f"cameras.{i}" if isinstance(sc.cameras, tuple) else "cameras"
        if isinstance(entry, CameraSpec):
            raw.camera_specs.append(CameraEntrySource(entry, src, fld))
        elif isinstance(entry, CamerasFromFile):
            d = entry.defaults
            kw: dict[str, Any] = {"fixed_model": d.fixed_model, "ptz_model": d.ptz_model,
                                  "mount_height_m": d.mount_height_m, "tilt_deg": d.tilt_deg}
            if entry.osm is not None:
                nodes = _osm(raw, sc.resolve(entry.osm), entry.osm).cameras
                label = entry.osm
            else:
                g = _vector(raw, sc.resolve(entry.path or ""), layer=entry.layer, crs=entry.crs, label=entry.path,
                                fallback_crs=sc.crs)
                g = g.to_crs("EPSG:4326")
                pts = shapely.get_coordinates(g.geometry.values)
                nodes = [{"osm_id": str(r.get("id", f"camera-{k}")), "lon": pts[k, 0], "lat": pts[k, 1],
                          "tags": {kk: str(vv) for kk, vv in r.items() if vv is not None and vv == vv
                                   and kk != "geometry"}}
                         for k, r in enumerate(g.drop(columns="geometry").to_dict("records"))]
                label = entry.path or ""
            if sc.extent is not None:  # cameras from files: only those inside the extent
                lon0, lat0, lon1, lat1 = sc.extent
                nodes = [n for n in nodes if lon0 <= n["lon"] <= lon1 and lat0 <= n["lat"] <= lat1]
            for node in nodes:
                for spec in camera_specs_from_osm(node, **kw):
                    used = tuple(spec.pop("defaults"))
                    where = f"{fld} ({node['osm_id']})"
                    raw.camera_specs.append(CameraEntrySource(camera_spec(spec, source=label, field=where), label,
                                                              where, used))
            if not nodes:
                raw.notes.append(f"{label}: no surveillance cameras found")
    return raw


def _reference_lonlat(sc: Scenario, raw: _Raw) -> tuple[float, float]:
    if sc.extent is not None:
        return (sc.extent[0] + sc.extent[2]) / 2, (sc.extent[1] + sc.extent[3]) / 2
    for g, _, _ in raw.footprints:
        if len(g):
            c = g.to_crs("EPSG:4326").total_bounds
            return (c[0] + c[2]) / 2, (c[1] + c[3]) / 2
    for m in raw.models:
        pts = np.concatenate([p.rings[0] for b in m.buildings for _, p in b.surfaces])
        lon, lat = Transformer.from_crs(m.crs, "EPSG:4326", always_xy=True).transform(
            pts[:, 0].mean(), pts[:, 1].mean())
        return float(lon), float(lat)
    for s in raw.streets:
        if len(s):
            c = s.to_crs("EPSG:4326").total_bounds
            return (c[0] + c[2]) / 2, (c[1] + c[3]) / 2
    for c in raw.camera_specs:
        if c.spec.lon is not None and c.spec.lat is not None:
            return c.spec.lon, c.spec.lat
    raise InputError("the scenario has no buildings, models, streets or cameras with lon/lat to place it",
                     file=sc.source, field="buildings")


def _transform_model(model: CityModel, crs: CRS) -> CityModel:
    if model.crs == crs:
        return model
    tr = Transformer.from_crs(model.crs, crs, always_xy=True)

    def move(r: np.ndarray) -> np.ndarray:
        x, y = tr.transform(r[:, 0], r[:, 1])
        return np.column_stack([x, y, r[:, 2]])

    for b in model.buildings:
        for _, p in b.surfaces:
            p.rings = [move(r) for r in p.rings]
    for o in model.openings:
        for p in o.polygons:
            p.rings = [move(r) for r in p.rings]
        # a wall normal would rotate with the change of grid: drop it; openings are then oriented by
        # Newell's normal checked against the building footprint
        o.wall_normal = None
    model.crs = crs
    return model


# ---------------------------------------------------------------- building the scene


def build_scene(sc: Scenario, *, progress: Progress | None = None) -> Scene:
    """Read, project and assemble everything a run needs. Raises ``InputError`` on bad input."""
    with collector_paused():
        return _build_scene(sc, progress)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block: a city's scene is millions of long-lived objects
    made in a burst, without cycles, and every full collection in the burst walks all of them
    (0.4 s of Amadora's 3 s build)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _build_scene(sc: Scenario, progress: Progress | None) -> Scene:
    say = progress or (lambda _m: None)
    say("reading data")
    raw = _read_sources(sc)
    lon, lat = _reference_lonlat(sc, raw)
    crs = parse_crs(sc.crs, file=sc.source) if sc.crs else utm_crs_for(lon, lat)
    if crs.is_geographic:
        raise InputError("the scene CRS must be projected (metres), got a geographic CRS", file=sc.source,
                         field="crs")
    frame = Frame(crs)
    extent_poly = None
    if sc.extent is not None:
        ex, ey = frame.from_lonlat([sc.extent[0], sc.extent[2], sc.extent[2], sc.extent[0]],
                                   [sc.extent[1], sc.extent[1], sc.extent[3], sc.extent[3]])
        extent_poly = shapely.Polygon(np.column_stack([ex, ey]))

    def clip(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        g = g.to_crs(crs)
        if extent_poly is not None and len(g):
            g = g[shapely.intersects(g.geometry.values, extent_poly)]
        return g.reset_index(drop=True)

    streets = pd.concat([clip(s) for s in raw.streets], ignore_index=True) if raw.streets else \
        gpd.GeoDataFrame({"id": []}, geometry=[], crs=crs)
    streets = gpd.GeoDataFrame(streets, geometry="geometry", crs=crs)
    if len(streets):
        streets = streets[shapely.get_type_id(streets.geometry.values) == 1].reset_index(drop=True)
    models = [_transform_model(m, crs) for m in raw.models]

    say("buildings and heights")
    bspec = sc.buildings
    tables = []
    for g, source, label in raw.footprints:
        assert bspec is not None
        n_read = len(g)
        g = clip(g)
        if n_read and not len(g) and sc.extent is not None:
            raise InputError(f"the extent holds none of the {n_read} buildings of {label} (extent "
                             f"[lon_min, lat_min, lon_max, lat_max]: lon and lat swapped?)", file=sc.source,
                             field="extent")
        polygonal = np.isin(shapely.get_type_id(g.geometry.values), (3, 6))
        if not polygonal.all():
            kinds = sorted({geom.geom_type for geom in g.geometry.values[~polygonal]})
            raw.notes.append(f"{label}: {int((~polygonal).sum())} features that are not polygons ({', '.join(kinds)}) "
                             f"were left out: {_first_ids(g[~polygonal])}")
        g = g[polygonal].reset_index(drop=True)
        if source == "vector":
            for key in ("id_field", "height_field", "levels_field", "use_field"):
                name = getattr(bspec, key)
                if key in bspec.model_fields_set and name and name not in g.columns and len(g):
                    raise InputError(f"no field {name!r} in the buildings (fields: "
                                     f"{', '.join(map(str, list(g.columns.drop('geometry'))[:8]))})",
                                     file=label, field=f"buildings.{key}")
            if bspec.id_field in g.columns and g[bspec.id_field].duplicated().any():
                dup = g[bspec.id_field][g[bspec.id_field].duplicated()].astype(str).tolist()
                raw.notes.append(f"{label}: {len(dup)} duplicate building ids made unique with #1, #2, …: "
                                 f"{', '.join(dup[:5])}{', …' if len(dup) > 5 else ''}")
        g = _check_heights(g, bspec.height_field, label, strict=source == "vector", notes=raw.notes)
        tables.append(bmod.normalise(
            g, id_col="id" if source == "osm" else bspec.id_field, height_col=bspec.height_field,
            levels_col=bspec.levels_field, use_col=bspec.use_field, storey_height_m=sc.storey_height_m,
            default_height_m=bspec.default_height_m, unknown_use=bspec.unknown_use, source=source))
    if bspec is not None and bspec.generate_from_streets is not None:
        gen = bspec.generate_from_streets
        if len(streets) == 0:
            raise InputError("generate_from_streets needs a 'streets' layer", file=sc.source,
                             field="buildings.generate_from_streets")
        g = buildings_from_streets(streets, setback_m=gen.setback_m, depth_m=gen.depth_m,
                                   min_block_area_m2=gen.min_block_area_m2, max_block_area_m2=gen.max_block_area_m2,
                                   levels=gen.levels, seed=gen.seed)
        t = bmod.normalise(g, id_col="id", height_col=None, levels_col="levels", use_col=None,
                           storey_height_m=sc.storey_height_m, default_height_m=bspec.default_height_m,
                           unknown_use=bspec.unknown_use, source="generated")
        t["height_source"] = "generated"
        tables.append(t)
        raw.notes.append(f"{len(t)} buildings generated from street blocks (labelled 'generated'): "
                         f"{gen.levels[0]}-{gen.levels[1]} storeys of {sc.storey_height_m:g} m")
    unknown_use = bspec.unknown_use if bspec is not None else "residential"
    model_rows, model_surfaces, model_openings = _model_buildings(models, sc, unknown_use)
    if model_rows is not None:
        tables.append(model_rows)
    if not tables:
        buildings = gpd.GeoDataFrame({"id": pd.Series([], dtype=object)}, geometry=[], crs=crs)
        for c, v in (("height", 0.0), ("height_source", ""), ("levels", 0.0), ("use", ""), ("source", ""),
                     ("has_model", False), ("private", False)):
            buildings[c] = pd.Series([], dtype=type(v))
    else:
        buildings = gpd.GeoDataFrame(pd.concat(tables, ignore_index=True), geometry="geometry", crs=crs)
    buildings = buildings[~shapely.is_empty(buildings.geometry.values)].reset_index(drop=True)
    if buildings["id"].duplicated().any():
        dup = buildings["id"][buildings["id"].duplicated()].iloc[0]
        raise InputError(f"duplicate building id {dup!r}", file=bspec.path if bspec else sc.source, field="id")

    say("terrain")
    bounds = _scene_bounds(buildings, streets, raw, frame)
    margin = sc.analysis.max_range_m
    if sc.terrain is not None:
        grid = read_dem(sc.resolve(sc.terrain.path), scene_crs=crs, crs=sc.terrain.crs, fallback_crs=sc.crs,
                        label=sc.terrain.path,
                        bounds=(bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin))
        terrain = Terrain(grid)
    else:
        terrain = Terrain()
    ground_at = _ground_function(terrain, buildings)
    _set_building_z(buildings, terrain, ground_at)

    say("targets")
    sensitive = _sensitive_places(raw, buildings, clip)
    targets = _targets(sc, buildings, terrain, raw, model_surfaces, model_openings, crs, clip, sensitive)

    say("mesh")
    tri_parts = []
    plain = ~buildings["has_model"].to_numpy(bool)
    tri_parts.append(extrusion_triangles(buildings.geometry.values[plain], buildings["base_z"].to_numpy()[plain],
                                         buildings["roof_z"].to_numpy()[plain]))
    tri_parts.append(surfaces_triangles([p.rings for _, _, p in model_surfaces]))
    if sc.analysis.model_openings == "glass":  # the models' windows and doors stop lines of sight
        tri_parts.append(surfaces_triangles([p.rings for o in model_openings for p in o.polygons]))
    tri_parts.append(terrain.triangles())
    triangles = np.concatenate(tri_parts)
    origin = np.array([(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 0.0])

    say("cameras")
    cameras, notes = _cameras(sc, raw, frame, ground_at, buildings, bounds, streets)
    _check_work(sc, bounds, streets, cameras, has_data=bool(len(buildings) or len(streets)))
    check_rays(sc, targets, cameras)
    return Scene(name=sc.name, frame=frame, terrain=terrain, buildings=buildings, targets=targets,
                 triangles=triangles, origin=origin, streets=streets, cameras=cameras, scenario=sc,
                 notes=raw.notes + notes, ground_at=ground_at)


FAR_FROM_DATA_M = 10_000.0  # a camera farther than its range plus this from every building and street


def _check_samples(sc: Scenario, planes: PlanarSet, spacing_m: NDArray[np.float64]) -> None:
    """Refuse, before sampling, more samples on private targets than ``limits.max_samples`` (the grid
    cells of ``sample_planes``: an upper bound, cells outside a polygon are not sampled)."""
    b = planes.bounds
    nu, nv = grid_cells(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1], spacing_m, sc.analysis.max_samples_per_target)
    per = nu * nv
    total = float(per.sum())
    if total > sc.limits.max_samples:
        raise InputError(f"about {total:,.0f} samples on {len(per):,} private targets, more than "
                         f"limits.max_samples ({sc.limits.max_samples:,}): raise analysis.sample_spacing_m or "
                         f"surface_sample_spacing_m, lower max_samples_per_target, or raise the limit",
                         file=sc.source, field="analysis.sample_spacing_m")


def _check_work(sc: Scenario, bounds: tuple[float, float, float, float], streets: gpd.GeoDataFrame,
                cameras: list[Camera], *, has_data: bool) -> None:
    """Refuse, before the analysis, a camera far from all the data, and work beyond ``limits``: public
    street samples, and coverage grid cells (the data's raster and each camera's disc)."""
    x0, y0, x1, y1 = bounds
    if has_data:
        for cam in cameras:
            dx, dy = max(x0 - cam.x, 0.0, cam.x - x1), max(y0 - cam.y, 0.0, cam.y - y1)
            d = math.hypot(dx, dy)
            if d > cam.range_m + FAR_FROM_DATA_M:
                raise InputError(f"camera {cam.id[:40]} stands {d / 1000:,.1f} km from the nearest building or "
                                 f"street of the scene, beyond its {cam.range_m:g} m range: wrong coordinates or CRS?",
                                 file=sc.source, field="cameras")
    ms = sc.masks
    if ms.enabled and len(streets):
        n = float((np.floor(shapely.length(streets.geometry.values) / ms.street_sample_spacing_m) + 1).sum())
        if n > sc.limits.max_street_samples:
            raise InputError(f"about {n:,.0f} street samples, more than limits.max_street_samples "
                             f"({sc.limits.max_street_samples:,}): raise masks.street_sample_spacing_m or the limit",
                             file=sc.source, field="masks.street_sample_spacing_m")
    cov = sc.coverage
    if cov.enabled:
        raster = (x1 - x0) * (y1 - y0) / cov.cell_m**2
        disc = max((math.pi * c.range_m**2 / cov.cell_m**2 for c in cameras), default=0.0)
        if max(raster, disc) > sc.limits.max_grid_cells:
            raise InputError(f"about {max(raster, disc):,.0f} coverage cells of {cov.cell_m:g} m, more than "
                             f"limits.max_grid_cells ({sc.limits.max_grid_cells:,}): raise coverage.cell_m or the "
                             f"limit", file=sc.source, field="coverage.cell_m")


def check_rays(sc: Scenario, targets: Targets, cameras: list[Camera]) -> None:
    """Refuse, before the analysis, more rays than ``limits.max_rays``: every sample of every private
    target whose centre lies within a camera's range (an upper bound on the exposure rays; facing and
    reach cut it down)."""
    if not len(targets) or not cameras:
        return
    counts = np.diff(targets.offsets)
    tree = cKDTree(targets.centroid[:, :2], balanced_tree=False, compact_nodes=False)  # built in half the time
    total = 0.0
    for cam in cameras:
        near = tree.query_ball_point([cam.x, cam.y], cam.range_m)
        total += float(counts[near].sum()) if near else 0.0
    if total > sc.limits.max_rays:
        raise InputError(f"about {total:,.0f} rays to private targets in the cameras' ranges, more than "
                         f"limits.max_rays ({sc.limits.max_rays:,}): shorten analysis.max_range_m, raise the "
                         f"sample spacings, or raise the limit", file=sc.source, field="analysis.max_range_m")


def _first_ids(g: gpd.GeoDataFrame, n: int = 5) -> str:
    ids = (g["id"] if "id" in g.columns else pd.Series(g.index)).astype(str).tolist()
    return ", ".join(i[:40] for i in ids[:n]) + (", …" if len(ids) > n else "")


def _check_heights(g: gpd.GeoDataFrame, height_field: str | None, label: str, *, strict: bool,
                   notes: list[str]) -> gpd.GeoDataFrame:
    """Heights that are negative are refused. A height that is not a number, or above
    ``MAX_BUILDING_HEIGHT_M``: refused in the user's own files (``strict``); in crowd-sourced data (OSM),
    dropped (levels or the default height apply) and named in ``notes``."""
    if not height_field or height_field not in g.columns:
        return g
    raw_h = g[height_field]
    h = pd.to_numeric(raw_h.map(bmod._num), errors="coerce")
    ids = g["id"].astype(str) if "id" in g.columns else pd.Series([str(i) for i in range(len(g))], index=g.index)
    neg = np.flatnonzero(h.to_numpy() < 0)
    if len(neg):
        raise InputError(f"negative height {h.iloc[neg[0]]:g} m (feature {ids.iloc[neg[0]][:40]}); heights are metres "
                         "above ground", file=label, field=height_field)
    text = h.isna().to_numpy() & raw_h.notna().to_numpy() & (raw_h.astype(str).str.strip() != "").to_numpy()
    tall = (h.to_numpy() > MAX_BUILDING_HEIGHT_M)
    for bad, what in ((text, "is not a number of metres"),
                      (tall, f"is implausible: no building stands above {MAX_BUILDING_HEIGHT_M:g} m")):
        if not bad.any():
            continue
        k = np.flatnonzero(bad)
        if strict:
            raise InputError(f"height {str(raw_h.iloc[k[0]])[:30]!r} (feature {ids.iloc[k[0]][:40]}) {what}",
                             file=label, field=height_field)
        notes.append(f"{label}: {len(k)} heights that {what.split(':')[0].replace('is ', 'are ')} were ignored "
                     f"(levels or the default height apply): {', '.join(ids.iloc[k[:5]].str[:40])}"
                     f"{', …' if len(k) > 5 else ''}")
        g = g.copy()
        g.loc[g.index[k], height_field] = None
    return g


def _model_buildings(models: list[CityModel], sc: Scenario, unknown_use: str
                     ) -> tuple[gpd.GeoDataFrame | None, list[tuple[str, str, Any]], list[Any]]:
    rows, surfaces, openings = [], [], []
    for m in models:
        for b in m.buildings:
            fp = footprint_of(b.surfaces)
            zs = np.concatenate([p.rings[0][:, 2] for _, p in b.surfaces])
            ground = [p.rings[0][:, 2].mean() for k, p in b.surfaces if k == "ground"]
            base = float(min(ground)) if ground else float(zs.min())
            top = float(zs.max())
            measured = b.measured_height if b.measured_height and b.measured_height > 0 else None
            if b.measured_height is not None and b.measured_height < 0:
                raise InputError(f"negative measuredHeight {b.measured_height:g} (building {b.id})", file=m.source,
                                 field="measuredHeight")
            rows.append({"id": b.id, "geometry": fp, "height": measured or (top - base),
                         "height_source": "measured" if measured else "model", "levels": b.storeys or np.nan,
                         "use": bmod.use_class(b.function), "source": Path(m.source).suffix.lstrip(".") or "model",
                         "has_model": True, "model_base_z": base, "model_top_z": top})
            surfaces += [(b.id, k, p) for k, p in b.surfaces]
        openings += m.openings
    if not rows:
        return None, [], []
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=models[0].crs)
    gdf["private"] = bmod.is_private(gdf["use"], unknown_use=unknown_use)
    return gdf, surfaces, openings


def _scene_bounds(buildings: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, raw: _Raw,
                  frame: Frame) -> tuple[float, float, float, float]:
    boxes = [g.total_bounds for g in (buildings, streets) if len(g)]
    if not boxes:
        xy = [(c.spec.x, c.spec.y) if c.spec.lon is None or c.spec.lat is None
              else frame.from_lonlat(c.spec.lon, c.spec.lat) for c in raw.camera_specs]
        if not xy:
            return (0.0, 0.0, 1.0, 1.0)
        a = np.array(xy, float)
        return (a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max())
    b = np.array(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def _ground_function(terrain: Terrain, buildings: gpd.GeoDataFrame) -> Callable[[float, float], float]:
    """Ground z at a point: the DEM; else the nearest 3D model's ground; else 0."""
    if not terrain.is_flat:
        return lambda x, y: float(terrain.height_at(x, y))
    if "model_base_z" in buildings.columns and buildings["has_model"].any():
        mb = buildings[buildings["has_model"]]
        tree = shapely.STRtree(mb.geometry.values)
        base = mb["model_base_z"].to_numpy(float)
        return lambda x, y: float(base[tree.nearest(shapely.Point(x, y))])
    return lambda x, y: 0.0


def _set_building_z(b: gpd.GeoDataFrame, terrain: Terrain, ground_at: Callable[[float, float], float]) -> None:
    n = len(b)
    has_model = b["has_model"].to_numpy(bool) if n else np.zeros(0, bool)
    base = np.zeros(n)
    ground = np.zeros(n)
    if n:
        plain = np.flatnonzero(~has_model)
        if len(plain):
            geoms = b.geometry.values[plain]
            coords, idx = shapely.get_coordinates(shapely.get_exterior_ring(
                shapely.get_parts(geoms)), return_index=True)
            parts_idx = shapely.get_parts(geoms, return_index=True)[1]
            owner = parts_idx[idx]
            if terrain.is_flat:
                zc = np.array([ground_at(x, y) for x, y in coords]) if "model_base_z" in b.columns \
                    else np.zeros(len(coords))
            else:
                zc = terrain.height_at(coords[:, 0], coords[:, 1])
            zmin = np.full(len(plain), np.inf)
            np.minimum.at(zmin, owner, zc)
            zsum = np.bincount(owner, weights=zc, minlength=len(plain))
            cnt = np.bincount(owner, minlength=len(plain))
            base[plain] = zmin
            ground[plain] = zsum / np.maximum(cnt, 1)
        if has_model.any():
            base[has_model] = b["model_base_z"].to_numpy(float)[has_model]
            ground[has_model] = base[has_model]
    b["base_z"] = base
    b["ground_z"] = ground
    b["roof_z"] = np.where(has_model, b["model_top_z"].to_numpy(float) if "model_top_z" in b.columns else 0.0,
                           ground + b["height"].to_numpy(float)) if n else np.zeros(0)


SENSITIVE_POINT_HALF_WIDTH_M = 2.0  # a mapped point (a toilet block, a changing room) becomes a 4 m square


def _sensitive_places(raw: _Raw, b: gpd.GeoDataFrame,
                      clip: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Places used in seclusion (OSM toilets, changing rooms, showers; a scenario layer) as polygons in
    the scene CRS: points become squares of ``2 * SENSITIVE_POINT_HALF_WIDTH_M``. Buildings they touch
    become private (their facades, windows and doors are targets); the note says how many."""
    parts = [clip(g) for g in raw.sensitive]
    parts = [g for g in parts if len(g)]
    if not parts:
        return gpd.GeoDataFrame({"id": pd.Series([], dtype=object)}, geometry=[], crs=b.crs)
    g = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True)[["id", "geometry"]], geometry="geometry", crs=b.crs)
    geoms = g.geometry.values
    point = shapely.get_type_id(geoms) == 0
    geoms[point] = shapely.buffer(geoms[point], SENSITIVE_POINT_HALF_WIDTH_M, cap_style="square")
    g = g.set_geometry(shapely.make_valid(geoms))
    g = g[shapely.area(g.geometry.values) > 0].reset_index(drop=True)
    if len(b) and len(g):
        hit = np.unique(shapely.STRtree(b.geometry.values).query(g.geometry.values, predicate="intersects")[1])
        newly = hit[~b["private"].to_numpy(bool)[hit]]
        b.loc[newly, "private"] = True
        if len(newly):
            raw.notes.append(f"{len(newly)} buildings holding places used in seclusion (toilets, changing rooms, "
                             "showers) count as private")
    raw.notes.append(f"{len(g)} places used in seclusion (toilets, changing rooms, showers) are private targets "
                     f"(mapped points as {2 * SENSITIVE_POINT_HALF_WIDTH_M:g} m squares)")
    return g


def _targets(sc: Scenario, b: gpd.GeoDataFrame, terrain: Terrain, raw: _Raw, model_surfaces: list[Any],
             model_openings: list[Any], crs: CRS, clip: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame],
             sensitive: gpd.GeoDataFrame | None = None) -> Targets:
    sets: list[PlanarSet] = []
    kinds: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    sources: list[np.ndarray] = []

    def add(ps: PlanarSet, kind: Any, id_: np.ndarray, source: str) -> None:
        if len(ps) == 0:
            return
        sets.append(ps)
        kinds.append(np.broadcast_to(np.asarray(kind, object), len(ps)).copy())
        ids.append(np.asarray(id_, object))
        sources.append(np.full(len(ps), source, object))

    private = b["private"].to_numpy(bool) if len(b) else np.zeros(0, bool)
    bids = b["id"].to_numpy(object)
    # the footprints' unions (GEOS, without the interpreter lock) are made on a thread meanwhile
    thread = ThreadPoolExecutor(1)
    unions = thread.submit(_footprint_unions, b.geometry.values)
    thread.shutdown(wait=False)
    footprint_by_id = dict(zip(bids, b.geometry.values, strict=True))
    w = sc.windows

    # openings from data
    has_data_openings: set[str] = set()
    if raw.openings is not None:
        op = clip(raw.openings)
        oc = sc.openings
        assert oc is not None
        for col in (oc.id_field, oc.building_field):
            if col not in op.columns:
                raise InputError(f"missing field (columns: {', '.join(map(str, op.columns[:-1]))})",
                                 file=oc.path, field=col)
        polys = shapely.get_parts(op.geometry.values, return_index=True)
        rings_list = [[np.asarray(p.exterior.coords)[:-1]] for p in polys[0]]
        obid = op[oc.building_field].astype(str).to_numpy(object)[polys[1]]
        kind = (op[oc.kind_field].astype(str).str.lower().to_numpy(object)[polys[1]] if oc.kind_field in op.columns
                else np.full(len(polys[0]), "window", object))
        bad = ~np.isin(kind, ["window", "door", "balcony", "terrace"])
        if bad.any():
            raise InputError(f"kind {kind[bad][0]!r} not one of window, door, balcony, terrace",
                             file=oc.path, field=oc.kind_field)
        oid = op[oc.id_field].astype(str).to_numpy(object)[polys[1]]
        ps, kept = planar_from_polygons3d(rings_list, list(obid), [None] * len(rings_list), hull=True)
        if len(kept) < len(rings_list):
            raw.notes.append(f"{oc.path}: {len(rings_list) - len(kept)} openings without area were skipped")
        _orient_outward(ps, footprint_by_id)
        add(ps, kind[kept], oid[kept], "data")
        has_data_openings |= set(obid)

    # openings from 3D models
    if model_openings:
        rings_list = [[r for p in o.polygons for r in p.rings[:1]] for o in model_openings]
        ps, kept = planar_from_polygons3d(rings_list, [o.building_id for o in model_openings],
                                          [o.wall_normal for o in model_openings], hull=True)
        _orient_outward(ps, footprint_by_id)
        keep = np.isin(ps.building_id, bids[private])
        add(ps.take(keep), np.array([o.kind for o in model_openings], object)[kept][keep],
            np.array([o.id for o in model_openings], object)[kept][keep], "data")
        has_data_openings |= {o.building_id for o in model_openings}

    # facades of extruded buildings, with synthesized windows
    plain = private & ~b["has_model"].to_numpy(bool)
    if plain.any():
        walls = footprint_walls(b.geometry.values[plain], bids[plain], b["base_z"].to_numpy()[plain],
                                b["roof_z"].to_numpy()[plain], min_length_m=1.0)
        fac_ids = np.array([f"{x}/facade-{i}" for i, x in enumerate(walls.building_id)], object)
        add(walls, "facade", fac_ids, "derived")
        if w.synthesize:
            _add_synth(walls, b, w, sc.storey_height_m, has_data_openings, add)
    # facades of 3D model buildings
    mwalls = [(bid, p) for bid, k, p in model_surfaces if k == "wall" and bid in set(bids[private])]
    if mwalls:
        ps, _ = planar_from_polygons3d([p.rings for _, p in mwalls], [bid for bid, _ in mwalls],
                                       [None] * len(mwalls), hull=False)
        _orient_outward(ps, footprint_by_id)
        big = shapely.area(ps.polygons()) >= 1.0
        ps = ps.take(big)
        add(ps, "facade", np.array([f"{x}/facade-{i}" for i, x in enumerate(ps.building_id)], object), "derived")
        if w.synthesize:
            _add_synth(ps, b, w, sc.storey_height_m, has_data_openings, add)

    tree = shapely.STRtree(b.geometry.values) if len(b) else None
    # courtyards: spaces enclosed by buildings (footprint holes included)
    merged, footprints_union = unions.result()
    if tree is not None:
        holes = [shapely.Polygon(r).buffer(0.25, join_style="mitre")
                 for p in shapely.get_parts(merged) for r in p.interiors]
        holes = [h for h in holes if h.area >= 10.0]
        if holes:
            owner = tree.nearest(np.asarray(holes, object))
            near_private = private[owner]
            hp = np.asarray(holes, object)[near_private]
            add(draped_areas(hp, bids[owner[near_private]]), "courtyard",
                np.array([f"courtyard-{i}" for i in range(len(hp))], object), "derived")

    # backyards, terraces, balconies from data
    areas = []
    if raw.private_areas is not None:
        pa = sc.private_areas
        assert pa is not None
        g = clip(raw.private_areas)
        kind = (g[pa.kind_field].astype(str).str.lower().to_numpy(object) if pa.kind_field and pa.kind_field in g
                else np.full(len(g), pa.default_kind, object))
        z = (pd.to_numeric(g[pa.z_field], errors="coerce").to_numpy(float) if pa.z_field and pa.z_field in g
             else np.full(len(g), np.nan))
        gid = g[pa.id_field].astype(str).to_numpy(object) if pa.id_field in g else \
            np.array([f"area-{i}" for i in range(len(g))], object)
        areas.append((g.geometry.values, kind, z, gid, "data"))
    for gd in raw.gardens:
        g = clip(gd)
        areas.append((g.geometry.values, np.full(len(g), "backyard", object), np.full(len(g), np.nan),
                      g["id"].astype(str).to_numpy(object), "data"))
    if sensitive is not None and len(sensitive):
        n = len(sensitive)
        areas.append((sensitive.geometry.values, np.full(n, "sensitive", object), np.full(n, np.nan),
                      sensitive["id"].astype(str).to_numpy(object), "data"))
    for geoms, kind, z, gid, source in areas:
        geoms = np.asarray(shapely.make_valid(geoms), object)
        flat = np.isnan(z)
        ground, g_kind, g_id, _ = _single_polygons(shapely.difference(geoms[flat], footprints_union), kind[flat],
                                                   gid[flat], z[flat])
        owner = bids[tree.nearest(ground)] if tree is not None and len(ground) else np.full(len(ground), "", object)
        add(draped_areas(ground, owner), g_kind, g_id, source)
        raised, r_kind, r_id, r_z = _single_polygons(geoms[~flat], kind[~flat], gid[~flat], z[~flat])
        if len(raised):
            owner = bids[tree.nearest(raised)] if tree is not None else np.full(len(raised), "", object)
            add(horizontal_areas(raised, r_z, owner), r_kind, r_id, source)

    planes = PlanarSet.concat(sets)
    spacing = np.full(len(planes), sc.analysis.surface_sample_spacing_m)
    kind_all = np.concatenate(kinds) if kinds else np.empty(0, object)
    fine = np.isin(kind_all, ["window", "door"])
    spacing[fine] = sc.analysis.sample_spacing_m
    _check_samples(sc, planes, spacing)
    samples, offsets = sample_planes(planes, spacing=spacing, max_samples=sc.analysis.max_samples_per_target,
                                     terrain=terrain, threads=sc.analysis.threads or cores())
    ids_all = np.concatenate(ids) if ids else np.empty(0, object)
    area = planes.areas()
    counts = np.diff(offsets)
    centroid = np.zeros((len(planes), 3))
    if len(planes):
        st = np.repeat(np.arange(len(planes)), counts)
        for k in range(3):
            centroid[:, k] = np.bincount(st, weights=samples[:, k], minlength=len(planes)) / np.maximum(counts, 1)
    known = has_data_openings | (set(bids[private]) if w.synthesize else set())
    b = planes.bounds
    grid = np.column_stack(grid_cells(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1], spacing,
                                      sc.analysis.max_samples_per_target)).reshape(-1, 2)
    return Targets(id=ids_all, kind=kind_all, source=np.concatenate(sources) if sources else np.empty(0, object),
                   planes=planes, area=area, samples=samples, offsets=offsets, centroid=centroid,
                   openings_known=frozenset(str(x) for x in known), grid=grid)


def _footprint_unions(footprints: np.ndarray) -> tuple[Any, Any]:
    """The footprints widened by 0.25 m and merged (their holes are the courtyards), and the union
    of the footprints themselves."""
    if len(footprints) == 0:
        return shapely.Polygon(), shapely.Polygon()
    return (shapely.union_all(shapely.buffer(footprints, 0.25, join_style="mitre")),
            shapely.union_all(footprints))


def _single_polygons(geoms: np.ndarray, kind: np.ndarray, gid: np.ndarray, z: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The polygons of more than 1 m2 in ``geoms`` (multi-part areas split, other geometry types
    dropped), with their kinds, ids (``<id>/<part>`` for the second part on) and z."""
    parts, src = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 1.0)
    parts, src = parts[keep], src[keep]
    first = np.r_[True, src[1:] != src[:-1]] if len(src) else np.zeros(0, bool)
    rank = np.arange(len(src)) - np.maximum.accumulate(np.where(first, np.arange(len(src)), 0))
    ids = np.array([str(g) if r == 0 else f"{g}/{r + 1}" for g, r in zip(gid[src], rank, strict=True)], object)
    return np.asarray(parts, object), kind[src], ids, z[src]


def _add_synth(walls: PlanarSet, b: gpd.GeoDataFrame, w: Any, storey_h: float, skip: set[str],
               add: Callable[..., None]) -> None:
    need = ~np.isin(walls.building_id, list(skip))
    walls = walls.take(need)
    if len(walls) == 0:
        return
    row = pd.Index(b["id"]).get_indexer(walls.building_id)
    levels = b["levels"].to_numpy(float)[row]
    height = b["height"].to_numpy(float)[row]
    storeys = np.where(np.isfinite(levels), np.round(levels), np.floor(height / storey_h)).astype(np.int64)
    ground_v = (b["ground_z"].to_numpy(float)[row] - walls.origin[:, 2])
    ground_v = np.maximum(ground_v, walls.bounds[:, 1])
    # one door per building, on its longest wall
    length = walls.bounds[:, 2] - walls.bounds[:, 0]
    order = np.lexsort((-length, row))
    first = np.r_[True, row[order][1:] != row[order][:-1]]
    door_wall = np.zeros(len(walls), bool)
    door_wall[order[first]] = w.doors
    ps, kinds, ids = synthesize_openings(walls, ground_v, storeys, width=w.width_m, height=w.height_m,
                                         spacing=w.spacing_m, sill=w.sill_m, storey_height=storey_h,
                                         door_wall=door_wall, door_width=w.door_width_m,
                                         door_height=w.door_height_m)
    add(ps, kinds, ids, "synthesized")


def _orient_outward(ps: PlanarSet, footprint_by_id: dict[str, Any]) -> None:
    """Flip vertical-ish normals that point into their building's footprint."""
    if len(ps) == 0:
        return
    c = ps.origin
    fps = np.array([footprint_by_id.get(x) for x in ps.building_id], dtype=object)
    known = np.array([f is not None for f in fps]) & (np.abs(ps.N[:, 2]) < 0.9)
    if not known.any():
        return
    probe_in = c[known, :2] + 0.4 * ps.N[known, :2]
    probe_out = c[known, :2] - 0.4 * ps.N[known, :2]
    inside_fwd = shapely.contains_xy(fps[known], probe_in[:, 0], probe_in[:, 1])
    inside_back = shapely.contains_xy(fps[known], probe_out[:, 0], probe_out[:, 1])
    flip = np.zeros(len(ps), bool)
    flip[known] = inside_fwd & ~inside_back
    ps.N[flip] *= -1
    ps.U[flip] *= -1  # keep V = N x U
    if flip.any():
        # u coordinates mirror with U
        ps.poly2d[flip] = shapely.transform(ps.polygons(flip), lambda a: a * np.array([-1.0, 1.0]))
        ps.bounds[flip] = shapely.bounds(ps.poly2d[flip])


def _cameras(sc: Scenario, raw: _Raw, frame: Frame, ground_at: Callable[[float, float], float],
             b: gpd.GeoDataFrame, bounds: tuple[float, float, float, float],
             streets: gpd.GeoDataFrame) -> tuple[list[Camera], list[str]]:
    specs = list(raw.camera_specs)
    for i, entry in enumerate(sc.camera_entries):
        if isinstance(entry, CamerasGenerated):
            g = entry.at_intersections
            pts = intersection_points(streets, highways=g.highways, count=g.count,
                                      min_separation_m=g.min_separation_m)
            if len(pts) < g.count:
                raise InputError(f"only {len(pts)} intersections of {', '.join(g.highways)} found, "
                                 f"{g.count} cameras asked", file=sc.source, field=f"cameras.{i}.at_intersections")
            specs += [CameraEntrySource(CameraSpec(id=f"{g.id_prefix}{k + 1:03d}", model=g.model, x=float(x),
                                                   y=float(y), mount_height_m=g.mount_height_m),
                                        sc.source, f"cameras.{i}")
                      for k, (x, y) in enumerate(pts)]
    tree = shapely.STRtree(b.geometry.values) if len(b) else None
    cams, notes, seen = [], [], set()
    for c in specs:
        if c.spec.id in seen:
            raise InputError(f"duplicate camera id {c.spec.id!r}", file=c.source, field=f"{c.field}.id")
        seen.add(c.spec.id)
        cam, n = place_camera(c.spec, frame=frame, ground_at=ground_at, footprints=tree,
                              footprint_geoms=b.geometry.values if len(b) else None, scene_bounds=bounds,
                              default_range_m=sc.analysis.max_range_m, source=c.source, field=c.field,
                              defaults_used=c.defaults_used)
        cams.append(cam)
        notes += n
    return cams, notes
