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
