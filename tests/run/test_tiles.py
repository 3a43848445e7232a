"""Tiles: each camera works on the part of the scene within its reach. The parts hold what geometry
says they must (counted by hand), do not grow with the area, and give results identical to the whole
scene (exposures, mask plans, coverage, rays)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.inputs.dem import DemGrid
from simulator.run.tiles import plan_tiles, scene_part, terrain_part
from simulator.scene.terrain import Terrain
from tests.scenes import PTZ, X0, Y0, building, write_scenario

ROOT = Path(__file__).resolve().parents[2]


def assert_same(a: simulator.Result, b: simulator.Result) -> None:
    assert a.exposures.equals(b.exposures)
    assert a.stats["rays"] == b.stats["rays"] and a.stats["coverage_rays"] == b.stats["coverage_rays"]
    assert list(a.mask_plans) == list(b.mask_plans)
    for cid, p in a.mask_plans.items():
        q = b.mask_plans[cid]
        assert [m.targets for m in p.masks] == [m.targets for m in q.masks]
        assert all(np.array_equal(x.vertices, y.vertices) for x, y in zip(p.masks, q.masks, strict=True))
        assert np.array_equal(p.public_index, q.public_index) and p.residual_targets == q.residual_targets
    for cid, c in a.coverage.items():
        d = b.coverage[cid]
        assert np.array_equal(c.ix, d.ix) and np.array_equal(c.iy, d.iy) and np.array_equal(c.masked, d.masked)
        assert list(c.dori) == list(d.dori)
    assert a.summary()["cameras"] == b.summary()["cameras"]


def row_of_houses(tmp: Path, n: int, *, gap: float = 300.0) -> Path:
    """``n`` 10 x 10 m houses, 9 m high, every ``gap`` m along x; a PTZ camera 5 m south of each of
    the first two, range 100 m (so each camera reaches exactly one house)."""
    houses = [building(f"h{i}", i * gap, 0, i * gap + 10, 10, 9.0) for i in range(n)]
    cams = [{"id": f"c{i}", **PTZ, "x": i * gap + 5, "y": -5, "mount_height_m": 6, "range_m": 100}
            for i in range(min(n, 2))]
    return write_scenario(tmp, buildings=houses, cameras=cams, windows={"synthesize": True, "spacing_m": 3.0},
                          analysis={"max_range_m": 100, "sample_spacing_m": 0.5})


def test_a_part_holds_only_what_its_camera_can_reach(tmp_path):
    scene = simulator.build_scene(simulator.load_scenario(row_of_houses(tmp_path, 6)))
    (tile,) = plan_tiles(scene, ["c0"], 1000.0)
    assert tile.camera_ids == ("c0",)
    # the box: the camera +- its 100 m range
    assert tile.box == pytest.approx((X0 + 5 - 100, Y0 - 5 - 100, X0 + 5 + 100, Y0 - 5 + 100))
    part = scene_part(scene, tile.box, tile.camera_ids)
    h0 = np.flatnonzero(scene.targets.planes.building_id == "h0")
    assert len(h0) > 0 and len(scene.targets) == 6 * len(h0)  # the six houses are alike
    # exactly house h0's targets, in the scene's order, and their samples
    assert np.array_equal(part.target_map, h0)
    t = scene.targets
    assert np.array_equal(part.targets.samples, np.vstack([t.samples[t.offsets[i]:t.offsets[i + 1]] for i in h0]))
    # one flat-roofed box: 4 walls of 2 triangles and a roof of 2 (flat ground is not meshed)
    assert len(part.triangles) == 10 and len(scene.triangles) == 60
    assert list(part.buildings["id"]) == ["h0"] and [c.id for c in part.cameras] == ["c0"]
    assert np.array_equal(part.origin, scene.origin)


def test_parts_do_not_grow_with_the_area(tmp_path):
    sizes = {}
    for n in (3, 12):
        scene = simulator.build_scene(simulator.load_scenario(row_of_houses(tmp_path / str(n), n)))
        (tile,) = plan_tiles(scene, ["c1"], 1000.0)
        part = scene_part(scene, tile.box, tile.camera_ids)
        sizes[n] = (len(part.targets), len(part.targets.samples), len(part.triangles), len(scene.targets))
    assert sizes[3][:3] == sizes[12][:3]  # the part of the camera at house h1: the same
    assert sizes[12][3] == 4 * sizes[3][3]  # while the scene grew fourfold


def test_row_of_houses_tiled_identical_to_whole(tmp_path):
    scene = simulator.build_scene(simulator.load_scenario(row_of_houses(tmp_path, 4)))
    whole = simulator.analyse(scene)
    assert len(whole.exposures) > 0 and {"c0", "c1"} <= set(whole.exposures["camera_id"])
    tiles = plan_tiles(scene, ["c0", "c1"], 100.0)
    assert [t.camera_ids for t in tiles] == [("c0",), ("c1",)]
    assert_same(whole, simulator.analyse(scene, tile_m=100.0))


@pytest.mark.parametrize(("scenario", "tile_m", "n_cameras"), [
    ("ingolstadt-lod3.yaml", 60.0, None),  # 3D models with real windows; cameras over several tiles
    ("amadora.yaml", 600.0, 12),  # terrain (the DEM is cropped per part), streets, synthesized windows
])
def test_shipped_scenarios_tiled_identical_to_whole(scenario, tile_m, n_cameras):
    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / scenario))
    ids = [c.id for c in scene.cameras]
    if n_cameras:  # cameras spread over the area: every k-th
        ids = ids[:: max(1, len(ids) // n_cameras)][:n_cameras]
    assert len(plan_tiles(scene, ids, tile_m)) >= 3
    assert_same(simulator.analyse(scene, cameras=ids), simulator.analyse(scene, cameras=ids, tile_m=tile_m))


def test_camera_far_from_everything_gets_an_empty_part(tmp_path):
    houses = [building("h0", 0, 0, 10, 10, 9.0)]
    cams = [{"id": "lonely", **PTZ, "x": 5000, "y": 5000, "mount_height_m": 6, "range_m": 100},
            {"id": "near", **PTZ, "x": 5, "y": -5, "mount_height_m": 6, "range_m": 100}]
    path = write_scenario(tmp_path, buildings=houses, cameras=cams, windows={"synthesize": True})
    scene = simulator.build_scene(simulator.load_scenario(path))
    tiles = {t.camera_ids: t for t in plan_tiles(scene, ["lonely", "near"], 500.0)}
    part = scene_part(scene, tiles[("lonely",)].box, ["lonely"])
    assert len(part.targets) == 0 and len(part.triangles) == 0 and len(part.buildings) == 0
    assert_same(simulator.analyse(scene), simulator.analyse(scene, tile_m=500.0))


def test_cameras_on_a_tile_edge_go_to_the_tile_east_and_north_of_it(tmp_path):
    path = write_scenario(tmp_path, buildings=[building("h0", 0, 0, 10, 10, 9.0)], cameras=[
        {"id": "a", **PTZ, "x": -1, "y": -1, "mount_height_m": 6},
        {"id": "b", **PTZ, "x": 0, "y": 0, "mount_height_m": 6}])
    scene = simulator.build_scene(simulator.load_scenario(path))
    # X0 = 500000 and Y0 = 4290000 are multiples of 100: the local origin is a tile corner
    tiles = plan_tiles(scene, ["a", "b"], 100.0)
    assert [(t.key, t.camera_ids) for t in tiles] == [((4999, 42899), ("a",)), ((5000, 42900), ("b",))]


def test_cropped_terrain_keeps_every_height_inside_the_box():
    rng = np.random.default_rng(3)
    z = rng.uniform(50, 150, (40, 50))
    z[5, 7] = np.nan  # a hole: filled with the whole grid's mean, as on the whole scene
    terrain = Terrain(DemGrid(z, 1000.0, 2000.0, 25.0, 25.0))
    box = (1200.0, 1300.0, 1700.0, 1900.0)
    part = terrain_part(terrain, box)
    assert part.grid is not None and part.grid.z.size < z.size / 2
    x = rng.uniform(box[0], box[2], 5000)
    y = rng.uniform(box[1], box[3], 5000)
    assert np.array_equal(part.height_at(x, y), terrain.height_at(x, y))
    x0, y0 = np.array([1000.0 + 7.5 * 25]), np.array([2000.0 - 5.5 * 25])  # the filled node itself
    full = Terrain(DemGrid(z, 1000.0, 2000.0, 25.0, 25.0))
    h = terrain_part(full, (x0[0] - 30, y0[0] - 30, x0[0] + 30, y0[0] + 30)).height_at(x0, y0)[0]
    assert h == full.height_at(x0, y0)[0] and h == pytest.approx(np.nanmean(z), abs=1e-9)


def test_a_part_travels_without_its_ray_engine(tmp_path):
    scene = simulator.build_scene(simulator.load_scenario(row_of_houses(tmp_path, 3)))
    (tile,) = plan_tiles(scene, ["c0"], 1000.0)
    part = scene_part(scene, tile.box, tile.camera_ids)
    from simulator.run.camera import camera_result

    before = camera_result(part, part.cameras[0])
    assert "engine" in part.__dict__ and "target_index" in part.__dict__
    copy = pickle.loads(pickle.dumps(part))
    assert "engine" not in copy.__dict__ and "target_index" not in copy.__dict__
    after = camera_result(copy, copy.cameras[0])
    assert before.exposures.equals(after.exposures) and before.rays == after.rays > 0
