"""Regulator tables and the HTML report, checked against the exposures and plans they summarise."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

import simulator
from simulator.outputs.report import camera_table, kind_dori_table, report_html

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def result():
    return simulator.analyse(ROOT / "scenarios" / "tutorial.yaml")


def test_kind_dori_table_counts_every_exposure_once(result):
    ex = result.exposures
    table = kind_dori_table(result)
    assert table.loc["total", "total"] == len(ex) > 0
    for kind in ("window", "door", "balcony", "backyard", "facade"):
        assert table.loc[kind, "total"] == (ex["target_kind"] == kind).sum()
    for dori in ("identify", "recognise", "observe", "detect", "none"):
        assert table.loc["total", dori] == (ex["dori"] == dori).sum()
    one = kind_dori_table(result, "pole-west")
    assert one.loc["total", "total"] == (ex["camera_id"] == "pole-west").sum()


def test_after_masks_lists_exactly_the_residual_targets(result):
    # the plans of the tutorial leave nothing visible: after-masks tables are empty ...
    assert kind_dori_table(result, after_masks=True).loc["total", "total"] == sum(
        p.exposed_after_masks for p in result.mask_plans.values()) == 0
    # ... and when a plan reports residual targets, exactly those rows count, with their kinds and classes
    r = copy.copy(result)
    r.mask_plans = dict(result.mask_plans)
    mine = result.exposures[result.exposures["camera_id"] == "pole-west"].iloc[[0, 3, 5]]
    plan = copy.copy(result.mask_plans["pole-west"])
    plan.residual_targets = tuple(mine["target_id"].astype(str))
    plan.exposed_after_masks = 3
    r.mask_plans["pole-west"] = plan
    after = kind_dori_table(r, "pole-west", after_masks=True)
    assert after.loc["total", "total"] == 3
    for kind, dori in zip(mine["target_kind"], mine["dori"], strict=True):
        assert after.loc[kind, dori] >= 1
    assert kind_dori_table(r, "bullet-east", after_masks=True).loc["total", "total"] == 0
    row = camera_table(r).set_index("camera").loc["pole-west"]
    assert row["after_masks"] == 3


def test_camera_table_agrees_with_summary(result):
    table = camera_table(result).set_index("camera")
    for cam in result.summary()["cameras"]:
        row = table.loc[cam["id"]]
        assert row["exposed"] == cam["exposed_targets"]
        assert row["after_masks"] == cam["exposed_after_masks"]
        assert row["masks"] == cam["masks"] and row["mask_limit"] == cam["mask_limit"]
        assert bool(row["compliant"]) == cam["compliant"]
        kinds = ["window", "door", "balcony", "terrace", "courtyard", "backyard", "sensitive", "facade"]
        assert row[kinds].sum() == cam["exposed_targets"]


def test_report_html_is_self_contained_and_carries_the_numbers(result):
    page = report_html(result)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)=["']https?:""", page)  # nothing fetched from the network
    summary = result.summary()
    n = len(summary["cameras"])
    compliant = sum(c["compliant"] for c in summary["cameras"])
    assert f"Cameras: <b>{n}</b>; compliant: <b>{compliant}</b>" in page
    assert f"(camera × target): <b>{len(result.exposures)}</b>" in page
    for cam in summary["cameras"]:
        assert f"id='cam-{cam['id']}'" in page
        for reason in cam.get("reasons", []):
            assert reason.replace("'", "&#x27;") in page


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from simulator.cli import main

    out = tmp_path_factory.mktemp("tutorial-run")
    assert main(["run", str(ROOT / "scenarios" / "tutorial.yaml"), "--out", str(out)]) == 0
    return out


def test_report_numbers_match_summary_and_exposures(run_dir):
    import io
    import json

    import pandas as pd

    summary = json.loads((run_dir / "summary.json").read_text())
    exposures = pd.read_csv(run_dir / "exposures.csv")
    page = (run_dir / "report.html").read_text()
    tables = pd.read_html(io.StringIO(page))
    # the first table: kind x DORI over all cameras, from exposures.csv
    first = tables[0].set_index("kind")
    assert int(first.loc["total", "total"]) == len(exposures)
    for kind, n in exposures["target_kind"].value_counts().items():
        assert int(first.loc[kind, "total"]) == n
    # the cameras table agrees with summary.json
    cams = next(t for t in tables if "Masks" in t.columns and "Mask limit" in t.columns).set_index("Camera")
    for cam in summary["cameras"]:
        row = cams.loc[cam["id"]]
        assert row["Exposed targets"] == cam["exposed_targets"] == (exposures["camera_id"] == cam["id"]).sum()
        assert row["Exposed after masks"] == cam["exposed_after_masks"] and row["Masks"] == cam["masks"]
        assert row["Mask limit"] == cam["mask_limit"] and row["Compliant"] == ("yes" if cam["compliant"] else "no")
        share = cam["public_hidden_share"]
        assert (pd.isna(row["Public view hidden [%]"]) if share is None
                else row["Public view hidden [%]"] == pytest.approx(100 * share, abs=0.05))
        assert f"Masks {cam['masks']} of {cam['mask_limit']}" in page
        assert f"{cam['coverage_m2']['identify'] and 0 or ''}" == ""  # (numbers below)
    # coverage tables, one per camera in order: before/after totals are the summary's
    cov_tables = [t for t in tables if "DORI class" in t.columns]
    assert len(cov_tables) == len(summary["cameras"])
    for t, cam in zip(cov_tables, summary["cameras"], strict=True):
        t = t.set_index("DORI class")
        for cls, area in cam["coverage_m2"].items():
            assert t.loc[cls, "before masks [m²]"] == pytest.approx(area)
            assert t.loc[cls, "after masks [m²]"] == pytest.approx(cam["coverage_after_masks_m2"][cls])
    # one figure per camera plus the identify map
    assert page.count("<svg") == len(summary["cameras"]) + 1


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    import shutil

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("Chromium or chromedriver missing: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get((run_dir / "report.html").as_uri())
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Camera privacy report")
        svgs = driver.find_elements(By.TAG_NAME, "svg")
        assert len(svgs) == 4 and all(s.size["width"] > 100 and s.size["height"] > 100 for s in svgs)
        assert not [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        shots = ROOT / "tests" / "artifacts"
        shots.mkdir(exist_ok=True)
        driver.save_screenshot(str(shots / "report.png"))
        # as printed (the PDF): A4 is 794 CSS px wide and Chromium's default print margins are 0.4 in (38 px)
        # a side, so 718 px are left (less the scrollbar here); every table cell, header included, and
        # every figure must fit: nothing is cut off the page
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 718, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        width, cells, cut = driver.execute_script("""
            const w = document.documentElement.clientWidth, out = [];
            for (const e of document.querySelectorAll('table th, table td, svg')) {
              const r = e.getBoundingClientRect();
              if (r.right > w + 0.5 || r.width < 1) out.push(e.tagName + ' ' + e.textContent.trim().slice(0, 40));
            }
            return [w, document.querySelectorAll('table th').length, out];""")
        assert 600 < width <= 718 and cells > 20 and cut == []
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    finally:
        driver.quit()


def test_pdf_report(tmp_path):
    import shutil
    import subprocess
    import sys

    tutorial = str(ROOT / "scenarios" / "tutorial.yaml")
    venv_bin = str(Path(sys.executable).parent)
    # without Chromium on the PATH: one line, exit 2, nothing written
    p = subprocess.run([sys.executable, "-m", "simulator.cli", "run", tutorial, "--out", str(tmp_path / "a"), "--pdf"],
                       capture_output=True, text=True, env={"PATH": venv_bin, "HOME": str(tmp_path)}, cwd=ROOT)
    assert p.returncode == 2 and "Chromium" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists()
    if not shutil.which("chromium"):
        pytest.skip("Chromium missing: apt-get install chromium")
    from simulator.cli import main

    assert main(["run", tutorial, "--out", str(tmp_path / "b"), "--pdf"]) == 0
    pdf = (tmp_path / "b" / "report.pdf").read_bytes()
    pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
    assert pdf.startswith(b"%PDF") and len(pages) >= 2  # totals and assumptions, then the cameras


def test_the_reports_own_html_tables_are_pandas_tables():
    """The report writes its tables of whole numbers and labels itself (pandas's ``to_html`` costs a
    millisecond per camera table): the same text as pandas's, labels escaped; anything else (floats,
    missing values, an index) goes through pandas."""
    import pandas as pd

    from simulator.outputs.report.html import _table

    def pandas_table(df: pd.DataFrame) -> str:
        return str(df.to_html(index=False, border=0, classes="", na_rep="–", escape=True))

    ints = pd.DataFrame({"kind": pd.array(["<b>&amp;", "window", "tot'al\""], dtype="string"),
                         "identify": [0, 12, -3], "recognise": pd.array([1, 2, 3], dtype="int32")})
    assert _table(ints) == pandas_table(ints)
    assert "&lt;b&gt;&amp;amp;" in _table(ints)
    assert _table(ints.iloc[:0]) == pandas_table(ints.iloc[:0])
    for other in (ints.assign(share=[0.1, 0.25, 1 / 3]), ints.assign(kind=["a", None, "c"])):
        assert _table(other) == pandas_table(other)
