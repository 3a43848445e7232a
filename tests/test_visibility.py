"""The Embree engine against an independent brute-force line-of-sight check (every ray x every
triangle, Moller-Trumbore in float64 numpy) on small scenes: they must agree on every ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.visibility import EPS_END_M, EPS_START_M, RayEngine

from .scenes import PTZ, building, write_scenario

ROOT = Path(__file__).resolve().parents[1]


def brute_force_clear(start: np.ndarray, end: np.ndarray, tris: np.ndarray, *, margin: float = 1e-7
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(clear, ambiguous) per segment: clear when no triangle crosses the shortened segment; ambiguous
    when a crossing lies within ``margin`` of a triangle edge or the segment's ends (float32 may differ)."""
    d = end - start
    length = np.linalg.norm(d, axis=1)
    u = d / length[:, None]
    o = start + u * EPS_START_M
    tmax = length - EPS_START_M - EPS_END_M
    v0, v1, v2 = tris[:, 0], tris[:, 1], tris[:, 2]
    e1, e2 = v1 - v0, v2 - v0
    clear = np.ones(len(o), bool)
    ambiguous = np.zeros(len(o), bool)
    for k in range(0, len(o), 512):
        ob, ub, tb = o[k:k + 512, None, :], u[k:k + 512, None, :], tmax[k:k + 512, None]
        p = np.cross(ub, e2[None])
        det = np.einsum("rtk,tk->rt", p, e1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = ob - v0[None]
        a = np.einsum("rtk,rtk->rt", s, p) * inv
        q = np.cross(s, e1[None])
        b = np.einsum("rtk,rtk->rt", ub, q) * inv
        t = np.einsum("tk,rtk->rt", e2, q) * inv
        hit = ok & (a >= 0) & (b >= 0) & (a + b <= 1) & (t > 0) & (t < tb)
        near = ok & (a >= -margin) & (b >= -margin) & (a + b <= 1 + margin) & (t > -1e-4) & (t < tb + 1e-4)
        edge = near & ((np.abs(a) < margin) | (np.abs(b) < margin) | (np.abs(a + b - 1) < margin) |
                       (np.abs(t) < 1e-4) | (np.abs(t - tb) < 1e-4))
        clear[k:k + 512] = ~hit.any(axis=1)
        ambiguous[k:k + 512] = edge.any(axis=1)
    return clear, ambiguous


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
