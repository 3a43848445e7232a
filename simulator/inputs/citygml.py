"""CityGML 1.0/2.0 (LoD1-LoD3) through lxml with entities, DTDs and network access off.

Buildings and building parts, Wall/Roof/Ground/Closure surfaces, ``Window``/``Door`` openings,
``measuredHeight``, ``storeysAboveGround`` and ``function`` codes. Geometry without thematic surfaces
(LoD1 solids) is kept as surfaces classified by their normal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lxml import etree

from ..errors import InputError
from .citymodel import SURFACE_KINDS, CityModel, ModelBuilding, ModelOpening, Polygon3D, clean_ring, crs_from_text

GML_ID = "{http://www.opengis.net/gml}id"
BUILDING_TAGS = {"Building", "BuildingPart"}


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def safe_parser() -> etree.XMLParser:
    """An lxml parser for untrusted XML: no entity expansion, no DTD loading, no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True)


def _ring_coords(ring: etree._Element) -> np.ndarray | None:
    dim = 3
    for el in ring.iter():
        name = _local(el)
        if name == "posList":
            dim = int(el.get("srsDimension") or el.get("dimension") or 3)
            vals = np.array((el.text or "").split(), dtype=float)
            if dim != 3 or vals.size % 3:
                return None
            return clean_ring(vals.reshape(-1, 3))
    pos = [np.array((p.text or "").split(), dtype=float) for p in ring.iter() if _local(p) == "pos"]
    if pos and all(p.size == 3 for p in pos):
        return clean_ring(np.stack(pos))
    coords = [el for el in ring.iter() if _local(el) == "coordinates"]
    if coords:
        vals = np.array((coords[0].text or "").replace(",", " ").split(), dtype=float)
        return clean_ring(vals.reshape(-1, 3)) if vals.size % 3 == 0 else None
    return None


def _polygons(el: etree._Element) -> list[Polygon3D]:
    out = []
    for poly in el.iter():
        if _local(poly) not in ("Polygon", "Triangle"):
            continue
        rings = []
        for child in poly:
            if _local(child) in ("exterior", "interior", "outerBoundaryIs", "innerBoundaryIs"):
                for ring in child:
                    c = _ring_coords(ring)
                    if c is not None:
                        rings.append((_local(child) in ("exterior", "outerBoundaryIs"), c))
        rings.sort(key=lambda r: not r[0])
        if rings and rings[0][0]:
            out.append(Polygon3D([c for _, c in rings]))
    return out


def _classify_by_normal(poly: Polygon3D) -> str:
    nz = poly.newell_normal()[2]
    return "roof" if nz > 0.3 else ("ground" if nz < -0.3 else "wall")


def _walk_building(el: etree._Element, b: ModelBuilding, openings: list[ModelOpening],
                   parts: list[etree._Element]) -> None:
    """Collect surfaces and openings of one building element, not descending into building parts."""
    for child in el:
        name = _local(child)
        if name == "consistsOfBuildingPart":
            parts.extend(c for c in child if _local(c) == "BuildingPart")
        elif name == "measuredHeight":
            b.measured_height = _float(child.text)
        elif name == "storeysAboveGround":
            b.storeys = _float(child.text)
        elif name == "function" and b.function is None:
            b.function = (child.text or "").strip() or None
        elif name == "boundedBy":
            for surf in child:
                kind = SURFACE_KINDS.get(_local(surf))
                if kind is None:
                    continue
                geoms = [g for g in surf if _local(g).startswith("lod") and "opening" not in _local(g)]
                polys = [p for g in geoms for p in _polygons(g)]
                b.surfaces += [(kind, p) for p in polys]
                wall_n = polys[0].newell_normal() if polys else None
                for op in surf:
                    if _local(op) != "opening":
                        continue
                    for o in op:
                        okind = SURFACE_KINDS.get(_local(o))
                        if okind not in ("window", "door"):
                            continue
                        opolys = _polygons(o)
                        if opolys:
                            openings.append(ModelOpening(id=o.get(GML_ID) or f"{b.id}-{okind}-{len(openings)}",
                                                         kind=okind, building_id=b.id, polygons=opolys,
                                                         wall_normal=wall_n))
        elif name.startswith("lod") and ("Solid" in name or "MultiSurface" in name or "Geometry" in name):
            b.surfaces += [("_unclassified", p) for p in _polygons(child)]
        elif name in ("outerBuildingInstallation",):
            b.surfaces += [("installation", p) for p in _polygons(child)]


def _float(text: str | None) -> float | None:
    try:
        return float((text or "").strip())
    except ValueError:
        return None


def read_citygml(path: Path, *, label: str | None = None) -> CityModel:
    """Read the buildings of a CityGML file."""
    name = label or str(path)
    if not Path(path).is_file():
        raise InputError("file not found", file=name)
    try:
        tree = etree.parse(str(path), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"not well-formed XML ({exc.msg}, line {exc.lineno})", file=name) from None
    root = tree.getroot()
    srs = None
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("srsName"):
            srs = el.get("srsName")
            break
    buildings: list[ModelBuilding] = []
    openings: list[ModelOpening] = []
    for el in root.iter():
        if _local(el) != "Building":
            continue
        if any(_local(a) in BUILDING_TAGS for a in el.iterancestors()):
            continue
        stack: list[tuple[etree._Element, str | None]] = [(el, None)]
        while stack:
            node, parent = stack.pop()
            b = ModelBuilding(id=node.get(GML_ID) or f"building-{len(buildings)}", parent=parent)
            parts: list[etree._Element] = []
            _walk_building(node, b, openings, parts)
            if parent is not None:
                pb = next(x for x in buildings if x.id == parent)
                b.function = b.function or pb.function
            if any(k != "_unclassified" for k, _ in b.surfaces):
                # thematic surfaces given: the solid is the same geometry again (LoD1-style files keep it)
                b.surfaces = [(k, p) for k, p in b.surfaces if k != "_unclassified"]
            b.surfaces = [(_classify_by_normal(p) if k == "_unclassified" else k, p) for k, p in b.surfaces]
            buildings.append(b)
            stack.extend((p, b.id) for p in parts)
    if not buildings:
        raise InputError("no bldg:Building found", file=name)
    # a building whose geometry is entirely in its parts is represented by the parts
    with_geom = [b for b in buildings if b.surfaces]
    return CityModel(buildings=with_geom, openings=openings, crs=crs_from_text(srs), source=name)
