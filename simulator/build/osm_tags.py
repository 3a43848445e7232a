"""Interpret OpenStreetMap ``man_made=surveillance`` tags as camera specs.

Tag forms handled (see the reference on OSM camera tags): ``camera:direction`` in degrees, compass
letters (N, NNE, ...), ranges (``90-270``, a clockwise arc) and lists (``80;200``, one camera per
direction); ``camera:angle`` (degrees *down*) versus ``camera:tilt`` (degrees, negative down);
``height``/``camera:height`` with units; ``camera:type`` fixed | dome | panning; indoor cameras and
non-camera surveillance are excluded. Every value filled in by a default is listed in ``defaults``.
"""

from __future__ import annotations

import re
from typing import Any

COMPASS = {name: i * 22.5 for i, name in enumerate(
    "N NNE NE ENE E ESE SE SSE S SSW SW WSW W WNW NW NNW".split())}
NON_CAMERA_TYPES = {"guard", "gunshot_detector", "gunshot-detector"}
PTZ_TYPES = {"dome", "panning", "ptz"}


def parse_number(value: str | None) -> float | None:
    """A number from an OSM value: ``'5'``, ``'5 m'``, ``'3,5'``, ``'12 ft'``/``12'`` (feet); None if absent."""
    if value is None:
        return None
    text = value.strip().lower().replace(",", ".")
    m = re.match(r"^(-?\d+(?:\.\d+)?)\s*(m|ft|'|feet)?\b", text + " ")
    if not m:
        return None
    num = float(m.group(1))
    return num * 0.3048 if m.group(2) in ("ft", "'", "feet") else num


def _one_direction(text: str) -> float | None:
    t = text.strip().upper()
    if t in COMPASS:
        return COMPASS[t]
    n = parse_number(t)
    return None if n is None else n % 360.0


def parse_direction(value: str | None) -> list[tuple[float, float]] | None:
    """``camera:direction`` as a list of clockwise arcs ``(from, to)`` [deg from north].

    A single direction d gives ``[(d, d)]``; a range ``a-b`` gives ``[(a, b)]``; a list ``a;b`` gives one
    arc per item. None when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    arcs: list[tuple[float, float]] = []
    for item in value.split(";"):
        item = item.strip()
        m = re.match(r"^([A-Za-z]+|\d+(?:\.\d+)?)\s*-\s*([A-Za-z]+|\d+(?:\.\d+)?)$", item)
        if m:
            a, b = _one_direction(m.group(1)), _one_direction(m.group(2))
            if a is None or b is None:
                return None
            arcs.append((a, b))
        else:
            d = _one_direction(item)
            if d is None:
                return None
            arcs.append((d, d))
    return arcs or None


def camera_specs_from_osm(node: dict[str, Any], *, fixed_model: str, ptz_model: str,
                          mount_height_m: float, tilt_deg: float) -> list[dict[str, Any]]:
    """Camera spec dicts (keys of ``scenario.CameraSpec``) for one OSM surveillance node; ``[]`` if excluded."""
    tags: dict[str, str] = node["tags"]
    if tags.get("surveillance") == "indoor" or tags.get("indoor") == "yes":
        return []
    if tags.get("surveillance:type", "camera").lower() in NON_CAMERA_TYPES:
        return []
    defaults: list[str] = []
    ctype = tags.get("camera:type", "").lower()
    if ctype in PTZ_TYPES:
        kind, model = "ptz", ptz_model
    else:
        kind, model = "fixed", fixed_model
        if ctype != "fixed":
            defaults.append("camera:type=fixed")
    height = parse_number(tags.get("height")) or parse_number(tags.get("camera:height"))
    if height is None or height <= 0:
        height = mount_height_m
        defaults.append(f"height={mount_height_m:g} m")
    tilt: float | None = None
    if "camera:angle" in tags and parse_number(tags["camera:angle"]) is not None:
        tilt = -abs(parse_number(tags["camera:angle"]) or 0.0)  # degrees down -> elevation
    elif "camera:tilt" in tags and parse_number(tags["camera:tilt"]) is not None:
        tilt = parse_number(tags["camera:tilt"])  # already elevation: negative down
    if tilt is None:
        tilt = tilt_deg
        defaults.append(f"camera:angle={-tilt_deg:g} deg down")
    tilt = max(-90.0, min(90.0, tilt))
    arcs = parse_direction(tags.get("camera:direction") or tags.get("direction"))
    base: dict[str, Any] = {"model": model, "kind": kind, "lon": node["lon"], "lat": node["lat"],
                            "mount_height_m": height}
    if kind == "fixed":
        base["tilt_deg"] = tilt
    if arcs is None:
        if kind == "fixed":
            defaults.append("camera:direction unknown: every direction assumed (safe side)")
        return [{**base, "id": node["osm_id"], "defaults": tuple(defaults)}]
    specs = []
    for i, (a, b) in enumerate(arcs):
        cid = node["osm_id"] if len(arcs) == 1 else f"{node['osm_id']}#{i + 1}"
        spec = {**base, "id": cid, "defaults": tuple(defaults)}
        if kind == "fixed" and a == b:
            spec["direction_deg"] = a
        elif a != b:
            spec["pan_limits_deg"] = (a, b if b > a else b + 360.0)
        specs.append(spec)
    return specs
