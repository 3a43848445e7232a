"""The Embree engine against an independent brute-force line-of-sight check (every ray x every
triangle, Moller-Trumbore in float64 numpy) on small scenes: they must agree on every ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.visibility import RayEngine

from .bruteforce import brute_force_clear
from .scenes import PTZ, building, write_scenario

ROOT = Path(__file__).resolve().parents[1]


def _compare(scene: simulator.Scene, cam_pos: np.ndarray) -> tuple[int, int]:
    engine = RayEngine(scene.triangles, origin=scene.origin, threads=2)
    pts = scene.targets.samples
    got = engine.segment_clear(cam_pos, pts)
    want, amb = brute_force_clear(np.broadcast_to(cam_pos, pts.shape), pts, scene.triangles)
    firm = ~amb
    mismatch = int((got[firm] != want[firm]).sum())
    return mismatch, int(firm.sum())


def test_engine_agrees_with_brute_force_on_tutorial_street():
    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "tutorial.yaml"))
    for cam in scene.cameras:
        mismatch, n = _compare(scene, np.array(cam.position))
        assert n > 1000
        assert mismatch == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engine_agrees_with_brute_force_on_random_blocks(tmp_path, seed):
    rng = np.random.default_rng(seed)
    blds = []
    for i in range(25):
        x, y = rng.uniform(-60, 60, 2)
        w, d = rng.uniform(4, 15, 2)
        blds.append(building(f"b{i}", x, y, x + w, y + d, float(rng.uniform(3, 25))))
    cams = [{"id": "c", **PTZ, "x": float(rng.uniform(-5, 5)), "y": float(rng.uniform(-5, 5)),
             "mount_height_m": float(rng.uniform(2, 30))}]
    scene = simulator.build_scene(simulator.load_scenario(write_scenario(tmp_path, buildings=blds, cameras=cams)))
    # random blocks may overlap: samples inside another block are occluded by it in both methods
    mismatch, n = _compare(scene, np.array(scene.cameras[0].position))
    assert n > 5000
    assert mismatch == 0


def test_segment_clear_basic_geometry():
    # one unit triangle in the plane z = 0 under (0.2, 0.2)
    tri = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]], float)
    e = RayEngine(tri, threads=1)
    start = np.array([[0.2, 0.2, 1.0], [0.2, 0.2, 1.0], [2.0, 2.0, 1.0], [0.2, 0.2, 1.0]])
    end = np.array([[0.2, 0.2, -1.0], [0.2, 0.2, 0.5], [2.0, 2.0, -1.0], [0.2, 0.2, 0.01]])
    # crosses; stops above; misses; ends 0.01 above the plane (within EPS_END_M): not blocked
    assert list(e.segment_clear(start, end)) == [False, True, True, True]
    # degenerate: zero-length segment and an empty mesh are clear
    assert e.segment_clear(start[:1], start[:1]).tolist() == [True]
    assert RayEngine(np.empty((0, 3, 3))).segment_clear(start, end).all()
