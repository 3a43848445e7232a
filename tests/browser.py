"""The app served by Streamlit and driven in headless Chromium (Debian's): shared by the browser tests
and ``benchmarks/app_real_city.py``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(port: int, env: dict[str, str] | None = None, *, timeout_s: float = 120.0) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` on 127.0.0.1:``port`` (extra environment ``env``), once it answers its
    health check; in a session of its own, so that ``stop_app`` stops its workers too."""
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, **(env or {})})
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    stop_app(proc)
    raise RuntimeError(f"streamlit did not start within {timeout_s:g} s")


def stop_app(proc: subprocess.Popen[bytes]) -> None:
    """The server and every process it started (its workers) stopped: politely, then, for whatever of
    its session is left, not."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def chromium(profile: Path) -> Any:
    """A headless Chromium driven by selenium, with its profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
              f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)
