"""Private targets and their sample points.

Every target is a planar polygon given in its own frame: ``origin`` (3,), in-plane axes ``U`` and ``V``
and outward unit normal ``N`` (all (T, 3) [m]), and a 2D polygon in (u, v) [m]. Ground targets
(courtyards, backyards) are *draped*: their polygon is in scene (x, y) and each sample takes the
terrain height. Kinds: window, door, balcony, terrace, courtyard, backyard, facade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from ..geom import newell_vector
from ..vocabulary import F64
from .terrain import Terrain

# Samples of planar targets lie on their surface: a line of sight stops ``visibility.EPS_END_M`` short
# of it, along the ray towards the camera. (An offset along the normal would let a ray seen nearly
# edge-on clear the wall beside an opening that hides it: 5 cm along the normal is 2.9 m along a ray
# at 89 deg.) Ground samples sit this far above the terrain, whose mesh and interpolation differ:
DRAPED_OFFSET_M = 0.10
MIN_SAMPLES_PER_AXIS = 3  # at least this many cells along each axis of a target's bounds
# a cell on the border of a polygon other than a rectangle, whose centre lies outside it, gets a sample
# at a point of its part inside (``_grid``) when that part is at least this share of the cell
BORDER_CELL_SHARE = 0.01


@dataclass
class PlanarSet:
    """A batch of planar polygons with frames (see module docstring); ``rect`` marks axis-aligned
    rectangles in (u, v), whose grid samples need no containment test. ``bounds`` (n, 4) holds every
    polygon's (u0, v0, u1, v1); ``poly2d`` the polygons, or None for a rectangle kept as its bounds
    alone (made by ``boxes``; ``polygons`` builds its box on demand): a city's synthesized windows are
    hundreds of thousands of rectangles, and a GEOS polygon each held ~400 bytes."""

    origin: F64
    U: F64
    V: F64
    N: F64
    poly2d: NDArray[np.object_]
    building_id: NDArray[np.object_]
    rect: NDArray[np.bool_]
    draped: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    bounds: F64 = field(default_factory=lambda: np.zeros((0, 4)))

    def __post_init__(self) -> None:
        if len(self.draped) != len(self.poly2d):
            self.draped = np.zeros(len(self.poly2d), bool)
        if len(self.bounds) != len(self.poly2d):
            self.bounds = shapely.bounds(self.poly2d).reshape(-1, 4)

    @staticmethod
    def boxes(origin: F64, U: F64, V: F64, N: F64, bounds: F64, building_id: NDArray[np.object_]) -> PlanarSet:
        """Axis-aligned rectangles (u0, v0, u1, v1) in their frames, kept as bounds alone."""
        return PlanarSet(origin, U, V, N, np.full(len(bounds), None, object), building_id,
                         np.ones(len(bounds), bool), bounds=np.asarray(bounds, float).reshape(-1, 4))

    def __len__(self) -> int:
        return len(self.poly2d)

    def take(self, idx: NDArray[np.intp] | NDArray[np.bool_] | slice) -> PlanarSet:
        return PlanarSet(self.origin[idx], self.U[idx], self.V[idx], self.N[idx], self.poly2d[idx],
                         self.building_id[idx], self.rect[idx], self.draped[idx], self.bounds[idx])

    def polygons(self, idx: NDArray[np.intp] | NDArray[np.bool_] | slice = slice(None)) -> NDArray[np.object_]:
        """The polygons ``idx`` as shapely polygons (the boxes of those kept as bounds made now:
        ``shapely.box`` of their bounds)."""
        polys = self.poly2d[idx]
        lazy = shapely.is_missing(polys)
        if lazy.any():
            polys = polys.copy()
            b = self.bounds[idx][lazy]
            polys[lazy] = _boxes(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
        return polys

    def areas(self) -> F64:
        """Each polygon's area [m2]: a rectangle kept as bounds (u1 - u0) (v1 - v0), which is what
        GEOS computes for its box (equal on all 601,667 of Amadora's)."""
        lazy = shapely.is_missing(self.poly2d)
        b = self.bounds
        return np.where(lazy, (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), shapely.area(self.poly2d))

    @staticmethod
    def concat(sets: list[PlanarSet]) -> PlanarSet:
        sets = [s for s in sets if len(s)]
        if not sets:
            e3 = np.empty((0, 3))
            return PlanarSet(e3, e3, e3, e3, np.empty(0, object), np.empty(0, object), np.empty(0, bool),
                             np.empty(0, bool))
        return PlanarSet(*(np.concatenate([getattr(s, f) for s in sets]) for f in
                           ("origin", "U", "V", "N", "poly2d", "building_id", "rect", "draped", "bounds")))


def frame_for_normals(normals: F64) -> tuple[F64, F64]:
    """In-plane axes (U, V) for unit normals (n, 3): U horizontal (``Z x N``), V = N x U (up on walls).
    Horizontal polygons (N = +-Z) get U = +X."""
    n = np.asarray(normals, float)
    u = np.stack([-n[:, 1], n[:, 0], np.zeros(len(n))], axis=1)
    norm = np.linalg.norm(u, axis=1)
    flat = norm < 1e-6
    u[flat] = (1.0, 0.0, 0.0)
    u[~flat] /= norm[~flat, None]
    v = np.cross(n, u)
    return u, v


@dataclass
class Targets:
    """All private targets of a scene and their samples (CSR: samples of target t are
    ``samples[offsets[t]:offsets[t+1]]``)."""

    id: NDArray[np.object_]
    kind: NDArray[np.object_]
    source: NDArray[np.object_]
    planes: PlanarSet
    area: F64
    samples: F64
    offsets: NDArray[np.int64]
    centroid: F64
    # buildings whose openings are known: given as data (an openings layer, a 3D model's windows and
    # doors) or synthesized; the facades of the others are masked whole
    openings_known: frozenset[str] = frozenset()
    # (T, 2): the cells along u and v each target's bounds are cut into (``grid_cells``): the lattice
    # of its samples (empty: unknown, no refinement)
    grid: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 2), np.int64))

    def __len__(self) -> int:
        return len(self.id)

    @property
    def sample_target(self) -> NDArray[np.int64]:
        return np.repeat(np.arange(len(self)), np.diff(self.offsets))

    def polygons3d(self, terrain: Terrain, which: NDArray[np.intp] | None = None) -> NDArray[np.object_]:
        """Exterior rings of the targets ``which`` (all by default) as 3D shapely polygons in the scene
        CRS (z [m])."""
        xyz, local = self.rings3d(terrain, which)
        if len(xyz) == 0:
            return np.empty(0, object)
        rings = shapely.linearrings(xyz, indices=local)
        return np.asarray(shapely.polygons(rings), dtype=object)

    def rings3d(self, terrain: Terrain, which: NDArray[np.intp] | None = None) -> tuple[F64, NDArray[np.intp]]:
        """The closed exterior rings of the targets ``which`` (all by default) in the scene CRS: their
        points (P, 3) [m] and, per point, the position of its target in ``which``."""
        sel = np.arange(len(self)) if which is None else np.asarray(which, dtype=np.intp)
        p = self.planes
        polys = p.poly2d[sel]
        lazy = shapely.is_missing(polys)
        if lazy.all() and not p.draped[sel].any():  # rectangles kept as bounds only: each ring at once
            ring = _box_rings(p.bounds[sel])
            xyz = p.origin[sel, None] + ring[..., :1] * p.U[sel, None] + ring[..., 1:] * p.V[sel, None]
            return xyz.reshape(-1, 3), np.repeat(np.arange(len(sel)), 5)
        real = np.flatnonzero(~lazy)
        polys = polys[real]
        # a polygon without holes gives its exterior ring's coordinates as they are (no new geometries)
        holes = shapely.get_num_interior_rings(polys) > 0
        coords, local = shapely.get_coordinates(np.where(holes, shapely.get_exterior_ring(polys), polys)
                                                if holes.any() else polys, return_index=True)
        local = real[local]
        if lazy.any():  # the rings of the rectangles kept as bounds, as shapely.box makes them
            boxed = np.flatnonzero(lazy)
            ring = _box_rings(p.bounds[sel[boxed]])
            order = np.argsort(np.concatenate([local, np.repeat(boxed, 5)]), kind="stable")
            coords = np.concatenate([coords, ring.reshape(-1, 2)])[order]
            local = np.concatenate([local, np.repeat(boxed, 5)])[order]
        idx = sel[local]
        xyz = p.origin[idx] + coords[:, :1] * p.U[idx] + coords[:, 1:2] * p.V[idx]
        dr = p.draped[idx]
        xyz[dr, 0], xyz[dr, 1] = coords[dr, 0], coords[dr, 1]
        xyz[dr, 2] = terrain.height_at(coords[dr, 0], coords[dr, 1])
        return xyz, local


def sample_planes(planes: PlanarSet, *, spacing: F64, max_samples: int,
                  terrain: Terrain, block: int = 1 << 20, threads: int = 1,
                  min_per_axis: int = MIN_SAMPLES_PER_AXIS) -> tuple[F64, NDArray[np.int64]]:
    """Cell-centred grid samples of every polygon: its bounds cut into equal cells, at most its
    spacing [m] on a side (coarsened to at most ``max_samples`` per target) and at least
    ``min_per_axis`` along each axis (so a small target is never one or two points), one sample at
    the centre of each cell inside the polygon; a polygon holding no cell centre gets one interior
    point. A cell on the border of a polygon other than a rectangle whose centre lies outside the
    polygon gets its sample at a point of its part inside (when that part is at least
    ``BORDER_CELL_SHARE`` of the cell), so a sharp corner of a gable or a courtyard is sampled too.
    Every sample of a rectangle stands for the same area; see ``grid_cells`` and ``cell_shares``.

    Returns (S, 3) sample points [m] offset in front of their surface, and CSR offsets (T + 1,).
    The targets are sampled in runs of about ``block`` grid points, on ``threads`` threads (numpy
    and GEOS work without the interpreter lock here): the temporaries of millions of samples at
    once would cost hundreds of MB (and the time to fault them in).
    """
    t_count = len(planes)
    if t_count == 0:
        return np.empty((0, 3)), np.zeros(1, np.int64)
    b = planes.bounds
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    nu, nv = grid_cells(w, h, spacing, max_samples, min_per_axis)
    count = nu * nv  # grid points; a target keeps at most these (at least one)
    if (~planes.rect).any():
        shapely.prepare(planes.poly2d[~planes.rect])
    ends = np.cumsum(count)
    pts = np.empty((int(ends[-1]), 3))
    kept = np.zeros(t_count, np.int64)
    cut = np.unique(np.r_[0, np.searchsorted(ends, np.arange(block, ends[-1], block)) + 1, t_count])
    start = np.r_[0, ends][cut[:-1]]  # each run's samples go to its grid points' rows, then move up

    def run(r: int) -> int:
        first, last = cut[r], cut[r + 1]
        t, u, v = _grid(planes, first, last, b, w, h, nu, nv, count)
        kept[first:last] = np.bincount(t - first, minlength=last - first)
        _place(planes.take(slice(first, last)), kept[first:last], t, u, v, terrain,
               pts[start[r]:start[r] + len(t)])
        return len(t)

    if threads > 1 and len(start) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:  # each run's targets are its own (prepared geometries too)
            made = list(pool.map(run, range(len(start))))
    else:
        made = [run(r) for r in range(len(start))]
    filled = 0
    for at, n in zip(start, made, strict=True):
        pts[filled:filled + n] = pts[at:at + n]  # numpy copies overlapping ranges correctly
        filled += n
    offsets = np.zeros(t_count + 1, np.int64)
    offsets[1:] = np.cumsum(kept)
    return pts[:filled], offsets


def grid_cells(w: F64, h: F64, spacing: F64, max_samples: int,
               min_per_axis: int = MIN_SAMPLES_PER_AXIS) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The cells (along u, along v) a target's bounds of ``w`` x ``h`` [m] are cut into: each at most
    ``spacing`` [m] on a side, or coarser so that there are at most ``max_samples``, and at least
    ``min_per_axis`` along each axis (when ``max_samples`` allows)."""
    s = np.maximum(spacing, np.sqrt(np.maximum(w * h, 1e-12) / max_samples))
    least = max(1, min(min_per_axis, math.isqrt(max(max_samples, 1))))
    nu = np.maximum(np.ceil(w / s - 1e-9).astype(np.int64), least)
    nv = np.maximum(np.ceil(h / s - 1e-9).astype(np.int64), least)
    # a thin target forced to `least` along one axis keeps at most max_samples along the other
    cap = max(max_samples, 1)
    nu = np.where(nu * nv > cap, np.maximum(np.minimum(nu, cap // nv), least), nu)
    nv = np.where(nu * nv > cap, np.maximum(np.minimum(nv, cap // nu), least), nv)
    return nu, nv


def cell_shares(planes: PlanarSet, ti: NDArray[np.intp], iu: NDArray[np.int64], iv: NDArray[np.int64],
                nu: NDArray[np.int64], nv: NDArray[np.int64]) -> F64:
    """The share of each cell (column ``iu``, row ``iv`` of the ``nu`` x ``nv`` equal cells of target
    ``ti``'s bounds) that lies inside the target's polygon: 1 on a rectangle, the area of the cell's
    part inside over the cell's on any other polygon."""
    share = np.ones(len(ti))
    g = np.flatnonzero(~planes.rect[ti])
    if len(g):
        b = planes.bounds[ti[g]]
        su, sv = (b[:, 2] - b[:, 0]) / nu[g], (b[:, 3] - b[:, 1]) / nv[g]
        u0, v0 = b[:, 0] + iu[g] * su, b[:, 1] + iv[g] * sv
        boxes = shapely.box(u0, v0, u0 + su, v0 + sv)
        share[g] = shapely.area(shapely.intersection(boxes, planes.poly2d[ti[g]])) / np.maximum(su * sv, 1e-18)
    return np.clip(share, 0.0, 1.0)


def _grid(planes: PlanarSet, first: int, last: int, b: F64, w: F64, h: F64, nu: NDArray[np.int64],
          nv: NDArray[np.int64], count: NDArray[np.int64]) -> tuple[NDArray[np.int64], F64, F64]:
    """The (target, u, v) samples of targets ``first`` to ``last`` (exclusive), ordered by target: the
    centres of the ``nu`` x ``nv`` equal cells of each target's bounds (of a border cell whose centre
    lies outside the polygon, a point of its part inside: see ``sample_planes``)."""
    c = count[first:last]

    def each(a: NDArray[Any]) -> NDArray[Any]:  # a[t] (a gather by repetition: t is sorted)
        return np.repeat(a[first:last], c, axis=0)

    t = np.repeat(np.arange(first, last), c)
    k = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
    nu_t, nv_t = each(nu), each(nv)
    iu, iv = k % nu_t, k // nu_t
    u = each(b[:, 0]) + (iu + 0.5) * (each(w) / nu_t)
    v = each(b[:, 1]) + (iv + 0.5) * (each(h) / nv_t)
    general = ~planes.rect[t]
    if general.any():
        inside = np.ones(len(t), bool)
        inside[general] = shapely.contains_xy(planes.poly2d[t[general]], u[general], v[general])
        out = np.flatnonzero(~inside)
        if len(out):  # border cells: a point of their part inside, where that part is not negligible
            hu, hv = each(w)[out] / nu_t[out] / 2, each(h)[out] / nv_t[out] / 2
            boxes = shapely.box(u[out] - hu, v[out] - hv, u[out] + hu, v[out] + hv)
            polys = planes.poly2d[t[out]]
            touch = shapely.intersects(polys, boxes)  # prepared: cheap; the cells wholly outside go
            part = np.full(len(out), None, object)
            part[touch] = shapely.intersection(boxes[touch], polys[touch])
            big = np.zeros(len(out), bool)
            big[touch] = shapely.area(part[touch]) >= BORDER_CELL_SHARE * 4 * hu[touch] * hv[touch]
            rp = shapely.get_coordinates(shapely.point_on_surface(part[big]))
            u[out[big]], v[out[big]] = rp[:, 0], rp[:, 1]
            inside[out[big]] = True
        t, u, v = t[inside], u[inside], v[inside]
    empty = np.flatnonzero(np.bincount(t - first, minlength=last - first) == 0) + first
    if len(empty):
        rp = shapely.get_coordinates(shapely.point_on_surface(planes.polygons(empty)))
        t = np.concatenate([t, empty])
        u = np.concatenate([u, rp[:, 0]])
        v = np.concatenate([v, rp[:, 1]])
        order = np.argsort(t, kind="stable")
        t, u, v = t[order], u[order], v[order]
    return t, u, v


def _place(p: PlanarSet, counts: NDArray[np.int64], t: NDArray[np.int64], u: F64, v: F64, terrain: Terrain,
           out: F64) -> None:
    """The scene points of samples (u, v) into ``out`` (n, 3): ``counts`` samples of each target of
    ``p`` in turn (``t``: their target numbers, ordered)."""

    def each(a: NDArray[Any]) -> NDArray[Any]:  # a[t - t[0]], by repetition
        return np.repeat(a, counts, axis=0)

    uc, vc = u[:, None], v[:, None]
    np.multiply(uc, each(p.U), out=out)
    out += vc * each(p.V)
    out += each(p.origin)
    dr = each(p.draped)
    if dr.any():
        out[dr, 0], out[dr, 1] = u[dr], v[dr]
        out[dr, 2] = terrain.height_at(u[dr], v[dr]) + DRAPED_OFFSET_M


def footprint_walls(footprints: NDArray[np.object_], building_ids: NDArray[np.object_],
                    base_z: F64, top_z: F64, *, min_length_m: float = 0.0) -> PlanarSet:
    """Vertical wall rectangles along every ring edge of (multi)polygon footprints, outward normals.

    Wall j spans u in [0, edge length], v in [0, top_z - base_z] from ``origin = (x0, y0, base_z)``.
    """
    parts, pidx = shapely.get_parts(footprints, return_index=True)
    parts = shapely.orient_polygons(parts, exterior_cw=False)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[:-1] == cidx[1:]
    p0, p1 = coords[:-1][same], coords[1:][same]
    bidx = pidx[ridx[cidx[:-1][same]]]
    d = p1 - p0
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > max(min_length_m, 1e-6)
    p0, d, length, bidx = p0[keep], d[keep], length[keep], bidx[keep]
    d = d / length[:, None]
    n = len(p0)
    origin = np.column_stack([p0, base_z[bidx]])
    U = np.column_stack([d, np.zeros(n)])
    N = np.column_stack([d[:, 1], -d[:, 0], np.zeros(n)])
    V = np.tile([0.0, 0.0, 1.0], (n, 1))
    return box_set(origin, U, V, N, np.column_stack([np.zeros((n, 2)), length, (top_z - base_z)[bidx]]),
                    building_ids[bidx])


def box_set(origin: F64, U: F64, V: F64, N: F64, corners: F64, building_id: NDArray[np.object_]) -> PlanarSet:
    """``PlanarSet.boxes`` of rectangles given as (u0, v0, u1, v1); any without area (u1 <= u0 or
    v1 <= v0, whose bounds would not be these) as ``shapely.box`` polygons instead."""
    out = PlanarSet.boxes(origin, U, V, N, corners, building_id)
    flat = (corners[:, 2] <= corners[:, 0]) | (corners[:, 3] <= corners[:, 1])
    if flat.any():
        out.poly2d[flat] = _boxes(*corners[flat].T)
        out.bounds[flat] = shapely.bounds(out.poly2d[flat])
    return out


def synthesize_openings(walls: PlanarSet, ground_v: F64, storeys: NDArray[np.int64], *, width: float,
                        height: float, spacing: float, sill: float, storey_height: float,
                        door_wall: NDArray[np.bool_] | None, door_width: float,
                        door_height: float) -> tuple[PlanarSet, NDArray[np.object_], NDArray[np.object_]]:
    """Windows on a regular layout per wall and storey (and one door on each wall flagged in ``door_wall``).

    ``ground_v`` [m] is the ground's v on each wall; ``storeys`` the storeys per wall. Slots are centred
    on the wall, ``spacing`` apart; a window must lie inside its wall polygon.
    Returns the openings, their kinds and their ids (``<building>/w<wall>-s<storey>-<slot>``).
    """
    b = walls.bounds
    umin, length, vmax = b[:, 0], b[:, 2] - b[:, 0], b[:, 3]
    slots = np.where(length >= width + 0.3, np.maximum(np.floor((length - 0.3) / spacing), 1), 0).astype(np.int64)
    fits = np.floor((vmax - ground_v - sill - height) / storey_height).astype(np.int64) + 1
    nst = np.clip(np.minimum(storeys, fits), 0, None)
    count = slots * nst
    w = np.repeat(np.arange(len(walls)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    slot, storey = k % slots[w], k // slots[w]
    uc = umin[w] + length[w] / 2 + (slot - (slots[w] - 1) / 2) * spacing
    v0 = ground_v[w] + storey * storey_height + sill
    is_door = np.zeros(len(w), bool)
    if door_wall is not None:
        is_door = door_wall[w] & (storey == 0) & (slot == slots[w] // 2)
    half = np.where(is_door, door_width / 2, width / 2)
    v0 = np.where(is_door, ground_v[w], v0)
    v1 = v0 + np.where(is_door, door_height, height)
    corners = np.column_stack([uc - half, v0, uc + half, v1])
    ok = (v1 <= vmax[w] + 1e-9)
    general = np.flatnonzero(~walls.rect[w])
    if len(general):
        shapely.prepare(walls.poly2d[~walls.rect])  # not rectangles: polygons of their own
        ok[general] &= shapely.contains(walls.poly2d[w[general]], _boxes(*corners[general].T))
    w, corners, is_door, storey, slot = w[ok], corners[ok], is_door[ok], storey[ok], slot[ok]
    out = box_set(walls.origin[w], walls.U[w], walls.V[w], walls.N[w], corners, walls.building_id[w])
    kinds = np.array(["window", "door"], object)[is_door.astype(np.intp)]  # two strings, referenced
    # ids as wall prefix + storey/slot suffix: two lookups and one concatenation per opening
    used = np.flatnonzero(np.bincount(w, minlength=len(walls)))
    prefix = np.empty(len(walls), object)
    prefix[used] = [f"{bid}/w{wi}-s" for bid, wi in zip(walls.building_id[used], used, strict=True)]
    m = int(slot.max(initial=0)) + 1
    pair = storey * m + slot
    suffix = np.empty(int(pair.max(initial=0)) + 1, object)
    seen = np.flatnonzero(np.bincount(pair, minlength=len(suffix)))
    suffix[seen] = [f"{p // m}-{p % m}" for p in seen.tolist()]
    ids = prefix[w] + suffix[pair]
    return out, kinds, ids


def _box_rings(bounds: F64) -> F64:
    """(n, 5, 2): the closed rings ``shapely.box`` makes of bounds (u0, v0, u1, v1) (n, 4):
    counter-clockwise from (u1, v0)."""
    ring = np.empty((len(bounds), 5, 2))
    ring[:, [0, 1, 4], 0], ring[:, [2, 3], 0] = bounds[:, 2:3], bounds[:, 0:1]
    ring[:, [0, 3, 4], 1], ring[:, [1, 2], 1] = bounds[:, 1:2], bounds[:, 3:4]
    return ring


def _boxes(u0: F64, v0: F64, u1: F64, v1: F64) -> NDArray[np.object_]:
    """``shapely.box(u0, v0, u1, v1)`` (the same rings) built from one coordinate array: under half
    the time for hundreds of thousands of boxes."""
    n = len(u0)
    xy = _box_rings(np.column_stack([u0, v0, u1, v1]))
    rings = np.arange(0, 5 * n + 1, 5)
    return np.asarray(shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy.reshape(-1, 2),
                                                (rings, np.arange(n + 1))), object)


def planar_from_polygons3d(rings_list: list[list[F64]], building_ids: list[str],
                           outward_hint: list[F64 | None], *,
                           hull: bool) -> tuple[PlanarSet, NDArray[np.intp]]:
    """Frames for 3D polygons (each a list of rings; several polygons of one opening may be passed
    concatenated). With ``hull`` the polygon is the convex hull of all parts in their plane (openings
    modelled as frame + panes), else the projected first polygon with its holes. Normals follow
    Newell's method and are flipped to agree with ``outward_hint`` where one is given. Degenerate
    polygons (no area) are dropped: the second value lists the indices of the polygons kept."""
    origins, Us, Vs, Ns, polys, rect, kept = [], [], [], [], [], [], []
    for i, (rings, hint) in enumerate(zip(rings_list, outward_hint, strict=True)):
        pts = np.concatenate(rings)
        n = np.sum([newell_vector(r) for r in rings], axis=0)
        if np.linalg.norm(n) < 1e-12:  # degenerate: fit by SVD
            _, _, vt = np.linalg.svd(pts - pts.mean(axis=0))
            n = vt[2]
        n = n / np.linalg.norm(n)
        if hint is not None and np.dot(n, hint) < 0:
            n = -n
        elif hint is None and n[2] < -0.9:  # horizontal (balcony, terrace): faces up
            n = -n
        U, V = frame_for_normals(n[None])
        o = pts.mean(axis=0)
        # the opening's plane passes through its outermost point along n (frames can be recessed)
        o = o + n * (np.max((pts - o) @ n))
        uv = np.column_stack([(pts - o) @ U[0], (pts - o) @ V[0]])
        if hull:
            poly = shapely.MultiPoint(uv).convex_hull
        else:
            ends = np.cumsum([len(r) for r in rings])[:-1]
            parts = np.split(uv, ends)
            poly = shapely.make_valid(shapely.Polygon(parts[0], parts[1:]))
            if poly.geom_type == "MultiPolygon":
                poly = max(poly.geoms, key=lambda g: g.area)
        if poly.geom_type != "Polygon" or poly.area <= 1e-6:
            poly = shapely.MultiPoint(uv).convex_hull
        if poly.geom_type != "Polygon" or poly.area <= 1e-6:
            continue
        kept.append(i)
        origins.append(o)
        Us.append(U[0])
        Vs.append(V[0])
        Ns.append(n)
        polys.append(poly)
        rect.append(False)
    keep_ids = np.asarray(building_ids, object)[kept]
    return PlanarSet(np.array(origins).reshape(-1, 3), np.array(Us).reshape(-1, 3), np.array(Vs).reshape(-1, 3),
                     np.array(Ns).reshape(-1, 3), np.asarray(polys + [None], object)[:-1], keep_ids,
                     np.asarray(rect, bool)), np.asarray(kept, np.intp)


def draped_areas(polys: NDArray[np.object_], building_ids: NDArray[np.object_]) -> PlanarSet:
    """Ground areas draped on the terrain, normal up."""
    n = len(polys)
    up = np.tile([0.0, 0.0, 1.0], (n, 1))
    return PlanarSet(np.zeros((n, 3)), np.tile([1.0, 0, 0], (n, 1)), np.tile([0, 1.0, 0], (n, 1)), up,
                     np.asarray(polys, object), np.asarray(building_ids, object), np.zeros(n, bool),
                     np.ones(n, bool))


def horizontal_areas(polys: NDArray[np.object_], z: F64, building_ids: NDArray[np.object_]) -> PlanarSet:
    """Horizontal areas at height z [m] (terraces, balconies given with a z), normal up."""
    n = len(polys)
    origin = np.column_stack([np.zeros(n), np.zeros(n), z])
    return PlanarSet(origin, np.tile([1.0, 0, 0], (n, 1)), np.tile([0, 1.0, 0], (n, 1)),
                     np.tile([0.0, 0.0, 1.0], (n, 1)), np.asarray(polys, object),
                     np.asarray(building_ids, object), np.zeros(n, bool))
