#!/usr/bin/env python3
"""One-command set-up and tasks on a machine with only Python >= 3.11.

    python3 tasks.py app     # create .venv, install, open the Streamlit app on the default scenario
    python3 tasks.py test    # create .venv, install with test extras, run the test suite
    python3 tasks.py run SCENARIO --out DIR   # the CLI inside the venv

The virtual environment is created in .venv beside this file and refreshed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def ensure_env(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older python3
        sys.exit(f"Python >= 3.11 is required, this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("installing dependencies into .venv …", flush=True)
    target = f".[{extras}]" if extras else "."
    subprocess.check_call([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], cwd=ROOT)
    subprocess.check_call([str(PY), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT)
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "app"
    rest = argv[1:]
    if task == "app":
        ensure_env("")
        return subprocess.call([str(PY), "-m", "streamlit", "run", str(ROOT / "app.py"), *rest], cwd=ROOT)
    if task == "test":
        ensure_env("test")
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    if task == "run":
        ensure_env("")
        return subprocess.call([str(BIN / "simulator"), "run", *rest], cwd=ROOT)
    if task == "bench":
        ensure_env("test")
        return subprocess.call([str(PY), str(ROOT / "benchmarks" / "engine.py"), *rest], cwd=ROOT)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
