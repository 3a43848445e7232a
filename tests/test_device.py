"""``simulator deploy`` and ``simulator check-device`` against a test ONVIF device on loopback
(``tests/onvif_device.py``: it validates every request against the official schemas and checks the
WS-UsernameToken digest): deploy, check (passes), tamper on the device, check (fails, naming it);
refusals and device errors give one line, exit 2, and nothing logged as deployed."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from lxml import etree

from simulator import cli

from .onvif_device import TR2, TT, Device

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run with its own signing key (``--key``: never the developer's per-user key)."""
    out = tmp_path_factory.mktemp("ing")
    keys = tmp_path_factory.mktemp("keys")
    assert cli.main(["keys", "--out", str(keys)]) == 0
    assert cli.main(["run", str(ROOT / "scenarios" / "ingolstadt-lod3.yaml"), "--out", str(out),
                     "--key", str(keys / "signing-key.pem")]) == 0
    out.joinpath(".key").write_text(str(keys / "signing-key.pem"))
    return out


@pytest.fixture
def device():
    d = Device()
    yield d
    d.close()


def _entries(out: Path) -> list[dict]:
    return [json.loads(ln) for f in sorted((out / "audit").glob("audit-*.jsonl")) for ln in f.read_text().splitlines()]


def _args(plan: Path, url: str, pw: Path, *extra: str) -> list[str]:
    key = (plan.parent.parent / ".key").read_text() if (plan.parent.parent / ".key").exists() else None
    return [str(plan), "--device", url, "--user", "admin", "--password-file", str(pw),
            *(["--key", key] if key and "--key" not in extra else []), *extra]


def test_deploy_then_check_then_tamper(run, device, tmp_path, capsys):
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    plan = run / "masks" / "ing-03.json"  # an Axis model, tilt limited to -90..+20 deg
    n = len(json.loads(plan.read_text())["masks"])
    before = len(_entries(run))
    device.moving_polls = 2  # each move reports MOVING twice: the mask is drawn only once it is idle
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 0
    assert len(device.masks) == n
    assert device.requests[:4] == ["GetSystemDateAndTime", "GetMasks", "GetConfiguration", "SetConfiguration"]
    assert device.requests.count("CreateMask") == n and device.requests.count("AbsoluteMove") == n
    seq = [r for r in device.requests if r in ("AbsoluteMove", "GetStatus", "CreateMask")]
    assert seq[:5] == ["AbsoluteMove", "GetStatus", "GetStatus", "GetStatus", "CreateMask"]
    # the limits went into the device's own configuration: its other fields are kept
    assert device.ptz_config.findtext(f"{{{TT}}}DefaultPTZTimeout") == "PT7S"
    assert device.ptz_config.find(f".//{{{TT}}}PanTiltLimits") is not None
    assert all('action="http://www.onvif.org/ver' in a for a in device.actions)
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 0  # again: the old masks are replaced
    assert len(device.masks) == n and device.requests.count("DeleteMask") == n
    assert cli.main(["check-device", *_args(plan, device.url, pw)]) == 0
    log = _entries(run)[before:]
    assert [e["action"] for e in log] == ["deploy", "deploy", "check_device"]
    assert log[-1]["detail"]["differences"] == []
    # tamper: disable one mask, move another, widen the tilt limit
    tokens = list(device.masks)
    device.masks[tokens[0]].find(f"{{{TR2}}}Enabled").text = "false"
    p = device.masks[tokens[1]].find(f".//{{{TT}}}Point")
    p.set("x", f"{float(p.get('x')) + 0.05:.6f}")
    device.ptz_config.find(f".//{{{TT}}}YRange/{{{TT}}}Max").text = "1.0"
    device.masks[tokens[2]].find(f"{{{TR2}}}Type").text = "Blurred"  # a weaker mask than planned
    capsys.readouterr()
    assert cli.main(["check-device", *_args(plan, device.url, pw)]) == 1
    err = capsys.readouterr().err
    ids = [m["id"] for m in json.loads(plan.read_text())["masks"]]
    assert f"mask {ids[0]} disabled" in err and f"mask {ids[1]} missing" in err
    assert f"mask {ids[2]} drawn differently on the device (Blurred" in err
    assert "limits widened: tilt" in err
    assert "1 mask(s) on the device that the plan does not have" in err  # the moved one, where it is now
    assert _entries(run)[-1]["action"] == "check_device" and len(_entries(run)[-1]["detail"]["differences"]) == 5
    # a mask added on the device: also a difference
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 0
    added = etree.fromstring(etree.tostring(device.masks[next(iter(device.masks))]))
    for p in added.iter(f"{{{TT}}}Point"):
        p.set("x", f"{float(p.get('x')) * 0.5:.6f}")
    device.masks["added"] = added
    capsys.readouterr()
    assert cli.main(["check-device", *_args(plan, device.url, pw)]) == 1
    assert "1 mask(s) on the device that the plan does not have (added)" in capsys.readouterr().err


def test_a_signing_key_that_is_not_the_runs_is_refused_before_anything_is_sent(run, device, tmp_path, capsys):
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    assert cli.main(["keys", "--out", str(tmp_path / "other")]) == 0
    before = len(_entries(run))
    capsys.readouterr()
    plan = run / "masks" / "ing-03.json"
    other = str(tmp_path / "other" / "signing-key.pem")
    # the run's key is neither given nor pinned: its signing-key.pub beside the plan is not trusted alone
    assert cli.main(["deploy", *_args(plan, device.url, pw, "--key", other)]) == 2
    assert "which is not pinned" in capsys.readouterr().err
    trusted = ["--public-key", str(run / "signing-key.pub")]
    assert cli.main(["deploy", *_args(plan, device.url, pw, "--key", other, *trusted)]) == 2
    assert "the signing key is not the run's" in capsys.readouterr().err
    assert device.requests == [] and len(_entries(run)) == before
    assert cli.main(["deploy", str(plan), "--device", device.url, "--user", "admin"]) == 2  # no password file
    assert "both --user and --password-file" in capsys.readouterr().err
    assert cli.main(["deploy", *_args(plan, "http://admin:secret@127.0.0.1:1/x", pw)]) == 2
    assert "holds credentials" in capsys.readouterr().err


def test_refusals_and_device_errors_are_one_line_and_deploy_nothing(run, device, tmp_path, capsys):
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    plan = run / "masks" / "ing-03.json"
    before = len(_entries(run))
    capsys.readouterr()
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 2  # wrong credentials
    err = capsys.readouterr().err.strip()
    assert "NotAuthorized" in err and "not deployed" in err
    assert [ln for ln in err.splitlines() if not ln.startswith("warning:")] == [err.splitlines()[-1]]
    assert device.masks == {}
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/onvif/device_service"
    pw.write_text("secret\n")
    assert cli.main(["deploy", *_args(plan, closed, pw)]) == 2
    assert "unreachable" in capsys.readouterr().err
    for bad in ("not a url", "file:///etc/passwd", "http://[::1"):
        assert cli.main(["deploy", *_args(plan, bad, pw)]) == 2
        assert "not an http(s) URL" in capsys.readouterr().err
    # a plan outside a run's masks/, a plan changed after signing, and an ONVIF document that is not the
    # exported one
    (tmp_path / "loose").mkdir()
    shutil.copy(plan, tmp_path / "loose" / "ing-03.json")
    assert cli.main(["deploy", *_args(tmp_path / "loose" / "ing-03.json", device.url, pw, "--public-key",
                                      str(run / "signing-key.pub"), "--key", (run / ".key").read_text())]) == 2
    assert "not a plan in a run's masks/ folder" in capsys.readouterr().err
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    data = json.loads(plan.read_text())
    data["masks"] = data["masks"][1:]
    (copy / "masks" / "ing-03.json").write_text(json.dumps(data))
    assert cli.main(["deploy", *_args(copy / "masks" / "ing-03.json", device.url, pw, "--public-key",
                                      str(run / "signing-key.pub"), "--key", (run / ".key").read_text())]) == 2
    assert "refused: the plan does not verify" in capsys.readouterr().err
    doc = run / "masks" / "onvif" / "ing-03.xml"
    original = doc.read_bytes()
    try:
        root = etree.fromstring(original)
        root.remove(root.find("{urn:privacy-zone-simulator:onvif-mask-plan:1}Mask"))
        doc.write_bytes(etree.tostring(root))
        assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 2
        assert "not the one the run last exported with this signed plan" in capsys.readouterr().err
    finally:
        doc.write_bytes(original)
    assert [e["action"] for e in _entries(run)[before:]] == []  # nothing logged as deployed
    assert device.masks == {}


def test_ipycam_an_independent_onvif_camera_checks_our_digest():
    """``ipycam`` (PyPI), a virtual ONVIF camera with its own WS-UsernameToken check: our client's
    digest is accepted with the right password and refused (a SOAP fault, one line, DeviceError)
    with a wrong one. (Moves and status read-back: the next test.)"""
    import socketserver
    import threading

    import ipycam  # a test extra: installed by the test command
    from ipycam.http import IPCameraHTTPHandler

    from simulator.device import Credentials, DeviceError, call

    config = ipycam.CameraConfig()
    config.set_credentials("admin", "secret")
    IPCameraHTTPHandler.camera = ipycam.IPCamera(config)  # its ONVIF handler only: no streams started
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), IPCameraHTTPHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/onvif/device_service"
        tds = "http://www.onvif.org/ver10/device/wsdl"
        reply = call(url, etree.Element(f"{{{tds}}}GetDeviceInformation"), Credentials("admin", "secret"))
        assert etree.QName(reply).localname == "GetDeviceInformationResponse"
        assert reply.findtext(f"{{{tds}}}Model")
        with pytest.raises(DeviceError) as err:
            call(url, etree.Element(f"{{{tds}}}GetDeviceInformation"), Credentials("admin", "wrong"))
        assert len(str(err.value).splitlines()) == 1 and "401" in str(err.value) and "not authorized" in str(err.value)
        with pytest.raises(DeviceError, match="not authorized"):  # no token at all
            call(url, etree.Element(f"{{{tds}}}GetDeviceInformation"), Credentials(None, None))
    finally:
        server.shutdown()
        server.server_close()


def test_ipycam_moves_to_each_exported_view_and_reports_it(run):
    """Each ``tptz:AbsoluteMove`` of an exported plan (ing-03), sent by our client with its digest to
    ``ipycam``'s PTZ service: ipycam parses it with its own code, moves its own PTZ state, and its
    ``GetStatus`` reports the position the plan asked for (generic space) and no movement, read by our
    client's status poll. One change to ipycam 1.3.0, stated here: its SOAP envelope template lacks
    the declaration of the ``ptz:`` prefix its PTZ replies use (not well-formed XML without it), so the
    test adds ``xmlns:ptz`` for the ONVIF PTZ namespace to that template; the rest is ipycam's."""
    import socketserver
    import threading

    import ipycam
    from ipycam.http import IPCameraHTTPHandler

    from simulator.device import TPTZ, Credentials, call, element, wait_idle

    config = ipycam.CameraConfig()
    config.set_credentials("admin", "secret")
    camera = ipycam.IPCamera(config)
    templates = camera.onvif._templates
    assert 'xmlns:ptz=' not in templates["envelope"] and "<ptz:GetStatusResponse>" in templates["ptz_get_status"]
    templates["envelope"] = templates["envelope"].replace("<s:Envelope ", f'<s:Envelope xmlns:ptz="{TPTZ}" ', 1)
    IPCameraHTTPHandler.camera = camera
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), IPCameraHTTPHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    creds = Credentials("admin", "secret")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/onvif/ptz_service"
        doc = etree.fromstring((run / "masks" / "onvif" / "ing-03.xml").read_bytes())
        moves = doc.findall(f".//{{{TPTZ}}}AbsoluteMove")
        assert len(moves) >= 2
        seen = set()
        for move in moves:
            pt, zm = move.find(f".//{{{TT}}}PanTilt"), move.find(f".//{{{TT}}}Zoom")
            want = (float(pt.get("x")), float(pt.get("y")), float(zm.get("x")))
            reply = call(url, move, creds)
            assert etree.QName(reply).localname == "AbsoluteMoveResponse"
            profile = move.findtext(f"{{{TPTZ}}}ProfileToken")
            wait_idle(url, profile, creds, timeout_s=2.0)
            get = element(f"{{{TPTZ}}}GetStatus")
            get.append(element(f"{{{TPTZ}}}ProfileToken", profile))
            pos = call(url, get, creds).find(f".//{{{TT}}}Position")
            got = (float(pos.find(f"{{{TT}}}PanTilt").get("x")), float(pos.find(f"{{{TT}}}PanTilt").get("y")),
                   float(pos.find(f"{{{TT}}}Zoom").get("x")))
            assert got == pytest.approx(want, abs=1e-9)
            seen.add(got)
        assert len(seen) >= 2  # it moved between views
    finally:
        server.shutdown()
        server.server_close()


def test_a_deploy_that_fails_half_way_says_how_far_it_got(run, device, tmp_path, capsys):
    """The device refuses the third mask (ter:MaxMasks): deploy exits 2 with one line saying how far it
    got; the audit log records a failed deployment (never a deployment)."""
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    plan = run / "masks" / "ing-03.json"
    n = len(json.loads(plan.read_text())["masks"])
    device.refuse_masks_after = 2
    before = len(_entries(run))
    capsys.readouterr()
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "MaxMasks" in err
    assert f"partially deployed: 0 of the device's masks deleted, limits set, 2 of {n} planned masks created" in err
    log = _entries(run)[before:]
    assert [e["action"] for e in log] == ["deploy_failed"] and len(log[0]["detail"]["created"]) == 2
    assert len(device.masks) == 2


def test_proposed_limits_exported_with_their_masks_and_deployed(tmp_path, device, capsys):
    """A camera that takes one mask, between a wide window 15 m north and a narrow one 15 m south:
    limits are proposed (a pan sector without the narrow one, the narrowest sector that leaves one
    mask: so the camera pans through north, one generic range) and the camera planned again with them. That plan is
    exported beside the plan as set (``masks/c.proposed.json`` and its vendor files), signed and
    logged; deployed, the device holds its one mask and the proposed pan limits, decoded from the
    device's own configuration (ONVIF generic space: degrees from north = x * 180)."""
    from .scenes import PTZ, X0, Y0, building, window_south, write_scenario

    blds = [building("N", -6, 15, 6, 23, 6.0), building("S", -6, -23, 6, -15, 6.0)]
    south = {"type": "Feature", "properties": {"id": "ws", "kind": "window", "building_id": "S"},
             "geometry": {"type": "Polygon", "coordinates": [[[X0 + 0.2, Y0 - 15, 1.0], [X0 - 1.0, Y0 - 15, 1.0],
                                                             [X0 - 1.0, Y0 - 15, 2.4], [X0 + 0.2, Y0 - 15, 2.4],
                                                             [X0 + 0.2, Y0 - 15, 1.0]]]}}
    cam = {"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 3.0, "mask_limits": {"max_masks": 1}}
    scenario = write_scenario(tmp_path / "s", buildings=blds, cameras=[cam],
                              openings=[window_south("wn", "N", 15.0, -3.0, 3.0, 1.0, 2.4), south])
    out, keys = tmp_path / "out", tmp_path / "keys"
    assert cli.main(["keys", "--out", str(keys)]) == 0
    assert cli.main(["run", str(scenario), "--out", str(out), "--key", str(keys / "signing-key.pem")]) == 0
    summary = json.loads((out / "summary.json").read_text())["cameras"][0]
    assert not summary["compliant"] and summary["proposed_limits"]["compliant"]
    lo, hi = summary["proposed_pan_limits_deg"]
    as_set = json.loads((out / "masks" / "c.json").read_text())
    proposed = json.loads((out / "masks" / "c.proposed.json").read_text())
    assert as_set["pan_limits_deg"] == [0.0, 360.0] and len(as_set["masks"]) == 2
    assert proposed["pan_limits_deg"] == [lo, hi] and proposed["proposed_limits"] is True
    assert proposed["compliant"] and len(proposed["masks"]) == 1
    for sub, suffix in (("onvif", "xml"), ("axis", "txt"), ("hikvision", "xml")):
        assert (out / "masks" / sub / f"c.proposed.{suffix}").is_file()
    axis = (out / "masks" / "axis" / "c.proposed.txt").read_text()
    assert "PTZ.Limit.L1.MinPan=" in axis and axis.count("pxpolygon=") == 1
    exports = [e for e in _entries(out) if e["action"] == "export" and e["detail"].get("proposed_limits")]
    assert [e["detail"]["file"] for e in exports] == ["masks/c.proposed.json"]
    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    args = [str(out / "masks" / "c.proposed.json"), "--device", device.url, "--user", "admin",
            "--password-file", str(pw), "--key", str(keys / "signing-key.pem")]
    assert cli.main(["deploy", *args]) == 0
    assert len(device.masks) == 1
    rng = device.ptz_config.find(f".//{{{TT}}}PanTiltLimits/{{{TT}}}Range/{{{TT}}}XRange")
    x = [float(rng.findtext(f"{{{TT}}}{k}")) * 180.0 for k in ("Min", "Max")]
    assert x[0] % 360.0 == pytest.approx(lo % 360.0, abs=1e-3) and x[1] - x[0] == pytest.approx(hi - lo, abs=1e-3)
    assert cli.main(["check-device", *args]) == 0


def test_a_device_whose_clock_is_an_hour_ahead_still_accepts_our_token(run, device, tmp_path, monkeypatch):
    """The test device refuses a UsernameToken created more than 5 minutes from its own clock, and a
    replayed nonce. With its clock an hour ahead, deploy reads the clock first (GetSystemDateAndTime,
    served before authentication) and creates its tokens in the device's time: accepted, and the offset
    is logged. Without that reading the same deploy is refused (the window is real)."""
    from simulator import device as client

    pw = tmp_path / "pw"
    pw.write_text("secret\n")
    plan = run / "masks" / "ing-03.json"
    device.clock_offset_s = 3600.0
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 0
    assert device.requests[0] == "GetSystemDateAndTime" and len(device.masks) > 0
    assert _entries(run)[-1]["detail"]["clock_offset_s"] == pytest.approx(3600.0, abs=2.0)
    monkeypatch.setattr(client, "with_device_clock", lambda url, creds: creds)
    assert cli.main(["deploy", *_args(plan, device.url, pw)]) == 2
    env = client.envelope(client.element(f"{{{client.TR2}}}GetMasks"), client.Credentials("admin", "secret", 3600.0))
    assert device.answer(env)[0] == 200 and device.answer(env)[0] == 400  # the same nonce twice: refused
