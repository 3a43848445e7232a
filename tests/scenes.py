"""Standard and degenerate test scenes, written as real files and loaded through the real pipeline.

Local coordinates (x, y) are metres east/north of X0, Y0 on UTM 29N's central meridian, where grid
north is true north, so azimuths can be checked by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

X0, Y0 = 500000.0, 4290000.0
CRS = "EPSG:32629"


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[list[float]]]:
    return [[[X0 + x0, Y0 + y0], [X0 + x1, Y0 + y0], [X0 + x1, Y0 + y1], [X0 + x0, Y0 + y1], [X0 + x0, Y0 + y0]]]


def fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    crs = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{CRS.replace(':', '::')}"}}
    return {"type": "FeatureCollection", "crs": crs, "features": features}


def building(bid: str, x0: float, y0: float, x1: float, y1: float, height: float, use: str = "residential",
             holes: list[tuple[float, float, float, float]] = ()) -> dict[str, Any]:
    rings = box(x0, y0, x1, y1) + [box(*h)[0][::-1] for h in holes]
    return {"type": "Feature", "properties": {"id": bid, "height": height, "building": use},
            "geometry": {"type": "Polygon", "coordinates": rings}}


def window_south(oid: str, bid: str, y: float, x0: float, x1: float, z0: float, z1: float,
                 kind: str = "window") -> dict[str, Any]:
    """A vertical opening in the plane y = const (local), spanning x0..x1, z0..z1."""
    ring = [[X0 + x0, Y0 + y, z0], [X0 + x1, Y0 + y, z0], [X0 + x1, Y0 + y, z1], [X0 + x0, Y0 + y, z1],
            [X0 + x0, Y0 + y, z0]]
    return {"type": "Feature", "properties": {"id": oid, "kind": kind, "building_id": bid},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def write_scenario(tmp: Path, *, buildings: list[dict[str, Any]], openings: list[dict[str, Any]] | None = None,
                   cameras: list[dict[str, Any]], building_opts: dict[str, Any] | None = None,
                   **extra: Any) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "b.geojson").write_text(json.dumps(fc(buildings)))
    sc: dict[str, Any] = {"name": "test", "crs": CRS,
                          "buildings": {"path": "b.geojson", "use_field": "building", **(building_opts or {})},
                          "windows": {"synthesize": False},
                          "analysis": {"max_range_m": 200, "sample_spacing_m": 0.25},
                          "cameras": [{**c, "x": X0 + c["x"], "y": Y0 + c["y"]} for c in cameras]}
    if openings is not None:
        (tmp / "o.geojson").write_text(json.dumps(fc(openings)))
        sc["openings"] = {"path": "o.geojson"}
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(sc.get(k), dict):
            sc[k] = {**sc[k], **v}
        else:
            sc[k] = v
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(sc, sort_keys=False))
    return path


PTZ = {"kind": "ptz", "resolution_px": [1920, 1080], "hfov_deg": [60.0, 2.0]}


def same_results(a: Any, b: Any) -> None:
    """Two runs (``simulator.Result``) of the same scene gave the same results: exposures, mask plans
    (targets, vertices, compliance, residuals, verification and public samples), coverage cells,
    summary, rays."""
    import numpy as np

    assert a.exposures.equals(b.exposures)
    assert list(a.mask_plans) == list(b.mask_plans)
    for cid, plan in a.mask_plans.items():
        other = b.mask_plans[cid]
        assert [m.targets for m in plan.masks] == [m.targets for m in other.masks]
        assert all(np.array_equal(x.vertices, y.vertices) for x, y in zip(plan.masks, other.masks, strict=True))
        assert plan.compliant == other.compliant and plan.residual_targets == other.residual_targets
        assert plan.verification_samples == other.verification_samples
        assert np.array_equal(plan.public_index, other.public_index)
    for cid, cov in a.coverage.items():
        other = b.coverage[cid]
        assert np.array_equal(cov.ix, other.ix) and np.array_equal(cov.masked, other.masked)
        assert list(cov.dori) == list(other.dori)
    sa, sb = a.summary(), b.summary()
    assert sa["cameras"] == sb["cameras"] and sa["stats"]["rays"] == sb["stats"]["rays"]
