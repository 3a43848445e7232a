"""The regulator's report as one self-contained HTML page (no external resources)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pandas as pd

from ...results import MASKS_HIDE, Result
from ...vocabulary import IEC_2025_LEVELS
from .figures import camera_legend, identify_legend
from .tables import HUMAN_COLUMNS, camera_table, human_table, kind_dori_table, noncompliant_table, proposal_text

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:70em;color:#222;
line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}h3{font-size:1.1em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.verdict{font-weight:bold}.ok{color:#176b2c}.no{color:#a11}.small{font-size:.85em;color:#555}
.pair{display:flex;gap:2em;flex-wrap:wrap}
details.camera{border-top:1px solid #ddd;padding:.3em 0}details.camera>summary{cursor:pointer;font-weight:bold;
font-size:1.05em}.legend{margin-top:.2em}
table{max-width:100%}td,th{overflow-wrap:anywhere}svg{max-width:100%;height:auto}
@media print{details::details-content{content-visibility:visible;display:block}details>summary{list-style:none}
table{font-size:.75em}}
"""


# the columns of the masks-and-compliance table (the others go in the exposure table)
MASK_COLUMNS = ["exposed", "after_masks", "masks", "mask_limit", "masks_lower_bound", "public_hidden_share",
                "compliant", "proposed_limits"]
OPEN_SECTIONS = 20  # reports of at most this many cameras open every camera's section


def _noncompliant(cams: pd.DataFrame) -> list[str]:
    """The report's first table: the cameras that are not compliant, with their reason and remedy."""
    bad = noncompliant_table(cams)
    if not len(bad):
        return ["<h2>Cameras not compliant</h2><p>None: for every camera, nothing its masks must hide stays "
                "visible, within its mask limits.</p>"]
    rows = bad.assign(Camera=[f"<a href='#cam-{html.escape(str(c))}'>{html.escape(str(c))}</a>" for c in bad["Camera"]])
    return [f"<h2>Cameras not compliant: reason and remedy ({len(bad)} of {len(cams)})</h2>",
            rows.to_html(index=False, border=0, na_rep="–", escape=False,
                         formatters={c: (lambda v: html.escape(str(v))) for c in rows.columns if c != "Camera"})]


def _table(df: pd.DataFrame, *, index: bool = False, cls: str = "") -> str:
    """``df`` as an HTML table (pandas's ``to_html``, written here, the same, for tables of whole
    numbers and labels with nothing missing: the per-camera tables, where pandas's takes a
    millisecond each)."""
    if index or cls or not all(pd.api.types.is_integer_dtype(t) or pd.api.types.is_string_dtype(t)
                               for t in df.dtypes) or df.isna().to_numpy().any():
        return str(df.to_html(index=index, border=0, classes=cls, na_rep="–", escape=True))
    cols = [df[c].to_numpy(object).tolist() for c in df.columns]
    lines = ['<table class="dataframe">', "  <thead>", '    <tr style="text-align: right;">',
             *(f"      <th>{_cell(c)}</th>" for c in df.columns), "    </tr>", "  </thead>", "  <tbody>"]
    for row in zip(*cols, strict=True):
        lines += ["    <tr>", *(f"      <td>{_cell(v)}</td>" for v in row), "    </tr>"]
    return "\n".join([*lines, "  </tbody>", "</table>"])


def _cell(value: Any) -> str:
    """A table cell's text (a whole number or a label) as ``to_html`` writes it: ``&``, ``<`` and ``>``
    escaped."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _verdict(ok: bool) -> str:
    return f'<span class="verdict {"ok" if ok else "no"}">{"compliant" if ok else "not compliant"}</span>'


REQUIREMENTS = {
    "private": "CNPD 2020/80 §1-2 (Law 1/2005 art. 7(6)-(7)): no images of the inside of homes; masks over "
               "doors, windows, balconies, terraces and backyards",
    "seclusion": "CNPD 2020/80 §1 (Law 1/2005 art. 7(4)): no capture of places used in seclusion (toilets, "
                 "changing rooms)",
    "faces": "CNPD 2020/80 §6 and CNIL MED-2021-134: no facial recognition without a legal basis; where faces "
             "can be identified is stated so that it can be assessed",
}


def _listed(ids: list[str], n: int = 20) -> str:
    """The first ``n`` ids, and how many more."""
    return (", ".join(ids[:n]) or "none") + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _findings(result: Result, camera_id: str) -> list[str]:
    """Reasons for the verdict, each tied to the requirement it concerns."""
    out = []
    plan = result.mask_plans.get(camera_id)
    ex = result.exposures
    mine = result.camera_rows(camera_id) if len(ex) else ex
    if plan is not None:
        out += [f"{r} — {REQUIREMENTS['private']}" for r in plan.reasons]
        if plan.proposal:
            out.append(f"Proposed limits: {proposal_text(plan.proposal)}")
    elif len(mine):
        out.append(f"{len(mine)} private targets exposed and no masks generated — {REQUIREMENTS['private']}")
    if len(mine) and (mine["target_kind"] == "sensitive").any():
        n = int((mine["target_kind"] == "sensitive").sum())
        residual = set(plan.residual_targets) if plan is not None else set(mine["target_id"])
        left = int(mine[(mine["target_kind"] == "sensitive")]["target_id"].astype(str).isin(residual).sum())
        out.append(f"{n} places used in seclusion in view, {left} still visible after masks — "
                   f"{REQUIREMENTS['seclusion']}")
    cov = result.coverage.get(camera_id)
    if cov is not None and cov.area_m2("identify", after_masks=True) > 0:
        out.append(f"faces can be identified over {cov.area_m2('identify', after_masks=True):,.0f} m² of public "
                   f"space after masks (a finding, not a breach) — {REQUIREMENTS['faces']}")
    return out


def _coverage_table(cov: Any) -> pd.DataFrame:
    areas = cov.areas()
    rows = [{"DORI class": c, "before masks [m²]": areas["before_masks"][c],
             "after masks [m²]": areas["after_masks"][c]} for c in areas["before_masks"]]
    rows.append({"DORI class": "total", "before masks [m²]": round(cov.area_m2(), 1),
                 "after masks [m²]": round(cov.area_m2(after_masks=True), 1)})
    return pd.DataFrame(rows)


def _largest_error(result: Result) -> float:
    """The largest visible-fraction error bound over the exposures."""
    ex = result.exposures
    return float(ex["visible_fraction_error"].max()) if len(ex) and "visible_fraction_error" in ex else 0.0


def _not_seen_into(result: Result) -> int:
    """Camera x target pairs of openings seen, but not into (the grazing rule)."""
    ex = result.exposures
    return int((~ex["seen_into"].astype(bool)).sum()) if len(ex) and "seen_into" in ex else 0


def _assumptions(result: Result) -> list[str]:
    """What the scene was made of, where data was missing and defaults or generated data stood in."""
    scene = result.scene
    b, t = scene.buildings, scene.targets
    out = []
    if len(b) and "height_source" in b:
        counts = b["height_source"].value_counts()
        out.append("Building heights: " + ", ".join(f"{n:,} {src}" for src, n in counts.items()) + ".")
    if len(b) and "use" in b:
        counts = b["use"].value_counts()
        unknown = scene.scenario.buildings.unknown_use if scene.scenario.buildings else "residential"
        out.append("Building use: " + ", ".join(f"{n:,} {u}" for u, n in counts.items())
                   + f"; unknown use counts as {unknown}.")
    if len(t):
        for kind in ("window", "door"):
            mine = t.kind == kind
            synth = int((mine & (t.source == "synthesized")).sum())
            out.append(f"{kind.capitalize()}s: {int(mine.sum()):,}, of which {synth:,} synthesized from the window "
                       "layout (no data).")
    return out


def report_html(result: Result, *, figures: dict[str, str] | None = None, extra_sections: str = "",
                draw: bool = True) -> str:
    """The report for ``result`` (a ``results.Result``): scenario totals first, then the assumptions,
    then per camera a map figure, its exposure before and after masks, masks against the limit, the
    public coverage kept after masking, where faces can be identified, and a verdict with reasons tied
    to the requirements. ``figures`` maps camera ids to inline SVG or <img> markup (drawn here when
    ``draw`` and not given)."""
    from .figures import camera_figure, identify_figure

    scene = result.scene
    cached = figures is None and draw  # sections drawn where the cameras ran (``writers.camera_outputs``)
    if figures is None and draw:
        figures = {c.id: camera_figure(result, c.id) for c in result.cameras
                   if result.camera_outputs(c.id).section is None}
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
           *_noncompliant(cams),
           _table(kind_dori_table(result).reset_index()),
           "<p class='small'>Rows: kind of private target; columns: the "
           f"{'IEC 62676-4:2025 level' if sc.analysis.density_levels == 'iec_2025' else 'DORI class (IEC 62676-4)'} "
           f"at which a camera sees it ({sc.analysis.density_basis} density), before masks (camera × target "
           "pairs).</p>"]
    if result.coverage:
        cell, cells_before = result.identify_cells(after_masks=False)
        _, cells_after = result.identify_cells(after_masks=True)
        identify_before, identify_after = len(cells_before) * cell**2, len(cells_after) * cell**2
        public = sum(c.area_m2() for c in result.coverage.values())
        out += [f"<h3>Where faces can be identified</h3><p>Public ground on which at least one camera reaches "
                f"the identify class ({sc.analysis.dori_px_per_m.identify:g} px/m at the tele end): "
                f"<b>{identify_before:,.0f} m²</b> before masks, <b>{identify_after:,.0f} m²</b> after masks "
                f"(the cameras cover {public:,.0f} m² of public ground in all, counted per camera).</p>",
                identify_figure(result) + identify_legend() if draw else ""]
    out.append("<h2>Assumptions</h2><ul>")
    whole = scene.facades_masked_whole
    out += [f"<li>{esc(a)}</li>" for a in _assumptions(result)]
    thresholds = sc.analysis.dori_px_per_m
    levels_2025 = ", ".join(f"{n} {v:g}" for n, v in IEC_2025_LEVELS)
    used = "the 2025 levels" if sc.analysis.density_levels == "iec_2025" else "DORI"
    basis = ("frontally (the camera's px/m at the distance, as the standard defines it for a target facing the "
             "camera)" if sc.analysis.density_basis == "frontal" else
             "foreshortened (px/m × the cosine of the incidence, across the surface)")
    cap = (f"; nor beyond {sc.analysis.grazing_max_incidence_deg:g}° of incidence"
           if sc.analysis.grazing_max_incidence_deg is not None else "")
    model_openings = ("holes in their walls (glass is clear: the conservative choice)"
                      if sc.analysis.model_openings == "holes" else "glass that stops lines of sight")
    out += [f"<li>Frame: {esc(scene.frame.crs.to_string())}, x east / y north in metres; azimuth clockwise from "
            "true north; elevation above horizontal.</li>",
            f"<li>DORI thresholds (IEC 62676-4:2014) [px/m]: detect {thresholds.detect:g}, observe "
            f"{thresholds.observe:g}, recognise {thresholds.recognise:g}, identify {thresholds.identify:g}; "
            f"IEC 62676-4:2025 levels [px/m]: {levels_2025} (both in exposures.csv; the tables use {used}). "
            f"Density at the tele end, read {basis}; exposures.csv has both.</li>",
            f"<li>Grazing views: windows and doors sit behind a {sc.analysis.reveal_depth_m:g} m reveal; where "
            "the reveal hides the whole opening from a line of sight (seen nearly edge-on) it does not see inside "
            f"(seen_into false in exposures.csv), and no mask is made for it{cap}. Openings seen but not into: "
            f"{_not_seen_into(result):,} camera × target pairs.</li>",
            "<li>Samples: the centres of equal cells of each target (at most the spacing on a side, at least 3 "
            "along each axis), on the surface; a line of sight stops 2 cm short of it along the ray. Cells at "
            f"the edge of what a camera sees are resampled at {sc.analysis.refine} × {sc.analysis.refine} points; "
            "visible_fraction is the visible share of a target's area and visible_fraction_error bounds its "
            f"error (largest here: {_largest_error(result):.3f}; it holds where no visible or hidden patch is "
            "smaller than a cell; a cell on the border of a polygon other than a rectangle weighs its share "
            "inside, its sample at a point of that part). Windows "
            f"and doors of 3D models are {model_openings}.</li>",
            f"<li>Range {sc.analysis.max_range_m:g} m; samples every {sc.analysis.sample_spacing_m:g} m on openings "
            f"and {sc.analysis.surface_sample_spacing_m:g} m on facades and ground.</li>",
            f"<li>Mask margin {sc.masks.margin_deg:g}°; verification at half the sample spacing.</li>",
            f"<li>Masks hide {esc(MASKS_HIDE)}. Facades masked whole (openings unknown): {esc(_listed(whole))}.</li>",
            "<li>Mask plans: the least public space hidden within each camera's mask limit, then the fewest masks "
            f"(objective {esc(sc.masks.objective)}); a target one mask cannot frame is cut in its own plane; "
            "masks_lower_bound is proven (visible samples pairwise farther apart than the wide view's diagonal "
            "each need their own mask). Where no plan fits, pan/tilt limits are proposed and the camera is planned "
            "again with them.</li>"]
    out += [f"<li>{esc(n)}</li>" for n in scene.notes]
    defaults = {c.id: list(c.defaults) for c in result.cameras if c.defaults}
    if defaults:
        out.append(f"<li>{len(defaults)} cameras use stated defaults (see each camera).</li>")
    out.append("</ul><h2>Cameras</h2>")
    exposure_cols = ["camera", "model", "exposed", *(k for k in HUMAN_COLUMNS if k in cams and k not in (
        "camera", "model", "exposed", *MASK_COLUMNS))]
    out += ["<h3>Exposure per camera (camera × target pairs, before masks)</h3>",
            _table(human_table(cams[[c for c in exposure_cols if c in cams]])),
            "<h3>Masks and compliance per camera</h3>", _table(human_table(cams[["camera", *MASK_COLUMNS]])),
            f"<p class='small'>Each camera's section follows{' (click a camera to open it)' if len(cams) > 1 else ''}"
            "; they print open.</p>"]
    for row in cams.itertuples(index=False):
        section = result.camera_outputs(str(row.camera)).section
        if not (cached and section is not None):
            section = camera_section(result, row, (figures or {}).get(row.camera))
        out.append(f"<details class='camera'{' open' if len(cams) <= OPEN_SECTIONS else ''}><summary>"
                   f"{html.escape(str(row.camera))} — {_verdict(bool(row.compliant))}</summary>{section}</details>")
    out.append(extra_sections)
    # printing (the PDF) opens every section
    out.append("<script>addEventListener('beforeprint',()=>document.querySelectorAll('details')"
               ".forEach(d=>d.open=true));if(matchMedia('print').matches)document.querySelectorAll('details')"
               ".forEach(d=>d.open=true);</script>")
    out.append("</body></html>")
    return "\n".join(out)


def camera_section(result: Result, row: Any, figure: str | None) -> str:
    """The report's section on one camera: ``row`` is its row of ``camera_table(result)`` (a named
    tuple), ``figure`` its map (or None)."""
    esc = html.escape
    sc = result.scene.scenario
    cam = result.camera(row.camera)
    out = [f"<h3 id='cam-{esc(str(row.camera))}'>{esc(str(row.camera))} — {_verdict(bool(row.compliant))}</h3>",
           f"<p>{esc(str(row.model))}, {cam.kind}, mounted {cam.mount_height_m:g} m above ground; pan "
           f"{cam.pan_limits_deg[0]:g}–{cam.pan_limits_deg[1]:g}°, tilt {cam.tilt_limits_deg[0]:g}–"
           f"{cam.tilt_limits_deg[1]:g}°; range {cam.range_m:g} m. Masks {row.masks} of {row.mask_limit}. "
           f"Public street view hidden by masks: "
           f"{'–' if pd.isna(row.public_hidden_share) else f'{100 * row.public_hidden_share:.1f} %'}.</p>"]
    if cam.defaults:
        out.append(f"<p class='small'>Defaults used: {esc(', '.join(cam.defaults))}</p>")
    if figure:
        out.append(figure + camera_legend())
    cov = result.coverage.get(row.camera)
    if cov is not None:
        out.append(f"<p>Public ground covered (seen at {sc.coverage.height_m:g} m above the ground): "
                   f"{cov.area_m2():,.0f} m², of which {cov.area_m2(after_masks=True):,.0f} m² is kept after "
                   f"masking; faces identifiable over {cov.area_m2('identify', after_masks=True):,.0f} m².</p>"
                   + _table(_coverage_table(cov)))
    out.append("<div class='pair'><div><b>Private targets before masks</b>"
               + _table(kind_dori_table(result, row.camera).reset_index())
               + "</div><div><b>After masks</b>"
               + _table(kind_dori_table(result, row.camera, after_masks=True).reset_index()) + "</div></div>")
    findings = _findings(result, row.camera)
    if findings:
        out.append("<p>Findings:</p><ul>" + "".join(f"<li>{esc(r)}</li>" for r in findings) + "</ul>")
    elif row.compliant:
        out.append(f"<p>Every exposed private surface is masked within the camera's limits — "
                   f"{esc(REQUIREMENTS['private'])}.</p>")
    return "\n".join(out)
