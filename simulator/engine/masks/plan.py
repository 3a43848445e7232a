"""A camera's mask plan: pieces that one mask can frame, candidate masks, an optimal choice, a
proven lower bound, verification, and pan/tilt limits where no plan fits.

1. **Pieces.** Each visible sample of a private target stands for its cell: the rectangle of one
   sample pitch around it in the target's own plane, clipped to the target. A target's mask is the
   convex hull of its visible cells' corner directions, grown by the margin (pointing repeatability)
   and by the vendor's recommended enlargement (``MaskLimits.enlarge_fraction``), reduced to the
   camera's vertex limit (``spherical.reduce_ring``: never more than the minimum rotated rectangle).
   A target whose mask the camera cannot frame (wider than the wide view, or aimed beyond its pan or
   tilt limits) is cut in its own plane into strips: along its longer axis, each strip as long as
   still fits (a sweep), a strip too big on its own cut again along the other axis, and a single cell
   too big (a coarse ground cell next to the lens) cut into parts in its plane (``_cut_cell``). Size
   alone is never a reason for non-compliance; a cell part of which no mask can aim at is.
2. **Candidates.** Every piece's own mask; on every wall plane, the runs of pieces that one mask can
   frame (maximal runs swept along the wall's wider axis); the merges of neighbouring runs, greedily
   by the fewest newly hidden public samples, until no merge fits the view; and masks drawn in a view
   (``view_boxes``): the camera aimed on a pan/tilt grid, the image-aligned rectangle around the
   pieces each view holds whole.
3. **Choice** (``masks.cover``): exact set-cover reductions, then the fewest masks where the greedy
   cover exceeds the limit, then the least public space hidden within the limit; integer programs
   (HiGHS) within a budget, the greedy set cover otherwise. ``masks_lower_bound``: a proven lower
   bound (visible samples pairwise farther apart than the view's diagonal).
4. **Verification.** The exposed targets are resampled at half the spacing, the rays cast again, and
   visible samples outside every mask counted; a mask that misses some is grown once to cover them.
5. **Limits.** Where the plan does not fit the camera (more masks than it takes, cells it cannot
   frame, samples left visible), the least restrictive tilt or pan limits that leave every remaining
   exposure to masks within the limit are proposed; the masks are chosen again for them among the
   candidates the narrower limits can frame and verified with fresh rays, to record whether that
   makes the camera compliant.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ...frames import azimuth_elevation, direction_vectors, in_angular_range
from ...geom import ball
from ...scene import Camera, Scene
from ...scene.targets import sample_planes
from ...vocabulary import F64
from ..exposure import VisibleSamples, camera_axes, in_reach, visible_samples
from .cover import choose_masks, clique_bound, view_diagonal_deg
from .spherical import (
    SMALL_BATCH,
    SphericalMask,
    fits_views,
    hull_mask,
    hull_masks,
    inside_any,
    inside_each,
    project,
    solid_angles,
    tangent_frame,
    tangent_frames,
    unit,
)
from .views import device_mask


def _fibonacci_sphere(n: int) -> F64:
    """``n`` unit directions spread evenly over the sphere (a Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = k * math.pi * (3 - math.sqrt(5))
    r = np.sqrt(1 - z * z)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


_SPHERE = _fibonacci_sphere(4000)
# [deg] kept free at each edge of the view a mask is fitted to: the exporters round pan and tilt to
# their APIs' steps (Hikvision: 0.1 deg, so up to 0.05 deg off) and then draw the mask in that view
ROUNDING_ALLOWANCE_DEG = 0.1


@dataclass
class CameraMasks:
    """The outcome for one camera."""

    camera_id: str
    masks: list[SphericalMask]
    compliant: bool
    reasons: list[str] = field(default_factory=list)
    exposed_after_masks: int = 0  # targets with a visible verification sample outside every mask
    residual_samples: int = 0
    verification_samples: int = 0
    public_samples: int = 0
    public_hidden: int = 0
    proposed_pan_limits_deg: tuple[float, float] | None = None
    proposed_tilt_limits_deg: tuple[float, float] | None = None
    residual_targets: tuple[str, ...] = ()  # ids of the targets counted in exposed_after_masks
    public_index: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))  # street samples seen
    public_hidden_flags: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))  # ... hidden by masks
    masks_lower_bound: int = 0  # proven: no plan within the camera's rules has fewer masks
    method: str = ""  # how the masks were chosen: "optimal" | "node or time limit" | "greedy" (``masks.cover``)
    pieces: int = 0  # parts of targets that one mask can frame (a target wider than the view: several)
    split_targets: tuple[str, ...] = ()  # targets cut into several pieces
    unframable_targets: tuple[str, ...] = ()  # targets with a visible cell no mask can frame
    proposal: dict[str, Any] | None = None  # proposed limits and the outcome of planning with them
    # the plan made for the proposed limits (its masks, to export with those limits), and those limits
    proposed_plan: CameraMasks | None = None
    planning_seconds: float = 0.0
    targets_to_hide: int = 0  # the targets (seen into, maskable) in the camera's reach that its masks must hide

    @property
    def public_hidden_share(self) -> float | None:
        return self.public_hidden / self.public_samples if self.public_samples else None


@dataclass(frozen=True)
class MaskRule:
    """What a mask must satisfy to be programmed: at most the vertex limit (by construction), framed
    by the wide view, from a direction within the camera's pan and tilt limits (and the vendor's tilt
    range for masks)."""

    hfov_deg: float
    vfov_deg: float
    tilt_deg: tuple[float, float]
    pan_deg: tuple[float, float] | None  # true azimuth arc; None: any
    grid_north_offset_deg: float
    fixed: bool
    max_vertices: int
    rectangle_only: bool
    enlarge: float
    axis: F64 | None = None  # a fixed camera's optical axis (its image is the only view)

    @property
    def fit_fov_deg(self) -> tuple[float, float]:
        """The view a mask must fit [deg]: the wide view less ``ROUNDING_ALLOWANCE_DEG`` on every side,
        so that an API's rounded pan and tilt still frame it whole."""
        return (self.hfov_deg - 2 * ROUNDING_ALLOWANCE_DEG, self.vfov_deg - 2 * ROUNDING_ALLOWANCE_DEG)

    @property
    def fit_tangents(self) -> tuple[float, float]:
        h, v = self.fit_fov_deg
        return math.tan(math.radians(h) / 2), math.tan(math.radians(v) / 2)


def mask_rule(camera: Camera) -> MaskRule:
    lim = camera.mask_limits
    t_lo = max(camera.tilt_limits_deg[0], lim.tilt_range_deg[0])
    t_hi = min(camera.tilt_limits_deg[1], lim.tilt_range_deg[1])
    lo, hi = camera.pan_limits_deg
    fixed = camera.kind == "fixed"
    axis = camera_axes(camera)[0] if fixed and camera.direction_deg is not None else None
    return MaskRule(camera.hfov_deg[0], camera.vfov_deg[0], (t_lo, t_hi), None if hi - lo >= 360 else (lo, hi),
                 camera.grid_north_offset_deg, fixed, lim.max_vertices, lim.rectangle_only, lim.enlarge_fraction,
                 axis)


def frameable(rule: MaskRule, masks: Sequence[SphericalMask | None]) -> list[SphericalMask | None]:
    """The masks the camera can frame (None where it cannot); a mask whose centre lies beyond the pan
    or tilt limits is aimed at the nearest direction within them (``SphericalMask.aim``) if it fits
    the view from there, whole."""
    aimed = [i for i, m in enumerate(masks) if m is not None and m.aim is not None]
    if aimed:  # drawn in the view from their aim: that aim must be allowed, the mask in view
        out = frameable(rule, [None if m is None or m.aim is not None else m for m in masks])
        keep = np.ones(len(aimed), bool) if rule.axis is not None else \
            aims_allowed(rule, np.array([masks[i].aim for i in aimed]))  # type: ignore[union-attr]
        tx, ty = rule.fit_tangents
        for i, ok_aim in zip(aimed, keep, strict=True):
            m = masks[i]
            assert m is not None and m.aim is not None
            xy = project(m.vertices, tangent_frame(m.aim))
            inside = bool(np.isfinite(xy).all() and (np.abs(xy[:, 0]) <= tx + 1e-12).all()
                          and (np.abs(xy[:, 1]) <= ty + 1e-12).all())
            out[i] = m if ok_aim and inside else None
        return out
    ok = fits_views(masks, *rule.fit_fov_deg)
    out = [m if f else None for m, f in zip(masks, ok, strict=True)]
    if rule.fixed:
        return out
    have = [i for i, m in enumerate(masks) if m is not None]
    if not have or (len(have) <= SMALL_BATCH
                    and not any(_beyond(rule, masks[i].centre) for i in have)):  # type: ignore[union-attr]
        return out
    centres = np.array([masks[i].centre for i in have])  # type: ignore[union-attr]
    az_grid, el = azimuth_elevation(centres)
    az = (az_grid - rule.grid_north_offset_deg) % 360.0
    t_lo, t_hi = rule.tilt_deg
    el_c = np.clip(el, t_lo, t_hi)
    az_c = az.copy()
    if rule.pan_deg is not None:
        lo, hi = rule.pan_deg
        outside = ~in_angular_range(az, lo, hi)
        to_lo = (lo - az) % 360.0
        to_hi = (az - hi) % 360.0
        az_c[outside] = np.where(to_lo[outside] <= to_hi[outside], lo, hi) % 360.0
    moved = (np.abs(el_c - el) > 1e-9) | (np.abs(az_c - az) > 1e-9)
    tx, ty = rule.fit_tangents
    for k in np.flatnonzero(moved):
        i = have[k]
        m = masks[i]
        assert m is not None
        aim = direction_vectors(az_c[k] + rule.grid_north_offset_deg, el_c[k])[0]
        xy = project(m.vertices, tangent_frame(aim))
        if not np.isfinite(xy).all():
            out[i] = None
            continue
        # the whole mask in the view from there: a device stores what that view holds, and a part cut
        # off at the view's edge is not hidden when the camera pans along that edge (the edge of a
        # no-roll view tilted up curves below the camera's reach there), so nothing may be cut
        fits = bool((np.abs(xy[:, 0]) <= tx + 1e-12).all() and (np.abs(xy[:, 1]) <= ty + 1e-12).all())
        out[i] = replace(m, aim=aim) if fits else None
    return out


def _beyond(rule: MaskRule, centre: F64) -> bool:
    """Whether a mask centred on ``centre`` (3,) may lie beyond the camera's tilt or pan limits (then
    ``frameable`` aims it from within them): on plain floats, for a few masks at a time; never False
    where it does lie beyond."""
    x, y, z = centre.tolist()
    el = math.degrees(math.atan2(z, math.hypot(x, y)))
    if not rule.tilt_deg[0] - 1e-9 <= el <= rule.tilt_deg[1] + 1e-9:
        return True
    if rule.pan_deg is None:
        return False
    az = (math.degrees(math.atan2(x, y)) - rule.grid_north_offset_deg) % 360.0
    return not bool(in_angular_range(np.array(az), *rule.pan_deg))


def aims_allowed(rule: MaskRule, aims: F64) -> NDArray[np.bool_]:
    """Whether the camera may point in each direction (n, 3): within its tilt and pan limits (and the
    vendor's tilt range for masks)."""
    az_grid, el = azimuth_elevation(aims)
    ok = (el >= rule.tilt_deg[0] - 1e-9) & (el <= rule.tilt_deg[1] + 1e-9)
    if rule.pan_deg is not None:
        ok &= in_angular_range((az_grid - rule.grid_north_offset_deg) % 360.0, *rule.pan_deg)
    return ok


def view_boxes(rule: MaskRule, pieces: list[Piece], steps: int = 4) -> list[tuple[list[int], SphericalMask]]:
    """Masks drawn in the view itself, each the image-aligned rectangle around the pieces whose masks
    lie wholly in a window of a view (so it fits by construction). A PTZ camera's windows are its whole
    wide view, aimed on a grid of pan and tilt (``steps`` per view each way, within its limits), and so
    are those of a fixed camera of unknown direction; a fixed camera's are the rectangles of ``steps`` x
    ``steps`` cells of its one image. Returns (pieces, mask) for every distinct set of two or more
    pieces."""
    if rule.max_vertices < 4 or len(pieces) < 2:
        return []
    pv = np.vstack([p.mask.vertices for p in pieces])
    sizes = np.array([len(p.mask.vertices) for p in pieces])
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    tx, ty = rule.fit_tangents
    if rule.axis is not None:
        aims = rule.axis[None, :]
        edges_x, edges_y = np.linspace(-tx, tx, steps + 1), np.linspace(-ty, ty, steps + 1)
        spans = [(a, b) for a in range(steps) for b in range(a + 1, steps + 1)]
        windows = [(0, edges_x[a], edges_x[b], edges_y[c], edges_y[d]) for a, b in spans for c, d in spans]
    else:
        _, el = azimuth_elevation(pv)
        lo, hi = max(float(el.min()), rule.tilt_deg[0]), min(float(el.max()), rule.tilt_deg[1])
        if lo > hi:
            return []
        els = np.r_[np.arange(lo, hi, rule.vfov_deg / steps), hi]
        azs = np.arange(0.0, 360.0, rule.hfov_deg / steps) + rule.grid_north_offset_deg
        if rule.pan_deg is not None:
            azs = np.r_[azs, np.asarray(rule.pan_deg) + rule.grid_north_offset_deg]
        aims = direction_vectors(np.repeat(azs, len(els)), np.tile(els, len(azs)))
        aims = aims[aims_allowed(rule, aims)]
        windows = [(k, -tx, tx, -ty, ty) for k in range(len(aims))]
    out: list[tuple[list[int], SphericalMask]] = []
    seen: set[bytes] = set()
    win = np.array([w[1:] for w in windows]).reshape(-1, 4)
    win_aim = np.array([w[0] for w in windows], np.intp)
    for a in range(0, len(aims), 64):
        f = aims[a:a + 64]
        sel = np.flatnonzero((win_aim >= a) & (win_aim < a + 64))
        if len(sel) == 0:
            continue
        r, u = tangent_frames(f)
        z = f @ pv.T  # (aims, vertices)
        zs = np.where(z > 1e-9, z, np.nan)
        x, y = (r @ pv.T) / zs, (u @ pv.T) / zs  # NaN behind: compares False below
        j = win_aim[sel] - a
        x0, x1, y0, y1 = (win[sel, i][:, None] for i in range(4))
        xj, yj = x[j], y[j]  # (windows, vertices)
        whole = np.logical_and.reduceat((xj >= x0) & (xj <= x1) & (yj >= y0) & (yj <= y1), first, axis=1)
        held = np.repeat(whole, sizes, axis=1)  # the vertices of the pieces each window holds whole
        bx0, bx1 = np.where(held, xj, np.inf).min(axis=1), np.where(held, xj, -np.inf).max(axis=1)
        by0, by1 = np.where(held, yj, np.inf).min(axis=1), np.where(held, yj, -np.inf).max(axis=1)
        new = []
        for w in np.flatnonzero(whole.sum(axis=1) >= 2):
            members = np.flatnonzero(whole[w])
            key = members.tobytes()
            if key not in seen:
                seen.add(key)
                new.append((int(w), members.tolist()))
        if not new:
            continue
        ws = np.array([n for n, _ in new])
        k = j[ws]
        # each box's corners (lower left first, counter-clockwise) back to directions, all at once
        cx = np.stack([bx0[ws], bx1[ws], bx1[ws], bx0[ws]], 1)
        cy = np.stack([by0[ws], by0[ws], by1[ws], by1[ws]], 1)
        verts = f[k][:, None, :] + cx[..., None] * r[k][:, None, :] + cy[..., None] * u[k][:, None, :]
        verts /= np.sqrt(np.einsum("bij,bij->bi", verts, verts))[..., None]
        out += [(members, SphericalMask("box", v, (), aim))
                for (_, members), v, aim in zip(new, verts, f[k], strict=True)]
    return out


def _cells(camera: Camera, scene: Scene, st: NDArray[np.intp], sv: F64, pitch: F64) -> F64:
    """(n, 4, 3) directions from the camera to the corners of each visible sample's cell: one pitch
    [m] either side of the sample along its target's in-plane axes, clipped to the target's bounds
    (so a mask covers the surface up to the neighbouring samples, and never beyond the target)."""
    pl = scene.targets.planes
    o, U, V, N = pl.origin[st], pl.U[st], pl.V[st], pl.N[st]
    cam = np.asarray(camera.position, float)
    rel = cam + sv - o
    u = np.einsum("ij,ij->i", rel, U)
    v = np.einsum("ij,ij->i", rel, V)
    w = np.einsum("ij,ij->i", rel, N)
    b = pl.bounds[st]
    p = pitch[st]
    u0, u1 = np.minimum(np.maximum(u - p, b[:, 0]), u), np.maximum(np.minimum(u + p, b[:, 2]), u)
    v0, v1 = np.minimum(np.maximum(v - p, b[:, 1]), v), np.maximum(np.minimum(v + p, b[:, 3]), v)
    base = o + w[:, None] * N - cam
    corners = [base + a[:, None] * U + c[:, None] * V for a, c in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
    return np.stack(corners, axis=1)


def _margins(dirs: F64, group: NDArray[np.intp], margin_deg: float, enlarge: float) -> F64:
    """Per group: the margin [deg] plus ``enlarge`` times the group's angular radius (a mask drawn
    that fraction larger than its object)."""
    starts = np.searchsorted(group, np.arange(group[-1] + 1 if len(group) else 0))
    if enlarge <= 0 or len(dirs) == 0:
        return np.full(len(starts), margin_deg)
    d = unit(dirs)
    c = np.add.reduceat(d, starts, axis=0)
    c /= np.linalg.norm(c, axis=1)[:, None]
    cos = np.minimum.reduceat(np.einsum("ij,ij->i", d, c[group]), starts)
    out: F64 = margin_deg + enlarge * np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return out


@dataclass
class Piece:
    target: int  # index into scene.targets
    samples: NDArray[np.intp]  # rows of the camera's visible samples (sorted by target)
    mask: SphericalMask
    uv: tuple[float, float]  # mean (u, v) [m] of its samples in the target's plane


def _mask_of_cells(rule: MaskRule, dirs: F64, margin_deg: float, label: tuple[str, ...]) -> SphericalMask | None:
    """One mask around cell corner directions (m, 3), if the camera can frame it."""
    margin = float(_margins(dirs, np.zeros(len(dirs), np.intp), margin_deg, rule.enlarge)[0])
    m = hull_mask("piece", dirs, label, margin_deg=margin, max_vertices=rule.max_vertices,
                  rectangle_only=rule.rectangle_only)
    return frameable(rule, [m])[0]


def longest_prefix(n: int, fits: Any, possible: Any = None) -> tuple[int, Any]:
    """The largest j in 1..n with ``fits(j)`` not None (``fits`` monotone: a shorter prefix fits where a
    longer one does), and its value; (0, None) when not even j = 1 fits. ``possible(j)``: a cheap
    necessary condition for ``fits(j)`` (monotone too), which bounds the search first: the largest
    possible j is tried, then the shorter ones are bisected. O(log n) calls of ``fits``."""
    lo, hi = 1, n
    if possible is not None:  # the largest possible j, by bisection on the cheap test
        top, a, b = 0, 1, n
        while a <= b:
            mid = (a + b) // 2
            if possible(mid):
                top, a = mid, mid + 1
            else:
                b = mid - 1
        if top == 0:
            return 0, None
        m = fits(top)
        if m is not None:
            return top, m
        hi = top - 1
    best_j, best = 0, None
    while lo <= hi:
        mid = (lo + hi) // 2
        m = fits(mid)
        if m is None:
            hi = mid - 1
        else:
            best_j, best, lo = mid, m, mid + 1
    return best_j, best


class _Spread:
    """A cheap necessary condition for one mask to frame a set of items, each given by unit directions
    it must hold (a piece's mask vertices, a cell's corners): every two directions in a no-roll view
    lie within its height of each other in elevation and within its diagonal in angle, so a set whose
    elevations span more than the fitted view's height, or whose items' centres lie farther apart than
    its diagonal, cannot be framed (and no hull need be built to tell)."""

    def __init__(self, rule: MaskRule, dirs: F64, sizes: NDArray[np.intp]) -> None:
        first = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.intp)
        _, el = azimuth_elevation(dirs)
        self.el_lo = np.minimum.reduceat(el, first)
        self.el_hi = np.maximum.reduceat(el, first)
        c = np.add.reduceat(dirs, first, axis=0)
        self.centres = c / np.linalg.norm(c, axis=1)[:, None]
        h, v = rule.fit_fov_deg
        self.height_deg = v + 1e-9
        self.cos_diag = math.cos(math.radians(view_diagonal_deg(h, v))) - 1e-12

    def possible(self, sel: NDArray[np.intp]) -> bool:
        if len(sel) < 2:
            return True
        if float(self.el_hi[sel].max() - self.el_lo[sel].min()) > self.height_deg:
            return False
        c = self.centres[sel]
        return bool((c @ c[0]).min() >= self.cos_diag)


def _guillotine(uv: F64, fit: Any, first_axis: int,
               possible: Any = None) -> tuple[list[tuple[NDArray[np.intp], Any]], list[int]]:
    """Cut items at in-plane positions ``uv`` (m, 2) [m] into blocks that one mask each can frame
    (``fit(indices)``: the mask, or None; ``possible(indices)``: a cheap necessary condition for it,
    see ``_Spread``): a sweep along ``first_axis`` over the lines of items
    (equal coordinate), each block the longest run of lines that fits; a single line that does not
    fit is swept along the other axis, item by item. Returns the blocks (indices, mask) and the items
    that no mask can frame alone."""
    blocks: list[tuple[NDArray[np.intp], Any]] = []
    bad: list[int] = []

    def singles(sel: NDArray[np.intp]) -> None:
        for r in sel:
            m = fit(np.array([r]))
            if m is None:
                bad.append(int(r))
            else:
                blocks.append((np.array([r]), m))

    def sweep(sel: NDArray[np.intp], axis: int, depth: int) -> None:
        key = np.round(uv[sel, axis], 3)
        lines = np.unique(key)
        if len(lines) == 1:
            sweep(sel, 1 - axis, 1) if depth == 0 else singles(sel)
            return
        i = 0
        while i < len(lines):
            def run(n: int, i: int = i) -> Any:
                return fit(sel[(key >= lines[i]) & (key <= lines[i + n - 1])])

            def can(n: int, i: int = i) -> bool:
                return bool(possible(sel[(key >= lines[i]) & (key <= lines[i + n - 1])]))

            j, m = longest_prefix(len(lines) - i, run, None if possible is None else can)
            if m is None:  # one line alone does not fit: cut it across
                one = sel[key == lines[i]]
                sweep(one, 1 - axis, 1) if depth == 0 else singles(one)
                i += 1
                continue
            blocks.append((sel[(key >= lines[i]) & (key <= lines[i + j - 1])], m))
            i += j

    whole = np.arange(len(uv))
    m = fit(whole) if possible is None or possible(whole) else None
    if m is not None:
        return [(whole, m)], []
    sweep(whole, first_axis, 0)
    return blocks, bad


def _wider_axis(uv: F64, dirs: F64) -> int:
    """The in-plane axis (0: u, 1: v) along which the items at ``uv`` (m, 2), seen in unit directions
    ``dirs`` (m, 3), span the larger angle."""
    cos = []
    for axis in (0, 1):
        a, b = int(np.argmin(uv[:, axis])), int(np.argmax(uv[:, axis]))
        cos.append(float(dirs[a] @ dirs[b]))
    return 0 if cos[0] <= cos[1] else 1


def _split(rule: MaskRule, rows: NDArray[np.intp], uv: F64, cells: F64, margin_deg: float,
           label: tuple[str, ...]) -> tuple[list[tuple[NDArray[np.intp], SphericalMask]], NDArray[np.intp]]:
    """Cut one target's visible samples (``rows``, their in-plane (m, 2) ``uv`` [m] and (m, 4, 3) cell
    corners) into strips that one mask each can frame (``_guillotine``, along the axis of the larger
    angular extent first; a single cell too big, into parts: ``_cut_cell``). Returns the pieces and
    the rows that no mask can frame (cells part of which no mask can be aimed at)."""
    def fit(sel: NDArray[np.intp]) -> SphericalMask | None:
        return _mask_of_cells(rule, cells[sel].reshape(-1, 3), margin_deg, label)

    spread = _Spread(rule, unit(cells.reshape(-1, 3)), np.full(len(cells), cells.shape[1], np.intp))
    blocks, bad = _guillotine(uv, fit, _wider_axis(uv, unit(cells.mean(axis=1))), spread.possible)
    out = [(rows[s], m) for s, m in blocks]
    still = []
    for k in bad:  # a cell too big for one mask: cut into n x n parts in its plane, each framed alone
        parts = _cut_cell(rule, cells[k], margin_deg, label)
        if parts is None:
            still.append(k)
        else:
            out += [(rows[[k]], m) for m in parts]
    return out, rows[np.array(still, np.intp)] if still else np.zeros(0, np.intp)


CELL_CUT_DEPTH = 7  # a cell no mask can frame is halved both ways, at most this many times (1/128 of a side)


def _cut_cell(rule: MaskRule, corners: F64, margin_deg: float, label: tuple[str, ...],
              depth: int = 0) -> list[SphericalMask] | None:
    """Masks of the parts of one cell (``corners`` (4, 3): the directions to its corners, in order
    around it, on its plane: every point of the cell is a bilinear mix of them) that one mask each
    frames: a part that no mask frames is halved both ways (a quadtree, so the parts are small only
    near the camera), at most ``CELL_CUT_DEPTH`` times; None when some part still cannot be framed
    (it lies where no mask can be aimed, not only too big)."""
    if depth:
        m = _mask_of_cells(rule, corners, margin_deg, label)
        if m is not None:
            return [m]
    if depth == CELL_CUT_DEPTH:
        return None
    p00, p10, p11, p01 = corners
    mid = (p00 + p10 + p11 + p01) / 4
    e0, e1, e2, e3 = (p00 + p10) / 2, (p10 + p11) / 2, (p11 + p01) / 2, (p01 + p00) / 2
    out: list[SphericalMask] = []
    for q in ((p00, e0, mid, e3), (e0, p10, e1, mid), (mid, e1, p11, e2), (e3, mid, e2, p01)):
        part = _cut_cell(rule, np.stack(q), margin_deg, label, depth + 1)
        if part is None:
            return None
        out += part
    return out


def plan_camera_masks(camera: Camera, scene: Scene, seen: VisibleSamples, exposed_targets: NDArray[np.intp], *,
                      margin_deg: float, public: tuple[NDArray[np.intp], F64],
                      verify: bool = True, propose: bool = True) -> CameraMasks:
    """Masks for ``camera`` over the targets in ``exposed_targets`` (indices into scene.targets) whose
    visible samples are ``seen``; ``public`` holds the public street samples it sees (indices into
    ``scene.street_samples`` and their (n, 3) unit directions), see ``visible_street_samples``.
    ``propose``: where the plan does not fit, propose limits and plan again with them."""
    t0 = time.perf_counter()
    public_index, public_dirs = public
    t = scene.targets
    result = CameraMasks(camera.id, [], True, public_samples=len(public_dirs), public_index=public_index,
                         targets_to_hide=len(np.unique(exposed_targets)),
                         public_hidden_flags=np.zeros(len(public_index), bool))
    if len(exposed_targets) == 0:
        return result
    rule = mask_rule(camera)
    counts = np.diff(t.offsets)
    spacing = np.sqrt(t.area / np.maximum(counts, 1))
    order = np.argsort(seen.target, kind="stable")
    keep = np.isin(seen.target[order], exposed_targets)
    order = order[keep]
    st, sv = seen.target[order], seen.vector[order]
    if len(st) == 0:
        return result
    cells = _cells(camera, scene, st, sv, spacing)
    pieces, unframable = _pieces(rule, scene, camera, st, sv, cells, margin_deg)
    unit_sv = unit(sv)
    cands = _candidates(rule, scene, pieces, public_dirs)
    chosen = _conclude(camera, scene, rule, result, st, unit_sv, pieces, unframable, cands, public_dirs,
                       exposed_targets, spacing, verify=verify)
    result.planning_seconds = time.perf_counter() - t0
    if not result.compliant and propose and camera.kind == "ptz":
        _propose_limits(camera, scene, _Plan(st, unit_sv, pieces, unframable, cands, chosen, spacing), result,
                        (seen, exposed_targets, public))
    return result


@dataclass
class _Candidates:
    """Candidate masks and the pieces each covers."""

    masks: list[SphericalMask]
    covers: NDArray[np.bool_]  # (candidates, pieces)


@dataclass
class _Plan:
    """What a plan was made of, kept to plan the camera again with narrower limits."""

    st: NDArray[np.intp]  # target of each visible sample (sorted)
    dirs: F64  # their unit directions (n, 3)
    pieces: list[Piece]
    unframable: NDArray[np.intp]  # rows of cells no mask can frame
    cands: _Candidates
    chosen: NDArray[np.bool_]  # the chosen masks' (masks, pieces) coverage
    spacing: F64  # sample spacing [m] of every target


def _conclude(camera: Camera, scene: Scene, rule: MaskRule, result: CameraMasks, st: NDArray[np.intp], unit_sv: F64,
              pieces: list[Piece], unframable: NDArray[np.intp], cands: _Candidates, public_dirs: F64,
              exposed_targets: NDArray[np.intp], spacing: F64, *, verify: bool) -> NDArray[np.bool_]:
    """The choice among ``cands`` covering ``pieces`` (visible samples ``st``, ``unit_sv``; ``unframable``
    rows of them), the lower bound, the reasons, the verification and the public samples hidden,
    recorded in ``result``. Returns the chosen masks' (masks, pieces) coverage."""
    t = scene.targets
    lim = camera.mask_limits
    result.pieces = len(pieces)
    per_target = np.bincount([p.target for p in pieces], minlength=len(t)) if pieces else np.zeros(0, int)
    result.split_targets = tuple(str(i) for i in t.id[np.flatnonzero(per_target > 1)])
    result.unframable_targets = tuple(str(i) for i in t.id[np.unique(st[unframable])]) if len(unframable) else ()
    # the lower bound: one visible sample per piece (and every unframable sample needs a mask too)
    reps = np.array([unit_sv[p.samples[len(p.samples) // 2]] for p in pieces]).reshape(-1, 3)
    diag = view_diagonal_deg(rule.hfov_deg, rule.vfov_deg)
    bound, _ = clique_bound(reps, diag)
    masks, chosen_covers, method = _select(scene, pieces, cands, public_dirs, lim.max_masks)
    result.method = method
    result.masks_lower_bound = bound
    # as the device will store them (a rectangle on a rectangle-only camera, within the vertex limit
    # after a cut at the image edge): what is verified below is what is exported
    result.masks = masks = [device_mask(camera, replace(m, id=f"{camera.id}-mask-{i + 1:02d}"))
                            for i, m in enumerate(masks)]
    if result.unframable_targets:
        result.compliant = False
        ids = result.unframable_targets
        plural = "s" if len(ids) > 1 else ""
        result.reasons.append(f"{len(unframable)} visible sample cells of {len(ids)} target{plural} "
                              f"({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}) that no mask with its "
                              f"{scene.scenario.masks.margin_deg:g} deg margin can frame whole from within the "
                              f"camera's pan/tilt limits in its {rule.hfov_deg:g} x {rule.vfov_deg:.1f} deg wide "
                              f"view")
    if len(masks) > lim.max_masks:
        result.compliant = False
        proof = (f"at least {bound} are needed: {bound} visible private samples lie pairwise more than "
                 f"{diag:.1f} deg apart, the diagonal of the wide view" if bound > 1 else
                 f"the proven lower bound is {bound}")
        how = {"optimal": "the optimum among the candidate masks", "greedy": "the greedy cover",
               "node or time limit": "the integer program's best within its budget"}[method]
        result.reasons.append(f"the best plan found needs {len(masks)} masks ({how}); the camera takes "
                              f"{lim.max_masks}; {proof}")
    if verify:
        _verify(camera, scene, exposed_targets, spacing, result, rule)
    if result.exposed_after_masks:
        result.compliant = False
        result.reasons.append(f"{result.exposed_after_masks} targets keep visible samples outside the masks")
    result.public_hidden_flags = inside_any(result.masks, public_dirs)
    result.public_hidden = int(result.public_hidden_flags.sum())
    return chosen_covers


def _pieces(rule: MaskRule, scene: Scene, camera: Camera, st: NDArray[np.intp], sv: F64, cells: F64,
            margin_deg: float) -> tuple[list[Piece], NDArray[np.intp]]:
    """Every exposed target's mask, built in one batch; targets the camera cannot frame in one mask
    are split (``_split``). Returns the pieces and the rows of cells that no mask can frame."""
    t = scene.targets
    starts = np.flatnonzero(np.r_[True, st[1:] != st[:-1]])
    ends = np.r_[starts[1:], len(st)]
    tis = st[starts]
    group = np.repeat(np.arange(len(tis)), 4 * (ends - starts))
    dirs = cells.reshape(-1, 3)
    labels = [str(i) for i in t.id[tis]]
    margins = _margins(dirs, group, margin_deg, rule.enlarge)
    pl = t.planes
    rel = np.asarray(camera.position, float) + sv - pl.origin[st]
    uv_all = np.column_stack([np.einsum("ij,ij->i", rel, pl.U[st]), np.einsum("ij,ij->i", rel, pl.V[st])])
    maybe = np.repeat(_lattice_ends(st, uv_all) | pl.draped[st], 4)
    built = hull_masks([f"t{k}" for k in range(len(tis))], dirs, group, [(x,) for x in labels], margins,
                       max_vertices=rule.max_vertices, rectangle_only=rule.rectangle_only, maybe_vertex=maybe)
    framed = frameable(rule, built)
    mean_uv = (np.add.reduceat(uv_all, starts, axis=0) / (ends - starts)[:, None]).tolist() if len(st) else []
    pieces: list[Piece] = []
    bad: list[NDArray[np.intp]] = []
    for k, (ti, a, b) in enumerate(zip(tis.tolist(), starts.tolist(), ends.tolist(), strict=True)):
        m = framed[k]
        if m is not None:
            pieces.append(Piece(ti, np.arange(a, b), m, (mean_uv[k][0], mean_uv[k][1])))
            continue
        rows = np.arange(a, b)
        uv = uv_all[a:b]
        parts, unframed = _split(rule, rows, uv, cells[rows], margin_deg, (labels[k],))
        for r, pm in parts:
            sel = np.isin(rows, r)
            pieces.append(Piece(ti, r, pm, (float(uv[sel, 0].mean()), float(uv[sel, 1].mean()))))
        if len(unframed):
            bad.append(unframed)
    return pieces, (np.concatenate(bad) if bad else np.zeros(0, np.intp))


def _lattice_ends(st: NDArray[np.intp], uv: F64) -> NDArray[np.bool_]:
    """Of visible samples on their targets' lattices (target ``st`` (n,), sorted, in-plane position
    ``uv`` (n, 2) [m]), those first or last in both their row (equal v) and their column (equal u)
    of the target. The cells of a row share their v range, and those of a column their u range
    (``_cells``), so the corners of any other cell lie on a segment between two corners of the
    row's or the column's end cells: they are no vertex of the hull of the target's cells (on a
    plane target; draped cells lie on the terrain instead). Rounded to the micrometre."""
    out = np.ones(len(st), bool)
    for along, across in ((0, 1), (1, 0)):
        line = np.round(uv[:, across], 6)
        order = np.lexsort((uv[:, along], line, st))
        a, b = st[order], line[order]
        first = np.flatnonzero(np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])])
        end = np.zeros(len(st), bool)
        end[order[first]] = end[order[np.r_[first[1:] - 1, len(order) - 1]]] = True
        out &= end
    return out


def _merge(rule: MaskRule, groups: list[list[SphericalMask]]) -> list[SphericalMask | None]:
    """The mask around each group of masks (the hull of their vertices, no margin added: each holds its
    own), or None where the camera cannot frame it; built in one batch."""
    if not groups:
        return []
    dirs = np.vstack([m.vertices for g in groups for m in g])
    sizes = [sum(len(m.vertices) for m in g) for g in groups]
    targets = [tuple(dict.fromkeys(x for m in g for x in m.targets)) for g in groups]
    built = hull_masks(["merged"] * len(groups), dirs, np.repeat(np.arange(len(groups)), sizes), targets,
                       np.zeros(len(groups)), max_vertices=rule.max_vertices, rectangle_only=rule.rectangle_only)
    return frameable(rule, built)


def _candidates(rule: MaskRule, scene: Scene, pieces: list[Piece], public_dirs: F64) -> _Candidates:
    """Candidate masks over the pieces: each piece's own mask, blocks of the pieces on each wall plane
    (``_guillotine``), agglomerative merges of neighbouring blocks, and masks drawn in a view
    (``view_boxes``); a candidate covers the pieces it was made of and every piece whose whole mask
    lies inside it."""
    if not pieces:
        return _Candidates([], np.zeros((0, 0), bool))
    t = scene.targets
    pl = t.planes
    base = [p.mask for p in pieces]
    cands: list[SphericalMask] = list(base)
    members: list[list[int]] = [[i] for i in range(len(pieces))]
    # runs of pieces along each wall plane (several buildings' coplanar walls are one plane)
    planes: dict[tuple[float, ...], list[int]] = {}
    ti = np.array([p.target for p in pieces])
    n = pl.N[ti]
    keys = np.column_stack([np.round(n, 2), np.round(np.einsum("ij,ij->i", n, pl.origin[ti]), 1)])
    for i, key in enumerate(map(tuple, keys.tolist())):
        planes.setdefault(key, []).append(i)
    nodes: list[tuple[list[int], SphericalMask]] = []
    spread = _Spread(rule, np.vstack([m.vertices for m in base]), np.array([len(m.vertices) for m in base]))
    for items in planes.values():
        if len(items) == 1:
            nodes.append((items, base[items[0]]))
            continue
        # blocks of the wall's pieces: runs swept along the axis of its larger angular extent (the
        # other way adds little that the view boxes below do not hold)
        arr = np.asarray(items)
        uv = np.array([pieces[i].uv for i in items])
        axis = _wider_axis(uv, np.array([p.mask.centre for p in (pieces[i] for i in items)]))

        def fit(sel: NDArray[np.intp], arr: NDArray[np.intp] = arr) -> SphericalMask | None:
            return _merge(rule, [[base[i] for i in arr[sel]]])[0] if len(sel) > 1 else base[arr[sel[0]]]

        def possible(sel: NDArray[np.intp], arr: NDArray[np.intp] = arr) -> bool:
            return spread.possible(arr[sel])

        blocks, _ = _guillotine(uv, fit, axis, possible)
        for sel, m in blocks:
            group = arr[sel].tolist()
            nodes.append((group, m))
            if len(group) > 1:
                cands.append(m)
                members.append(group)
    # merges of neighbouring runs, by the fewest newly hidden public samples, until none fits
    for group, m in _agglomerate(rule, nodes, public_dirs):
        cands.append(m)
        members.append(group)
    # what one view can hold, aimed on a grid
    for group, m in view_boxes(rule, pieces):
        cands.append(m)
        members.append(group)
    n_c, n_p = len(cands), len(pieces)
    covers = np.zeros((n_c, n_p), bool)
    for c, g in enumerate(members):
        covers[c, g] = True
    # a candidate also covers every piece whose whole mask lies inside it
    pv = np.vstack([p.mask.vertices for p in pieces])
    sizes = np.array([len(p.mask.vertices) for p in pieces])
    first_vertex = np.r_[0, np.cumsum(sizes)[:-1]]
    big = list(range(len(pieces), n_c))
    for a in range(0, len(big), 256):
        chunk = big[a:a + 256]
        inside = inside_each([cands[c] for c in chunk], pv)  # (chunk, vertices)
        covers[chunk] |= np.logical_and.reduceat(inside, first_vertex, axis=1)
    return _Candidates(cands, covers)


def _select(scene: Scene, pieces: list[Piece], cands: _Candidates, public_dirs: F64,
            max_masks: int) -> tuple[list[SphericalMask], NDArray[np.bool_], str]:
    """The optimal choice among the candidates (``masks.cover``). Returns the chosen masks (named, with
    the targets they cover), their (masks, pieces) coverage, and the method."""
    if not pieces:
        return [], np.zeros((0, 0), bool), "optimal"
    t = scene.targets
    settings = scene.scenario.masks
    covers = cands.covers
    hides = _hidden_public(cands, pieces, public_dirs)
    area = np.array(solid_angles(cands.masks))
    choice = choose_masks(covers, hides, area, objective=settings.objective, max_masks=max_masks,
                          time_limit_s=settings.time_limit_s)
    masks = []
    for k, c in enumerate(choice.chosen):
        covered = np.flatnonzero(covers[c])
        ids = tuple(dict.fromkeys(str(t.id[pieces[i].target]) for i in covered))
        m = cands.masks[c]
        masks.append(SphericalMask(f"mask-{k + 1:02d}", m.vertices, ids, m.aim))
    return masks, covers[choice.chosen], choice.method


def _hidden_public(cands: _Candidates, pieces: list[Piece], public_dirs: F64) -> NDArray[np.bool_]:
    """(candidates, public samples): whether each candidate mask hides each public sample
    (``inside_each``). A piece's own mask (the same object among the candidates) lies inside every
    candidate covering that piece: where one of those hides nothing, neither does the piece's own
    mask, and it is not tested."""
    out = np.zeros((len(cands.masks), len(public_dirs)), bool)
    if not len(public_dirs) or not cands.masks:
        return out
    own = {id(p.mask): i for i, p in enumerate(pieces)}
    piece_of = np.array([own.get(id(m), -1) for m in cands.masks])
    big = np.flatnonzero(piece_of < 0)
    if len(big):
        out[big] = inside_each([cands.masks[c] for c in big], public_dirs)
    clean = big[~out[big].any(axis=1)]
    free = np.zeros(len(pieces), bool)
    if len(clean):
        free |= cands.covers[clean].any(axis=0)
    mine = np.flatnonzero(piece_of >= 0)
    test = mine[~free[piece_of[mine]]]
    if len(test):
        out[test] = inside_each([cands.masks[c] for c in test], public_dirs)
    return out


def _agglomerate(rule: MaskRule, nodes: list[tuple[list[int], SphericalMask]], public_dirs: F64,
                 k: int = 4) -> list[tuple[list[int], SphericalMask]]:
    """Greedy merging of near pairs (each node with its ``k`` nearest by centre) by the fewest newly
    hidden public samples, then the least added solid angle, until no merge can be framed; returns
    every merged mask made on the way, with the pieces it holds."""
    if len(nodes) < 2:
        return []
    alive: dict[int, tuple[list[int], SphericalMask]] = dict(enumerate(nodes))
    masks = [m for _, m in nodes]
    solid_angles(masks)
    hidden: dict[int, NDArray[np.bool_]] = dict(enumerate(inside_each(masks, public_dirs)))
    cap = 2 * len(nodes)
    centres = np.zeros((cap, 3))
    live = np.zeros(cap, bool)
    el_lo, el_hi = np.zeros(cap), np.zeros(cap)  # [deg] the elevations each node's mask spans
    height = rule.fit_fov_deg[1] + 1e-9
    cos_diag = math.cos(math.radians(view_diagonal_deg(*rule.fit_fov_deg))) - 1e-12

    def note(i: int, m: SphericalMask) -> None:
        _, el = azimuth_elevation(m.vertices)
        centres[i], live[i], el_lo[i], el_hi[i] = m.centre, True, el.min(), el.max()

    for i, (_, m) in alive.items():
        note(i, m)
    tried: set[tuple[int, int]] = set()
    heap: list[tuple[int, float, int, int, SphericalMask, NDArray[np.bool_]]] = []
    made: list[tuple[list[int], SphericalMask]] = []

    def push(sources: list[int]) -> None:
        pairs = []
        for i in sources:
            score = np.where(live, centres @ alive[i][1].centre, -np.inf)
            score[i] = -np.inf
            near = np.argpartition(-score, min(k, len(score) - 1))[:k]
            near = near[np.isfinite(score[near])]
            # pairs no view can hold (``_Spread``) are not built
            near = near[(np.maximum(el_hi[near], el_hi[i]) - np.minimum(el_lo[near], el_lo[i]) <= height)
                        & (score[near] >= cos_diag)]
            for j in near:
                key = (min(i, int(j)), max(i, int(j)))
                if key not in tried:
                    tried.add(key)
                    pairs.append((i, int(j)))
        if not pairs:
            return
        built = _merge(rule, [[alive[i][1], alive[j][1]] for i, j in pairs])
        ok = [(pair, m) for pair, m in zip(pairs, built, strict=True) if m is not None]
        if not ok:
            return
        merged = [m for _, m in ok]
        inside = inside_each(merged, public_dirs)
        area = solid_angles(merged)
        for ((i, j), m), hides_m, a in zip(ok, inside, area, strict=True):
            cost = int((hides_m & ~(hidden[i] | hidden[j])).sum())
            heapq.heappush(heap, (cost, a - alive[i][1].area_sr - alive[j][1].area_sr, i, j, m, hides_m))

    push(list(alive))
    next_id = len(nodes)
    while heap and next_id < cap:
        _, _, i, j, m, hides_m = heapq.heappop(heap)
        if i not in alive or j not in alive:
            continue
        group = alive[i][0] + alive[j][0]
        del alive[i], alive[j]
        live[[i, j]] = False
        alive[next_id] = (group, m)
        hidden[next_id] = hides_m
        note(next_id, m)
        made.append((group, m))
        push([next_id])
        next_id += 1
    return made


def _verify(camera: Camera, scene: Scene, exposed: NDArray[np.intp], spacing: F64, result: CameraMasks,
            rule: MaskRule) -> None:
    t = scene.targets
    sub = np.sort(np.asarray(exposed))
    dense, off_sub = sample_planes(t.planes.take(sub), spacing=spacing[sub] / 2, max_samples=4 * 400,
                                   terrain=scene.terrain)
    counts = np.zeros(len(t), np.int64)
    counts[sub] = np.diff(off_sub)
    offsets = np.zeros(len(t) + 1, np.int64)
    offsets[1:] = np.cumsum(counts)
    for attempt in range(2):
        seen = visible_samples(camera, t, scene.engine, target_radius=scene.target_radius,
                               samples=dense, offsets=offsets, only=sub)
        out = ~inside_any(result.masks, seen.vector, first=_mask_of(result.masks, t.id, seen.target))
        result.verification_samples = len(seen.sample)
        result.residual_samples = int(out.sum())
        residual = np.unique(seen.target[out])
        result.exposed_after_masks = len(residual)
        result.residual_targets = tuple(str(i) for i in t.id[residual])
        if not out.any() or attempt == 1:
            return
        # grow the mask that already covers most of each missing target's samples
        for ti in np.unique(seen.target[out]):
            tid = str(t.id[ti])
            idx = next((k for k, m in enumerate(result.masks) if tid in m.targets), None)
            if idx is None:
                continue
            m = result.masks[idx]
            grown = hull_mask(m.id, np.vstack([m.vertices, seen.vector[(seen.target == ti)]]), m.targets,
                              margin_deg=0.05, max_vertices=rule.max_vertices, rectangle_only=rule.rectangle_only)
            (framed,) = frameable(rule, [grown])
            if framed is not None:
                result.masks[idx] = device_mask(camera, replace(framed, id=m.id))


def _mask_of(masks: list[SphericalMask], ids: NDArray[Any], targets: NDArray[np.intp]) -> NDArray[np.intp]:
    """For each target index in ``targets``, the index of the mask made for it (-1: none)."""
    owner: dict[str, int] = {}
    for k, m in enumerate(masks):
        for tid in m.targets:
            owner.setdefault(tid, k)
    uniq, inv = np.unique(targets, return_inverse=True)
    return np.array([owner.get(str(i), -1) for i in ids[uniq]], np.intp)[inv] if len(uniq) else \
        np.zeros(len(targets), np.intp)


def _propose_limits(camera: Camera, scene: Scene, plan: _Plan, result: CameraMasks,
                    now: tuple[VisibleSamples, NDArray[np.intp], tuple[NDArray[np.intp], F64]]) -> None:
    """The least restrictive tilt ceiling, tilt floor or excluded pan sector with which the chosen
    plan's masks still needed fit the camera's limit (and no unframable cell stays in reach); ranked
    by the public street samples left in reach. The camera is then planned again with each proposal
    in turn (``_plan_within``: a fresh choice, verified with fresh rays) until one is compliant; the
    outcome is recorded."""
    st, dirs, pieces, unframable, covers = plan.st, plan.dirs, plan.pieces, plan.unframable, plan.chosen
    masks = result.masks
    lim = camera.mask_limits
    public_dirs = now[2][1]
    h_half, v_half = camera.hfov_deg[0] / 2, camera.vfov_deg[0] / 2
    az_grid, el = azimuth_elevation(dirs)
    az = (az_grid - camera.grid_north_offset_deg) % 360.0
    # each chosen mask's own samples (a piece goes to the first chosen mask covering it)
    owner = np.full(len(st), -1, np.intp)
    if len(masks):
        first = np.where(covers.any(axis=0), np.argmax(covers, axis=0), -1)
        for i, p in enumerate(pieces):
            owner[p.samples] = first[i]
    need = len(masks) - lim.max_masks  # masks that must fall out of reach
    groups = [np.flatnonzero(owner == k) for k in range(len(masks))]
    bad = unframable
    t_lo, t_hi = camera.tilt_limits_deg
    options: list[tuple[str, tuple[float, float] | None, tuple[float, float] | None]] = []
    # a tilt ceiling: samples above ceiling + v_half are out of reach
    lows = sorted((float(el[g].min()) for g in groups if len(g)), reverse=True)
    cap = float(el[bad].min()) if len(bad) else np.inf
    k = max(need, 0)
    top = lows[k - 1] if k > 0 and len(lows) >= k else (np.inf if k == 0 else None)
    if top is not None and math.isfinite(min(top, cap)):  # (nothing to leave out: no ceiling helps)
        ceiling = math.floor((min(top, cap) - v_half - 0.05) * 10) / 10
        if t_lo <= ceiling < t_hi:
            options.append(("tilt ceiling", None, (t_lo, ceiling)))
    highs = sorted(float(el[g].max()) for g in groups if len(g))
    floor_cap = float(el[bad].max()) if len(bad) else -np.inf
    bottom = highs[k - 1] if k > 0 and len(highs) >= k else (-np.inf if k == 0 else None)
    if bottom is not None and math.isfinite(max(bottom, floor_cap)):
        floor = math.ceil((max(bottom, floor_cap) + v_half + 0.05) * 10) / 10
        if t_lo < floor <= t_hi:
            options.append(("tilt floor", None, (floor, t_hi)))
    if camera.pan_limits_deg[1] - camera.pan_limits_deg[0] >= 360.0:
        wedge = _pan_wedge(az, groups, bad, k, h_half)
        if wedge is not None:
            options.append(("pan sector", wedge, None))
    if not options:
        return

    def kept(pan: tuple[float, float] | None, tilt: tuple[float, float] | None) -> int:
        trial = replace(camera, pan_limits_deg=pan or camera.pan_limits_deg,
                        tilt_limits_deg=tilt or camera.tilt_limits_deg)
        return int(in_reach(trial, public_dirs).sum()) if len(public_dirs) else 0

    def reach_share(pan: tuple[float, float] | None, tilt: tuple[float, float] | None) -> float:
        trial = replace(camera, pan_limits_deg=pan or camera.pan_limits_deg,
                        tilt_limits_deg=tilt or camera.tilt_limits_deg)
        return float(in_reach(trial, _SPHERE).mean())

    # the most public street left in reach, then the largest share of all directions
    ranked = sorted(options, key=lambda o: (-kept(o[1], o[2]), -reach_share(o[1], o[2])))
    tried, plans = [], []
    for what, pan, tilt in ranked[:3]:
        trial = replace(camera, pan_limits_deg=pan or camera.pan_limits_deg,
                        tilt_limits_deg=tilt or camera.tilt_limits_deg)
        again = _plan_within(trial, scene, plan, *now)
        entry = {"what": what, "pan_limits_deg": None if pan is None else [round(pan[0], 1), round(pan[1], 1)],
                 "tilt_limits_deg": None if tilt is None else [round(tilt[0], 1), round(tilt[1], 1)],
                 "public_samples_in_reach": kept(pan, tilt), "public_samples_in_reach_now": kept(None, None),
                 "masks": len(again.masks), "masks_lower_bound": again.masks_lower_bound,
                 "exposed_after_masks": again.exposed_after_masks, "compliant": again.compliant,
                 "reasons": again.reasons}
        tried.append(entry)
        plans.append(again)
        if again.compliant:
            break
    pick = next((i for i, e in enumerate(tried) if e["compliant"]), 0)
    best = tried[pick]
    result.proposed_plan = plans[pick]
    result.proposal = {**best, "tried": len(tried),
                       "verified": "the camera's masks chosen again for these limits, verified with fresh rays"}
    if pan_of(best) is not None:
        result.proposed_pan_limits_deg = pan_of(best)
    if tilt_of(best) is not None:
        result.proposed_tilt_limits_deg = tilt_of(best)


def pan_of(entry: dict[str, Any]) -> tuple[float, float] | None:
    v = entry.get("pan_limits_deg")
    return None if v is None else (float(v[0]), float(v[1]))


def tilt_of(entry: dict[str, Any]) -> tuple[float, float] | None:
    v = entry.get("tilt_limits_deg")
    return None if v is None else (float(v[0]), float(v[1]))


def _pan_wedge(az: F64, groups: list[NDArray[np.intp]], bad: NDArray[np.intp], k: int,
               h_half: float) -> tuple[float, float] | None:
    """Pan limits that leave out of reach the narrowest sector of sample azimuths [deg, true] holding
    ``k`` masks' samples and every unframable sample: the camera may point from the sector's end
    plus half the wide view round to its start minus that."""
    arcs = []
    for g in groups:
        if len(g):
            a = np.sort(az[g])
            gaps = np.diff(np.r_[a, a[0] + 360.0])
            j = int(np.argmax(gaps))  # the arc is the circle minus its widest gap
            start = a[(j + 1) % len(a)]
            arcs.append((float(start), float((a[j] - start) % 360.0)))
    must = None
    if len(bad):
        a = np.sort(az[bad])
        gaps = np.diff(np.r_[a, a[0] + 360.0])
        j = int(np.argmax(gaps))
        must = (float(a[(j + 1) % len(a)]), float((a[j] - a[(j + 1) % len(a)]) % 360.0))
    starts = [s for s, _ in arcs] + ([must[0]] if must else [])
    best: tuple[float, float] | None = None
    for s in starts:
        ends = sorted(((a0 - s) % 360.0 + w) for a0, w in arcs if (a0 - s) % 360.0 + w < 360.0)
        width = ends[k - 1] if k > 0 and len(ends) >= k else (0.0 if k == 0 else None)
        if width is None:
            continue
        if must is not None:
            if (must[0] - s) % 360.0 + must[1] >= 360.0:
                continue
            width = max(width, (must[0] - s) % 360.0 + must[1])
        if width + 2 * h_half + 1.0 >= 360.0:
            continue
        if best is None or width < best[1]:
            best = (s, width)
    if best is None:
        return None
    s, width = best
    lo = (s + width + h_half + 0.5) % 360.0
    hi = lo + (360.0 - width - 2 * h_half - 1.0)
    return (round(lo, 1), round(hi, 1))


def _plan_within(camera: Camera, scene: Scene, plan: _Plan, seen: VisibleSamples, exposed: NDArray[np.intp],
                 public: tuple[NDArray[np.intp], F64]) -> CameraMasks:
    """``camera`` (with narrower limits than those ``plan`` was made for) planned again: its visible
    samples are those of the plan still in its reach (narrower limits change nothing else: range,
    facing and occlusion stay), so are its public street samples; the masks are chosen again among the
    plan's candidates that the camera can still frame, and verified with rays cast afresh. Where some
    piece in reach has no such candidate, the camera is planned from scratch (``_plan_again``)."""
    t0 = time.perf_counter()
    rule = mask_rule(camera)
    reach = in_reach(camera, plan.dirs)
    keep = np.array([bool(reach[p.samples].any()) for p in plan.pieces], bool)
    framed = frameable(rule, plan.cands.masks)
    ok = np.array([m is not None for m in framed], bool)
    covers = plan.cands.covers[np.ix_(ok, keep)]
    if not covers.any(axis=0).all():
        return _plan_again(camera, scene, seen, exposed, public)
    useful = covers.any(axis=1)
    cands = _Candidates([m for m, f in zip(framed, ok, strict=True) if f and m is not None], covers)
    cands = _Candidates([m for m, u in zip(cands.masks, useful, strict=True) if u], covers[useful])
    # each piece kept with its samples in reach only (the lower bound counts samples that need a mask)
    pieces = [replace(p, samples=p.samples[reach[p.samples]]) for p, k in zip(plan.pieces, keep, strict=True) if k]
    pk = in_reach(camera, public[1])
    public_index, public_dirs = public[0][pk], public[1][pk]
    result = CameraMasks(camera.id, [], True, public_samples=len(public_dirs), public_index=public_index,
                         public_hidden_flags=np.zeros(len(public_index), bool))
    targets = np.intersect1d(exposed, plan.st[reach])
    result.targets_to_hide = len(targets)
    _conclude(camera, scene, rule, result, plan.st, plan.dirs, pieces, plan.unframable[reach[plan.unframable]],
              cands, public_dirs, targets, plan.spacing, verify=True)
    result.planning_seconds = time.perf_counter() - t0
    return result


def _plan_again(camera: Camera, scene: Scene, seen: VisibleSamples, exposed: NDArray[np.intp],
                public: tuple[NDArray[np.intp], F64]) -> CameraMasks:
    """``camera`` (with narrower limits) planned from scratch, without further proposals: its visible
    samples are those seen with the wider limits that are still in its reach (narrower limits change
    nothing else: range, facing and occlusion stay), so are its public street samples; the plan's
    verification casts its own rays with the new camera."""
    keep = in_reach(camera, seen.vector)
    sub = VisibleSamples(seen.sample[keep], seen.target[keep], seen.distance[keep], seen.vector[keep])
    targets = np.intersect1d(exposed, sub.target)
    pk = in_reach(camera, public[1])
    return plan_camera_masks(camera, scene, sub, targets, margin_deg=scene.scenario.masks.margin_deg,
                             public=(public[0][pk], public[1][pk]), propose=False)


def visible_street_samples(camera: Camera, scene: Scene) -> tuple[NDArray[np.intp], F64]:
    """The public street samples this camera sees (range, reach, no occlusion): their indices into
    ``scene.street_samples`` and their (n, 3) unit directions from the camera."""
    pts = scene.street_samples
    none = (np.zeros(0, np.intp), np.zeros((0, 3)))
    if len(pts) == 0:
        return none
    cam = np.array(camera.position)
    tree: cKDTree = scene.street_index
    near = ball(tree, cam, camera.range_m)
    if len(near) == 0:
        return none
    vec = pts[near] - cam
    ok = in_reach(camera, vec)
    near, vec = near[ok], vec[ok]
    clear = scene.engine.segment_clear(cam, pts[near])
    return (near[clear], unit(vec[clear])) if clear.any() else none
