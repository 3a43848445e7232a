"""Deploying a mask plan to a camera over ONVIF, and checking that the camera still holds it.

The requests are the exported plan's own (``masks/onvif/<camera>.xml``: ``tptz:SetConfiguration``,
``tptz:AbsoluteMove``, ``tr2:CreateMask``, validated against the official schemas when exported),
sent as SOAP 1.2 with a WS-Security UsernameToken (``PasswordDigest`` = Base64(SHA-1(nonce + created +
password)), OASIS Web Services Security UsernameToken Profile 1.0, as ONVIF requires) to one ONVIF
endpoint (``--device``) that serves the Media2 and PTZ services. Deploying replaces the masks of the
camera's video source configuration: ``GetMasks``, a ``DeleteMask`` for each, then the plan's limits,
and per mask the move and ``CreateMask``. Checking reads ``GetMasks`` and ``GetConfiguration`` back
and names every difference from the plan: a mask missing, disabled or moved, limits widened.

Replies are parsed with entities and network access off.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .errors import SimulatorError
from .outputs.export.onvif import PLAN
from .outputs.export.onvif_schema import TPTZ, TR2, TT

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
TOLERANCE = 1e-5  # normalised coordinates: the plan's six decimals, read back


class DeviceError(SimulatorError):
    """The device could not be reached, refused the credentials, or answered with a fault."""


@dataclass(frozen=True)
class Credentials:
    user: str | None
    password: str | None
    clock_offset_s: float = 0.0  # the device's clock minus ours: the token's Created is in its time


TDS = "http://www.onvif.org/ver10/device/wsdl"
MAX_CLOCK_OFFSET_S = 5.0  # a smaller difference is left alone (devices accept a few minutes)


def with_device_clock(url: str, creds: Credentials) -> Credentials:
    """``creds`` with the device's clock offset, read with ``GetSystemDateAndTime`` (which ONVIF serves
    before authentication): a device whose clock differs from ours by more than its window refuses a
    UsernameToken created in our time. Unchanged without a user, or where the device does not say."""
    if creds.user is None:
        return creds
    t0 = time.time()
    try:
        reply = call(url, element(f"{{{TDS}}}GetSystemDateAndTime"), Credentials(None, None))
    except DeviceError:
        return creds
    utc = reply.find(f".//{{{TT}}}UTCDateTime")
    try:
        d, t = utc.find(f"{{{TT}}}Date"), utc.find(f"{{{TT}}}Time")
        device = dt.datetime(int(d.findtext(f"{{{TT}}}Year")), int(d.findtext(f"{{{TT}}}Month")),
                             int(d.findtext(f"{{{TT}}}Day")), int(t.findtext(f"{{{TT}}}Hour")),
                             int(t.findtext(f"{{{TT}}}Minute")), int(t.findtext(f"{{{TT}}}Second")), tzinfo=dt.UTC)
    except (AttributeError, TypeError, ValueError):
        return creds
    offset = device.timestamp() - (t0 + time.time()) / 2
    return creds if abs(offset) <= MAX_CLOCK_OFFSET_S else \
        Credentials(creds.user, creds.password, clock_offset_s=offset)


def digest(nonce: bytes, created: str, password: str) -> str:
    """The UsernameToken ``PasswordDigest``: Base64(SHA-1(nonce + created + password))."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def envelope(body: Any, creds: Credentials) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "tt": TT, "tr2": TR2, "tptz": TPTZ})
    if creds.user is not None:
        sec = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Header"), f"{{{WSSE}}}Security",
                               nsmap={"wsse": WSSE, "wsu": WSU})
        token = etree.SubElement(sec, f"{{{WSSE}}}UsernameToken")
        etree.SubElement(token, f"{{{WSSE}}}Username").text = creds.user
        nonce = os.urandom(16)
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=creds.clock_offset_s)
        created = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        etree.SubElement(token, f"{{{WSSE}}}Password", Type=DIGEST).text = digest(nonce, created, creds.password or "")
        etree.SubElement(token, f"{{{WSSE}}}Nonce", EncodingType=BASE64).text = base64.b64encode(nonce).decode()
        etree.SubElement(token, f"{{{WSU}}}Created").text = created
    etree.SubElement(env, f"{{{SOAP}}}Body").append(body)
    out: bytes = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is answered as the HTTP error it is


_OPENER = urllib.request.build_opener(_NoRedirect())


def check_url(url: str) -> None:
    """``DeviceError`` unless ``url`` is an http(s) URL of a host, without credentials in it."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise DeviceError(f"{url!r}: not an http(s) URL of a device ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise DeviceError(f"{url!r}: not an http(s) URL of a device")
    if parts.username or parts.password:
        raise DeviceError("the device URL holds credentials: give --user and --password-file instead")


def call(url: str, body: Any, creds: Credentials, *, timeout_s: float = 10.0) -> Any:
    """Send one request (``body``: its element) and return the reply's body element (the operation's
    ``...Response``); ``DeviceError`` with one line on a bad URL, a network error, an HTTP error, a
    SOAP fault or a reply that is not the operation's."""
    q = etree.QName(body)
    op = q.localname
    check_url(url)
    action = f"{q.namespace}/{op}"  # the WSDLs' soapAction: namespace/operation
    try:
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
        req = urllib.request.Request(url, data=envelope(body, creds), method="POST", headers=headers)
        with _OPENER.open(req, timeout=timeout_s) as resp:
            data = resp.read(10_000_000)
    except urllib.error.HTTPError as exc:
        data = exc.read(1_000_000)
        fault = _fault(data)
        raise DeviceError(f"{url}: {op}: HTTP {exc.code}{': ' + fault if fault else ''}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeviceError(f"{url}: {op}: device unreachable ({reason})") from None
    fault = _fault(data)
    if fault is not None:
        raise DeviceError(f"{url}: {op}: {fault}")
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        raise DeviceError(f"{url}: {op}: not a SOAP reply ({exc})") from None
    reply = root.find(f"{{{SOAP}}}Body")
    answer = [el for el in (reply if reply is not None else []) if isinstance(el.tag, str)]
    if not answer or etree.QName(answer[0]).localname != f"{op}Response":
        raise DeviceError(f"{url}: {op}: the reply is not a {op}Response")
    return answer[0]


def _fault(data: bytes) -> str | None:
    """The fault's reason text, if the reply is a SOAP fault."""
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError:
        return None
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    if fault is None:
        return None
    codes = [v.text or "" for v in fault.iter(f"{{{SOAP}}}Value")]  # Code/Value, then Subcode/Value (ter:...)
    text = fault.findtext(f".//{{{SOAP}}}Text") or "fault"
    return " ".join(" ".join([*codes[1:], text]).split())[:200]


def element(tag: str, text: str | None = None, **attrib: str) -> Any:
    el = etree.Element(tag, **attrib)
    if text is not None:
        el.text = text
    return el


@dataclass(frozen=True)
class PlannedMask:
    id: str
    move: Any | None  # tptz:AbsoluteMove
    create: Any  # tr2:CreateMask

    @property
    def polygon(self) -> list[tuple[float, float]]:
        return [(float(p.get("x")), float(p.get("y"))) for p in self.create.iter(f"{{{TT}}}Point")]


def planned(document: bytes) -> tuple[list[PlannedMask], Any | None, str, str]:
    """The exported plan's masks, its ``tptz:SetConfiguration`` (or None), and the video source and PTZ
    configuration tokens it names."""
    root = etree.fromstring(document, PARSER)
    masks = [PlannedMask(m.get("id"), m.find(f"{{{TPTZ}}}AbsoluteMove"), m.find(f"{{{TR2}}}CreateMask"))
             for m in root.findall(f"{{{PLAN}}}Mask")]
    limits = root.find(f"{{{TPTZ}}}SetConfiguration")
    cfg = "" if limits is None else limits.find(f"{{{TPTZ}}}PTZConfiguration").get("token", "")
    return masks, limits, root.get("videoSourceToken", ""), cfg


def deploy(url: str, document: bytes, creds: Credentials, *, move_timeout_s: float = 20.0) -> dict[str, Any]:
    """Replace the camera's masks with the plan's, after setting its PTZ limits. The limits go into the
    device's own PTZ configuration (``GetConfiguration``, the limits replaced, ``SetConfiguration``),
    so its other fields stay; each mask is drawn once the move that frames it has ended
    (``GetStatus`` until idle). Returns what was done; a failure after the device was changed raises
    ``PartialDeploy``, saying how far it got."""
    masks, limits, source, cfg_token = planned(document)
    creds = with_device_clock(url, creds)
    done: dict[str, Any] = {"deleted": 0, "created": [], "limits_set": False,
                            "clock_offset_s": round(creds.clock_offset_s, 1)}
    try:
        old = [m.get("token") for m in call(url, _get_masks(source), creds).findall(f"{{{TR2}}}Masks")
               if (m.findtext(f"{{{TR2}}}ConfigurationToken") or source) == source]
        for token in old:
            delete = element(f"{{{TR2}}}DeleteMask")
            delete.append(element(f"{{{TR2}}}Token", token))
            call(url, delete, creds)
            done["deleted"] += 1
        if limits is not None:
            call(url, _with_limits(url, limits, cfg_token, creds), creds)
            done["limits_set"] = True
        for m in masks:
            if m.move is not None:
                call(url, _copy(m.move), creds)
                wait_idle(url, m.move.findtext(f"{{{TPTZ}}}ProfileToken") or "", creds, move_timeout_s)
            reply = call(url, _copy(m.create), creds)
            done["created"].append(reply.findtext(f"{{{TR2}}}Token") or "")
    except DeviceError as exc:
        if done["deleted"] or done["created"] or done["limits_set"]:  # the device was changed
            raise PartialDeploy(f"{exc}; partially deployed: {done['deleted']} of the device's masks deleted, "
                                f"limits {'set' if done['limits_set'] else 'not set'}, {len(done['created'])} of "
                                f"{len(masks)} planned masks created: deploy again", done) from None
        raise
    return done


class PartialDeploy(DeviceError):
    """A deploy that changed the device before it failed (``done``: what it did)."""

    def __init__(self, message: str, done: dict[str, Any]) -> None:
        super().__init__(message)
        self.done = done


def _with_limits(url: str, limits: Any, cfg_token: str, creds: Credentials) -> Any:
    """The ``SetConfiguration`` of the device's own PTZ configuration with the plan's limits in it (the
    plan's whole configuration where the device returns none)."""
    out = _copy(limits)
    get = element(f"{{{TPTZ}}}GetConfiguration")
    get.append(element(f"{{{TPTZ}}}PTZConfigurationToken", cfg_token))
    current = call(url, get, creds).find(f"{{{TPTZ}}}PTZConfiguration")
    if current is None:
        return out
    cfg = etree.Element(f"{{{TPTZ}}}PTZConfiguration", attrib=dict(current.attrib))
    for child in current:
        cfg.append(_copy(child))
    planned_cfg = out.find(f"{{{TPTZ}}}PTZConfiguration")
    for tag in ("PanTiltLimits", "ZoomLimits"):
        new = _copy(planned_cfg.find(f"{{{TT}}}{tag}"))
        old = cfg.find(f"{{{TT}}}{tag}")
        if old is not None:
            cfg.replace(old, new)
            continue
        # in tt:PTZConfiguration's order: after the pan/tilt limits (zoom), before the extension
        after = cfg.find(f"{{{TT}}}PanTiltLimits") if tag == "ZoomLimits" else None
        ext = cfg.find(f"{{{TT}}}Extension")
        if after is not None:
            after.addnext(new)
        elif ext is not None:
            ext.addprevious(new)
        else:
            cfg.append(new)
    out.replace(planned_cfg, cfg)
    return out


def wait_idle(url: str, profile: str, creds: Credentials, timeout_s: float) -> None:
    """Poll ``GetStatus`` until pan/tilt and zoom are idle (``DeviceError`` after ``timeout_s``)."""
    end = time.monotonic() + timeout_s
    while True:
        get = element(f"{{{TPTZ}}}GetStatus")
        get.append(element(f"{{{TPTZ}}}ProfileToken", profile))
        status = call(url, get, creds).find(f".//{{{TT}}}MoveStatus")
        moving = [] if status is None else [(m.text or "").strip().upper() for m in status]
        if "MOVING" not in moving:
            return
        if time.monotonic() > end:
            raise DeviceError(f"{url}: GetStatus: still moving after {timeout_s:g} s")
        time.sleep(0.2)


def check(url: str, document: bytes, creds: Credentials) -> list[str]:
    """The differences between the camera and the plan, one line each (empty: it holds the plan):
    masks missing, moved, disabled or drawn differently, masks the plan does not have, and limits
    that differ (widened, narrower, in another space, or missing)."""
    masks, limits, source, cfg_token = planned(document)
    creds = with_device_clock(url, creds)
    on_device = []
    try:
        for m in call(url, _get_masks(source), creds).findall(f"{{{TR2}}}Masks"):
            if (m.findtext(f"{{{TR2}}}ConfigurationToken") or source) != source:
                continue  # another video source's mask
            poly = [(float(p.get("x", "nan")), float(p.get("y", "nan"))) for p in m.iter(f"{{{TT}}}Point")]
            on_device.append({"token": m.get("token"), "polygon": poly,
                              "enabled": (m.findtext(f"{{{TR2}}}Enabled") or "").strip() == "true",
                              "look": _look(m)})
    except ValueError as exc:
        raise DeviceError(f"{url}: GetMasks: a mask point that is not a number ({exc})") from None
    out: list[str] = []
    used: set[str] = set()
    for pm in masks:
        match = [d for d in on_device if _same(d["polygon"], pm.polygon)]
        used.update(str(d["token"]) for d in match)
        if not match:
            near = [d for d in on_device if len(d["polygon"]) == len(pm.polygon)]
            out.append(f"mask {pm.id} missing" + (" (or moved)" if near else ""))
        elif not any(d["enabled"] for d in match):
            out.append(f"mask {pm.id} disabled (device token {match[0]['token']})")
        elif not any(d["enabled"] and d["look"] == _look(pm.create) for d in match):
            out.append(f"mask {pm.id} drawn differently on the device ({match[0]['look']}, plan {_look(pm.create)})")
    extra = [str(d["token"]) for d in on_device if str(d["token"]) not in used]
    if extra:
        out.append(f"{len(extra)} mask(s) on the device that the plan does not have ({', '.join(extra[:5])})")
    if limits is not None:
        out += _limit_differences(url, limits, cfg_token, creds)
    return out


def _limit_differences(url: str, limits: Any, cfg_token: str, creds: Credentials) -> list[str]:
    want = _ranges(limits)
    get = element(f"{{{TPTZ}}}GetConfiguration")
    get.append(element(f"{{{TPTZ}}}PTZConfigurationToken", cfg_token))
    try:
        have = _ranges(call(url, get, creds))
    except ValueError as exc:
        raise DeviceError(f"{url}: GetConfiguration: a limit that is not a number ({exc})") from None
    out = []
    for axis, (space, lo, hi) in want.items():
        if axis not in have:
            out.append(f"limits: {axis} not limited on the device (plan {lo:g}..{hi:g})")
            continue
        dspace, dlo, dhi = have[axis]
        if dspace != space:
            out.append(f"limits: {axis} in another space on the device ({dspace or 'none'})")
        elif not (math.isfinite(dlo) and math.isfinite(dhi)) or dlo < lo - TOLERANCE or dhi > hi + TOLERANCE:
            out.append(f"limits widened: {axis} {dlo:g}..{dhi:g} on the device, {lo:g}..{hi:g} in the plan")
        elif dlo > lo + TOLERANCE or dhi < hi - TOLERANCE:
            out.append(f"limits narrower: {axis} {dlo:g}..{dhi:g} on the device, {lo:g}..{hi:g} in the plan")
    return out


def _look(el: Any) -> str:
    """A mask's type and colour, as a short text ("Color 0,0,0 RGB"; numbers compared as numbers)."""
    color = el.find(f".//{{{TR2}}}Color")
    rgb = ""
    if color is not None:
        try:
            xyz = ",".join(f"{float(color.get(k, 'nan')):g}" for k in ("X", "Y", "Z"))
        except ValueError:
            xyz = "?"
        rgb = f" {xyz} {(color.get('Colorspace') or 'YCbCr (implied)').rsplit('/', 1)[-1]}"
    return f"{(el.findtext(f'.//{{{TR2}}}Type') or '').strip()}{rgb}"


def _same(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(abs(x0 - x1) <= TOLERANCE and abs(y0 - y1) <= TOLERANCE
                                    for (x0, y0), (x1, y1) in zip(a, b, strict=True))


def _ranges(el: Any) -> dict[str, tuple[str, float, float]]:
    """The ranges in a PTZ configuration: {"pan": (space URI, min, max), "tilt": ..., "zoom": ...}."""
    out = {}
    for tag, axes in (("PanTiltLimits", (("XRange", "pan"), ("YRange", "tilt"))),
                      ("ZoomLimits", (("XRange", "zoom"),))):
        rng = el.find(f".//{{{TT}}}{tag}/{{{TT}}}Range")
        if rng is None:
            continue
        space = (rng.findtext(f"{{{TT}}}URI") or "").strip()
        for sub, name in axes:
            r = rng.find(f"{{{TT}}}{sub}")
            if r is not None:
                out[name] = (space, float(r.findtext(f"{{{TT}}}Min") or "nan"),
                             float(r.findtext(f"{{{TT}}}Max") or "nan"))
    return out


def _get_masks(source_token: str) -> Any:
    get = element(f"{{{TR2}}}GetMasks")
    get.append(element(f"{{{TR2}}}ConfigurationToken", source_token))
    return get


def _copy(el: Any) -> Any:
    out: Any = etree.fromstring(etree.tostring(el), PARSER)
    return out
