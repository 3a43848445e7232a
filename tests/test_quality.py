"""The configured linters pass on the package (ruff; mypy --strict, as pyproject.toml configures it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("tool", [["ruff", "check", "simulator", "tests", "benchmarks", "app.py", "tasks.py"],
                                  ["mypy"]])
def test_linters(tool):
    exe = shutil.which(tool[0], path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip(f"{tool[0]} not installed (pip install -e .[test])")
    p = subprocess.run([exe, *tool[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
