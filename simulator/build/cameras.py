"""From camera specs (scenario entries, OSM nodes) to placed ``Camera`` objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from ..errors import InputError
from ..frames import Frame
from ..scenario import DEFAULT_MOUNT_HEIGHT_M, DEFAULT_TILT_DEG, CameraSpec
from ..scene import Scene
from ..scene.camera import Camera, MaskLimits
from .catalogue import model_spec

SWAP_TOLERANCE_M = 50_000.0


def place_camera(entry: CameraSpec, *, frame: Frame, ground_at: Callable[[float, float], float],
                 footprints: shapely.STRtree | None, footprint_geoms: NDArray[np.object_] | None,
                 scene_bounds: tuple[float, float, float, float] | None, default_range_m: float,
                 source: str, field: str, defaults_used: Sequence[str] = ()) -> tuple[Camera, list[str]]:
    """Merge catalogue values and overrides, project the position, lift it to ground + mount height.
    ``defaults_used``: the defaults the entry's values already hold (an OSM node's missing tags);
    those applied here are added (``DEFAULT_MOUNT_HEIGHT_M``, ``DEFAULT_TILT_DEG``).

    A camera whose position falls inside a building footprint is moved to just outside the nearest
    wall (cameras are mounted on facades); the move is reported in the returned notes.
    """
    notes: list[str] = []
    spec = entry.model_dump()
    defaults = list(defaults_used)
    base: dict[str, Any] = {}
    if spec.get("model"):
        base = dict(model_spec(spec["model"], file=source, field=f"{field}.model"))
    merged = {**base, **{k: v for k, v in spec.items() if v is not None}}
    missing = [k for k in ("kind", "resolution_px", "hfov_deg") if merged.get(k) is None]
    if missing:
        raise InputError(f"camera {spec['id']!r} needs a 'model' or inline {', '.join(missing)}",
                         file=source, field=field)
    if spec.get("lon") is not None:
        x, y = (float(v) for v in frame.from_lonlat(spec["lon"], spec["lat"]))
        if scene_bounds is not None and _far(x, y, scene_bounds):
            sx, sy = (float(v) for v in frame.from_lonlat(spec["lat"], spec["lon"])) \
                if abs(spec["lon"]) <= 90 else (np.inf, np.inf)
            if not _far(sx, sy, scene_bounds):
                raise InputError(f"camera {spec['id']!r} lies far outside the scene but would fall inside it "
                                 f"with lon and lat swapped (lon={spec['lon']}, lat={spec['lat']})",
                                 file=source, field=f"{field}.lon")
    else:
        x, y = float(spec["x"]), float(spec["y"])
    if footprints is not None and footprint_geoms is not None:
        hit = footprints.query(shapely.Point(x, y), predicate="within")
        if len(hit):
            poly = footprint_geoms[hit[0]]
            boundary = poly.boundary
            p = shapely.Point(x, y)
            q = boundary.interpolate(boundary.project(p))
            d = np.array([q.x - x, q.y - y])
            d = d / (np.linalg.norm(d) or 1.0)
            nx, ny = q.x + 0.3 * d[0], q.y + 0.3 * d[1]
            notes.append(f"camera {spec['id']}: position inside a building footprint, moved "
                         f"{np.hypot(nx - x, ny - y):.1f} m to its nearest wall")
            x, y = nx, ny
    mount = merged.get("mount_height_m")
    if mount is None:
        mount = DEFAULT_MOUNT_HEIGHT_M
        defaults.append(f"mount_height_m={DEFAULT_MOUNT_HEIGHT_M:g}")
    kind = merged["kind"]
    hfov = tuple(float(h) for h in merged["hfov_deg"])
    if kind == "fixed":
        hfov = (hfov[0], hfov[0])
    ml = dict(base.get("mask_limits") or {})
    ml.update({k: v for k, v in (spec.get("mask_limits") or {}).items() if v is not None})
    pan = tuple(float(p) for p in merged.get("pan_limits_deg") or (0.0, 360.0))
    if pan[1] < pan[0]:
        pan = (pan[0], pan[1] + 360.0)
    tilt_deg = merged.get("tilt_deg")
    if kind == "fixed" and merged.get("direction_deg") is not None and tilt_deg is None:
        tilt_deg = DEFAULT_TILT_DEG
        defaults.append(f"tilt_deg={DEFAULT_TILT_DEG:g}")
    offset = float(frame.grid_north_offset_deg(x, y))
    cam = Camera(
        id=str(spec["id"]), x=x, y=y, z=float(ground_at(x, y)) + float(mount), mount_height_m=float(mount),
        kind=kind, resolution_px=(int(merged["resolution_px"][0]), int(merged["resolution_px"][1])),
        hfov_deg=(hfov[0], hfov[1]), model=spec.get("model"), pan_limits_deg=(pan[0], pan[1]),
        tilt_limits_deg=tuple(float(t) for t in merged.get("tilt_limits_deg") or (-90.0, 90.0)),  # type: ignore[arg-type]
        direction_deg=None if merged.get("direction_deg") is None else float(merged["direction_deg"]) % 360.0,
        tilt_deg=None if tilt_deg is None else float(tilt_deg),
        range_m=float(merged.get("range_m") or default_range_m),
        mask_limits=_mask_limits(ml),
        grid_north_offset_deg=offset, defaults=tuple(defaults), onvif_tokens=_onvif_tokens(spec),
    )
    return cam, notes


def place_on_scene(scene: Scene, entry: CameraSpec, *, source: str, field: str) -> Camera:
    """``place_camera`` on a built scene (the app's edits, ``simulator place``'s candidates)."""
    b = scene.buildings
    cam, _ = place_camera(entry, frame=scene.frame, ground_at=scene.ground_at or (lambda x, y: 0.0),
                          footprints=scene.footprint_index, footprint_geoms=b.geometry.values if len(b) else None,
                          scene_bounds=None, default_range_m=scene.scenario.analysis.max_range_m,
                          source=source, field=field)
    return cam


ONVIF_TOKENS = (("profile_token", "Profile_1"), ("video_source_token", "VideoSourceConfig_1"),
                ("ptz_configuration_token", "PTZConfig_1"), ("ptz_node_token", "PTZNode_1"))


def _onvif_tokens(spec: dict[str, Any]) -> tuple[str, str, str, str]:
    """The camera's ONVIF profile, video source configuration, PTZ configuration and PTZ node tokens
    (the ONVIF files state them)."""
    given = spec.get("onvif") or {}
    a, b, c, d = (str(given.get(k) or default) for k, default in ONVIF_TOKENS)
    return a, b, c, d


def _mask_limits(ml: dict[str, Any]) -> MaskLimits:
    """``MaskLimits`` from the merged catalogue and scenario values (the catalogue's ``sources`` dropped)."""
    kw: dict[str, Any] = {k: ml[k] for k in ("max_masks", "max_vertices", "rectangle_only", "enlarge_fraction")
                          if k in ml}
    if "tilt_range_deg" in ml:
        kw["tilt_range_deg"] = tuple(float(v) for v in ml["tilt_range_deg"])
    return MaskLimits(**kw)


def _far(x: float, y: float, bounds: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = bounds
    if not np.isfinite(x) or not np.isfinite(y):
        return True
    dx = max(x0 - x, 0.0, x - x1)
    dy = max(y0 - y, 0.0, y - y1)
    return bool(np.hypot(dx, dy) > SWAP_TOLERANCE_M)
