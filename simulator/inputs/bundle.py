"""Scenarios as self-contained zip bundles, and scenarios made from uploaded files.

A bundle holds ``scenario.yaml`` and every data file it references (with their sidecar files: a
shapefile's .dbf/.shx/.prj, a GeoTIFF's .aux.xml) under ``data/``, with the paths rewritten. The
cameras are written out explicitly (x/y in the scenario's CRS, which the bundle states), so a bundle
made from the app's edited cameras opens with exactly those cameras.

Zips are untrusted input: members are read only under ``data/`` or as ``scenario.yaml``, with no
absolute paths, no ``..``, no links, and limits on the count and the unpacked size.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..errors import InputError
from ..scenario import Scenario, load_scenario

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # per uploaded file
MAX_BUNDLE_MEMBERS = 2000
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".shp", ".zip")
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".fgb", ".pbf", ".gml", ".xml", ".zip")


def _layer_paths(data: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str]]:
    """(mapping, key) of every file path in a scenario mapping (plain YAML data)."""
    for key in ("buildings", "openings", "streets", "terrain", "private_areas", "sensitive_places"):
        entry = data.get(key)
        if isinstance(entry, dict) and entry.get("path"):
            yield entry, "path"
    for entry in data.get("models") or ():
        yield entry, "path"
    cams = data.get("cameras")
    for entry in ([cams] if isinstance(cams, dict) else cams or ()):
        for key in ("path", "osm"):
            if isinstance(entry, dict) and entry.get(key):
                yield entry, key


def _sidecars(path: Path) -> list[Path]:
    """The file and the files beside it that belong to it (same stem: .dbf, .prj, .aux.xml ...)."""
    stem = path.name.split(".")[0]
    return sorted({path, *(p for p in path.parent.glob(f"{stem}.*") if p.is_file())})


def data_files(scenario: Scenario) -> list[Path]:
    """Every data file ``scenario`` reads (with the files beside each that belong to it: ``.prj``,
    ``.dbf`` ...), resolved, once each, in the order the scenario names them; missing ones left out."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    out: dict[Path, None] = {}
    for entry, key in _layer_paths(data):
        src = scenario.resolve(entry[key])
        if src.is_file():
            out.update(dict.fromkeys(_sidecars(src)))
    return list(out)


def pack_scenario(scenario: Scenario, *, cameras: Sequence[dict[str, Any]] | None = None,
                  crs: str | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip bundle of ``scenario`` with its data files; ``cameras`` (plain specs, x/y in ``crs``)
    replace the scenario's cameras when given; ``extra`` adds files at the bundle's root."""
    data = scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data["name"] = scenario.name
    if crs:
        data["crs"] = crs
    if cameras is not None:
        data["cameras"] = [{k: v for k, v in c.items() if v is not None} for c in cameras]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        written: dict[Path, str] = {}
        for entry, key in _layer_paths(data):
            src = scenario.resolve(entry[key])
            if not src.is_file():
                raise InputError("data file not found", file=str(src), field=key)
            if src not in written:
                folder = f"data/{len(written) + 1:02d}"
                for f in _sidecars(src):
                    _add(z, f"{folder}/{f.name}", f.read_bytes())
                written[src] = f"{folder}/{src.name}"
            entry[key] = written[src]
        _add(z, "scenario.yaml", yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False, allow_unicode=True))
        for name, content in (extra or {}).items():
            _add(z, name, content)
    return buf.getvalue()


def _add(z: zipfile.ZipFile, name: str, content: str | bytes) -> None:
    """A member with a fixed date: the same scenario always packs to the same bytes (and digest)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    z.writestr(info, content)


def _safe_member(name: str) -> PurePosixPath | None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or "\\" in name or not p.parts:
        return None
    return p


def unpack_bundle(content: bytes, dest: Path, *, source: str = "bundle.zip") -> Path:
    """Extract a bundle into the new folder ``dest`` and return its validated ``scenario.yaml``."""
    try:
        z = zipfile.ZipFile(io.BytesIO(content))
        infos = z.infolist()
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"not a readable zip file ({exc})", file=source) from None
    if len(infos) > MAX_BUNDLE_MEMBERS:
        raise InputError(f"{len(infos)} files in the zip, the limit is {MAX_BUNDLE_MEMBERS}", file=source)
    if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise InputError(f"unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB", file=source)
    names = {i.filename for i in infos}
    if "scenario.yaml" not in names:
        raise InputError("no scenario.yaml at the top of the zip (is it a scenario bundle?)", file=source)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        for info in infos:
            member = _safe_member(info.filename)
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if member is None or is_link:
                raise InputError(f"unsafe path in the zip: {info.filename!r}", file=source)
            if info.is_dir():
                continue
            if member.name != "scenario.yaml" and member.parts[0] != "data":
                continue
            target = staging.joinpath(*member.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with z.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise InputError(f"damaged member {info.filename!r} ({exc})", file=source) from None
        _paths_inside(staging, source)
        return _publish(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _paths_inside(folder: Path, source: str) -> None:
    """Refuse a bundled scenario whose data paths leave the bundle (absolute, ``..``, ``~``): a bundle is
    built from its own files only."""
    from ..scenario import load_yaml

    data = load_yaml(folder / "scenario.yaml")
    if not isinstance(data, dict):
        return  # load_scenario names the problem
    try:
        entries = list(_layer_paths(data))
    except (TypeError, AttributeError, KeyError):
        return  # not the scenario format: load_scenario names the field
    root = folder.resolve()
    for entry, key in entries:
        value = entry.get(key) if isinstance(entry, dict) else None
        if not isinstance(value, str):
            continue
        if "\0" in value or value.startswith("~") or Path(value).is_absolute():
            bad = True
        else:
            bad = not (folder / value).resolve().is_relative_to(root)
        if bad:
            raise InputError(f"scenario.yaml names a file outside the bundle ({value[:80]!r}); a bundle's paths "
                             f"point under data/", file=source, field=key)


def _publish(staging: Path, dest: Path) -> Path:
    """Validate the scenario made in ``staging``, then move it to ``dest`` (replacing an older one)."""
    load_scenario(staging / "scenario.yaml")  # validate before it appears under its name
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return dest / "scenario.yaml"


def _role(path: Path) -> str:
    """What an uploaded file holds: ``buildings``, ``streets``, ``cameras``, ``model``, ``osm`` or
    ``bundle``; read from its name and, for vectors, its geometry types."""
    name = path.name.lower()
    if name.endswith((".pbf", ".osm")):
        return "osm"
    if name.endswith((".gml", ".xml")):
        return "model"
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as z:
                if "scenario.yaml" in z.namelist():
                    return "bundle"
        except (zipfile.BadZipFile, EOFError) as exc:
            raise InputError(f"not a readable zip file ({exc})", file=path.name) from None
        raise InputError("a zip must be a scenario bundle (with scenario.yaml at its top)", file=path.name)
    if name.endswith((".json", ".geojson")):
        text = path.read_bytes()
        if re.search(rb'"type"\s*:\s*"CityJSON"', text) and b'"CityObjects"' in text:
            return "model"
    import pyogrio

    try:
        info = pyogrio.read_info(path)
    except Exception as exc:  # noqa: BLE001 - GDAL's many error types; reported in one line
        raise InputError(f"not a readable vector file ({str(exc).splitlines()[0]})", file=path.name) from None
    geom = str(info.get("geometry_type") or "").lower()
    if "polygon" in geom:
        return "buildings"
    if "line" in geom:
        return "streets"
    if "point" in geom:
        return "cameras"
    raise InputError(f"geometry type {info.get('geometry_type')!r} is not polygons (buildings), lines (streets) "
                     "or points (cameras)", file=path.name, field="geometry")


def scenario_from_uploads(files: Sequence[tuple[str, bytes]], dest: Path, *, name: str,
                          crs: str | None = None, max_bytes: int = MAX_UPLOAD_BYTES) -> Path:
    """A scenario in the new folder ``dest`` from uploaded files (name, content): GeoJSON, GeoPackage
    or FlatGeobuf layers (polygons: buildings, lines: streets, points: cameras), an OSM PBF
    (buildings, streets and mapped cameras), CityJSON or CityGML models, or one scenario bundle zip.
    Returns the path of its ``scenario.yaml``, validated (the scene itself is built by the caller)."""
    if not files:
        raise InputError("no file uploaded", field="files")
    for fname, content in files:
        if len(content) > max_bytes:
            raise InputError(f"{len(content) / 2**20:.1f} MB, the limit is {max_bytes / 2**20:.0f} MB", file=fname)
        if not fname.lower().endswith(UPLOAD_SUFFIXES):
            raise InputError(f"unsupported file type; expected one of {', '.join(UPLOAD_SUFFIXES)}", file=fname)
        if not content:
            raise InputError("empty file", file=fname)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if len(files) == 1 and files[0][0].lower().endswith(".zip"):
        return unpack_bundle(files[0][1], dest, source=files[0][0])
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=dest.parent))
    try:
        roles: dict[str, list[str]] = {}
        for fname, content in files:
            safe = Path(fname).name
            (staging / safe).write_bytes(content)
            role = _role(staging / safe)
            if role == "bundle":
                raise InputError("upload a scenario bundle on its own", file=fname)
            roles.setdefault(role, []).append(safe)
        data: dict[str, Any] = {"name": name}
        if crs:
            data["crs"] = crs
        for role in ("buildings", "streets", "osm"):
            if len(roles.get(role, [])) > 1:
                raise InputError(f"more than one {role} file: {', '.join(roles[role])}", field=role)
        if "osm" in roles:
            pbf = roles["osm"][0]
            data["buildings"] = {"path": roles.get("buildings", [pbf])[0]}
            data["cameras"] = {"osm": pbf}
        elif "buildings" in roles:
            data["buildings"] = {"path": roles["buildings"][0]}
        if "streets" in roles:
            data["streets"] = {"path": roles["streets"][0]}
        if "model" in roles:
            data["models"] = [{"path": p} for p in roles["model"]]
        if "cameras" in roles:
            if "osm" in roles:
                raise InputError("cameras come from the OSM file; upload a camera layer without it", field="cameras")
            data["cameras"] = {"path": roles["cameras"][0]}
        if "buildings" not in data and "models" not in data:
            raise InputError("no buildings: upload building polygons, an OSM PBF, CityJSON or CityGML",
                             field="files")
        (staging / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return _publish(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
