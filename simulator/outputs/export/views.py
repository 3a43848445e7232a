"""Each vendor API's conventions for pointing a PTZ camera, whatever the camera's make: an Axis request
for a Hikvision camera still speaks VAPIX. The views and polygons themselves are in
``masks.views`` (re-exported here).

- ONVIF ``PositionGenericSpace``: pan x = pan / 180 (pan -180..180 deg, clockwise from the camera's
  pan zero), tilt y = elevation / 90 (up positive), zoom z in [0, 1], linear in zoom ratio from 1 to
  the lens's maximum.
- Axis VAPIX ``ptz.cgi``: ``pan`` -180..180 deg, ``tilt`` in degrees, up positive (-90: straight
  down), ``zoom`` 1..9999 linear in zoom ratio.
- Hikvision ISAPI ``PTZData/AbsoluteHigh``: ``azimuth`` 0..3599 in tenths of a degree clockwise,
  ``elevation`` in tenths of a degree, **down** positive, ``absoluteZoom`` in tenths of the zoom
  ratio, 10 (1x) .. 10 x the lens's maximum.

Where an API leaves the scale to the device, these are assumptions: ONVIF's generic spaces map to
each device's own range (taken as pan -180..180, tilt -90..90 deg, zoom linear in ratio), and VAPIX's
zoom steps are taken as linear in ratio.

Each exporter rounds its values as its API does (zoom always towards the wide end) and draws the
mask in the view those rounded values set (``in_view``): the same spherical polygon; plans fit masks
0.1 deg inside the view's edges (``masks.plan.ROUNDING_ALLOWANCE_DEG``) so that it is not cut there.
The lens's maximum zoom ratio is derived from its field of view (``lens_zoom_ratio``:
tan(wide / 2) / tan(tele / 2)), the figure the views are computed with, so no exported zoom exceeds
an API's range; values are clamped to it as well.
"""

from __future__ import annotations

import math
from typing import Any

from ...build.catalogue import catalogue
from ...engine.masks.spherical import SphericalMask
from ...engine.masks.views import MaskView, device_mask, in_view, lens_zoom_ratio, mask_view
from ...scene.camera import Camera

__all__ = ["MaskView", "axis_ptz", "device_mask", "generic_ptz", "hikvision_ptz", "in_view", "lens_zoom_ratio",
           "mask_view", "pan_range_deg", "pan_zero_deg"]

AXIS_ZOOM_STEPS = (1, 9999)  # VAPIX ptz.cgi zoom


def pan_zero_deg(camera: Camera) -> float:
    """True azimuth [deg] of the camera's pan zero (the catalogue's installation default; 0: north)."""
    entry: dict[str, Any] = catalogue().get(camera.model or "", {})
    return float((entry.get("vendor") or {}).get("pan_zero_offset_deg", 0.0))


def pan_range_deg(camera: Camera) -> tuple[float, float] | None:
    """The camera's pan limits as one range [deg] from its pan zero, clockwise, within -180..180:
    (-180, 180) for the whole circle; None when the arc crosses +-180 deg (no single range holds it)."""
    lo, hi = camera.pan_limits_deg
    if hi - lo >= 360.0:
        return (-180.0, 180.0)
    start = ((lo - pan_zero_deg(camera) + 180.0) % 360.0) - 180.0
    return None if start + (hi - lo) > 180.0 else (start, start + (hi - lo))


def _pan(camera: Camera, view: MaskView) -> float:
    """Pan [deg, -180..180] of the view from the camera's pan zero, clockwise."""
    return ((view.azimuth_deg - pan_zero_deg(camera) + 180.0) % 360.0) - 180.0


def _zoom_fraction(camera: Camera, view: MaskView) -> float:
    """Where the view's zoom ratio lies between 1 and the lens's maximum, in [0, 1]."""
    zmax = lens_zoom_ratio(camera)
    return 0.0 if zmax <= 1 else min(max((view.zoom_ratio - 1) / (zmax - 1), 0.0), 1.0)


def generic_ptz(camera: Camera, mask: SphericalMask) -> tuple[float, float, float, MaskView]:
    """ONVIF generic pan/tilt space [-1, 1] and generic zoom [0, 1] (6 decimals) of the view that
    frames ``mask``, and the mask in the view those rounded values set."""
    view = mask_view(camera, mask)
    x = round(_pan(camera, view) / 180.0, 6)
    y = round(min(max(view.elevation_deg / 90.0, -1.0), 1.0), 6)
    zmax = lens_zoom_ratio(camera)
    z = math.floor(_zoom_fraction(camera, view) * 1e6) / 1e6  # down: a wider view holds the mask
    return x, y, z, in_view(camera, mask, (x * 180.0 + pan_zero_deg(camera)) % 360.0, y * 90.0, 1 + z * (zmax - 1))


def axis_ptz(camera: Camera, mask: SphericalMask) -> tuple[float, float, int, MaskView]:
    """VAPIX ``ptz.cgi`` pan [deg], tilt [deg, up positive] (2 decimals) and zoom [1..9999] of the view
    that frames ``mask``, and the mask in the view those values set."""
    view = mask_view(camera, mask)
    lo, hi = AXIS_ZOOM_STEPS
    pan, tilt = round(_pan(camera, view), 2), round(view.elevation_deg, 2)
    step = min(max(math.floor(lo + _zoom_fraction(camera, view) * (hi - lo)), lo), hi)
    ratio = 1 + (step - lo) / (hi - lo) * (lens_zoom_ratio(camera) - 1)
    return pan, tilt, step, in_view(camera, mask, (pan + pan_zero_deg(camera)) % 360.0, tilt, ratio)


def hikvision_ptz(camera: Camera, mask: SphericalMask) -> tuple[int, int, int, MaskView]:
    """ISAPI ``AbsoluteHigh`` azimuth [0.1 deg, 0..3599], elevation [0.1 deg, down positive] and
    absoluteZoom [0.1 x, 10 .. 10 x the lens's maximum] of the view that frames ``mask``, and the mask
    in the view those values set."""
    view = mask_view(camera, mask)
    azimuth = round((_pan(camera, view) % 360.0) * 10) % 3600
    elevation = round(-view.elevation_deg * 10)
    zmax = max(lens_zoom_ratio(camera), 1.0)
    zoom = min(max(math.floor(view.zoom_ratio * 10), 10), math.floor(zmax * 10))
    return azimuth, elevation, zoom, in_view(camera, mask, (azimuth / 10 + pan_zero_deg(camera)) % 360.0,
                                             -elevation / 10, zoom / 10)
