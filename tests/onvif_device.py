"""A test ONVIF device on loopback for Media2 masks and PTZ limits (which ``ipycam`` lacks): every
request body is validated against the official schemas shipped with the simulator (``xmlschema``:
media.wsdl, ptz.wsdl) and its WS-Security UsernameToken digest checked (written here from the OASIS
UsernameToken Profile: Base64(SHA-1(nonce + created + password))); masks and the PTZ configuration
are kept in memory, so a test can tamper with them as a user of the camera could."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lxml import etree

from simulator.outputs.export import onvif_schema

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
TT, TR2, TPTZ = onvif_schema.TT, onvif_schema.TR2, onvif_schema.TPTZ
WSDL = {TR2: "ver20/media/wsdl/media.wsdl", TPTZ: "ver20/ptz/wsdl/ptz.wsdl"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class DeviceFault(Exception):
    """An operation the device refuses (answered with a SOAP fault)."""


class Device:
    def __init__(self, user: str = "admin", password: str = "secret") -> None:
        self.user, self.password = user, password
        self.masks: dict[str, Any] = {}  # token -> tr2:Mask element (as stored)
        # the device's own PTZ configuration, with a field a deploy must keep (DefaultPTZTimeout)
        self.ptz_config: Any = etree.fromstring(
            f'<tptz:PTZConfiguration xmlns:tptz="{TPTZ}" xmlns:tt="{TT}" token="PTZConfig_1">'
            '<tt:Name>ptz</tt:Name><tt:UseCount>1</tt:UseCount><tt:NodeToken>PTZNode_1</tt:NodeToken>'
            '<tt:DefaultPTZTimeout>PT7S</tt:DefaultPTZTimeout></tptz:PTZConfiguration>')
        self.moving_polls = 0  # GetStatus answers MOVING this many times after each AbsoluteMove
        self._still_moving = 0
        self.actions: list[str] = []  # the SOAP 1.2 action parameter of each request
        self.requests: list[str] = []  # operations received, in order
        self.refuse_masks_after: int | None = None  # CreateMask fails (ter:MaxMasks) beyond this many masks
        self.clock_offset_s = 0.0  # the device's clock minus the true time
        self.token_window_s = 300.0  # a UsernameToken's Created must be this close to the device's clock
        self._nonces: set[bytes] = set()  # each nonce once: a replayed token is refused
        self._tokens = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/onvif/device_service"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _authorised(self, env: Any) -> bool:
        tok = env.find(f"{{{SOAP}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if tok is None or tok.findtext(f"{{{WSSE}}}Username") != self.user:
            return False
        nonce = base64.b64decode(tok.findtext(f"{{{WSSE}}}Nonce") or "")
        created = tok.findtext(f"{{{WSU}}}Created") or ""
        try:
            when = dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return False
        if abs(when - (time.time() + self.clock_offset_s)) > self.token_window_s or nonce in self._nonces:
            return False
        want = base64.b64encode(hashlib.sha1(nonce + created.encode() + self.password.encode()).digest()).decode()
        if tok.findtext(f"{{{WSSE}}}Password") != want:
            return False
        self._nonces.add(nonce)
        return True

    def _system_date_and_time(self) -> bytes:
        """``tds:GetSystemDateAndTime``, answered before authentication as ONVIF devices do (the device
        service's WSDL is not shipped: this one empty request is not schema-validated)."""
        now = dt.datetime.fromtimestamp(time.time() + self.clock_offset_s, dt.UTC)
        tds = "http://www.onvif.org/ver10/device/wsdl"
        out = etree.Element(f"{{{tds}}}GetSystemDateAndTimeResponse", nsmap={"tds": tds, "tt": TT})
        info = etree.SubElement(out, f"{{{tds}}}SystemDateAndTime")
        utc = etree.SubElement(info, f"{{{TT}}}UTCDateTime")
        d = etree.SubElement(utc, f"{{{TT}}}Date")  # tt:DateTime: Date, then Time
        t = etree.SubElement(utc, f"{{{TT}}}Time")
        for parent, names in ((t, ("Hour", "Minute", "Second")), (d, ("Year", "Month", "Day"))):
            for name in names:
                etree.SubElement(parent, f"{{{TT}}}{name}").text = str(getattr(now, name.lower()))
        return envelope(out)

    def answer(self, data: bytes) -> tuple[int, bytes]:
        try:
            env = etree.fromstring(data, PARSER)
            body = env.find(f"{{{SOAP}}}Body")[0]
        except (etree.XMLSyntaxError, TypeError, IndexError):
            return 400, _fault("Sender", "not a SOAP 1.2 envelope")
        if etree.QName(body).localname == "GetSystemDateAndTime":
            self.requests.append("GetSystemDateAndTime")
            return 200, self._system_date_and_time()
        if not self._authorised(env):
            return 400, _fault("Sender", "the UsernameToken does not verify", subcode="ter:NotAuthorized")
        q = etree.QName(body)
        if q.namespace not in WSDL:
            return 400, _fault("Sender", f"unknown service {q.namespace}")
        errors = list(onvif_schema.schema(WSDL[q.namespace]).iter_errors(body))
        if errors:
            return 400, _fault("Sender", f"{q.localname} does not validate: {errors[0].reason}")
        self.requests.append(q.localname)
        handler = getattr(self, f"_op_{q.localname}", None)
        if handler is None:
            return 400, _fault("Sender", f"ter:ActionNotSupported: {q.localname}")
        try:
            return 200, envelope(handler(body))
        except DeviceFault as exc:
            return 400, _fault("Receiver", str(exc))

    def _op_GetMasks(self, body: Any) -> Any:
        out = etree.Element(f"{{{TR2}}}GetMasksResponse", nsmap={"tr2": TR2, "tt": TT})
        source = body.findtext(f"{{{TR2}}}ConfigurationToken")
        for token, mask in self.masks.items():
            if source and mask.findtext(f"{{{TR2}}}ConfigurationToken") != source:
                continue
            m = etree.SubElement(out, f"{{{TR2}}}Masks", token=token)
            for child in mask:
                m.append(etree.fromstring(etree.tostring(child)))
        return out

    def _op_CreateMask(self, body: Any) -> Any:
        if self.refuse_masks_after is not None and len(self.masks) >= self.refuse_masks_after:
            raise DeviceFault("the maximum number of masks is reached (ter:MaxMasks)")
        token = f"mask-{next(self._tokens)}"
        self.masks[token] = etree.fromstring(etree.tostring(body.find(f"{{{TR2}}}Mask")))
        out = etree.Element(f"{{{TR2}}}CreateMaskResponse", nsmap={"tr2": TR2})
        etree.SubElement(out, f"{{{TR2}}}Token").text = token
        return out

    def _op_DeleteMask(self, body: Any) -> Any:
        self.masks.pop(body.findtext(f"{{{TR2}}}Token"), None)
        return etree.Element(f"{{{TR2}}}DeleteMaskResponse", nsmap={"tr2": TR2})

    def _op_SetConfiguration(self, body: Any) -> Any:
        self.ptz_config = etree.fromstring(etree.tostring(body.find(f"{{{TPTZ}}}PTZConfiguration")))
        return etree.Element(f"{{{TPTZ}}}SetConfigurationResponse", nsmap={"tptz": TPTZ})

    def _op_GetConfiguration(self, body: Any) -> Any:
        out = etree.Element(f"{{{TPTZ}}}GetConfigurationResponse", nsmap={"tptz": TPTZ, "tt": TT})
        if self.ptz_config is not None:
            out.append(etree.fromstring(etree.tostring(self.ptz_config)))
        return out

    def _op_AbsoluteMove(self, body: Any) -> Any:
        self._still_moving = self.moving_polls
        return etree.Element(f"{{{TPTZ}}}AbsoluteMoveResponse", nsmap={"tptz": TPTZ})

    def _op_GetStatus(self, body: Any) -> Any:
        state = "MOVING" if self._still_moving > 0 else "IDLE"
        self._still_moving = max(self._still_moving - 1, 0)
        out = etree.Element(f"{{{TPTZ}}}GetStatusResponse", nsmap={"tptz": TPTZ, "tt": TT})
        status = etree.SubElement(out, f"{{{TPTZ}}}PTZStatus")
        move = etree.SubElement(status, f"{{{TT}}}MoveStatus")
        etree.SubElement(move, f"{{{TT}}}PanTilt").text = state
        etree.SubElement(move, f"{{{TT}}}Zoom").text = state
        etree.SubElement(status, f"{{{TT}}}UtcTime").text = "2026-12-01T00:00:00Z"
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        device = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                device.actions.append(self.headers.get("Content-Type", ""))
                n = int(self.headers.get("Content-Length", "0"))
                code, data = device.answer(self.rfile.read(n))
                self.send_response(code)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def envelope(body: Any) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP})
    etree.SubElement(env, f"{{{SOAP}}}Body").append(body)
    out: bytes = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    return out


def _fault(code: str, reason: str, *, subcode: str | None = None) -> bytes:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "ter": "http://www.onvif.org/ver10/error"})
    fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP}}}Body"), f"{{{SOAP}}}Fault")
    c = etree.SubElement(fault, f"{{{SOAP}}}Code")
    etree.SubElement(c, f"{{{SOAP}}}Value").text = f"s:{code}"
    if subcode:
        etree.SubElement(etree.SubElement(c, f"{{{SOAP}}}Subcode"), f"{{{SOAP}}}Value").text = subcode
    etree.SubElement(etree.SubElement(fault, f"{{{SOAP}}}Reason"), f"{{{SOAP}}}Text").text = reason
    out: bytes = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    return out
