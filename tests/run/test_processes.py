"""Cameras on local worker processes (``simulator.run.processes``): forked (sharing the scene, also after
this process has used Embree) or spawned (receiving it pickled), against a one-process run. Results
and every output file must be identical."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import shapely

import simulator
from simulator.outputs.report.html import report_html
from simulator.outputs.writers import camera_outputs, csv_rows, exposures_csv
from simulator.run.processes import analyse_on_processes, start_method
from tests.scenes import same_results

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ingolstadt():
    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "ingolstadt-lod3.yaml"))
    return scene, simulator.analyse(scene)


def _touch(scene: simulator.Scene, *, path: Path) -> None:
    path.write_text(f"{len(scene.targets)} targets\n")


def _fail(scene: simulator.Scene) -> None:
    raise ValueError(f"side job failed on {len(scene.cameras)} cameras")


@pytest.mark.parametrize("tile_m", [None, 60.0])
def test_forked_workers_give_the_one_process_results(ingolstadt, tile_m, tmp_path):
    scene, local = ingolstadt
    assert start_method() == "fork" and "engine" in scene.__dict__  # forked after Embree ran here
    ticks = []
    side = tmp_path / "side.txt"
    par = simulator.analyse(scene, processes=2, tile_m=tile_m, progress=lambda c, i, n: ticks.append((c, i, n)),
                            meanwhile=partial(_touch, path=side), finish=camera_outputs)
    same_results(local, par)
    # the side job ran in a worker on the same scene; progress reached every camera once
    assert side.read_text() == f"{len(scene.targets)} targets\n"
    assert sorted(c for c, _, _ in ticks if c) == sorted(c.id for c in scene.cameras)
    assert ticks[-1][1:] == (len(scene.cameras), len(scene.cameras))
    # each camera's report section was derived in its worker (by camera or by tile): the same report
    assert sum(o.section is not None for o in par.outputs.values()) == len(scene.cameras)
    assert not any(o.section is not None for o in local.outputs.values())
    strip = [line for line in report_html(par).splitlines() if "Generated" not in line]
    assert strip == [line for line in report_html(local).splitlines() if "Generated" not in line]
    # and each camera's rows of exposures.csv: joined, the text the one-process run formats whole
    assert sum(o.csv is not None for o in par.outputs.values()) == len(scene.cameras)
    assert exposures_csv(par) == exposures_csv(local) == csv_rows(local.exposures, header=True)


def test_exposures_csv_uses_a_cameras_rows_only_where_they_are_its_whole_run(ingolstadt):
    """The worker-formatted rows of a camera stand in for its rows only where they are exactly them:
    rows reordered so that a camera's rows are split, or a camera whose rows were not formatted, or
    formatted rows of another count (a camera analysed again), and the rows are formatted whole."""
    import dataclasses

    scene, local = ingolstadt
    par = simulator.analyse(scene, processes=2, finish=camera_outputs)
    whole = csv_rows(par.exposures, header=True)
    assert exposures_csv(par) == whole
    marked = {cid: dataclasses.replace(o, csv="BOGUS\n") for cid, o in par.outputs.items()}
    assert exposures_csv(dataclasses.replace(par, outputs=marked)).count("BOGUS") == len(scene.cameras)
    # split runs: the first camera's rows moved to the end but one
    ex = par.exposures
    first = ex["camera_id"].to_numpy(object) == ex["camera_id"].iloc[0]
    head = ex[first]
    split = pd.concat([head.iloc[:1], ex[~first], head.iloc[1:]], ignore_index=True)
    assert first.sum() > 1
    assert exposures_csv(dataclasses.replace(par, exposures=split, outputs=marked)) == csv_rows(split, header=True)
    # a camera without formatted rows, or with another count of them
    some = dict(marked)
    some[ex["camera_id"].iloc[0]] = dataclasses.replace(marked[ex["camera_id"].iloc[0]], csv=None)
    assert "BOGUS" not in exposures_csv(dataclasses.replace(par, outputs=some))
    some[ex["camera_id"].iloc[0]] = dataclasses.replace(marked[ex["camera_id"].iloc[0]],
                                                        csv_rows=int(first.sum()) + 1)
    assert exposures_csv(dataclasses.replace(par, outputs=some)) == whole


def test_a_failing_worker_job_fails_the_run(ingolstadt):
    scene, _ = ingolstadt
    with pytest.raises(ValueError, match="side job failed on"):
        analyse_on_processes(scene, scene.cameras, 2, meanwhile=_fail)


def _sigterm_default(scene: simulator.Scene) -> None:
    import signal
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        raise AssertionError(f"worker's SIGTERM handler: {signal.getsignal(signal.SIGTERM)!r}")


def test_workers_forked_from_a_server_end_on_sigterm(ingolstadt):
    """A server (Streamlit) installs a Python SIGTERM handler that stops its event loop; forked workers
    inherited it, ignored the pool's SIGTERM and the app hung after its last camera. A worker ends on
    SIGTERM whatever its parent's handler."""
    import signal

    scene, _ = ingolstadt
    before = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        analyse_on_processes(scene, scene.cameras[:2], 2, meanwhile=_sigterm_default)
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_in_a_fresh_process_give_the_same_exposures(ingolstadt, method):
    """From a process that has built no Embree scene; spawned workers receive the pickled scene."""
    _, local = ingolstadt
    code = ("import hashlib, simulator\n"
            "from simulator.results import assemble\n"
            "from simulator.run.processes import analyse_on_processes\n"
            "scene = simulator.build_scene(simulator.load_scenario('scenarios/ingolstadt-lod3.yaml'))\n"
            f"r = assemble(scene, analyse_on_processes(scene, scene.cameras, 2, method={method!r}), seconds=0)\n"
            "print(hashlib.sha256(r.exposures.to_csv().encode()).hexdigest())\n"
            "print(sum(len(p.masks) for p in r.mask_plans.values()), r.stats['rays'])\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stderr
    digest, counts = p.stdout.split("\n")[:2]
    import hashlib

    assert digest == hashlib.sha256(local.exposures.to_csv().encode()).hexdigest()
    assert counts == f"{sum(len(p.masks) for p in local.mask_plans.values())} {local.stats['rays']}"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator.cli", "run", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_cli_processes_write_the_same_files(tmp_path):
    scenario = str(ROOT / "scenarios" / "ingolstadt-lod3.yaml")
    for name, n in (("one", "1"), ("two", "2")):
        p = run(scenario, "--out", str(tmp_path / name), "--processes", n)
        assert p.returncode == 0, p.stderr
    one, two = tmp_path / "one", tmp_path / "two"
    assert (one / "exposures.csv").read_bytes() == (two / "exposures.csv").read_bytes()
    s1, s2 = (json.loads((d / "summary.json").read_text()) for d in (one, two))
    assert s1["cameras"] == s2["cameras"]
    for sub in ("onvif", "axis", "hikvision"):
        files = sorted((one / "masks" / sub).iterdir())
        assert files and [f.read_bytes() for f in files] == [(two / "masks" / sub / f.name).read_bytes() for f in files]
    assert (one / "masks" / "masks.geojson").read_bytes() == (two / "masks" / "masks.geojson").read_bytes()
    r1, r2 = ([x for x in (d / "report.html").read_text().splitlines() if "Generated" not in x] for d in (one, two))
    assert r1 == r2
    layers = [name for name, _ in pyogrio.list_layers(one / "results.gpkg")]
    assert sorted(layers) == sorted(n for n, _ in pyogrio.list_layers(two / "results.gpkg"))
    assert {"buildings", "targets", "exposures", "cameras", "coverage"} <= set(layers)
    for layer in layers:
        a = pyogrio.read_dataframe(one / "results.gpkg", layer=layer)
        b = pyogrio.read_dataframe(two / "results.gpkg", layer=layer)
        assert len(a) == len(b) and a.drop(columns="geometry").equals(b.drop(columns="geometry")), layer
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all(), layer


def test_bad_process_count_exits_2(tmp_path):
    p = run(str(ROOT / "scenarios" / "tutorial.yaml"), "--out", str(tmp_path / "o"), "--processes", "0")
    assert p.returncode == 2 and "--processes must be at least 1" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
