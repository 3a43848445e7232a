from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "geodata"


@pytest.fixture(scope="session")
def geodata() -> Path:
    """The real geodata in ../shared/geodata (the project's data sources)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared geodata not found at {SHARED}")
    return SHARED
