"""``benchmarks/same_outputs.py`` (the byte-identity check of a refactoring) on a real run folder: two
runs of the same code compare equal, and a changed value, a changed geometry, a dropped audit entry
or a missing file do not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from same_outputs import compare  # noqa: E402


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("same")
    out = []
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-m", "simulator.cli", "run", "scenarios/tutorial.yaml", "--out",
                        str(base / name)], cwd=ROOT, check=True, capture_output=True)
        out.append(base / name)
    return out


def test_two_runs_of_the_same_code_are_the_same(two_runs):
    a, b = two_runs
    assert (a / "summary.json").read_text() != (b / "summary.json").read_text()  # times and signatures differ
    assert compare(a, b) == []


def test_a_changed_value_a_geometry_an_entry_or_a_file_is_found(two_runs, tmp_path):
    import pyogrio

    a, b = two_runs
    c = tmp_path / "c"
    shutil.copytree(b, c)
    csv = (c / "exposures.csv").read_text().splitlines()
    csv[1] = csv[1].replace("0.", "0.9", 1)
    (c / "exposures.csv").write_text("\n".join(csv) + "\n")
    summary = json.loads((c / "summary.json").read_text())
    summary["cameras"][0]["masks"] += 1
    (c / "summary.json").write_text(json.dumps(summary))
    df = pyogrio.read_dataframe(c / "results.gpkg", layer="cameras")
    df.geometry = df.geometry.translate(0.001)
    pyogrio.write_dataframe(df, c / "results.gpkg", layer="cameras", driver="GPKG", append=False)
    log = sorted((c / "audit").glob("*.jsonl"))[0]
    log.write_text("\n".join(log.read_text().splitlines()[:-1]) + "\n")
    (c / "report.html").unlink()
    found = "\n".join(compare(a, c))
    for what in ("exposures.csv", "summary.json", "results.gpkg: layer cameras: column geometry", log.name,
                 "report.html"):
        assert what in found, (what, found)
