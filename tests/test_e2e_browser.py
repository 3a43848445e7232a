"""End to end in a real browser: the Streamlit server starts, the page loads in headless Chromium
(Debian's), a camera is added through the UI and its exposures appear; a screenshot is saved. A real
city (Amadora, the shipped scenario, not a generated one) opens with the totals of ``simulator run``.

Skips, with the reason shown, only when Chromium is not installed (CI installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Chromium or chromedriver missing: apt-get install chromium chromium-driver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path):
    shutil.rmtree(ROOT / ".app_state", ignore_errors=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                             "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    try:
        import urllib.request
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield f"http://127.0.0.1:{port}/"
    finally:  # the server and its worker processes
        import signal

        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=10)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
        shutil.rmtree(ROOT / ".app_state", ignore_errors=True)


def metric_values(driver) -> dict[str, str]:
    """Label -> value of every metric on the page ({} while Streamlit is re-drawing them)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    out = {}
    try:
        for m in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
            label = m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text.strip()
            value = m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text.strip()
            out[label] = value
    except StaleElementReferenceException:
        return {}
    return out


def chromium(tmp_path: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
              f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def test_a_real_city_in_the_browser(server, tmp_path):
    """Amadora (141 cameras, 602k private targets) opened in the browser: the page's totals are those of
    ``simulator run``'s summary.json for the same scenario, and every camera is on the map."""
    import json

    from selenium.webdriver.support.ui import WebDriverWait

    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "simulator.cli", "run", "scenarios/amadora.yaml", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    cams = json.loads((out / "summary.json").read_text())["cameras"]
    driver = chromium(tmp_path)
    try:
        driver.get(server + "?scenario=amadora.yaml")
        WebDriverWait(driver, 600).until(lambda d: metric_values(d).get("Cameras") == str(len(cams)))
        m = metric_values(driver)
        assert int(m["Exposed private targets (camera x target)"]) == sum(c["exposed_targets"] for c in cams)
        assert int(m["Still exposed after masks"]) == sum(c["exposed_after_masks"] for c in cams)
        assert m["Compliant cameras"] == f"{sum(c['compliant'] for c in cams)} / {len(cams)}"
        logs = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not [e for e in logs if "Uncaught" in e.get("message", "")], logs
    finally:
        driver.quit()


def test_add_camera_in_the_browser(server, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
              f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(server + "?scenario=tutorial.yaml")
        wait = WebDriverWait(driver, 120)
        wait.until(lambda d: metric_values(d).get("Cameras") == "3")
        before = int(metric_values(driver)["Exposed private targets (camera x target)"])
        assert before > 0
        # open "Add a camera", name it, submit
        add_xpath = "//summary[.//*[contains(text(), 'Add a camera')]]"
        expander = wait.until(ec.element_to_be_clickable((By.XPATH, add_xpath)))
        expander.click()
        box = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, 'input[aria-label="Camera id"]')))
        box.clear()
        box.send_keys("browser-cam")
        button = driver.find_element(By.XPATH, "//button[.//*[text()='Place camera']]")
        button.click()
        wait.until(lambda d: metric_values(d).get("Cameras") == "4")
        after = int(metric_values(driver)["Exposed private targets (camera x target)"])
        assert after > before  # the new camera's exposures appear
        shots = ROOT / "tests" / "artifacts"
        shots.mkdir(exist_ok=True)
        driver.save_screenshot(str(shots / "app-after-adding-a-camera.png"))
        assert (shots / "app-after-adding-a-camera.png").stat().st_size > 10_000
        logs = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not [e for e in logs if "Uncaught" in e.get("message", "")], logs
    finally:
        driver.quit()
