"""The engine's exposures against an independent float64 numpy brute force (``tests/bruteforce.py``)
on real extracts: the tutorial street and the Ingolstadt LoD3 block, camera x target pairs drawn at
random (half seen by the engine, half within range and facing but not seen). The benchmark
``benchmarks/exposure_check.py`` prints the same figures for Helsinki, Monaco and Ingolstadt."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["tutorial", "ingolstadt-lod3"])
def test_engine_agrees_with_a_float64_brute_force(name):
    from benchmarks.exposure_check import compare

    res = simulator.analyse(ROOT / "scenarios" / f"{name}.yaml")
    r = compare(res, pairs_per_camera=30)
    assert r["pairs"] >= 60
    assert r["agree"] / r["pairs"] >= 0.99, r["worst"]
    assert r["vf_error"] <= 0.03, r["worst"]
    assert r["both_seen"] > 20 and r["px_within_5pct"] / r["both_seen"] >= 0.99


def test_model_openings_as_glass_stop_lines_of_sight(tmp_path):
    """Ingolstadt's ing-01 sees window 4018259_BP.becdrOu9UyjICtUd71Az through two windows of
    another building 1.4-2 m in front of it (the models draw openings as holes in their walls). With
    ``analysis.model_openings: glass`` those windows stop the line of sight: the window is no longer
    seen, and the mesh holds the openings' triangles besides."""
    import yaml

    sc = yaml.safe_load((ROOT / "scenarios" / "ingolstadt-lod3.yaml").read_text())
    target = "4018259_BP.becdrOu9UyjICtUd71Az"
    seen = {}
    triangles = {}
    for mode in ("holes", "glass"):
        sc["analysis"] = {**sc["analysis"], "model_openings": mode}
        for m in sc["models"]:
            m["path"] = str((ROOT / "scenarios" / m["path"]).resolve())
        path = tmp_path / f"{mode}.yaml"
        path.write_text(yaml.safe_dump(sc))
        res = simulator.analyse(path, cameras=["ing-01"])
        ex = res.exposures
        seen[mode] = bool((ex["target_id"] == target).any())
        triangles[mode] = len(res.scene.triangles)
    assert seen == {"holes": True, "glass": False}
    assert triangles["glass"] > triangles["holes"]
