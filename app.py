"""Privacy-zone simulator: the map app. Logic lives in `simulator/`; this file describes the UI.

Run with `python3 tasks.py app`. Works offline: the map is drawn by pydeck from the scenario's own data
(a web basemap is an option when online). A scenario is analysed as `simulator run` analyses it (on
worker processes), and each camera's result is kept on disk (`.app_state/analysed/`, under the digest
of the code, the scenario and its data): opening it again casts no ray. Each tab is a fragment: a
widget in it redraws that tab alone; only a camera edit reruns the page.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
import streamlit as st
from pydeck.types import String

import simulator
from simulator.build.catalogue import catalogue
from simulator.build.placement import corner_points, outline_area, scene_box
from simulator.engine.render import render_view
from simulator.errors import SimulatorError
from simulator.inputs.bundle import MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, scenario_from_uploads
from simulator.outputs.analysed import AnalysedCameras
from simulator.outputs.report import human_table, kind_dori_table, noncompliant_table, report_html
from simulator.outputs.report.tables import after_masks_rows
from simulator.results import MASKS_HIDE
from simulator.scenario import DEFAULT_MOUNT_HEIGHT_M, MAX_MOUNT_HEIGHT_M, CameraDefaults
from simulator.visibility import cores
from simulator.vocabulary import DORI_CLASSES
from simulator.where import point_from_lonlat, where_point, where_target
from simulator.workbench import Workbench

ROOT = Path(__file__).parent
# the working state survives a browser reload (``SIMULATOR_APP_STATE``: another folder for it)
STATE_DIR = Path(os.environ.get("SIMULATOR_APP_STATE") or ROOT / ".app_state")
OWN_DIR = STATE_DIR / "scenarios"  # scenarios made from uploads or opened bundles
CACHE_DIR = STATE_DIR / "analysed"  # analysed cameras, by digest (``simulator.outputs.analysed``)
DORI_COLOURS = {"identify": [200, 0, 0], "recognise": [240, 120, 0], "observe": [240, 200, 0],
                "detect": [120, 180, 60], "none": [120, 120, 120]}
BUILDING_COLOURS = {"exposed after masks": [200, 30, 30, 210], "exposed, hidden by masks": [240, 150, 60, 190],
                    "private, not exposed": [215, 190, 150, 170], "not private": [175, 175, 190, 150]}
CAMERA_COLOURS = {"compliant": [30, 140, 60], "not compliant": [200, 30, 30]}
PROPOSED_COLOUR = [150, 40, 200, 255]
WATCH_DRAWN_COLOUR = [230, 120, 0, 255]
MAX_LABELS = 60  # street names drawn at most (the longest streets first)
MAX_STREET_POINTS = 1500  # street points drawn at most (every k-th), to click on
PIXELS = String("pixels")  # a literal for deck.gl (pydeck reads a plain string as a column)
# a basemap style with no network resources: a plain background (the scenario's data is drawn on top)
OFFLINE_STYLE = "data:application/json," + urllib.parse.quote(json.dumps(
    {"version": 8, "sources": {}, "layers": [{"id": "background", "type": "background",
                                              "paint": {"background-color": "#eef1f4"}}]}))
DEFINITIONS = (
    "**Exposed**: a camera sees part of a private target (counted per camera × target). "
    f"**What masks must hide**: {MASKS_HIDE}. "
    "**Exposed after masks**: a target the masks must hide that keeps a visible point outside every mask "
    "(checked with fresh rays at half the sample spacing). "
    "**Compliant**: nothing the masks must hide stays visible, and the plan fits the camera's mask limits. "
    "**Camera view**: the pixels of the targets its masks must hide, in red; 'outside masks' counts those "
    "not under a mask.")

st.set_page_config(page_title="Privacy-zone simulator", layout="wide")
st.title("Camera privacy-zone simulator")


def scenarios() -> dict[str, Path]:
    """Shipped scenarios by file name, then the user's own as ``yours/<name>``."""
    shipped = {p.name: p for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
    own = {f"yours/{p.parent.name}": p for p in sorted(OWN_DIR.glob("*/scenario.yaml"))}
    return shipped | own


@st.cache_resource(show_spinner=False, max_entries=4)
def load_scene(path: str, _mtime: float) -> simulator.Scene:
    return simulator.build_scene(simulator.load_scenario(path))


def state_file(name: str) -> Path:
    return STATE_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.json"


def save(name: str, wb: Workbench) -> None:
    """The cameras of this scenario, written atomically (they come back after a browser reload)."""
    STATE_DIR.mkdir(exist_ok=True)
    tmp = state_file(name).with_suffix(".tmp")
    tmp.write_text(json.dumps(wb.state(), indent=1))
    tmp.replace(state_file(name))


def workbench(name: str, path: Path) -> Workbench:
    """The session's workbench on scenario ``name``: opened once per session, with progress for every
    phase (building the scene, the cameras, the assembly)."""
    key = f"workbench:{name}"
    if key not in st.session_state:
        with st.status(f"Opening {name}…", expanded=True) as status:
            t0 = time.perf_counter()
            status.write("Reading the data and building the scene (buildings, private targets, mesh)…")
            scene = load_scene(str(path), path.stat().st_mtime)
            status.write(f"Scene ready in {time.perf_counter() - t0:.1f} s: {len(scene.buildings):,} buildings, "
                         f"{len(scene.targets):,} private targets.")
            saved = json.loads(state_file(name).read_text()) if state_file(name).is_file() else None
            cache = AnalysedCameras.for_scenario(CACHE_DIR, scene.scenario)
            bar = st.progress(0.0, text="Looking for cameras analysed before…")

            def progress(cid: str, done: int, total: int) -> None:
                bar.progress(min(done / max(total, 1), 1.0),
                             text=f"Casting rays and planning masks: {done} of {total} cameras done")

            t1 = time.perf_counter()
            wb = Workbench.open(scene, saved, progress=progress, processes=cores(), cache=cache)
            bar.empty()
            status.write(f"{len(wb.cameras)} cameras in {time.perf_counter() - t1:.1f} s "
                         f"({wb.analysed_from_cache} of them analysed before, read from the cache).")
            status.write("Assembling the results…")
            wb.regulator_table()
            status.update(label=f"{name}: opened in {time.perf_counter() - t0:.1f} s", state="complete",
                          expanded=False)
        st.session_state[key] = wb
    wb = st.session_state[key]
    return wb


def fit_view(lons: list[float], lats: list[float], width_px: int = 1000, height_px: int = 560) -> pdk.ViewState:
    """A top-down view fitted to the points (web-map zoom for 512 px tiles, as deck.gl counts them)."""
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    lat = (lat0 + lat1) / 2
    span_x = max((lon1 - lon0) * 111_320 * np.cos(np.radians(lat)), 80.0) * 1.15
    span_y = max((lat1 - lat0) * 110_540, 80.0) * 1.15
    metres_per_px = max(span_x / width_px, span_y / height_px)
    zoom = float(np.clip(np.log2(156543.03 * np.cos(np.radians(lat)) / metres_per_px) - 1, 3, 20))
    return pdk.ViewState(longitude=(lon0 + lon1) / 2, latitude=lat, zoom=zoom, pitch=0, bearing=0)


def rings(geoms: Any) -> list[list[list[tuple[float, float]]]]:
    """Each polygon as pydeck takes it: its outer ring then its holes (a multipolygon: its largest part)."""
    out = []
    for g in geoms:
        p = g if g.geom_type == "Polygon" else max(g.geoms, key=lambda q: q.area)
        out.append([np.round(np.asarray(r.coords)[:, :2], 6).tolist() for r in (p.exterior, *p.interiors)])
    return out


def legend(items: dict[str, list[int]], title: str) -> str:
    """A one-line HTML legend: a swatch of each colour (RGB or RGBA 0..255) and its label."""
    def swatch(c: list[int]) -> str:
        alpha = (c[3] if len(c) > 3 else 255) / 255
        return (f"<span style='display:inline-block;width:0.9em;height:0.9em;margin:0 0.25em 0 0.8em;"
                f"vertical-align:middle;background:rgba({c[0]},{c[1]},{c[2]},{alpha:.2f})'></span>")

    swatches = " ".join(f"{swatch(c)}{label}" for label, c in items.items())
    return f"<div style='font-size:0.85em'><b>{title}</b>{swatches}</div>"


REPORT_DELAY_S = 2.0
MEMO_ENTRIES = 64


@st.cache_resource
def background() -> ThreadPoolExecutor:
    """One thread for work the user has not asked for yet but likely will."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")


def prepare_in_background(wb: Workbench) -> None:
    """Once per state of the cameras: the report written in the background thread, and first this
    process's ray engine built (the analysis ran on worker processes; an edit casts rays here). The
    thread starts after ``REPORT_DELAY_S``: it shares the interpreter lock with the page's run, which
    comes first."""
    result = wb.result()
    key = ("report", id(result))
    jobs: dict[Any, Future[str]] = st.session_state.setdefault("jobs", {})
    if key not in jobs:
        scene = wb.scene

        def work() -> str:
            time.sleep(REPORT_DELAY_S)
            _ = scene.engine, scene.target_index
            return report_html(result)

        jobs.clear()
        jobs[key] = background().submit(work)


class CompactDeck(pdk.Deck):  # type: ignore[misc]
    """A Deck whose JSON is written compactly by the C encoder: pydeck indents it, which makes
    ``json`` fall back to its pure-Python encoder (about 1 s per page run for Amadora's buildings)."""

    def to_json(self) -> str:
        from pydeck.bindings.json_tools import default_serialize

        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def memo(wb: Workbench, key: Any, make: Any, *, camera: str | None = None) -> Any:
    """``make()`` computed once per state of the cameras, or with ``camera`` once per state of that
    camera (an edit of another camera keeps it); at most ``MEMO_ENTRIES`` kept, the oldest dropped."""
    store: dict[Any, tuple[tuple[Any, ...], Any]] = st.session_state.setdefault("memo", {})
    owners = (wb.cameras[camera], wb.results[camera]) if camera is not None else (wb, wb.result())
    held = store.get((camera, key))
    if held is None or any(a is not b for a, b in zip(held[0], owners, strict=True)):
        if len(store) >= MEMO_ENTRIES:
            store.pop(next(iter(store)))
        held = store[(camera, key)] = (owners, make())
    return held[1]


# ---------------------------------------------------------------- sidebar: scenario and own data
available = scenarios()
names = list(available)
default = st.query_params.get("scenario", "tutorial.yaml")
if "scenario" not in st.session_state:
    st.session_state["scenario"] = default if default in names else names[0]
if "open_next" in st.session_state:  # a scenario just made from uploads
    st.session_state["scenario"] = st.session_state.pop("open_next")
name = st.sidebar.selectbox("Scenario", names, key="scenario")
st.query_params["scenario"] = name

with st.sidebar.expander("Open your own data or a saved scenario"):
    st.caption(f"Building polygons (GeoJSON, GeoPackage, FlatGeobuf), street lines and camera points; an OSM "
               f"PBF; CityJSON or CityGML models; or a scenario zip saved here. Up to "
               f"{MAX_UPLOAD_BYTES // 2**20} MB per file.")
    uploads = st.file_uploader("Files", type=[s.lstrip(".") for s in UPLOAD_SUFFIXES], accept_multiple_files=True,
                               key="uploads")
    own_name = st.text_input("Name", value="my-area", key="own_name")
    own_crs = st.text_input("CRS of files that state none (e.g. EPSG:28992)", value="", key="own_crs")
    if st.button("Open", key="open_own", disabled=not uploads):
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", own_name).strip("-") or "my-area"
        try:
            with st.spinner("Reading the files…"):
                path = scenario_from_uploads([(f.name, f.getvalue()) for f in uploads], OWN_DIR / slug, name=slug,
                                             crs=own_crs.strip() or None)
                load_scene(str(path), path.stat().st_mtime)  # any data error shows now, not on the map
        except SimulatorError as exc:
            st.error(str(exc))
        else:
            state_file(f"yours/{slug}").unlink(missing_ok=True)
            st.session_state.pop(f"workbench:yours/{slug}", None)
            st.session_state["open_next"] = f"yours/{slug}"
            st.rerun()

try:
    wb = workbench(name, available[name])
except SimulatorError as exc:
    st.error(f"This scenario cannot be opened: {exc}")
    st.stop()
scene = wb.scene
if st.sidebar.button("Discard my edits"):
    state_file(name).unlink(missing_ok=True)
    st.session_state.pop(f"workbench:{name}")
    st.rerun()
table = wb.regulator_table()
prepare_in_background(wb)
st.sidebar.metric("Cameras", len(wb.cameras))
st.sidebar.metric("Exposed private targets (camera x target)", int(table["exposed"].sum()) if len(table) else 0)
st.sidebar.metric("Still exposed after masks", int(table["after_masks"].sum()) if len(table) else 0)
if len(table):
    st.sidebar.metric("Compliant cameras", f"{int(table['compliant'].sum())} / {len(table)}")
with st.sidebar.expander("What the numbers mean"):
    st.markdown(DEFINITIONS)
for note in scene.notes[:5]:
    st.sidebar.caption(note)

tab_map, tab_view, tab_regulator, tab_export = st.tabs(["Map", "Camera view", "Regulator", "Export"])
models = sorted(catalogue())


def camera_choice(key: str, label: str = "Camera") -> str | None:
    """A camera picker that starts on the camera chosen last (on the map or in another tab)."""
    ids = list(wb.cameras)
    if not ids:
        return None
    chosen = st.session_state.get("chosen")
    resync = st.session_state.get("resync", set())
    if st.session_state.get(key) not in ids or (key in resync and chosen in ids):
        st.session_state[key] = chosen if chosen in ids else ids[0]
        if key in resync:
            resync.remove(key)
    cid: str = st.selectbox(label, ids, key=key)
    st.session_state["chosen"] = cid
    return cid


def street_labels() -> pd.DataFrame:
    """One label per street name, at the middle of its longest piece (the scenario's own street data)."""
    s = scene.streets
    if not len(s) or "name" not in s:
        return pd.DataFrame({"name": [], "lon": [], "lat": []})
    named = s[s["name"].notna() & (s["name"].astype(str) != "")]
    named = named.assign(length=named.geometry.length).sort_values("length", ascending=False)
    named = named.drop_duplicates("name").head(MAX_LABELS)
    mid = shapely.line_interpolate_point(named.geometry.values, 0.5, normalized=True)
    lon, lat = scene.frame.to_lonlat(shapely.get_x(mid), shapely.get_y(mid))
    return pd.DataFrame({"name": named["name"].astype(str).to_numpy(), "lon": lon, "lat": lat})


def building_frame() -> pd.DataFrame:
    """Buildings in lon/lat, coloured by what their private targets show (``BUILDING_COLOURS``)."""
    result = wb.result()
    ex = result.exposures
    b = scene.buildings.assign(geometry=scene.buildings.geometry.simplify(0.5)).to_crs("EPSG:4326")
    before = ex.groupby("building_id").size() if len(ex) else pd.Series(dtype=int)
    after_rows = after_masks_rows(ex, result)
    after = after_rows.groupby("building_id").size() if len(after_rows) else pd.Series(dtype=int)
    state = ["exposed after masks" if after.get(i, 0) else "exposed, hidden by masks" if before.get(i, 0)
             else "private, not exposed" if p else "not private" for i, p in zip(b["id"], b["private"], strict=True)]
    exposed = [int(before.get(i, 0)) for i in b["id"]]
    still = [int(after.get(i, 0)) for i in b["id"]]
    tip = [f"Building {i} ({u or 'use unknown'}): {st_}; {e} exposed (camera x target), {a} still exposed after masks"
           for i, u, st_, e, a in zip(b["id"], b["use"], state, exposed, still, strict=True)]
    return pd.DataFrame({"id": b["id"], "use": b["use"], "polygon": rings(b.geometry), "exposed": exposed,
                         "after": still, "state": state, "tip": tip, "colour": [BUILDING_COLOURS[s] for s in state]})


@st.fragment
def map_page() -> None:
    cams = list(wb.cameras.values())
    layers_shown = st.multiselect(
        "Show", ["street names", "reach", "exposed targets (chosen camera)", "mask footprints (chosen camera)",
                 "coverage (all cameras)", "face identification"],
        default=["street names", "exposed targets (chosen camera)", "mask footprints (chosen camera)"],
        key="layers")
    chosen = camera_choice("map_camera", "Chosen camera")
    layers = [pdk.Layer("PolygonLayer", memo(wb, "buildings", building_frame), id="buildings",
                        get_polygon="polygon", get_fill_color="colour", stroked=False, pickable=True)]
    coverage = None
    if cams and {"coverage (all cameras)", "face identification"} & set(layers_shown):
        with st.spinner("Public ground covered by every camera…"):
            coverage = memo(wb, "coverage", wb.coverage_polygons)
    if "coverage (all cameras)" in layers_shown and coverage is not None and len(coverage):
        layers.append(pdk.Layer("PolygonLayer", pd.DataFrame({
            "tip": [f"Camera {c}: {d} ({'hidden by a mask' if m else 'watched'}), {a:,.0f} m²" for c, d, m, a in
                    zip(coverage["camera_id"], coverage["dori"], coverage["masked"], coverage["area_m2"], strict=True)],
            "camera_id": coverage["camera_id"], "dori": coverage["dori"], "area_m2": coverage["area_m2"].round(1),
            "polygon": rings(coverage.geometry),
            "colour": [[30, 30, 30, 150] if m else [*DORI_COLOURS[d], 90]
                       for d, m in zip(coverage["dori"], coverage["masked"], strict=True)]}),
            id="coverage", get_polygon="polygon", get_fill_color="colour", stroked=False, pickable=True))
    if "face identification" in layers_shown and coverage is not None and len(coverage):
        faces = coverage[(coverage["dori"] == "identify") & ~coverage["masked"]]
        if len(faces):
            union = faces.geometry.union_all()
            layers.append(pdk.Layer("PolygonLayer", pd.DataFrame({"polygon": rings(shapely.get_parts(union))}),
                                    id="face_identification", get_polygon="polygon",
                                    get_fill_color=[200, 0, 0, 120], get_line_color=[120, 0, 0, 255],
                                    stroked=True, line_width_min_pixels=1))
    if "mask footprints (chosen camera)" in layers_shown and chosen:
        fps = wb.mask_footprints(chosen)
        if len(fps):
            layers.append(pdk.Layer("PolygonLayer", pd.DataFrame({"tip": "Mask " + fps["mask_id"].astype(str),
                                                                  "polygon": rings(fps.geometry)}),
                                    id="mask_footprints", get_polygon="polygon", get_fill_color=[20, 20, 20, 90],
                                    get_line_color=[250, 220, 0, 230], stroked=True, get_line_width=0.2,
                                    line_width_min_pixels=1, pickable=True))
    if "exposed targets (chosen camera)" in layers_shown and chosen:
        ex = wb.result().camera_rows(chosen)
        if len(ex):
            t = scene.targets
            idx = ex["target"].to_numpy(int)
            tlon, tlat = scene.frame.to_lonlat(t.centroid[idx, 0], t.centroid[idx, 1])
            tip = [f"{t_} seen by {c} at {d}" for t_, c, d in zip(ex["target_id"], ex["camera_id"], ex["dori"],
                                                                  strict=True)]
            tgt = pd.DataFrame({"tip": tip, "target": ex["target_id"], "dori": ex["dori"],
                                "lon": tlon, "lat": tlat, "colour": [DORI_COLOURS[d] for d in ex["dori"]]})
            layers.append(pdk.Layer("ScatterplotLayer", tgt, id="targets", get_position=["lon", "lat"],
                                    get_radius=2.5, radius_units=PIXELS, get_fill_color="colour", pickable=True))
    clon, clat = scene.frame.to_lonlat([c.x for c in cams], [c.y for c in cams])
    compliant = dict(zip(table["camera"], table["compliant"], strict=True)) if len(table) else {}
    cam_df = pd.DataFrame({"id": [c.id for c in cams], "lon": clon, "lat": clat, "range": [c.range_m for c in cams],
                           "colour": [CAMERA_COLOURS["compliant" if compliant.get(c.id, True) else "not compliant"]
                                      for c in cams],
                           "size": [9 if c.id == chosen else 6 for c in cams]})
    cam_df["tip"] = [f"Camera {i}: {'compliant' if compliant.get(i, True) else 'not compliant'} (click to choose)"
                     for i in cam_df["id"]]
    if "reach" in layers_shown and len(cam_df):
        layers.append(pdk.Layer("ScatterplotLayer", cam_df, id="reach", get_position=["lon", "lat"],
                                get_radius="range", filled=False, stroked=True, get_line_color=[60, 120, 220, 140],
                                line_width_min_pixels=1))
    if len(scene.streets):
        sp = scene.street_samples[:: max(1, -(-len(scene.street_samples) // MAX_STREET_POINTS))]
        slon, slat = scene.frame.to_lonlat(sp[:, 0], sp[:, 1])
        points = pd.DataFrame({"lon": np.round(slon, 6), "lat": np.round(slat, 6),
                               "tip": "Street point: click to place a camera here"})
        layers.append(pdk.Layer("ScatterplotLayer", points, id="street_points", get_position=["lon", "lat"],
                                get_radius=2, radius_units=PIXELS, get_fill_color=[90, 90, 90, 110], pickable=True))
    if "street names" in layers_shown:
        labels = memo(wb, "street_labels", street_labels)
        if len(labels):
            layers.append(pdk.Layer("TextLayer", labels, id="street_names", get_position=["lon", "lat"],
                                    get_text="name", get_size=12, get_color=[60, 60, 80, 230],
                                    character_set=String("auto"),
                                    background=True, get_background_color=[255, 255, 255, 170]))
    proposal = st.session_state.get("proposal")
    if proposal is not None and proposal[0] == name and proposal[1].chosen:
        p = proposal[1]
        pc = [p.cameras[i] for i in p.chosen]
        plon, plat = scene.frame.to_lonlat([c.x for c in pc], [c.y for c in pc])
        layers.append(pdk.Layer("ScatterplotLayer", pd.DataFrame({
            "lon": plon, "lat": plat, "tip": [f"Proposed camera {k + 1}: adds {g:,.0f} m² watched"
                                              for k, g in enumerate(p.choice.gains)]}),
            id="proposed", get_position=["lon", "lat"], get_radius=8, radius_units=PIXELS,
            get_fill_color=PROPOSED_COLOUR, stroked=True, get_line_color=[255, 255, 255],
            line_width_min_pixels=2, pickable=True))
    layers.append(pdk.Layer("ScatterplotLayer", cam_df, id="cameras", get_position=["lon", "lat"],
                            get_radius="size", radius_units=PIXELS, get_fill_color="colour", stroked=True,
                            get_line_color=[255, 255, 255], line_width_min_pixels=1, pickable=True))
    if cams:
        view = fit_view(list(clon), list(clat))
    else:
        x0, y0, x1, y1 = scene.buildings.to_crs("EPSG:4326").total_bounds if len(scene.buildings) else (0, 0, 0, 0)
        view = fit_view([x0, x1], [y0, y1])
    t1, t2 = st.columns(2)
    basemap = t1.toggle("Web basemap (needs internet)", value=False, key="basemap")
    drawing = t2.toggle("Draw a watch area: each point you click adds a corner", value=False,
                        key="draw_watch", help="For 'Suggest cameras' below. The corners are joined in the order "
                        "clicked; if the outline crosses itself, the area is their convex hull.")
    if drawing:
        gx, gy, step = memo(wb, "corner_points", lambda: corner_points(scene_box(scene)))
        glon, glat = scene.frame.to_lonlat(gx, gy)
        layers.append(pdk.Layer("ScatterplotLayer", pd.DataFrame({
            "lon": np.round(glon, 7), "lat": np.round(glat, 7),
            "tip": f"Corner point (every {step:g} m): click to add a corner to the watch area"}),
            id="corner_points", get_position=["lon", "lat"], get_radius=2, radius_units=PIXELS,
            get_fill_color=[*WATCH_DRAWN_COLOUR[:3], 120], pickable=True))
    corners = drawn_corners()
    if drawing or corners:
        t2.caption(f"Watch area drawn on the map: {len(corners)} corner{'s' if len(corners) != 1 else ''}"
                   + ("" if len(corners) >= 3 else " (at least 3 needed)") + "; 'Suggest cameras' below watches it.")
    if corners:
        ring = [*corners, corners[0]] if len(corners) >= 3 else corners
        layers.append(pdk.Layer("PathLayer", pd.DataFrame({"path": [[list(c) for c in ring]],
                                                           "tip": [f"Watch area being drawn: {len(corners)} corners"]}),
                                id="watch_drawn", get_path="path", get_color=WATCH_DRAWN_COLOUR, width_min_pixels=3,
                                pickable=False))
        layers.append(pdk.Layer("ScatterplotLayer", pd.DataFrame({"lon": [c[0] for c in corners],
                                                                  "lat": [c[1] for c in corners]}),
                                id="watch_corners", get_position=["lon", "lat"], get_radius=5, radius_units=PIXELS,
                                get_fill_color=WATCH_DRAWN_COLOUR))
    event = st.pydeck_chart(CompactDeck(layers=layers, map_provider="carto",
                                     map_style="light" if basemap else OFFLINE_STYLE,
                                     tooltip={"text": "{tip}"}, initial_view_state=view),
                            on_select="rerun", selection_mode="single-object", key="map")
    st.markdown(legend(BUILDING_COLOURS, "Buildings:") + legend(CAMERA_COLOURS, "Cameras:")
                + legend({k: [*v, 255] for k, v in DORI_COLOURS.items() if k != "none"},
                         "Exposed targets and coverage, by DORI class:")
                + legend({"mask footprint": [250, 220, 0, 230], "hidden by a mask": [30, 30, 30, 150],
                          "street point (click to place a camera)": [90, 90, 90, 200],
                          "proposed camera (Suggest cameras)": PROPOSED_COLOUR,
                          "watch area drawn (Suggest cameras)": WATCH_DRAWN_COLOUR}, "Also:"),
                unsafe_allow_html=True)
    selection = event.selection.objects if event and event.selection else {}
    picked = (selection.get("street_points") or selection.get("corner_points") or [None])[0]
    picked_camera = (selection.get("cameras") or [{}])[0].get("id")
    if picked_camera in wb.cameras and st.session_state.get("picked_camera") != picked_camera:
        st.session_state["picked_camera"] = picked_camera
        st.session_state["chosen"] = picked_camera
        st.session_state["resync"] = {"map_camera", "view_camera", "regulator_camera", "edit_camera"}
    if picked is not None and st.session_state.get("handled_pick") != picked:  # each click acted on once
        st.session_state["handled_pick"] = picked
        at = (float(picked["lon"]), float(picked["lat"]))
        if drawing:
            corners = drawn_corners()
            if not corners or corners[-1] != at:
                corners.append(at)
                if len(corners) >= 3:
                    st.session_state["suggest_what"] = DRAWN  # what 'Suggest cameras' watches now
                st.rerun()  # the map shows the new corner at once
        else:
            st.session_state["place_at"] = at
    add_camera_form()
    edit_camera_form()
    suggest_form()


def add_camera_form() -> None:
    place_at = st.session_state.get("place_at")
    with st.expander("Add a camera", expanded=place_at is not None):
        if place_at is not None:
            st.info(f"Place a camera at {place_at[1]:.6f}° N, {place_at[0]:.6f}° E (the street point you clicked)? "
                    "Check the values and press 'Place camera'.")
        cams = list(wb.cameras.values())
        if place_at is None:
            x, y = ((float(np.mean([c.x for c in cams])), float(np.mean([c.y for c in cams]))) if cams else
                    tuple(scene.buildings.geometry.union_all().centroid.coords[0]) if len(scene.buildings)
                    else (0.0, 0.0))
            lon0, lat0 = (float(v) for v in scene.frame.to_lonlat(x, y))
        else:
            lon0, lat0 = place_at
        with st.form("add_camera"):
            new_id = st.text_input("Camera id", wb.new_id(), key="add_id")
            model = st.selectbox("Model", models, index=models.index("bosch-mic-ip-starlight-7100i"))
            c1, c2 = st.columns(2)
            lat = c1.number_input("Latitude [deg]", value=lat0, format="%.6f", key="add_lat")
            lon = c2.number_input("Longitude [deg]", value=lon0, format="%.6f", key="add_lon")
            mount = st.number_input("Mount height [m]", value=DEFAULT_MOUNT_HEIGHT_M, min_value=0.5,
                                    max_value=MAX_MOUNT_HEIGHT_M)
            if st.form_submit_button("Place camera"):
                try:
                    with st.spinner(f"Analysing {new_id}…"):
                        wb.upsert({"id": new_id, "model": model, "lon": lon, "lat": lat, "mount_height_m": mount})
                except SimulatorError as exc:
                    st.error(str(exc))
                else:
                    save(name, wb)
                    st.session_state.pop("place_at", None)
                    st.session_state["chosen"] = new_id
                    st.session_state["placed"] = new_id
                    st.rerun()
    if st.session_state.get("placed"):
        st.success(f"Camera {st.session_state.pop('placed')} placed and analysed.")


def suggest_form() -> None:
    """'Suggest cameras': ``simulator place`` on this scenario, the proposal shown and accepted (or part of it)."""
    if st.session_state.get("accepted"):
        ids = st.session_state.pop("accepted")
        st.success(f"{len(ids)} proposed camera{'s' if len(ids) != 1 else ''} added, analysed and saved: "
                   f"{', '.join(ids)}.")
    held = st.session_state.get("proposal")
    with st.expander("Suggest cameras", expanded=held is not None and held[0] == name):
        st.caption("Proposes where cameras go to watch the most public ground at the level it needs, each compliant "
                   "(its masks fit its limits, or it gets pan/tilt limits that make it so). Among equal coverage it "
                   "prefers the camera whose masks must hide the fewest private targets (windows, doors, "
                   "balconies, gardens it sees into), then the fewest masks. Your current cameras are the "
                   "'before' (with the limits proposed for them where their masks do not fit).")
        pl = scene.scenario.placement
        own_areas = scene.scenario.watch_areas is not None
        corners = drawn_corners()
        drawn = DRAWN if len(corners) >= 3 else None
        kinds = ([drawn] if drawn else []) + (["the scenario's watch areas"] if own_areas else []) + \
            ["public street space", "a rectangle"]
        if corners:
            c1, c2 = st.columns([3, 1])
            c1.caption(f"The area drawn on the map has {len(corners)} corner{'s' if len(corners) != 1 else ''}"
                       + ("" if drawn else " (at least 3 needed)") + ".")
            if c2.button("Clear the drawn area", key="suggest_clear"):
                corners.clear()
                st.session_state.pop("suggest_what", None)
                st.rerun()
        else:
            st.caption("To watch an area of your own, switch on 'Draw a watch area' above the map and click the "
                       "corner points (orange) or street points at its corners.")
        with st.form("suggest"):
            what = st.radio("Watch", kinds, horizontal=True, key="suggest_what")
            highways = sorted(str(h) for h in scene.streets["highway"].dropna().unique()) \
                if "highway" in scene.streets else []
            c1, c2, c3 = st.columns(3)
            chosen_roads = c1.multiselect("Streets (public street space)", highways, default=list(
                pl.watch_streets.highways or []), placeholder="every street", key="suggest_roads")
            half = c2.number_input("Either side of the centre line [m]", 1.0, 100.0,
                                   float(pl.watch_streets.half_width_m), key="suggest_half")
            level = c3.selectbox("Level needed", DORI_CLASSES, index=DORI_CLASSES.index(pl.watch_streets.level),
                                 key="suggest_level")
            lon0, lat0, lon1, lat1 = (scene.buildings.to_crs("EPSG:4326").total_bounds if len(scene.buildings)
                                      else (0.0, 0.0, 0.0, 0.0))
            r1, r2, r3, r4 = st.columns(4)
            west = r1.number_input("Rectangle: west [lon]", value=float(lon0), format="%.6f", key="suggest_w")
            south = r2.number_input("south [lat]", value=float(lat0), format="%.6f", key="suggest_s")
            east = r3.number_input("east [lon]", value=float(lon1), format="%.6f", key="suggest_e")
            north = r4.number_input("north [lat]", value=float(lat1), format="%.6f", key="suggest_n")
            d1, d2, d3, d4 = st.columns(4)
            budget = d1.number_input("Budget [cameras]", 1, 10_000, min(pl.budget, 10), key="suggest_budget")
            wanted = pl.candidates.models[0] if pl.candidates.models else CameraDefaults().ptz_model  # as the CLI
            model = d2.selectbox("Model", models, index=models.index(wanted) if wanted in models else 0,
                                 key="suggest_model")
            spacing = d3.number_input("Poles every [m]", 5.0, 1000.0,
                                      float(pl.candidates.poles.spacing_m if pl.candidates.poles else 40.0),
                                      key="suggest_spacing")
            height = d4.number_input("Mount height [m]", 1.0, MAX_MOUNT_HEIGHT_M,
                                     float(pl.candidates.mount_heights_m[0]), key="suggest_height")
            go = st.form_submit_button("Suggest cameras")
        if go:
            from simulator.scenario import PolesAlongStreets, WatchAreasLayer, WatchStreets

            watch = None
            if what in ("a rectangle", DRAWN):
                area = shapely.box(west, south, east, north) if what == "a rectangle" else outline_area(corners)
                box = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
                    "id": "rectangle" if what == "a rectangle" else "area drawn", "level": level},
                    "geometry": shapely.geometry.mapping(area)}]}
                STATE_DIR.mkdir(exist_ok=True)
                area_file = STATE_DIR / f"watch-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.geojson"
                area_file.write_text(json.dumps(box))
                watch = WatchAreasLayer(path=str(area_file), crs="EPSG:4326")
            elif what == "the scenario's watch areas":
                watch = scene.scenario.watch_areas
            settings = pl.model_copy(update={
                "budget": int(budget),
                "watch_streets": WatchStreets(highways=tuple(chosen_roads) or None, half_width_m=half, level=level),
                "candidates": pl.candidates.model_copy(update={
                    "poles": PolesAlongStreets(spacing_m=spacing, setback_m=(pl.candidates.poles.setback_m if
                                                                             pl.candidates.poles else 4.0)),
                    "mount_heights_m": (float(height),), "models": (model,)})})
            bar = st.progress(0.0, text="Analysing the candidates…")

            def progress(cid: str, done: int, total: int) -> None:
                bar.progress(min(done / max(total, 1), 1.0), text=f"Analysing the candidates: {done} of {total}")

            try:
                if what == "a rectangle" and not (west < east and south < north):
                    raise SimulatorError("the rectangle needs west < east and south < north")
                if what == DRAWN and outline_area(corners).area <= 0:
                    raise SimulatorError("the corners drawn enclose no area: click at least 3 corners not on one "
                                         "line")
                proposal = wb.suggest(settings, watch_areas=watch, processes=cores(), progress=progress)
            except SimulatorError as exc:
                bar.empty()
                st.error(str(exc))
                return
            bar.empty()
            st.session_state["proposal"] = held = (name, proposal)
        if held is None or held[0] != name:
            return
        p = held[1]
        watched, before = p.watched_m2(), p.reached_m2(p.existing)
        after = p.reached_m2([p.outcome(i) for i in p.chosen])
        total = float(watched.sum())
        if p.grid.default:
            st.caption(p.grid.default[0].upper() + p.grid.default[1:] + ".")
        reach = "proposed camera reaches" if len(p.chosen) == 1 else "proposed cameras reach"
        st.markdown(f"**{len(p.chosen)} {reach} {after.sum():,.0f} m² of {total:,.0f} m² watched "
                    f"({after.sum() / max(total, 1e-9):.1%})**; your {len(p.existing)} cameras reach "
                    f"{before.sum():,.0f} m² ({before.sum() / max(total, 1e-9):.1%}). No {p.budget} of these "
                    f"{len(p.results)} candidates reach more than {p.choice.upper_bound:,.0f} m².")
        st.dataframe(pd.DataFrame({"Watch area": p.grid.names, "Level needed": p.grid.levels,
                                   "Watched [m²]": watched.round(0), "Before [m²]": before.round(0),
                                   "After [m²]": after.round(0)}), hide_index=True)
        rows = []
        for k, (i, gain) in enumerate(zip(p.chosen, p.choice.gains, strict=True)):
            o = p.outcome(i)
            limits = "proposed" if (o.pan_limits_deg or o.tilt_limits_deg) else "its own"
            rows.append({"#": k + 1, "Model": p.candidates[i][0].model, "Mount height [m]": p.cameras[i].mount_height_m,
                         "Pan/tilt limits": limits, "Masks": f"{o.masks} / {o.mask_limit}",
                         "Private targets its masks hide": o.seen_into, "Adds [m²]": round(gain),
                         "Reached so far": f"{sum(p.choice.gains[:k + 1]) / max(total, 1e-9):.1%}"})
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        picked = st.multiselect("Accept these (by #)", list(range(1, len(p.chosen) + 1)),
                                default=list(range(1, len(p.chosen) + 1)), key="suggest_accept")
        if st.button("Accept into my cameras", disabled=not picked, key="suggest_go"):
            with st.spinner("Analysing the accepted cameras…"):
                ids = wb.accept(p, [k - 1 for k in picked])
            save(name, wb)
            st.session_state.pop("proposal", None)
            st.session_state["accepted"] = ids
            st.rerun()


DRAWN = "the area drawn on the map"


def drawn_corners() -> list[tuple[float, float]]:
    """The corners (lon, lat) of the watch area drawn on this scenario's map, in the order clicked."""
    by_scenario: dict[str, list[tuple[float, float]]] = st.session_state.setdefault("watch_corners", {})
    return by_scenario.setdefault(name, [])


def edit_camera_form() -> None:
    if "edited" in st.session_state:  # the last edit, confirmed once the page shows its results
        st.success(st.session_state.pop("edited"))
    with st.expander("Edit or delete a camera", expanded=bool(st.session_state.get("picked_camera"))):
        cid = camera_choice("edit_camera")
        if cid is None:
            return
        spec = wb.specs[cid]
        with st.form("edit_camera_form"):
            model = st.selectbox("Model", ["(given inline)", *models],
                                 index=models.index(spec["model"]) + 1 if spec.get("model") in models else 0)
            mount = st.number_input("Mount height [m]", value=float(spec["mount_height_m"]), min_value=0.5)
            lo, hi = (float(v) for v in spec["pan_limits_deg"])
            full = hi - lo >= 360
            st.caption("Pan limits: the camera turns clockwise from the first azimuth to the second (degrees from "
                       "true north). A 'to' below 'from' wraps through north: from 300 to 60 allows the 120° "
                       "through north. Tick 'no pan limit' for a full turn.")
            p0, p1, p2 = st.columns([2, 2, 1])
            pan_from = p0.number_input("Pan from [deg]", 0.0, 360.0, lo % 360.0, step=1.0, key="pan_from")
            pan_to = p1.number_input("Pan to [deg]", 0.0, 360.0, (hi % 360.0) if not full else 360.0, step=1.0,
                                     key="pan_to")
            no_limit = p2.checkbox("No pan limit", value=full, key="pan_free")
            tilt = st.slider("Tilt limits [deg, above horizontal]", -90.0, 90.0,
                             (float(spec["tilt_limits_deg"][0]), float(spec["tilt_limits_deg"][1])), step=1.0)
            c1, c2, c3 = st.columns(3)
            limits = spec["mask_limits"]
            max_masks = c1.number_input("Max masks", value=int(limits["max_masks"]), min_value=0)
            max_vertices = c2.number_input("Max vertices per mask", value=int(limits["max_vertices"]), min_value=3)
            rectangles = c3.checkbox("Rectangles only", value=bool(limits["rectangle_only"]))
            if st.form_submit_button("Apply"):
                pan = [0.0, 360.0] if no_limit else [pan_from, pan_to if pan_to > pan_from else pan_to + 360.0]
                changed = {**spec, "mount_height_m": mount, "pan_limits_deg": pan, "tilt_limits_deg": list(tilt),
                           "mask_limits": {"max_masks": int(max_masks), "max_vertices": int(max_vertices),
                                           "rectangle_only": bool(rectangles)}}
                if model != "(given inline)" and model != spec.get("model"):
                    changed = {k: v for k, v in changed.items()
                               if k not in ("kind", "resolution_px", "hfov_deg", "mask_limits")} | {"model": model}
                try:
                    with st.spinner(f"Re-analysing {cid}…"):
                        wb.upsert(changed)
                except SimulatorError as exc:
                    st.error(str(exc))
                else:
                    save(name, wb)
                    row = wb.regulator_table().set_index("camera").loc[cid]
                    st.session_state["edited"] = (
                        f"{cid} updated: mount height {mount:g} m; {int(row['exposed'])} exposed targets, "
                        f"{int(row['after_masks'])} after masks, {int(row['masks'])} masks "
                        f"({'compliant' if row['compliant'] else 'not compliant'}).")
                    st.rerun()
        if st.button("Delete camera", key="delete_camera"):
            wb.remove(cid)
            save(name, wb)
            st.rerun()


@st.fragment
def view_page() -> None:
    cid = camera_choice("view_camera")
    if cid is None:
        st.info("No cameras yet: add one on the map.")
        return
    cam = wb.cameras[cid]
    plan = wb.results[cid].plan
    c1, c2, c3 = st.columns(3)
    pan = c1.slider("Pan [deg from north]", 0.0, 360.0, float(round(cam.direction_deg or 0.0)), step=1.0,
                    format="%.0f°", key="view_pan")
    tilt = c2.slider("Tilt [deg]", -90.0, 90.0, float(round(cam.tilt_deg if cam.tilt_deg is not None else -10.0)),
                     step=1.0, format="%.0f°", key="view_tilt")
    zoom = c3.slider("Zoom [x]", 1.0, float(max(cam.hfov_deg[0] / cam.hfov_deg[1], 1.0)), 1.0, step=0.5,
                     key="view_zoom")
    after = st.toggle("With masks applied (after)", value=False, key="view_after")
    hfov = float(np.degrees(2 * np.arctan(np.tan(np.radians(cam.hfov_deg[0]) / 2) / zoom)))
    hide = memo(wb, "must_hide", lambda: wb.result().must_hide(cid), camera=cid)
    view = memo(wb, ("view", pan, tilt, hfov, after), lambda: render_view(
        scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=hfov, width=640,
        masks=plan.masks if plan else None, masked=after, only=hide), camera=cid)
    m1, m2, m3 = st.columns(3)
    m1.metric("Targets masks must hide, in view", len(view.target_pixels))
    m2.metric("Their pixels outside masks", f"{view.unmasked_private_pixels} of {view.private_pixels}")
    m3.metric("Masks", len(plan.masks) if plan else 0)
    st.image(view.image, caption=f"{cid}: pan {pan:.0f}°, tilt {tilt:.0f}°, HFOV {hfov:.1f}° — targets its masks must "
                                 f"hide in red, masks outlined in yellow (before) or filled black (after)",
             width="stretch")


@st.fragment
def regulator_page() -> None:
    result = wb.result()
    bad = noncompliant_table(table)
    st.subheader(f"Cameras not compliant: {len(bad)} of {len(table)}")
    if len(bad):
        st.dataframe(bad, width="stretch", hide_index=True, key="noncompliant")
    else:
        st.success("Every camera is compliant: nothing its masks must hide stays visible.")
    with st.expander("Every camera: exposure before and after masks", expanded=len(table) <= 20):
        st.dataframe(human_table(table.drop(columns=["reasons"])), width="stretch", hide_index=True,
                     key="all_cameras")
    regulator_camera(result)
    where_question(result)
    if len(table):
        report_download(result)


@st.fragment
def regulator_camera(result: simulator.Result) -> None:
    """One camera's figures in the Regulator tab: its own fragment, so that choosing another camera
    redraws only this (not the tables of every camera, the question and the downloads above and below)."""
    cid = camera_choice("regulator_camera")
    if cid is None:
        return
    row = table.set_index("camera").loc[cid]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Exposed targets", int(row["exposed"]))
    m2.metric("After masks", int(row["after_masks"]))
    m3.metric("Masks used / limit", f"{int(row['masks'])} / {int(row['mask_limit'])}")
    share = row["public_hidden_share"]
    m4.metric("Public view hidden", "–" if pd.isna(share) else f"{100 * share:.1f} %")
    (st.success if row["compliant"] else st.error)(
        "Compliant" if row["compliant"] else f"Not compliant: {row['reasons']}")
    if not row["compliant"]:
        (st.info if "compliant with" in row["proposed_limits"] else st.warning)(
            f"Remedy: {row['proposed_limits']}" if row["proposed_limits"] else
            "No remedy found: no pan/tilt limits were found with which a plan fits.")
    st.caption(f"At least {int(row['masks_lower_bound'])} masks are needed (a proven lower bound: visible "
               "private samples pairwise farther apart than the wide view's diagonal each need their own mask).")
    before_col, after_col = st.columns(2)
    before_col.caption("Before masks: exposed targets by kind and DORI class")
    before_col.dataframe(kind_dori_table(result, cid), width="stretch")
    after_col.caption("After masks: still visible outside every mask")
    after_col.dataframe(kind_dori_table(result, cid, after_masks=True), width="stretch")
    st.caption(f"DORI classes from best to least detail: {', '.join(DORI_CLASSES)}.")


def exposed_by_building(result: simulator.Result) -> dict[str, list[str]]:
    """The exposed targets' ids by the building they belong to (both sorted; targets on no building,
    such as a garden, under "no building")."""
    ex = result.exposures
    if not len(ex):
        return {}
    pairs = ex[["building_id", "target_id"]].drop_duplicates()
    building = pairs["building_id"].astype("string").fillna("no building").astype(str)
    groups = pairs["target_id"].astype(str).groupby(building.to_numpy())
    return {b: sorted(t) for b, t in sorted(groups)}


def where_question(result: simulator.Result) -> None:
    st.subheader("Which cameras can see it?")
    ask_target, ask_point = st.columns(2)
    by_building = memo(wb, "exposed_by_building", lambda: exposed_by_building(result))
    # two short lists, not one of every exposed target (Amadora: tens of thousands, a page freeze each run)
    building = ask_target.selectbox("Building (with exposed targets)", list(by_building), index=None,
                                    key="where_building")
    target_id = ask_target.selectbox("A window, door, balcony, garden … (exposed targets on it)",
                                     by_building.get(building, []), index=None, key="where_target",
                                     disabled=building is None)
    with ask_point.form("where_point"):
        lon = st.number_input("Longitude [deg]", value=None, format="%.6f", key="where_lon")
        lat = st.number_input("Latitude [deg]", value=None, format="%.6f", key="where_lat")
        z = st.number_input("Height above ground [m]", value=1.5, key="where_z")
        asked_point = st.form_submit_button("Ask for this point")
    answer = None
    try:
        if asked_point and lon is not None and lat is not None:
            with st.spinner("Asking every camera…"):
                answer = where_point(result.scene, point_from_lonlat(result.scene, lon, lat, z))
        elif target_id:
            with st.spinner("Asking every camera…"):
                answer = where_target(result.scene, target_id)
    except SimulatorError as exc:
        st.error(str(exc))
    if answer is not None:
        seen = answer[answer["visible"]]
        st.write(f"{len(seen)} of {len(answer)} cameras can see it; "
                 f"{int((~seen['masked'].astype(bool)).sum())} without a mask over it.")
        st.dataframe(seen, hide_index=True, key="where_answer")


def report_download(result: simulator.Result) -> None:
    stem = Path(name).stem
    job = st.session_state.get("jobs", {}).get(("report", id(result)))
    ready = job is not None and job.done()
    if not ready and st.button("Prepare the report (HTML)", key="prepare_report",
                               help="It is being written in the background since the scenario opened"):
        with st.spinner("Writing the report…"):
            if job is None:
                prepare_in_background(wb)
                job = st.session_state["jobs"][("report", id(result))]
            job.result()
        ready = True
    if ready and job is not None:
        st.download_button("Download the report (HTML)", job.result(), file_name=f"{stem}-report.html",
                           mime="text/html", key="download_report")
    csv = memo(wb, "table_csv", lambda: human_table(table).to_csv(index=False))
    st.download_button("Download the table (CSV)", csv, file_name=f"{stem}-regulator.csv", key="download_table")
    st.download_button("Download summary.json", memo(wb, "summary", lambda: json.dumps(result.summary(), indent=1,
                                                                                      default=str)),
                       file_name=f"{stem}-summary.json", key="download_summary")


@st.fragment
def export_page() -> None:
    st.subheader("Mask configurations for the cameras")
    over = table[table["masks"] > table["mask_limit"]] if len(table) else table
    if len(over):
        st.warning(f"{len(over)} cameras need more masks than they take ({', '.join(over['camera'][:8])}"
                   f"{', …' if len(over) > 8 else ''}): their files say so at the top, and the device would keep "
                   "only as many as it takes. Apply their proposed limits (Regulator tab) first.")
    vendor = st.radio("Mask format", ["onvif", "axis", "hikvision", "json"], horizontal=True, key="vendor")
    if st.button("Prepare signed mask plans", key="prepare_export"):
        with st.spinner("Signing and exporting…"):
            st.session_state["export_zip"] = (vendor, wb.export_zip(vendor))
    if "export_zip" in st.session_state:
        made_for, content = st.session_state["export_zip"]
        st.download_button(f"Download zip ({made_for})", content, file_name=f"{Path(name).stem}-masks-{made_for}.zip",
                           key="download_export")
    st.subheader("The scenario")
    st.caption("A zip with scenario.yaml, its data files and the cameras as edited here; open it again from the "
               "sidebar ('Open your own data or a saved scenario').")
    if st.button("Prepare the scenario zip", key="prepare_bundle"):
        with st.spinner("Packing the scenario and its data…"):
            st.session_state["bundle_zip"] = wb.bundle()
    if "bundle_zip" in st.session_state:
        st.download_button("Download the scenario (zip)", st.session_state["bundle_zip"],
                           file_name=f"{Path(name).stem.replace('/', '-')}-scenario.zip", key="download_bundle")
    st.download_button("Save working state (cameras, JSON)", json.dumps(wb.state(), indent=1),
                       file_name=f"{Path(name).stem}-cameras.json")


with tab_map:
    map_page()
with tab_view:
    view_page()
with tab_regulator:
    regulator_page()
with tab_export:
    export_page()
