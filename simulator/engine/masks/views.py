"""Where to point a camera to draw a mask, the mask's polygon in that view, and the mask as the device
stores it.

For a PTZ camera each mask is framed on its own: the camera points at the mask's aim (its centre, or
the direction within its limits it is framed from; no roll) and zooms so that the mask fills at most
90 % of the image (never beyond the tele end, never wider than the wide end). A fixed camera has one
view: its own. Coordinates are ONVIF-normalised: x, y in [-1, 1], origin at the image centre, y up.

A device stores a polygon in that view, within the image and within its own rules: a rectangle
(image-aligned) on a rectangle-only camera, at most its vertex limit otherwise. ``device_mask`` gives
that polygon back on the sphere, so a plan is verified as it will be programmed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import shapely

from ...frames import azimuth_elevation, direction_vectors
from ...scene.camera import Camera
from ...vocabulary import F64
from ..exposure import camera_axes
from .spherical import SphericalMask, project, reduce_ring, tangent_frame, unproject


@dataclass(frozen=True)
class MaskView:
    """A view that frames one mask: true azimuth/elevation [deg] of the optical axis, horizontal FOV
    [deg] and zoom ratio (wide HFOV / HFOV in tangent terms, 1 at the wide end), and the polygon (k, 2)
    in normalised coordinates of that view, as the device stores it; ``clipped``: the mask reached
    beyond the image (beyond the camera's limits, where it never looks), and was cut at its edge."""

    azimuth_deg: float
    elevation_deg: float
    hfov_deg: float
    zoom_ratio: float
    polygon: F64
    clipped: bool = False


def lens_zoom_ratio(camera: Camera) -> float:
    """The optical zoom ratio of the camera's lens from its field of view: tan(wide / 2) / tan(tele / 2)."""
    wide, tele = camera.hfov_deg
    return math.tan(math.radians(wide) / 2) / math.tan(math.radians(tele) / 2)


def mask_view(camera: Camera, mask: SphericalMask) -> MaskView:
    """The view that frames ``mask`` on ``camera`` (computed once per mask and camera: each vendor's
    export asks for it)."""
    views = mask.view_cache
    try:
        if camera not in views:
            views[camera] = _mask_view(camera, mask)
        view: MaskView = views[camera]
        return view
    except TypeError:  # a camera that cannot be hashed
        return _mask_view(camera, mask)


def _frame(camera: Camera, mask: SphericalMask) -> tuple[tuple[F64, F64, F64], float, float, float]:
    """The view's frame, horizontal FOV [deg], true azimuth and elevation [deg] of its axis."""
    w, h = camera.resolution_px
    if camera.kind == "fixed" and camera.direction_deg is not None:
        return camera_axes(camera), camera.hfov_deg[0], camera.direction_deg, camera.tilt_deg or 0.0
    frame = tangent_frame(mask.centre if mask.aim is None else mask.aim)
    xy = project(mask.vertices, frame)
    need = max(np.abs(xy[:, 0]).max(), np.abs(xy[:, 1]).max() * w / h) / 0.9
    t_wide, t_tele = (math.tan(math.radians(x) / 2) for x in camera.hfov_deg)
    t = min(max(need, t_tele), t_wide)
    az_grid, el_arr = azimuth_elevation(frame[0][None])
    return frame, math.degrees(2 * math.atan(t)), float((az_grid[0] - camera.grid_north_offset_deg) % 360.0), \
        float(el_arr[0])


def _mask_view(camera: Camera, mask: SphericalMask) -> MaskView:
    frame, hfov, az_true, el = _frame(camera, mask)
    return _in_frame(camera, mask, frame, hfov, az_true, el)


def in_view(camera: Camera, mask: SphericalMask, azimuth_deg: float, elevation_deg: float,
            zoom_ratio: float) -> MaskView:
    """``mask`` in the view of a PTZ camera pointed at true ``azimuth_deg``, ``elevation_deg`` [deg]
    with ``zoom_ratio`` (1: the wide end), as an API's rounded values set it: the same spherical
    polygon projected into that view (cut at the image edge and made a device polygon as in
    ``mask_view``)."""
    f = direction_vectors(azimuth_deg + camera.grid_north_offset_deg, elevation_deg)[0]
    t = math.tan(math.radians(camera.hfov_deg[0]) / 2) / zoom_ratio
    return _in_frame(camera, mask, tangent_frame(f), math.degrees(2 * math.atan(t)), azimuth_deg, elevation_deg)


def _in_frame(camera: Camera, mask: SphericalMask, frame: tuple[F64, F64, F64], hfov: float, az_true: float,
              el: float) -> MaskView:
    w, h = camera.resolution_px
    xy = project(mask.vertices, frame)
    tx = math.tan(math.radians(hfov) / 2)
    ty = tx * h / w
    poly = np.column_stack([xy[:, 0] / tx, xy[:, 1] / ty])
    clipped = bool(np.isnan(poly).any() or np.abs(poly).max() > 1.0)
    if clipped:  # beyond the image nothing is seen from this view
        inside = shapely.Polygon(np.nan_to_num(poly, nan=0.0)).intersection(shapely.box(-1, -1, 1, 1))
        poly = np.asarray(shapely.orient_polygons(inside).exterior.coords)[:-1] if not inside.is_empty \
            else np.zeros((0, 2))
    poly = _device_polygon(poly, camera.mask_limits.max_vertices, camera.mask_limits.rectangle_only)
    zoom = math.tan(math.radians(camera.hfov_deg[0]) / 2) / tx
    return MaskView(az_true, el, hfov, zoom, poly, clipped)


def _device_polygon(poly: F64, max_vertices: int, rectangle_only: bool) -> F64:
    """A polygon (k, 2, counter-clockwise, within [-1, 1]^2) the device accepts that holds ``poly``: its
    image-aligned bounding rectangle on a rectangle-only camera; else, beyond the vertex limit (a mask
    cut at the image edge), the reduced polygon if it stays in the image, otherwise the bounding
    rectangle (which does: ``poly`` does)."""
    if len(poly) < 3:
        return poly
    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
    rect = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    if rectangle_only:
        return rect
    if len(poly) <= max_vertices:
        return poly
    reduced = reduce_ring(poly, max_vertices)
    return reduced if np.abs(reduced).max() <= 1.0 or max_vertices < 4 else rect


def device_mask(camera: Camera, mask: SphericalMask) -> SphericalMask:
    """``mask`` as the camera stores it (``MaskView.polygon`` in its view), back on the sphere: the same
    mask where the device takes it as it is; larger where it is made a rectangle or reduced after
    being cut at the image edge; smaller only where it reached beyond the image (where this view
    never looks). Aimed where the view points, so the export frames it there again."""
    view = mask_view(camera, mask)
    if len(view.polygon) < 3:
        return mask
    frame, hfov, _, _ = _frame(camera, mask)
    w, h = camera.resolution_px
    tx = math.tan(math.radians(hfov) / 2)
    ring = np.column_stack([view.polygon[:, 0] * tx, view.polygon[:, 1] * tx * h / w])
    return replace(mask, vertices=unproject(ring, frame), aim=frame[0].copy())

