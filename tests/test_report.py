"""Regulator tables and the HTML report, checked against the exposures and plans they summarise."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

import simulator
from simulator.report import camera_table, kind_dori_table, report_html

ROOT = Path(__file__).resolve().parents[1]


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
        kinds = ["window", "door", "balcony", "terrace", "courtyard", "backyard", "facade"]
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
