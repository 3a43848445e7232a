"""Vendor exports decoded by decoders written here from each API's documented convention (not from
the exporters' code), projected back to directions and checked against the visible private samples,
for every exporter and every camera make (Bosch, Axis and Hikvision models, an inline PTZ, a fixed
rectangle-only bullet): a cross-vendor matrix.

Conventions decoded (``simulator/export/views.py`` states the same in prose; the numbers here are
written out independently; where an API leaves the scale to the device, as ONVIF's generic spaces
and VAPIX's zoom steps do, they are the README's stated assumptions, not checked against a device):
- ONVIF ``PositionGenericSpace``: pan = x * 180 deg, tilt = y * 90 deg (up), zoom ratio
  = 1 + z (zmax - 1); ``tt:Point`` normalised, origin at the centre, y up.
- Axis VAPIX: ``ptz.cgi`` pan/tilt in degrees (tilt up), zoom 1..9999 linear in ratio; ``pxpolygon``
  pixels of the full resolution, y down.
- Hikvision ISAPI: ``azimuth`` tenths of a degree clockwise, ``elevation`` tenths of a degree *down*,
  ``absoluteZoom`` tenths of the ratio; ``positionX/Y`` on a 704 x 576 screen, y from the bottom.
zmax = tan(wide / 2) / tan(tele / 2) of the camera's lens.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import shapely
from lxml import etree

import simulator
from simulator.build.catalogue import catalogue
from simulator.engine.exposure import visible_samples
from simulator.outputs.export.onvif import mask_plan_xml
from simulator.outputs.export.vendors import axis_requests, hikvision_xml
from simulator.scene.targets import sample_planes

ROOT = Path(__file__).resolve().parents[3]
NS = {"tt": "http://www.onvif.org/ver10/schema", "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
      "tr2": "http://www.onvif.org/ver20/media/wsdl", "plan": "urn:privacy-zone-simulator:onvif-mask-plan:1",
      "hik": "http://www.hikvision.com/ver20/XMLSchema"}


@pytest.fixture(scope="module")
def results():
    os.environ.setdefault("XDG_CONFIG_HOME", "/tmp/pzs-test-config")
    return {name: simulator.analyse(ROOT / "scenarios" / f"{name}.yaml") for name in ("tutorial", "ingolstadt-lod3")}


def _basis(az_true: float, el: float, grid_offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward, right, up of a no-roll view (x east, y north, z up)."""
    a, e = math.radians(az_true + grid_offset), math.radians(el)
    f = np.array([math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), math.sin(e)])
    r = np.array([math.cos(a), -math.sin(a), 0.0])
    return f, r, np.cross(r, f)


def _zmax(cam) -> float:
    wide, tele = cam.hfov_deg
    return math.tan(math.radians(wide / 2)) / math.tan(math.radians(tele / 2))


class Decoded:
    """One decoded mask: the view (forward, right, up, half-width tangent t) and the polygon in
    normalised image coordinates (x right, y up)."""

    def __init__(self, basis, t: float, aspect: float, poly: np.ndarray, tol: float) -> None:
        self.f, self.r, self.u = basis
        self.t, self.aspect, self.poly, self.tol = t, aspect, poly, tol

    def contains(self, dirs: np.ndarray) -> np.ndarray:
        z = dirs @ self.f
        x = (dirs @ self.r) / np.where(z > 0, z, np.nan) / self.t
        y = (dirs @ self.u) / np.where(z > 0, z, np.nan) / (self.t * self.aspect)
        poly = shapely.Polygon(self.poly).buffer(self.tol)
        return (z > 0) & shapely.contains_xy(poly, np.nan_to_num(x, nan=9.0), np.nan_to_num(y, nan=9.0))


def _fixed_view(cam):
    return _basis(cam.direction_deg, cam.tilt_deg or 0.0, cam.grid_north_offset_deg), \
        math.tan(math.radians(cam.hfov_deg[0] / 2))


def decode_onvif(cam, data: bytes) -> list[Decoded]:
    root = etree.fromstring(data)
    w, h = cam.resolution_px
    out = []
    for item in root.findall("plan:Mask", NS):
        color = item.find(".//tr2:Color", NS)
        assert color.get("Colorspace") == "http://www.onvif.org/ver10/colorspace/RGB"
        assert (color.get("X"), color.get("Y"), color.get("Z")) == ("0", "0", "0")
        assert item.find(".//tr2:ConfigurationToken", NS).text == cam.onvif_tokens[1]
        pts = np.array([(float(p.get("x")), float(p.get("y"))) for p in item.findall(".//tt:Point", NS)])
        if cam.kind == "ptz":
            assert item.find(".//tptz:ProfileToken", NS).text == cam.onvif_tokens[0]
            pt, zm = item.find(".//tt:PanTilt", NS), item.find(".//tt:Zoom", NS)
            x, y, z = float(pt.get("x")), float(pt.get("y")), float(zm.get("x"))
            assert -1 <= x <= 1 and -1 <= y <= 1 and 0 <= z <= 1
            ratio = 1 + z * (_zmax(cam) - 1)
            basis, t = _basis(x * 180.0, y * 90.0, cam.grid_north_offset_deg), \
                math.tan(math.radians(cam.hfov_deg[0] / 2)) / ratio
        else:
            basis, t = _fixed_view(cam)
        out.append(Decoded(basis, t, h / w, pts, 2e-6))
    return out


def decode_axis(cam, text: str) -> list[Decoded]:
    w, h = cam.resolution_px
    lines = [ln for ln in text.splitlines() if ln.startswith("http") and "/param.cgi?" not in ln]
    out, view = [], None
    for ln in lines:
        if "/ptz.cgi?" in ln:
            pan, tilt, zoom = re.search(r"pan=([-\d.]+)&tilt=([-\d.]+)&zoom=(\d+)", ln).groups()
            assert 1 <= int(zoom) <= 9999 and -180 <= float(pan) <= 180
            ratio = 1 + (int(zoom) - 1) / 9998 * (_zmax(cam) - 1)
            view = (_basis(float(pan), float(tilt), cam.grid_north_offset_deg),
                    math.tan(math.radians(cam.hfov_deg[0] / 2)) / ratio)
            continue
        corners = re.search(r"pxpolygon=([\d,:]+)", ln).group(1).split(":")
        px = np.array([[int(a) for a in c.split(",")] for c in corners], float)
        assert (px[:, 0] >= 0).all() and (px[:, 0] <= w).all() and (px[:, 1] >= 0).all() and (px[:, 1] <= h).all()
        # corners clockwise on screen (y down): the shoelace sum in screen coordinates is positive
        assert np.sum(px[:, 0] * np.roll(px[:, 1], -1) - np.roll(px[:, 0], -1) * px[:, 1]) > 0
        poly = np.column_stack([px[:, 0] / w * 2 - 1, 1 - px[:, 1] / h * 2])
        basis, t = view if cam.kind == "ptz" else _fixed_view(cam)
        out.append(Decoded(basis, t, h / w, poly, 1e-9))  # corners rounded outwards: no tolerance
        view = None
    return out


def decode_hikvision(cam, data: bytes) -> list[Decoded]:
    w, h = cam.resolution_px
    root = etree.fromstring(data)
    out = []
    for item in root.findall("Mask"):
        coords = item.findall(".//hik:RegionCoordinates", NS)
        pts = np.array([(int(c.find("hik:positionX", NS).text), int(c.find("hik:positionY", NS).text))
                        for c in coords], float)
        assert (pts >= 0).all() and (pts[:, 0] <= 704).all() and (pts[:, 1] <= 576).all()
        poly = np.column_stack([pts[:, 0] / 704 * 2 - 1, pts[:, 1] / 576 * 2 - 1])
        if cam.kind == "ptz":
            ab = item.find("PTZData/AbsoluteHigh")
            az, el, zoom = (int(ab.find(k).text) for k in ("azimuth", "elevation", "absoluteZoom"))
            assert 0 <= az < 3600 and -900 <= el <= 900 and 10 <= zoom <= 10 * _zmax(cam)
            basis = _basis(az / 10.0, -el / 10.0, cam.grid_north_offset_deg)
            t = math.tan(math.radians(cam.hfov_deg[0] / 2)) / (zoom / 10.0)
        else:
            basis, t = _fixed_view(cam)
        out.append(Decoded(basis, t, h / w, poly, 1e-9))  # corners rounded outwards: no tolerance
    return out


def _visible(result, cam) -> np.ndarray:
    """The camera's visible samples, at half the target spacing, of every target it sees that masks
    must hide (from the exposure table and the scene's rule of what is masked, not from the plan; an
    opening seen but not into, by the grazing rule, needs none)."""
    scene = result.scene
    t = scene.targets
    ex = result.exposures
    seen = ex.loc[(ex["camera_id"] == cam.id) & (ex["visible_samples"] > 0) & ex["seen_into"].astype(bool),
                  "target"].to_numpy(int)
    sub = np.unique(seen[scene.maskable[seen]])
    if len(sub) == 0:
        return np.zeros((0, 3))
    spacing = np.sqrt(t.area / np.maximum(np.diff(t.offsets), 1))
    pts, off = sample_planes(t.planes.take(sub), spacing=spacing[sub] / 2, max_samples=1600, terrain=scene.terrain)
    counts = np.zeros(len(t), np.int64)
    counts[sub] = np.diff(off)
    seen = visible_samples(cam, t, scene.engine, target_radius=scene.target_radius, samples=pts,
                           offsets=np.r_[0, np.cumsum(counts)])
    return seen.vector / np.linalg.norm(seen.vector, axis=1)[:, None]


EXPORTERS = {"onvif": lambda c, m: decode_onvif(c, mask_plan_xml(c, m)),
             "axis": lambda c, m: decode_axis(c, axis_requests(c, m)),
             "hikvision": lambda c, m: decode_hikvision(c, hikvision_xml(c, m))}
CAMERAS = [("tutorial", "pole-west"), ("tutorial", "bullet-east"), ("tutorial", "mast-limited"),
           ("ingolstadt-lod3", "ing-01"), ("ingolstadt-lod3", "ing-02"), ("ingolstadt-lod3", "ing-03"),
           ("ingolstadt-lod3", "ing-04"), ("ingolstadt-lod3", "ing-05"), ("ingolstadt-lod3", "ing-06")]


@pytest.mark.parametrize("scenario,camera_id", CAMERAS)
@pytest.mark.parametrize("exporter", sorted(EXPORTERS))
def test_exported_masks_decode_to_masks_that_cover_every_visible_sample(results, scenario, camera_id, exporter):
    """Each exporter, each make: every mask decodes within the camera's rules (vertex limit; an
    image-aligned rectangle on a rectangle-only camera; values within the API's ranges) and together
    they cover every visible private sample at half the target spacing."""
    res = results[scenario]
    cam = res.camera(camera_id)
    plan = res.mask_plans[camera_id]
    assert plan.compliant, plan.reasons
    decoded = EXPORTERS[exporter](cam, plan.masks)
    assert len(decoded) == len(plan.masks)
    lim = cam.mask_limits
    for d in decoded:
        assert 3 <= len(d.poly) <= lim.max_vertices
        if lim.rectangle_only:
            assert len(np.unique(np.round(d.poly[:, 0], 6))) == 2 and len(np.unique(np.round(d.poly[:, 1], 6))) == 2
    dirs = _visible(res, cam)
    inside = np.zeros(len(dirs), bool)
    for d in decoded:
        inside |= d.contains(dirs)
    assert len(dirs) > 0 and inside.all(), f"{(~inside).sum()} of {len(dirs)} visible samples outside"


def test_tilt_signs_follow_each_api_whatever_the_make(results):
    """Axis tilts up positive and Hikvision's elevation is down positive, whatever the camera's make:
    ing-06 (a Hikvision) has masks below the horizon, ing-01 (a Bosch) masks above it (the issue's
    examples), and every mask of both gets each API's own sign."""
    res = results["ingolstadt-lod3"]
    signs = set()
    for cid in ("ing-06", "ing-01"):
        cam = res.camera(cid)
        for m in res.mask_plans[cid].masks:
            aim = m.centre if m.aim is None else m.aim
            el = math.degrees(math.asin(float(np.clip(aim[2], -1, 1))))
            if abs(el) < 0.5:
                continue
            tilt = float(re.search(r"tilt=([-\d.]+)", axis_requests(cam, [m])).group(1))
            hik = int(etree.fromstring(hikvision_xml(cam, [m])).find("Mask/PTZData/AbsoluteHigh/elevation").text)
            assert abs(tilt - el) < 0.01 and abs(-hik / 10 - el) < 0.06, (cid, m.id, el, tilt, hik)
            signs.add((cid, el > 0))
    assert ("ing-06", False) in signs and ("ing-01", True) in signs


def test_catalogue_zoom_ratio_agrees_with_its_field_of_view():
    """A PTZ model's nominal zoom ratio and its field of view (tan(wide / 2) / tan(tele / 2)) agree
    within 5 %; the exports use the ratio derived from the field of view (so never above an API's
    range)."""
    for model, entry in catalogue().items():
        if entry["kind"] != "ptz":
            continue
        wide, tele = entry["hfov_deg"]
        derived = math.tan(math.radians(wide / 2)) / math.tan(math.radians(tele / 2))
        nominal = float(entry["vendor"]["zoom_ratio"])
        assert abs(nominal - derived) / derived < 0.05, (model, nominal, derived)


def test_shipped_offline_onvif_schemas_are_what_the_official_files_make():
    from simulator.outputs.export.onvif_offline import OFFLINE, files

    made = files()
    assert sorted(p.name for p in OFFLINE.iterdir()) == sorted(made)
    for name, data in made.items():
        assert (OFFLINE / name).read_bytes() == data, name


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint (libxml2-utils) not installed")
def test_xmllint_validates_the_onvif_exports_offline_and_rejects_a_broken_one(results, tmp_path):
    """libxml2's own validator, offline (--nonet), with the shipped schemas: every ONVIF export of the
    tutorial and Ingolstadt validates; a mask without its polygon's points, or a colour component
    that is not a number, does not."""
    from simulator.outputs.export.onvif_offline import OFFLINE

    xsd = str(OFFLINE / "mask-plan.xsd")
    docs = []
    for res in results.values():
        for cam in res.cameras:
            path = tmp_path / f"{cam.id}.xml"
            path.write_bytes(mask_plan_xml(cam, res.mask_plans[cam.id].masks))
            docs.append(str(path))
    run = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", xsd, *docs], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.count(" validates") == len(docs) == 9
    good = Path(docs[0]).read_text()
    for broken in (re.sub(r'<tt:Point [^>]*/>', "", good), good.replace('X="0"', 'X="black"', 1)):
        path = tmp_path / "broken.xml"
        path.write_text(broken)
        run = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", xsd, str(path)], capture_output=True,
                             text=True)
        assert run.returncode != 0 and "fails to validate" in run.stderr


def test_ptz_limits_exported_in_each_api(results):
    """The camera's limits, decoded: ONVIF ``PanTiltLimits`` (generic space: degrees = x * 180 from the
    pan zero, y * 90) and ``ZoomLimits``; the Axis ``PTZ.Limit.L1`` update; a Hikvision note (ISAPI
    gives no such request in our sources). ing-03 (Axis model) may tilt -90..+20 deg, pan all round;
    the tutorial's mast-limited pans 90..270 deg true, across +-180 from a north pan zero: no single
    generic range, so pan stays open and a note says so."""
    ing = results["ingolstadt-lod3"].camera("ing-03")
    root = etree.fromstring(mask_plan_xml(ing, results["ingolstadt-lod3"].mask_plans["ing-03"].masks))
    cfg = root.find("tptz:SetConfiguration/tptz:PTZConfiguration", NS)
    assert cfg.get("token") == ing.onvif_tokens[2] and cfg.find("tt:NodeToken", NS).text == ing.onvif_tokens[3]
    rng = cfg.find("tt:PanTiltLimits/tt:Range", NS)
    x = [float(rng.find(f"tt:XRange/tt:{k}", NS).text) * 180 for k in ("Min", "Max")]
    y = [float(rng.find(f"tt:YRange/tt:{k}", NS).text) * 90 for k in ("Min", "Max")]
    assert x == [-180.0, 180.0] and y == pytest.approx([-90.0, 20.0], abs=1e-4)
    z = cfg.find("tt:ZoomLimits/tt:Range", NS)
    assert [float(z.find(f"tt:XRange/tt:{k}", NS).text) for k in ("Min", "Max")] == [0.0, 1.0]
    axis = axis_requests(ing, results["ingolstadt-lod3"].mask_plans["ing-03"].masks)
    assert "param.cgi?action=update&PTZ.Limit.L1.MinTilt=-90.00&PTZ.Limit.L1.MaxTilt=20.00" in axis
    assert "MinPan" not in axis  # all round: no pan limit
    hik = hikvision_xml(ing, results["ingolstadt-lod3"].mask_plans["ing-03"].masks).decode()
    assert "elevation -200..900" in hik
    mast = results["tutorial"].camera("mast-limited")
    root = etree.fromstring(mask_plan_xml(mast, results["tutorial"].mask_plans["mast-limited"].masks))
    assert root.find("tptz:SetConfiguration", NS) is None  # pan open would lift the device's pan limit
    note = root.find("plan:Note", NS).text
    assert "not exported" in note and "pan 90..270" in note and "tilt -90..0" in note
    assert "no single MinPan..MaxPan range" in axis_requests(mast, results["tutorial"].mask_plans["mast-limited"].masks)


def test_a_pan_arc_through_north_is_one_generic_range():
    """Pan limits 300..60 deg true (clockwise through north, the pan zero of an inline camera): -60..+60
    deg from the pan zero, so x -1/3..+1/3 in ONVIF's generic space and MinPan -60, MaxPan 60 in VAPIX."""
    from simulator.outputs.export.onvif import generic_limits
    from simulator.scene.camera import Camera

    cam = Camera("c", 0, 0, 5, 5, "ptz", (1920, 1080), (60.0, 2.0), pan_limits_deg=(300.0, 420.0),
                 tilt_limits_deg=(-45.0, 10.0))
    limits = generic_limits(cam)
    assert limits is not None
    (x0, x1), (y0, y1) = limits
    assert (x0 * 180, x1 * 180) == pytest.approx((-60.0, 60.0), abs=1e-4)
    assert (y0 * 90, y1 * 90) == pytest.approx((-45.0, 10.0), abs=1e-4)
    assert "PTZ.Limit.L1.MinPan=-60.00&PTZ.Limit.L1.MaxPan=60.00&PTZ.Limit.L1.MinTilt=-45.00" in axis_requests(cam, [])
    root = etree.fromstring(mask_plan_xml(cam, []))
    assert root.find("tptz:SetConfiguration", NS) is not None
    assert "replaces the device's PTZ configuration" in root.find("plan:Note", NS).text


@pytest.mark.parametrize("seed", range(20))
def test_grid_corners_hold_the_polygon(seed):
    """Whole-unit corners (Axis pixels, Hikvision's 704 x 576 screen) hold the exact polygon: rounding
    never moves an edge inwards (shapely, a second method), and the corner count is kept."""
    from simulator.outputs.export.vendors import grid_polygon

    rng = np.random.default_rng(seed)
    hull = shapely.MultiPoint(rng.uniform(-0.95, 0.95, (int(rng.integers(3, 9)), 2))).convex_hull
    ring = np.asarray(shapely.orient_polygons(hull).exterior.coords)[:-1]
    for w, h in ((1920, 1080), (704, 576)):
        grid = np.array(grid_polygon(ring, w, h), float)
        exact = shapely.Polygon(np.column_stack([(ring[:, 0] + 1) / 2 * w, (ring[:, 1] + 1) / 2 * h]))
        assert len(grid) == len(ring) and shapely.Polygon(grid).buffer(1e-9).contains(exact)


def test_a_non_zero_pan_zero_is_applied_by_every_exporter(results, monkeypatch):
    """A camera whose pan zero points 30 deg east of north: every exported pan is 30 deg less than the
    true azimuth, and the decoders (adding the 30 deg back) still find every visible sample masked."""
    from simulator.build.catalogue import catalogue

    res = results["ingolstadt-lod3"]
    cam = res.camera("ing-01")
    vendor = dict(catalogue()[cam.model]["vendor"])
    monkeypatch.setitem(catalogue()[cam.model], "vendor", {**vendor, "pan_zero_offset_deg": 30.0})
    masks = res.mask_plans["ing-01"].masks
    dirs = _visible(res, cam)

    def shifted(decoded):
        for d in decoded:  # the decoded view turned back by the pan zero (about the vertical)
            a = math.radians(30.0)
            rot = np.array([[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]])
            d.f, d.r, d.u = rot @ d.f, rot @ d.r, rot @ d.u
        return decoded

    for name, decode in EXPORTERS.items():
        decoded = shifted(decode(cam, masks))
        inside = np.zeros(len(dirs), bool)
        for d in decoded:
            inside |= d.contains(dirs)
        assert inside.all(), name


def test_a_plan_over_the_cameras_limit_says_so_in_every_file(results):
    """ing-03 with a mask limit one below its plan: each vendor file states it at the top (and still
    validates); at the limit, no file carries the warning."""
    from dataclasses import replace

    from simulator.outputs.export.onvif import validate

    result = results["ingolstadt-lod3"]
    cam, masks = result.camera("ing-03"), result.mask_plans["ing-03"].masks
    assert len(masks) >= 2
    tight = replace(cam, mask_limits=replace(cam.mask_limits, max_masks=len(masks) - 1))
    warning = f"NOT COMPLIANT: this plan holds {len(masks)} masks and camera ing-03 takes {len(masks) - 1}"
    onvif = mask_plan_xml(tight, masks)
    validate(onvif)
    root = etree.fromstring(onvif)
    assert warning in root[0].text  # a comment, first in the plan
    assert warning in axis_requests(tight, masks).splitlines()[1]
    assert warning in etree.fromstring(hikvision_xml(tight, masks))[0].text
    for doc in (mask_plan_xml(cam, masks), axis_requests(cam, masks).encode(), hikvision_xml(cam, masks)):
        assert b"NOT COMPLIANT" not in doc
