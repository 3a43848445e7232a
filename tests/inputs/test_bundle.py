"""Scenario bundles (save with data, open again with nothing lost) and scenarios from uploaded files,
including hostile and broken zips."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest
import yaml

import simulator
from simulator.errors import InputError
from simulator.inputs.bundle import scenario_from_uploads, unpack_bundle
from simulator.workbench import Workbench

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "geodata" / "tutorial"


@pytest.fixture(scope="module")
def tutorial_wb() -> Workbench:
    return Workbench.open(simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "tutorial.yaml")))


def exposure_key(wb: Workbench) -> list[tuple]:
    ex = wb.result().exposures
    return sorted(zip(ex["camera_id"], ex["target_id"], ex["visible_fraction"].round(6), ex["max_px_per_m"].round(3),
                      strict=True))


def test_bundle_round_trip_keeps_edited_cameras_and_results(tutorial_wb, tmp_path):
    wb = tutorial_wb
    # an edit and a new camera, as the app makes them
    spec = dict(wb.specs["mast-limited"], mount_height_m=11.0, pan_limits_deg=[100.0, 250.0],
                mask_limits={"max_masks": 5, "max_vertices": 5, "rectangle_only": False})
    wb.upsert(spec)
    wb.upsert({"id": "added", "model": "axis-q6075-e", "x": 488040.0, "y": 4290000.0, "mount_height_m": 5.0})
    content = wb.bundle()
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert "scenario.yaml" in names and sum(n.startswith("data/") for n in names) == 4
    path = unpack_bundle(content, tmp_path / "opened")
    data = yaml.safe_load(path.read_text())
    assert data["crs"] == "EPSG:32629" and all(not Path(v).is_absolute() for v in
                                               [data["buildings"]["path"], data["streets"]["path"]])
    again = Workbench.open(simulator.build_scene(simulator.load_scenario(path)))
    assert list(again.specs) == list(wb.specs)
    for cid in wb.specs:  # every camera value survives, the edited ones included
        assert again.specs[cid] == wb.specs[cid]
    assert again.specs["mast-limited"]["mount_height_m"] == 11.0
    assert again.specs["mast-limited"]["mask_limits"]["max_masks"] == 5
    assert exposure_key(again) == exposure_key(wb) and len(exposure_key(wb)) > 0
    assert again.regulator_table()[["camera", "masks", "after_masks", "compliant"]].equals(
        wb.regulator_table()[["camera", "masks", "after_masks", "compliant"]])


def _zip(members: dict[str, bytes], *, links: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, content)
    return buf.getvalue()


@pytest.mark.parametrize(("members", "links", "message"), [
    ({"scenario.yaml": b"name: x\n", "../evil.txt": b"x"}, (), "unsafe path"),
    ({"scenario.yaml": b"name: x\n", "/etc/evil": b"x"}, (), "unsafe path"),
    ({"scenario.yaml": b"name: x\n", "data/link": b"/etc/passwd"}, ("data/link",), "unsafe path"),
    ({"data/a.geojson": b"{}"}, (), "no scenario.yaml"),
    ({"scenario.yaml": b"name: x\nbogus: 1\n"}, (), "bogus"),
])
def test_hostile_or_wrong_bundles_are_refused_and_leave_nothing(tmp_path, members, links, message):
    dest = tmp_path / "opened"
    with pytest.raises(InputError, match=message):
        unpack_bundle(_zip(members, links=links), dest, source="upload.zip")
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "evil.txt").exists()


def test_truncated_bundle(tutorial_wb, tmp_path):
    content = tutorial_wb.bundle()
    with pytest.raises(InputError, match="upload.zip"):
        unpack_bundle(content[: len(content) // 2], tmp_path / "x", source="upload.zip")
    assert list(tmp_path.iterdir()) == []


def test_uploads_make_a_scenario_by_geometry_type(tmp_path):
    files = [(p.name, p.read_bytes()) for p in (TUTORIAL / "buildings.geojson", TUTORIAL / "streets.geojson")]
    path = scenario_from_uploads(files, tmp_path / "mine", name="mine")
    data = yaml.safe_load(path.read_text())
    assert data == {"name": "mine", "buildings": {"path": "buildings.geojson"}, "streets": {"path": "streets.geojson"}}
    scene = simulator.build_scene(simulator.load_scenario(path))
    n_buildings = len(json.loads((TUTORIAL / "buildings.geojson").read_text())["features"])
    assert len(scene.buildings) == n_buildings and len(scene.streets) == 1 and scene.cameras == []


def test_upload_cityjson_and_osm_roles(tmp_path, geodata):
    cj = geodata / "cityjson_lod2" / "delft.json"
    path = scenario_from_uploads([(cj.name, cj.read_bytes())], tmp_path / "cj", name="cj")
    assert yaml.safe_load(path.read_text())["models"] == [{"path": "delft.json"}]
    pbf = ROOT / "geodata" / "monaco" / "monaco-latest.osm.pbf"
    path = scenario_from_uploads([(pbf.name, pbf.read_bytes())], tmp_path / "osm", name="osm")
    data = yaml.safe_load(path.read_text())
    assert data["buildings"] == {"path": pbf.name} and data["cameras"] == {"osm": pbf.name}


@pytest.mark.parametrize(("files", "message"), [
    ([("b.geojson", b"x" * 2000)], "the limit is"),
    ([("b.shp.exe", b"abc")], "unsupported file type"),
    ([("b.geojson", b"")], "empty file"),
    ([("b.geojson", b'{"type": "FeatureCollection", "features": [')], "b.geojson"),
    ([("s.geojson", (TUTORIAL / "streets.geojson").read_bytes())], "no buildings"),
    ([("x.zip", b"PK\x03\x04broken")], "x.zip"),
    ([("x.zip", b"PK\x03\x04broken"), ("b.geojson", b"{}")], "x.zip: not a readable zip"),
])
def test_bad_uploads_name_the_file_and_leave_nothing(tmp_path, files, message):
    with pytest.raises(InputError, match=message):
        scenario_from_uploads(files, tmp_path / "mine", name="mine", max_bytes=1000)
    assert not (tmp_path / "mine").exists()
    assert [p for p in tmp_path.iterdir()] == []
