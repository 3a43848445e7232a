"""The app's cache of analysed cameras (``simulator.outputs.analysed``): a camera analysed before comes
back equal and casts no ray; anything it depends on (its values, the scenario, a data file, the code)
changes the key; a file cut short counts as absent."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

import simulator
from simulator.outputs.analysed import AnalysedCameras, camera_digest, scene_digest
from simulator.workbench import Workbench

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def tutorial(tmp_path: Path) -> Path:
    """A copy of the tutorial scenario with its data (so that a data file can be changed)."""
    shutil.copytree(ROOT / "geodata" / "tutorial", tmp_path / "geodata" / "tutorial")
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / "tutorial.yaml", tmp_path / "scenarios" / "tutorial.yaml")
    return tmp_path / "scenarios" / "tutorial.yaml"


def test_a_second_open_casts_no_ray_and_gives_the_same_results(tutorial, tmp_path):
    scene = simulator.build_scene(simulator.load_scenario(tutorial))
    cache = AnalysedCameras.for_scenario(tmp_path / "cache", scene.scenario)
    first = Workbench.open(scene, cache=cache)
    assert first.analysed_from_cache == 0 and len(list(cache.folder.glob("*.pkl"))) == len(scene.cameras)
    rays = scene.engine.rays_cast
    again = Workbench.open(scene, cache=cache)
    assert again.analysed_from_cache == len(scene.cameras) and scene.engine.rays_cast == rays
    pd.testing.assert_frame_equal(again.result().exposures, first.result().exposures)
    assert again.result().summary()["cameras"] == first.result().summary()["cameras"]


def test_what_a_result_depends_on_changes_its_key(tutorial):
    scenario = simulator.load_scenario(tutorial)
    scene = simulator.build_scene(scenario)
    cam = scene.cameras[0]
    key = scene_digest(scenario)
    assert camera_digest(cam) != camera_digest(dataclasses.replace(cam, mount_height_m=cam.mount_height_m + 0.5))
    assert camera_digest(cam) == camera_digest(dataclasses.replace(cam))
    streets = tutorial.parents[1] / "geodata" / "tutorial" / "streets.geojson"
    streets.write_bytes(streets.read_bytes() + b"\n")  # the same streets, another file
    assert scene_digest(scenario) != key
    tutorial.write_text(tutorial.read_text() + "\n# a comment\n")
    assert scene_digest(simulator.load_scenario(tutorial)) != key


def test_a_file_cut_short_counts_as_absent(tutorial, tmp_path):
    scene = simulator.build_scene(simulator.load_scenario(tutorial))
    cache = AnalysedCameras.for_scenario(tmp_path / "cache", scene.scenario)
    Workbench.open(scene, cache=cache)
    cam = scene.cameras[0]
    path = cache.folder / f"{camera_digest(cam)}.pkl"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert cache.load(cam) is None
    again = Workbench.open(scene, cache=cache)  # analysed again, and filed whole
    assert again.analysed_from_cache == len(scene.cameras) - 1 and cache.load(cam) is not None
    assert not list(cache.folder.glob("*.tmp"))
