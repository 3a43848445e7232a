"""The regulator's report as one self-contained HTML page (no external resources)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pandas as pd

from .tables import camera_table, kind_dori_table

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:70em;color:#222;
line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}h3{font-size:1.1em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.verdict{font-weight:bold}.ok{color:#176b2c}.no{color:#a11}.small{font-size:.85em;color:#555}
.pair{display:flex;gap:2em;flex-wrap:wrap}
"""


def _table(df: pd.DataFrame, *, index: bool = False, cls: str = "") -> str:
    return df.to_html(index=index, border=0, classes=cls, na_rep="–", escape=True)


def _verdict(ok: bool) -> str:
    return f'<span class="verdict {"ok" if ok else "no"}">{"compliant" if ok else "not compliant"}</span>'


def report_html(result: Any, *, figures: dict[str, str] | None = None, extra_sections: str = "") -> str:
    """The report for ``result`` (a ``pipeline.Result``): scenario totals first, then the assumptions,
    then per camera its exposure before and after masks, masks against the limit, the public view the
    masks cost, and a verdict with reasons. ``figures`` maps camera ids to inline SVG or <img> markup."""
    scene = result.scene
    sc = scene.scenario
    cams = camera_table(result)
    n_cams = len(cams)
    compliant = int(cams["compliant"].sum()) if n_cams else 0
    exposed = int(cams["exposed"].sum()) if n_cams else 0
    after = int(cams["after_masks"].sum()) if n_cams else 0
    esc = html.escape
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Privacy report: {esc(scene.name)}"
           f"</title><style>{CSS}</style></head><body>",
           f"<h1>Camera privacy report: {esc(scene.name)}</h1>",
           f"<p class='small'>Generated {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by the "
           f"privacy-zone simulator from <code>{esc(str(sc.source))}</code>.</p>",
           "<h2>Totals</h2><ul>",
           f"<li>Cameras: <b>{n_cams}</b>; compliant: <b>{compliant}</b>; not compliant: "
           f"<b>{n_cams - compliant}</b></li>",
           f"<li>Exposed private targets (camera × target): <b>{exposed}</b>; still visible after masks: "
           f"<b>{after}</b></li>",
           f"<li>Buildings: {len(scene.buildings):,}; private targets analysed: {len(scene.targets):,}</li></ul>",
           _table(kind_dori_table(result), index=True),
           "<p class='small'>Rows: kind of private target; columns: the best DORI class (IEC 62676-4) at which "
           "any camera sees it, before masks.</p>",
           "<h2>Assumptions</h2><ul>"]
    thresholds = sc.analysis.dori_px_per_m
    out += [f"<li>Frame: {esc(scene.frame.crs.to_string())}, x east / y north in metres; azimuth clockwise from "
            "true north; elevation above horizontal.</li>",
            f"<li>DORI thresholds [px/m]: detect {thresholds.detect:g}, observe {thresholds.observe:g}, recognise "
            f"{thresholds.recognise:g}, identify {thresholds.identify:g}; density at the tele end.</li>",
            f"<li>Range {sc.analysis.max_range_m:g} m; samples every {sc.analysis.sample_spacing_m:g} m on openings "
            f"and {sc.analysis.surface_sample_spacing_m:g} m on facades and ground.</li>",
            f"<li>Mask margin {sc.masks.margin_deg:g}°; verification at half the sample spacing.</li>"]
    out += [f"<li>{esc(n)}</li>" for n in scene.notes]
    defaults = {c.id: list(c.defaults) for c in result.cameras if c.defaults}
    if defaults:
        out.append(f"<li>{len(defaults)} cameras use stated defaults (see each camera).</li>")
    out.append("</ul><h2>Cameras</h2>")
    out.append(_table(cams))
    by_id = {c.id: c for c in result.cameras}
    for row in cams.itertuples(index=False):
        cam = by_id[row.camera]
        out.append(f"<h3 id='cam-{esc(str(row.camera))}'>{esc(str(row.camera))} — {_verdict(bool(row.compliant))}</h3>")
        out.append(f"<p>{esc(str(row.model))}, {cam.kind}, mounted {cam.mount_height_m:g} m above ground; pan "
                   f"{cam.pan_limits_deg[0]:g}–{cam.pan_limits_deg[1]:g}°, tilt {cam.tilt_limits_deg[0]:g}–"
                   f"{cam.tilt_limits_deg[1]:g}°; range {cam.range_m:g} m. Masks {row.masks} of {row.mask_limit}. "
                   f"Public street view hidden by masks: "
                   f"{'–' if pd.isna(row.public_hidden_share) else f'{100 * row.public_hidden_share:.1f} %'}.</p>")
        if cam.defaults:
            out.append(f"<p class='small'>Defaults used: {esc(', '.join(cam.defaults))}</p>")
        if figures and row.camera in figures:
            out.append(figures[row.camera])
        out.append("<div class='pair'><div><b>Before masks</b>"
                   + _table(kind_dori_table(result, row.camera), index=True)
                   + "</div><div><b>After masks</b>"
                   + _table(kind_dori_table(result, row.camera, after_masks=True), index=True) + "</div></div>")
        plan = result.mask_plans.get(row.camera)
        reasons = plan.reasons if plan is not None else ([row.reasons] if row.reasons else [])
        if reasons:
            out.append("<p>Reasons:</p><ul>" + "".join(f"<li>{esc(r)}</li>" for r in reasons) + "</ul>")
    out.append(extra_sections)
    out.append("</body></html>")
    return "\n".join(out)
