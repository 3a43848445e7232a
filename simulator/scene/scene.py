"""The ``Scene`` value: everything the engine needs, in one metric frame (see ``frames``), and the
figures derived from it once (declared here as cached properties)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..frames import Frame
from ..scenario import Scenario
from ..visibility import RayEngine
from .camera import Camera
from .ground import public_cells
from .index import PartIndex
from .targets import Targets
from .terrain import Terrain

# not pickled (see Scene.__getstate__): rebuilt from the arrays by the process that receives a scene
_REBUILT = ("engine", "target_index", "street_index", "footprint_index", "part_index", "target_labels")


@dataclass
class Inherited:
    """The figures a part of a larger scene (``run.tiles.scene_part``) takes from the whole instead of
    computing them on its own (they depend on what lies outside the part): each target's radius and
    maskability, the street samples, and the public-ground raster by cell size."""

    target_radius: NDArray[np.float64]
    maskable: NDArray[np.bool_]
    street_samples: NDArray[np.float64]
    public_cells: dict[float, tuple[int, int, NDArray[np.bool_]]] = field(default_factory=dict)


@dataclass
class Scene:
    """Everything the engine needs, in one metric frame (see ``frames``). The figures derived from it
    are declared below as cached properties (computed once, on first use); ``engine_threads`` sets
    the ray engine's threads before it is first built (a worker process's share of the cores)."""

    name: str
    frame: Frame
    terrain: Terrain
    buildings: gpd.GeoDataFrame
    targets: Targets
    triangles: NDArray[np.float64]
    origin: NDArray[np.float64]
    streets: gpd.GeoDataFrame
    cameras: list[Camera]
    scenario: Scenario
    notes: list[str] = field(default_factory=list)
    ground_at: Callable[[float, float], float] | None = None
    # a part of a larger scene (``run.tiles.scene_part``): the indices of its targets and street
    # samples there, and the figures it takes from the whole
    target_map: NDArray[np.intp] | None = None
    street_map: NDArray[np.intp] | None = None
    inherited: Inherited | None = None
    engine_threads: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (sent to a Dask worker) without the Embree scene and the search trees: a process
        that receives a scene builds its own from the arrays."""
        return {k: v for k, v in self.__dict__.items() if k not in _REBUILT}

    @cached_property
    def target_radius(self) -> NDArray[np.float64]:
        """Largest distance [m] from each target's centroid to its samples."""
        if self.inherited is not None:
            return self.inherited.target_radius
        t = self.targets
        out = np.zeros(len(t))
        counts = np.diff(t.offsets)
        step = 1 << 16  # targets at a time: the (samples, 3) temporaries stay small
        for a in range(0, len(t), step):
            has = a + np.flatnonzero(counts[a:a + step] > 0)
            if len(has) == 0:
                continue
            s0, s1 = t.offsets[has[0]], t.offsets[has[-1] + 1]
            d = t.samples[s0:s1] - np.repeat(t.centroid[has], counts[has], axis=0)
            d2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]
            out[has] = np.sqrt(np.maximum.reduceat(d2, t.offsets[has] - s0))  # sqrt is monotonic
        return out

    @cached_property
    def footprint_index(self) -> shapely.STRtree | None:
        """Spatial index of building footprints (None without buildings)."""
        return shapely.STRtree(self.buildings.geometry.values) if len(self.buildings) else None

    @cached_property
    def target_index(self) -> cKDTree:
        """KD-tree of target centroids, for the targets near a camera."""
        # (sliding-midpoint splits, uncompacted nodes: built in half the time, queried as fast)
        return cKDTree(self.targets.centroid, balanced_tree=False, compact_nodes=False) if len(self.targets) \
            else cKDTree(np.zeros((1, 3)))

    @cached_property
    def street_samples(self) -> NDArray[np.float64]:
        """(n, 3) public street points [m]: every ``masks.street_sample_spacing_m`` along the streets,
        ``street_sample_height_m`` above the ground (a person's head)."""
        if self.inherited is not None:
            return self.inherited.street_samples
        ms = self.scenario.masks
        if len(self.streets) == 0:
            return np.zeros((0, 3))
        lines = self.streets.geometry.values
        lengths = shapely.length(lines)
        n = np.maximum(np.floor(lengths / ms.street_sample_spacing_m).astype(int), 0) + 1
        li = np.repeat(np.arange(len(lines)), n)
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        pts = shapely.get_coordinates(shapely.line_interpolate_point(lines[li], k * ms.street_sample_spacing_m))
        xy = np.unique(np.round(pts, 2), axis=0)
        if len(self.buildings):  # street centrelines may run under buildings (passages): skip those points
            inside = shapely.contains_xy(shapely.union_all(self.buildings.geometry.values), xy[:, 0], xy[:, 1])
            xy = xy[~inside]
        ground = np.array([self._ground(x, y) for x, y in xy]) if self.terrain.is_flat else \
            self.terrain.height_at(xy[:, 0], xy[:, 1])
        return np.column_stack([xy, ground + ms.street_sample_height_m])

    def _ground(self, x: float, y: float) -> float:
        return self.ground_at(x, y) if self.ground_at is not None else 0.0

    @cached_property
    def street_index(self) -> cKDTree:
        pts = self.street_samples
        return cKDTree(pts if len(pts) else np.zeros((1, 3)))

    @cached_property
    def buildings_with_openings(self) -> set[str]:
        """Buildings whose openings are known (data or synthesis: ``Targets.openings_known``); their
        facades are not masked as a whole."""
        return set(self.targets.openings_known)

    @cached_property
    def maskable(self) -> NDArray[np.bool_]:
        """(n,) bool per target: masked when exposed. Masks hide windows, doors, balconies, terraces,
        courtyards, backyards and sensitive places; a facade only where its building's openings are
        unknown, or every facade when the scenario asks for it (``masks.cover_facades``)."""
        if self.inherited is not None:
            return self.inherited.maskable
        t = self.targets
        if self.scenario.masks.cover_facades:
            return np.ones(len(t), bool)
        with_openings = pd.Series(t.planes.building_id).isin(self.buildings_with_openings).to_numpy()
        maskable: NDArray[np.bool_] = (t.kind != "facade") | ~with_openings
        return maskable

    @cached_property
    def facades_masked_whole(self) -> list[str]:
        """The buildings (ids) whose facades are masked whole, their openings being unknown (all
        buildings with facades when ``masks.cover_facades``)."""
        t = self.targets
        fac = t.kind == "facade"
        return sorted({str(b) for b in t.planes.building_id[fac & self.maskable]})

    @cached_property
    def _public_cells(self) -> dict[float, tuple[int, int, NDArray[np.bool_]]]:
        return dict(self.inherited.public_cells) if self.inherited is not None else {}

    def public_cells(self, cell_m: float) -> tuple[int, int, NDArray[np.bool_]]:
        """The public-ground raster at ``cell_m`` (``ground.public_cells``), computed once."""
        if cell_m not in self._public_cells:
            self._public_cells[cell_m] = public_cells(self.targets, self.buildings, self.streets, cell_m)
        return self._public_cells[cell_m]

    @cached_property
    def target_labels(self) -> dict[str, Any]:
        """The targets' string columns as compact Arrow arrays (``target_id``, ``target_kind``,
        ``building_id``, ``source``), made once (``run.processes.prepare`` makes them before the
        workers fork: a worker reading the Python strings would copy every page that holds one, as
        reading changes their reference counts)."""
        import pyarrow as pa

        t = self.targets
        return {"target_id": pa.array(t.id, pa.string()), "target_kind": pa.array(t.kind, pa.string()),
                "building_id": pa.array(t.planes.building_id, pa.string()), "source": pa.array(t.source, pa.string())}

    @cached_property
    def part_index(self) -> PartIndex:
        """Search boxes over the targets, triangles and street samples, for cutting parts of the scene
        (``run.tiles.scene_part``) at the cost of what a part holds."""
        return PartIndex.of(self.targets.centroid[:, :2], self.target_radius, self.triangles, self.street_samples)

    @cached_property
    def engine(self) -> RayEngine:
        return RayEngine(self.triangles, origin=self.origin,
                         threads=self.engine_threads or self.scenario.analysis.threads)

    def new_engine(self, threads: int | None = None) -> RayEngine:
        """A new Embree scene on ``threads`` threads for this process, in place of any it holds (one
        inherited across a fork is not used there: its threads did not come along)."""
        self.engine_threads = threads
        self.__dict__.pop("engine", None)
        return self.engine

    @property
    def engine_built(self) -> bool:
        """Whether this scene's Embree scene exists (in this process)."""
        return "engine" in self.__dict__

    def close_engine(self) -> None:
        """Release the Embree scene, if built (a part's, once its cameras are done)."""
        if self.engine_built:
            self.engine.close()
