from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# signing keys made on first use go to a throw-away config folder, never the user's (CLI subprocesses inherit it)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="pzs-test-config-")
os.environ.pop("SIMULATOR_SIGNING_KEY", None)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "geodata"


@pytest.fixture(scope="session")
def geodata() -> Path:
    """The real geodata in ../shared/geodata (the project's data sources)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared geodata not found at {SHARED}")
    return SHARED


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's AppTest leaves app.py as ``sys.modules["__main__"]``; processes spawned later (a Dask
    LocalCluster's workers) would re-run the whole app on start-up. Put the real main module back."""
    import sys

    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
