"""End to end in a real browser: the Streamlit server starts, the page loads in headless Chromium
(Debian's), a camera is added through the UI and its exposures appear; a screenshot is saved. A real
city (Amadora, the shipped scenario, not a generated one) opens with the totals of ``simulator run``.

Skips, with the reason shown, only when Chromium is not installed (CI installs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.browser import CHROMIUM, DRIVER, ROOT, chromium, free_port, start_app, stop_app

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Chromium or chromedriver missing: apt-get install chromium chromium-driver")


@pytest.fixture
def server(tmp_path):
    shutil.rmtree(ROOT / ".app_state", ignore_errors=True)
    port = free_port()
    proc = start_app(port, {"XDG_CONFIG_HOME": str(tmp_path / "config")})
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_app(proc)
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


def test_a_real_city_in_the_browser(server, tmp_path):
    """Amadora (141 cameras, 602k private targets) opened in the browser: the page's totals are those of
    ``simulator run``'s summary.json for the same scenario, and every camera is on the map."""
    import json

    from selenium.webdriver.support.ui import WebDriverWait

    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "simulator.cli", "run", "scenarios/amadora.yaml", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    cams = json.loads((out / "summary.json").read_text())["cameras"]
    driver = chromium(tmp_path / "profile")
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
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium(tmp_path / "profile")
    try:
        driver.get(server + "?scenario=tutorial.yaml")
        wait = WebDriverWait(driver, 120)
        try:
            wait.until(lambda d: metric_values(d).get("Cameras") == "3")
        except TimeoutException:
            page = driver.find_element(By.TAG_NAME, "body").text[:1500]
            raise AssertionError(f"no 3 cameras: {metric_values(driver)} page: {page!r}") from None
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


def test_suggest_cameras_in_the_browser(server, tmp_path):
    """'Suggest cameras' on the tutorial in the browser: the proposal appears, is accepted, and the
    camera count and the exposure total change (the accepted camera's exposures are added)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium(tmp_path / "profile")
    try:
        driver.get(server + "?scenario=tutorial.yaml")
        wait = WebDriverWait(driver, 180)
        wait.until(lambda d: metric_values(d).get("Cameras") == "3")
        before = int(metric_values(driver)["Exposed private targets (camera x target)"])
        expander = wait.until(ec.element_to_be_clickable((By.XPATH, "//summary[.//*[text()='Suggest cameras']]")))
        driver.execute_script("arguments[0].scrollIntoView();", expander)
        expander.click()
        button = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//*[text()='Suggest cameras']]")))
        button.click()
        accept = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//*[text()='Accept into my cameras']]")))
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "proposed camera" in text and "m² watched" in text
        accept.click()
        wait.until(lambda d: metric_values(d).get("Cameras") not in (None, "3"))
        n = int(metric_values(driver)["Cameras"])
        assert n > 3
        wait.until(lambda d: "added, analysed and saved" in d.find_element(By.TAG_NAME, "body").text)
        after = int(metric_values(driver)["Exposed private targets (camera x target)"])
        assert after > before
        logs = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not [e for e in logs if "Uncaught" in e.get("message", "")], logs
    finally:
        driver.quit()
