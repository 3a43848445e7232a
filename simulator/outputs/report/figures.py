"""Map figures for the report as inline SVG (no plotting library, no external resources).

A camera's figure: buildings (grey; private tan; with exposed targets red), the public ground it covers
coloured by DORI class (dark where its masks hide it), its exposed targets as dots by DORI class, where
its masks fall (yellow outlines), its reach (dashed circle) and the camera (blue). North is up; a scale
bar gives metres.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import shapely

from ...results import Result

DORI_FILL = {"identify": "#c80000", "recognise": "#f07800", "observe": "#f0c800", "detect": "#78b43c",
             "none": "#b4c8dc"}
MASKED_FILL = "#303030"


def swatches(items: dict[str, str], round_: bool = False) -> str:
    radius = "50%" if round_ else "2px"
    return " ".join(f"<span style='display:inline-block;width:.8em;height:.8em;border-radius:{radius};"
                    f"background:{c};margin:0 .2em 0 .7em;vertical-align:middle'></span>{html.escape(k)}"
                    for k, c in items.items())


def camera_legend() -> str:
    """The legend of ``camera_figure``."""
    return ("<p class='small legend'>Buildings:" + swatches({"with exposed targets": "#d2503c",
                                                               "private": "#d2aa78", "not private": "#9696aa"})
            + "<br>Exposed targets and public ground covered, by DORI class:"
            + swatches({k: v for k, v in DORI_FILL.items() if k != "none"}, round_=True)
            + swatches({"ground hidden by a mask": MASKED_FILL})
            + "<br>" + swatches({"mask footprint (outline)": "#e6c800", "camera": "#1e3cc8",
                                  "reach (dashed circle)": "#3c78dc"}) + "</p>")


def identify_legend() -> str:
    """The legend of ``identify_figure``."""
    return ("<p class='small legend'>" + swatches({"faces identifiable before masks": "#f0a0a0",
                                                    "after masks": "#c80000", "buildings": "#9696aa",
                                                    "cameras": "#1e3cc8"}) + "</p>")


class Canvas:
    """Scene metres to SVG pixels (y flipped), and shapely geometries to SVG paths."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int = 520) -> None:
        x0, y0, x1, y1 = bounds
        self.x0, self.y1 = x0, y1
        self.scale = width / max(x1 - x0, 1e-9)
        self.width, self.height = width, int(round((y1 - y0) * self.scale))

    def xy(self, x: Any, y: Any) -> tuple[Any, Any]:
        return (np.asarray(x) - self.x0) * self.scale, (self.y1 - np.asarray(y)) * self.scale

    def path(self, geom: Any) -> str:
        out = []
        for poly in shapely.get_parts(geom):
            if poly.is_empty:
                continue
            rings = [poly.exterior, *poly.interiors] if poly.geom_type == "Polygon" else [poly]
            for ring in rings:
                c = np.asarray(ring.coords)[:, :2]
                px, py = self.xy(c[:, 0], c[:, 1])
                pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
                out.append(f"M{pts}Z" if poly.geom_type == "Polygon" else f"M{pts}")
        return " ".join(out)


def svg_figure(canvas: Canvas, body: list[str], title: str) -> str:
    bar = 10 ** np.floor(np.log10(canvas.width / canvas.scale / 4))  # a round length, about a quarter wide
    bar_px = bar * canvas.scale
    y = canvas.height - 12
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{canvas.width}" height="{canvas.height}" '
            f'viewBox="0 0 {canvas.width} {canvas.height}" role="img" aria-label="{html.escape(title)}" '
            f'style="background:#f4f6f8;border:1px solid #ccc">' + "".join(body)
            + f'<path d="M10,{y} h{bar_px:.1f}" stroke="#000" stroke-width="2"/>'
            f'<text x="10" y="{y - 4}" font-size="11">{bar:g} m</text>'
            f'<text x="{canvas.width - 18}" y="16" font-size="12" font-weight="bold">N</text>'
            f'<path d="M{canvas.width - 14},30 l0,-10" stroke="#000" stroke-width="2"/></svg>')


def camera_figure(result: Result, camera_id: str, *, width: int = 520, simplify_m: float = 0.5) -> str:
    """The SVG figure of one camera (see the module docstring)."""
    scene = result.scene
    cam = result.camera(camera_id)
    r = cam.range_m
    canvas = Canvas((cam.x - r * 1.05, cam.y - r * 1.05, cam.x + r * 1.05, cam.y + r * 1.05), width)
    body: list[str] = []
    cov = result.coverage.get(camera_id)
    if cov is not None and len(cov.ix):
        for dori, masked, _, geom in cov.polygons():
            fill = MASKED_FILL if masked else DORI_FILL[dori]
            body.append(f'<path d="{canvas.path(shapely.simplify(geom, simplify_m))}" fill="{fill}" '
                        f'fill-opacity="0.45" stroke="none"/>')
    ex = result.exposures
    mine = result.camera_rows(camera_id) if len(ex) else ex
    exposed_buildings = set(mine["building_id"].to_numpy(object).tolist()) if len(mine) else set()
    b = scene.buildings
    tree = scene.footprint_index
    if tree is not None:
        near = tree.query(shapely.Point(cam.x, cam.y).buffer(r * 1.05))
        ids, private = b["id"].to_numpy(object)[near], b["private"].to_numpy(bool)[near]
        for bid, own, geom in zip(ids, private, shapely.simplify(b.geometry.values[near], simplify_m), strict=True):
            fill = "#d2503c" if bid in exposed_buildings else ("#d2aa78" if own else "#9696aa")
            body.append(f'<path d="{canvas.path(geom)}" fill="{fill}" stroke="#555" stroke-width="0.5"/>')
    plan = result.mask_plans.get(camera_id)
    if plan is not None and plan.masks:
        from ..export.plans import result_footprints

        for fp in result_footprints(result, camera_id):
            if not fp.is_empty:
                body.append(f'<path d="{canvas.path(fp)}" fill="none" stroke="#e6c800" stroke-width="1.5"/>')
    if len(mine):
        idx = mine["target"].to_numpy(int)
        px, py = canvas.xy(scene.targets.centroid[idx, 0], scene.targets.centroid[idx, 1])
        for x, y, d in zip(px.tolist(), py.tolist(), mine["dori"].to_numpy(object).tolist(), strict=True):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{DORI_FILL[d]}" stroke="#000" '
                        f'stroke-width="0.3"/>')
    cx, cy = canvas.xy(cam.x, cam.y)
    body.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r * canvas.scale:.1f}" fill="none" stroke="#3c78dc" '
                f'stroke-dasharray="4 3"/><circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="#1e3cc8"/>')
    return svg_figure(canvas, body, f"camera {camera_id}: reach, coverage by DORI class, exposed targets, masks")


def identify_figure(result: Result, *, width: int = 720, simplify_m: float = 1.0) -> str:
    """Where some camera reaches the identify class (faces), before masks (light red) and after masks
    (red), over the buildings and cameras of the whole scenario."""
    scene = result.scene
    cams = result.cameras
    pts = [(c.x - c.range_m, c.y - c.range_m, c.x + c.range_m, c.y + c.range_m) for c in cams]
    if len(scene.buildings):
        pts.append(tuple(scene.buildings.total_bounds))
    if not pts:
        return ""
    a = np.array(pts)
    canvas = Canvas((a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max()), width)
    body: list[str] = []
    for when, fill in (("before_masks", "#f0a0a0"), ("after_masks", "#c80000")):
        for geom in result.identify_polygons(after_masks=when == "after_masks"):
            body.append(f'<path d="{canvas.path(shapely.simplify(geom, simplify_m))}" fill="{fill}" '
                        f'fill-opacity="0.8" stroke="none"/>')
    if len(scene.buildings):
        footprints = shapely.simplify(shapely.union_all(scene.buildings.geometry.values), simplify_m)
        body.append(f'<path d="{canvas.path(footprints)}" fill="#9696aa" stroke="#555" stroke-width="0.3"/>')
    for c in cams:
        x, y = canvas.xy(c.x, c.y)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#1e3cc8"/>')
    return svg_figure(canvas, body, "where face identification detail is reachable")
