"""End to end in a real browser: the Streamlit server starts, the page loads in headless Chromium
(Debian's), a camera is added through the UI and its exposures appear; a screenshot is saved. A real
city (Amadora, the shipped scenario, not a generated one) opens with the totals of ``simulator run``.

Skips, with the reason shown, only when Chromium is not installed (CI installs it)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
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


def test_draw_a_watch_area_on_the_map_then_suggest(server, tmp_path):
    """'Draw a watch area' on the tutorial in the browser: four clicks on the map's corner points (their
    pixels worked out from the view by the Web Mercator projection, as deck.gl draws it) make the area
    'Suggest cameras' watches; the proposal shown is the one ``simulator place`` makes for that polygon."""
    import json
    import math
    import time

    import yaml
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    import simulator
    from simulator.build.placement import corner_points, scene_box
    from simulator.run.place import propose

    tutorial = ROOT / "scenarios" / "tutorial.yaml"
    scene = simulator.build_scene(simulator.load_scenario(tutorial))
    gx, gy, step = corner_points(scene_box(scene))
    wanted = [(488000.0, 4289990.0), (488044.0, 4289990.0), (488044.0, 4290010.0), (488000.0, 4290010.0)]
    assert all(np.isclose(gx, x).any() and np.isclose(gy, y).any() for x, y in wanted)  # on the grid
    lonlat = [tuple(round(float(v), 7) for v in scene.frame.to_lonlat(x, y)) for x, y in wanted]
    # the app's first view: top-down on the centre of the cameras' bounds, at the zoom fit_view gives them
    clon, clat = scene.frame.to_lonlat([c.x for c in scene.cameras], [c.y for c in scene.cameras])
    lon0, lon1, lat0, lat1 = float(min(clon)), float(max(clon)), float(min(clat)), float(max(clat))
    lat_c, lon_c = (lat0 + lat1) / 2, (lon0 + lon1) / 2
    span = max(max((lon1 - lon0) * 111_320 * math.cos(math.radians(lat_c)), 80.0) * 1.15 / 1000,
               max((lat1 - lat0) * 110_540, 80.0) * 1.15 / 560)
    zoom = min(max(math.log2(156543.03 * math.cos(math.radians(lat_c)) / span) - 1, 3), 20)
    scale = 512 * 2**zoom / (2 * math.pi)  # px per radian of longitude (512 px tiles)

    def mercator_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    def offset(lon: float, lat: float) -> tuple[int, int]:  # from the canvas centre, y down
        return (round(scale * math.radians(lon - lon_c)), round(-scale * (mercator_y(lat) - mercator_y(lat_c))))

    driver = chromium(tmp_path / "profile")
    try:
        driver.get(server + "?scenario=tutorial.yaml")
        wait = WebDriverWait(driver, 180)
        wait.until(lambda d: metric_values(d).get("Cameras") == "3")
        toggle = driver.find_element(By.XPATH, "//label[.//*[contains(text(), 'Draw a watch area')]]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", toggle)
        toggle.click()
        for k, (lon, lat) in enumerate(lonlat):
            canvas = driver.find_element(By.CSS_SELECTOR, '[data-testid="stDeckGlJsonChart"] canvas')
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)  # wholly in view
            time.sleep(1.5)
            dx, dy = offset(lon, lat)
            ActionChains(driver).move_to_element_with_offset(canvas, dx, dy).pause(0.8).click().perform()
            want = f"Watch area drawn on the map: {k + 1} corner"
            wait.until(lambda d, w=want: w in d.find_element(By.TAG_NAME, "body").text)
        expander = wait.until(ec.element_to_be_clickable((By.XPATH, "//summary[.//*[text()='Suggest cameras']]")))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", expander)
        expander.click()
        wait.until(lambda d: "The area drawn on the map has 4 corners" in d.find_element(By.TAG_NAME, "body").text)
        button = wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//*[text()='Suggest cameras']]")))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.click()
        wait.until(ec.element_to_be_clickable((By.XPATH, "//button[.//*[text()='Accept into my cameras']]")))
        text = driver.find_element(By.TAG_NAME, "body").text
    finally:
        driver.quit()
    area = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "drawn"}, "geometry": {
        "type": "Polygon", "coordinates": [[list(c) for c in [*lonlat, lonlat[0]]]]}}]}
    (tmp_path / "area.geojson").write_text(json.dumps(area))
    data = yaml.safe_load(tutorial.read_text())
    for layer in ("buildings", "openings", "streets", "private_areas"):
        data[layer]["path"] = str((tutorial.parent / data[layer]["path"]).resolve())
    data["watch_areas"] = {"path": str(tmp_path / "area.geojson"), "crs": "EPSG:4326",
                           "default_level": data["placement"].get("watch_streets", {}).get("level", "observe")}
    path = tmp_path / "drawn.yaml"
    path.write_text(yaml.safe_dump(data))
    p = propose(simulator.build_scene(simulator.load_scenario(path)), budget=min(data["placement"]["budget"], 10))
    watched = float(p.watched_m2().sum())
    assert 0 < watched <= 44 * 20
    n = len(p.chosen)
    reach = "proposed camera reaches" if n == 1 else "proposed cameras reach"
    assert f"{n} {reach} {p.choice.value:,.0f} m² of {watched:,.0f} m² watched" in text, text[-2000:]
