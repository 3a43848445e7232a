"""Privacy-zone simulator: the map app. Logic lives in `simulator/`; this file describes the UI.

Run with `python3 tasks.py app`. Works offline: the map is drawn by pydeck from the scenario's own data
(a web basemap is an option when online).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd
import pydeck as pdk
import shapely
import streamlit as st

import simulator
from simulator.build.catalogue import catalogue
from simulator.engine.render import render_view
from simulator.errors import SimulatorError
from simulator.inputs.bundle import MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, scenario_from_uploads
from simulator.outputs.report import kind_dori_table, report_html
from simulator.scenario import DEFAULT_MOUNT_HEIGHT_M
from simulator.vocabulary import DORI_CLASSES
from simulator.where import point_from_lonlat, where_point, where_target
from simulator.workbench import Workbench

ROOT = Path(__file__).parent
STATE_DIR = ROOT / ".app_state"  # the working state survives a browser reload
OWN_DIR = STATE_DIR / "scenarios"  # scenarios made from uploads or opened bundles
DORI_COLOURS = {"identify": [200, 0, 0], "recognise": [240, 120, 0], "observe": [240, 200, 0],
                "detect": [120, 180, 60], "none": [120, 120, 120]}
# a basemap style with no network resources: a plain background (the scenario's data is drawn on top)
OFFLINE_STYLE = "data:application/json," + urllib.parse.quote(json.dumps(
    {"version": 8, "sources": {}, "layers": [{"id": "background", "type": "background",
                                              "paint": {"background-color": "#eef1f4"}}]}))

st.set_page_config(page_title="Privacy-zone simulator", layout="wide")
st.title("Camera privacy-zone simulator")


def scenarios() -> dict[str, Path]:
    """Shipped scenarios by file name, then the user's own as ``yours/<name>``."""
    shipped = {p.name: p for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
    own = {f"yours/{p.parent.name}": p for p in sorted(OWN_DIR.glob("*/scenario.yaml"))}
    return shipped | own


@st.cache_resource(show_spinner="Building the scene (buildings, targets, mesh)…", max_entries=4)
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
    key = f"workbench:{name}"
    if key not in st.session_state:
        scene = load_scene(str(path), path.stat().st_mtime)
        saved = json.loads(state_file(name).read_text()) if state_file(name).is_file() else None
        bar = st.progress(0.0, text="Casting rays and planning masks…")

        def progress(cid: str, done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Casting rays and planning masks: camera {done + 1} of {total} "
                                                    f"({cid})")

        st.session_state[key] = Workbench.open(scene, saved, progress=progress)
        bar.empty()
    return st.session_state[key]


def fit_zoom(scene: simulator.Scene, lat: float, width_px: int = 900) -> float:
    """Web-map zoom at which the buildings' extent fills about ``width_px`` pixels (256 px tiles)."""
    x0, y0, x1, y1 = scene.buildings.total_bounds if len(scene.buildings) else (0, 0, 500, 500)
    extent = max(x1 - x0, y1 - y0, 50.0)
    return float(np.clip(np.log2(156543.03 * np.cos(np.radians(lat)) * width_px / extent), 11, 19))


def rings(geoms) -> list[list[list[tuple[float, float]]]]:  # type: ignore[no-untyped-def]
    """Each polygon as pydeck takes it: its outer ring then its holes (a multipolygon: its largest part)."""
    out = []
    for g in geoms:
        p = g if g.geom_type == "Polygon" else max(g.geoms, key=lambda q: q.area)
        out.append([list(p.exterior.coords), *(list(r.coords) for r in p.interiors)])
    return out


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
result = wb.result()
table = wb.regulator_table()
st.sidebar.metric("Cameras", len(wb.cameras))
st.sidebar.metric("Exposed private targets (camera x target)", int(table["exposed"].sum()) if len(table) else 0)
st.sidebar.metric("Still exposed after masks", int(table["after_masks"].sum()) if len(table) else 0)
if len(table):
    st.sidebar.metric("Compliant cameras", f"{int(table['compliant'].sum())} / {len(table)}")
for note in scene.notes[:5]:
    st.sidebar.caption(note)

tab_map, tab_view, tab_regulator, tab_export = st.tabs(["Map", "Camera view", "Regulator", "Export"])
cams = list(wb.cameras.values())
models = sorted(catalogue())

# ---------------------------------------------------------------- map
with tab_map:
    ex = result.exposures
    b = scene.buildings.to_crs("EPSG:4326")
    exposed_buildings = set(ex["building_id"]) if len(ex) else set()
    buildings = pd.DataFrame({
        "id": b["id"], "use": b["use"], "height": b["height"], "polygon": rings(b.geometry),
        "colour": [[220, 80, 60, 200] if i in exposed_buildings
                   else ([210, 170, 120, 160] if p else [150, 150, 170, 140])
                   for i, p in zip(b["id"], b["private"], strict=True)]})
    clon, clat = scene.frame.to_lonlat([c.x for c in cams], [c.y for c in cams])
    cam_df = pd.DataFrame({"id": [c.id for c in cams], "lon": clon, "lat": clat, "range": [c.range_m for c in cams]})
    layers = [pdk.Layer("PolygonLayer", buildings, id="buildings", get_polygon="polygon", get_fill_color="colour",
                        get_elevation="height", extruded=True, pickable=True)]
    show = st.multiselect("Show", ["exposed targets", "reach", "coverage", "face identification", "mask footprints"],
                          default=["exposed targets", "reach", "coverage", "mask footprints"], key="layers")
    coverage = wb.coverage_polygons() if cams and {"coverage", "face identification"} & set(show) else None
    if "coverage" in show and coverage is not None and len(coverage):
        layers.append(pdk.Layer("PolygonLayer", pd.DataFrame({
            "camera_id": coverage["camera_id"], "dori": coverage["dori"], "area_m2": coverage["area_m2"].round(1),
            "polygon": rings(coverage.geometry),
            "colour": [[30, 30, 30, 150] if m else [*DORI_COLOURS[d], 90]
                       for d, m in zip(coverage["dori"], coverage["masked"], strict=True)]}),
            id="coverage", get_polygon="polygon", get_fill_color="colour", stroked=False, pickable=True))
    if "face identification" in show and coverage is not None and len(coverage):
        faces = coverage[(coverage["dori"] == "identify") & ~coverage["masked"]]
        if len(faces):
            union = faces.geometry.union_all()
            layers.append(pdk.Layer("PolygonLayer", pd.DataFrame({"polygon": rings(shapely.get_parts(union))}),
                                    id="face_identification", get_polygon="polygon",
                                    get_fill_color=[200, 0, 0, 120], get_line_color=[120, 0, 0, 255],
                                    stroked=True, line_width_min_pixels=1))
    if "mask footprints" in show and cams:
        fps = pd.concat([wb.mask_footprints(c.id) for c in cams], ignore_index=True)
        if len(fps):
            layers.append(pdk.Layer("PolygonLayer", pd.DataFrame({"mask_id": fps["mask_id"],
                                                                  "polygon": rings(fps.geometry)}),
                                    id="mask_footprints", get_polygon="polygon", get_fill_color=[20, 20, 20, 90],
                                    get_line_color=[250, 220, 0, 230], stroked=True, get_line_width=0.2,
                                    line_width_min_pixels=1))
    if "exposed targets" in show and len(ex):
        t = scene.targets
        idx = ex["target"].to_numpy(int)
        tlon, tlat = scene.frame.to_lonlat(t.centroid[idx, 0], t.centroid[idx, 1])
        tgt = pd.DataFrame({"camera": ex["camera_id"], "target": ex["target_id"], "dori": ex["dori"], "lon": tlon,
                            "lat": tlat, "colour": [DORI_COLOURS[d] for d in ex["dori"]]})
        layers.append(pdk.Layer("ScatterplotLayer", tgt, id="targets", get_position=["lon", "lat"], get_radius=0.6,
                                get_fill_color="colour", pickable=True))
    if "reach" in show:
        layers.append(pdk.Layer("ScatterplotLayer", cam_df, id="reach", get_position=["lon", "lat"],
                                get_radius="range", get_fill_color=[60, 120, 220, 20], stroked=True,
                                get_line_color=[60, 120, 220, 120]))
    layers.append(pdk.Layer("ScatterplotLayer", cam_df, id="cameras", get_position=["lon", "lat"], get_radius=3,
                            get_fill_color=[30, 60, 200], pickable=True))
    if len(scene.streets):
        sp = scene.street_samples[:: max(1, len(scene.street_samples) // 3000)]
        slon, slat = scene.frame.to_lonlat(sp[:, 0], sp[:, 1])
        points = pd.DataFrame({"lon": slon, "lat": slat, "x": sp[:, 0], "y": sp[:, 1]})
        layers.append(pdk.Layer("ScatterplotLayer", points, id="street_points", get_position=["lon", "lat"],
                                get_radius=1.2, get_fill_color=[90, 90, 90, 90], pickable=True))
    if cams:
        centre = (float(np.mean(clon)), float(np.mean(clat)))
    else:
        centre = tuple(b.geometry.union_all().centroid.coords[0]) if len(b) else (0.0, 0.0)
    basemap = st.toggle("Web basemap (needs internet)", value=False, key="basemap")
    st.caption("Buildings: red = has exposed targets, tan = private, grey = non-residential. Dots: exposed targets "
               "by DORI class (red identify, orange recognise, yellow observe, green detect). Shaded ground: the "
               "public space each camera covers, by the same colours (dark where its masks hide it); 'face "
               "identification' outlines where some camera reaches the identify class through no mask. Blue "
               "circles: cameras and their reach; yellow outlines: where the masks fall. Click a grey street point "
               "to place a camera there; click a camera to edit it.")
    event = st.pydeck_chart(pdk.Deck(layers=layers, map_provider="carto",
                                     map_style="light" if basemap else OFFLINE_STYLE,
                                     tooltip={"text": "{id}{target}{mask_id}"},
                                     initial_view_state=pdk.ViewState(longitude=centre[0], latitude=centre[1],
                                                                      zoom=fit_zoom(scene, centre[1]), pitch=40)),
                            on_select="rerun", selection_mode="single-object", key="map")
    selection = event.selection.objects if event and event.selection else {}
    picked = selection.get("street_points") or []
    picked_camera = (selection.get("cameras") or [{}])[0].get("id")
    if picked_camera in wb.cameras and st.session_state.get("picked_camera") != picked_camera:
        st.session_state["picked_camera"] = picked_camera
        st.session_state["edit_camera"] = picked_camera

    with st.expander("Add a camera", expanded=bool(picked)):
        bx, by = (scene.buildings.geometry.union_all().centroid.coords[0] if len(scene.buildings) else (0.0, 0.0))
        x0 = float(picked[0]["x"]) if picked else float(np.mean([c.x for c in cams]) if cams else bx)
        y0 = float(picked[0]["y"]) if picked else float(np.mean([c.y for c in cams]) if cams else by)
        with st.form("add_camera"):
            new_id = st.text_input("Camera id", wb.new_id())
            model = st.selectbox("Model", models, index=models.index("bosch-mic-ip-starlight-7100i"))
            x = st.number_input(f"x [m] ({scene.frame.crs.to_string()})", value=x0, format="%.2f")
            y = st.number_input("y [m]", value=y0, format="%.2f")
            mount = st.number_input("Mount height [m]", value=DEFAULT_MOUNT_HEIGHT_M, min_value=0.5, max_value=100.0)
            if st.form_submit_button("Add camera"):
                try:
                    with st.spinner(f"Analysing {new_id}…"):
                        wb.upsert({"id": new_id, "model": model, "x": x, "y": y, "mount_height_m": mount})
                except SimulatorError as exc:
                    st.error(str(exc))
                else:
                    save(name, wb)
                    st.rerun()

    with st.expander("Edit or delete a camera", expanded=bool(picked_camera)):
        if cams:
            cid = st.selectbox("Camera", list(wb.cameras), key="edit_camera")
            spec = wb.specs[cid]
            with st.form("edit_camera_form"):
                model = st.selectbox("Model", ["(inline)", *models],
                                     index=models.index(spec["model"]) + 1 if spec.get("model") in models else 0)
                mount = st.number_input("Mount height [m]", value=float(spec["mount_height_m"]), min_value=0.5)
                pan = st.slider("Pan limits [deg from true north, clockwise]", 0.0, 720.0,
                                (float(spec["pan_limits_deg"][0]), float(spec["pan_limits_deg"][1])))
                tilt = st.slider("Tilt limits [deg]", -90.0, 90.0,
                                 (float(spec["tilt_limits_deg"][0]), float(spec["tilt_limits_deg"][1])))
                c1, c2, c3 = st.columns(3)
                limits = spec["mask_limits"]
                max_masks = c1.number_input("Max masks", value=int(limits["max_masks"]), min_value=0)
                max_vertices = c2.number_input("Max vertices per mask", value=int(limits["max_vertices"]), min_value=3)
                rectangles = c3.checkbox("Rectangles only", value=bool(limits["rectangle_only"]))
                if st.form_submit_button("Apply"):
                    changed = {**spec, "mount_height_m": mount, "pan_limits_deg": list(pan),
                               "tilt_limits_deg": list(tilt),
                               "mask_limits": {"max_masks": int(max_masks), "max_vertices": int(max_vertices),
                                               "rectangle_only": bool(rectangles)}}
                    if model != "(inline)" and model != spec.get("model"):
                        changed = {k: v for k, v in changed.items()
                                   if k not in ("kind", "resolution_px", "hfov_deg", "mask_limits")} | {"model": model}
                    try:
                        with st.spinner(f"Re-analysing {cid}…"):
                            wb.upsert(changed)
                    except SimulatorError as exc:
                        st.error(str(exc))
                    else:
                        save(name, wb)
                        st.rerun()
            if st.button("Delete camera", key="delete_camera"):
                wb.remove(cid)
                save(name, wb)
                st.rerun()

# ---------------------------------------------------------------- camera view
with tab_view:
    if cams:
        cid = st.selectbox("Camera", list(wb.cameras), key="view_camera")
        cam = wb.cameras[cid]
        plan = wb.results[cid].plan
        c1, c2, c3 = st.columns(3)
        pan = c1.slider("Pan [deg from north]", 0.0, 360.0, float(cam.direction_deg or 0.0), key="view_pan")
        tilt = c2.slider("Tilt [deg]", -90.0, 90.0, float(cam.tilt_deg if cam.tilt_deg is not None else -10.0),
                         key="view_tilt")
        zoom = c3.slider("Zoom [x]", 1.0, float(max(cam.hfov_deg[0] / cam.hfov_deg[1], 1.0)), 1.0, key="view_zoom")
        after = st.toggle("With masks applied (after)", value=False, key="view_after")
        hfov = float(np.degrees(2 * np.arctan(np.tan(np.radians(cam.hfov_deg[0]) / 2) / zoom)))
        view = render_view(scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=hfov, width=640,
                           masks=plan.masks if plan else None, masked=after)
        m1, m2, m3 = st.columns(3)
        m1.metric("Private targets in view", len(view.target_pixels))
        m2.metric("Private pixels outside masks", f"{view.unmasked_private_pixels} of {view.private_pixels}")
        m3.metric("Masks", len(plan.masks) if plan else 0)
        st.image(view.image, caption=f"{cid}: pan {pan:.0f}°, tilt {tilt:.0f}°, HFOV {hfov:.1f}° — private targets "
                                     f"in red, masks outlined in yellow (before) or filled black (after)",
                 width="stretch")
    else:
        st.info("No cameras yet: add one on the map.")

# ---------------------------------------------------------------- regulator
with tab_regulator:
    st.subheader("Exposure per camera, before and after masks")
    st.dataframe(table, width="stretch", hide_index=True)
    if cams:
        cid = st.selectbox("Camera", list(wb.cameras), key="regulator_camera")
        row = table.set_index("camera").loc[cid]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Exposed targets", int(row["exposed"]))
        m2.metric("After masks", int(row["after_masks"]))
        m3.metric("Masks used / limit", f"{int(row['masks'])} / {int(row['mask_limit'])}")
        share = row["public_hidden_share"]
        m4.metric("Public view hidden", "–" if pd.isna(share) else f"{100 * share:.1f} %")
        (st.success if row["compliant"] else st.error)(
            "Compliant" if row["compliant"] else f"Not compliant: {row['reasons']}")
        st.caption(f"At least {int(row['masks_lower_bound'])} masks are needed (a proven lower bound: visible "
                   "private samples pairwise farther apart than the wide view's diagonal each need their own mask).")
        if row["proposed_limits"]:
            (st.info if "compliant with" in row["proposed_limits"] else st.warning)(
                f"Proposed limits: {row['proposed_limits']}")
        before_col, after_col = st.columns(2)
        before_col.caption("Before masks: exposed targets by kind and DORI class")
        before_col.dataframe(kind_dori_table(result, cid), width="stretch")
        after_col.caption("After masks: still visible outside every mask")
        after_col.dataframe(kind_dori_table(result, cid, after_masks=True), width="stretch")
        st.caption(f"DORI classes from best to least detail: {', '.join(DORI_CLASSES)}.")
    st.subheader("Which cameras can see it?")
    ask_target, ask_point = st.columns(2)
    exposed_ids = sorted(set(result.exposures["target_id"].astype(str))) if len(result.exposures) else []
    target_id = ask_target.selectbox("A window, door, balcony, garden … (exposed targets)", exposed_ids, index=None,
                                     key="where_target")
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
    if len(table):
        st.download_button("Download the report (HTML)", report_html(result),
                           file_name=f"{Path(name).stem}-report.html", mime="text/html", key="download_report")
        st.download_button("Download the table (CSV)", table.to_csv(index=False),
                           file_name=f"{Path(name).stem}-regulator.csv")
        st.download_button("Download summary.json", json.dumps(result.summary(), indent=1, default=str),
                           file_name=f"{Path(name).stem}-summary.json")

# ---------------------------------------------------------------- export
with tab_export:
    st.subheader("Mask configurations for the cameras")
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
