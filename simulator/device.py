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
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .errors import SimulatorError
from .export.onvif import PLAN
from .export.onvif_schema import TPTZ, TR2, TT

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


def digest(nonce: bytes, created: str, password: str) -> str:
    """The UsernameToken ``PasswordDigest``: Base64(SHA-1(nonce + created + password))."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def _envelope(body: Any, creds: Credentials) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "tt": TT, "tr2": TR2, "tptz": TPTZ})
    if creds.user is not None:
        sec = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Header"), f"{{{WSSE}}}Security",
                               nsmap={"wsse": WSSE, "wsu": WSU})
        token = etree.SubElement(sec, f"{{{WSSE}}}UsernameToken")
        etree.SubElement(token, f"{{{WSSE}}}Username").text = creds.user
        nonce = os.urandom(16)
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        etree.SubElement(token, f"{{{WSSE}}}Password", Type=DIGEST).text = digest(nonce, created, creds.password or "")
        etree.SubElement(token, f"{{{WSSE}}}Nonce", EncodingType=BASE64).text = base64.b64encode(nonce).decode()
        etree.SubElement(token, f"{{{WSU}}}Created").text = created
    etree.SubElement(env, f"{{{SOAP}}}Body").append(body)
    out: bytes = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    return out


def call(url: str, body: Any, creds: Credentials, *, timeout_s: float = 10.0) -> Any:
    """Send one request (``body``: its element) and return the reply's body element; ``DeviceError``
    with one line on a network error, an HTTP error or a SOAP fault."""
    op = etree.QName(body).localname
    if urllib.parse.urlsplit(url).scheme not in ("http", "https") or not urllib.parse.urlsplit(url).netloc:
        raise DeviceError(f"{url}: not an http(s) URL of a device")
    req = urllib.request.Request(url, data=_envelope(body, creds), method="POST",
                                 headers={"Content-Type": f'application/soap+xml; charset=utf-8; action="{op}"'})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 (the user's own device URL)
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
    if reply is None or len(reply) == 0:
        raise DeviceError(f"{url}: {op}: a SOAP reply without a body")
    return reply[0]


def _fault(data: bytes) -> str | None:
    """The fault's reason text, if the reply is a SOAP fault."""
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError:
        return None
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    if fault is None:
        return None
    text = fault.findtext(f".//{{{SOAP}}}Text") or fault.findtext(f".//{{{SOAP}}}Value") or "fault"
    return " ".join(text.split())[:200]


def _e(tag: str, text: str | None = None, **attrib: str) -> Any:
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


def deploy(url: str, document: bytes, creds: Credentials) -> dict[str, Any]:
    """Replace the camera's masks with the plan's, after setting its PTZ limits. Returns what was done:
    the masks deleted, the tokens of the masks created, whether the limits were set."""
    masks, limits, source, _ = planned(document)
    old = call(url, _get_masks(source), creds)
    deleted = 0
    tokens: list[str] = []
    try:
        for m in old.findall(f"{{{TR2}}}Masks"):
            delete = _e(f"{{{TR2}}}DeleteMask")
            delete.append(_e(f"{{{TR2}}}Token", m.get("token")))
            call(url, delete, creds)
            deleted += 1
        if limits is not None:
            call(url, _copy(limits), creds)
        for m in masks:
            if m.move is not None:
                call(url, _copy(m.move), creds)
            reply = call(url, _copy(m.create), creds)
            tokens.append(reply.findtext(f"{{{TR2}}}Token") or "")
    except DeviceError as exc:
        if deleted or tokens:  # the device was changed: say how far it got
            raise DeviceError(f"{exc}; the device is left part-configured ({deleted} of its masks deleted, "
                              f"{len(tokens)} of {len(masks)} planned masks created): deploy again") from None
        raise
    return {"deleted": deleted, "created": tokens, "limits_set": limits is not None}


def check(url: str, document: bytes, creds: Credentials) -> list[str]:
    """The differences between the camera and the plan, one line each (empty: it holds the plan)."""
    masks, limits, source, cfg_token = planned(document)
    on_device = []
    for m in call(url, _get_masks(source), creds).findall(f"{{{TR2}}}Masks"):
        poly = [(float(p.get("x")), float(p.get("y"))) for p in m.iter(f"{{{TT}}}Point")]
        on_device.append({"token": m.get("token"), "polygon": poly,
                          "enabled": (m.findtext(f"{{{TR2}}}Enabled") or "").strip() == "true",
                          "look": _look(m)})
    out = []
    for pm in masks:
        match = [d for d in on_device if _same(d["polygon"], pm.polygon)]
        if not match:
            near = [d for d in on_device if len(d["polygon"]) == len(pm.polygon)]
            out.append(f"mask {pm.id} missing" + (" (or moved)" if near else ""))
        elif not any(d["enabled"] for d in match):
            out.append(f"mask {pm.id} disabled (device token {match[0]['token']})")
        elif not any(d["enabled"] and d["look"] == _look(pm.create) for d in match):
            d = match[0]
            out.append(f"mask {pm.id} drawn differently on the device ({d['look']}, plan {_look(pm.create)})")
    if limits is not None:
        want = _ranges(limits)
        get = _e(f"{{{TPTZ}}}GetConfiguration")
        get.append(_e(f"{{{TPTZ}}}PTZConfigurationToken", cfg_token))
        have = _ranges(call(url, get, creds))
        for axis, (lo, hi) in want.items():
            if axis not in have:
                out.append(f"limits: {axis} not limited on the device (plan {lo:g}..{hi:g})")
                continue
            dlo, dhi = have[axis]
            if dlo < lo - TOLERANCE or dhi > hi + TOLERANCE:
                out.append(f"limits widened: {axis} {dlo:g}..{dhi:g} on the device, {lo:g}..{hi:g} in the plan")
    return out


def _look(el: Any) -> str:
    """A mask's type and colour, as a short text ("Color 0,0,0 RGB")."""
    color = el.find(f".//{{{TR2}}}Color")
    rgb = "" if color is None else \
        f" {color.get('X')},{color.get('Y')},{color.get('Z')} {(color.get('Colorspace') or '').rsplit('/', 1)[-1]}"
    return f"{(el.findtext(f'.//{{{TR2}}}Type') or '').strip()}{rgb}"


def _same(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(abs(x0 - x1) <= TOLERANCE and abs(y0 - y1) <= TOLERANCE
                                    for (x0, y0), (x1, y1) in zip(a, b, strict=True))


def _ranges(el: Any) -> dict[str, tuple[float, float]]:
    """The generic ranges in a PTZ configuration: {"pan": (min, max), "tilt": ..., "zoom": ...}."""
    out = {}
    for tag, axes in (("PanTiltLimits", (("XRange", "pan"), ("YRange", "tilt"))),
                      ("ZoomLimits", (("XRange", "zoom"),))):
        rng = el.find(f".//{{{TT}}}{tag}/{{{TT}}}Range")
        if rng is None:
            continue
        for sub, name in axes:
            r = rng.find(f"{{{TT}}}{sub}")
            if r is not None:
                out[name] = (float(r.findtext(f"{{{TT}}}Min")), float(r.findtext(f"{{{TT}}}Max")))
    return out


def _get_masks(source_token: str) -> Any:
    get = _e(f"{{{TR2}}}GetMasks")
    get.append(_e(f"{{{TR2}}}ConfigurationToken", source_token))
    return get


def _copy(el: Any) -> Any:
    out: Any = etree.fromstring(etree.tostring(el), PARSER)
    return out
