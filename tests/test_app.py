"""The Streamlit app, driven through AppTest page by page: widgets are set and clicked, nothing raises,
and the numbers shown are those the library computes for the same cameras."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

import simulator
from simulator.engine.render import render_view
from simulator.frames import azimuth_elevation
from simulator.inputs.bundle import unpack_bundle
from simulator.outputs.export.plans import flat_ground_z, mask_footprint
from simulator.outputs.integrity import load_public_key, verify_plan
from simulator.outputs.report import kind_dori_table
from simulator.scenario import DEFAULT_MOUNT_HEIGHT_M

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


def add_camera(at: AppTest, scene: simulator.Scene, cid: str | None, x: float, y: float) -> tuple[float, float]:
    """Fill the Add form with the lon/lat of scene point (x, y) and place the camera; returns lon, lat."""
    lon, lat = (float(v) for v in scene.frame.to_lonlat(x, y))
    if cid is not None:
        at.text_input(key="add_id").set_value(cid)
    at.number_input(key="add_lat").set_value(lat)
    at.number_input(key="add_lon").set_value(lon)
    next(b for b in at.button if b.label == "Place camera").click().run()
    return lon, lat


def camera_frame(at: AppTest) -> Any:
    """The Regulator's table of every camera (people's column names)."""
    return next(d.value for d in at.dataframe if {"Mask limit", "Compliant"} <= set(getattr(d.value, "columns", [])))


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
    # by default: buildings, the chosen camera's exposed targets and mask footprints, street points, cameras
    assert {"buildings", "targets", "cameras", "mask_footprints", "street_points"} <= set(layers)
    assert "coverage" not in layers and "reach" not in layers
    scene = expected.scene
    chosen = at.selectbox(key="map_camera").value
    assert len(layers["buildings"]["data"]) == len(scene.buildings)
    assert len(layers["cameras"]["data"]) == len(expected.cameras)
    assert len(layers["targets"]["data"]) == len(expected.camera_rows(chosen)) > 0
    # the view opens top-down
    view = json.loads(at.get("deck_gl_json_chart")[0].proto.json)["initialViewState"]
    assert view["pitch"] == 0 and view["bearing"] == 0
    # mask footprints: one polygon per mask of the chosen camera that falls on something
    cam = expected.camera(chosen)
    footprints = sum(not mask_footprint(cam, m, scene.engine, ground_z=flat_ground_z(scene, cam)).is_empty
                     for m in expected.mask_plans[chosen].masks)
    assert len(layers["mask_footprints"]["data"]) == footprints > 0
    # buildings coloured by what their targets show: exposed ones are those of the exposure rows
    exposed = set(expected.exposures["building_id"])
    shown = {d["id"] for d in layers["buildings"]["data"] if d["state"] != "private, not exposed"
             and d["state"] != "not private"}
    assert shown == exposed
    # each building's tooltip states its counts: camera x target rows before masks, and those still exposed
    rows = expected.exposures.groupby("building_id").size()
    for d in layers["buildings"]["data"]:
        assert d["tip"].startswith(f"Building {d['id']}")
        assert f"{rows.get(d['id'], 0)} exposed (camera x target)" in d["tip"]
        assert f"{d['after']} still exposed after masks" in d["tip"]
    after = sum(c["exposed_after_masks"] for c in expected.summary()["cameras"])
    assert sum(d["after"] for d in layers["buildings"]["data"]) == after
    assert {layer: all(d.get("tip") for d in layers[layer]["data"]) for layer in layers} == dict.fromkeys(layers, True)
    # coverage: per camera, the areas by DORI class and masked or not add up to the library's coverage
    at.multiselect(key="layers").set_value(["coverage (all cameras)"]).run()
    data = deck_layers(at)["coverage"]["data"]
    for c in expected.cameras:
        cov = expected.coverage[c.id]
        mine = [d for d in data if d["camera_id"] == c.id]
        assert sum(d["area_m2"] for d in mine) == pytest.approx(cov.area_m2()) and cov.area_m2() > 0
        assert sum(d["area_m2"] for d in mine if d["dori"] == "identify") == pytest.approx(cov.area_m2("identify"))
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
    lon, lat = add_camera(at, expected.scene, "pole-east", 488040.0, 4290000.0)
    assert not at.exception
    m = metrics(at)
    assert m["Cameras"] == "4"
    wb_expected = simulator.workbench.Workbench.open(expected.scene)
    added = wb_expected.upsert({"id": "pole-east", "model": "bosch-mic-ip-starlight-7100i", "lon": lon, "lat": lat,
                                "mount_height_m": DEFAULT_MOUNT_HEIGHT_M})
    assert added.x == pytest.approx(488040.0, abs=0.01) and added.y == pytest.approx(4290000.0, abs=0.01)
    n_new = len(wb_expected.results[added.id].exposures)
    assert int(m[EXPOSED]) == before + n_new and n_new > 0
    # edit the mask limit: the regulator table shows the plan the library makes under that limit
    at.selectbox(key="edit_camera").set_value("pole-west").run()
    form = at.tabs[0]
    limit = [n for n in form.number_input if n.label == "Max masks"][0]
    limit.set_value(3)
    [b for b in form.button if b.label == "Apply"][0].click().run()
    assert not at.exception
    assert [m.value for m in at.success if m.value.startswith("pole-west updated")]  # the edit is confirmed
    spec = dict(wb_expected.specs["pole-west"], mask_limits={"max_masks": 3, "max_vertices": 4,
                                                             "rectangle_only": False})
    wb_expected.upsert(spec)
    plan = wb_expected.results["pole-west"].plan
    shown = camera_frame(at).set_index("Camera").loc["pole-west"]
    assert shown["Mask limit"] == 3 and shown["Masks"] == len(plan.masks)
    assert shown["Compliant"] == ("yes" if plan.compliant else "no")
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
    pan, tilt = float(round(float(az_grid[0] - cam.grid_north_offset_deg) % 360)), float(round(float(el[0])))
    at = app()
    at.selectbox(key="view_camera").set_value("pole-west").run()
    at.slider(key="view_pan").set_value(pan).run()
    at.slider(key="view_tilt").set_value(tilt).run()
    hide = expected.must_hide("pole-west")
    ref = render_view(expected.scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=cam.hfov_deg[0], width=640,
                      masks=masks, masked=False, only=hide)
    m = metrics(at)
    assert m["Targets masks must hide, in view"] == str(len(ref.target_pixels)) and ref.private_pixels > 0
    assert set(ref.target_pixels) <= set(hide.tolist())
    assert m["Their pixels outside masks"] == f"{ref.unmasked_private_pixels} of {ref.private_pixels}"
    assert ref.unmasked_private_pixels < ref.private_pixels  # the masks cover private pixels
    at.toggle(key="view_after").set_value(True).run()
    assert not at.exception
    assert metrics(at)["Their pixels outside masks"] == m["Their pixels outside masks"]
    after = render_view(expected.scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=cam.hfov_deg[0],
                        width=640, masks=masks, masked=True, only=hide)
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
    # the table of every camera holds summary.json's numbers, in people's words
    table = camera_frame(at).set_index("Camera")
    for c in expected.summary()["cameras"]:
        row = table.loc[c["id"]]
        assert row["Exposed targets"] == c["exposed_targets"] and row["Exposed after masks"] == c["exposed_after_masks"]
        assert row["Masks"] == c["masks"] and row["Mask limit"] == c["mask_limit"]
        assert row["Compliant"] == ("yes" if c["compliant"] else "no")
        share = c["public_hidden_share"]
        assert (pd.isna(row["Public view hidden [%]"]) if share is None
                else row["Public view hidden [%]"] == pytest.approx(100 * share, abs=0.05))
    # the report: written in the background, offered for download once ready (or on request)
    if "Download the report (HTML)" not in [b.label for b in at.get("download_button")]:
        at.button(key="prepare_report").click().run()
        assert not at.exception
    assert "Download the report (HTML)" in [b.label for b in at.get("download_button")]
    (job,) = at.session_state["jobs"].values()
    assert "<h1>Camera privacy report" in job.result() and "<h2>Cameras not compliant" in job.result()


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
    path = ROOT / ".app_state" / "scenarios" / "street" / "scenario.yaml"
    own = simulator.build_scene(simulator.load_scenario(path))
    lon, lat = add_camera(at, own, None, 488040.0, 4290000.0)
    assert not at.exception
    wb = simulator.workbench.Workbench.open(own)
    cam = wb.upsert({"id": "cam-001", "model": "bosch-mic-ip-starlight-7100i", "lon": lon, "lat": lat,
                     "mount_height_m": DEFAULT_MOUNT_HEIGHT_M})
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
    ex = expected.exposures
    (building,) = set(ex[ex["target_id"] == "S1-window-10"]["building_id"].astype(str))
    assert at.selectbox(key="where_target").disabled  # until a building is chosen
    at.selectbox(key="where_building").set_value(building).run()
    on_it = at.selectbox(key="where_target").options
    assert on_it == sorted(set(ex[ex["building_id"].astype(str) == building]["target_id"]))  # that building's only
    at.selectbox(key="where_target").set_value("S1-window-10").run()
    assert not at.exception
    cameras = sorted(ex[ex["target_id"] == "S1-window-10"]["camera_id"])
    shown = [d.value for d in at.dataframe if "reason" in getattr(d.value, "columns", [])]
    assert len(shown) == 1 and sorted(shown[0]["camera_id"]) == cameras and len(cameras) == 3


def test_saved_scenario_reopens_from_the_sidebar_with_nothing_lost(expected):
    at = app()
    add_camera(at, expected.scene, "pole-east", 488040.0, 4290000.0)
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


def test_suggest_cameras_then_accept(expected, tmp_path):
    """'Suggest cameras' on the tutorial: the proposal shown is the one ``simulator place`` makes for the
    same settings (the app's cameras being the scenario's), and accepting it adds its cameras, with
    the totals of the library for the new set."""
    from simulator.run.place import propose

    at = app()
    next(b for b in at.button if b.label == "Suggest cameras").click().run()
    assert not at.exception, at.exception
    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "tutorial.yaml"))
    p = propose(scene, budget=3)
    shown = at.session_state["proposal"][1]
    assert shown.chosen == p.chosen and shown.choice.gains == p.choice.gains
    text = " ".join(m.value for m in at.markdown)
    reach = "proposed camera reaches" if len(p.chosen) == 1 else "proposed cameras reach"
    assert f"{len(p.chosen)} {reach} {p.choice.value:,.0f} m²" in text
    before = p.reached_m2(p.existing).sum()
    assert f"your 3 cameras reach {before:,.0f} m²" in text
    next(b for b in at.button if b.label == "Accept into my cameras").click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cameras"] == str(3 + len(p.chosen))
    assert any("added, analysed and saved" in s.value for s in at.success)
    # the totals are the library's for the scenario's cameras plus the accepted ones, as accepted
    from simulator.outputs.placement import chosen_entries

    data = yaml.safe_load((ROOT / "scenarios" / "tutorial.yaml").read_text())
    for layer in ("buildings", "openings", "streets", "private_areas"):
        data[layer]["path"] = str((ROOT / "scenarios" / data[layer]["path"]).resolve())
    data["cameras"] = data["cameras"] + chosen_entries(scene, p)
    path = tmp_path / "with-proposal.yaml"
    path.write_text(yaml.safe_dump(data))
    res = simulator.analyse(path)
    assert metrics[EXPOSED] == str(sum(c["exposed_targets"] for c in res.summary()["cameras"]))


def test_suggest_cameras_over_an_area_drawn_on_the_map(tmp_path):
    """Corners clicked on the map (here set as the clicks leave them) make the watch area: the proposal
    is the one ``simulator place`` makes with that polygon as its ``watch_areas``, and what it watches
    lies inside the polygon."""
    import shapely

    from simulator.run.place import propose

    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "tutorial.yaml"))
    x0, y0, x1, y1 = scene.streets.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    local = [(cx - 40, cy - 15), (cx + 40, cy - 15), (cx + 40, cy + 15), (cx - 40, cy + 15)]
    corners = [tuple(float(v) for v in scene.frame.to_lonlat(x, y)) for x, y in local]
    at = app()
    at.session_state["watch_corners"] = {"tutorial.yaml": corners}
    at.run()
    assert at.radio(key="suggest_what").options[0] == "the area drawn on the map"
    at.radio(key="suggest_what").set_value("the area drawn on the map")
    at.selectbox(key="suggest_level").set_value("recognise")
    next(b for b in at.button if b.label == "Suggest cameras").click().run()
    assert not at.exception, at.exception
    shown = at.session_state["proposal"][1]
    assert shown.grid.names == ("area drawn",) and shown.grid.levels == ("recognise",)
    area = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"id": "x", "level": "recognise"},
        "geometry": {"type": "Polygon", "coordinates": [[list(c) for c in [*corners, corners[0]]]]}}]}
    (tmp_path / "area.geojson").write_text(json.dumps(area))
    data = yaml.safe_load((ROOT / "scenarios" / "tutorial.yaml").read_text())
    for layer in ("buildings", "openings", "streets", "private_areas"):
        data[layer]["path"] = str((ROOT / "scenarios" / data[layer]["path"]).resolve())
    data["watch_areas"] = {"path": str(tmp_path / "area.geojson"), "crs": "EPSG:4326"}
    path = tmp_path / "drawn.yaml"
    path.write_text(yaml.safe_dump(data))
    p = propose(simulator.build_scene(simulator.load_scenario(path)), budget=shown.budget)
    assert shown.chosen == p.chosen and shown.choice.gains == p.choice.gains
    watched = float(shown.watched_m2().sum())
    poly = shapely.Polygon(local)
    assert 0 < watched <= poly.area + 2 * poly.length * scene.scenario.coverage.cell_m  # cells centred inside
    assert f"of {watched:,.0f} m² watched" in " ".join(m.value for m in at.markdown)


def test_drawn_corners_that_cross_make_their_convex_hull():
    import shapely

    from simulator.build.placement import outline_area

    bow_tie = [(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)]
    assert outline_area(bow_tie).equals(shapely.box(0, 0, 1, 1))
    ell = [(0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0)]
    assert outline_area(ell).area == pytest.approx(3.0)  # kept as drawn, not its hull (3.5)
