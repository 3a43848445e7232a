"""Every shipped scenario loads and runs; numbers checked against the data (not the engine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.inputs.osm import read_osm

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


def test_all_scenarios_validate():
    names = sorted(p.name for p in SCEN.glob("*.yaml"))
    assert names == ["amadora.yaml", "helsinki.yaml", "ingolstadt-lod3.yaml", "monaco.yaml", "tutorial.yaml"]
    for p in SCEN.glob("*.yaml"):
        simulator.load_scenario(p)


def test_ingolstadt_lod3():
    scene = simulator.build_scene(simulator.load_scenario(SCEN / "ingolstadt-lod3.yaml"))
    t = scene.targets
    data = t.source == "data"
    # SOURCE.txt: 143 windows and 15 doors over the ten buildings, all kept as data targets
    assert (t.kind[data] == "window").sum() == 143 and (t.kind[data] == "door").sum() == 15
    assert set(scene.buildings["height_source"]) == {"measured"}
    # ground from the models: absolute heights ~413-416 m; cameras stand on it
    for c in scene.cameras:
        assert 412 < c.z - c.mount_height_m < 417
    res = simulator.analyse(scene)
    ex = res.exposures
    assert set(ex["camera_id"]) == {c.id for c in scene.cameras}
    for c in res.summary()["cameras"]:  # every camera: nothing left exposed, or a stated non-compliance
        assert c["exposed_after_masks"] == 0 or (not c["compliant"] and c["reasons"])
    assert (ex["target_kind"] == "window").sum() > 100
    # ids of data openings are the CityGML gml:ids
    assert ex.loc[ex["target_kind"] == "window", "target_id"].str.contains("_BP.").all()


def test_helsinki_cameras_from_osm():
    scene = simulator.build_scene(simulator.load_scenario(SCEN / "helsinki.yaml"))
    nodes = read_osm(ROOT / "geodata" / "helsinki" / "Helsinki.osm.pbf").cameras
    expected = [n for n in nodes if n["tags"].get("surveillance") != "indoor"
                and n["tags"].get("surveillance:type", "camera") not in ("guard", "gunshot_detector")]
    assert len(scene.cameras) == len(expected)
    assert all(c.defaults for c in scene.cameras)  # most tags are missing: defaults stated
    res = simulator.analyse(scene, cameras=[c.id for c in scene.cameras[:4]])
    assert res.stats["rays"] > 0 and len(res.summary()["cameras"]) == 4
    for c in res.summary()["cameras"]:
        assert c["exposed_after_masks"] == 0 or (not c["compliant"] and c["reasons"])


def test_monaco_runs():
    scene = simulator.build_scene(simulator.load_scenario(SCEN / "monaco.yaml"))
    src = scene.buildings["height_source"].value_counts()
    assert src["default"] > 0.8 * len(scene.buildings)  # sparse heights, stated per building
    res = simulator.analyse(scene, cameras=["port-mast-1", "port-mast-2"])
    assert len(res.exposures) > 0


@pytest.fixture(scope="module")
def amadora():
    return simulator.build_scene(simulator.load_scenario(SCEN / "amadora.yaml"))


def test_amadora_scene(amadora):
    assert len(amadora.cameras) == 141
    assert {c.model for c in amadora.cameras} == {"bosch-mic-ip-starlight-7100i"}
    assert set(amadora.buildings["source"]) == {"generated"}
    assert set(amadora.buildings["height_source"]) == {"generated"}
    xy = np.array([[c.x, c.y] for c in amadora.cameras])
    d = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)) + np.eye(len(xy)) * 1e9
    assert d.min() >= 100.0  # min_separation_m
    # cameras stand on the terrain: EU-DEM heights 6.5 .. 306.8 m, plus 8 m mounts
    z = np.array([c.z for c in amadora.cameras])
    assert (z >= 6.5 + 8).all() and (z <= 306.8 + 8).all() and np.ptp(z) > 50
    # deterministic placement
    again = simulator.build_scene(simulator.load_scenario(SCEN / "amadora.yaml"))
    assert [(c.id, c.x, c.y) for c in again.cameras] == [(c.id, c.x, c.y) for c in amadora.cameras]


def test_amadora_subset_runs(amadora):
    res = simulator.analyse(amadora, cameras=[c.id for c in amadora.cameras[:3]])
    assert len(res.exposures) > 0
    for c in res.summary()["cameras"]:
        assert c["exposed_after_masks"] == 0 or (not c["compliant"] and c["reasons"])
        assert c["masks"] <= c["mask_limit"] or not c["compliant"]
    assert set(res.exposures["dori"]) <= {"identify", "recognise", "observe", "detect", "none"}
