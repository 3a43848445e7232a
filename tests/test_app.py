"""The Streamlit app, driven through AppTest page by page: widgets are set and clicked, nothing raises,
and the numbers shown are those the library computes for the same cameras."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import simulator
from simulator.engine.render import render_view
from simulator.frames import azimuth_elevation
from simulator.inputs.bundle import unpack_bundle
from simulator.outputs.export.plans import flat_ground_z, mask_footprint
from simulator.outputs.integrity import load_public_key, verify_plan
from simulator.outputs.report import kind_dori_table

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "geodata" / "tutorial"
EXPOSED = "Exposed private targets (camera x target)"


@pytest.fixture(autouse=True)
def _clean_state():
    shutil.rmtree(ROOT / ".app_state", ignore_errors=True)
    yield
    shutil.rmtree(ROOT / ".app_state", ignore_errors=True)


@pytest.fixture(scope="module")
def expected() -> simulator.Result:
    return simulator.analyse(ROOT / "scenarios" / "tutorial.yaml")


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def deck_layers(at: AppTest) -> dict[str, dict]:
    spec = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    return {layer["id"]: layer for layer in spec["layers"]}


def test_sidebar_totals_are_the_library_totals(expected):
    at = app()
    assert at.sidebar.selectbox[0].value == "tutorial.yaml"
    m = metrics(at)
    assert m["Cameras"] == "3"
    assert int(m[EXPOSED]) == len(expected.exposures) > 0
    summary = expected.summary()["cameras"]
    assert int(m["Still exposed after masks"]) == sum(c["exposed_after_masks"] for c in summary)
    assert m["Compliant cameras"] == f"{sum(c['compliant'] for c in summary)} / 3"
    assert [t.label for t in at.tabs] == ["Map", "Camera view", "Regulator", "Export"]


def test_map_page_layers(expected):
    at = app()
    layers = deck_layers(at)
    assert {"buildings", "targets", "reach", "cameras", "coverage", "mask_footprints", "street_points"} <= set(layers)
    scene = expected.scene
    assert len(layers["buildings"]["data"]) == len(scene.buildings)
    assert len(layers["targets"]["data"]) == len(expected.exposures)
    # coverage: per camera, the areas by DORI class and masked or not add up to the library's coverage
    data = layers["coverage"]["data"]
    for cam in expected.cameras:
        cov = expected.coverage[cam.id]
        mine = [d for d in data if d["camera_id"] == cam.id]
        assert sum(d["area_m2"] for d in mine) == pytest.approx(cov.area_m2()) and cov.area_m2() > 0
        assert sum(d["area_m2"] for d in mine if d["dori"] == "identify") == pytest.approx(cov.area_m2("identify"))
    # mask footprints: one polygon per mask that falls on something
    footprints = sum(not mask_footprint(c, m, scene.engine, ground_z=flat_ground_z(scene, c)).is_empty
                     for c in expected.cameras for m in expected.mask_plans[c.id].masks)
    assert len(layers["mask_footprints"]["data"]) == footprints > 0
    # the face-identification layer: where some camera reaches identify through no mask
    at.multiselect(key="layers").set_value(["face identification"]).run()
    cell, cells = expected.identify_cells(after_masks=True)
    faces = deck_layers(at)["face_identification"]["data"]
    assert len(faces) >= 1 and len(cells) * cell**2 > 0
    # hiding layers removes them from the map
    at.multiselect(key="layers").set_value(["reach"]).run()
    assert set(deck_layers(at)) == {"buildings", "reach", "cameras", "street_points"}


def test_add_edit_delete_camera_and_reload(expected):
    at = app()
    before = int(metrics(at)[EXPOSED])
    form = at.tabs[0]
    form.text_input[0].set_value("pole-east")
    form.number_input[0].set_value(488040.0)
    form.number_input[1].set_value(4290000.0)
    form.button[0].click().run()
    assert not at.exception
    m = metrics(at)
    assert m["Cameras"] == "4"
    wb_expected = simulator.workbench.Workbench.open(expected.scene)
    added = wb_expected.upsert({"id": "pole-east", "model": "bosch-mic-ip-starlight-7100i", "x": 488040.0,
                                "y": 4290000.0, "mount_height_m": 6.0})
    n_new = len(wb_expected.results[added.id].exposures)
    assert int(m[EXPOSED]) == before + n_new and n_new > 0
    # edit the mask limit: the regulator table shows the plan the library makes under that limit
    at.selectbox(key="edit_camera").set_value("pole-west").run()
    form = at.tabs[0]
    limit = [n for n in form.number_input if n.label == "Max masks"][0]
    limit.set_value(3)
    [b for b in form.button if b.label == "Apply"][0].click().run()
    assert not at.exception
    spec = dict(wb_expected.specs["pole-west"], mask_limits={"max_masks": 3, "max_vertices": 4,
                                                             "rectangle_only": False})
    wb_expected.upsert(spec)
    plan = wb_expected.results["pole-west"].plan
    shown = at.dataframe[0].value.set_index("camera").loc["pole-west"]
    assert shown["mask_limit"] == 3 and shown["masks"] == len(plan.masks) and bool(shown["compliant"]) == plan.compliant
    # a fresh session (browser reload) sees the saved cameras, then delete one
    again = app()
    assert metrics(again)["Cameras"] == "4"
    again.selectbox(key="edit_camera").set_value("pole-east").run()
    again.button(key="delete_camera").click().run()
    assert metrics(again)["Cameras"] == "3"


def test_camera_view_before_and_after_masks(expected):
    cam = next(c for c in expected.cameras if c.id == "pole-west")
    masks = expected.mask_plans["pole-west"].masks
    # look at the centre of a mask that covers a window
    mask = next(m for m in masks if any("/w" in t or "win" in t for t in m.targets))
    az_grid, el = azimuth_elevation(mask.centre[None, :])
    pan, tilt = round(float(az_grid[0] - cam.grid_north_offset_deg) % 360, 2), round(float(el[0]), 2)
    at = app()
    at.selectbox(key="view_camera").set_value("pole-west").run()
    at.slider(key="view_pan").set_value(pan).run()
    at.slider(key="view_tilt").set_value(tilt).run()
    ref = render_view(expected.scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=cam.hfov_deg[0], width=640,
                      masks=masks, masked=False)
    m = metrics(at)
    assert m["Private targets in view"] == str(len(ref.target_pixels)) and ref.private_pixels > 0
    assert m["Private pixels outside masks"] == f"{ref.unmasked_private_pixels} of {ref.private_pixels}"
    assert ref.unmasked_private_pixels < ref.private_pixels  # the masks cover private pixels
    at.toggle(key="view_after").set_value(True).run()
    assert not at.exception
    assert metrics(at)["Private pixels outside masks"] == m["Private pixels outside masks"]
    after = render_view(expected.scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=cam.hfov_deg[0],
                        width=640, masks=masks, masked=True)
    # the image after masks has the masked pixels painted black: darker than before
    assert after.image.mean() < ref.image.mean()


def test_regulator_page(expected):
    at = app()
    at.selectbox(key="regulator_camera").set_value("pole-west").run()
    summary = {c["id"]: c for c in expected.summary()["cameras"]}["pole-west"]
    m = metrics(at)
    assert m["Exposed targets"] == str(summary["exposed_targets"])
    assert m["After masks"] == str(summary["exposed_after_masks"])
    assert m["Masks used / limit"] == f"{summary['masks']} / {summary['mask_limit']}"
    assert m["Public view hidden"] == ("–" if summary["public_hidden_share"] is None
                                      else f"{100 * summary['public_hidden_share']:.1f} %")
    frames = [d.value for d in at.dataframe]
    before = kind_dori_table(expected, "pole-west")
    assert any(f.shape == before.shape and np.array_equal(f.to_numpy(), before.to_numpy()) for f in frames)
    assert (at.error if not summary["compliant"] else at.success)
    assert [b.label for b in at.get("download_button")][:1] == ["Download the report (HTML)"]


def test_export_page_signed_zip_and_scenario_bundle(expected, tmp_path):
    at = app()
    at.radio(key="vendor").set_value("onvif").run()
    at.button(key="prepare_export").click().run()
    assert not at.exception
    vendor, content = at.session_state["export_zip"]
    z = zipfile.ZipFile(io.BytesIO(content))
    names = z.namelist()
    assert vendor == "onvif" and sum(n.startswith("masks/onvif/") for n in names) == 3
    (tmp_path / "k.pub").write_bytes(z.read("signing-key.pub"))
    pub = load_public_key(tmp_path / "k.pub")
    for cam in expected.cameras:
        plan = json.loads(z.read(f"masks/{cam.id}.json"))
        verify_plan(plan, pub)  # raises when the signature does not match
        assert len(plan["masks"]) == len(expected.mask_plans[cam.id].masks)
    at.button(key="prepare_bundle").click().run()
    path = unpack_bundle(at.session_state["bundle_zip"], tmp_path / "opened")
    reopened = simulator.analyse(path)
    assert len(reopened.exposures) == len(expected.exposures)


def test_own_data_upload_then_add_a_camera():
    at = app()
    files = [(p.name, p.read_bytes(), "application/geo+json")
             for p in (TUTORIAL / "buildings.geojson", TUTORIAL / "streets.geojson")]
    at.sidebar.file_uploader[0].set_value(files).run()
    at.sidebar.text_input(key="own_name").set_value("street").run()
    at.button(key="open_own").click().run()
    assert not at.exception and not at.sidebar.error
    assert at.sidebar.selectbox[0].value == "yours/street"
    assert metrics(at)["Cameras"] == "0"
    form = at.tabs[0]
    form.number_input[0].set_value(488040.0)
    form.number_input[1].set_value(4290000.0)
    form.button[0].click().run()
    assert not at.exception
    path = ROOT / ".app_state" / "scenarios" / "street" / "scenario.yaml"
    wb = simulator.workbench.Workbench.open(simulator.build_scene(simulator.load_scenario(path)))
    cam = wb.upsert({"id": "cam-001", "model": "bosch-mic-ip-starlight-7100i", "x": 488040.0, "y": 4290000.0,
                     "mount_height_m": 6.0})
    assert metrics(at)["Cameras"] == "1"
    assert int(metrics(at)[EXPOSED]) == len(wb.results[cam.id].exposures) > 0


def test_own_data_bad_file_shows_one_line_error():
    at = app()
    at.sidebar.file_uploader[0].set_value([("broken.geojson", b'{"type": "FeatureCollection", "feat', "text/json")])
    at.run()
    at.button(key="open_own").click().run()
    assert not at.exception
    errors = at.sidebar.error
    assert len(errors) == 1 and "broken.geojson" in errors[0].value and "\n" not in errors[0].value
    assert at.sidebar.selectbox[0].value == "tutorial.yaml"


def test_regulator_where_question(expected):
    at = app()
    at.selectbox(key="where_target").set_value("S1-window-10").run()
    assert not at.exception
    ex = expected.exposures
    cameras = sorted(ex[ex["target_id"] == "S1-window-10"]["camera_id"])
    shown = [d.value for d in at.dataframe if "reason" in getattr(d.value, "columns", [])]
    assert len(shown) == 1 and sorted(shown[0]["camera_id"]) == cameras and len(cameras) == 3


def test_saved_scenario_reopens_from_the_sidebar_with_nothing_lost(expected):
    at = app()
    form = at.tabs[0]
    form.text_input[0].set_value("pole-east")
    form.number_input[0].set_value(488040.0)
    form.number_input[1].set_value(4290000.0)
    form.button[0].click().run()
    exposed = metrics(at)[EXPOSED]
    at.button(key="prepare_bundle").click().run()
    content = at.session_state["bundle_zip"]
    again = app()
    again.sidebar.file_uploader[0].set_value([("tutorial-scenario.zip", content, "application/zip")]).run()
    again.sidebar.text_input(key="own_name").set_value("reopened").run()
    again.button(key="open_own").click().run()
    assert not again.exception and not again.sidebar.error
    assert again.sidebar.selectbox[0].value == "yours/reopened"
    m = metrics(again)
    assert m["Cameras"] == "4" and m[EXPOSED] == exposed
    assert set(again.selectbox(key="edit_camera").options) == {"pole-west", "bullet-east", "mast-limited", "pole-east"}
