"""Scenario files: the YAML schema (pydantic) and loading.

Paths in a scenario are relative to the scenario file. Unknown keys are an error that names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import InputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layer(_Strict):
    """A data file: GeoJSON, GeoPackage, Shapefile, FlatGeobuf, or an OSM PBF where noted."""

    path: str
    layer: str | None = None
    crs: str | None = None


# plausible ranges: values beyond them are refused (a typo or a unit error, not a scene)
MAX_BUILDING_HEIGHT_M = 1000.0  # the tallest building stands 828 m
MAX_MOUNT_HEIGHT_M = 500.0  # a camera on a mast or a roof
MAX_RANGE_M = 5000.0
# where a camera's mount height or a fixed camera's tilt is not given (stated in its ``defaults``)
DEFAULT_MOUNT_HEIGHT_M = 5.0
DEFAULT_TILT_DEG = -15.0


class GenerateFromStreets(_Strict):
    """Perimeter-block buildings generated from the street network's blocks (labelled ``generated``)."""

    setback_m: float = Field(6.0, gt=0)
    depth_m: float = Field(12.0, gt=0)
    min_block_area_m2: float = Field(600.0, gt=0)
    max_block_area_m2: float = Field(60000.0, gt=0)
    levels: tuple[int, int] = (3, 8)
    seed: int = 0


class BuildingsLayer(_Strict):
    path: str | None = None
    layer: str | None = None
    crs: str | None = None
    id_field: str = "id"
    height_field: str | None = "height"
    levels_field: str | None = "building:levels"
    use_field: str | None = "building"
    default_height_m: float = Field(9.0, gt=0, le=MAX_BUILDING_HEIGHT_M)
    unknown_use: Literal["residential", "non_residential"] = "residential"
    generate_from_streets: GenerateFromStreets | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BuildingsLayer:
        if (self.path is None) == (self.generate_from_streets is None):
            raise ValueError("give exactly one of 'path' or 'generate_from_streets'")
        return self


class OpeningsLayer(Layer):
    id_field: str = "id"
    kind_field: str = "kind"
    building_field: str = "building_id"


class PrivateAreasLayer(Layer):
    id_field: str = "id"
    kind_field: str | None = "kind"
    default_kind: Literal["backyard", "terrace", "balcony", "courtyard"] = "backyard"
    z_field: str | None = "z"


class SensitivePlacesLayer(Layer):
    """Places used in seclusion (public toilets, changing rooms …): points or polygons."""

    id_field: str = "id"


class WindowLayout(_Strict):
    synthesize: bool = True
    width_m: float = Field(1.2, gt=0, le=20)
    height_m: float = Field(1.4, gt=0, le=20)
    spacing_m: float = Field(3.0, ge=0.5, le=100)
    sill_m: float = Field(0.9, ge=0)
    doors: bool = True
    door_width_m: float = Field(1.0, gt=0)
    door_height_m: float = Field(2.1, gt=0)


class DoriThresholds(_Strict):
    detect: float = 25.0
    observe: float = 62.5
    recognise: float = 125.0
    identify: float = 250.0

    @model_validator(mode="after")
    def _increasing(self) -> DoriThresholds:
        if not (0 < self.detect < self.observe < self.recognise < self.identify):
            raise ValueError("thresholds must increase: 0 < detect < observe < recognise < identify")
        return self


class Analysis(_Strict):
    max_range_m: float = Field(400.0, gt=0, le=MAX_RANGE_M)
    sample_spacing_m: float = Field(0.25, ge=0.01)
    surface_sample_spacing_m: float = Field(1.0, ge=0.05)
    max_samples_per_target: int = Field(400, ge=1, le=100_000)
    dori_px_per_m: DoriThresholds = DoriThresholds()
    # the density classes are read from: "frontal" (the camera's px/m at the distance, as IEC 62676-4
    # defines it for a target facing the camera: the privacy-conservative default) or "foreshortened"
    # (px/m x cos(incidence) across the surface)
    density_basis: Literal["frontal", "foreshortened"] = "frontal"
    # the classes the report's tables use: IEC 62676-4:2014 DORI or the 2025 levels (both are in exposures.csv)
    density_levels: Literal["dori_2014", "iec_2025"] = "dori_2014"
    # the grazing rule: windows and doors sit at the back of a reveal this deep [m]; a line of sight
    # so oblique that the reveal hides the whole opening does not see inside (``exposure.through_share``)
    reveal_depth_m: float = Field(0.15, ge=0, le=2)
    # and, if given, beyond this incidence [deg] no opening is seen into
    grazing_max_incidence_deg: float | None = Field(None, gt=0, le=90)
    # windows and doors of 3D models: "holes" in the walls, as the models draw them (a line of sight
    # passes through one building's windows to the next: the privacy-conservative default, glass is
    # clear), or "glass" that stops it
    model_openings: Literal["holes", "glass"] = "holes"
    # a cell at the edge of what a camera sees is resampled at refine x refine points (1: off; odd, so
    # that the cell's own sample, at its centre, is one of them)
    refine: int = Field(5, ge=1, le=15)

    @field_validator("refine")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError("refine must be odd (the cell's own sample, at its centre, is one of its points)")
        return v
    threads: int | None = Field(None, ge=1)
    # side [m] of the square tiles a run is cut into: the cameras of a tile work on the part of the
    # scene within their reach (``simulator.run.tiles``); None: the whole scene at once (a cluster run
    # then uses DEFAULT_TILE_M)
    tile_m: float | None = Field(None, ge=50)


DEFAULT_TILE_M = 1000.0


class MaskSettings(_Strict):
    """Privacy-mask generation: the margin added around every mask (pointing repeatability; Bosch
    advises masks ~10 % larger than the object), and the spacing of public street samples used to
    measure what masks hide."""

    enabled: bool = True
    margin_deg: float = Field(0.3, ge=0, le=10)
    street_sample_spacing_m: float = Field(5.0, ge=0.1)
    street_sample_height_m: float = Field(1.5, ge=0)
    # mask whole facades too (for authorities that ask for it), not only those whose openings are unknown
    cover_facades: bool = False
    # how plans are chosen (``masks.cover``): the least public space hidden within the camera's mask
    # limit first (then the fewest masks), or the fewest masks first
    objective: Literal["least_public_hidden", "fewest_masks"] = "least_public_hidden"
    # time budget [s] per integer program, a backstop (the program's node limit makes plans the same on
    # every machine); 0: the greedy cover alone
    time_limit_s: float = Field(10.0, ge=0, le=600)


class CoverageSettings(_Strict):
    """Public-space coverage: open ground on a grid of ``cell_m`` cells, seen at ``height_m`` above the
    ground (1.6 m: a face)."""

    enabled: bool = True
    cell_m: float = Field(2.0, ge=0.1)
    height_m: float = Field(1.6, ge=0)


class OnvifTokens(_Strict):
    """The device's ONVIF tokens that the exported requests name (read them from the device with
    ``GetProfiles``, ``GetVideoSourceConfigurations`` and ``GetConfigurations``)."""

    profile_token: str = Field("Profile_1", min_length=1, max_length=64)
    video_source_token: str = Field("VideoSourceConfig_1", min_length=1, max_length=64)
    ptz_configuration_token: str = Field("PTZConfig_1", min_length=1, max_length=64)
    ptz_node_token: str = Field("PTZNode_1", min_length=1, max_length=64)


class MaskLimitsSpec(_Strict):
    max_masks: int | None = Field(None, ge=1)  # a camera that takes no mask cannot be planned: --no-masks
    max_vertices: int | None = Field(None, ge=3)
    rectangle_only: bool | None = None


Angle = Annotated[float, Field(ge=-360, le=720)]


class CameraSpec(_Strict):
    id: str
    model: str | None = None
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    x: float | None = None
    y: float | None = None
    mount_height_m: float | None = Field(None, gt=0, le=MAX_MOUNT_HEIGHT_M)
    kind: Literal["ptz", "fixed"] | None = None
    resolution_px: tuple[int, int] | None = None
    hfov_deg: tuple[float, float] | None = None
    pan_limits_deg: tuple[Angle, Angle] | None = None
    tilt_limits_deg: tuple[float, float] | None = None
    direction_deg: float | None = None
    tilt_deg: float | None = Field(None, ge=-90, le=90)
    range_m: float | None = Field(None, gt=0, le=MAX_RANGE_M)
    mask_limits: MaskLimitsSpec | None = None
    onvif: OnvifTokens | None = None

    @model_validator(mode="after")
    def _position(self) -> CameraSpec:
        has_ll = self.lon is not None and self.lat is not None
        has_xy = self.x is not None and self.y is not None
        if has_ll == has_xy:
            raise ValueError("give either lon and lat, or x and y")
        if self.pan_limits_deg and abs(self.pan_limits_deg[1] - self.pan_limits_deg[0]) > 360:
            raise ValueError(f"pan_limits_deg must be [from, to] clockwise, at most 360 deg apart (to < from "
                             f"wraps through north), got {list(self.pan_limits_deg)}")
        if self.tilt_limits_deg and not (-90 <= self.tilt_limits_deg[0] <= self.tilt_limits_deg[1] <= 90):
            raise ValueError(f"tilt_limits_deg must be [min, max] within -90..90, got {list(self.tilt_limits_deg)}")
        if self.hfov_deg and not all(0 < h < 180 for h in self.hfov_deg):
            raise ValueError(f"hfov_deg must be within (0, 180), got {list(self.hfov_deg)}")
        if self.resolution_px and min(self.resolution_px) <= 0:
            raise ValueError(f"resolution_px must be positive, got {list(self.resolution_px)}")
        return self


class CameraDefaults(_Strict):
    """Defaults for cameras read from files (OSM tags, GeoJSON) where a value is missing."""

    fixed_model: str = "generic-bullet-2.8mm"
    ptz_model: str = "axis-q6075-e"
    mount_height_m: float = Field(DEFAULT_MOUNT_HEIGHT_M, gt=0, le=MAX_MOUNT_HEIGHT_M)
    tilt_deg: float = Field(DEFAULT_TILT_DEG, ge=-90, le=90)


class CamerasFromFile(_Strict):
    path: str | None = None
    osm: str | None = None
    layer: str | None = None
    crs: str | None = None
    defaults: CameraDefaults = CameraDefaults()

    @model_validator(mode="after")
    def _one_source(self) -> CamerasFromFile:
        if (self.path is None) == (self.osm is None):
            raise ValueError("give exactly one of 'path' or 'osm'")
        return self


class CamerasAtIntersections(_Strict):
    """Cameras placed deterministically at the intersections of the busiest streets."""

    count: int = Field(ge=1)
    model: str
    mount_height_m: float = Field(DEFAULT_MOUNT_HEIGHT_M, gt=0, le=MAX_MOUNT_HEIGHT_M)
    highways: tuple[str, ...] = ("trunk", "primary", "secondary", "tertiary")
    min_separation_m: float = Field(120.0, ge=0)
    id_prefix: str = "cam-"


class CamerasGenerated(_Strict):
    at_intersections: CamerasAtIntersections


CameraEntry = CameraSpec | CamerasFromFile | CamerasGenerated


class WorkLimits(_Strict):
    """Bounds on the work a scenario asks for, checked before the work (raise them here when a run is
    meant to be that large): visible-sample candidates on private targets, public street samples,
    coverage grid cells, and rays (every sample of a private target within a camera's range)."""

    max_samples: int = Field(30_000_000, ge=1)
    max_street_samples: int = Field(5_000_000, ge=1)
    max_grid_cells: int = Field(50_000_000, ge=1)
    max_rays: int = Field(500_000_000, ge=1)  # rays to private-target samples in each camera's range


DoriLevel = Literal["identify", "recognise", "observe", "detect"]  # vocabulary.DORI_CLASSES


class WatchAreasLayer(Layer):
    """Public places to watch (polygons), each at the DORI level it needs (``level_field``, else
    ``default_level``): what ``simulator place`` maximises."""

    id_field: str = "id"
    level_field: str = "level"
    default_level: DoriLevel = "observe"


class WatchStreets(_Strict):
    """The watched space where a scenario has no ``watch_areas``: the public ground within
    ``half_width_m`` of the centre line of its streets (of these ``highways`` only, if given), at ``level``."""

    highways: tuple[str, ...] | None = None
    half_width_m: float = Field(6.0, gt=0, le=100)
    level: DoriLevel = "observe"


class PolesAlongStreets(_Strict):
    """Candidate poles every ``spacing_m`` along the streets (of these ``highways`` only, if given),
    ``setback_m`` from the centre line, on alternate sides."""

    spacing_m: float = Field(40.0, ge=5, le=10_000)
    setback_m: float = Field(4.0, ge=0, le=100)
    highways: tuple[str, ...] | None = None


class FacadeMounts(_Strict):
    """Candidate brackets on the outer walls of non-residential buildings, every ``spacing_m`` along
    them (at the candidates' mount heights up to the building's height)."""

    spacing_m: float = Field(30.0, ge=5, le=10_000)


class PlacementCandidates(_Strict):
    """Where ``simulator place`` may put a camera, and what it tries there: every position at every
    mount height with every model."""

    poles: PolesAlongStreets | None = PolesAlongStreets()
    osm_mounts: bool = True  # street lamps, poles and masts in the scenario's OSM files
    facades: FacadeMounts | None = None
    points: Layer | None = None  # the user's own positions (points)
    mount_heights_m: tuple[Annotated[float, Field(gt=0, le=MAX_MOUNT_HEIGHT_M)], ...] = Field((6.0,), min_length=1,
                                                                                              max_length=8)
    models: tuple[str, ...] = ()  # catalogue ids; none given: the PTZ default (cameras' defaults)


class PlacementSettings(_Strict):
    """What ``simulator place`` proposes: up to ``budget`` cameras (``--budget``), stopping early once
    ``target_share`` of the watched area is reached (``--target-share``), among at most
    ``max_candidates`` candidates (a bound on the work, checked before it)."""

    budget: int = Field(10, ge=1, le=10_000)
    target_share: float | None = Field(None, gt=0, le=1)
    watch_streets: WatchStreets = WatchStreets()
    candidates: PlacementCandidates = PlacementCandidates()
    max_candidates: int = Field(5000, ge=1, le=1_000_000)


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=200)
    crs: str | None = None
    extent: tuple[float, float, float, float] | None = None
    buildings: BuildingsLayer | None = None
    storey_height_m: float = Field(3.0, ge=1.5, le=10)
    openings: OpeningsLayer | None = None
    windows: WindowLayout = WindowLayout()
    streets: Layer | None = None
    terrain: Layer | None = None
    models: tuple[Layer, ...] = ()
    private_areas: PrivateAreasLayer | None = None
    sensitive_places: SensitivePlacesLayer | None = None
    watch_areas: WatchAreasLayer | None = None
    placement: PlacementSettings = PlacementSettings()
    analysis: Analysis = Analysis()
    masks: MaskSettings = MaskSettings()
    coverage: CoverageSettings = CoverageSettings()
    limits: WorkLimits = WorkLimits()
    cameras: tuple[CameraEntry, ...] | CamerasFromFile | CamerasGenerated = ()

    # where the file was read from; not part of the YAML
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="<scenario>", exclude=True)

    @field_validator("extent")
    @classmethod
    def _extent(cls, v: tuple[float, float, float, float] | None) -> tuple[float, float, float, float] | None:
        if v is not None:
            lon0, lat0, lon1, lat1 = v
            if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
                raise ValueError("extent must be [lon_min, lat_min, lon_max, lat_max] in degrees")
        return v

    @property
    def camera_entries(self) -> tuple[CameraEntry, ...]:
        return self.cameras if isinstance(self.cameras, tuple) else (self.cameras,)

    def resolve(self, path: str) -> Path:
        """A scenario path made absolute against the scenario file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)


def _format_loc(loc: tuple[Any, ...]) -> str:
    # pydantic adds union-member names (e.g. 'CameraSpec') to locations; keep only real field names
    names = [str(p) for p in loc if not (isinstance(p, str) and (p[:1].isupper() or "[" in p))]
    return ".".join(names) or "<root>"


def _best_member(errs: list[Any]) -> list[Any]:
    """Of the errors of a union (``cameras`` may be a list or one source; each entry any of three
    shapes), those of the member that fails least, level by level: the shape the author meant. A
    member whose only error is that the value is not of its type ranks last."""
    mismatch = ("model_type", "model_attributes_type", "dict_type", "tuple_type", "list_type")

    def is_member(p: Any) -> bool:
        return isinstance(p, str) and (p[:1].isupper() or "[" in p)

    depth = 0
    while True:
        groups: dict[Any, list[Any]] = {}
        for e in errs:
            loc = e["loc"]
            ks = [i for i, p in enumerate(loc) if is_member(p)]
            groups.setdefault(tuple(loc[:ks[depth] + 1]) if len(ks) > depth else None, []).append(e)
        if len(groups) < 2:
            if None in groups or not groups:
                return errs
            depth += 1
            continue
        errs = min(groups.values(), key=lambda g: (all(e["type"] in mismatch for e in g),
                                                   sum(e["type"] in ("extra_forbidden", "missing") for e in g), len(g)))
        depth += 1


def shorten(value: Any, n: int = 60) -> str:
    """``repr(value)``, cut to ``n`` characters (a message quotes a value; it does not dump it)."""
    if isinstance(value, (dict, list)) and not _expanded_size_ok(value, 1000):
        return f"<a {type(value).__name__} too large to show>"
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def scenario_from_dict(data: Any, *, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a parsed scenario mapping; errors name the file and the field path."""
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of scenario keys, got {type(data).__name__}", file=source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _input_error(exc, source=source) from None
    return scenario.model_copy(update={"base_dir": base_dir or Path("."), "source": source})


def camera_spec(data: Any, *, source: str, field: str) -> CameraSpec:
    """One camera entry validated as a scenario file's are (the app's edits, OSM nodes, generated
    cameras): errors name ``source`` and the field under ``field``."""
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping of camera keys, got {type(data).__name__}", file=source, field=field)
    try:
        return CameraSpec.model_validate(data)
    except ValidationError as exc:
        raise _input_error(exc, source=source, prefix=field) from None


def _input_error(exc: ValidationError, *, source: str, prefix: str = "") -> InputError:
    """The one-line ``InputError`` for a validation failure: the error that tells the most."""
    errs = _best_member(exc.errors())
    # union-typed entries (cameras) report an error per member: an unknown key is the most telling
    # when every error is an unknown or a missing key, else the most deeply nested error
    # (a union member that fails on a value is the one meant: an unknown key of another member is not)
    extra = [e for e in errs if e["type"] == "extra_forbidden"]
    shape = ("extra_forbidden", "missing", "model_type", "model_attributes_type", "dict_type", "tuple_type")
    telling = [e for e in errs if e["type"] not in shape]
    if telling:
        err = max(telling, key=lambda e: len(e["loc"]))
    elif extra:
        err = extra[0]
    else:
        err = max(errs, key=lambda e: len(e["loc"]))
    loc = _format_loc(err["loc"])
    if prefix:
        loc = prefix if loc == "<root>" else f"{prefix}.{loc}"
    if err["type"] == "extra_forbidden":
        return InputError("unknown key (not part of the scenario format)", file=source, field=loc)
    if err["type"] == "missing":
        return InputError("a required key is missing", file=source, field=loc)
    if err["type"] == "value_error":  # our own checks: the message quotes the value
        return InputError(str(err["msg"]).removeprefix("Value error, "), file=source, field=loc)
    return InputError(f"{err['msg']}, got {shorten(err.get('input'))}", file=source, field=loc)


MAX_SCENARIO_BYTES = 4 << 20  # a scenario names its data files; it does not hold them
MAX_YAML_ALIASES = 10_000  # aliases (*name) in one file; the expanded size below is the real bound
MAX_YAML_NODES = 200_000  # values in the scenario once its aliases are expanded


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses more than ``MAX_YAML_ALIASES`` aliases."""

    aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES:,} aliases (*name); a scenario needs far fewer")
        return super().compose_node(parent, index)


def _expanded_size_ok(data: Any, budget: int = MAX_YAML_NODES) -> bool:
    """Whether ``data`` holds at most ``budget`` values once shared (aliased) parts are counted each
    time they appear; stops counting at the budget."""
    todo, n = [data], 0
    while todo:
        n += 1
        if n > budget:
            return False
        x = todo.pop()
        if isinstance(x, dict):
            todo.extend(x.values())
            todo.extend(x.keys())
        elif isinstance(x, list):
            todo.extend(x)
    return True


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (bounded: its size, its aliases, its expanded size)."""
    p = Path(path)
    return scenario_from_dict(load_yaml(p), source=str(p), base_dir=p.resolve().parent)


def load_yaml(p: Path) -> Any:
    """A scenario file's YAML data, bounded (size, aliases, expanded size); ``InputError`` otherwise."""
    if not p.is_file():
        raise InputError("scenario file not found", file=str(p))
    if p.stat().st_size > MAX_SCENARIO_BYTES:
        raise InputError(f"{p.stat().st_size:,} bytes, more than a scenario's {MAX_SCENARIO_BYTES:,}: data belongs "
                         f"in the files it names", file=str(p))
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
        if not _expanded_size_ok(data):
            raise InputError(f"more than {MAX_YAML_NODES:,} values once its aliases are expanded: refused",
                             file=str(p))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise InputError(f"not valid YAML ({where}): {getattr(exc, 'problem', exc)}", file=str(p)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(p)) from None
    return data
