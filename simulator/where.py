"""The resident's question: which cameras can see this point, or this window, at what pixel density,
and is it masked?

For a target (a window, a door, a garden …) the answer is the exposures' own: a camera sees it when
it sees one of its samples, by the engine's rules; it is masked when no verification sample of it
stays visible outside that camera's masks. For a point, a camera sees it when the point is within
range and reach and the segment to it is clear; it is masked when its direction lies inside one of
the camera's masks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine.exposure import dori_class, in_reach
from .errors import InputError
from .run.camera import analyse_camera
from .scene import Scene

COLUMNS = ["camera_id", "visible", "distance_m", "px_per_m", "dori", "masked", "reason"]


def where_target(scene: Scene, target_id: str) -> pd.DataFrame:
    """Every camera of ``scene`` with, for target ``target_id``: visible (bool), nearest visible
    distance [m], px/m (on the scenario's ``density_basis``), DORI class, masked (bool; None when not
    visible) and a reason."""
    t = scene.targets
    hits = np.flatnonzero(t.id == target_id)
    if len(hits) == 0:
        sample = ", ".join(map(str, t.id[:5]))
        raise InputError(f"unknown target id {target_id!r} (e.g. {sample})", field="--target")
    rows = []
    for cam in scene.cameras:
        df, _ = analyse_camera(scene, cam, masks=False)
        mine = df[df["target_id"].astype(str) == target_id] if len(df) else df
        if not len(mine):
            rows.append({"camera_id": cam.id, "visible": False, "distance_m": None, "px_per_m": None, "dori": None,
                         "masked": None, "reason": "not seen (range, reach, facing or occlusion)"})
            continue
        r = mine.iloc[0]
        _, plan = analyse_camera(scene, cam)  # masks only for the cameras that see it
        maskable = bool(scene.maskable[int(r["target"])]) and bool(r["seen_into"])
        masked = bool(plan is not None and maskable and target_id not in plan.residual_targets)
        reason = ("masked" if masked else "no mask plan" if plan is None
                  else f"not masked: seen too obliquely to see inside (a {scene.scenario.analysis.reveal_depth_m:g} m "
                       "reveal hides the whole opening: the grazing rule)" if not r["seen_into"]
                  else "not masked: a facade of a building whose windows and doors are masked" if not maskable
                  else "visible outside the masks")
        basis = scene.scenario.analysis.density_basis
        px = float(r["max_px_per_m"] if basis == "frontal" else r["max_px_per_m_foreshortened"])
        rows.append({"camera_id": cam.id, "visible": True, "distance_m": round(float(r["distance_m"]), 2),
                     "px_per_m": round(px, 1), "dori": r["dori"], "masked": masked, "reason": reason})
    return pd.DataFrame(rows, columns=COLUMNS)


def where_point(scene: Scene, point: tuple[float, float, float]) -> pd.DataFrame:
    """Every camera of ``scene`` with, for the point (x, y, z) [m, scene frame]: visible, distance,
    px/m, DORI class, masked (its direction inside one of the camera's masks) and a reason. A point
    has no surface: its density is the frontal one, whatever ``analysis.density_basis``."""
    p = np.asarray(point, float)
    thresholds = scene.scenario.analysis.dori_px_per_m.model_dump()
    rows = []
    for cam in scene.cameras:
        c = np.array(cam.position)
        v = p - c
        d = float(np.linalg.norm(v))
        row = {"camera_id": cam.id, "visible": False, "distance_m": round(d, 2), "px_per_m": None, "dori": None,
               "masked": None, "reason": ""}
        if d > cam.range_m:
            row["reason"] = f"beyond range ({cam.range_m:g} m)"
        elif d == 0 or not in_reach(cam, v[None, :])[0]:
            row["reason"] = "outside pan/tilt reach"
        elif not scene.engine.segment_clear(c, p[None, :])[0]:
            row["reason"] = "hidden (occluded)"
        else:
            px = cam.px_per_m(d)
            _, plan = analyse_camera(scene, cam)
            masked = bool(plan is not None and any(m.contains(v[None, :])[0] for m in plan.masks))
            row |= {"visible": True, "px_per_m": round(px, 1), "dori": str(dori_class(np.array([px]), thresholds)[0]),
                    "masked": masked, "reason": "masked" if masked else "visible, not masked"}
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def point_from_lonlat(scene: Scene, lon: float, lat: float, z_above_ground: float) -> tuple[float, float, float]:
    """(x, y, z) in the scene frame for a lon/lat and a height above the ground there; a point far from
    the scene (or one that lands in it only with lon and lat swapped) is an input error."""
    x, y = (float(v) for v in scene.frame.from_lonlat(lon, lat))
    x0, y0, x1, y1 = scene.buildings.total_bounds if len(scene.buildings) else (x, y, x, y)
    pad = 2000.0

    def inside(px: float, py: float) -> bool:
        return x0 - pad <= px <= x1 + pad and y0 - pad <= py <= y1 + pad

    if not inside(x, y):
        swapped = abs(lon) <= 90 and inside(*(float(v) for v in scene.frame.from_lonlat(lat, lon)))
        hint = " (lon and lat look swapped)" if swapped else ""
        raise InputError(f"point lon={lon}, lat={lat} is more than {pad:g} m outside the scene{hint}", field="--lon")
    ground = scene.terrain.height_at(np.array([x]), np.array([y]))[0] if not scene.terrain.is_flat else \
        (scene.ground_at(x, y) if scene.ground_at else 0.0)
    return x, y, float(ground) + z_above_ground
