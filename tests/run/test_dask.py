"""The distributed path: a real Dask LocalCluster on loopback, started here, against a one-process run.
Results must be identical: exposures, mask plans, coverage, summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import simulator
from simulator.run.dask import analyse_distributed, built, chunks
from simulator.run.tiles import plan_tiles
from tests.scenes import same_results

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import Client, LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    client = Client(c)
    yield c, client
    client.close()
    c.close()


def test_chunks_deal_round_robin_and_cover_everything():
    ids = [f"c{i}" for i in range(11)]
    parts = chunks(ids, 4)
    assert parts[0] == ["c0", "c4", "c8"] and parts[3] == ["c3", "c7"]
    assert sorted(x for p in parts for x in p) == sorted(ids) and sorted(len(p) for p in parts) == [2, 3, 3, 3]
    assert chunks(ids[:2], 8) == [["c0"], ["c1"]]


@pytest.mark.parametrize("tile_m", [None, 60.0])
def test_cluster_results_identical_to_one_process(cluster, tile_m):
    c, client = cluster
    sc = simulator.load_scenario(ROOT / "scenarios" / "ingolstadt-lod3.yaml")
    scene = simulator.build_scene(sc)
    local = simulator.analyse(scene)  # the whole scene at once, no tiles
    before = {w: len(v) for w, v in client.run(built).items()}
    dist = analyse_distributed(sc, scheduler=c.scheduler_address, chunks_per_worker=2, tile_m=tile_m)
    same_results(local, dist)
    # each worker built the Embree scene of a tile's part at most once, however many of its chunks it
    # ran, and every tile was built somewhere
    tiles = plan_tiles(scene, [cam.id for cam in scene.cameras], tile_m or 1000.0)
    if tile_m is not None:
        assert len(tiles) >= 3  # the cameras are spread over several 60 m tiles
    new = {w: v[before.get(w, 0):] for w, v in client.run(built).items()}
    for runs in new.values():
        assert len(runs) == len(set(runs))
    assert {key for runs in new.values() for _, key in runs} == {t.key for t in tiles}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator.cli", "run", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_cli_workers_and_scheduler_write_the_same_outputs(cluster, tmp_path):
    c, _ = cluster
    tutorial = str(ROOT / "scenarios" / "tutorial.yaml")
    outs = {}
    runs = (("one", []), ("workers", ["--workers", "2"]), ("scheduler", ["--scheduler", c.scheduler_address]))
    for name, extra in runs:
        p = run(tutorial, "--out", str(tmp_path / name), *extra)
        assert p.returncode == 0, p.stderr
        outs[name] = tmp_path / name
    base = (outs["one"] / "exposures.csv").read_bytes()
    for name in ("workers", "scheduler"):
        assert (outs[name] / "exposures.csv").read_bytes() == base
        s0 = json.loads((outs["one"] / "summary.json").read_text())
        s1 = json.loads((outs[name] / "summary.json").read_text())
        assert s0["cameras"] == s1["cameras"]
        for plan in (outs["one"] / "masks").glob("*.json"):
            p0, p1 = json.loads(plan.read_text()), json.loads((outs[name] / "masks" / plan.name).read_text())
            assert p0["masks"] == p1["masks"] and p0["compliant"] == p1["compliant"]


@pytest.mark.parametrize(("args", "message"), [
    (["--scheduler", "tcp://127.0.0.1:1"], "cannot reach the Dask scheduler"),
    (["--scheduler", "tcp://127.0.0.1:notaport"], "expected tcp://HOST:PORT"),
    (["--workers", "0"], "--workers must be at least 1"),
])
def test_bad_cluster_arguments_exit_2(tmp_path, args, message):
    p = run(str(ROOT / "scenarios" / "tutorial.yaml"), "--out", str(tmp_path / "o"), *args)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "o").exists()
