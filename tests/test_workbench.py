"""The app's working state (``simulator.workbench``): edits validated as a scenario file's cameras are,
one set of camera defaults whatever the source, and results assembled as every run assembles them."""

from __future__ import annotations

import pandas as pd
import pytest

import simulator
from simulator.build.osm_tags import camera_specs_from_osm
from simulator.errors import InputError
from simulator.scenario import CameraDefaults
from simulator.workbench import Workbench
from tests.scenes import PTZ, X0, Y0, building, window_south, write_scenario

CAM = {"id": "c", **PTZ, "x": 10.0, "y": 0.0, "mount_height_m": 7.0, "range_m": 80.0}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> simulator.Scene:
    tmp = tmp_path_factory.mktemp("wb")
    path = write_scenario(tmp, buildings=[building("h", 0, 20, 20, 30, 9.0)],
                          openings=[window_south("w1", "h", 20.0, 4.0, 6.0, 2.0, 3.5),
                                    window_south("w2", "h", 20.0, 12.0, 14.0, 2.0, 3.5)],
                          cameras=[CAM, {**CAM, "id": "d", "x": 30.0}])
    return simulator.build_scene(simulator.load_scenario(path))


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"mount_height_m": -3.0}, "camera c.mount_height_m", "greater than 0"),
    ({"mount_hieght_m": 6.0}, "camera c.mount_hieght_m", "unknown key"),
    ({"lon": 7.4, "lat": 43.7}, "camera c", "either lon and lat, or x and y"),
    ({"tilt_limits_deg": [10.0, -10.0]}, "camera c", "tilt_limits_deg must be [min, max]"),
    ({"kind": "dome"}, "camera c.kind", "'ptz' or 'fixed'"),
])
def test_an_edit_is_validated_as_a_scenario_file_is(scenario, change, field, says):
    wb = Workbench.open(scenario)
    before = dict(wb.specs["c"])
    with pytest.raises(InputError) as err:
        wb.upsert({**wb.specs["c"], **change})
    assert err.value.file == "app" and err.value.field == field and says in str(err.value)
    assert "\n" not in str(err.value)
    assert wb.specs["c"] == before  # nothing changed


def test_one_default_mount_height_whatever_the_source(scenario, tmp_path):
    """A camera without a mount height sits at the same height above its ground whether it comes from
    the app, a scenario file or an OSM node, and says so in its defaults."""
    wb = Workbench.open(scenario)
    spec = {k: v for k, v in wb.specs["c"].items() if k != "mount_height_m"}
    from_app = wb.upsert({**spec, "id": "e"})
    path = write_scenario(tmp_path, buildings=[building("h", 0, 20, 20, 30, 9.0)],
                          cameras=[{k: v for k, v in CAM.items() if k != "mount_height_m"}])
    (from_file,) = simulator.build_scene(simulator.load_scenario(path)).cameras
    (osm,) = camera_specs_from_osm({"osm_id": "n1", "lon": 0.0, "lat": 0.0, "tags": {"camera:type": "dome"}},
                                   **CameraDefaults().model_dump())
    for cam in (from_app, from_file):
        assert cam.mount_height_m == osm["mount_height_m"]
        assert any(d.startswith("mount_height_m=") for d in cam.defaults)
    assert any(d.startswith("height=") for d in osm["defaults"])


def test_the_workbench_result_is_the_runs_result(scenario):
    """The same rows, labels and plans as ``simulator.analyse`` on the same cameras."""
    wb = Workbench.open(scenario)
    run = simulator.analyse(scenario)
    mine = wb.result()
    key = ["camera_id", "target_id"]
    a = mine.exposures.sort_values(key).reset_index(drop=True)
    b = run.exposures.sort_values(key).reset_index(drop=True)
    assert len(a) > 0 and list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a, b)
    assert mine.summary()["cameras"] == run.summary()["cameras"]
    # a removed camera leaves no row, plan or coverage behind
    wb.remove("d")
    assert set(wb.result().exposures["camera_id"]) == {"c"} and set(wb.result().mask_plans) == {"c"}


def test_positions_in_lon_lat_go_through_the_same_placement(scenario):
    wb = Workbench.open(scenario)
    lon, lat = (float(v) for v in scenario.frame.to_lonlat(X0 + 10.0, Y0 + 0.0))
    spec = {k: v for k, v in wb.specs["c"].items() if k not in ("x", "y")}
    cam = wb.upsert({**spec, "id": "ll", "lon": lon, "lat": lat})
    assert cam.x == pytest.approx(X0 + 10.0, abs=1e-6) and cam.y == pytest.approx(Y0, abs=1e-6)
