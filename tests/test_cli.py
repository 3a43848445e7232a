"""The command line: outputs as the contract says, and bad input -> one-line error, exit 2, nothing written."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import yaml

from .scenes import PTZ, X0, Y0, building, fc, window_south, write_scenario

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_run_tutorial_outputs(tmp_path):
    out = tmp_path / "out"
    p = run("run", "scenarios/tutorial.yaml", "--out", str(out))
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "tutorial-street"
    assert {"rays", "ray_seconds", "seconds"} <= set(summary["stats"])
    cams = {c["id"]: c for c in summary["cameras"]}
    assert set(cams) == {"pole-west", "bullet-east", "mast-limited"}
    for c in cams.values():
        assert {"id", "exposed_targets", "exposed_after_masks", "masks", "mask_limit", "compliant"} <= set(c)
    rows = list(csv.DictReader((out / "exposures.csv").open()))
    assert list(rows[0]) == ["camera_id", "target_id", "target_kind", "building_id", "visible_fraction",
                             "max_px_per_m", "dori", "distance_m", "max_px_per_m_foreshortened", "iec_2025",
                             "incidence_deg", "seen_into", "visible_fraction_error"]
    # the nearest sample has the highest frontal density, and cos(incidence) <= 1
    assert all(float(r["max_px_per_m_foreshortened"]) <= float(r["max_px_per_m"]) + 0.01 for r in rows)
    assert {r["seen_into"] for r in rows} <= {"True", "False"}
    for cid, c in cams.items():
        assert c["exposed_targets"] == sum(r["camera_id"] == cid for r in rows)
    assert all(0 < float(r["visible_fraction"]) <= 1 for r in rows)
    # target ids from data are the input features' ids
    ids = {r["target_id"] for r in rows}
    assert "N1-window-1" in ids
    # N3 is an office: none of its surfaces are targets
    assert not any(r["building_id"] == "N3" for r in rows)
    import pyogrio
    layers = {name for name, _ in pyogrio.list_layers(out / "results.gpkg")}
    assert {"buildings", "targets", "exposures", "cameras", "coverage"} <= layers
    assert "exposed private targets per camera" in p.stdout
    # only the chosen camera with --camera
    out2 = tmp_path / "one"
    p = run("run", "scenarios/tutorial.yaml", "--out", str(out2), "--camera", "bullet-east")
    assert p.returncode == 0
    assert [c["id"] for c in json.loads((out2 / "summary.json").read_text())["cameras"]] == ["bullet-east"]


def _scenario(tmp_path: Path, **changes) -> Path:
    path = write_scenario(tmp_path, buildings=[building("B1", -10, 20, 10, 30, 10)],
                          openings=[window_south("W", "B1", 20.0, -0.5, 0.5, 1.0, 2.0)],
                          cameras=[{"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 1.5}])
    sc = yaml.safe_load(path.read_text())
    for k, v in changes.items():
        if v is None:
            sc.pop(k, None)
        else:
            sc[k] = v
    path.write_text(yaml.safe_dump(sc))
    return path


def assert_bad(p: subprocess.CompletedProcess[str], out: Path, *needles: str) -> None:
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_unknown_scenario_key(tmp_path):
    path = _scenario(tmp_path, colour="red")
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "scenario.yaml", "colour",
               "unknown key")


def test_unknown_camera_key_names_path(tmp_path):
    path = _scenario(tmp_path, cameras=[{"id": "c", "x": X0, "y": Y0, "lens": 4, **PTZ}])
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "cameras.0.lens")


def test_bad_value(tmp_path):
    path = _scenario(tmp_path, analysis={"max_range_m": -5})
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "analysis.max_range_m")


def test_missing_scenario_and_data_file(tmp_path):
    assert_bad(run("run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")), tmp_path / "o", "nope.yaml")
    path = _scenario(tmp_path, buildings={"path": "missing.gpkg"})
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "missing.gpkg", "not found")


def test_truncated_files(tmp_path):
    (tmp_path / "b.geojson").write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "buildings": {"path": "b.geojson"}}))
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "b.geojson")
    path.write_text("name: t\nbuildings: {path: b.geojson\n")
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "s.yaml", "YAML")


def test_missing_crs(tmp_path):
    import geopandas as gpd
    import shapely
    gpd.GeoDataFrame({"id": ["a"], "height": [9.0]}, geometry=[shapely.box(0, 0, 10, 10)]).to_file(
        tmp_path / "b.shp")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "buildings": {"path": "b.shp"}}))
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "b.shp", "crs", "no CRS")


def test_empty_and_invalid_geometry(tmp_path):
    path = _scenario(tmp_path)
    (tmp_path / "b.geojson").write_text(json.dumps(fc([])))
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "b.geojson", "no features")
    # all vertices on a line: no area, cannot be repaired
    flat = {"type": "Feature", "properties": {"id": "z", "height": 5},
            "geometry": {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 5, Y0], [X0 + 10, Y0], [X0, Y0]]]}}
    (tmp_path / "b.geojson").write_text(json.dumps(fc([flat])))
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "b.geojson", "geometry",
               "invalid polygon")


def test_negative_height(tmp_path):
    path = _scenario(tmp_path)
    (tmp_path / "b.geojson").write_text(json.dumps(fc([building("B1", -10, 20, 10, 30, -4)])))
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "b.geojson", "height",
               "negative")


def test_swapped_lon_lat(tmp_path):
    # the buildings are near (-9.0, 38.75); a camera given as lon=38.75, lat=-9.0 lands in Africa
    path = _scenario(tmp_path, cameras=[{"id": "c", "lon": 38.75, "lat": -9.0, **PTZ}])
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "cameras.0.lon", "swapped")
    path = _scenario(tmp_path, cameras=[{"id": "c", "lon": -9.0, "lat": 138.75, **PTZ}])
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "cameras.0.lat")


def test_unknown_model_and_camera(tmp_path):
    path = _scenario(tmp_path, cameras=[{"id": "c", "x": X0, "y": Y0, "model": "acme-9000"}])
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "acme-9000", "valid:")
    path = _scenario(tmp_path)
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o"), "--camera", "zzz"), tmp_path / "o", "zzz")


def test_hostile_xml(tmp_path):
    bomb = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0"><n>&lol4;&xxe;</n></core:CityModel>"""
    (tmp_path / "m.gml").write_text(bomb)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "crs": "EPSG:32632", "models": [{"path": "m.gml"}]}))
    p = run("run", str(path), "--out", str(tmp_path / "o"))
    assert_bad(p, tmp_path / "o", "m.gml")
    assert "root:" not in p.stderr


def test_model_without_crs(tmp_path, geodata):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "models": [
        {"path": str(geodata / "cityjson_lod2" / "rotterdam_subset.json")}]}))
    assert_bad(run("run", str(path), "--out", str(tmp_path / "o")), tmp_path / "o", "rotterdam_subset.json", "crs")


def test_file_without_crs_takes_scenario_crs(tmp_path):
    import geopandas as gpd
    import shapely
    gpd.GeoDataFrame({"id": ["a"], "height": [9.0]}, geometry=[shapely.box(X0, Y0 + 20, X0 + 10, Y0 + 30)]).to_file(
        tmp_path / "b.shp")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "crs": "EPSG:32629", "buildings": {"path": "b.shp"}}))
    p = run("run", str(path), "--out", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["frame"]["crs"] == "EPSG:32629"
