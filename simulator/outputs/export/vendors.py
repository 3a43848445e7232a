"""Axis VAPIX and Hikvision ISAPI mask exports (one view per mask, as PTZ cameras store them)."""

from __future__ import annotations

import math
from urllib.parse import quote

import numpy as np
from lxml import etree
from numpy.typing import NDArray

from ...engine.masks.spherical import SphericalMask, offset_ring
from ...scene.camera import Camera
from .limits import over_limit_warning
from .views import axis_ptz, hikvision_ptz, mask_view, pan_range_deg

HIK_W, HIK_H = 704, 576  # Hikvision's normalised screen (y measured from the bottom)


def grid_polygon(polygon: NDArray[np.float64], width: int, height: int) -> list[tuple[int, int]]:
    """Whole-unit corners on a ``width`` x ``height`` grid (x right, y up from the bottom) of a polygon
    that holds the view's ``polygon`` (normalised, counter-clockwise): grown by half a unit's diagonal
    (mitred: the same corners), then rounded, so that rounding never moves an edge inwards; clamped to
    the grid (the polygon lies within it)."""
    pts = np.column_stack([(polygon[:, 0] + 1) / 2 * width, (polygon[:, 1] + 1) / 2 * height])
    grown = offset_ring(pts, math.sqrt(0.5), mitre_limit=1e9)
    return [(min(max(round(x), 0), width), min(max(round(y), 0), height)) for x, y in grown]


def axis_requests(camera: Camera, masks: list[SphericalMask], *, host: str = "CAMERA") -> str:
    """VAPIX requests, one ``ptz.cgi`` move and one ``privacymask.cgi?action=add`` per mask: pan/tilt in
    degrees (-180..180 from the camera's pan zero, tilt up positive), zoom 1..9999 linear in ratio
    (``views``), ``pxpolygon`` in pixels of the maximum resolution (x right, y down), corners clockwise
    on screen."""
    w, h = camera.resolution_px
    lines = [f"# Axis VAPIX mask plan for camera {camera.id} ({camera.model or 'inline'}); "
             "send in order: each mask is drawn in the view the preceding move sets"]
    warning = over_limit_warning(camera, masks)
    if warning:
        lines.append(f"# {warning}")
    for m in masks:
        view = mask_view(camera, m)
        if len(view.polygon) < 3:
            continue
        if camera.kind == "ptz":
            pan, tilt, zoom, view = axis_ptz(camera, m)
            lines.append(f"http://{host}/axis-cgi/com/ptz.cgi?pan={pan:.2f}&tilt={tilt:.2f}&zoom={zoom}")
        # whole pixels, y down; the view's polygon is counter-clockwise on screen: reversed, clockwise
        grid = grid_polygon(view.polygon, w, h)
        poly = ":".join(f"{x},{h - y}" for x, y in grid[::-1])
        lines.append(f"http://{host}/axis-cgi/privacymask.cgi?action=add&name={quote(m.id)}&pxpolygon={poly}")
    if camera.kind == "ptz":
        lines += _axis_limits(camera, host)
    return "\n".join(lines) + "\n"


def _axis_limits(camera: Camera, host: str) -> list[str]:
    """The camera's pan/tilt limits as a VAPIX ``param.cgi`` update of the ``PTZ.Limit.L1`` group
    (degrees: pan from the camera's pan zero, tilt up positive); a pan arc across +-180 deg is no
    single Min..Max range and is stated instead."""
    t_lo, t_hi = camera.tilt_limits_deg
    lo, hi = camera.pan_limits_deg
    out = ["# PTZ limits (VAPIX parameter group PTZ.Limit.L1; list the camera's own names with "
           "param.cgi?action=list&group=PTZ.Limit)"]
    params = f"PTZ.Limit.L1.MinTilt={t_lo:.2f}&PTZ.Limit.L1.MaxTilt={t_hi:.2f}"
    pan = pan_range_deg(camera)
    if pan is None:
        out.append(f"# pan limits {lo:g}..{hi:g} deg (true azimuth) cross +-180 deg from the pan zero: "
                   "no single MinPan..MaxPan range holds them; set them on the device by hand")
    elif hi - lo < 360.0:
        params = f"PTZ.Limit.L1.MinPan={pan[0]:.2f}&PTZ.Limit.L1.MaxPan={pan[1]:.2f}&" + params
    return [*out, f"http://{host}/axis-cgi/param.cgi?action=update&{params}"]


def hikvision_xml(camera: Camera, masks: list[SphericalMask]) -> bytes:
    """ISAPI ``PrivacyMask`` documents, one per mask with the PTZ position (``PTZData``: tenths of a
    degree, elevation down positive, absolute zoom in tenths; ``views``) that frames it: coordinates on
    the 704 x 576 normalised screen, y from the bottom."""
    root = etree.Element("HikvisionMaskPlan", camera=camera.id)
    for i, m in enumerate(masks, start=1):
        view = mask_view(camera, m)
        if len(view.polygon) < 3:
            continue
        item = etree.SubElement(root, "Mask", id=m.id)
        if camera.kind == "ptz":
            ptz = etree.SubElement(item, "PTZData")
            ab = etree.SubElement(ptz, "AbsoluteHigh")
            azimuth, elevation, zoom, view = hikvision_ptz(camera, m)
            etree.SubElement(ab, "elevation").text = str(elevation)
            etree.SubElement(ab, "azimuth").text = str(azimuth)
            etree.SubElement(ab, "absoluteZoom").text = str(zoom)
        pm = etree.SubElement(item, "PrivacyMask", version="2.0", xmlns="http://www.hikvision.com/ver20/XMLSchema")
        etree.SubElement(pm, "enabled").text = "true"
        size = etree.SubElement(pm, "normalizedScreenSize")
        etree.SubElement(size, "normalizedScreenWidth").text = str(HIK_W)
        etree.SubElement(size, "normalizedScreenHeight").text = str(HIK_H)
        regions = etree.SubElement(pm, "PrivacyMaskRegionList")
        region = etree.SubElement(regions, "PrivacyMaskRegion")
        etree.SubElement(region, "id").text = str(i)
        etree.SubElement(region, "enabled").text = "true"
        coords = etree.SubElement(region, "RegionCoordinatesList")
        for x, y in grid_polygon(view.polygon, HIK_W, HIK_H):
            c = etree.SubElement(coords, "RegionCoordinates")
            etree.SubElement(c, "positionX").text = str(x)
            etree.SubElement(c, "positionY").text = str(y)
        etree.SubElement(region, "maskType").text = "black"
    warning = over_limit_warning(camera, masks)
    if warning:
        root.insert(0, etree.Comment(f" {warning} "))
    if camera.kind == "ptz":
        (lo, hi), (t_lo, t_hi) = camera.pan_limits_deg, camera.tilt_limits_deg
        root.append(etree.Comment(
            f" PTZ limits: the ISAPI documentation we know gives no request for them; set them on the device: "
            f"pan {lo:g}..{hi:g} deg true azimuth, elevation {round(-t_hi * 10)}..{round(-t_lo * 10)} "
            "(tenths of a degree, down positive) "))
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out
