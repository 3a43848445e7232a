"""ONVIF export: per mask a ``tptz:AbsoluteMove`` that frames it and a ``tr2:CreateMask`` with the
polygon in normalised coordinates of that view, validated offline against the official schemas
(Media2 ``media.wsdl``, PTZ ``ptz.wsdl``, shipped in ``onvif_specs/`` with their licence)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from ...engine.masks.spherical import SphericalMask
from ...errors import SimulatorError
from ...scene.camera import Camera
from . import onvif_schema
from .limits import over_limit_warning
from .onvif_schema import TPTZ, TR2, TT
from .views import generic_ptz, mask_view, pan_range_deg

PLAN = "urn:privacy-zone-simulator:onvif-mask-plan:1"
PAN_TILT_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
ZOOM_SPACE = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"
RGB = "http://www.onvif.org/ver10/colorspace/RGB"


class OnvifValidationError(SimulatorError):
    pass


def mask_plan_xml(camera: Camera, masks: list[SphericalMask], *, check: bool = True) -> bytes:
    """The ONVIF mask plan of one camera as XML bytes, validated (``check=False``: the caller
    validates it, e.g. with ``validate_many``). The requests name the camera's profile and video
    source configuration tokens (``Camera.onvif_tokens``, from the scenario's ``onvif``); the mask
    colour is black in RGB (``Colorspace`` given: without it YCbCr is implied, where 0, 0, 0 is not
    black)."""
    profile_token, configuration_token = camera.onvif_tokens[:2]
    E = etree.Element
    root = E(f"{{{PLAN}}}MaskPlan", nsmap={"plan": PLAN, "tt": TT, "tr2": TR2, "tptz": TPTZ})
    root.set("camera", camera.id)
    root.set("profileToken", profile_token)
    root.set("videoSourceToken", configuration_token)
    warning = over_limit_warning(camera, masks)
    if warning:
        root.append(etree.Comment(f" {warning} "))
    for m in masks:
        view = mask_view(camera, m)
        if len(view.polygon) < 3:
            continue
        item = etree.SubElement(root, f"{{{PLAN}}}Mask", id=m.id, targets=" ".join(m.targets))
        if camera.kind == "ptz":
            pan, tilt, zoom, view = generic_ptz(camera, m)
            move = etree.SubElement(item, f"{{{TPTZ}}}AbsoluteMove")
            etree.SubElement(move, f"{{{TPTZ}}}ProfileToken").text = profile_token
            pos = etree.SubElement(move, f"{{{TPTZ}}}Position")
            etree.SubElement(pos, f"{{{TT}}}PanTilt", x=f"{pan:.6f}", y=f"{tilt:.6f}", space=PAN_TILT_SPACE)
            etree.SubElement(pos, f"{{{TT}}}Zoom", x=f"{zoom:.6f}", space=ZOOM_SPACE)
        if view.clipped:  # (in the view the rounded values set)
            item.set("clipped", "true")
        create = etree.SubElement(item, f"{{{TR2}}}CreateMask")
        mask = etree.SubElement(create, f"{{{TR2}}}Mask")
        etree.SubElement(mask, f"{{{TR2}}}ConfigurationToken").text = configuration_token
        poly = etree.SubElement(mask, f"{{{TR2}}}Polygon")
        for x, y in view.polygon:
            etree.SubElement(poly, f"{{{TT}}}Point", x=f"{x:.6f}", y=f"{y:.6f}")
        etree.SubElement(mask, f"{{{TR2}}}Type").text = "Color"
        etree.SubElement(mask, f"{{{TR2}}}Color", X="0", Y="0", Z="0", Colorspace=RGB)
        etree.SubElement(mask, f"{{{TR2}}}Enabled").text = "true"
    if camera.kind == "ptz":
        _limits(root, camera)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if check:
        validate(data)
    return data


def _limits(root: Any, camera: Camera) -> None:
    """The camera's pan/tilt/zoom limits as a ``tptz:SetConfiguration`` (``PanTiltLimits`` and
    ``ZoomLimits`` in the generic spaces), with a ``plan:Note`` that it replaces the device's PTZ
    configuration (read it with ``GetConfiguration`` first and keep its other fields). A pan arc that
    crosses +-180 deg from the pan zero is no single generic range: then no ``SetConfiguration`` is
    written (one with pan open would lift the device's pan limit), and the note gives the limits to
    set by hand."""
    _, _, config_token, node_token = camera.onvif_tokens
    limits = generic_limits(camera)
    E = etree.SubElement
    if limits is None:
        (lo, hi), (t_lo, t_hi) = camera.pan_limits_deg, camera.tilt_limits_deg
        E(root, f"{{{PLAN}}}Note").text = (
            f"PTZ limits not exported: pan {lo:g}..{hi:g} deg (true azimuth) crosses +-180 deg from the pan zero, "
            f"which no single generic range holds; set pan {lo:g}..{hi:g} and tilt {t_lo:g}..{t_hi:g} deg on the "
            "device by hand")
        return
    (pan_lo, pan_hi), (t_lo, t_hi) = limits
    cfg = E(E(root, f"{{{TPTZ}}}SetConfiguration"), f"{{{TPTZ}}}PTZConfiguration", token=config_token)
    E(cfg, f"{{{TT}}}Name").text = f"{camera.id} limits"
    E(cfg, f"{{{TT}}}UseCount").text = "1"
    E(cfg, f"{{{TT}}}NodeToken").text = node_token
    for tag, space, ranges in (("PanTiltLimits", PAN_TILT_SPACE, (("XRange", pan_lo, pan_hi), ("YRange", t_lo, t_hi))),
                               ("ZoomLimits", ZOOM_SPACE, (("XRange", 0.0, 1.0),))):
        rng = E(E(cfg, f"{{{TT}}}{tag}"), f"{{{TT}}}Range")
        E(rng, f"{{{TT}}}URI").text = space
        for axis, lo_, hi_ in ranges:
            r = E(rng, f"{{{TT}}}{axis}")
            E(r, f"{{{TT}}}Min").text = f"{lo_:.6f}"
            E(r, f"{{{TT}}}Max").text = f"{hi_:.6f}"
    E(cfg.getparent(), f"{{{TPTZ}}}ForcePersistence").text = "true"
    E(root, f"{{{PLAN}}}Note").text = ("SetConfiguration replaces the device's PTZ configuration: read it with "
                                       "GetConfiguration first and keep its other fields")


def generic_limits(camera: Camera) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The camera's pan and tilt limits in the generic space: pan x = pan / 180 from the pan zero, tilt
    y = elevation / 90; pan (-1, 1) when the arc is the whole circle; None when it crosses +-180 deg
    from the pan zero (no single range)."""
    pan = pan_range_deg(camera)
    if pan is None:
        return None
    t_lo, t_hi = camera.tilt_limits_deg
    return (round(pan[0] / 180.0, 6), round(pan[1] / 180.0, 6)), (round(t_lo / 90.0, 6), round(t_hi / 90.0, 6))


def validate(data: bytes) -> None:
    """Validate every ``tptz:AbsoluteMove`` and ``tr2:CreateMask`` in a plan against the official schemas;
    also require normalised coordinates within [-1, 1]. Raises ``OnvifValidationError``."""
    try:
        onvif_schema.validate(data)
    except onvif_schema.InvalidDocument as exc:
        raise OnvifValidationError(str(exc)) from None


def validate_many(docs: dict[str, bytes]) -> None:
    """``validate`` every document (name -> bytes); the error names the first invalid one."""
    try:
        onvif_schema.validate_many(docs)
    except onvif_schema.InvalidDocument as exc:
        raise OnvifValidationError(str(exc)) from None


class Validation:
    """ONVIF documents validated while the caller goes on. With many masks and the documents already
    written in ``folder`` (``masks`` in all), a second Python process
    (``python -m simulator.outputs.export.onvif FOLDER``, a
    fresh interpreter: it loads the schemas there and runs on the other core) validates the files;
    else they are validated here at once. ``result()`` raises ``OnvifValidationError`` naming the
    first invalid document."""

    def __init__(self, docs: dict[str, bytes], *, masks: int, folder: Path | None = None,
                 background_from: int = 200) -> None:
        global READY
        self.proc: Any = None
        if folder is None or masks < background_from:
            validate_many(docs)
            return
        if READY is not None and READY.poll() is None:  # a validator that has its schemas loaded
            self.proc, READY = READY, None
            self.proc.stdin.write(f"{folder}\n".encode())
            self.proc.stdin.close()
            self.proc.stdin = None  # written: ``communicate`` only reads now
            return
        self.proc = _validator(str(folder))

    def result(self) -> None:
        if self.proc is None:
            return
        _, err = self.proc.communicate()
        code, self.proc = self.proc.returncode, None
        if code != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise OnvifValidationError(lines[-1] if lines else f"the ONVIF validator exited with {code}")

    def cancel(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


READY: Any = None  # a validator process started ahead (``prestart``)


def _validator(folder: str) -> Any:
    """The validator process (``onvif_schema.py`` run as a script: it imports lxml and xmlschema
    only, not this package)."""
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, str(Path(onvif_schema.__file__).resolve()), folder],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prestart() -> None:
    """Start the validator process now (it loads the schemas: 0.3 s from the user's cache, 1.5 s when
    it compiles them; then it waits for its folder), so
    that a later ``Validation`` of many documents finds it ready; it is stopped when this process
    exits without having used it."""
    global READY
    if READY is None or READY.poll() is not None:
        import atexit

        READY = _validator("-")
        atexit.register(stop_ready)


def stop_ready() -> None:
    global READY
    if READY is not None:
        READY.kill()
        READY.wait()
        READY = None
