"""Exposures: for one camera, which targets it sees, what fraction of each, and at what pixel density.

A sample P is visible from camera C when: it is within the camera's reach (PTZ: pan and tilt limits
widened by half the wide-end field of view, since the image extends beyond where the lens points;
fixed: inside the view frustum), within range, its surface faces C, and the segment C -> P hits
nothing (``visibility.RayEngine``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..frames import azimuth_elevation, direction_vectors, in_angular_range
from ..geom import ball
from ..scene.camera import Camera
from ..scene.targets import DRAPED_OFFSET_M, Targets, cell_shares
from ..visibility import RayEngine
from ..vocabulary import DORI_CLASSES, F64, IEC_2025_LEVELS, OPENING_KINDS

# A surface seen within half a degree of edge-on is not seen: it shows under 0.9 % of its extent
# along the line of sight (a 1.2 m window: 1 cm), and there the 2 cm by which a line of sight stops
# short of it lie within 0.17 mm of its plane, near what Embree's float32 resolves a kilometre from
# the origin (a ray could hit the surface's own wall, or miss it, by rounding). Ground samples, 10 cm
# above the terrain, keep the plain facing rule.
EDGE_ON_DEG = 89.5
EDGE_ON_COS = math.cos(math.radians(EDGE_ON_DEG))


def dori_class(px_per_m: F64, thresholds: dict[str, float]) -> NDArray[np.object_]:
    """IEC 62676-4:2014 DORI class of each density [px/m]: the highest class reached, ``"none"``
    below detect."""
    px = np.asarray(px_per_m, float)
    out = np.full(px.shape, "none", dtype=object)
    for name in reversed(DORI_CLASSES):  # detect first, identify last wins
        out[px >= thresholds[name]] = name
    return out


def iec_2025_level(px_per_m: F64) -> NDArray[np.object_]:
    """IEC 62676-4:2025 level of each density [px/m] (``IEC_2025_LEVELS``), ``"none"`` below overview."""
    px = np.asarray(px_per_m, float)
    out = np.full(px.shape, "none", dtype=object)
    for name, least in reversed(IEC_2025_LEVELS):
        out[px >= least] = name
    return out


def through_share(size_uv_m: F64, U: F64, V: F64, N: F64, to_camera: F64, reveal_m: float) -> F64:
    """The share of an opening's area through which the inside is seen from a direction (the grazing
    rule). The opening (``size_uv_m`` (n, 2) [m] along its in-plane axes ``U``, ``V``; normal ``N``,
    all (n, 3)) sits at the back of a reveal ``reveal_m`` [m] deep; seen along the unit direction
    ``to_camera`` (n, 3: from the opening to the camera), the far edge of the reveal shifts by
    ``reveal * tan(incidence)`` across the opening, split along U and V, and the inside shows through
    what is left: (1 - reveal |d.U| / (w d.N))+ (1 - reveal |d.V| / (h d.N))+. Zero when seen from
    behind or edge-on."""
    d = np.asarray(to_camera, float)
    dn = np.einsum("ij,ij->i", d, N)
    du, dv = np.abs(np.einsum("ij,ij->i", d, U)), np.abs(np.einsum("ij,ij->i", d, V))
    with np.errstate(divide="ignore", invalid="ignore"):
        su = 1.0 - reveal_m * du / (np.maximum(size_uv_m[:, 0], 1e-9) * dn)
        sv = 1.0 - reveal_m * dv / (np.maximum(size_uv_m[:, 1], 1e-9) * dn)
    share = np.clip(su, 0.0, 1.0) * np.clip(sv, 0.0, 1.0)
    return np.where(dn > 1e-12, share, 0.0)


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
                    offsets: NDArray[np.int64] | None = None, only: NDArray[np.intp] | None = None) -> VisibleSamples:
    """Every sample of ``targets`` that ``camera`` sees (see module docstring for the rules).

    ``samples``/``offsets`` replace the targets' own samples (e.g. a denser resampling for verification).
    ``target_index`` (a KD-tree of target centroids) narrows the search to targets near the camera;
    ``only`` (target indices) to those targets (a verification's, say).
    """
    samples = targets.samples if samples is None else samples
    offsets = targets.offsets if offsets is None else offsets
    cam = np.array(camera.position)
    rng = camera.range_m
    empty = VisibleSamples(np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), np.zeros((0, 3)))
    if only is not None:
        near = np.asarray(only, np.intp)
    elif target_index is not None:
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
    least = np.where(np.repeat(planes.draped[cand], counts), 0.0, EDGE_ON_COS) * dist  # see EDGE_ON_DEG
    ok = (dist <= rng) & (dist > 0) & (-np.einsum("ij,ij->i", np.repeat(planes.N[cand], counts, axis=0), vec) > least)
    ok[ok] = in_reach(camera, vec[ok])
    sel = np.flatnonzero(ok)
    if len(sel) == 0:
        return empty
    # coherent order: sort rays by direction
    az, el = azimuth_elevation(vec[sel])
    sel = sel[np.lexsort((az, np.floor(el)))]
    vis = sel[engine.segment_clear(cam, samples[idx[sel]])]
    return VisibleSamples(idx[vis], tid[vis], dist[vis], vec[vis])


REFINE = 5  # a cell at the edge of what is seen is resampled at REFINE x REFINE points (odd: its
# own sample, at its centre, is one of them)


@dataclass(frozen=True)
class Refined:
    """The visible area share of each partly seen target, from its cells refined where visible meets
    hidden, and a bound on its error (see ``refine_partial``)."""

    target: NDArray[np.intp]
    visible_share: F64
    error_bound: F64
    nearest_m: F64  # the nearest visible probe or refined point (inf: none)


def _cast_on(camera: Camera, engine: RayEngine, targets: Targets, tc: NDArray[np.intp], cu: F64, cv: F64,
             terrain: Any) -> tuple[NDArray[np.bool_], F64]:
    """Whether the camera sees points (u, v) [m] (``cu``, ``cv`` (k, m)) of targets ``tc`` (k,), by the
    samples' rules (range, facing, reach, a clear segment), and their distances [m]."""
    pl = targets.planes
    pts = pl.origin[tc, None, :] + cu[..., None] * pl.U[tc, None, :] + cv[..., None] * pl.V[tc, None, :]
    dr = pl.draped[tc]
    if dr.any():
        pts[dr, :, 0], pts[dr, :, 1] = cu[dr], cv[dr]
        z = terrain.height_at(cu[dr].ravel(), cv[dr].ravel()) if terrain is not None else np.zeros(cu[dr].size)
        pts[dr, :, 2] = z.reshape(cu[dr].shape) + DRAPED_OFFSET_M
    m = cu.shape[1]
    flat = pts.reshape(-1, 3)
    cam = np.array(camera.position)
    vec = flat - cam
    dist = np.linalg.norm(vec, axis=1)
    normal = np.repeat(pl.N[tc], m, axis=0)
    # the samples' facing rule: surfaces beyond EDGE_ON_DEG of edge-on, ground below the camera
    least = np.where(np.repeat(dr, m), 0.0, EDGE_ON_COS) * dist
    ok = (dist <= camera.range_m) & (dist > 0) & (-np.einsum("ij,ij->i", normal, vec) > least)
    ok[ok] = in_reach(camera, vec[ok])
    sel = np.flatnonzero(ok)
    clear = np.zeros(len(flat), bool)
    if len(sel):
        clear[sel] = engine.segment_clear(cam, flat[sel])
    return clear.reshape(cu.shape), dist.reshape(cu.shape)


PROBE_INSET = 0.02  # border probes sit this share of a cell inside the target's edge


def refine_partial(camera: Camera, targets: Targets, engine: RayEngine, seen: VisibleSamples,
                   which: NDArray[np.intp], terrain: Any = None, *, refine: int = REFINE) -> Refined:
    """The visible area share of the targets ``which`` (each seen at least in part): each sample
    stands for its cell of the target's lattice (``Targets.grid``: equal cells). A cell is resampled
    at ``refine`` x ``refine`` points, each cast like a sample, and counts by the share of them seen,
    where the edge of what the camera sees may cross it: its sample disagrees with one of its four
    neighbours' (visible next to hidden), or, on the target's border, with a probe cast just inside
    the target's edge (``PROBE_INSET`` of a cell: a reveal or frame hiding an opening's edge strip).
    Points outside a target's polygon count for nothing. The error bound counts the pairs of
    neighbouring points (refined points, or a refined point and an unrefined neighbour's sample) that
    disagree: the edge of what is seen runs
    between the two, so the pair's share is wrong by at most half the area between them: 1 /
    (2 refine^2) of a cell for two refined points, 1 / (2 refine) for a refined point and an unrefined
    neighbour's sample (which stands for its whole cell); where a border probe disagrees with its
    cell's sample, the strip between the cell's outermost points and the edge counts whole. It holds
    where no visible or hidden patch is smaller than a cell (a thin post between two samples, wholly
    missed, is not bounded). Each cell weighs its area on the target (``cell_shares``: a border cell
    of a polygon other than a rectangle, the share of it inside)."""
    which = np.asarray(which, np.intp)
    empty = Refined(which, np.zeros(len(which)), np.zeros(len(which)), np.full(len(which), np.inf))
    if len(which) == 0 or len(targets.grid) == 0:
        return empty
    off = targets.offsets
    counts = off[which + 1] - off[which]
    rows = np.repeat(off[which] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    who = np.repeat(np.arange(len(which)), counts)  # position in ``which`` of each sample
    ti = which[who]
    pl = targets.planes
    b = pl.bounds[ti]
    nu, nv = targets.grid[ti, 0], targets.grid[ti, 1]
    su, sv = np.maximum(b[:, 2] - b[:, 0], 1e-9) / nu, np.maximum(b[:, 3] - b[:, 1], 1e-9) / nv
    rel = targets.samples[rows] - pl.origin[ti]
    draped = pl.draped[ti]
    u = np.where(draped, targets.samples[rows, 0], np.einsum("ij,ij->i", rel, pl.U[ti]))
    v = np.where(draped, targets.samples[rows, 1], np.einsum("ij,ij->i", rel, pl.V[ti]))
    iu = np.clip(np.floor((u - b[:, 0]) / su).astype(np.int64), 0, nu - 1)
    iv = np.clip(np.floor((v - b[:, 1]) / sv).astype(np.int64), 0, nv - 1)
    vis = np.isin(rows, seen.sample)
    general = ~pl.rect[ti]  # polygons other than rectangles: points tested for containment
    # neighbours by key (target, row, column), sorted for lookup
    stride = int(max(int(nu.max()), int(nv.max())) + 2)
    key = (who * stride + iv) * stride + iu
    order = np.argsort(key)
    sk = key[order]

    def neighbour(c: NDArray[np.intp] | slice, di: int, dj: int) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
        """For samples ``c``: whether the cell (di, dj) away in the same target has a sample, and its row."""
        ok = (iu[c] + di >= 0) & (iu[c] + di < nu[c]) & (iv[c] + dj >= 0) & (iv[c] + dj < nv[c])
        nk = (who[c] * stride + iv[c] + dj) * stride + iu[c] + di
        pos = np.clip(np.searchsorted(sk, nk), 0, len(sk) - 1)
        return ok & (sk[pos] == nk), order[pos]

    edge = np.zeros(len(key), bool)
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        found, other = neighbour(slice(None), di, dj)
        edge |= found & (vis[other] != vis)
    nearest = np.full(len(which), np.inf)  # [m] the nearest visible probe or refined point of each target
    probe_differs = np.zeros(len(key), np.int64)  # border probes of each cell that disagree with its sample
    # probes just inside the border, on the cells of the bounds' edges (their sample's row or column)
    probes = []
    inset_u, inset_v = PROBE_INSET * su, PROBE_INSET * sv
    for on, pu, pv in ((iu == 0, b[:, 0] + inset_u, v), (iu == nu - 1, b[:, 2] - inset_u, v),
                       (iv == 0, u, b[:, 1] + inset_v), (iv == nv - 1, u, b[:, 3] - inset_v)):
        k = np.flatnonzero(on)
        if len(k):
            probes.append((k, pu[k], pv[k]))
    if probes:
        k = np.concatenate([q[0] for q in probes])
        pu, pv = np.concatenate([q[1] for q in probes]), np.concatenate([q[2] for q in probes])
        inside = np.ones(len(k), bool)
        g = np.flatnonzero(general[k])
        if len(g):
            inside[g] = shapely.contains_xy(pl.poly2d[ti[k[g]]], pu[g], pv[g])
        k, pu, pv = k[inside], pu[inside], pv[inside]
        if len(k):
            got, dist = _cast_on(camera, engine, targets, ti[k], pu[:, None], pv[:, None], terrain)
            differs = k[got[:, 0] != vis[k]]
            edge[differs] = True
            np.add.at(probe_differs, differs, 1)
            np.minimum.at(nearest, who[k[got[:, 0]]], dist[got[:, 0], 0])
    cells = np.flatnonzero(edge)
    share_cell = vis.astype(float)
    weight = cell_shares(pl, ti, iu, iv, nu, nv)  # each cell weighs its area on the target
    uncertain = np.zeros(len(key))
    if len(cells):
        r = refine
        a = (np.arange(r) + 0.5) / r
        fu, fv = np.meshgrid(a, a, indexing="xy")  # (r, r): row = v, column = u
        cu = b[cells, 0, None] + (iu[cells, None] + fu.ravel()[None, :]) * su[cells, None]  # (cells, r*r)
        cv = b[cells, 1, None] + (iv[cells, None] + fv.ravel()[None, :]) * sv[cells, None]
        got, dist = _cast_on(camera, engine, targets, ti[cells], cu, cv, terrain)
        inside = np.ones(cu.shape, bool)
        g = np.flatnonzero(general[cells])
        if len(g):
            polys = np.repeat(pl.poly2d[ti[cells[g]]], r * r)
            inside[g] = shapely.contains_xy(polys, cu[g].ravel(), cv[g].ravel()).reshape(len(g), r * r)
        near_cell = np.where(got & inside, dist, np.inf).min(axis=1)
        np.minimum.at(nearest, who[cells], near_cell)
        sub = got.reshape(len(cells), r, r)  # [cell, row (v), column (u)]
        ins = inside.reshape(len(cells), r, r)
        n_in = ins.sum(axis=(1, 2))
        share_cell[cells] = np.where(n_in > 0, (sub & ins).sum(axis=(1, 2)) / np.maximum(n_in, 1), share_cell[cells])
        # pairs of neighbouring points (both on the target) that disagree: inside each refined cell,
        # and across its sides (with the next refined cell's facing points, or an unrefined neighbour's
        # sample)
        pairs = (((sub[:, 1:, :] != sub[:, :-1, :]) & ins[:, 1:, :] & ins[:, :-1, :]).sum(axis=(1, 2))
                 + ((sub[:, :, 1:] != sub[:, :, :-1]) & ins[:, :, 1:] & ins[:, :, :-1]).sum(axis=(1, 2)))
        pairs = pairs.astype(float)
        coarse = np.zeros(len(cells))  # pairs with an unrefined neighbour's sample
        slot = np.full(len(key), -1, np.int64)
        slot[cells] = np.arange(len(cells))
        for di, dj, mine, mine_in, theirs, theirs_in in (
                (1, 0, sub[:, :, -1], ins[:, :, -1], sub[:, :, 0], ins[:, :, 0]),
                (0, 1, sub[:, -1, :], ins[:, -1, :], sub[:, 0, :], ins[:, 0, :])):
            found, other = neighbour(cells, di, dj)
            both = found & (slot[other] >= 0)  # the neighbour is refined too
            k = np.flatnonzero(both)
            q = slot[other[k]]
            pairs[k] += ((mine[k] != theirs[q]) & mine_in[k] & theirs_in[q]).sum(axis=1)
            k = np.flatnonzero(found & ~both)  # an unrefined neighbour: its sample's state
            coarse[k] += ((mine[k] != vis[other[k], None]) & mine_in[k]).sum(axis=1)
        for di, dj, edge_pts, edge_in in ((-1, 0, sub[:, :, 0], ins[:, :, 0]), (0, -1, sub[:, 0, :], ins[:, 0, :])):
            found, other = neighbour(cells, di, dj)
            k = np.flatnonzero(found & (slot[other] < 0))
            coarse[k] += ((edge_pts[k] != vis[other[k], None]) & edge_in[k]).sum(axis=1)
        # the edge between two disagreeing points lies between them: the error is at most half the
        # area between them (cell units)
        uncertain[cells] = 0.5 * pairs / (r * r) + 0.5 * coarse / r
    # a probe that disagrees with its cell's sample found an edge in the strip between the cell's
    # outermost points and the target's edge (0.5 / refine of the cell wide), which no point resolves:
    # that whole strip counts as uncertain
    uncertain += probe_differs * (0.5 / refine)
    w = np.bincount(who, weights=weight, minlength=len(which))
    share = np.bincount(who, weights=share_cell * weight, minlength=len(which)) / np.maximum(w, 1e-12)
    bound = np.bincount(who, weights=uncertain, minlength=len(which)) / np.maximum(w, 1e-12)
    return Refined(which, share, np.minimum(bound, 1.0), nearest)


def camera_exposures(camera: Camera, targets: Targets, engine: RayEngine, *,
                     dori_thresholds: dict[str, float], target_radius: F64,
                     target_index: cKDTree | None = None, seen: VisibleSamples | None = None,
                     density_basis: str = "frontal", reveal_m: float = 0.15,
                     grazing_max_incidence_deg: float | None = None, refine: int = REFINE,
                     terrain: Any = None) -> pd.DataFrame:
    """One row per target with at least one visible sample.

    Columns: ``target`` (index into ``targets``), ``visible_samples``, ``samples``, ``visible_fraction``,
    ``visible_area_m2``, ``distance_m`` (the nearest visible point: sample, border probe or refined
    point, see ``refine_partial``), ``max_px_per_m`` (the camera's px/m at that distance, at the tele
    end: the frontal density), ``incidence_deg`` (angle between the surface normal and the line of
    sight at the nearest visible sample), ``max_px_per_m_foreshortened`` (the largest
    px/m x cos(incidence) over the visible samples), ``dori`` (IEC 62676-4:2014 class) and
    ``iec_2025`` (IEC 62676-4:2025 level) of the density on ``density_basis`` (``"frontal"``:
    ``max_px_per_m``, as IEC 62676-4 defines it for a target facing the camera; ``"foreshortened"``:
    ``max_px_per_m_foreshortened``), ``through_share`` (openings: the largest
    share of the opening through which a visible sample's line of sight sees inside, behind a reveal
    ``reveal_m`` deep, see ``through_share``, counted 0 for a sample seen beyond
    ``grazing_max_incidence_deg`` where that is given; other targets: 1) and ``seen_into``
    (``through_share`` > 0).
    ``visible_fraction`` is the visible share of the target's area: the share of its cells seen, each
    cell at the edge of what is seen counted by ``refine`` x ``refine`` points of its own
    (``refine_partial``; ``refine`` 1: the samples alone), and ``visible_fraction_error`` bounds its error.
    ``seen`` reuses an earlier ``visible_samples`` result.
    """
    if seen is None:
        seen = visible_samples(camera, targets, engine, target_radius=target_radius, target_index=target_index)
    if len(seen.sample) == 0:
        return _empty()
    order = np.lexsort((seen.distance, seen.target))
    vt, vd, vv = seen.target[order], seen.distance[order], seen.vector[order]
    first = np.r_[True, vt[1:] != vt[:-1]]
    starts = np.flatnonzero(first)
    targets_seen = vt[first]
    nearest = vd[first]
    n_visible = np.diff(np.r_[starts, len(vt)])
    n_total = targets.offsets[targets_seen + 1] - targets.offsets[targets_seen]
    planes = targets.planes
    to_cam = -vv / vd[:, None]
    cos_all = np.einsum("ij,ij->i", planes.N[vt], to_cam)
    tan_half = math.tan(math.radians(camera.hfov_deg[1]) / 2.0)
    px_all = camera.resolution_px[0] / (2.0 * vd * tan_half)
    cosang = cos_all[first]
    px = px_all[first]
    fore = np.maximum.reduceat(px_all * np.clip(cos_all, 0.0, 1.0), starts)
    # the grazing rule, per visible sample of an opening
    b = planes.bounds[vt]
    share = np.ones(len(vt))
    opening = np.isin(targets.kind[vt], OPENING_KINDS)
    if opening.any():
        size = np.column_stack([b[opening, 2] - b[opening, 0], b[opening, 3] - b[opening, 1]])
        share[opening] = through_share(size, planes.U[vt[opening]], planes.V[vt[opening]], planes.N[vt[opening]],
                                       to_cam[opening], reveal_m)
        if grazing_max_incidence_deg is not None:
            steep = cos_all[opening] < math.cos(math.radians(grazing_max_incidence_deg))
            share[np.flatnonzero(opening)[steep]] = 0.0
    best_share = np.maximum.reduceat(share, starts)
    frac = n_visible / n_total
    error = np.zeros(len(frac))
    if refine > 1 and len(targets.grid):  # every seen target: partly seen ones, the border of those seen whole
        ref = refine_partial(camera, targets, engine, seen, targets_seen, terrain, refine=refine)
        frac, error = ref.visible_share, ref.error_bound
        # the frontal density at the nearest point seen: a probe or refined point may lie nearer
        # than every sample (the near edge of a facade seen from the side)
        closer = ref.nearest_m < nearest
        nearest = np.where(closer, ref.nearest_m, nearest)
        px = np.where(closer, camera.resolution_px[0] / (2.0 * nearest * tan_half), px)
    density = px if density_basis == "frontal" else fore
    return pd.DataFrame({
        "target": targets_seen, "visible_samples": n_visible, "samples": n_total, "visible_fraction": frac,
        "visible_area_m2": frac * targets.area[targets_seen], "distance_m": nearest, "max_px_per_m": px,
        "dori": dori_class(density, dori_thresholds),
        "incidence_deg": np.degrees(np.arccos(np.clip(cosang, -1, 1))),
        "max_px_per_m_foreshortened": fore, "iec_2025": iec_2025_level(density),
        "through_share": best_share, "seen_into": best_share > 0, "visible_fraction_error": error,
    })


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("target", "int64"), ("visible_samples", "int64"), ("samples", "int64"), ("visible_fraction", "float64"),
        ("visible_area_m2", "float64"), ("distance_m", "float64"), ("max_px_per_m", "float64"),
        ("dori", "object"), ("incidence_deg", "float64"), ("max_px_per_m_foreshortened", "float64"),
        ("iec_2025", "object"), ("through_share", "float64"), ("seen_into", "bool"),
        ("visible_fraction_error", "float64"))})
