"""The Streamlit app, driven through AppTest: every tab renders; adding and editing a camera updates
the numbers the library computes for the same cameras."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import simulator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _clean_state():
    shutil.rmtree(ROOT / ".app_state", ignore_errors=True)
    yield
    shutil.rmtree(ROOT / ".app_state", ignore_errors=True)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_app_default_scenario_all_tabs():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "tutorial.yaml"
    m = metrics(at)
    assert m["Cameras"] == "3"
    # the page shows what the library computes for the same scenario (the app adds no logic of its own)
    expected = simulator.analyse(ROOT / "scenarios" / "tutorial.yaml")
    assert int(m["Exposed private targets (camera x target)"]) == len(expected.exposures) > 0
    compliant = sum(c["compliant"] for c in expected.summary()["cameras"])
    assert m["Compliant cameras"] == f"{compliant} / 3"
    assert [t.label for t in at.tabs] == ["Map", "Camera view", "Regulator", "Export"]
    # the map, the camera view image, the regulator table
    assert len(at.get("deck_gl_json_chart")) == 1 and len(at.get("image")) >= 1 and len(at.dataframe) >= 1


def test_add_edit_delete_camera():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    before = int(metrics(at)["Exposed private targets (camera x target)"])
    form = at.tabs[0]
    form.text_input[0].set_value("pole-east")
    form.number_input[0].set_value(488040.0)
    form.number_input[1].set_value(4290000.0)
    form.button[0].click().run()
    assert not at.exception
    m = metrics(at)
    assert m["Cameras"] == "4"
    assert int(m["Exposed private targets (camera x target)"]) > before
    # the working state was saved: a fresh session (browser reload) sees the new camera
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert metrics(again)["Cameras"] == "4"
    # delete it again
    again.selectbox(key="edit_camera").set_value("pole-east").run()
    again.button(key="delete_camera").click().run()
    assert metrics(again)["Cameras"] == "3"
    assert int(metrics(again)["Exposed private targets (camera x target)"]) == before
