"""The simulated camera view: geometry of the ray-cast image checked by hand."""

from __future__ import annotations

import math

import numpy as np

import simulator
from simulator.engine.render import render_view
from tests.scenes import PTZ, building, window_south, write_scenario


def test_view_of_a_wall_and_its_window(tmp_path):
    # a camera 1.5 m up looks due north at B1's south wall (20 m away, 10 m high, x -10..10) through a
    # 60 deg view 160 px wide (90 px high): the wall's top is at elevation atan(8.5 / 20) = 23.0 deg,
    # above the top of the view (vfov/2 = atan(tan 30 * 90/160) = 18.0 deg): every pixel above the
    # horizon and below the image top hits the wall; the 1 x 1 m window covers about
    # (1 / 20 / tan(30) * 80)^2 = 6.9^2 ~ 48 pixels.
    path = write_scenario(tmp_path, buildings=[building("B1", -10, 20, 10, 30, 10)],
                          openings=[window_south("W", "B1", 20.0, -0.5, 0.5, 1.0, 2.0)],
                          cameras=[{"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 1.5}])
    scene = simulator.build_scene(simulator.load_scenario(path))
    cam = scene.cameras[0]
    v = render_view(scene, cam, azimuth_deg=0.0, elevation_deg=0.0, hfov_deg=60.0, width=160)
    assert v.image.shape == (90, 160, 3)
    sky = np.all(v.image == (200, 220, 240), axis=2)
    # the wall spans x -10..10 at 20 m: azimuth -26.6..26.6 deg, i.e. normalised x within
    # tan(26.57) / tan(30) = 0.866 -> columns 11..148; beyond, the sky shows above the horizon (rows < 45)
    assert not sky[:, 12:148].any()
    assert sky[:44, :10].all() and sky[:44, 150:].all()
    assert not sky[46:].any()  # flat ground below the horizon
    w = list(scene.targets.id).index("W")
    expected = (1.0 / 20.0 / math.tan(math.radians(30)) * 80) ** 2
    assert abs(v.target_pixels[w] - expected) <= 0.35 * expected
    # looking up at 60 deg the wall's top (23 deg) is below the view's bottom edge (60 - 18 = 42 deg): all sky
    up = render_view(scene, cam, azimuth_deg=0.0, elevation_deg=60.0, hfov_deg=60.0, width=160)
    assert np.all(up.image == (200, 220, 240))
    # masks filled in "after" mode cover the window's pixels
    res = simulator.analyse(scene)
    after = render_view(scene, cam, azimuth_deg=0.0, elevation_deg=0.0, hfov_deg=60.0, width=160,
                        masks=res.mask_plans["c"].masks, masked=True)
    dark = np.all(after.image == (20, 20, 20), axis=2)
    assert dark.sum() >= v.target_pixels[w]
