"""The report as PDF, printed by headless Chromium (Debian's ``chromium``): the same page, no second
layout to keep in step. Chromium is optional: without it ``--pdf`` fails with a one-line message."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ...errors import MissingDependencyError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    """The path of a Chromium-family browser, or a MissingDependencyError saying how to get one."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise MissingDependencyError("--pdf prints the report with headless Chromium, which is not installed "
                                 "(Debian: apt-get install chromium)")


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout_s: float = 300.0) -> None:
    """Print ``html_path`` to ``pdf_path`` (A4, backgrounds on, no header or footer)."""
    exe = browser()
    with tempfile.TemporaryDirectory(prefix="pzs-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               f"--print-to-pdf={pdf_path}", Path(html_path).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.read_bytes()[:4] != b"%PDF":
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"Chromium could not print the report to PDF: {tail[0]}")
