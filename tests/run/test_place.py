"""``simulator place``: choices worked out by hand on open ground, the privacy tie-break, the written
scenario run again, and bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import simulator
from simulator.build.cameras import place_on_scene
from simulator.run.place import propose
from tests.scenes import X0, Y0, building, fc, window_south, write_scenario

ROOT = Path(__file__).resolve().parents[2]
MODEL = "bosch-mic-ip-starlight-7100i"  # tele end 2.1 deg on 1920 px: identify (250 px/m) out to 1.4 km
RANGE_M, MOUNT_M, FACE_M, CELL_M = 20.0, 6.0, 1.6, 1.0


def square(x0: float, y0: float, x1: float, y1: float, level: str, name: str) -> dict:
    ring = [[X0 + x0, Y0 + y0], [X0 + x1, Y0 + y0], [X0 + x1, Y0 + y1], [X0 + x0, Y0 + y1], [X0 + x0, Y0 + y0]]
    return {"type": "Feature", "properties": {"id": name, "level": level},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def point(pid: str, x: float, y: float) -> dict:
    return {"type": "Feature", "properties": {"id": pid},
            "geometry": {"type": "Point", "coordinates": [X0 + x, Y0 + y]}}


def scenario(tmp: Path, *, areas: list[dict], points: list[tuple[str, float, float]],
             buildings: list[dict] | None = None, openings: list[dict] | None = None,
             budget: int = 2, **extra: object) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "watch.geojson").write_text(json.dumps(fc(areas)))
    (tmp / "points.geojson").write_text(json.dumps(fc([point(*p) for p in points])))
    placement = {"budget": budget, "candidates": {"poles": None, "osm_mounts": False,
                                                  "points": {"path": "points.geojson"}, "mount_heights_m": [MOUNT_M],
                                                  "models": [MODEL]}}
    return write_scenario(tmp, buildings=buildings or [building("kiosk", 60, 40, 65, 45, 3.0, use="office")],
                          openings=openings, cameras=[], watch_areas={"path": "watch.geojson"}, placement=placement,
                          analysis={"max_range_m": RANGE_M}, coverage={"cell_m": CELL_M, "height_m": FACE_M}, **extra)


def cells_reached(centres: list[tuple[float, float]], box: tuple[float, float, float, float]) -> set[tuple[int, int]]:
    """The 1 m cells of ``box`` (local metres) whose centre, at face height, lies within the range of a
    camera MOUNT_M up at one of ``centres``: worked out from the geometry alone."""
    x0, y0, x1, y1 = box
    dz = MOUNT_M - FACE_M
    r_h2 = RANGE_M**2 - dz**2
    out = set()
    for ix in range(int(math.floor(X0 + x0)), int(math.ceil(X0 + x1))):
        for iy in range(int(math.floor(Y0 + y0)), int(math.ceil(Y0 + y1))):
            cx, cy = ix + 0.5, iy + 0.5
            if not (X0 + x0 <= cx <= X0 + x1 and Y0 + y0 <= cy <= Y0 + y1):
                continue
            if any((cx - X0 - a) ** 2 + (cy - Y0 - b) ** 2 <= r_h2 for a, b in centres):
                out.add((ix, iy))
    return out


def test_one_square_three_poles_best_pair_by_hand(tmp_path):
    # a 70 x 20 m square; poles at x = 20, 25 and 55 m on its centre line; reach 19.3 m on the ground
    # (20 m range, 4.4 m above a face). A (x=20) and B (x=25) each reach a full band of 38.6 m, C
    # (x=55) is cut by the square's end at 70 m: A and B alone reach the same; B with C overlaps them
    # over 5.7 m, A with C over 0.7 m: the best pair is A + C, and the greedy finds it (A first: the
    # tie with B goes to the lower index; then C, which adds more than B)
    box = (0.0, 0.0, 70.0, 20.0)
    poles = [("A", 20.0, 10.0), ("B", 25.0, 10.0), ("C", 55.0, 10.0)]
    path = scenario(tmp_path, areas=[square(*box, "recognise", "square")], points=poles)
    scene = simulator.build_scene(simulator.load_scenario(path))
    p = propose(scene, budget=2)
    sites = [p.candidates[i][1].id for i in p.chosen]
    assert sites == ["A", "C"]
    pairs = {(a, b): len(cells_reached([poles[a][1:], poles[b][1:]], box)) for a in range(3) for b in range(a + 1, 3)}
    assert max(pairs, key=pairs.get) == (0, 2)  # the best pair by hand
    assert p.choice.value == pytest.approx(pairs[(0, 2)] * CELL_M**2)
    assert p.choice.gains[0] == pytest.approx(len(cells_reached([poles[0][1:]], box)))
    assert p.choice.value <= p.choice.upper_bound
    assert p.watched_m2().sum() == pytest.approx(70 * 20)


def test_a_candidate_seeing_into_windows_loses_the_tie(tmp_path):
    # a 6 x 6 m square midway between two poles 30 m apart: its farthest corner lies 18.2 m from each,
    # within the 19.5 m reach, so each reaches all of it. North of pole Q (listed first) a house shows it
    # a window at 17 m; pole P, 47 m from it, sees no home
    box = (-3.0, 17.0, 3.0, 23.0)
    house = building("H", -10, 52, 10, 62, 9.0)
    window = window_south("H-w1", "H", 52.0, -1.0, 1.0, 3.0, 4.5)
    path = scenario(tmp_path, areas=[square(*box, "recognise", "square")], points=[("Q", 0.0, 35.0), ("P", 0.0, 5.0)],
                    buildings=[house, building("kiosk", 20, 18, 23, 21, 3.0, use="office")],
                    openings=[window], budget=1)
    scene = simulator.build_scene(simulator.load_scenario(path))
    p = propose(scene, budget=1)
    by_site = {p.candidates[i][1].id: o for i, o in enumerate(p.results)}
    assert by_site["Q"].seen_into >= 1 and by_site["P"].seen_into == 0
    assert set(by_site["Q"].reached.tolist()) == set(by_site["P"].reached.tolist())  # equal coverage
    assert len(by_site["P"].reached) == len(cells_reached([(0.0, 5.0)], box)) == 36
    assert [p.candidates[i][1].id for i in p.chosen] == ["P"]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def test_place_tutorial_writes_a_runnable_compliant_scenario(tmp_path):
    out = tmp_path / "placed"
    p = run("place", "scenarios/tutorial.yaml", "--out", str(out), "--budget", "3")
    assert p.returncode == 0, p.stderr
    data = json.loads((out / "placement.json").read_text())
    # no terminal: progress as lines, the last at the whole: the scenario's 3 cameras, the 9 candidates'
    # reach without masks, and the candidates analysed in full
    steps = [x for x in p.stderr.splitlines() if x.startswith("candidates: ")]
    n = 3 + 9 + data["candidates"]["analysed_in_full"]
    assert data["candidates"]["tried"] == 9 and steps[-1].startswith(f"candidates: {n} of {n} (100%) after ")
    assert "public street space" in data["watched"]["default"]  # the default is stated
    assert 1 <= len(data["chosen"]) <= 3
    gains = [c["marginal_gain_m2"] for c in data["chosen"]]
    assert gains == sorted(gains, reverse=True) and sum(gains) == pytest.approx(data["reached_m2"], abs=0.5)
    assert data["reached_m2"] <= data["upper_bound_m2"] + 1e-6 <= data["watched"]["total_m2"] + 1e-6
    html = (out / "placement.html").read_text()
    assert "<svg" in html and "marginal gain" in html
    run_out = tmp_path / "run"
    r = run("run", str(out / "scenario.yaml"), "--out", str(run_out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cams = json.loads((run_out / "summary.json").read_text())["cameras"]
    assert [c["id"] for c in cams] == [c["id"] for c in data["chosen"]]
    assert all(c["compliant"] for c in cams)


@pytest.mark.parametrize("case", ["no candidates", "outside", "level", "budget 0", "share", "model", "rays"])
def test_bad_placement_input(tmp_path, case):
    box = (45.0, 25.0, 60.0, 38.0)
    areas = [square(*box, "recognise", "square")]
    args: list[str] = []
    points = [("A", 50.0, 30.0)]
    if case == "outside":
        areas = [square(50_000, 50_000, 50_010, 50_010, "observe", "far away")]
    if case == "level":
        areas = [square(*box, "excellent", "square")]
    if case == "no candidates":
        points = []
    if case == "budget 0":
        args = ["--budget", "0"]
    if case == "share":
        args = ["--target-share", "1.5"]
    if case == "model":
        args = ["--model", "no-such-camera"]
    extra: dict = {}
    if case == "rays":  # a house with a window 10 m from the candidate; at most 10 rays allowed
        extra = {"buildings": [building("kiosk", 60, 40, 65, 45, 3.0, use="office"),
                               building("H", 45, 40, 55, 50, 9.0)],
                 "openings": [window_south("H-w1", "H", 40.0, 49.0, 51.0, 2.0, 4.0)], "limits": {"max_rays": 10}}
    path = scenario(tmp_path / "in", areas=areas, points=points, **extra)
    if case == "no candidates":
        data = yaml.safe_load(path.read_text())
        data["placement"]["candidates"]["points"] = None
        path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    p = run("place", str(path), "--out", str(out), *args)
    assert p.returncode == 2, p.stderr
    lines = [x for x in p.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    expect = {"no candidates": "placement.candidates", "outside": "outside the scene", "level": "excellent",
              "budget 0": "--budget", "share": "--target-share", "model": "no-such-camera",
              "rays": "limits.max_rays"}[case]
    assert expect in lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".out.staging-*"))


@pytest.mark.parametrize("identify_first", [False, True])
def test_watch_grid_levels_where_areas_overlap(tmp_path, identify_first):
    # two overlapping squares: the overlap needs the more demanding level (identify over observe),
    # whichever the layer lists first
    areas = [square(40, 20, 50, 30, "observe", "a"), square(45, 20, 55, 30, "identify", "b")]
    path = scenario(tmp_path, areas=areas[::-1] if identify_first else areas, points=[("A", 45.0, 25.0)])
    from simulator.build.placement import watch_grid

    g = watch_grid(simulator.build_scene(simulator.load_scenario(path)))
    cells = g.cells
    rows, cols = g.need.shape
    r, c = np.divmod(cells, cols)
    x = (c + g.ix0 + 0.5) * g.cell_m - X0
    need = g.need.ravel()[cells]
    assert len(cells) == 150
    assert set(need[x < 45].tolist()) == {2} and set(need[x > 45].tolist()) == {0}  # observe | identify


def test_same_proposal_in_one_process_on_processes_and_on_dask(tmp_path):
    box = (0.0, 0.0, 70.0, 20.0)
    poles = [("A", 20.0, 10.0), ("B", 25.0, 10.0), ("C", 55.0, 10.0), ("D", 62.0, 30.0)]
    path = scenario(tmp_path, areas=[square(*box, "recognise", "square")], points=poles, budget=3)
    scene = simulator.build_scene(simulator.load_scenario(path))
    one = propose(scene)
    many = propose(scene, processes=2)
    dask = propose(scene, workers=2)
    for other in (many, dask):
        assert other.chosen == one.chosen and other.choice.gains == one.choice.gains
        for a, b in zip(one.results, other.results, strict=True):
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert a.camera_id == b.camera_id and np.array_equal(np.sort(a.reached), np.sort(b.reached))
                assert (a.seen_into, a.masks, a.usable) == (b.seen_into, b.masks, b.usable)
        for x, y in zip(one.bounds, other.bounds, strict=True):
            assert np.array_equal(np.sort(x), np.sort(y))


@pytest.mark.parametrize("step", ["staged", "before-swap"])
def test_killed_place_leaves_the_previous_outputs(tmp_path, step):
    """A place killed (SIGKILL) before its outputs are swapped in leaves the previous ones, whole."""
    import os

    path = scenario(tmp_path / "in", areas=[square(0.0, 0.0, 70.0, 20.0, "recognise", "square")],
                    points=[("A", 20.0, 10.0), ("C", 55.0, 10.0)])
    out = tmp_path / "out"
    assert run("place", str(path), "--out", str(out), "--budget", "1").returncode == 0
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    env = {**os.environ, "SIMULATOR_KILL_AT": step}
    p = subprocess.run([sys.executable, "-m", "simulator.cli", "place", str(path), "--out", str(out), "--budget", "2"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert p.returncode == -9
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == first
    again = run("place", str(path), "--out", str(out), "--budget", "2")
    assert again.returncode == 0
    assert len(json.loads((out / "placement.json").read_text())["chosen"]) == 2
    assert not list(tmp_path.glob(".out.staging-*")) and not list(tmp_path.glob(".out.previous"))


def test_candidate_sites_by_hand(tmp_path):
    """Poles every 40 m along a 100 m street, 4 m off its centre line on alternate sides; brackets
    every 15 m around a 20 x 10 m office block, 0.3 m outside its walls; none on the house."""
    import shapely

    from simulator.build.placement import WALL_OFFSET_M, candidate_sites

    street = {"type": "Feature", "properties": {"id": "s1", "highway": "residential"},
              "geometry": {"type": "LineString", "coordinates": [[X0, Y0], [X0 + 100, Y0]]}}
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "s.geojson").write_text(json.dumps(fc([street])))
    office = building("O", 30, 20, 50, 30, 12.0, use="office")
    house = building("H", 60, 20, 80, 30, 9.0)
    path = scenario(tmp_path, areas=[square(0, -10, 100, 10, "observe", "street")], points=[],
                    buildings=[office, house], streets={"path": "s.geojson"})
    data = yaml.safe_load(path.read_text())
    data["placement"]["candidates"] = {"poles": {"spacing_m": 40, "setback_m": 4}, "osm_mounts": False,
                                       "facades": {"spacing_m": 15}, "mount_heights_m": [6]}
    path.write_text(yaml.safe_dump(data))
    scene = simulator.build_scene(simulator.load_scenario(path))
    sites = candidate_sites(scene)
    poles = sorted((round(s.x - X0, 6), round(s.y - Y0, 6)) for s in sites if s.source == "pole")
    assert poles == [(20.0, 4.0), (60.0, -4.0)]  # 20 and 60 m along (the next, 100 m, is the street's end)
    brackets = [s for s in sites if s.source == "facade"]
    assert len(brackets) == 4  # 60 m of wall, every 15 m from 7.5 m
    fp = shapely.box(X0 + 30, Y0 + 20, X0 + 50, Y0 + 30)
    for s in brackets:
        p = shapely.Point(s.x, s.y)
        assert not fp.contains(p) and fp.exterior.distance(p) == pytest.approx(WALL_OFFSET_M, abs=1e-9)
        assert s.max_height_m == 12.0


def test_a_level_no_candidate_can_give_is_refused_before_any_output(tmp_path):
    # identify (250 px/m) from a 100 deg fixed camera about 58 m away: 1920 px over 2 * 58 m * tan(50 deg)
    # gives 14 px/m, below even detect
    path = scenario(tmp_path / "in", areas=[square(40.0, 20.0, 44.0, 24.0, "identify", "far")],
                    points=[("A", 100.0, 22.0)])
    data = yaml.safe_load(path.read_text())
    data["placement"]["candidates"]["models"] = ["generic-bullet-2.8mm"]
    data["analysis"]["max_range_m"] = 200
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    p = run("place", str(path), "--out", str(out))
    assert p.returncode == 2 and "reaches any watched cell" in p.stderr and "Traceback" not in p.stderr
    assert not out.exists()


def canyon(tmp: Path) -> Path:
    """A street 12 m wide between two 40 m residential towers 100 m long, each wall with a window every
    4 m along and 3 m up (25 x 13 per wall), and one candidate pole on the street's centre line: seen
    from 6 m up, the windows span about 166 deg of azimuth and -40..+80 deg of elevation on either side,
    far more than 24 masks of a 58 x 33 deg wide view can frame."""
    towers = [building("N", -50, 6, 50, 16, 40.0), building("S", -50, -16, 50, -6, 40.0)]
    windows = []
    for k, x in enumerate(np.arange(-48.0, 50.0, 4.0)):
        for j, z in enumerate(np.arange(1.0, 40.0, 3.0)):
            windows.append(window_south(f"N-w{k}-{j}", "N", 6.0, x, x + 1.2, z, z + 1.4))
            w = window_south(f"S-w{k}-{j}", "S", -6.0, x + 1.2, x, z, z + 1.4)  # facing north: reversed ring
            windows.append(w)
    return scenario(tmp, areas=[square(-30, -5, 30, 5, "observe", "street")], points=[("P", 0.0, 0.0)],
                    buildings=towers, openings=windows, budget=1)


def test_a_candidate_compliant_only_with_proposed_limits_is_chosen_with_them_and_runs_compliant(tmp_path):
    from simulator.results import must_hide
    from simulator.run.camera import camera_result

    path = canyon(tmp_path / "in")
    scene = simulator.build_scene(simulator.load_scenario(path))
    alone = camera_result(scene, place_on_scene(scene, simulator.scenario.CameraSpec(
        id="P", model=MODEL, x=X0, y=Y0, mount_height_m=MOUNT_M), source="test", field="cameras"))
    assert alone.plan is not None and not alone.plan.compliant and len(alone.plan.masks) > 24
    p = propose(scene, budget=1)
    (o,) = p.results
    assert o.usable and o.masks <= o.mask_limit == 24 and p.chosen == [0]
    assert o.pan_limits_deg is not None  # a pan sector: here one that wraps through north
    lo, hi = o.pan_limits_deg
    assert lo < 360.0 < hi
    # the targets its masks must hide are those left in reach: fewer than without the limits
    assert 0 < o.seen_into < len(must_hide(scene, alone.exposures))
    out = tmp_path / "placed"
    r = run("place", str(path), "--out", str(out))
    assert r.returncode == 0, r.stderr
    (entry,) = yaml.safe_load((out / "scenario.yaml").read_text())["cameras"]
    assert entry["pan_limits_deg"] == [round(lo, 1), round(hi - 360.0, 1)]  # to < from: through north
    run_out = tmp_path / "run"
    r = run("run", str(out / "scenario.yaml"), "--out", str(run_out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (cam,) = json.loads((run_out / "summary.json").read_text())["cameras"]
    assert cam["compliant"] and cam["masks"] <= 24


def test_fixed_models_are_tried_pointed_eight_ways_and_brackets_look_away_from_their_wall():
    from simulator.build.placement import FIXED_DIRECTIONS_DEG, Site, candidate_specs

    pole, bracket = Site("p", 0.0, 0.0, "pole"), Site("f", 5.0, 0.0, "facade", 10.0, facing_deg=350.0)
    specs = candidate_specs([pole, bracket], heights_m=(6.0, 12.0), models=("ptz", "bullet"),
                            fixed=frozenset({"bullet"}))
    on_pole = [(s.mount_height_m, s.model, s.direction_deg) for s, site in specs if site is pole]
    assert on_pole == [(h, "ptz", None) for h in (6.0,)] + [(6.0, "bullet", d) for d in FIXED_DIRECTIONS_DEG] + \
        [(12.0, "ptz", None)] + [(12.0, "bullet", d) for d in FIXED_DIRECTIONS_DEG]
    # the bracket: 10 m high (no 12 m mount); within 90 deg of 350: 270, 315, 0, 45 (80 apart); not 90 (100)
    assert [(s.model, s.direction_deg) for s, site in specs if site is bracket] == \
        [("ptz", None), ("bullet", 0.0), ("bullet", 45.0), ("bullet", 270.0), ("bullet", 315.0)]
    assert [s.id for s, _ in specs] == [f"c{k:05d}" for k in range(1, len(specs) + 1)]


def test_candidate_ids_never_meet_the_scenarios_own_camera_ids():
    from simulator.build.placement import Site, candidate_specs

    specs = candidate_specs([Site("p", 0.0, 0.0, "pole")], heights_m=(6.0,), models=("m",),
                            taken=frozenset({"c00001", "cc00007", "cam-1"}))
    assert [s.id for s, _ in specs] == ["ccc00001"]


def test_a_site_yields_only_to_a_site_kept_before_it(tmp_path):
    # A, B 0.8 m east of A, C 0.8 m east of B (1.6 m from A): B yields to A; C stays, for B is gone
    from simulator.build.placement import candidate_sites

    path = scenario(tmp_path, areas=[square(40, 20, 50, 30, "observe", "sq")],
                    points=[("A", 45.0, 25.0), ("B", 45.8, 25.0), ("C", 46.6, 25.0), ("D", 62.0, 42.0)])
    sites = candidate_sites(simulator.build_scene(simulator.load_scenario(path)))
    assert [s.id for s in sites] == ["A", "C"]  # D lies inside the kiosk (60..65, 40..45)


def test_watch_area_fields_that_are_no_python_names(tmp_path):
    areas = [square(40, 20, 50, 30, "observe", "x"), square(50, 20, 60, 30, "observe", "y")]
    for a, (name, level) in zip(areas, [("Praça 1", "identify"), ("Rua: 2", "Recognise")], strict=True):
        a["properties"] = {"area name": name, "needs-level": level}
    path = scenario(tmp_path, areas=areas, points=[("A", 45.0, 25.0)])
    data = yaml.safe_load(path.read_text())
    data["watch_areas"].update({"id_field": "area name", "level_field": "needs-level"})
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    from simulator.build.placement import watch_grid

    g = watch_grid(simulator.build_scene(simulator.load_scenario(path)))
    assert g.names == ("Praça 1", "Rua: 2") and g.levels == ("identify", "recognise")


def test_osm_mounts_agree_with_a_count_by_osmium_tags(tmp_path):
    """The street lamps, power poles and masts of the Monaco extract, read by ``read_osm``, against
    a count made with osmium's own tag filter."""
    import osmium

    from simulator.inputs.osm import read_osm

    src = ROOT / "geodata" / "monaco" / "monaco-latest.osm.pbf"
    expected = {}
    for key, value in (("highway", "street_lamp"), ("power", "pole"), ("man_made", "mast")):
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE).with_filter(osmium.filter.TagFilter((key, value))):
            expected[f"node/{obj.id}"] = f"{key}={value}"
    mounts = read_osm(src).mounts
    assert mounts is not None and len(expected) > 10
    assert dict(zip(mounts["id"], mounts["mount"], strict=True)) == expected


def test_corner_points_by_hand():
    from simulator.build.placement import corner_points

    # 1000 x 500 m in at most 2,500 points: a step of at least sqrt(500,000 / 2,500) = 14.1 m, rounded up
    # to 20 m; 51 x 26 multiples of 20 in the box
    x, y, step = corner_points((0.0, 0.0, 1000.0, 500.0))
    assert step == 20.0 and len(x) == 51 * 26 and x.max() == 1000.0 and y.max() == 500.0
    # a step of 2 m over the same box would give 501 x 251: never more than asked
    x, y, step = corner_points((3.0, 3.0, 1003.0, 503.0), max_points=1326)
    assert step == 20.0 and len(x) == 50 * 25 and x.min() == 20.0
    x, y, step = corner_points((5.0, 5.0, 5.0, 5.0))  # a point: no area
    assert len(x) <= 1


@pytest.mark.parametrize("where", ["tutorial", "canyon"])
def test_judging_only_what_the_greedy_would_choose_gives_the_choice_of_judging_all(tmp_path, where):
    """The proposal judges in full only the candidates the greedy chooses (on the bounds of the others);
    the choice is the plain lazy greedy's over every candidate judged in full, with its tie-breaks,
    and each candidate's bound holds what it reaches."""
    from simulator.engine.placement import lazy_greedy
    from simulator.run.place import outcomes

    path = ROOT / "scenarios" / "tutorial.yaml" if where == "tutorial" else canyon(tmp_path / "in")
    scene = simulator.build_scene(simulator.load_scenario(path))
    p = propose(scene, budget=3)
    everything = outcomes(scene, p.cameras, p.grid)
    reach = [o.reached if o.usable else np.zeros(0, np.intp) for o in everything]
    plain = lazy_greedy(reach, np.full(len(p.grid.cells), p.grid.cell_area_m2), budget=3,
                        tie_key=[(float(o.seen_into), float(o.masks)) for o in everything])
    assert p.chosen == plain.order and p.choice.gains == plain.gains
    assert p.choice.upper_bound >= plain.value
    for o, b in zip(everything, p.bounds, strict=True):
        assert set(o.reached.tolist()) <= set(b.tolist())
    for o, e in zip(p.results, everything, strict=True):
        assert o is None or (o.seen_into, o.masks, o.usable) == (e.seen_into, e.masks, e.usable)
    if where == "tutorial":
        assert len(p.analysed) < len(p.results)  # the point of it
