"""``simulator place``: propose cameras that reach the most watched public ground, each compliant.

A candidate (a site x mount height x model, ``build.placement``) is judged as ``simulator run``
analyses a camera (``run.camera.camera_result``: exposures, mask plan, coverage), on worker processes or
a Dask cluster (tile by tile, as ``run.dask``). A candidate whose masks fit its limits is taken as it
is; one whose plan does not fit takes the limits the plan proposes (``engine.masks.plan``), if the masks
chosen again for them are compliant, and its coverage is computed again with those limits and masks; any
other candidate is left out. What a candidate *reaches* is the watched cells it covers at their required
DORI level or better through no mask. The choice is the lazy greedy of ``engine.placement`` (at least (1
- 1/e) of the best any as many candidates reach), ties broken by the fewest private targets seen into,
then the fewest masks; its upper bound is printed with it.

Judging a candidate costs about 100 times what its coverage without masks costs, and that coverage
bounds what it reaches (``reach_bound``). So every candidate's bound is computed, and only the
candidates the greedy would choose are judged: the greedy runs on the bounds of those not judged yet
(first in ties) and the reaches of those judged; the candidates it chooses that are not judged are
judged, and it runs again, until it chooses only judged candidates. That choice is the greedy's over
the exact reaches: at each step the candidate chosen gains at least what any other's bound gains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..build.cameras import place_on_scene
from ..build.placement import Site, WatchGrid, candidate_sites, candidate_specs, watch_grid
from ..engine.coverage import CameraCoverage, camera_coverage
from ..engine.placement import Choice, lazy_greedy
from ..errors import InputError
from ..frames import Frame
from ..results import CameraResult, must_hide
from ..scenario import CameraSpec
from ..scene import Camera, Scene
from ..vocabulary import DORI_OR_NONE
from .camera import camera_result

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Outcome:
    """One candidate (or existing camera) as analysed: compliant as it is, with proposed limits, or not
    at all (``reason``); the watched cells it reaches (element indices of the ``WatchGrid``), the
    private targets it sees into, its masks and their limit."""

    camera_id: str
    usable: bool
    reached: NDArray[np.intp]
    seen_into: int
    masks: int
    mask_limit: int
    pan_limits_deg: tuple[float, float] | None = None  # proposed (None: the camera's own)
    tilt_limits_deg: tuple[float, float] | None = None
    reason: str = ""


def outcome(scene: Scene, cam: Camera, grid: WatchGrid) -> Outcome:
    """``cam`` analysed and judged as in the module docstring."""
    return outcome_of(scene, cam, camera_result(scene, cam), grid)


def outcome_of(scene: Scene, cam: Camera, r: CameraResult, grid: WatchGrid) -> Outcome:
    """``cam`` judged from its result ``r`` (``run.camera.camera_result``), as in the module docstring."""
    plan = r.plan
    seen_into = len(must_hide(scene, r.exposures))
    limit = cam.mask_limits.max_masks
    cov, pan, tilt, masks = r.coverage, None, None, (len(plan.masks) if plan is not None else 0)
    if plan is not None and not plan.compliant:
        alt = plan.proposed_plan
        if alt is None or not alt.compliant:
            why = plan.reasons[0] if plan.reasons else "not compliant"
            return Outcome(cam.id, False, np.zeros(0, np.intp), seen_into, masks, limit,
                           reason=f"not compliant, and no proposed limits make it so: {why}")
        pan, tilt = plan.proposed_pan_limits_deg, plan.proposed_tilt_limits_deg
        seen_into = alt.targets_to_hide  # what it sees into with those limits
        limited = replace(cam, pan_limits_deg=pan or cam.pan_limits_deg, tilt_limits_deg=tilt or cam.tilt_limits_deg)
        cov = camera_coverage(scene, limited, masks=alt.masks) if scene.scenario.coverage.enabled else None
        masks = len(alt.masks)
    if cov is None:
        return Outcome(cam.id, True, np.zeros(0, np.intp), seen_into, masks, limit, pan, tilt)
    return Outcome(cam.id, True, _reached(grid, cov), seen_into, masks, limit, pan, tilt)


def _reached(grid: WatchGrid, cov: CameraCoverage) -> NDArray[np.intp]:
    """The watched cells (element indices) ``cov`` covers at their level or better, through no mask."""
    elements = grid.elements(cov.ix, cov.iy)
    rank = np.array([DORI_OR_NONE.index(d) for d in cov.dori], np.int8) if len(cov.dori) else np.zeros(0, np.int8)
    need = grid.need.ravel()[grid.cells[np.maximum(elements, 0)]] if len(elements) else np.zeros(0, np.int8)
    ok = (elements >= 0) & ~cov.masked & (rank <= need)
    return elements[ok]


def reach_bound(scene: Scene, cam: Camera, grid: WatchGrid) -> NDArray[np.intp]:
    """What ``cam`` would reach with no mask and its own limits: a superset of what it reaches once
    judged (masks and proposed limits only take cells away), at about 1/100 of the cost."""
    return _reached(grid, camera_coverage(scene, cam, masks=[]))


def outcomes(scene: Scene, cameras: Sequence[Camera], grid: WatchGrid, *, processes: int = 1,
             progress: Progress | None = None, workers: int | None = None,
             scheduler: str | None = None, task: Callable[[Scene, Camera, WatchGrid], Any] | None = None
             ) -> list[Any]:
    """``task`` (default: ``outcome``) of every camera, in order: in this process, on ``processes``
    worker processes, or on a Dask cluster (``workers`` local processes, or the cluster at
    ``scheduler``; tile by tile, as ``run.dask``)."""
    task = task or outcome
    if workers is not None or scheduler is not None:
        import copy

        from .dask import on_cluster

        work = copy.copy(scene)
        work.cameras = list(cameras)
        found: dict[str, Any] = {}
        on_cluster(work, [c.id for c in cameras], found.__setitem__, workers=workers, scheduler=scheduler,
                   progress=progress, tile_m=scene.scenario.analysis.tile_m, task=task, extra=grid)
        return [found[c.id] for c in cameras]
    if processes > 1 and len(cameras) > 1:
        from .processes import map_on_processes

        # the forked workers inherit the task with its grid (nothing pickled, no module state)
        return map_on_processes(scene, list(cameras), partial(_on_grid, task, grid), processes, progress=progress)
    out = []
    for i, cam in enumerate(cameras):
        if progress:
            progress(cam.id, i, len(cameras))
        out.append(task(scene, cam, grid))
    if progress:
        progress("", len(cameras), len(cameras))
    return out


def _on_grid(task: Callable[[Scene, Camera, WatchGrid], Any], grid: WatchGrid, scene: Scene, cam: Camera) -> Any:
    return task(scene, cam, grid)


@dataclass
class Proposal:
    """What ``place`` found: the watched grid, the candidates (spec, site) and their outcomes, the
    choice, and the outcomes of the scenario's own cameras (the 'before')."""

    grid: WatchGrid
    candidates: list[tuple[CameraSpec, Site]]
    cameras: list[Camera]  # the candidates placed
    results: list[Outcome | None]  # None: not analysed in full (its bound could not beat the choice)
    choice: Choice
    budget: int
    target_share: float | None
    models: tuple[str, ...]
    existing: list[Outcome] = field(default_factory=list)
    bounds: list[NDArray[np.intp]] = field(default_factory=list)  # each candidate's reach without masks
    rounds: int = 1  # choices made before every chosen candidate had been analysed in full

    @property
    def analysed(self) -> list[Outcome]:
        """The candidates analysed in full."""
        return [o for o in self.results if o is not None]

    def outcome(self, i: int) -> Outcome:
        """The outcome of candidate ``i`` (one analysed in full: every chosen one is)."""
        o = self.results[i]
        assert o is not None, f"candidate {i} was not analysed"
        return o

    @property
    def chosen(self) -> list[int]:
        return self.choice.order

    def reached_m2(self, which: Sequence[Outcome]) -> NDArray[np.float64]:
        """Per watch area, the area [m2] the union of ``which`` reaches."""
        g = self.grid
        hit = np.zeros(len(g.cells), bool)
        for o in which:
            hit[o.reached] = True
        return np.bincount(g.cell_areas()[hit], minlength=len(g.names)).astype(float) * g.cell_area_m2

    def watched_m2(self) -> NDArray[np.float64]:
        g = self.grid
        return np.bincount(g.cell_areas(), minlength=len(g.names)).astype(float) * g.cell_area_m2


def check_models(scene: Scene, models: Sequence[str], *, field_name: str) -> tuple[str, ...]:
    """The models to try: ``models`` as given (each a catalogue id), else the scenario's, else the
    PTZ default of the cameras' defaults."""
    from ..build.catalogue import model_spec
    from ..scenario import CameraDefaults

    chosen = tuple(models) or scene.scenario.placement.candidates.models or (CameraDefaults().ptz_model,)
    for m in chosen:
        model_spec(m, file=scene.scenario.source, field=field_name)
    return chosen


@dataclass(frozen=True)
class Setup:
    """What a placement works on, checked before the work: the watched grid, the candidates (spec,
    site) placed as cameras, the budget, the target share and the models."""

    grid: WatchGrid
    candidates: list[tuple[CameraSpec, Site]]
    cameras: list[Camera]
    budget: int
    target_share: float | None
    models: tuple[str, ...]


def setup(scene: Scene, *, budget: int | None = None, target_share: float | None = None,
          models: Sequence[str] = ()) -> Setup:
    """Check the placement's input and make its grid and candidates (``InputError`` on bad input:
    a budget below 1, a share outside (0, 1], an unknown model, no candidates, too many, a watch area
    with an unknown level or outside the data); ``budget`` and ``target_share`` override the
    scenario's ``placement``."""
    sc = scene.scenario
    pl = sc.placement
    budget = pl.budget if budget is None else budget
    target_share = pl.target_share if target_share is None else target_share
    if budget < 1:
        raise InputError(f"the budget must be at least 1 camera, got {budget}", field="--budget")
    if target_share is not None and not 0 < target_share <= 1:
        raise InputError(f"the target share must lie in (0, 1], got {target_share:g}", field="--target-share")
    if not sc.masks.enabled or not sc.coverage.enabled:
        raise InputError("placement needs masks and coverage enabled (masks.enabled, coverage.enabled)",
                         file=sc.source, field="masks.enabled" if not sc.masks.enabled else "coverage.enabled")
    chosen_models = check_models(scene, models, field_name="--model" if models else "placement.candidates.models")
    grid = watch_grid(scene)
    sites = candidate_sites(scene)
    from ..build.catalogue import model_spec
    from ..build.scene import check_rays

    fixed = frozenset(m for m in chosen_models if model_spec(m)["kind"] == "fixed")
    specs = candidate_specs(sites, heights_m=pl.candidates.mount_heights_m, models=chosen_models, fixed=fixed,
                            taken=frozenset(c.id for c in scene.cameras))
    if not specs:
        raise InputError("no candidate positions: no streets for poles, no OSM mounts, no non-residential "
                         "facades and no points", file=sc.source, field="placement.candidates")
    if len(specs) > pl.max_candidates:
        raise InputError(f"{len(specs):,} candidates ({len(sites):,} sites x heights x models), more than "
                         f"placement.max_candidates ({pl.max_candidates:,}); raise it, or the spacing",
                         file=sc.source, field="placement.max_candidates")
    cams = [place_on_scene(scene, spec, source=sc.source, field="placement.candidates") for spec, _ in specs]
    check_rays(sc, scene.targets, [*cams, *scene.cameras])  # the work is bounded before it starts
    return Setup(grid, specs, cams, budget, target_share, chosen_models)


def propose(scene: Scene, *, budget: int | None = None, target_share: float | None = None,
            models: Sequence[str] = (), processes: int = 1, progress: Progress | None = None,
            existing: bool = True, prepared: Setup | None = None, workers: int | None = None,
            scheduler: str | None = None) -> Proposal:
    """The proposal for ``scene`` (see the module docstring) on ``setup``'s input (``prepared``, else
    made here); ``existing``: also judge the scenario's own cameras (the 'before')."""
    s = prepared or setup(scene, budget=budget, target_share=target_share, models=models)
    grid, cams = s.grid, s.cameras
    run: dict[str, Any] = {"processes": processes, "workers": workers, "scheduler": scheduler}
    done = [0]

    def counted(batch: int) -> Progress | None:  # progress over every batch analysed so far
        start = done[0]
        done[0] += batch
        return None if progress is None else (lambda cam, i, n: progress(cam, start + i, start + n))

    before = outcomes(scene, list(scene.cameras), grid, progress=counted(len(scene.cameras)), **run) \
        if existing else []
    bounds: list[NDArray[np.intp]] = outcomes(scene, cams, grid, task=reach_bound, progress=counted(len(cams)), **run)
    weights = np.full(len(grid.cells), grid.cell_area_m2)
    total = float(weights.sum())
    target = None if s.target_share is None else s.target_share * total * (1 - 1e-12)
    if not any(len(b) for b in bounds):
        raise _reaches_nothing(scene, grid, len(cams))
    # the lazy greedy over each candidate's reach: once analysed, what it reaches; before, its bound (a
    # superset), and the first place in ties, so that it is analysed before any analysed candidate it
    # might tie with is chosen. When every chosen candidate has been analysed, no candidate not analysed
    # could have beaten any of them (its bound did not): the choice is the greedy's over the exact reaches
    found: list[Outcome | None] = [None] * len(cams)
    rounds = 0
    while True:
        rounds += 1
        reach = [bounds[i] if o is None else o.reached if o.usable else np.zeros(0, np.intp)
                 for i, o in enumerate(found)]
        keys = [(-1.0, -1.0) if o is None else (float(o.seen_into), float(o.masks)) for o in found]
        choice = lazy_greedy(reach, weights, budget=s.budget, tie_key=keys, target_value=target)
        todo = [i for i in choice.order if found[i] is None]
        if not todo:
            break
        # and, to the batch's size, the candidates not judged whose bounds add the most to this choice
        # (those the next round would otherwise ask for, one batch at a time)
        covered = np.zeros(len(weights), bool)
        for i in choice.order:
            covered[reach[i]] = True
        asked = set(todo)
        waiting = [i for i, o in enumerate(found) if o is None and i not in asked]
        adds = np.array([float(weights[bounds[i][~covered[bounds[i]]]].sum()) for i in waiting])
        more = [waiting[k] for k in np.argsort(-adds, kind="stable") if adds[k] > 0]
        todo += more[:max(0, batch_size(s.budget, processes) - len(todo))]
        for i, o in zip(todo, outcomes(scene, [cams[i] for i in todo], grid, progress=counted(len(todo)), **run),
                        strict=True):
            found[i] = o
    if not choice.order:
        raise _reaches_nothing(scene, grid, len(cams), compliant=True)
    return Proposal(grid, s.candidates, cams, found, choice, s.budget, s.target_share, s.models, before, bounds,
                    rounds)


def batch_size(budget: int, processes: int) -> int:
    """Candidates judged per round: twice the budget, and at least 8 per worker process."""
    return max(2 * budget, 8 * processes, 16)


def _reaches_nothing(scene: Scene, grid: WatchGrid, n: int, *, compliant: bool = False) -> InputError:
    levels = ", ".join(sorted(set(grid.levels)))
    what = "once compliant (masks, proposed limits)" if compliant else "through no mask"
    return InputError(f"none of the {n:,} candidates reaches any watched cell at the level it needs ({levels}) "
                      f"{what}; lower the level or add candidates nearer", file=scene.scenario.source,
                      field="watch_areas" if scene.scenario.watch_areas else "placement.watch_streets.level")


def chosen_spec(p: Proposal, i: int, name: str, frame: Frame) -> dict[str, object]:
    """The scenario entry of chosen candidate ``i`` (index into ``p.candidates``), named ``name``, at
    its lon/lat (WGS 84, to 1e-7 deg: about 1 cm), with its proposed limits."""
    spec, _ = p.candidates[i]
    o = p.outcome(i)
    lon, lat = (float(v) for v in frame.to_lonlat(spec.x or 0.0, spec.y or 0.0))
    entry: dict[str, object] = {"id": name, "model": spec.model, "lon": round(lon, 7), "lat": round(lat, 7),
                                "mount_height_m": spec.mount_height_m}
    if spec.direction_deg is not None:  # a fixed camera, pointed
        entry["direction_deg"] = spec.direction_deg
    if o.pan_limits_deg is not None:
        entry["pan_limits_deg"] = [round(v % 360.0, 1) for v in o.pan_limits_deg]  # wraps through north
    if o.tilt_limits_deg is not None:
        entry["tilt_limits_deg"] = [round(v, 1) for v in o.tilt_limits_deg]
    return entry


def share(part: float, whole: float) -> float:
    return part / whole if whole > 0 and math.isfinite(whole) else 0.0
