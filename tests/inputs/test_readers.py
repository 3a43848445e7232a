"""Readers on the real files in ../shared/geodata; expected counts come from each folder's SOURCE.txt."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from simulator.build.buildings import resolve_heights, use_class
from simulator.build.osm_tags import camera_specs_from_osm, parse_direction, parse_number
from simulator.errors import InputError
from simulator.inputs.citygml import read_citygml
from simulator.inputs.cityjson import read_cityjson
from simulator.inputs.dem import read_dem
from simulator.inputs.osm import read_osm

# SOURCE.txt: "Files (windows/doors): 4018106 (32/1), 4018133 (16/3), ..."
INGOLSTADT = {"4018106": (32, 1), "4018133": (16, 3), "4018148": (7, 2), "4018149a": (24, 3), "4018155": (16, 1),
              "4018194": (5, 0), "4018208": (7, 4), "4018259": (12, 1), "4018266": (8, 0), "4018302": (16, 0)}


@pytest.mark.parametrize("name", sorted(INGOLSTADT))
def test_citygml_lod3_yields_exactly_its_windows_and_doors(geodata, name):
    m = read_citygml(geodata / "ingolstadt_lod3" / f"{name}.xml")
    kinds = [o.kind for o in m.openings]
    assert (kinds.count("window"), kinds.count("door")) == INGOLSTADT[name]
    assert m.crs == CRS.from_epsg(32632)
    assert len({o.id for o in m.openings}) == len(m.openings)
    assert m.buildings[0].measured_height > 0


def test_citygml_lod2_attributes(geodata):
    sx = read_citygml(geodata / "citygml_lod2" / "sachsen.gml")
    # SOURCE.txt: 17 Building + 3 BuildingPart, EPSG:25833, storeysAboveGround 1..4, measuredHeight 2.8..12.0
    assert sx.crs == CRS.from_epsg(25833)
    storeys = [b.storeys for b in sx.buildings if b.storeys is not None]
    assert min(storeys) >= 1 and max(storeys) == 4
    heights = [b.measured_height for b in sx.buildings if b.measured_height]
    assert 2.7 <= min(heights) and max(heights) <= 12.1
    hh = read_citygml(geodata / "citygml_lod2" / "hamburg.xml")
    assert hh.crs == CRS.from_epsg(25832)  # urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH
    assert {b.function for b in hh.buildings} == {"51009_1610"}
    ch = read_citygml(geodata / "citygml_lod2" / "ch.gml")
    assert ch.crs == CRS.from_epsg(2056)
    assert sum(k == "wall" for b in ch.buildings for k, _ in b.surfaces) >= 118


@pytest.mark.parametrize(("name", "n_buildings", "epsg"), [
    ("rotterdam_subset.json", 16, None), ("delft.json", 160, 28992), ("zurich_subset_lod2.json", 161, 2056),
    ("3dbag_b2.city.json", 2, 28992), ("multi_lod.json", 10, None)])
def test_cityjson_buildings(geodata, name, n_buildings, epsg):
    m = read_cityjson(geodata / "cityjson_lod2" / name)
    # SOURCE.txt counts; zurich's 49 Buildings hold their geometry in their 161 BuildingParts and
    # 3dbag's 2 Buildings theirs in 2 parts
    assert len(m.buildings) == n_buildings
    assert (m.crs.to_epsg() if m.crs else None) == epsg
    assert all(b.surfaces for b in m.buildings)


def test_cityjson_window_door_semantics(tmp_path):
    # a hand-made CityJSON 2.0 cube 10 x 10 x 6 m whose south wall carries a window and a door surface
    v = [[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0], [0, 0, 6], [10, 0, 6], [10, 10, 6], [0, 10, 6],
         [2, 0, 1], [3, 0, 1], [3, 0, 2.5], [2, 0, 2.5], [5, 0, 0], [6, 0, 0], [6, 0, 2.1], [5, 0, 2.1]]
    doc = {"type": "CityJSON", "version": "2.0", "transform": {"scale": [0.001] * 3, "translate": [1000, 2000, 5]},
           "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
           "vertices": [[int(c * 1000) for c in p] for p in v],
           "CityObjects": {"b1": {"type": "Building", "attributes": {"measuredHeight": 6.0, "function": "1000"},
                                  "geometry": [{"type": "MultiSurface", "lod": "3", "boundaries": [
                                      [[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4], [8, 11, 10, 9]],
                                      [[8, 9, 10, 11]], [[12, 13, 14, 15]]],
                                      "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"},
                                                                 {"type": "WallSurface"}, {"type": "Window"},
                                                                 {"type": "Door"}],
                                                    "values": [0, 1, 2, 3, 4]}}]}}}
    p = tmp_path / "cube.city.json"
    p.write_text(json.dumps(doc))
    m = read_cityjson(p)
    assert sorted(o.kind for o in m.openings) == ["door", "window"]
    win = next(o for o in m.openings if o.kind == "window")
    # transform applied: x = 1000 + 2..3, z = 5 + 1..2.5
    r = win.polygons[0].rings[0]
    assert r[:, 0].min() == pytest.approx(1002) and r[:, 2].max() == pytest.approx(7.5)
    assert m.crs == CRS.from_epsg(28992)  # horizontal part of RD New + NAP
    assert m.buildings[0].function == "1000" and use_class(m.buildings[0].function) == "residential"


def test_osm_helsinki(geodata):
    d = read_osm(geodata / "helsinki_osm" / "Helsinki.osm.pbf")
    # SOURCE.txt: 433 building ways + 67 multipolygon relations, 221 man_made=surveillance nodes;
    # the extract is clipped, so some ways lack nodes: they are kept from the nodes present or dropped
    assert len(d.cameras) == 221
    assert 470 <= len(d.buildings) <= 500
    assert any(i.startswith("relation/") for i in d.buildings["id"])
    assert (d.buildings.get("osm:clipped") == "yes").sum() > 0
    assert d.notes and "clipped" in d.notes[0]
    assert d.buildings.geometry.is_valid.all()
    # building=apartments on a minority (SOURCE: 32)
    assert (d.buildings["building"] == "apartments").sum() >= 28
    assert len(d.streets) > 1000


def test_osm_monaco(geodata):
    d = read_osm(geodata / "monaco_osm" / "monaco-latest.osm.pbf")
    assert 1150 <= len(d.buildings) <= 1206  # SOURCE: 1,181 ways + 25 relations
    assert d.buildings["height"].notna().sum() >= 30  # SOURCE: 39 with height


def test_osm_truncated(tmp_path, geodata):
    raw = (geodata / "monaco_osm" / "monaco-latest.osm.pbf").read_bytes()
    p = tmp_path / "cut.osm.pbf"
    p.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(InputError, match="cut.osm.pbf"):
        read_osm(p)


@pytest.mark.parametrize(("value", "arcs"), [
    ("90", [(90.0, 90.0)]), ("NE", [(45.0, 45.0)]), ("SSW", [(202.5, 202.5)]), ("190-100", [(190.0, 100.0)]),
    ("80;200", [(80.0, 80.0), (200.0, 200.0)]), ("W-E", [(270.0, 90.0)]), ("370", [(10.0, 10.0)]),
    ("north-ish", None), ("", None)])
def test_camera_direction_forms(value, arcs):
    assert parse_direction(value) == arcs


def test_camera_tags():
    kw = {"fixed_model": "F", "ptz_model": "P", "mount_height_m": 5.0, "tilt_deg": -15.0}
    node = {"osm_id": "node/1", "lon": 6.1, "lat": 46.2}
    # camera:angle is degrees DOWN; camera:tilt is elevation (negative down): opposite signs
    a = camera_specs_from_osm({**node, "tags": {"camera:angle": "30", "camera:direction": "90"}}, **kw)
    t = camera_specs_from_osm({**node, "tags": {"camera:tilt": "-30", "camera:direction": "90"}}, **kw)
    assert a[0]["tilt_deg"] == t[0]["tilt_deg"] == -30.0
    assert a[0]["direction_deg"] == 90.0 and a[0]["kind"] == "fixed" and a[0]["model"] == "F"
    assert "height=5 m" in a[0]["defaults"] and "camera:type=fixed" in a[0]["defaults"]
    # indoor and guards are excluded; dome = PTZ; lists split; ranges become pan limits
    assert camera_specs_from_osm({**node, "tags": {"surveillance": "indoor"}}, **kw) == []
    assert camera_specs_from_osm({**node, "tags": {"surveillance:type": "guard"}}, **kw) == []
    dome = camera_specs_from_osm({**node, "tags": {"camera:type": "dome", "height": "4,5 m"}}, **kw)
    assert dome[0]["kind"] == "ptz" and dome[0]["model"] == "P" and dome[0]["mount_height_m"] == 4.5
    two = camera_specs_from_osm({**node, "tags": {"camera:direction": "80;200", "camera:type": "fixed"}}, **kw)
    assert [s["id"] for s in two] == ["node/1#1", "node/1#2"] and [s["direction_deg"] for s in two] == [80, 200]
    rng = camera_specs_from_osm({**node, "tags": {"camera:direction": "190-100"}}, **kw)
    assert rng[0]["pan_limits_deg"] == (190.0, 460.0)
    unknown = camera_specs_from_osm({**node, "tags": {}}, **kw)
    assert "direction_deg" not in unknown[0] and any("every direction" in d for d in unknown[0]["defaults"])
    assert parse_number("12 ft") == pytest.approx(3.6576) and parse_number("abc") is None


def test_real_osm_cameras_parse(geodata):
    d = json.loads((geodata / "osm_cameras_switzerland" / "ch_surveillance_overpass.json").read_text())
    els = d["elements"] if isinstance(d, dict) else d
    kw = {"fixed_model": "F", "ptz_model": "P", "mount_height_m": 5.0, "tilt_deg": -15.0}
    specs = [s for e in els for s in camera_specs_from_osm(
        {"osm_id": f"node/{e['id']}", "lon": e["lon"], "lat": e["lat"], "tags": e.get("tags", {})}, **kw)]
    indoor = sum(1 for e in els if e.get("tags", {}).get("surveillance") == "indoor")
    assert indoor == 116  # SOURCE.txt
    assert len({s["id"].split("#")[0] for s in specs}) <= len(els) - indoor
    with_dir = [s for s in specs if "direction_deg" in s or "pan_limits_deg" in s]
    assert len(with_dir) >= 400  # SOURCE: 497 nodes with camera:direction (some unreadable, some indoor)


def test_heights_and_use():
    h, src = resolve_heights(pd.Series([12.0, None, None, "15 m", -3]), pd.Series([None, 4, None, 2, None]),
                             storey_height_m=3.0, default_height_m=9.0)
    assert list(h) == [12.0, 12.0, 9.0, 15.0, 9.0]
    assert list(src) == ["measured", "levels", "default", "measured", "default"]
    assert [use_class(v) for v in ("apartments", "office", "yes", "31001_1000", "31001_1120", "31001_2000",
                                   "51009_1610", "31001_9998", None, "hotel")] == [
        "residential", "non_residential", "unknown", "residential", "mixed", "non_residential",
        "non_residential", "unknown", "unknown", "mixed"]


def test_dem_without_crs_needs_one(geodata):
    utm = CRS.from_epsg(32629)
    with pytest.raises(InputError, match="no CRS"):
        read_dem(geodata / "lisbon_dem" / "dem_lisbon.tif", scene_crs=utm)
    g = read_dem(geodata / "lisbon_dem" / "dem_lisbon.tif", scene_crs=utm, crs="EPSG:3763")
    # SOURCE.txt: values 0.0 .. 97.9 m; bilinear resampling stays within the range
    assert np.nanmin(g.z) >= -0.01 and np.nanmax(g.z) <= 97.95 and np.nanmax(g.z) > 80
    # Lisbon Baixa is at about 487 km E, 4285 km N in UTM 29N
    assert 480_000 < g.x0 < 495_000 and 4_280_000 < g.y0 < 4_290_000


def test_dem_amadora_reprojected(geodata):
    g = read_dem(geodata / "amadora" / "AmadoraCOPERNICUS_clip.tif", scene_crs=CRS.from_epsg(32629))
    assert np.nanmin(g.z) >= 6.0 and np.nanmax(g.z) <= 307.0  # SOURCE: 6.5 .. 306.8 m
    assert g.dx == pytest.approx(g.dy)


def test_polygon_footprint_helpers():
    from simulator.inputs.citymodel import Polygon3D, footprint_of
    sq = Polygon3D([np.array([[0, 0, 5], [0, 10, 5], [10, 10, 5], [10, 0, 5]], float)])
    assert footprint_of([("ground", sq)]).area == pytest.approx(100, rel=1e-3)
    assert sq.newell_normal() == pytest.approx([0, 0, -1])  # clockwise seen from above: faces down
    assert shapely.is_valid(footprint_of([("wall", sq)]))


def test_dem_without_crs_takes_the_scenarios(geodata):
    # the issue: "a file without CRS needs the scenario's crs" - the scenario-level crs is the fallback
    utm = CRS.from_epsg(3763)
    g = read_dem(geodata / "lisbon_dem" / "dem_lisbon.tif", scene_crs=utm, fallback_crs="EPSG:3763")
    # same CRS in and out: the SOURCE.txt bounds x -88285 .. -86285, y -106485 .. -105155 come back
    assert g.x0 == pytest.approx(-88285.0) and g.y0 == pytest.approx(-105155.0) and g.dx == pytest.approx(10.0)


def test_polygons_wkb_equals_shapely_iso_wkb():
    """The targets layer's WKB, laid out in numpy records by point count, against shapely's encoder;
    a polygon without points is an empty polygon."""
    import shapely

    from simulator.outputs.writers import polygons_wkb

    rng = np.random.default_rng(3)
    sizes = [5, 4, 7, 5, 0, 9, 5, 4]
    rings = [np.vstack([p, p[:1]]) for p in (rng.normal(size=(k - 1, 3)) * 100 for k in sizes if k)]
    xyz = np.vstack(rings)
    owner = np.repeat([i for i, k in enumerate(sizes) if k], [len(r) for r in rings])
    got = polygons_wkb(xyz, owner, len(sizes)).to_pylist()
    expected = [shapely.Polygon(rings.pop(0)) if k else shapely.from_wkt("POLYGON Z EMPTY") for k in sizes]
    assert got == list(shapely.to_wkb(np.array(expected, object), flavor="iso", output_dimension=3))
    back = shapely.from_wkb(got)
    assert all(shapely.equals_exact(a, b, tolerance=0) or (a.is_empty and b.is_empty)
               for a, b in zip(back, expected, strict=True))
    assert back[4].is_empty and shapely.get_coordinates(back[2], include_z=True).shape == (7, 3)


def test_geopackage_writes_skip_fsync_only_while_writing():
    """The GeoPackage layers are written with SQLite's fsync off (``without_fsync``); the setting
    is GDAL's process-wide one, so it must be back as it was afterwards, after a failure too."""
    import pyogrio

    from simulator.outputs.writers import without_fsync

    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    with without_fsync():
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") in ("OFF", False)  # pyogrio reads OFF as False
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == before
    with pytest.raises(ZeroDivisionError), without_fsync():
        1 / 0  # noqa: B018
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == before
