"""The (minimal) Streamlit app renders the default scenario without exceptions."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

import simulator

ROOT = Path(__file__).resolve().parents[1]


def test_app_default_scenario():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.selectbox[0].value == "tutorial.yaml"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cameras"] == "3"
    # the page shows what the library computes for the same scenario (the app adds no logic of its own)
    expected = simulator.analyse(ROOT / "scenarios" / "tutorial.yaml").exposures
    assert int(metrics["Exposed private targets (camera x target)"]) == len(expected) > 0
    assert len(at.dataframe) == 1
