"""CityJSON 1.x / 2.0: buildings and building parts, semantic surfaces (Wall/Roof/Ground, Window/Door),
the highest LoD per object, ``transform`` (scale/translate), ``metadata.referenceSystem``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .citymodel import SURFACE_KINDS, CityModel, ModelBuilding, ModelOpening, Polygon3D, clean_ring, crs_from_text

HEIGHT_KEYS = ("measuredHeight", "measured_height", "height")
STOREY_KEYS = ("storeysAboveGround", "b3_bouwlagen", "storeys")
FUNCTION_KEYS = ("function", "usage", "buildingFunction")


def _lod_key(geom: dict[str, Any]) -> float:
    try:
        return float(str(geom.get("lod", 0)))
    except ValueError:
        return 0.0


def _surfaces(geom: dict[str, Any]) -> list[tuple[list[list[int]], int | None]]:
    """(rings, semantic index) for every surface of a MultiSurface/CompositeSurface/Solid/MultiSolid."""
    gtype = geom.get("type")
    b = geom.get("boundaries", [])
    sem = (geom.get("semantics") or {}).get("values")
    if gtype in ("MultiSurface", "CompositeSurface"):
        return [(s, sem[i] if sem else None) for i, s in enumerate(b)]
    if gtype == "Solid":
        return [(s, sem[j][i] if sem else None) for j, shell in enumerate(b) for i, s in enumerate(shell)]
    if gtype in ("MultiSolid", "CompositeSolid"):
        return [(s, sem[k][j][i] if sem else None) for k, solid in enumerate(b)
                for j, shell in enumerate(solid) for i, s in enumerate(shell)]
    return []


def _attr(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if attrs.get(k) not in (None, ""):
            return attrs[k]
    return None


def _num(v: Any) -> float | None:
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def read_cityjson(path: Path, *, label: str | None = None) -> CityModel:
    """Read the buildings of a CityJSON file (``.json`` / ``.city.json``)."""
    name = label or str(path)
    if not Path(path).is_file():
        raise InputError("file not found", file=name)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", file=name) from None
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        raise InputError("not a CityJSON document (type must be 'CityJSON')", file=name, field="type")
    try:
        verts = np.asarray(doc["vertices"], dtype=float).reshape(-1, 3)
        tr = doc.get("transform")
        if tr:
            verts = verts * np.asarray(tr["scale"], float) + np.asarray(tr["translate"], float)
        objects: dict[str, Any] = doc["CityObjects"]
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError(f"malformed CityJSON ({str(exc)[:80]})", file=name, field="vertices") from None
    finite = np.isfinite(verts).all(axis=1)
    if not finite.all():
        raise InputError(f"vertex {int(np.flatnonzero(~finite)[0])} is not finite (NaN or Infinity)", file=name,
                         field="vertices")
    buildings: list[ModelBuilding] = []
    openings: list[ModelOpening] = []
    for oid, obj in objects.items():
        if obj.get("type") not in ("Building", "BuildingPart"):
            continue
        attrs = obj.get("attributes") or {}
        parents = obj.get("parents") or []
        b = ModelBuilding(id=oid, parent=parents[0] if parents else None,
                          measured_height=_num(_attr(attrs, HEIGHT_KEYS)), storeys=_num(_attr(attrs, STOREY_KEYS)),
                          function=(str(_attr(attrs, FUNCTION_KEYS)) if _attr(attrs, FUNCTION_KEYS) else None))
        if b.parent and b.function is None:
            pattrs = (objects.get(b.parent) or {}).get("attributes") or {}
            f = _attr(pattrs, FUNCTION_KEYS)
            b.function = str(f) if f else None
        geoms = [g for g in obj.get("geometry") or [] if g.get("type") != "GeometryInstance"]
        if not geoms:
            continue
        geom = max(geoms, key=_lod_key)
        sem_surfaces = (geom.get("semantics") or {}).get("surfaces") or []
        try:
            for k, (surface, si) in enumerate(_surfaces(geom)):
                rings = [clean_ring(verts[np.asarray(r, dtype=int)]) for r in surface]
                if rings[0] is None:
                    continue
                poly = Polygon3D([r for r in rings if r is not None])
                stype = sem_surfaces[si]["type"] if si is not None and si < len(sem_surfaces) else None
                kind = SURFACE_KINDS.get(stype or "")
                if kind in ("window", "door"):
                    openings.append(ModelOpening(id=f"{oid}-{kind}-{k}", kind=kind, building_id=oid,
                                                 polygons=[poly]))
                    continue
                if kind is None:
                    nz = poly.newell_normal()[2]
                    kind = "roof" if nz > 0.3 else ("ground" if nz < -0.3 else "wall")
                b.surfaces.append((kind, poly))
        except (IndexError, ValueError, TypeError) as exc:
            raise InputError(f"malformed geometry ({exc})", file=name, field=f"CityObjects.{oid}.geometry") from None
        if b.surfaces:
            buildings.append(b)
    if not buildings:
        raise InputError("no Building or BuildingPart with geometry", file=name, field="CityObjects")
    ref = (doc.get("metadata") or {}).get("referenceSystem") or (doc.get("metadata") or {}).get("crs")
    return CityModel(buildings=buildings, openings=openings, crs=crs_from_text(ref if isinstance(ref, str) else None),
                     source=name)
