"""Partitioning a scene by tiles, so that each camera works on the part of the scene within its reach.

Cameras are grouped by the square tile (``analysis.tile_m``, aligned on multiples of it in the scene
CRS) their position falls in. A tile's *part* holds only what its cameras can reach: the targets,
triangles, street samples, buildings, public-ground cells and terrain within the box around its
cameras grown by their largest range (and, for targets, by each target's own radius). Everything a
camera's rays, samples and cells can touch lies within its range, so a camera gives exactly the same
results on its tile's part as on the whole scene: the part keeps the scene's ray origin (the same
float32 geometry for Embree) and its targets and street samples in the same relative order, and
``result_to_scene`` maps its indices back. Memory per part is bounded by the tile size and the range,
not by the area of the scene.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..inputs.dem import DemGrid
from ..results import CameraResult
from ..scene import Camera, Scene
from ..scene.index import Box
from ..scene.scene import Inherited
from ..scene.targets import Targets
from ..scene.terrain import Terrain


@dataclass(frozen=True)
class Tile:
    """One tile: its (column, row) on the ``tile_m`` grid, the cameras placed in it (scene order) and
    the box [m] (minx, miny, maxx, maxy) its part must hold."""

    key: tuple[int, int]
    camera_ids: tuple[str, ...]
    box: Box


def plan_tiles(scene: Scene, camera_ids: Sequence[str], tile_m: float) -> list[Tile]:
    """The tiles holding ``camera_ids`` (ordered by row, then column), each with the box around its
    cameras grown by their largest range."""
    by_id = {c.id: c for c in scene.cameras}
    groups: dict[tuple[int, int], list[Camera]] = {}
    for cid in camera_ids:
        c = by_id[cid]
        groups.setdefault((math.floor(c.x / tile_m), math.floor(c.y / tile_m)), []).append(c)
    tiles = []
    for key in sorted(groups, key=lambda k: (k[1], k[0])):
        cams = groups[key]
        r = max(c.range_m for c in cams)
        xs, ys = [c.x for c in cams], [c.y for c in cams]
        tiles.append(Tile(key, tuple(c.id for c in cams), (min(xs) - r, min(ys) - r, max(xs) + r, max(ys) + r)))
    return tiles


def _in_box(lo: NDArray[np.float64], hi: NDArray[np.float64], box: Box) -> NDArray[np.bool_]:
    """Whether axis-aligned 2D boxes [lo, hi] (each (n, 2)) meet ``box``."""
    return (hi[:, 0] >= box[0]) & (lo[:, 0] <= box[2]) & (hi[:, 1] >= box[1]) & (lo[:, 1] <= box[3])


def _targets_part(t: Targets, idx: NDArray[np.intp]) -> Targets:
    counts = t.offsets[idx + 1] - t.offsets[idx]
    rows = np.repeat(t.offsets[idx] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    offsets = np.zeros(len(idx) + 1, np.int64)
    offsets[1:] = np.cumsum(counts)
    return Targets(t.id[idx], t.kind[idx], t.source[idx], t.planes.take(idx), t.area[idx], t.samples[rows],
                   offsets, t.centroid[idx], t.openings_known, t.grid[idx] if len(t.grid) else t.grid)


def terrain_part(terrain: Terrain, box: Box) -> Terrain:
    """The DEM's window over ``box`` and two nodes around it (heights inside the box are those of the
    whole DEM, bit for bit: see ``Terrain.first_node``)."""
    g = terrain.grid
    if g is None:
        return terrain
    nr, nc = g.z.shape
    fr, fc = terrain.first_node
    c0 = max(int(math.floor((box[0] - g.x0) / g.dx)) - 2 - fc, 0)
    c1 = min(int(math.ceil((box[2] - g.x0) / g.dx)) + 2 - fc, nc)
    r0 = max(int(math.floor((g.y0 - box[3]) / g.dy)) - 2 - fr, 0)
    r1 = min(int(math.ceil((g.y0 - box[1]) / g.dy)) + 2 - fr, nr)
    if c1 - c0 < 2 or r1 - r0 < 2 or (c0, r0, c1, r1) == (0, 0, nc, nr):
        return terrain
    z = g.z[r0:r1, c0:c1].copy()
    if np.isnan(z).any():  # the whole grid's mean fills its holes: keep that value
        z = np.where(np.isnan(z), np.nanmean(g.z), z)
    return Terrain(DemGrid(z, g.x0, g.y0, g.dx, g.dy), first_node=(fr + r0, fc + c0))


def scene_part(scene: Scene, box: Box, camera_ids: Sequence[str], *, threads: int | None = None) -> Scene:
    """The part of ``scene`` a camera inside ``box`` shrunk by its range can reach (see the module
    docstring), with the cameras ``camera_ids``. ``threads``: the part's ray-engine threads."""
    t = scene.targets
    radius = scene.target_radius
    index = scene.part_index
    tidx = index.targets.within(box)
    tidx = tidx[_in_box(index.targets.lo[tidx], index.targets.hi[tidx], box)]
    tri = scene.triangles
    keep_tri = index.triangles.within(box)
    keep_tri = keep_tri[_in_box(index.triangles.lo[keep_tri], index.triangles.hi[keep_tri], box)]
    pts = scene.street_samples
    sidx = index.streets.within(box)
    sidx = sidx[_in_box(pts[sidx, :2], pts[sidx, :2], box)]
    b = scene.buildings
    bidx: NDArray[np.intp] = (np.sort(scene.footprint_index.query(_box_polygon(box)))
                              if scene.footprint_index is not None else np.zeros(0, np.intp))
    streets = scene.streets
    if len(streets):
        sb = streets.geometry.bounds.to_numpy()
        streets = streets[_in_box(sb[:, :2], sb[:, 2:], box)].reset_index(drop=True)
    wanted = set(camera_ids)
    sc = scene.scenario
    if threads is not None:
        sc = sc.model_copy(update={"analysis": sc.analysis.model_copy(update={"threads": threads})})
    # what depends on the whole scene is taken from it, not recomputed on the part
    cells = {sc.coverage.cell_m: _cells_part(scene, sc.coverage.cell_m, box)} if sc.coverage.enabled else {}
    return Scene(name=scene.name, frame=scene.frame, terrain=terrain_part(scene.terrain, box),
                 buildings=b.iloc[bidx].reset_index(drop=True), targets=_targets_part(t, tidx),
                 triangles=tri[keep_tri], origin=scene.origin, streets=streets,
                 cameras=[cam for cam in scene.cameras if cam.id in wanted], scenario=sc, notes=[],
                 target_map=tidx, street_map=sidx,
                 inherited=Inherited(radius[tidx], scene.maskable[tidx], pts[sidx], cells))


def _box_polygon(box: Box) -> Any:
    import shapely

    return shapely.box(*box)


def _cells_part(scene: Scene, cell_m: float, box: Box) -> tuple[int, int, NDArray[np.bool_]]:
    """The scene's public-ground raster cropped to ``box`` (and one cell around it)."""
    ix0, iy0, public = scene.public_cells(cell_m)
    h, w = public.shape
    c0 = min(max(int(math.floor(box[0] / cell_m)) - 1 - ix0, 0), w)
    c1 = min(max(int(math.ceil(box[2] / cell_m)) + 1 - ix0, c0), w)
    r0 = min(max(int(math.floor(box[1] / cell_m)) - 1 - iy0, 0), h)
    r1 = min(max(int(math.ceil(box[3] / cell_m)) + 1 - iy0, r0), h)
    if c1 <= c0 or r1 <= r0:  # the box is off the raster: every cell there is open ground
        return ix0, iy0, np.ones((0, 0), bool)
    return ix0 + c0, iy0 + r0, public[r0:r1, c0:c1].copy()


def result_to_scene(part: Scene, result: CameraResult) -> CameraResult:
    """A ``results.CameraResult`` computed on ``part`` with its target and street-sample indices
    turned into the whole scene's."""
    if part.target_map is None:
        return result
    ex = result.exposures
    if len(ex):
        ex = ex.copy()
        ex["target"] = part.target_map[ex["target"].to_numpy(int)]
    plan = result.plan
    if plan is not None and part.street_map is not None:
        plan = dataclasses.replace(plan, public_index=part.street_map[plan.public_index])
    return dataclasses.replace(result, exposures=ex, plan=plan)
