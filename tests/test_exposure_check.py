"""The engine's exposures against an independent float64 numpy brute force (``tests/bruteforce.py``)
on real extracts: the tutorial street and the Ingolstadt LoD3 block, camera x target pairs drawn at
random (half seen by the engine, half within range and facing but not seen). The benchmark
``benchmarks/exposure_check.py`` prints the same figures for Helsinki, Monaco and Ingolstadt."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["tutorial", "ingolstadt-lod3"])
def test_engine_agrees_with_a_float64_brute_force(name):
    from benchmarks.exposure_check import compare

    res = simulator.analyse(ROOT / "scenarios" / f"{name}.yaml")
    r = compare(res, pairs_per_camera=30)
    assert r["pairs"] >= 60
    assert r["agree"] / r["pairs"] >= 0.99, r["worst"]
    assert r["vf_error"] <= 0.03, r["worst"]
    assert r["both_seen"] > 20 and r["px_within_5pct"] / r["both_seen"] >= 0.99
