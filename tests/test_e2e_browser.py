"""End to end in a real browser: the Streamlit server starts, the page loads in headless Chromium
(Debian's), a camera is added through the UI and its exposures appear; a screenshot is saved.

Skips, with the reason shown, only when Chromium is not installed (CI installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

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
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
        yield f"http://127.0.0.1:{port}/?scenario=tutorial.yaml"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
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
        driver.get(server)
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
