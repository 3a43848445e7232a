"""ONVIF export: per mask a ``tptz:AbsoluteMove`` that frames it and a ``tr2:CreateMask`` with the
polygon in normalised coordinates of that view, validated offline against the official schemas
(Media2 ``media.wsdl``, PTZ ``ptz.wsdl``, shipped in ``onvif_specs/`` with their licence)."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from ..camera.model import Camera
from ..errors import SimulatorError
from ..masks.spherical import SphericalMask
from .views import generic_ptz, mask_view

TT = "http://www.onvif.org/ver10/schema"
TR2 = "http://www.onvif.org/ver20/media/wsdl"
TPTZ = "http://www.onvif.org/ver20/ptz/wsdl"
PLAN = "urn:privacy-zone-simulator:onvif-mask-plan:1"
SPECS = Path(__file__).parent / "onvif_specs" / "wsdl"
PAN_TILT_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
ZOOM_SPACE = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"


class OnvifValidationError(SimulatorError):
    pass


@cache
def _schema(wsdl: str) -> Any:
    import xmlschema

    path = SPECS / wsdl
    schema_el = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).find(
        ".//{http://www.w3.org/2001/XMLSchema}schema")
    with warnings.catch_warnings():  # the four W3C/OASIS imports are not shipped; no mask element uses them
        warnings.simplefilter("ignore")
        return xmlschema.XMLSchema(etree.tostring(schema_el).decode(), base_url=str(path.parent.resolve()) + "/",
                                   allow="local", validation="lax", defuse="always")


def mask_plan_xml(camera: Camera, masks: list[SphericalMask], *, profile_token: str = "Profile_1",
                  configuration_token: str = "VideoSourceConfig_1", check: bool = True) -> bytes:
    """The ONVIF mask plan of one camera as XML bytes, validated (``check=False``: the caller
    validates it, e.g. with ``validate_many``)."""
    E = etree.Element
    root = E(f"{{{PLAN}}}MaskPlan", nsmap={"plan": PLAN, "tt": TT, "tr2": TR2, "tptz": TPTZ})
    root.set("camera", camera.id)
    for m in masks:
        view = mask_view(camera, m)
        if len(view.polygon) < 3:
            continue
        item = etree.SubElement(root, f"{{{PLAN}}}Mask", id=m.id, targets=" ".join(m.targets))
        if view.clipped:
            item.set("clipped", "true")
        if camera.kind == "ptz":
            pan, tilt, zoom = generic_ptz(camera, view)
            move = etree.SubElement(item, f"{{{TPTZ}}}AbsoluteMove")
            etree.SubElement(move, f"{{{TPTZ}}}ProfileToken").text = profile_token
            pos = etree.SubElement(move, f"{{{TPTZ}}}Position")
            etree.SubElement(pos, f"{{{TT}}}PanTilt", x=f"{pan:.6f}", y=f"{tilt:.6f}", space=PAN_TILT_SPACE)
            etree.SubElement(pos, f"{{{TT}}}Zoom", x=f"{zoom:.6f}", space=ZOOM_SPACE)
        create = etree.SubElement(item, f"{{{TR2}}}CreateMask")
        mask = etree.SubElement(create, f"{{{TR2}}}Mask")
        etree.SubElement(mask, f"{{{TR2}}}ConfigurationToken").text = configuration_token
        poly = etree.SubElement(mask, f"{{{TR2}}}Polygon")
        for x, y in view.polygon:
            etree.SubElement(poly, f"{{{TT}}}Point", x=f"{x:.6f}", y=f"{y:.6f}")
        etree.SubElement(mask, f"{{{TR2}}}Type").text = "Color"
        etree.SubElement(mask, f"{{{TR2}}}Color", X="0", Y="0", Z="0")
        etree.SubElement(mask, f"{{{TR2}}}Enabled").text = "true"
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    if check:
        validate(data)
    return data


def validate(data: bytes) -> None:
    """Validate every ``tptz:AbsoluteMove`` and ``tr2:CreateMask`` in a plan against the official schemas;
    also require normalised coordinates within [-1, 1]. Raises ``OnvifValidationError``."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    for tag, wsdl in ((f"{{{TPTZ}}}AbsoluteMove", "ver20/ptz/wsdl/ptz.wsdl"),
                      (f"{{{TR2}}}CreateMask", "ver20/media/wsdl/media.wsdl")):
        schema = _schema(wsdl)
        for el in root.iter(tag):
            errors = list(schema.iter_errors(el))  # the parsed element: no entities, no network (above)
            if errors:
                raise OnvifValidationError(f"{etree.QName(tag).localname}: {errors[0].reason}")
    for p in root.iter(f"{{{TT}}}Point"):
        x, y = float(p.get("x", "nan")), float(p.get("y", "nan"))
        if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
            raise OnvifValidationError(f"mask point ({x}, {y}) outside the normalised view [-1, 1]")


def validate_many(docs: dict[str, bytes]) -> None:
    """``validate`` every document (name -> bytes); the error names the first invalid one."""
    for name, data in docs.items():
        try:
            validate(data)
        except OnvifValidationError as exc:
            raise OnvifValidationError(f"{name}: {exc}") from None


class Validation:
    """ONVIF documents validated while the caller goes on: in a second process (spawned: it loads the
    schemas there and runs on the other core) when there are many, else here at once. ``result()``
    raises ``OnvifValidationError`` if a document is invalid."""

    def __init__(self, docs: dict[str, bytes], *, background_from: int = 200) -> None:
        self._future: Any = None
        masks = sum(d.count(b"CreateMask>") for d in docs.values()) // 2
        if masks < background_from:
            validate_many(docs)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._future = self._pool.submit(validate_many, docs)

    def result(self) -> None:
        if self._future is None:
            return
        try:
            self._future.result()
        finally:
            self._pool.shutdown()
            self._future = None

    def cancel(self) -> None:
        if self._future is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._future = None
