"""Where to point a camera to draw a mask, and the mask's polygon in that view.

For a PTZ camera each mask is framed on its own: the camera points at the mask's centre (no roll) and
zooms so that the mask fills at most 90 % of the image (never beyond the tele end, never wider than the
wide end). A fixed camera has one view: its own. Coordinates are ONVIF-normalised: x, y in [-1, 1],
origin at the image centre, y up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..camera.catalogue import catalogue
from ..camera.model import Camera
from ..exposure import camera_axes
from ..frames import azimuth_elevation
from ..masks.spherical import SphericalMask, project, tangent_frame

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class MaskView:
    """A view that frames one mask: true azimuth/elevation [deg] of the optical axis, horizontal FOV
    [deg] and zoom ratio (wide HFOV / HFOV, 1 at the wide end), and the polygon (k, 2) in normalised
    coordinates of that view."""

    azimuth_deg: float
    elevation_deg: float
    hfov_deg: float
    zoom_ratio: float
    polygon: F64
    clipped: bool = False


def vendor(camera: Camera) -> dict[str, Any]:
    """The camera's vendor conventions (catalogue), or neutral ones for inline cameras."""
    entry = catalogue().get(camera.model or "", {})
    return dict(entry.get("vendor") or {"name": "generic", "pan_zero_offset_deg": 0.0, "tilt_sign": 1,
                                        "zoom_ratio": max(camera.hfov_deg[0] / camera.hfov_deg[1], 1.0)})


def mask_view(camera: Camera, mask: SphericalMask) -> MaskView:
    """The view that frames ``mask`` on ``camera`` (computed once per mask and camera: each vendor's
    export asks for it)."""
    views = mask.__dict__.setdefault("_views", {})
    try:
        if camera not in views:
            views[camera] = _mask_view(camera, mask)
        view: MaskView = views[camera]
        return view
    except TypeError:  # a camera that cannot be hashed
        return _mask_view(camera, mask)


def _mask_view(camera: Camera, mask: SphericalMask) -> MaskView:
    w, h = camera.resolution_px
    if camera.kind == "fixed" and camera.direction_deg is not None:
        f, r, u = camera_axes(camera)
        frame = (f, r, u)
        hfov = camera.hfov_deg[0]
        az_true, el = camera.direction_deg, camera.tilt_deg or 0.0
    else:
        frame = tangent_frame(mask.centre if mask.aim is None else mask.aim)
        xy = project(mask.vertices, frame)
        need = max(np.abs(xy[:, 0]).max(), np.abs(xy[:, 1]).max() * w / h) / 0.9
        t_wide, t_tele = (math.tan(math.radians(x) / 2) for x in camera.hfov_deg)
        t = min(max(need, t_tele), t_wide)
        hfov = math.degrees(2 * math.atan(t))
        az_grid, el_arr = azimuth_elevation(frame[0][None])
        az_true, el = float((az_grid[0] - camera.grid_north_offset_deg) % 360.0), float(el_arr[0])
    xy = project(mask.vertices, frame)
    tx = math.tan(math.radians(hfov) / 2)
    ty = tx * h / w
    poly = np.column_stack([xy[:, 0] / tx, xy[:, 1] / ty])
    clipped = bool(np.isnan(poly).any() or np.abs(poly).max() > 1.0)
    if clipped:  # beyond the image nothing is seen from this view; PTZ plans that need this are non-compliant
        import shapely

        inside = shapely.Polygon(np.nan_to_num(poly, nan=0.0)).intersection(shapely.box(-1, -1, 1, 1))
        poly = np.asarray(shapely.orient_polygons(inside).exterior.coords)[:-1] if not inside.is_empty \
            else np.zeros((0, 2))
    zoom = math.tan(math.radians(camera.hfov_deg[0]) / 2) / tx
    return MaskView(az_true, el, hfov, zoom, poly, clipped)


def vendor_angles(camera: Camera, view: MaskView) -> tuple[float, float]:
    """The view's pan [deg, -180..180 from the vendor's pan zero] and tilt [deg, in the vendor's sign]."""
    v = vendor(camera)
    pan = ((view.azimuth_deg - float(v.get("pan_zero_offset_deg", 0.0)) + 180.0) % 360.0) - 180.0
    return pan, view.elevation_deg * int(v.get("tilt_sign", 1))


def generic_ptz(camera: Camera, view: MaskView) -> tuple[float, float, float]:
    """ONVIF generic pan/tilt space [-1, 1] (pan -180..180 deg from the vendor's zero, tilt -90..90 deg
    in the vendor's sign) and generic zoom [0, 1] (linear in zoom ratio up to the vendor's maximum)."""
    v = vendor(camera)
    pan, tilt = vendor_angles(camera, view)
    zmax = float(v.get("zoom_ratio", 1.0))
    zoom = 0.0 if zmax <= 1 else (view.zoom_ratio - 1) / (zmax - 1)
    return pan / 180.0, tilt / 90.0, min(max(zoom, 0.0), 1.0)
