"""What ``simulator place`` writes, published as one folder (``outputs.publish``):

- ``scenario.yaml``: the scenario with the chosen cameras in place of its own (data paths made
  relative to the output folder), ready for ``simulator run``;
- ``placement.json``: the watched areas, the candidates tried, the chosen cameras in the order chosen
  with the marginal gain of each, and the coverage of each watch area before (the scenario's own
  cameras) and after (the chosen ones);
- ``placement.html``: the same for people: a map, the tables, and where extra cameras stop paying off.
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml

from ..run.place import Proposal, chosen_spec, share
from ..scene import Scene
from .publish import Publication, kill_point
from .report.figures import DORI_FILL, Canvas, svg_figure, swatches

PATH_KEYS = ("path", "osm")


def chosen_entries(scene: Scene, p: Proposal) -> list[dict[str, Any]]:
    """The chosen cameras as scenario entries, named ``placed-01`` … in the order chosen."""
    return [chosen_spec(p, i, f"placed-{k + 1:02d}", scene.frame) for k, i in enumerate(p.chosen)]


def placed_scenario(scene: Scene, p: Proposal, out: Path) -> dict[str, Any]:
    """The scenario as a mapping, with the chosen cameras and every data path relative to ``out``."""
    sc = scene.scenario
    data = sc.model_dump(mode="json", exclude_unset=True)

    def moved(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (os.path.relpath(sc.resolve(x), out) if k in PATH_KEYS and isinstance(x, str) else moved(x))
                    for k, x in v.items()}
        if isinstance(v, list):
            return [moved(x) for x in v]
        return v

    data = {k: moved(v) for k, v in data.items() if k != "cameras"}
    data["name"] = f"{sc.name}-placed"
    data["cameras"] = chosen_entries(scene, p)
    return data


def placement_json(scene: Scene, p: Proposal) -> dict[str, Any]:
    g = p.grid
    watched = p.watched_m2()
    chosen = [p.outcome(i) for i in p.chosen]
    before, after = p.reached_m2(p.existing), p.reached_m2(chosen)
    total = float(watched.sum())
    sources = Counter(site.source for _, site in p.candidates)
    analysed = p.analysed
    usable = sum(o.usable for o in analysed)
    limited = sum(o.usable and (o.pan_limits_deg is not None or o.tilt_limits_deg is not None) for o in analysed)
    cams = []
    cum = 0.0
    for k, (i, gain) in enumerate(zip(p.chosen, p.choice.gains, strict=True)):
        spec, site = p.candidates[i]
        o = p.outcome(i)
        cum += gain
        cams.append({**chosen_spec(p, i, f"placed-{k + 1:02d}", scene.frame), "x": round(float(p.cameras[i].x), 2),
                     "y": round(float(p.cameras[i].y), 2), "candidate": spec.id, "site": site.id,
                     "site_source": site.source, "marginal_gain_m2": round(gain, 1),
                     "cumulative_m2": round(cum, 1), "cumulative_share": round(share(cum, total), 4),
                     "masks": o.masks, "mask_limit": o.mask_limit, "private_targets_seen_into": o.seen_into,
                     "limits": "proposed" if (o.pan_limits_deg or o.tilt_limits_deg) else "its own"})
    return {
        "scenario": scene.scenario.name,
        "watched": {"default": g.default, "cell_m": g.cell_m, "total_m2": round(total, 1),
                    "areas": [{"name": n, "level": lv, "watched_m2": round(float(w), 1),
                               "before_m2": round(float(b), 1), "after_m2": round(float(a), 1),
                               "before_share": round(share(float(b), float(w)), 4),
                               "after_share": round(share(float(a), float(w)), 4)}
                              for n, lv, w, b, a in zip(g.names, g.levels, watched, before, after, strict=True)]},
        "what_counts": ("a watched cell counts as reached when a chosen camera covers it at its area's DORI "
                        "level or better (tele end, frontal, at the face height of coverage.height_m) "
                        "through none of its masks"),
        "candidates": {"tried": len(p.results), "analysed_in_full": len(analysed),
                       "compliant_as_they_are": usable - limited,
                       "compliant_with_proposed_limits": limited, "left_out": len(analysed) - usable,
                       "rounds": p.rounds,
                       "sites_by_source": dict(sources), "models": list(p.models),
                       "mount_heights_m": list(scene.scenario.placement.candidates.mount_heights_m)},
        "budget": p.budget, "target_share": p.target_share,
        "chosen": cams,
        "reached_m2": round(p.choice.value, 1), "reached_share": round(share(p.choice.value, total), 4),
        "upper_bound_m2": round(p.choice.upper_bound, 1),
        "guarantee": "the greedy choice reaches at least (1 - 1/e) = 63.2 % of the best any as many candidates "
                     "reach; no choice of as many candidates reaches more than upper_bound_m2",
        "private_targets_seen_into": sum(o.seen_into for o in chosen),
        "existing_cameras": {"cameras": len(p.existing), "reached_m2": round(float(before.sum()), 1),
                             "with_proposed_limits": [o.camera_id for o in p.existing if o.usable
                                                      and (o.pan_limits_deg or o.tilt_limits_deg)],
                             "private_targets_seen_into": sum(o.seen_into for o in p.existing),
                             "left_out": [o.camera_id for o in p.existing if not o.usable]},
    }


def placement_map(scene: Scene, p: Proposal, *, width: int = 720) -> str:
    """The watched ground (light: not reached; by DORI fill: reached by the chosen cameras), the
    buildings, the candidates (grey dots) and the chosen cameras (blue, numbered in the order chosen)."""
    g = p.grid
    cells = g.cells
    rows, cols = g.need.shape
    r, c = np.divmod(cells, cols)
    ix, iy = c + g.ix0, r + g.iy0
    hit = np.zeros(len(cells), bool)
    for i in p.chosen:
        hit[p.outcome(i).reached] = True
    pts = [(float(ix.min()) * g.cell_m, float(iy.min()) * g.cell_m, float(ix.max() + 1) * g.cell_m,
            float(iy.max() + 1) * g.cell_m)]
    for i in p.chosen:
        cam = p.cameras[i]
        pts.append((cam.x - 10, cam.y - 10, cam.x + 10, cam.y + 10))
    a = np.array(pts)
    canvas = Canvas((a[:, 0].min() - 10, a[:, 1].min() - 10, a[:, 2].max() + 10, a[:, 3].max() + 10), width)
    from ..engine.coverage import cells_to_polygons

    body: list[str] = []
    for value, geom in cells_to_polygons(ix.astype(np.int64), iy.astype(np.int64), hit.astype(np.int32), g.cell_m):
        fill = DORI_FILL["recognise"] if value else "#dde3ea"
        body.append(f'<path d="{canvas.path(shapely.simplify(geom, g.cell_m / 2))}" fill="{fill}" '
                    f'fill-opacity="{0.75 if value else 1}" stroke="none"/>')
    if len(scene.buildings):
        fp = shapely.simplify(shapely.union_all(scene.buildings.geometry.values), 0.5)
        body.append(f'<path d="{canvas.path(fp)}" fill="#9696aa" stroke="#555" stroke-width="0.3"/>')
    for cam in p.cameras[:5000]:
        x, y = canvas.xy(cam.x, cam.y)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.2" fill="#888"/>')
    for k, i in enumerate(p.chosen):
        cam = p.cameras[i]
        x, y = canvas.xy(cam.x, cam.y)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1e3cc8"/>'
                    f'<text x="{x + 5:.1f}" y="{y - 4:.1f}" font-size="10">{k + 1}</text>')
    return svg_figure(canvas, body, "the watched ground the proposed cameras reach")


def gains_figure(p: Proposal, total_m2: float, *, width: int = 520, height: int = 180) -> str:
    """The share of the watched ground reached against the number of cameras chosen."""
    gains = p.choice.gains
    if not gains:
        return ""
    cum = np.cumsum(gains) / max(total_m2, 1e-9)
    n = len(gains)
    x = 40 + np.arange(1, n + 1) * (width - 60) / n
    y = height - 25 - cum * (height - 45)
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    bound = height - 25 - min(p.choice.upper_bound / max(total_m2, 1e-9), 1.0) * (height - 45)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="share reached by number of cameras" style="background:#fff;border:1px solid #ccc">'
            f'<path d="M40,{height - 25} H{width - 20} M40,{height - 25} V20" stroke="#000"/>'
            f'<path d="M40,{bound:.1f} H{width - 20}" stroke="#c80000" stroke-dasharray="4 3"/>'
            f'<text x="{width - 20}" y="{bound - 4:.1f}" font-size="10" text-anchor="end">upper bound</text>'
            f'<polyline points="40,{height - 25} {line}" fill="none" stroke="#1e3cc8" stroke-width="2"/>'
            f'<text x="40" y="{height - 8}" font-size="10">0</text>'
            f'<text x="{width - 20}" y="{height - 8}" font-size="10" text-anchor="end">{n} cameras</text>'
            f'<text x="36" y="24" font-size="10" text-anchor="end">100 %</text></svg>')


def placement_html(scene: Scene, p: Proposal, data: dict[str, Any]) -> str:
    e = html.escape
    w = data["watched"]
    total = w["total_m2"]
    areas = "".join(f"<tr><td>{e(a['name'])}</td><td>{e(a['level'])}</td><td class=n>{a['watched_m2']:,.0f}</td>"
                    f"<td class=n>{a['before_m2']:,.0f} ({a['before_share']:.1%})</td>"
                    f"<td class=n>{a['after_m2']:,.0f} ({a['after_share']:.1%})</td></tr>" for a in w["areas"])
    rows = "".join(
        f"<tr><td>{k + 1}</td><td>{e(c['id'])}</td><td>{e(c['model'] or '')}</td><td class=n>{c['x']:.1f}, "
        f"{c['y']:.1f}</td><td class=n>{c['mount_height_m']:g}</td><td>{e(c['site_source'])}</td>"
        f"<td>{e(_limits(c))}</td><td class=n>{c['masks']}/{c['mask_limit']}</td>"
        f"<td class=n>{c['private_targets_seen_into']}</td><td class=n>{c['marginal_gain_m2']:,.0f}</td>"
        f"<td class=n>{c['cumulative_share']:.1%}</td></tr>" for k, c in enumerate(data["chosen"]))
    cand = data["candidates"]
    default = f"<p><b>Watched:</b> {e(w['default'])}.</p>" if w["default"] else ""
    legend = ("<p class=small>" + swatches({"watched, reached": DORI_FILL["recognise"],
                                            "watched, not reached": "#dde3ea", "buildings": "#9696aa",
                                            "candidates": "#888", "proposed cameras (in the order chosen)": "#1e3cc8"})
              + "</p>")
    stop = ""
    if p.target_share is not None and p.choice.value >= p.target_share * total * (1 - 1e-12):
        stop = f" It stopped at the target share of {p.target_share:.0%}."
    elif len(data["chosen"]) < p.budget:
        stop = " It stopped before the budget: no candidate left reaches any more watched ground."
    name = e(data["scenario"])
    n = len(data["chosen"])
    cameras_reach = f"1 camera proposed (budget {p.budget}) reaches" if n == 1 else \
        f"{n} cameras proposed (budget {p.budget}) reach"
    own = data["existing_cameras"]
    n_own = f"{own['cameras']} cameras"
    if own["with_proposed_limits"] or own["left_out"]:
        n_own += (f" ({len(own['with_proposed_limits'])} with the limits proposed for them, "
                  f"{len(own['left_out'])} counted as reaching nothing: no limits make them compliant)")
    by_source = ", ".join(f"{v:,} {e(k)}" for k, v in cand["sites_by_source"].items())
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8><title>Camera placement: {name}</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}}
th{{background:#eef}}td.n{{text-align:right}}.small{{font-size:12px}}svg{{max-width:100%;height:auto}}</style></head><body>
<h1>Camera placement: {name}</h1>
<p>{cameras_reach} <b>{data['reached_m2']:,.0f} m²</b> of the
{total:,.0f} m² watched (<b>{data['reached_share']:.1%}</b>). No choice of {p.budget} of these candidates reaches
more than {data['upper_bound_m2']:,.0f} m² ({share(data['upper_bound_m2'], total):.1%}); the greedy choice is
guaranteed at least 63.2 % of the best.{stop} Every proposed camera is compliant: its masks fit its limits, with
the pan/tilt limits shown where its own did not.</p>
{default}<p>{e(data["what_counts"][0].upper() + data["what_counts"][1:])}.</p>
<h2>Coverage of the watched areas</h2>
<table><tr><th>area</th><th>level needed</th><th>watched m²</th><th>before: the scenario's {e(n_own)}</th>
<th>after: the proposed cameras</th></tr>{areas}</table>
<h2>Map</h2>{placement_map(scene, p)}{legend}
<h2>Proposed cameras, in the order chosen</h2>
<p>The marginal gain is the watched area a camera adds to those before it: where it falls off, extra cameras
stop paying off.</p>{gains_figure(p, total)}
<table><tr><th>#</th><th>camera</th><th>model</th><th>x, y (scene CRS, m)</th><th>mount height m</th><th>site</th>
<th>pan/tilt limits</th><th>masks / limit</th><th>private targets its masks hide</th><th>marginal gain m²</th>
<th>reached so far</th></tr>{rows}</table>
<h2>Candidates</h2><p>{cand['tried']:,} candidates tried ({by_source}
sites; mount heights {', '.join(f'{h:g}' for h in cand['mount_heights_m'])} m; models {e(', '.join(cand['models']))}).
{cand['analysed_in_full']:,} of them analysed in full (exposures, masks, verification), the others not: what
each reaches without masks, a bound on what it reaches with them, could not beat the cameras chosen.
Of those analysed: {cand['compliant_as_they_are']:,} compliant as they are, {cand['compliant_with_proposed_limits']:,}
with proposed limits, {cand['left_out']:,} left out (no limits make them compliant).</p>
<p class=small>Scene CRS {e(scene.frame.crs.to_string())}. Written by <code>simulator place</code>; run
<code>simulator run scenario.yaml</code> on this folder's scenario for the full analysis of the proposal.</p>
</body></html>"""


def _limits(c: dict[str, Any]) -> str:
    parts = [f"fixed, pointed {c['direction_deg']:g}°"] if c.get("direction_deg") is not None else []
    if "pan_limits_deg" in c:
        a, b = c["pan_limits_deg"]
        parts.append(f"pan {a:g}° to {b:g}° (clockwise)")
    if "tilt_limits_deg" in c:
        a, b = c["tilt_limits_deg"]
        parts.append(f"tilt {a:g}° to {b:g}°")
    return "; ".join(parts) if parts else "its own"


def write_placement(out: Path | Publication, scene: Scene, p: Proposal) -> dict[str, Any]:
    """Publish the output folder ``out`` (scenario.yaml, placement.json, placement.html) in one swap;
    returns the JSON. ``out`` may be a ``Publication`` the caller opened before the work (it then holds
    the folder's lock throughout) and closes."""
    data = placement_json(scene, p)
    pub = out if isinstance(out, Publication) else Publication(out)
    try:
        for name in ("scenario.yaml", "placement.json", "placement.html"):
            # a previous place's files came over as hard links: replaced, never written through
            (pub.stage / name).unlink(missing_ok=True)
        sc_data = placed_scenario(scene, p, pub.out)
        (pub.stage / "scenario.yaml").write_text(
            "# written by simulator place: the scenario with the chosen cameras in place of its own\n"
            + yaml.safe_dump(sc_data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        (pub.stage / "placement.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        (pub.stage / "placement.html").write_text(placement_html(scene, p, data), encoding="utf-8")
        kill_point("staged")
        pub.publish()
    finally:
        if pub is not out:
            pub.close()
    return data
