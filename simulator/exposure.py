"""Exposures: for one camera, which targets it sees, what fraction of each, and at what pixel density.

A sample P is visible from camera C when: it is within the camera's reach (PTZ: pan and tilt limits
widened by half the wide-end field of view, since the image extends beyond where the lens points;
fixed: inside the view frustum), within range, its surface faces C, and the segment C -> P hits
nothing (``visibility.RayEngine``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .camera.model import Camera
from .frames import azimuth_elevation, direction_vectors, in_angular_range
from .geom import ball
from .scene.targets import Targets
from .visibility import RayEngine

F64 = NDArray[np.float64]
DORI_CLASSES = ("identify", "recognise", "observe", "detect")


def dori_class(px_per_m: F64, thresholds: dict[str, float]) -> NDArray[np.object_]:
    """IEC 62676-4 class of each density [px/m]: the highest class reached, ``"none"`` below detect."""
    px = np.asarray(px_per_m, float)
    out = np.full(px.shape, "none", dtype=object)
    for name in reversed(DORI_CLASSES):  # detect first, identify last wins
        out[px >= thresholds[name]] = name
    return out


def in_reach(camera: Camera, vectors: F64) -> NDArray[np.bool_]:
    """Whether directions (n, 3) from the camera [scene frame] fall in its reach (see module docstring)."""
    if len(vectors) == 0:
        return np.zeros(0, bool)
    if camera.kind == "fixed" and camera.direction_deg is not None:
        return _in_frustum(camera, vectors)
    az_grid, el = azimuth_elevation(vectors)
    az_true = (az_grid - camera.grid_north_offset_deg) % 360.0
    h_half, v_half = camera.hfov_deg[0] / 2, camera.vfov_deg[0] / 2
    lo, hi = camera.pan_limits_deg
    if hi - lo >= 360.0:
        pan_ok = np.ones(len(vectors), bool)
    else:
        pan_ok = in_angular_range(az_true, lo - h_half, hi + h_half) if hi - lo + 2 * h_half < 360.0 else \
            np.ones(len(vectors), bool)
    if camera.kind == "fixed":  # direction unknown: any pan, tilt fixed
        tilt = camera.tilt_deg if camera.tilt_deg is not None else -15.0
        t_lo, t_hi = tilt, tilt
    else:
        t_lo, t_hi = camera.tilt_limits_deg
    tilt_ok = (el >= t_lo - v_half - 1e-9) & (el <= t_hi + v_half + 1e-9)
    return pan_ok & tilt_ok


def camera_axes(camera: Camera) -> tuple[F64, F64, F64]:
    """Forward, right and up unit vectors (scene frame) of a fixed camera's optical axis."""
    assert camera.direction_deg is not None
    az_grid = camera.direction_deg + camera.grid_north_offset_deg
    f = direction_vectors(az_grid, camera.tilt_deg or 0.0)[0]
    right = np.cross(f, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-9:  # looking straight down/up: image right is east
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, f)
    return f, right, up


def _in_frustum(camera: Camera, vectors: F64) -> NDArray[np.bool_]:
    f, right, up = camera_axes(camera)
    z = vectors @ f
    x = vectors @ right
    y = vectors @ up
    th = math.tan(math.radians(camera.hfov_deg[0]) / 2)
    tv = math.tan(math.radians(camera.vfov_deg[0]) / 2)
    return (z > 0) & (np.abs(x) <= th * z + 1e-12) & (np.abs(y) <= tv * z + 1e-12)


@dataclass(frozen=True)
class VisibleSamples:
    """Samples one camera sees: indices into ``targets.samples``, their target, distance [m] and the
    direction vectors (n, 3) from the camera."""

    sample: NDArray[np.intp]
    target: NDArray[np.intp]
    distance: F64
    vector: F64


def visible_samples(camera: Camera, targets: Targets, engine: RayEngine, *, target_radius: F64,
                    target_index: cKDTree | None = None, samples: F64 | None = None,
                    offsets: NDArray[np.int64] | None = None) -> VisibleSamples:
    """Every sample of ``targets`` that ``camera`` sees (see module docstring for the rules).

    ``samples``/``offsets`` replace the targets' own samples (e.g. a denser resampling for verification).
    ``target_index`` (a KD-tree of target centroids) narrows the search to targets near the camera.
    """
    samples = targets.samples if samples is None else samples
    offsets = targets.offsets if offsets is None else offsets
    cam = np.array(camera.position)
    rng = camera.range_m
    empty = VisibleSamples(np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), np.zeros((0, 3)))
    if target_index is not None:
        near = ball(target_index, cam, rng + float(target_radius.max(initial=0.0)))
    else:
        near = np.arange(len(targets))
    planes = targets.planes
    dc = np.linalg.norm(targets.centroid[near] - cam, axis=1)
    # a planar target faces the camera everywhere or nowhere: n . (C - P) is constant over its plane
    facing = planes.draped[near] | (np.einsum("ij,ij->i", planes.N[near], cam - planes.origin[near]) > 0)
    cand = near[(dc <= rng + target_radius[near]) & facing]
    if len(cand) == 0:
        return empty
    counts = offsets[cand + 1] - offsets[cand]
    starts = offsets[cand]
    idx = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    tid = np.repeat(cand, counts)
    vec = samples[idx] - cam
    dist = np.linalg.norm(vec, axis=1)
    ok = (dist <= rng) & (dist > 0) & (np.einsum("ij,ij->i", np.repeat(planes.N[cand], counts, axis=0), vec) < 0)
    ok[ok] = in_reach(camera, vec[ok])
    sel = np.flatnonzero(ok)
    if len(sel) == 0:
        return empty
    # coherent order: sort rays by direction
    az, el = azimuth_elevation(vec[sel])
    sel = sel[np.lexsort((az, np.floor(el)))]
    vis = sel[engine.segment_clear(cam, samples[idx[sel]])]
    return VisibleSamples(idx[vis], tid[vis], dist[vis], vec[vis])


def camera_exposures(camera: Camera, targets: Targets, engine: RayEngine, *,
                     dori_thresholds: dict[str, float], target_radius: F64,
                     target_index: cKDTree | None = None,
                     seen: VisibleSamples | None = None) -> pd.DataFrame:
    """One row per target with at least one visible sample.

    Columns: ``target`` (index into ``targets``), ``visible_samples``, ``samples``, ``visible_fraction``,
    ``visible_area_m2``, ``distance_m`` (nearest visible sample), ``max_px_per_m``, ``dori``,
    ``incidence_deg`` (angle between the surface normal and the line of sight at that sample).
    ``seen`` reuses an earlier ``visible_samples`` result.
    """
    if seen is None:
        seen = visible_samples(camera, targets, engine, target_radius=target_radius, target_index=target_index)
    if len(seen.sample) == 0:
        return _empty()
    order = np.lexsort((seen.distance, seen.target))
    vt, vd = seen.target[order], seen.distance[order]
    first = np.r_[True, vt[1:] != vt[:-1]]
    targets_seen = vt[first]
    nearest = vd[first]
    nearest_vec = seen.vector[order][first]
    n_visible = np.diff(np.r_[np.flatnonzero(first), len(vt)])
    n_total = targets.offsets[targets_seen + 1] - targets.offsets[targets_seen]
    cosang = -np.einsum("ij,ij->i", targets.planes.N[targets_seen], nearest_vec) / nearest
    px = camera.resolution_px[0] / (2.0 * nearest * math.tan(math.radians(camera.hfov_deg[1]) / 2.0))
    frac = n_visible / n_total
    return pd.DataFrame({
        "target": targets_seen, "visible_samples": n_visible, "samples": n_total, "visible_fraction": frac,
        "visible_area_m2": frac * targets.area[targets_seen], "distance_m": nearest, "max_px_per_m": px,
        "dori": dori_class(px, dori_thresholds),
        "incidence_deg": np.degrees(np.arccos(np.clip(cosang, -1, 1))),
    })


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("target", "int64"), ("visible_samples", "int64"), ("samples", "int64"), ("visible_fraction", "float64"),
        ("visible_area_m2", "float64"), ("distance_m", "float64"), ("max_px_per_m", "float64"),
        ("dori", "object"), ("incidence_deg", "float64"))})
