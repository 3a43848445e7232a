"""Hand-derived geometry: windows in view, hidden, half hidden, facing away, out of range, outside pan
limits; a courtyard seen partly from a mast; pixel density against the formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from simulator.engine.exposure import dori_class
from tests.scenes import PTZ, building, window_south, write_scenario

# B1: a residential block x -10..10, y 20..30, 10 m high; window W on its south face (y = 20),
# x -0.5..0.5, z 1..2 -> 4 x 4 samples at 0.25 m spacing, cell-centred at +-0.125, +-0.375 (x) and
# 1.125 .. 1.875 (z), on the wall (y = 20): a line of sight stops 2 cm short of it, along the ray.
B1 = building("B1", -10, 20, 10, 30, 10)
W = window_south("W", "B1", 20.0, -0.5, 0.5, 1.0, 2.0)
CAM = {"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 1.5}


def window_row(tmp_path, *, buildings, cameras, openings=(W,), **kw):
    res = simulator.analyse(write_scenario(tmp_path, buildings=buildings, openings=list(openings),
                                           cameras=cameras, **kw))
    ex = res.exposures
    return ex[ex["target_id"] == "W"], res


def test_window_in_plain_view(tmp_path):
    row, _ = window_row(tmp_path, buildings=[B1], cameras=[CAM])
    assert len(row) == 1
    r = row.iloc[0]
    assert r.visible_fraction == 1.0
    # nearest sample: x = +-0.125, z = 1.375 or 1.625 (0.125 from the lens height), y = 20
    d = math.sqrt(0.125**2 + 20.0**2 + 0.125**2)
    assert r.distance_m == pytest.approx(d, abs=1e-6)
    # pixel density at the tele end: W / (2 d tan(hfov_tele / 2))
    assert r.max_px_per_m == pytest.approx(1920 / (2 * d * math.tan(math.radians(1.0))), rel=1e-9)
    assert r.dori == "identify"  # ~2750 px/m
    assert r.target_kind == "window" and r.building_id == "B1"


def test_window_fully_hidden_by_another_building(tmp_path):
    # B2 x -3..3, y 8..10, 10 m high: every sight line to W (|x| <= 0.2 at y <= 10, z <= 2) crosses it
    row, _ = window_row(tmp_path, buildings=[B1, building("B2", -3, 8, 3, 10, 10, "office")], cameras=[CAM])
    assert row.empty


def test_window_half_hidden(tmp_path):
    # B2 x -5..0: a sight line to a sample at x = s crosses y = 8..10 at x = s * y / 20; samples with
    # s < 0 pass through B2 (hidden), s > 0 pass east of it: 8 of 16 samples visible.
    row, _ = window_row(tmp_path, buildings=[B1, building("B2", -5, 8, 0, 10, 10, "office")], cameras=[CAM])
    assert row.iloc[0].visible_fraction == 0.5
    # the two middle columns (x -0.25 .. 0 and 0 .. 0.25) meet the edge of what is seen and are refined
    # at 5 x 5 points (0.05 m apart): the nearest visible one is x = 0.025, z = 1.475 or 1.525
    assert row.iloc[0].distance_m == pytest.approx(math.sqrt(0.025**2 + 20.0**2 + 0.025**2), abs=1e-6)


def test_window_facing_away(tmp_path):
    # the same window on B1's north face (y = 30) faces north, away from the camera in the south
    w = window_south("W", "B1", 30.0, -0.5, 0.5, 1.0, 2.0)
    row, res = window_row(tmp_path, buildings=[B1], cameras=[CAM], openings=[w])
    assert row.empty
    t = res.scene.targets
    assert t.planes.N[list(t.id).index("W")] == pytest.approx([0, 1, 0])


def test_window_facing_away_without_occluder_is_backface_culled(tmp_path):
    # a window whose building is elsewhere: only the back-face rule can hide it. Its normal is set by
    # the footprint of its building B1 (x -10..10, y 20..30): a window at y = 20 belongs to the south face.
    cam_north = {**CAM, "y": 40.0}  # north of B1: B1 itself stands between, and the window faces south
    row, res = window_row(tmp_path, buildings=[B1], cameras=[cam_north])
    assert row.empty
    # only B1's north facade (20 x 10 m, 1 m samples) faces the camera: 200 rays, and 60 probes just
    # inside its border (20 + 20 + 10 + 10 border cells, all seen: nothing refined); the window's 16
    # samples and the other three facades are culled by the back-face rule before any ray is cast
    assert res.stats["rays"] == 260


@pytest.mark.parametrize(("range_m", "seen"), [(19.9, False), (20.5, True)])
def test_window_out_of_range(tmp_path, range_m, seen):
    # farthest sample is sqrt(0.375^2 + 19.95^2 + 0.375^2) = 19.957 m, nearest 19.951 m
    row, _ = window_row(tmp_path, buildings=[B1], cameras=[{**CAM, "range_m": range_m}])
    assert (len(row) == 1) is seen


@pytest.mark.parametrize(("pan", "seen"), [
    ((90.0, 180.0), False),   # reach widened by half the wide HFOV (30 deg): 60..210, north excluded
    ((40.0, 90.0), False),    # 10..120: the window lies at azimuth -1.1..1.1 deg
    ((20.0, 90.0), True),     # -10..120 includes it
    ((330.0, 30.0), True),    # wraps through north
])
def test_window_pan_limits(tmp_path, pan, seen):
    row, _ = window_row(tmp_path, buildings=[B1], cameras=[{**CAM, "pan_limits_deg": list(pan)}])
    assert (len(row) == 1) is seen


@pytest.mark.parametrize(("tilt_max", "fraction"), [(-40.0, 0.0), (-18.0, 0.5), (-15.0, 1.0)])
def test_tilt_limits(tmp_path, tilt_max, fraction):
    # Sample rows sit at z = 1.125, 1.375, 1.625, 1.875 for a lens at 1.5 m, ~19.95 m away: elevations
    # -1.08, -0.36, +0.36, +1.08 deg. The reach tops out at tilt_max + half the wide VFOV, where
    # VFOV/2 = atan(tan(30 deg) * 1080 / 1920) = 17.99 deg: -40 -> -22.0 (none), -18 -> -0.008
    # (the two lower rows: 0.5), -15 -> +2.99 (all).
    vfov_half = math.degrees(math.atan(math.tan(math.radians(30)) * 1080 / 1920))
    assert vfov_half == pytest.approx(17.99, abs=0.01)
    row, _ = window_row(tmp_path, buildings=[B1], cameras=[{**CAM, "tilt_limits_deg": [-90, tilt_max]}])
    if fraction == 0.0:
        assert row.empty
    else:
        assert row.iloc[0].visible_fraction == fraction


def test_fixed_camera_frustum(tmp_path):
    # a fixed 100 deg camera looking east does not see a window due north; looking north it does
    fixed = {"id": "f", "kind": "fixed", "resolution_px": [1920, 1080], "hfov_deg": [100.0, 100.0],
             "x": 0.0, "y": 0.0, "mount_height_m": 1.5, "tilt_deg": 0.0}
    row, _ = window_row(tmp_path, buildings=[B1], cameras=[{**fixed, "direction_deg": 90.0}])
    assert row.empty
    row, _ = window_row(tmp_path, buildings=[B1], cameras=[{**fixed, "direction_deg": 0.0}])
    r = row.iloc[0]
    assert r.visible_fraction == 1.0
    d = math.sqrt(0.125**2 + 20.0**2 + 0.125**2)
    assert r.max_px_per_m == pytest.approx(1920 / (2 * d * math.tan(math.radians(50.0))), rel=1e-9)
    # 1920 / (2 * 19.95 * 1.19) = 40.4 px/m: detect class
    assert r.dori == "detect"


def test_courtyard_seen_partly_from_mast(tmp_path):
    # A 40 x 40 m residential block (x 0..40, y 0..40), 10 m high, with a 20 x 20 m courtyard hole
    # (x 10..30, y 10..30). A mast at (-30, 20), 50 m high. A courtyard sample at (x, y, 0.1) is seen iff
    # the sight line clears the inner west wall's top (x = 10, z = 10): it crosses x = 10 at fraction
    # 40 / (x + 30) of its length, at height 50 - 49.9 * 40 / (x + 30) >= 10  <=>  x >= 19.9.
    # Samples every 1 m, cell-centred: x = 10.5 .. 29.5 (20 columns); x >= 19.9 keeps 10 columns. The
    # true share is (30 - 19.9) / 20 = 0.505; the column x = 19.5 .. 20.5, refined, holds the edge.
    blk = building("K", 0, 0, 40, 40, 10, holes=[(10, 10, 30, 30)])
    path = write_scenario(tmp_path, buildings=[blk], cameras=[{"id": "mast", **PTZ, "x": -30.0, "y": 20.0,
                                                               "mount_height_m": 50.0}])
    res = simulator.analyse(path)
    ex = res.exposures
    court = ex[ex["target_kind"] == "courtyard"]
    assert len(court) == 1
    r = court.iloc[0]
    assert r.visible_samples == 200 and r.samples == 400
    assert abs(r.visible_fraction - 0.505) <= r.visible_fraction_error + 1e-9
    assert r.visible_fraction_error <= 0.01
    assert r.building_id == "K"
    t = res.scene.targets
    ci = list(t.kind).index("courtyard")
    assert t.area[ci] == pytest.approx(400.0)
    assert np.diff(t.offsets)[ci] == 400


def test_non_residential_building_has_no_targets(tmp_path):
    path = write_scenario(tmp_path, buildings=[building("O", -10, 20, 10, 30, 10, "office")],
                          cameras=[CAM], windows={"synthesize": True})
    res = simulator.analyse(path)
    assert len(res.scene.targets) == 0
    assert res.exposures.empty


def test_unknown_use_counts_as_residential_unless_told(tmp_path):
    b = building("U", -10, 20, 10, 30, 10, "yes")
    res = simulator.analyse(write_scenario(tmp_path / "a", buildings=[b], cameras=[CAM]))
    assert (res.scene.targets.kind == "facade").sum() == 4
    res = simulator.analyse(write_scenario(tmp_path / "b", buildings=[{**b}], cameras=[CAM],
                                           building_opts={"unknown_use": "non_residential"}))
    assert len(res.scene.targets) == 0


def test_dori_classes():
    th = {"detect": 25, "observe": 62.5, "recognise": 125, "identify": 250}
    got = dori_class(np.array([10, 25, 62.4, 62.5, 124.9, 125, 249.99, 250, 1e4]), th)
    assert list(got) == ["none", "detect", "detect", "observe", "observe", "recognise", "recognise",
                         "identify", "identify"]


@pytest.mark.parametrize("incidence_deg", [60.0, 80.0, 85.0, 89.0])
def test_grazing_rule_and_foreshortened_density_by_hand(tmp_path, incidence_deg):
    """Window G 1.2 x 1.4 m on B1's south face (x -0.6 .. 0.6, z 1 .. 2.4, y = 20) behind a 0.2 m
    reveal, seen from 30 m at ``incidence_deg`` from its normal, from the west, the lens at 1.35 m.
    By hand: 5 x 6 cells (0.24 x 0.2333 m; at most 0.25 m), centres x = -0.48 .. 0.48 and
    z = 1.1167, 1.35, ... The inside shows through (1 - 0.2 |dx| / (1.2 dy))+ (1 - 0.2 |dz| / (1.4 dy))+
    of the opening, best at the sample nearest the camera at lens height (dz = 0): x = -0.48, so at
    60 deg 0.71 and at 80 deg 0.07 of it (seen into); at 85 and 89 deg the reveal hides it all (not
    seen into, and no mask is made for it). Frontal density: 1920 / (2 d tan 1 deg) at the nearest
    sample; foreshortened: the largest of that times cos(incidence) over the samples."""
    th = math.radians(incidence_deg)
    cx, cy = -30.0 * math.sin(th), 20.0 - 30.0 * math.cos(th)
    g = window_south("G", "B1", 20.0, -0.6, 0.6, 1.0, 2.4)
    cam = {**CAM, "x": cx, "y": cy, "mount_height_m": 1.35}
    res = simulator.analyse(write_scenario(tmp_path, buildings=[B1], openings=[g], cameras=[cam],
                                           analysis={"reveal_depth_m": 0.2}))
    ex = res.exposures
    r = ex[ex["target_id"] == "G"].iloc[0]
    xs = -0.6 + (np.arange(5) + 0.5) * 0.24
    zs = 1.0 + (np.arange(6) + 0.5) * (1.4 / 6)
    X, Z = np.meshgrid(xs, zs)
    dx, dy, dz = X - cx, 20.0 - cy, Z - 1.35
    d = np.sqrt(dx**2 + dy**2 + dz**2)
    share = np.clip(1 - 0.2 * np.abs(dx) / (1.2 * dy), 0, 1) * np.clip(1 - 0.2 * np.abs(dz) / (1.4 * dy), 0, 1)
    assert share.max() == pytest.approx(np.clip(1 - 0.2 * (-0.48 - cx) / (1.2 * dy), 0, 1), abs=1e-12)
    assert r.through_share == pytest.approx(share.max(), abs=1e-9)
    assert bool(r.seen_into) == (incidence_deg <= 80.0)
    if incidence_deg == 60.0:
        assert r.through_share == pytest.approx(0.71, abs=0.01)
    if incidence_deg == 80.0:
        assert r.through_share == pytest.approx(0.07, abs=0.005)
    px = 1920 / (2 * d * math.tan(math.radians(1.0)))
    # frontal density at the nearest point seen: the samples and the probes 2 % of a cell inside the
    # border (on the border cells' rows and columns); all are seen, so nothing is refined
    probes = [(x, z) for x in (-0.6 + 0.02 * 0.24, 0.6 - 0.02 * 0.24) for z in zs] + \
        [(x, z) for z in (1.0 + 0.02 * 1.4 / 6, 2.4 - 0.02 * 1.4 / 6) for x in xs]
    d_probe = min(math.dist((x, 20.0, z), (cx, cy, 1.35)) for x, z in probes)
    near = min(float(d.min()), d_probe)
    assert r.max_px_per_m == pytest.approx(1920 / (2 * near * math.tan(math.radians(1.0))), rel=1e-9)
    assert r.max_px_per_m_foreshortened == pytest.approx((px * dy / d).max(), rel=1e-9)
    assert r.incidence_deg == pytest.approx(math.degrees(math.acos(dy / d.min())), abs=1e-6)
    plan = res.mask_plans["c"]
    assert any("G" in m.targets for m in plan.masks) == bool(r.seen_into)


def test_density_basis_and_2025_levels(tmp_path):
    """The same window seen at 80 deg from 30 m: frontal 1920 / (2 x 30 x tan 1 deg) = 1,833 px/m at
    its centre, 1,870 at the nearest point seen (the west border probe, x = -0.595 at lens height,
    29.41 m; identify; IEC 2025 scrutinise, >= 1500),
    foreshortened 1,833 x cos 80 deg = 318 px/m at the centre, up to 330 at the nearest column
    (identify still, >= 250; 2025 characterise, 250 .. 500); with ``density_basis: foreshortened``
    the classes follow the foreshortened density."""
    th = math.radians(80.0)
    cam = {**CAM, "x": -30.0 * math.sin(th), "y": 20.0 - 30.0 * math.cos(th), "mount_height_m": 1.35}
    g = window_south("G", "B1", 20.0, -0.6, 0.6, 1.0, 2.4)
    rows = {}
    for basis in ("frontal", "foreshortened"):
        res = simulator.analyse(write_scenario(tmp_path / basis, buildings=[B1], openings=[g], cameras=[cam],
                                               analysis={"density_basis": basis}))
        rows[basis] = res.exposures.set_index("target_id").loc["G"]
    f, s = rows["frontal"], rows["foreshortened"]
    assert f.max_px_per_m == pytest.approx(s.max_px_per_m) and f.max_px_per_m > 1500
    assert f.max_px_per_m == pytest.approx(1869.8, rel=0.001)
    assert 310 <= s.max_px_per_m_foreshortened <= 335
    assert f.iec_2025 == "scrutinise" and s.iec_2025 == "characterise"
    assert f.dori == "identify" and s.dori == "identify"


def test_visible_share_of_a_facade_behind_a_post_by_hand(tmp_path):
    """A facade 1.2 x 3 m (the south wall of a house x -0.6 .. 0.6, y 20 .. 26, 3 m high; no openings:
    the wall is the target), a camera 20 m south (x = 0, y = 0) and a post 0.2 m square at x 0.05 .. 0.25,
    y 9.9 .. 10.1, 12 m high (it hides every height). By hand its shadow on the wall spans x = 0.1 .. 0.5
    (twice the post's x: the wall is twice as far), so 0.8 of 1.2 m is seen: 2/3. The wall's 3 x 3
    cells (0.4 x 1 m) have centres x = -0.4, 0, 0.4: the middle and east columns meet the shadow's edges
    and are refined; the share is within the stated bound of 2/3, and the bound is small."""
    house = building("H", -0.6, 20, 0.6, 26, 3.0)
    post = building("P", 0.05, 9.9, 0.25, 10.1, 12.0, "office")
    res = simulator.analyse(write_scenario(tmp_path, buildings=[house, post],
                                           cameras=[{**CAM, "mount_height_m": 1.5}],
                                           analysis={"surface_sample_spacing_m": 1.0}))
    ex = res.exposures
    t = res.scene.targets
    south = [i for i in range(len(t)) if t.kind[i] == "facade" and t.planes.N[i] @ [0, -1, 0] > 0.99
             and t.planes.building_id[i] == "H"]
    (ti,) = south
    r = ex[ex["target"] == ti].iloc[0]
    assert r.visible_samples == 6 and r.samples == 9  # the coarse samples: east column hidden
    assert abs(r.visible_fraction - 2 / 3) <= r.visible_fraction_error + 1e-9
    assert 0 < r.visible_fraction_error <= 0.12


def test_a_facade_seen_through_a_04_m_gap_by_hand(tmp_path):
    """A wall 4 m wide (x 0 .. 4, y 20, 3 m high; 1 m cells, centres x = 0.5 .. 3.5) seen from x = 1.5,
    y = 0 through a 0.202 m gap (x 1.349 .. 1.551) in a 10 m high fence at y = 10 .. 10.1: at twice
    the distance the gap shows a strip 0.4 m wide (by hand below: the fence's far face bounds it,
    x = 1.5 + (edge - 1.5) x 20 / 10.1: 1.2 .. 1.6). Coarse samples say 1/4 (one column of four seen,
    inflated 2.5-fold); the refined share is the strip's, 0.4 / 4 = 0.1 of the wall, within the
    stated bound."""
    wall = building("H", 0.0, 20, 4.0, 26, 3.0)
    fence_w = building("F1", -6.0, 10.0, 1.349, 10.1, 10.0, "office")
    fence_e = building("F2", 1.551, 10.0, 8.0, 10.1, 10.0, "office")
    cam = {**CAM, "x": 1.5, "y": 0.0, "mount_height_m": 1.5}
    res = simulator.analyse(write_scenario(tmp_path, buildings=[wall, fence_w, fence_e], cameras=[cam],
                                           analysis={"surface_sample_spacing_m": 1.0}))
    t = res.scene.targets
    (ti,) = [i for i in range(len(t)) if t.kind[i] == "facade" and t.planes.N[i] @ [0, -1, 0] > 0.99
             and t.planes.building_id[i] == "H"]
    r = res.exposures.set_index("target").loc[ti]
    # the strip: sight lines through the gap's edges. West edge: the ray through (1.45, 10.1) (the
    # fence's far face bounds it) reaches y = 20 at x = 1.5 - 0.05 * 20 / 10.1; east: through (1.55, 10.1)
    x0, x1 = 1.5 + (1.349 - 1.5) * 20 / 10.1, 1.5 + (1.551 - 1.5) * 20 / 10.1
    assert x1 - x0 == pytest.approx(0.4, abs=1e-3)
    true = (x1 - x0) / 4.0
    assert r.visible_samples == 3 and r.samples == 12  # coarse: the column at x = 1.5, 3 of 12 samples
    assert abs(r.visible_fraction - true) <= r.visible_fraction_error + 1e-9
    assert r.visible_fraction == pytest.approx(0.1, abs=0.03) and r.visible_fraction_error <= 0.05 + 1e-9


def test_a_strip_hidden_at_a_targets_edge_is_within_the_bound(tmp_path):
    """A wall 4 m wide (x 0 .. 4 at y = 20, 3 m high, 1 m cells) seen from x = 0, y = 0; a fence at
    y = 10 .. 10.1 reaching to x = 0.015 hides the wall's strip x < 0.015 x 20 / 10 = 0.03 (its near
    face bounds it: 0.015 x 20 / 10 = 0.03 m). Every sample and every refined point is seen; only the
    probes 2 cm inside the west edge are not. By hand the true share is 1 - 0.03 / 4 = 0.9925, and
    the stated bound holds it."""
    wall = building("H", 0.0, 20, 4.0, 26, 3.0)
    fence = building("F", -6.0, 10.0, 0.015, 10.1, 10.0, "office")
    cam = {**CAM, "x": 0.0, "y": 0.0, "mount_height_m": 1.5}
    res = simulator.analyse(write_scenario(tmp_path, buildings=[wall, fence], cameras=[cam],
                                           analysis={"surface_sample_spacing_m": 1.0}))
    t = res.scene.targets
    (ti,) = [i for i in range(len(t)) if t.kind[i] == "facade" and t.planes.N[i] @ [0, -1, 0] > 0.99
             and t.planes.building_id[i] == "H"]
    r = res.exposures.set_index("target").loc[ti]
    assert r.visible_samples == r.samples == 12
    assert abs(r.visible_fraction - (1 - 0.03 / 4)) <= r.visible_fraction_error + 1e-9
    assert 0 < r.visible_fraction_error <= 0.05
