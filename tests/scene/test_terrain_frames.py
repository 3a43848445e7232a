"""Terrain occludes and carries buildings and cameras; azimuths are from true north."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Proj
from rasterio.transform import from_origin

import simulator
from simulator.frames import Frame, in_angular_range
from simulator.inputs.dem import DemGrid
from simulator.scene.terrain import Terrain
from tests.scenes import PTZ, X0, Y0, building, window_south, write_scenario


def test_terrain_interpolation_on_its_triangles():
    # nodes (cell centres) of a 2 x 2 grid: z00=0, z01=10, z10=20, z11=40, 10 m cells
    g = DemGrid(z=np.array([[0.0, 10.0], [20.0, 40.0]]), x0=0.0, y0=20.0, dx=10.0, dy=10.0)
    t = Terrain(g)
    # node (row 0, col 0) is at (5, 15); (0,1) at (15, 15); (1,0) at (5, 5); (1,1) at (15, 5)
    assert t.height_at(5, 15) == pytest.approx(0) and t.height_at(15, 5) == pytest.approx(40)
    # upper triangle (fu >= fv): z = z00 + fu (z01 - z00) + fv (z11 - z01); at fu=0.5, fv=0.25: 5 + 7.5
    assert t.height_at(10, 12.5) == pytest.approx(12.5)
    # lower triangle: z = z00 + fv (z10 - z00) + fu (z11 - z10); fu=0.25, fv=0.5: 10 + 5
    assert t.height_at(7.5, 10) == pytest.approx(15.0)
    tris = t.triangles()
    assert tris.shape == (2, 3, 3)
    # every triangle vertex lies on the interpolated surface
    v = tris.reshape(-1, 3)
    assert t.height_at(v[:, 0], v[:, 1]) == pytest.approx(v[:, 2])


def _ridge_dem(path, ridge_height: float):
    # 2 m DEM over local x -50..50, y -20..60: flat 0 except a 2 m-wide ridge at y = 10
    z = np.zeros((40, 50), np.float32)
    ys = 60 - (np.arange(40) + 0.5) * 2
    z[np.abs(ys - 10) < 1.5, :] = ridge_height
    with rasterio.open(path, "w", driver="GTiff", width=50, height=40, count=1, dtype="float32",
                       crs="EPSG:32629", transform=from_origin(X0 - 50, Y0 + 60, 2, 2)) as dst:
        dst.write(z, 1)


@pytest.mark.parametrize(("ridge", "seen"), [(0.0, True), (8.0, False)])
def test_terrain_occludes(tmp_path, ridge, seen):
    # a 1.5 m camera, a window 1..2 m above ground 20 m north; an 8 m ridge between them hides it
    _ridge_dem(tmp_path / "dem.tif", ridge)
    path = write_scenario(tmp_path, buildings=[building("B1", -10, 20, 10, 30, 10)],
                          openings=[window_south("W", "B1", 20.0, -0.5, 0.5, 1.0, 2.0)],
                          cameras=[{"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 1.5}],
                          terrain={"path": "dem.tif"})
    res = simulator.analyse(path)
    assert ("W" in set(res.exposures["target_id"])) is seen
    assert res.scene.cameras[0].z == pytest.approx(1.5)


def test_building_stands_on_terrain(tmp_path):
    # a uniform 100 m plateau: building base and camera are lifted by 100 m
    with rasterio.open(tmp_path / "dem.tif", "w", driver="GTiff", width=50, height=40, count=1, dtype="float32",
                       crs="EPSG:32629", transform=from_origin(X0 - 50, Y0 + 60, 2, 2)) as dst:
        dst.write(np.full((40, 50), 100.0, np.float32), 1)
    path = write_scenario(tmp_path, buildings=[building("B1", -10, 20, 10, 30, 10)],
                          cameras=[{"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 6}],
                          terrain={"path": "dem.tif"})
    scene = simulator.build_scene(simulator.load_scenario(path))
    b = scene.buildings.iloc[0]
    assert b.ground_z == pytest.approx(100.0) and b.roof_z == pytest.approx(110.0)
    assert scene.cameras[0].z == pytest.approx(106.0)


def test_true_north_offset_matches_pyproj_convergence():
    # UTM 29N, 200 km west of the central meridian at 38.7 N: convergence from PROJ's own factors
    frame = Frame(CRS.from_epsg(32629))
    x, y = 300000.0, 4290000.0
    lon, lat = frame.to_lonlat(x, y)
    gamma = Proj("EPSG:32629").get_factors(float(lon), float(lat)).meridian_convergence
    assert abs(float(frame.grid_north_offset_deg(x, y))) == pytest.approx(abs(gamma), abs=1e-3)
    assert abs(gamma) > 1.0  # large enough to matter
    # west of the central meridian (northern hemisphere) true north points east of grid north
    assert float(frame.grid_north_offset_deg(x, y)) > 0
    assert float(frame.grid_north_offset_deg(500000.0, y)) == pytest.approx(0.0, abs=1e-6)


def test_pan_limits_use_true_north(tmp_path):
    # 200 km west of the central meridian grid north is ~1.27 deg west of true north. A window due
    # grid-north at 20 m spans grid azimuth -1.1..1.1, i.e. true azimuth -2.4..-0.2. Pan limits [30, 90]
    # widen (half HFOV 30) to true 0..120: the window is outside by true north, inside by grid north.
    shift = X0 - 300000.0
    blds = [building("B1", -10 - shift, 20, 10 - shift, 30, 10)]
    w = window_south("W", "B1", 20.0, -0.5 - shift, 0.5 - shift, 1.0, 2.0)
    cam = {"id": "c", **PTZ, "x": -shift, "y": 0.0, "mount_height_m": 1.5, "pan_limits_deg": [30, 90]}
    res = simulator.analyse(write_scenario(tmp_path, buildings=blds, openings=[w], cameras=[cam]))
    assert "W" not in set(res.exposures["target_id"])
    cam["pan_limits_deg"] = [28, 90]  # widened: true -2..120 covers -2.4..-0.2 partly
    res = simulator.analyse(write_scenario(tmp_path / "b", buildings=blds, openings=[w], cameras=[cam]))
    row = res.exposures[res.exposures["target_id"] == "W"]
    assert 0 < row.iloc[0].visible_fraction < 1


def test_angular_range_wraps():
    a = np.array([350.0, 0.0, 10.0, 20.0, 180.0])
    assert in_angular_range(a, 330, 390).tolist() == [True, True, True, True, False]  # 330 -> 30
    assert in_angular_range(a, 330, 375).tolist() == [True, True, True, False, False]  # 330 -> 15
    assert in_angular_range(a, 0, 360).all()
    assert in_angular_range(a, 170, 190).tolist() == [False, False, False, False, True]
    assert math.isclose(float(np.degrees(np.arctan2(1, 1))), 45.0)
