"""`simulator where`: the cameras that see a target are exactly those of the exposures; a point's answer
checked by hand on the tutorial street (flat ground, z = 0, pole-west at (487995, 4290000, 6))."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import simulator
from simulator.where import where_point, where_target

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"


@pytest.fixture(scope="module")
def result():
    return simulator.analyse(TUTORIAL)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator.cli", "where", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.mark.parametrize("target", ["S1-window-10", "N2-balcony-1", "S1-door-11"])
def test_where_target_lists_exactly_the_exposures_cameras(result, target):
    ex = result.exposures
    mine = ex[ex["target_id"] == target]
    assert len(mine) > 0
    out = cli(str(TUTORIAL), "--target", target, "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)["cameras"]
    assert sorted(a["camera_id"] for a in answer) == sorted(mine["camera_id"])
    for a in answer:
        row = mine[mine["camera_id"] == a["camera_id"]].iloc[0]
        assert a["px_per_m"] == pytest.approx(row["max_px_per_m"], abs=0.06)
        assert a["dori"] == row["dori"]
        plan = result.mask_plans[a["camera_id"]]
        assert a["masked"] == (target not in plan.residual_targets)


def test_where_target_unseen_everywhere(result):
    seen = set(result.exposures["target_id"])
    unseen = next(str(t) for t in result.scene.targets.id if str(t) not in seen)
    answer = where_target(result.scene, unseen)
    assert not answer["visible"].any() and len(answer) == 3


def test_where_point_by_hand(result):
    scene = result.scene
    cam = next(c for c in scene.cameras if c.id == "pole-west")
    # on the street, 15 m east of the pole, at head height: in plain view
    a = where_point(scene, (488010.0, 4290000.0, 1.5)).set_index("camera_id").loc["pole-west"]
    d = math.hypot(15.0, 4.5)
    assert a["visible"] and a["distance_m"] == pytest.approx(d, abs=0.01)
    assert a["px_per_m"] == pytest.approx(1920 / (2 * d * math.tan(math.radians(2.1) / 2)), abs=0.06)
    assert a["dori"] == "identify" and not a["masked"]
    # behind building N1 (x 488000-488015, y 4290010-4290022, 12 m): the segment enters it at x = 488000
    b = where_point(scene, (488010.0, 4290030.0, 1.5)).set_index("camera_id").loc["pole-west"]
    assert not b["visible"] and b["reason"] == "hidden (occluded)"
    # 205 m away: beyond the 150 m range
    c = where_point(scene, (488200.0, 4290000.0, 1.5)).set_index("camera_id").loc["pole-west"]
    assert not c["visible"] and c["reason"].startswith("beyond range") and cam.range_m == 150
    # bullet-east looks west (270 deg) with a 2.8 mm lens: a point due east of it is outside its view
    e = where_point(scene, (488060.0, 4290002.0, 3.0)).set_index("camera_id").loc["bullet-east"]
    assert not e["visible"] and e["reason"] == "outside pan/tilt reach"


def test_where_point_inside_a_mask(result):
    scene = result.scene
    cam = next(c for c in scene.cameras if c.id == "pole-west")
    mask = result.mask_plans["pole-west"].masks[0]
    # a point 5 m along the mask's centre direction is inside the mask, in the open, close to the camera
    p = tuple(float(v) for v in (cam.position[0] + 5 * mask.centre[0], cam.position[1] + 5 * mask.centre[1],
                                 cam.position[2] + 5 * mask.centre[2]))
    a = where_point(scene, p).set_index("camera_id").loc["pole-west"]
    assert a["visible"] and a["masked"]


@pytest.mark.parametrize(("args", "message"), [
    (["--lon", "38.7587", "--lat", "-9.1379"], "swapped"),
    (["--lon", "-9.1379"], "give either"),
    (["--target", "no-such-window"], "unknown target id"),
    (["--lon", "200", "--lat", "38"], "lon must be"),
])
def test_where_bad_input_exit_2(args, message):
    out = cli(str(TUTORIAL), *args)
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
