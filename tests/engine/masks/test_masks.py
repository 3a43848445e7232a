"""Privacy masks: coverage (property test, denser than the engine's own verification), spherical
geometry against shapely, round trips through ONVIF and Axis view coordinates, schema validation,
signatures and the audit log."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from simulator.engine.exposure import visible_samples
from simulator.engine.masks.spherical import hull_mask, project, reduce_vertices, unit
from simulator.outputs.export.onvif import OnvifValidationError, mask_plan_xml, validate
from simulator.outputs.integrity import (
    AuditLog,
    IntegrityError,
    load_private_key,
    load_public_key,
    verify_log,
    write_keypair,
)
from simulator.scene.targets import sample_planes
from tests.scenes import PTZ, building, window_south, write_scenario

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _user_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def masked_everywhere(result, factor: float = 3.0) -> tuple[int, int]:
    """Independent coverage check: resample every exposed target at 1/factor of its spacing (denser than
    the engine's own verification), cast the rays, count visible samples outside every mask."""
    scene = result.scene
    t = scene.targets
    spacing = np.sqrt(t.area / np.maximum(np.diff(t.offsets), 1))
    outside = total = 0
    for cam in result.cameras:
        plan = result.mask_plans[cam.id]
        if not plan.compliant:
            continue
        ids = set().union(*[set(m.targets) for m in plan.masks]) if plan.masks else set()
        sub = np.flatnonzero(np.isin(t.id, list(ids)))
        if len(sub) == 0:
            continue
        pts, off = sample_planes(t.planes.take(sub), spacing=spacing[sub] / factor, max_samples=10_000,
                                 terrain=scene.terrain)
        counts = np.zeros(len(t), np.int64)
        counts[sub] = np.diff(off)
        offsets = np.r_[0, np.cumsum(counts)]
        seen = visible_samples(cam, t, scene.engine, target_radius=scene.target_radius, samples=pts,
                               offsets=offsets)
        inside = np.zeros(len(seen.vector), bool)
        for m in plan.masks:
            inside |= m.contains(seen.vector)
        outside += int((~inside).sum())
        total += len(inside)
    return outside, total


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), height=st.floats(2.0, 25.0), max_masks=st.integers(2, 8))
def test_no_visible_private_sample_outside_masks(tmp_path_factory, seed, height, max_masks):
    rng = np.random.default_rng(seed)
    blds, ops = [], []
    for i in range(6):
        x, y = rng.uniform(-40, 40), rng.uniform(15, 60)
        blds.append(building(f"b{i}", x, y, x + 12, y + 8, 12.0))
        for k in range(3):
            x0 = x + 1 + 3.5 * k
            ops.append(window_south(f"w{i}-{k}", f"b{i}", y, x0, x0 + 1.2, 1 + 3 * (k % 2), 2.4 + 3 * (k % 2)))
    cam = {"id": "c", **PTZ, "x": float(rng.uniform(-10, 10)), "y": 0.0, "mount_height_m": height,
           "mask_limits": {"max_masks": max_masks, "max_vertices": 4}}
    path = write_scenario(tmp_path_factory.mktemp("s"), buildings=blds, openings=ops, cameras=[cam])
    res = simulator.analyse(path)
    plan = res.mask_plans["c"]
    assert len(plan.masks) <= max_masks or not plan.compliant
    assert all(len(m.vertices) <= 4 for m in plan.masks)
    if plan.compliant:
        assert plan.exposed_after_masks == 0
    else:
        assert plan.reasons
    outside, total = masked_everywhere(res)
    assert outside == 0


def test_contains_agrees_with_shapely_and_reduction_is_conservative():
    rng = np.random.default_rng(1)
    d = unit(np.column_stack([rng.normal(0, 0.1, 40), np.ones(40), rng.normal(0, 0.1, 40)]))
    for rect in (False, True):
        m = hull_mask("m", d, ("t",), margin_deg=0.5, max_vertices=4, rectangle_only=rect)
        assert len(m.vertices) == 4 and m.contains(d).all()
        q = unit(np.column_stack([rng.normal(0, 0.3, 4000), np.ones(4000), rng.normal(0, 0.3, 4000)]))
        xy = project(q, m.frame())
        assert (shapely.contains_xy(m.polygon2d(), xy[:, 0], xy[:, 1]) == m.contains(q)).mean() > 0.999
        # margin: every direction within 0.5 deg of a sample is inside (ring of probes around each)
        for p in d[:5]:
            ortho = unit(np.cross(p, [0.0, 0.0, 1.0]))[0]
            for a in np.linspace(0, 2 * np.pi, 12, endpoint=False):
                axis = np.cos(a) * ortho + np.sin(a) * np.cross(p, ortho)
                probe = p * math.cos(math.radians(0.49)) + axis * math.sin(math.radians(0.49))
                assert m.contains(probe[None])[0]
    for k in (3, 4, 5):
        for _ in range(50):
            poly = shapely.MultiPoint(rng.normal(size=(15, 2))).convex_hull
            red = reduce_vertices(poly, k)
            assert len(red.exterior.coords) - 1 <= k and red.buffer(1e-9).contains(poly)


@pytest.fixture(scope="module")
def tutorial():
    os.environ.setdefault("XDG_CONFIG_HOME", "/tmp/pzs-test-config")
    return simulator.analyse(ROOT / "scenarios" / "tutorial.yaml")


def test_onvif_validates_and_broken_masks_fail(tutorial):
    cam = next(c for c in tutorial.scene.cameras if c.id == "bullet-east")
    xml = mask_plan_xml(cam, tutorial.mask_plans[cam.id].masks)
    validate(xml)
    for broken in (xml.replace(b"<tr2:Enabled>true</tr2:Enabled>", b"", 1),          # required element missing
                   xml.replace(b"<tr2:Type>Color</tr2:Type>", b"<tr2:Kind>Color</tr2:Kind>", 1),
                   re.sub(rb'x="-?[\d.]+" y', b'x="abc" y', xml, count=1),
                   re.sub(rb'<tt:Point x="-?[\d.]+"', b'<tt:Point x="1.5"', xml, count=1)):
        with pytest.raises(OnvifValidationError):
            validate(broken)
    ptz = next(c for c in tutorial.scene.cameras if c.id == "mast-limited")
    xml = mask_plan_xml(ptz, tutorial.mask_plans[ptz.id].masks)
    last = xml.rindex(b"<tt:Zoom ")  # the last mask's move: every element is checked, not the first only
    for broken, reason in ((xml[:last] + xml[last:].replace(b"<tt:Zoom ", b'<tt:Zoom y="0.5" ', 1),
                            "AbsoluteMove: 'y' attribute not allowed"),
                           (xml.replace(b"<tptz:ProfileToken>Profile_1</tptz:ProfileToken>", b"", 1),
                            "AbsoluteMove: .*ProfileToken")):
        with pytest.raises(OnvifValidationError, match=reason):
            validate(broken)


def test_onvif_validation_in_a_second_process_names_the_broken_document(tutorial, tmp_path):
    from simulator.outputs.export.onvif import Validation

    cam = next(c for c in tutorial.scene.cameras if c.id == "bullet-east")
    xml = mask_plan_xml(cam, tutorial.mask_plans[cam.id].masks, check=False)
    broken = xml.replace(b"<tr2:Enabled>true</tr2:Enabled>", b"", 1)
    folder = tmp_path / "onvif"
    folder.mkdir()
    (folder / "a.xml").write_bytes(xml)
    (folder / "b.xml").write_bytes(xml)
    n = 2 * len(tutorial.mask_plans[cam.id].masks)
    Validation({"onvif/a.xml": xml, "onvif/b.xml": xml}, masks=n, folder=folder, background_from=1).result()
    (folder / "b.xml").write_bytes(broken)
    v = Validation({"onvif/a.xml": xml, "onvif/b.xml": broken}, masks=n, folder=folder, background_from=1)
    assert v.proc is not None  # it did run in a second process
    with pytest.raises(OnvifValidationError, match="^onvif/b.xml: "):
        v.result()
    with pytest.raises(OnvifValidationError, match="^onvif/b.xml: "):  # and inline, for a few masks
        Validation({"onvif/a.xml": xml, "onvif/b.xml": broken}, masks=n, folder=folder)
    (folder / "b.xml").write_bytes(b"<truncated")
    with pytest.raises(OnvifValidationError, match="b.xml"):
        Validation({}, masks=0, folder=folder, background_from=0).result()
    # a validator started ahead (schemas loaded while the scene is built) is the one used, once
    from simulator.outputs.export import onvif

    onvif.prestart()
    ready = onvif.READY
    v = Validation({}, masks=0, folder=folder, background_from=0)
    assert v.proc is ready and onvif.READY is None
    with pytest.raises(OnvifValidationError, match="b.xml"):
        v.result()
    (folder / "b.xml").write_bytes(xml)
    onvif.prestart()
    v = Validation({}, masks=0, folder=folder, background_from=0)
    v.result()  # valid now
    onvif.prestart()  # one left unused is stopped
    ready = onvif.READY
    onvif.stop_ready()
    assert ready.poll() is not None and onvif.READY is None


def test_shipped_tutorial_plans(tutorial):
    for c in tutorial.summary()["cameras"]:
        assert c["exposed_after_masks"] == 0 or (not c["compliant"] and c["reasons"])
        assert c["masks"] <= c["mask_limit"] or not c["compliant"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={**os.environ, **(env or {})})


def test_keys_sign_verify_and_tamper(tmp_path):
    p = run("keys", "--out", str(tmp_path / "k"))
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE((tmp_path / "k" / "signing-key.pem").stat().st_mode) == 0o600
    out = tmp_path / "out"
    p = run("run", "scenarios/tutorial.yaml", "--out", str(out), "--key", str(tmp_path / "k" / "signing-key.pem"))
    assert p.returncode == 0, p.stderr
    plan = out / "masks" / "bullet-east.json"
    pub = ("--public-key", str(tmp_path / "k" / "signing-key.pub"))
    # the run's key is not pinned (not the per-user key): signing-key.pub beside the plan is not trusted alone
    p = run("verify", str(plan))
    assert p.returncode == 2 and "not pinned" in p.stderr
    assert run("verify", str(out / "audit"), *pub).returncode == 0
    assert run("verify", str(plan), *pub).returncode == 0
    raw = plan.read_bytes()
    doc = json.loads(raw)
    assert doc["integrity"]["scenario_sha256"] and doc["integrity"]["timestamp"]
    # change one byte inside a vertex coordinate
    i = raw.index(b"vertices_deg") + 30
    while not raw[i:i + 1].isdigit():
        i += 1
    tampered = raw[:i] + (b"1" if raw[i:i + 1] != b"1" else b"2") + raw[i + 1:]
    plan.write_bytes(tampered)
    p = run("verify", str(plan), *pub)
    assert p.returncode != 0 and "TAMPERED" in p.stderr
    plan.write_bytes(raw)
    # a different key does not verify
    write_keypair(tmp_path / "other.pem")
    assert run("verify", str(plan), "--public-key", str(tmp_path / "other.pub")).returncode != 0
    # one log entry changed
    log = sorted((out / "audit").glob("*.jsonl"))[0]
    lines = log.read_text().splitlines()
    e = json.loads(lines[1])
    e["user"] = "someone-else"
    lines[1] = json.dumps(e, sort_keys=True)
    log.write_text("\n".join(lines) + "\n")
    p = run("verify", str(out / "audit"), *pub)
    assert p.returncode != 0 and "line 2" in p.stderr


def test_audit_log_rotates_without_losing_entries(tmp_path):
    priv, pub = write_keypair(tmp_path / "k.pem")
    key, pk = load_private_key(priv), load_public_key(pub)
    log = AuditLog(tmp_path / "audit", key, max_bytes=2000)
    for i in range(25):
        log.record("disable_request" if i % 5 == 0 else "generate", camera=f"cam-{i % 3}", masks=[f"m{i}"],
                   user="tester")
    files = log.files()
    assert len(files) > 3
    assert all(f.stat().st_size <= 2000 for f in files)
    assert verify_log(tmp_path / "audit", pk) == 25
    entries = [json.loads(ln) for f in files for ln in f.read_text().splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, 26))
    assert sum(e["action"] == "disable_request" for e in entries) == 5
    # a file removed from the middle breaks the chain
    files[1].rename(tmp_path / "gone.jsonl")
    with pytest.raises(IntegrityError, match="sequence"):
        verify_log(tmp_path / "audit", pk)


def test_audit_cli_records_approval(tmp_path):
    out = tmp_path / "out"
    assert run("run", "scenarios/tutorial.yaml", "--out", str(out), "--camera", "bullet-east").returncode == 0
    p = run("audit", str(out), "disable_request", "--camera", "bullet-east", "--mask", "bullet-east-mask-01",
            "--user", "operator-7", "--reason", "maintenance")
    assert p.returncode == 0, p.stderr
    assert run("verify", str(out / "audit")).returncode == 0
    last = json.loads(sorted((out / "audit").glob("*.jsonl"))[-1].read_text().splitlines()[-1])
    assert (last["action"], last["user"], last["masks"]) == ("disable_request", "operator-7", ["bullet-east-mask-01"])


@pytest.mark.parametrize("seed", range(4))
def test_offset_and_reduction_contain_the_rounded_buffer(seed):
    """The mitre offset (bevelled at sharp corners) contains the round buffer of the hull, also for a
    single point, a segment and a needle; the vertex reduction contains the offset ring and stays
    counter-clockwise with at most k vertices."""
    from simulator.engine.masks.spherical import offset_convex, reduce_ring

    rng = np.random.default_rng(seed)
    for trial in range(300):
        pts = rng.normal(size=(int(rng.integers(1, 30)), 2)) * rng.uniform(0.01, 1)
        if trial % 7 == 0:
            pts = np.array([[0.0, 0.0], [1.0, 0.001 * rng.normal()], [2.0, 0.0]])  # needle: sharp corners
        elif trial % 11 == 0:
            pts = pts[:1]
        elif trial % 13 == 0:
            pts = np.vstack([pts[:1], pts[:1] + [1.0, 1.0]])
        elif trial % 17 == 0:  # collinear within rounding, with a repeated point
            pts = np.array([[0.0, 0.0], [0.5, 0.5 + 1e-15], [1.0, 1.0], [1.0, 1.0], [0.25, 0.25]])
        dist = rng.uniform(1e-4, 0.3)
        ring = offset_convex(pts, dist)
        poly = shapely.Polygon(ring)
        assert poly.is_valid
        assert poly.buffer(1e-9).contains(shapely.MultiPoint(pts).convex_hull.buffer(dist * 0.999, quad_segs=32))
        for k in (3, 4, 5, 8):
            red = reduce_ring(ring, k)
            rp = shapely.Polygon(red)
            assert len(red) <= k and rp.is_valid and rp.buffer(1e-9).contains(poly)
            x, y = red[:, 0], red[:, 1]
            assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0


def test_no_mask_reaches_beyond_a_view():
    """A target close to the camera gets a wide margin (one sample cell at 2 m is ~35 deg); grown and
    made a rectangle, its mask could reach past 90 degrees from its own centre (Helsinki's wall-mounted
    bullets did, and their exports failed). Such a mask is refused; any mask returned stays within 75."""
    from simulator.engine.masks.spherical import MAX_HALF_ANGLE_DEG

    rng = np.random.default_rng(3)
    refused = 0
    for spread, margin in ((0.45, 40.0), (0.3, 35.0), (0.6, 10.0), (0.05, 0.3)):
        d = unit(np.column_stack([rng.uniform(-spread, spread, 50), np.ones(50), rng.uniform(-spread, spread, 50)]))
        for rect in (True, False):
            m = hull_mask("m", d, ("t",), margin_deg=margin, max_vertices=4, rectangle_only=rect)
            if m is None:
                refused += 1
                continue
            assert m.half_angle_deg() <= MAX_HALF_ANGLE_DEG
            assert np.isfinite(project(m.vertices, m.frame())).all() and m.contains(d).all()
    assert 0 < refused < 8  # the wide ones are refused, the narrow ones are not


@pytest.mark.parametrize("seed", range(3))
def test_batch_masks_equal_one_at_a_time(seed):
    """``hull_masks`` finishes a batch of hulls in array operations; each mask must be the one the
    scalar steps give (offset_ring, then reduce_ring or the bounding rectangle, then unprojected), for
    ordinary hulls, needles (bevelled corners), points and segments; ``fits_views`` and ``inside_any``
    must agree with ``fits_view`` and ``contains`` mask by mask."""
    from simulator.engine.masks.spherical import (
        fits_views,
        hull_masks,
        inside_any,
        offset_ring,
        reduce_ring,
        tangent_frame,
        unproject,
    )

    rng = np.random.default_rng(seed)
    groups, margins = [], []
    for trial in range(120):
        n = int(rng.integers(1, 25))
        spread = rng.uniform(0.001, 0.2)
        centre = unit(rng.normal(size=(1, 3)))[0]
        pts = unit(centre + rng.normal(size=(n, 3)) * spread)
        if trial % 9 == 0:  # a needle: three nearly collinear directions
            a, b = unit(rng.normal(size=(2, 3)) * [1, 1, 0.1])
            pts = unit(np.array([a, (a + b) / 2 + 1e-5 * rng.normal(size=3), b]) * 0.1 + centre)
        groups.append(pts)
        margins.append(rng.uniform(0.0, 2.0))
    dirs = np.vstack(groups)
    group = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    for rect in (False, True):
        batch = hull_masks([f"m{i}" for i in range(len(groups))], dirs, group, [("t",)] * len(groups),
                           np.array(margins), max_vertices=4, rectangle_only=rect)
        for pts, margin, m in zip(groups, margins, batch, strict=True):
            c = pts.sum(axis=0)
            frame = tangent_frame(c / np.linalg.norm(c))
            xy = project(pts, frame)
            theta = np.arccos(np.clip((pts @ frame[0]).min(), -1, 1))
            buf = max(np.tan(np.radians(margin)) / np.cos(theta + np.radians(margin)) ** 2, 1e-9)
            hull = shapely.get_coordinates(shapely.MultiPoint(xy).convex_hull)
            hull = np.unique(hull, axis=0) if len(hull) < 4 else hull[:-1]
            if len(hull) >= 3 and shapely.Polygon(hull).exterior.is_ccw is False:
                hull = hull[::-1]
            ring = offset_ring(hull, buf)
            ring = np.array([ring.min(axis=0), [ring[:, 0].max(), ring[:, 1].min()], ring.max(axis=0),
                             [ring[:, 0].min(), ring[:, 1].max()]]) if rect else reduce_ring(ring, 4)
            expected = unproject(ring, frame)
            assert m is not None
            assert m.vertices.shape == expected.shape and np.allclose(m.vertices, expected, atol=1e-12)
            assert m.contains(pts).all()
            # a group alone goes the plain-float way (its hull may start at another vertex)
            (one,) = hull_masks(["one"], pts, np.zeros(len(pts), np.intp), [("t",)], np.array([margin]),
                                max_vertices=4, rectangle_only=rect)
            assert one is not None and one.vertices.shape == expected.shape
            assert np.allclose(np.sort(one.vertices, axis=0), np.sort(expected, axis=0), atol=1e-12)
        masks = [m for m in batch if m is not None]
        assert list(fits_views(masks, 20.0, 12.0)) == [m.fits_view(20.0, 12.0) for m in masks]
        probe = unit(rng.normal(size=(4000, 3)) * 0.3 + dirs[rng.integers(0, len(dirs), 4000)])
        loop = np.zeros(len(probe), bool)
        for m in masks[:30]:
            loop |= m.contains(probe)
        assert np.array_equal(inside_any(masks[:30], probe), loop) and 0 < loop.sum() < len(probe)
        # guesses (right, wrong or none) change nothing: the guessed mask is only tested first
        holder = np.array([next((k for k, m in enumerate(masks[:30]) if m.contains(p[None])[0]), -1)
                           for p in probe])
        for first in (holder, rng.integers(-1, 30, len(probe)), np.full(len(probe), -1)):
            assert np.array_equal(inside_any(masks[:30], probe, first=first, chunk=700), loop)


@pytest.mark.parametrize("seed", range(3))
def test_interior_filter_keeps_every_hull(seed):
    """Points left out of the convex hulls (inside or on the polygon of their group's extreme points)
    are no hull vertices: the hull of the rest is the same polygon, to within 1e-12 of its span:
    grids (where most points go, and whole rows lie on the hull's edges), clouds, collinear and
    repeated points, a single point."""
    from simulator.engine.masks.spherical import inside_extremes

    rng = np.random.default_rng(seed)
    groups = []
    for trial in range(60):
        kind = trial % 5
        if kind == 0:  # a facade's sample grid, rotated
            g = np.stack(np.meshgrid(np.arange(rng.integers(1, 12)), np.arange(rng.integers(1, 9))), -1).reshape(-1, 2)
            a = rng.uniform(0, np.pi)
            pts = g * 0.01 @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        elif kind == 1:
            pts = rng.normal(size=(int(rng.integers(1, 200)), 2)) * rng.uniform(1e-4, 1)
        elif kind == 2:  # collinear, with repeats
            pts = np.outer(rng.integers(0, 5, int(rng.integers(1, 12))), rng.normal(size=2))
        elif kind == 3:
            pts = np.repeat(rng.normal(size=(1, 2)), int(rng.integers(1, 4)), 0)
        else:  # a disc's rim and its inside: many points on the hull
            t = rng.uniform(0, 2 * np.pi, 80)
            pts = np.column_stack([np.cos(t), np.sin(t)]) * np.r_[np.ones(40), rng.uniform(0, 0.99, 40)][:, None]
        groups.append(pts + rng.normal(size=2))
    xy = np.vstack(groups)
    group = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    starts = np.searchsorted(group, np.arange(len(groups)))
    out = inside_extremes(xy, group, starts)
    assert 0 < out.sum() < len(xy)
    for k, pts in enumerate(groups):
        drop = out[group == k]
        assert not drop.all()
        full = shapely.MultiPoint(pts).convex_hull
        kept = shapely.MultiPoint(pts[~drop]).convex_hull
        span = float(np.ptp(pts, axis=0).max())
        # the same polygon within 1e-12 of its span (points on an edge only: no vertex is lost)
        assert shapely.hausdorff_distance(kept, full) <= 1e-12 * max(span, 1e-300), k
        # and every dropped point lies in the kept hull, or that close to it
        assert (shapely.distance(kept, shapely.points(pts[drop])) <= 1e-12 * max(span, 1e-300)).all(), k
    grid = out[group == 0]
    if len(grid) > 40:  # a grid keeps only its hull's corners (rounding aside)
        assert grid.mean() > 0.6


def test_compiled_onvif_schemas_are_cached_and_a_broken_cache_is_rebuilt(tutorial, tmp_path, monkeypatch):
    """The compiled schemas are kept in the user's cache, named by what made them; a second load
    reads the file, and validates as the compiled schema does; a truncated file is compiled anew and
    replaced; an unwritable cache only means no cache."""
    from simulator.outputs.export import onvif_schema

    cam = next(c for c in tutorial.scene.cameras if c.id == "bullet-east")
    xml = mask_plan_xml(cam, tutorial.mask_plans[cam.id].masks, check=False)
    broken = re.sub(rb'x="-?[\d.]+" y', b'x="abc" y', xml, count=1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    onvif_schema.schema.cache_clear()
    try:
        validate(xml)  # compiled, and cached
        files = sorted((tmp_path / "cache" / "privacy-zone-simulator" / "onvif-schemas").iterdir())
        assert [f.name.split("-")[0] for f in files] == ["media", "ptz"]
        assert not any(f.name.startswith(".") for f in files)  # no partial file left
        onvif_schema.schema.cache_clear()
        loaded = onvif_schema.schema("ver20/media/wsdl/media.wsdl")
        assert loaded is not onvif_schema.compile_schema("ver20/media/wsdl/media.wsdl")
        validate(xml)
        with pytest.raises(OnvifValidationError, match="abc"):
            validate(broken)
        files[0].write_bytes(files[0].read_bytes()[:1000])  # truncated
        onvif_schema.schema.cache_clear()
        validate(xml)
        with pytest.raises(OnvifValidationError, match="abc"):
            validate(broken)
        assert len(files[0].read_bytes()) > 100_000  # compiled again and replaced
        onvif_schema.schema.cache_clear()
        monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-such-cache")  # cannot be made
        validate(xml)
        with pytest.raises(OnvifValidationError, match="abc"):
            validate(broken)
    finally:
        onvif_schema.schema.cache_clear()


def test_mask_footprints_on_flat_ground_by_hand(tutorial):
    """A camera 10 m above flat, unmeshed ground looking straight down: a mask that is the square
    |x|, |y| <= a of the nadir's gnomonic plane hides the ground square of side 2 h a (the hit of
    direction f + x r + y u is h (x r + y u) away), here 2 x 10 x 0.2 = 4 m: 16 m2 centred under the
    camera. A mask beyond the range hides nothing (an empty footprint). Many masks at once give
    the footprints of each alone, to the bit; the tutorial's masks too."""
    from simulator.engine.masks.spherical import SphericalMask, tangent_frame, unproject
    from simulator.outputs.export.plans import camera_footprints, flat_ground_z, mask_footprint, mask_footprints
    from simulator.scene.camera import Camera
    from simulator.visibility import RayEngine

    cam = Camera("c", 100.0, 200.0, 10.0, 10.0, "fixed", (1920, 1080), (90.0, 90.0), range_m=50.0)
    engine = RayEngine(np.zeros((0, 3, 3)))
    nadir = tangent_frame(np.array([0.0, 0.0, -1.0]))
    square = SphericalMask("sq", unproject(np.array([[0.2, -0.2], [0.2, 0.2], [-0.2, 0.2], [-0.2, -0.2]]), nadir),
                           ("t",))
    far = SphericalMask("far", unproject(np.array([[0.1, 0.0], [0.2, 0.1], [0.1, 0.1]]) + [10.0, 0.0], nadir),
                        ("u",))  # 100 m out and more: beyond the 50 m range
    one = mask_footprint(cam, square, engine, ground_z=0.0)
    assert one.area == pytest.approx(16.0, rel=1e-9)
    assert one.centroid.x == pytest.approx(100.0) and one.centroid.y == pytest.approx(200.0)
    assert shapely.get_coordinates(one)[:, 0].max() == pytest.approx(102.0)
    assert mask_footprint(cam, far, engine, ground_z=0.0).is_empty
    both = mask_footprints(cam, [far, square, far], engine, ground_z=0.0)
    assert both[0].is_empty and both[2].is_empty and shapely.equals_exact(both[1], one, 0.0)
    scene = tutorial.scene
    for cid, plan in tutorial.mask_plans.items():
        c = tutorial.camera(cid)
        alone = [mask_footprint(c, m, scene.engine, ground_z=flat_ground_z(scene, c)) for m in plan.masks]
        together = camera_footprints(scene, c, plan.masks)
        assert all(shapely.equals_exact(a, b, 0.0) or (a.is_empty and b.is_empty)
                   for a, b in zip(alone, together, strict=True))
