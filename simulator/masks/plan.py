"""A camera's mask plan: generate a mask per exposed target, fit the camera's limits, verify.

Generation: the convex hull of the target's visible sample directions, grown by the configured margin
(pointing repeatability) plus the angle of one sample cell's diagonal at the target's distance (so the
surface between and around visible samples is covered). Fitting: while there are more masks than the
camera takes, merge the pair (among near neighbours) that newly hides the fewest visible public
street samples, keeping every mask within the wide-end view. Verification: resample the exposed
targets at half the spacing, cast the rays again, and count visible samples outside every mask; a
mask that misses some is grown once to cover them.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..camera.model import Camera
from ..exposure import VisibleSamples, visible_samples
from ..frames import azimuth_elevation
from ..geom import ball
from ..scene.targets import sample_planes
from .spherical import (
    SphericalMask,
    fits_views,
    hull_mask,
    hull_masks,
    inside_any,
    inside_each,
    solid_angles,
    unit,
)

F64 = NDArray[np.float64]


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

    @property
    def public_hidden_share(self) -> float | None:
        return self.public_hidden / self.public_samples if self.public_samples else None


def plan_camera_masks(camera: Camera, scene: Any, seen: VisibleSamples, exposed_targets: NDArray[np.intp], *,
                      margin_deg: float, public: tuple[NDArray[np.intp], F64],
                      verify: bool = True) -> CameraMasks:
    """Masks for ``camera`` over the targets in ``exposed_targets`` (indices into scene.targets) whose
    visible samples are ``seen``; ``public`` holds the public street samples it sees (indices into
    ``scene.street_samples`` and their (n, 3) unit directions), see ``visible_street_samples``."""
    public_index, public_dirs = public
    t = scene.targets
    lim = camera.mask_limits
    hw, vw = camera.hfov_deg[0], camera.vfov_deg[0]
    result = CameraMasks(camera.id, [], True, public_samples=len(public_dirs), public_index=public_index,
                         public_hidden_flags=np.zeros(len(public_index), bool))
    if len(exposed_targets) == 0:
        return result
    counts = np.diff(t.offsets)
    spacing = np.sqrt(t.area / np.maximum(counts, 1))
    order = np.argsort(seen.target, kind="stable")
    st, sv, sd = seen.target[order], seen.vector[order], seen.distance[order]
    starts = np.searchsorted(st, exposed_targets)
    ends = np.searchsorted(st, exposed_targets, side="right")
    # one mask per exposed target with visible samples, all built in one batch
    has = ends > starts
    tis, a_, b_ = exposed_targets[has], starts[has], ends[has]
    nearest = np.minimum.reduceat(sd, a_) if len(a_) else np.zeros(0)
    sel = np.concatenate([np.arange(a, b) for a, b in zip(a_, b_, strict=True)]) if len(a_) else np.zeros(0, int)
    group = np.repeat(np.arange(len(tis)), b_ - a_)
    margins = margin_deg + np.degrees(spacing[tis] * math.sqrt(2) / np.maximum(nearest, 0.1))
    labels = [str(i) for i in t.id[tis]]
    built = hull_masks([f"m{k + 1}" for k in np.flatnonzero(has)], sv[sel], group, [(x,) for x in labels], margins,
                       max_vertices=lim.max_vertices, rectangle_only=lim.rectangle_only) if len(tis) else []
    masks: list[SphericalMask] = []
    for label, near, m, fits in zip(labels, nearest, built, fits_views(built, hw, vw), strict=True):
        if not fits:
            result.compliant = False
            result.reasons.append(f"target {label} spans more than the camera's wide view ({hw:g} x {vw:.1f} "
                                  f"deg) from {float(near):.1f} m: no single mask covers it")
        if m is not None:
            masks.append(m)
    masks = _fit(masks, lim.max_masks, public_dirs, hw=hw, vw=vw, max_vertices=lim.max_vertices,
                 rectangle_only=lim.rectangle_only)
    if len(masks) > lim.max_masks:
        result.compliant = False
        result.reasons.append(f"{len(masks)} masks needed after every merge that stays within the wide view, "
                              f"the camera takes {lim.max_masks}")
    masks = [SphericalMask(f"{camera.id}-mask-{i + 1:02d}", m.vertices, m.targets) for i, m in enumerate(masks)]
    result.masks = masks
    if verify:
        _verify(camera, scene, exposed_targets, spacing, result, hw=hw, vw=vw)
    if result.exposed_after_masks:
        result.compliant = False
        result.reasons.append(f"{result.exposed_after_masks} targets keep visible samples outside the masks")
    result.public_hidden_flags = inside_any(result.masks, public_dirs)
    result.public_hidden = int(result.public_hidden_flags.sum())
    if not result.compliant:
        _propose_limits(camera, seen, result)
    return result


def _fit(masks: list[SphericalMask], max_masks: int, public_dirs: F64, *, hw: float, vw: float,
         max_vertices: int, rectangle_only: bool) -> list[SphericalMask]:
    """Greedy merging of near pairs by least newly hidden public samples (then least solid angle).

    Many masks (over three times the limit) are first grouped by direction (complete-linkage
    clustering of their centres) into three times the limit; a group whose hull does not fit the wide
    view stays as its members. The greedy merging then works on that smaller set.
    """
    if len(masks) <= max_masks:
        return masks
    if len(masks) > 3 * max_masks:
        masks = _precluster(masks, 3 * max_masks, hw=hw, vw=vw, max_vertices=max_vertices,
                            rectangle_only=rectangle_only)
    alive: dict[int, SphericalMask] = dict(enumerate(masks))
    solid_angles(masks)  # each mask's area_sr, on plain floats as for the merge candidates

    # the public samples each live mask hides (a candidate's row comes with it from push_pairs)
    hidden: dict[int, NDArray[np.bool_]] = dict(enumerate(inside_each(masks, public_dirs)))
    next_id = len(masks)
    heap: list[tuple[int, float, int, int, SphericalMask, NDArray[np.bool_]]] = []

    centres = np.zeros((2 * len(masks), 3))
    live = np.zeros(2 * len(masks), bool)
    for i, m in alive.items():
        centres[i], live[i] = m.centre, True

    tried: set[tuple[int, int]] = set()

    def push_pairs(sources: list[int], k: int = 4) -> None:
        """Candidate merges of each source with its ``k`` nearest live masks, hulls built in one batch."""
        pairs = []
        for i in sources:
            score = np.where(live, centres @ alive[i].centre, -np.inf)
            score[i] = -np.inf
            near = np.argpartition(-score, min(k, len(score) - 1))[:k]
            for j in near[np.isfinite(score[near])]:
                key = (min(i, int(j)), max(i, int(j)))
                if key not in tried:
                    tried.add(key)
                    pairs.append((i, int(j)))
        if not pairs:
            return
        dirs = np.vstack([v for i, j in pairs for v in (alive[i].vertices, alive[j].vertices)])
        sizes = [len(alive[i].vertices) + len(alive[j].vertices) for i, j in pairs]
        built = hull_masks(["merged"] * len(pairs), dirs, np.repeat(np.arange(len(pairs)), sizes),
                           [alive[i].targets + alive[j].targets for i, j in pairs], np.zeros(len(pairs)),
                           max_vertices=max_vertices, rectangle_only=rectangle_only)
        fit = fits_views(built, hw, vw)
        ok = [(pair, m) for pair, m, f in zip(pairs, built, fit, strict=True) if m is not None and f]
        if not ok:
            return
        merged = [m for _, m in ok]
        inside = inside_each(merged, public_dirs)  # (candidates, public samples)
        area = solid_angles(merged)
        for ((i, j), m), hides_m, a in zip(ok, inside, area, strict=True):
            cost = int((hides_m & ~(hidden[i] | hidden[j])).sum())
            extra = a - alive[i].area_sr - alive[j].area_sr
            heapq.heappush(heap, (cost, extra, i, j, m, hides_m))

    push_pairs(list(alive))
    while len(alive) > max_masks and heap:
        _, _, i, j, m, hides_m = heapq.heappop(heap)
        if i not in alive or j not in alive:
            continue
        del alive[i], alive[j]
        live[[i, j]] = False
        hidden[next_id] = hides_m
        alive[next_id] = m
        centres[next_id], live[next_id] = m.centre, True
        push_pairs([next_id])
        next_id += 1
    return list(alive.values())


def _precluster(masks: list[SphericalMask], n: int, *, hw: float, vw: float, max_vertices: int,
                rectangle_only: bool) -> list[SphericalMask]:
    from scipy.cluster.hierarchy import fcluster, linkage

    centres = np.array([m.centre for m in masks])
    labels = fcluster(linkage(centres, method="complete", metric="cosine"), t=n, criterion="maxclust")
    members = [np.flatnonzero(labels == lab) for lab in np.unique(labels)]
    groups = [g for g in members if len(g) > 1]
    hulls: list[SphericalMask | None] = []
    if groups:  # the hulls of every group of several masks, in one batch
        dirs = np.vstack([masks[i].vertices for g in groups for i in g])
        sizes = [sum(len(masks[i].vertices) for i in g) for g in groups]
        hulls = hull_masks(["cluster"] * len(groups), dirs, np.repeat(np.arange(len(groups)), sizes),
                           [sum((masks[i].targets for i in g), ()) for g in groups], np.zeros(len(groups)),
                           max_vertices=max_vertices, rectangle_only=rectangle_only)
    built = iter(zip(hulls, fits_views(hulls, hw, vw), strict=True))
    out: list[SphericalMask] = []
    for g in members:
        if len(g) == 1:
            out.append(masks[g[0]])
            continue
        m, fits = next(built)
        out.extend([m] if m is not None and fits else [masks[i] for i in g])
    return out


def _verify(camera: Camera, scene: Any, exposed: NDArray[np.intp], spacing: F64, result: CameraMasks, *,
            hw: float, vw: float) -> None:
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
                               target_index=scene.target_index, samples=dense, offsets=offsets)
        out = ~inside_any(result.masks, seen.vector, first=_mask_of(result.masks, t.id, seen.target))
        result.verification_samples = len(seen.sample)
        result.residual_samples = int(out.sum())
        residual = np.unique(seen.target[out])
        result.exposed_after_masks = len(residual)
        result.residual_targets = tuple(str(i) for i in t.id[residual])
        if not out.any() or attempt == 1:
            return
        # grow the mask that already covers most of each missing target's samples
        lim = camera.mask_limits
        for ti in np.unique(seen.target[out]):
            tid = str(t.id[ti])
            idx = next((k for k, m in enumerate(result.masks) if tid in m.targets), None)
            if idx is None:
                continue
            m = result.masks[idx]
            grown = hull_mask(m.id, np.vstack([m.vertices, seen.vector[(seen.target == ti)]]), m.targets,
                              margin_deg=0.05, max_vertices=lim.max_vertices, rectangle_only=lim.rectangle_only)
            if grown is not None and grown.fits_view(hw, vw):
                result.masks[idx] = grown


def _mask_of(masks: list[SphericalMask], ids: NDArray[Any], targets: NDArray[np.intp]) -> NDArray[np.intp]:
    """For each target index in ``targets``, the index of the mask made for it (-1: none)."""
    owner = {tid: k for k, m in enumerate(masks) for tid in m.targets}
    uniq, inv = np.unique(targets, return_inverse=True)
    return np.array([owner.get(str(i), -1) for i in ids[uniq]], np.intp)[inv] if len(uniq) else \
        np.zeros(len(targets), np.intp)


def _propose_limits(camera: Camera, seen: VisibleSamples, result: CameraMasks) -> None:
    """Pan limits that keep every exposed target out of reach (the widest gap between them, narrowed
    by half the wide HFOV on each side), and a tilt ceiling below them."""
    if len(seen.vector) == 0:
        return
    az_grid, el = azimuth_elevation(seen.vector)
    az = np.sort((az_grid - camera.grid_north_offset_deg) % 360.0)
    gaps = np.diff(np.r_[az, az[0] + 360.0])
    g = int(np.argmax(gaps))
    half = camera.hfov_deg[0] / 2 + 0.5
    lo, hi = az[g] + half, az[g] + gaps[g] - half
    if hi > lo:
        result.proposed_pan_limits_deg = (round(lo % 360.0, 1), round(lo % 360.0 + (hi - lo), 1))
    ceiling = float(el.min()) - camera.vfov_deg[0] / 2 - 0.5
    if ceiling >= camera.tilt_limits_deg[0]:
        result.proposed_tilt_limits_deg = (camera.tilt_limits_deg[0], round(ceiling, 1))


def visible_street_samples(camera: Camera, scene: Any) -> tuple[NDArray[np.intp], F64]:
    """The public street samples this camera sees (range, reach, no occlusion): their indices into
    ``scene.street_samples`` and their (n, 3) unit directions from the camera."""
    from ..exposure import in_reach

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
