"""Hostile and careless inputs: each gets one line naming the file and field, exit 2, before the work,
and nothing written; what is repaired or left out is named in summary.json's notes, never silent."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from simulator import cli

from .scenes import PTZ, X0, Y0, building, fc, write_scenario

ROOT = Path(__file__).resolve().parents[1]


def _base(tmp: Path, *, cams=None, blds=None, **extra) -> Path:
    blds = blds if blds is not None else [building("A", -6, 15, 6, 23, 9.0), building("B", 10, 15, 20, 23, 9.0)]
    cams = cams if cams is not None else [{"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 4.0}]
    return write_scenario(tmp, buildings=blds, cameras=cams, **extra)


def _refused(capsys, scenario: Path, out: Path, *words: str) -> str:
    capsys.readouterr()
    assert cli.main(["run", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for w in words:
        assert w in err[0], (w, err[0])
    assert not out.exists() and not list(out.parent.glob(f".{out.name}.staging-*"))
    return err[0]


def test_a_camera_2000_km_from_the_data_is_refused_before_the_work(tmp_path, capsys):
    sc = _base(tmp_path / "s", cams=[{"id": "far", **PTZ, "x": 2_000_000.0, "y": 0.0, "mount_height_m": 4.0}])
    _refused(capsys, sc, tmp_path / "o", "camera far stands", "km from the nearest building", "cameras")


def test_lon_lat_declared_as_utm_is_refused(tmp_path, capsys):
    feats = [{"type": "Feature", "properties": {"id": "A", "height": 9, "building": "residential"},
              "geometry": {"type": "Polygon", "coordinates": [[[-9.14, 38.75], [-9.139, 38.75], [-9.139, 38.751],
                                                               [-9.14, 38.75]]]}}]
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "b.geojson").write_text(json.dumps(fc(feats)))  # the file declares EPSG:32629
    sc = tmp_path / "s" / "scenario.yaml"
    sc.write_text(yaml.safe_dump({"name": "x", "crs": "EPSG:32629", "buildings": {"path": "b.geojson"},
                                  "cameras": [{"id": "c", **PTZ, "lon": -9.14, "lat": 38.75}]}))
    _refused(capsys, sc, tmp_path / "o", "far outside the area where EPSG:32629 is used", "look like lon/lat", "crs")


@pytest.mark.parametrize(("section", "values", "field"), [
    ("analysis", {"sample_spacing_m": 1e-6, "max_samples_per_target": 10**9}, "analysis"),
    ("coverage", {"cell_m": 1e-3}, "coverage.cell_m"),
    ("masks", {"street_sample_spacing_m": 1e-6}, "masks.street_sample_spacing_m"),
    ("windows", {"spacing_m": 1e-4}, "windows.spacing_m"),
])
def test_tiny_spacings_are_refused_by_the_schema(tmp_path, capsys, section, values, field):
    _refused(capsys, _base(tmp_path / "s", **{section: values}), tmp_path / "o", field)


@pytest.mark.parametrize(("limit", "field"), [("max_samples", "analysis.sample_spacing_m"),
                                              ("max_grid_cells", "coverage.cell_m"),
                                              ("max_rays", "analysis.max_range_m")])
def test_work_beyond_the_limits_is_refused_before_it_starts(tmp_path, capsys, limit, field):
    sc = _base(tmp_path / "s", limits={limit: 10}, windows={"synthesize": True})
    line = _refused(capsys, sc, tmp_path / "o", field, f"limits.{limit}")
    assert "about" in line


@pytest.mark.parametrize("bad", ["NaN", "Infinity"])
def test_nan_or_infinity_in_a_geojson_polygon_is_refused(tmp_path, capsys, bad):
    sc = _base(tmp_path / "s")
    text = (tmp_path / "s" / "b.geojson").read_text()
    text = text.replace(f"{X0 - 6.0}, {Y0 + 15.0}", f"{bad}, {Y0 + 15.0}", 1)
    assert bad in text
    (tmp_path / "s" / "b.geojson").write_text(text)
    _refused(capsys, sc, tmp_path / "o", "b.geojson", "geometry")


def test_a_nan_vertex_in_cityjson_is_refused(tmp_path, capsys):
    from simulator.inputs.cityjson import read_cityjson

    doc = {"type": "CityJSON", "version": "2.0", "vertices": [[0, 0, 0], [1, 0, 0], [float("nan"), 1, 0]],
           "CityObjects": {}, "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/32629"}}
    p = tmp_path / "m.city.json"
    p.write_text(json.dumps(doc))  # Python writes the NaN token, as a careless exporter would
    with pytest.raises(Exception, match="vertex 2 is not finite"):
        read_cityjson(p, label="m.city.json")


@pytest.mark.parametrize(("camera", "field"), [
    ({"mount_height_m": 1e9}, "mount_height_m"),
    ({"mask_limits": {"max_masks": 0}}, "max_masks"),
    ({"pan_limits_deg": [0, 720]}, "pan_limits_deg"),
    ({"tilt_limits_deg": [-90, 120]}, "tilt_limits_deg"),
])
def test_implausible_camera_values_are_refused_and_named(tmp_path, capsys, camera, field):
    sc = _base(tmp_path / "s", cams=[{"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 4.0, **camera}])
    line = _refused(capsys, sc, tmp_path / "o", field)
    assert "unknown key" not in line


@pytest.mark.parametrize(("height", "words"), [(10_000, "is implausible"), ("ten", "'ten'")])
def test_implausible_building_heights_are_refused(tmp_path, capsys, height, words):
    blds = [building("A", -6, 15, 6, 23, 9.0)]
    blds[0]["properties"]["height"] = height
    _refused(capsys, _base(tmp_path / "s", blds=blds), tmp_path / "o", words, "feature A", "height")


def test_a_missing_id_field_is_refused(tmp_path, capsys):
    sc = _base(tmp_path / "s", building_opts={"id_field": "osm_id"})
    _refused(capsys, sc, tmp_path / "o", "no field 'osm_id'", "buildings.id_field")


def test_what_is_left_out_or_made_unique_is_named_in_the_summary(tmp_path):
    blds = [building("A", -6, 15, 6, 23, 9.0), building("A", 10, 15, 20, 23, 9.0),
            {"type": "Feature", "properties": {"id": "P", "height": 9}, "geometry": {"type": "Point",
                                                                                  "coordinates": [X0, Y0 + 40]}}]
    out = tmp_path / "o"
    assert cli.main(["run", str(_base(tmp_path / "s", blds=blds)), "--out", str(out)]) == 0
    notes = json.loads((out / "summary.json").read_text())["notes"]
    assert any("1 duplicate building ids made unique" in n and ": A" in n for n in notes), notes
    assert any("1 features that are not polygons (Point) were left out: P" in n for n in notes), notes
    assert "duplicate building ids" in (out / "report.html").read_text()


def test_an_extent_with_lon_and_lat_swapped_is_refused(tmp_path, capsys):
    from simulator.frames import Frame, parse_crs

    lon, lat = Frame(parse_crs("EPSG:32629")).to_lonlat([X0], [Y0])
    swapped = [float(lat[0]) - 0.01, float(lon[0]) - 0.01, float(lat[0]) + 0.01, float(lon[0]) + 0.01]
    _refused(capsys, _base(tmp_path / "s", extent=swapped), tmp_path / "o", "the extent holds none of the 2 buildings",
             "swapped", "extent")


@pytest.mark.parametrize("z", ["--z=-1e9", "--z=nan"])
def test_where_refuses_an_implausible_height(capsys, z):
    assert cli.main(["where", str(ROOT / "scenarios" / "tutorial.yaml"), "--lon", "-9.13", "--lat", "38.75", z]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--z" in err[0]


@pytest.mark.parametrize("path", ["/etc/hostname", "../outside.geojson", "data/../../outside.geojson"])
def test_a_bundle_naming_files_outside_itself_is_refused(tmp_path, path):
    from simulator.errors import InputError
    from simulator.inputs.bundle import unpack_bundle

    (tmp_path / "outside.geojson").write_text(json.dumps(fc([building("A", 0, 0, 5, 5, 9.0)])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("scenario.yaml", yaml.safe_dump({"name": "x", "crs": "EPSG:32629", "buildings": {"path": path},
                                                    "cameras": [{"id": "c", "x": X0, "y": Y0}]}))
    (tmp_path / "dest").mkdir()
    with pytest.raises(InputError, match="names a file outside the bundle"):
        unpack_bundle(buf.getvalue(), tmp_path / "dest" / "b", source="b.zip")
    assert not (tmp_path / "dest" / "b").exists()
