"""Public-space coverage by DORI class, against areas derived by hand (rings of a disc; the shadow of a
tall block drawn with shapely), and its layers in results.gpkg."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import simulator
from simulator.cli import main
from simulator.engine.coverage import camera_coverage
from tests.scenes import X0, Y0, building, write_scenario

W, TELE = 1920, 20.0  # px, deg: a wide tele end, so that the DORI rings fall inside the range
CAM = {"id": "c", "kind": "ptz", "resolution_px": [W, 1080], "hfov_deg": [60.0, TELE], "x": 0.0, "y": 0.0,
       "mount_height_m": 11.6, "range_m": 100.0}


def ring_radius(px_per_m: float, dz: float) -> float:
    """Horizontal radius [m] where the 3D distance gives ``px_per_m`` for a camera dz above the point."""
    d = W / (2 * px_per_m * math.tan(math.radians(TELE) / 2))
    return math.sqrt(max(d * d - dz * dz, 0.0))


def test_open_ground_rings_by_dori_class(tmp_path):
    # one small non-residential building far outside the range: open, flat ground all around
    path = write_scenario(tmp_path, buildings=[building("far", 400, 400, 405, 405, 3.0, use="office")],
                          cameras=[CAM], coverage={"cell_m": 0.5, "height_m": 1.6})
    result = simulator.analyse(path)
    cov = result.coverage["c"]
    dz = 10.0
    edges = [0.0] + [ring_radius(p, dz) for p in (250, 125, 62.5, 25)]
    edges = [min(e, math.sqrt(100.0**2 - dz * dz)) for e in edges]
    for cls, (r0, r1) in zip(("identify", "recognise", "observe", "detect"), zip(edges, edges[1:], strict=False),
                             strict=True):
        expected = math.pi * (r1 * r1 - r0 * r0)
        assert cov.area_m2(cls) == pytest.approx(expected, rel=0.01), cls
    total = math.pi * (100.0**2 - dz * dz)
    assert cov.area_m2() == pytest.approx(total, rel=0.005)
    assert not cov.masked.any()  # nothing private: no masks
    assert result.summary()["cameras"][0]["coverage_m2"]["identify"] == pytest.approx(cov.area_m2("identify"))


def test_shadow_of_a_tall_block(tmp_path):
    # a 100 m block 30-50 m east, 10 m either side of the camera's east axis; camera 5 m up, range 100 m
    block = (30.0, -10.0, 50.0, 10.0)
    cam = {**CAM, "mount_height_m": 5.0}
    path = write_scenario(tmp_path, buildings=[building("B", *block, 100.0, use="office")], cameras=[cam],
                          coverage={"cell_m": 0.5, "height_m": 1.6})
    scene = simulator.build_scene(simulator.load_scenario(path))
    cov = camera_coverage(scene, scene.cameras[0])
    r_h = math.sqrt(100.0**2 - 3.4**2)
    disc = shapely.Point(X0, Y0).buffer(r_h, quad_segs=256)
    fp = shapely.box(X0 + block[0], Y0 + block[1], X0 + block[2], Y0 + block[3])
    # behind the block: the hull of the block and its two outer corners pushed far along their rays
    corners = [(block[0], block[1]), (block[0], block[3])]
    far = [(X0 + 10 * x, Y0 + 10 * y) for x, y in corners]
    shadow = shapely.MultiPoint([*shapely.get_coordinates(fp), *far]).convex_hull.difference(fp)
    expected = disc.difference(fp).difference(shadow).area
    assert cov.area_m2() == pytest.approx(expected, rel=0.005)
    # no covered cell lies in the footprint or the shadow
    x = (cov.ix + 0.5) * cov.cell_m
    y = (cov.iy + 0.5) * cov.cell_m
    assert not shapely.contains_xy(fp.union(shadow).buffer(-0.75), x, y).any()


def test_pan_limits_cut_the_disc(tmp_path):
    # a PTZ limited to pan 0-90 (north to east) with a 60 deg wide view reaches azimuths -30 .. 120
    cam = {**CAM, "pan_limits_deg": [0.0, 90.0]}
    path = write_scenario(tmp_path, buildings=[building("far", 400, 400, 405, 405, 3.0, use="office")],
                          cameras=[cam], coverage={"cell_m": 0.5})
    scene = simulator.build_scene(simulator.load_scenario(path))
    cov = camera_coverage(scene, scene.cameras[0])
    total = math.pi * (100.0**2 - 10.0**2)
    # grid north is true north here (UTM central meridian): 150 of 360 degrees
    assert cov.area_m2() == pytest.approx(total * 150 / 360, rel=0.01)


def test_coverage_layers_in_results_gpkg(tmp_path):
    out = tmp_path / "out"
    tutorial = Path(__file__).resolve().parents[2] / "scenarios" / "tutorial.yaml"
    assert main(["run", str(tutorial), "--out", str(out)]) == 0
    layer = gpd.read_file(out / "results.gpkg", layer="coverage")
    summary = json.loads((out / "summary.json").read_text())
    for cam in summary["cameras"]:
        mine = layer[layer["camera_id"] == cam["id"]]
        # dissolved polygons have exactly the area of their cells, and the cells add up to the summary
        assert np.allclose(mine.geometry.area, mine["area_m2"])
        for cls, area in cam["coverage_m2"].items():
            assert mine[mine["dori"] == cls]["area_m2"].sum() == pytest.approx(area)
        for cls, area in cam["coverage_after_masks_m2"].items():
            assert mine[(mine["dori"] == cls) & ~mine["masked"]]["area_m2"].sum() == pytest.approx(area)
    ident = gpd.read_file(out / "results.gpkg", layer="identify").set_index("when")
    assert ident.loc["after_masks", "area_m2"] <= ident.loc["before_masks", "area_m2"]
    # identify before masks: at least the largest single camera's identify area
    assert ident.loc["before_masks", "area_m2"] >= max(c["coverage_m2"]["identify"] for c in summary["cameras"])


def test_sensitive_places_are_private_targets(tmp_path):
    """A mapped toilet (a point in the open) becomes a 4 m square ground target seen by the camera; a
    changing room drawn over a non-residential building makes that building private (its facade counts)."""
    from tests.scenes import fc

    places = fc([{"type": "Feature", "properties": {"id": "wc-1", "amenity": "toilets"},
                  "geometry": {"type": "Point", "coordinates": [X0 + 20.0, Y0 + 0.0]}},
                 {"type": "Feature", "properties": {"id": "changing-1"},
                  "geometry": {"type": "Polygon", "coordinates": [[[X0 + 31, Y0 + 21], [X0 + 34, Y0 + 21],
                                                                   [X0 + 34, Y0 + 24], [X0 + 31, Y0 + 21]]]}}])
    (tmp_path / "places.geojson").write_text(json.dumps(places))
    cam = {**CAM, "mount_height_m": 6.0}
    path = write_scenario(tmp_path, buildings=[building("gym", 30, 20, 40, 30, 6.0, use="sports_hall")],
                          cameras=[cam], sensitive_places={"path": "places.geojson"})
    result = simulator.analyse(path)
    t = result.scene.targets
    wc = np.flatnonzero(t.id == "wc-1")
    assert len(wc) == 1 and t.kind[wc[0]] == "sensitive" and t.area[wc[0]] == pytest.approx(16.0)
    ex = result.exposures
    assert "wc-1" in set(ex["target_id"])
    gym = result.scene.buildings.set_index("id").loc["gym"]
    assert bool(gym["private"]) and (ex["building_id"] == "gym").any()
    # the sensitive place is masked like any other private target
    assert "wc-1" not in result.mask_plans["c"].residual_targets
    assert any("wc-1" in m.targets for m in result.mask_plans["c"].masks)


def test_identify_cells_are_the_union_of_every_cameras_identify_cells(tmp_path):
    """Two overlapping cameras: the union (each cell once, sorted) equals what np.unique on the rows
    gives, and its area is less than the sum of the two cameras' identify areas (they overlap)."""
    cams = [CAM, {**CAM, "id": "d", "x": 30.0}]
    path = write_scenario(tmp_path, buildings=[building("far", 400, 400, 405, 405, 3.0, use="office")],
                          cameras=cams, coverage={"cell_m": 1.0, "height_m": 1.6})
    result = simulator.analyse(path)
    cell, cells = result.identify_cells(after_masks=False)
    rows = np.vstack([np.column_stack([c.ix[c.dori == "identify"], c.iy[c.dori == "identify"]])
                      for c in result.coverage.values()])
    assert np.array_equal(cells, np.unique(rows, axis=0))
    both = sum(c.area_m2("identify") for c in result.coverage.values())
    assert 0 < len(cells) * cell**2 < both
