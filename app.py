"""Privacy-zone simulator: the map app. Logic lives in `simulator/`; this file describes the UI.

Run with `python3 tasks.py app`. Works offline: the map is drawn by pydeck from the scenario's own data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

import simulator
from simulator.camera.catalogue import catalogue
from simulator.render import render_view
from simulator.workbench import Workbench

ROOT = Path(__file__).parent
SCENARIOS = {p.name: p for p in sorted((ROOT / "scenarios").glob("*.yaml"))}
STATE_DIR = ROOT / ".app_state"  # the working state survives a browser reload
DORI_COLOURS = {"identify": [200, 0, 0], "recognise": [240, 120, 0], "observe": [240, 200, 0],
                "detect": [120, 180, 60], "none": [120, 120, 120]}

st.set_page_config(page_title="Privacy-zone simulator", layout="wide")
st.title("Camera privacy-zone simulator")


@st.cache_resource(show_spinner="Building the scene (buildings, targets, mesh)…")
def load_scene(name: str) -> simulator.Scene:
    return simulator.build_scene(simulator.load_scenario(SCENARIOS[name]))


def state_file(name: str) -> Path:
    return STATE_DIR / f"{Path(name).stem}.json"


def workbench(name: str) -> Workbench:
    key = f"workbench:{name}"
    if key not in st.session_state:
        saved = json.loads(state_file(name).read_text()) if state_file(name).is_file() else None
        with st.spinner("Casting rays and planning masks for every camera…"):
            st.session_state[key] = Workbench.open(load_scene(name), saved)
    return st.session_state[key]


def fit_zoom(scene: simulator.Scene, lat: float, width_px: int = 900) -> float:
    """Web-map zoom at which the buildings' extent fills about ``width_px`` pixels (256 px tiles)."""
    x0, y0, x1, y1 = scene.buildings.total_bounds if len(scene.buildings) else (0, 0, 500, 500)
    extent = max(x1 - x0, y1 - y0, 50.0)
    return float(np.clip(np.log2(156543.03 * np.cos(np.radians(lat)) * width_px / extent), 11, 19))


def save(name: str, wb: Workbench) -> None:
    STATE_DIR.mkdir(exist_ok=True)
    state_file(name).write_text(json.dumps(wb.state(), indent=1))


# ---------------------------------------------------------------- sidebar: scenario
names = list(SCENARIOS)
default = st.query_params.get("scenario", "tutorial.yaml")
name = st.sidebar.selectbox("Scenario", names, index=names.index(default) if default in names else 0)
st.query_params["scenario"] = name
wb = workbench(name)
scene = wb.scene
if st.sidebar.button("Discard my edits"):
    state_file(name).unlink(missing_ok=True)
    st.session_state.pop(f"workbench:{name}")
    st.rerun()
table = wb.regulator_table()
st.sidebar.metric("Cameras", len(wb.cameras))
st.sidebar.metric("Exposed private targets (camera x target)", int(table["exposed"].sum()) if len(table) else 0)
if len(table) and "compliant" in table:
    st.sidebar.metric("Compliant cameras", f"{int(table['compliant'].sum())} / {len(table)}")
for note in scene.notes[:5]:
    st.sidebar.caption(note)

tab_map, tab_view, tab_regulator, tab_export = st.tabs(["Map", "Camera view", "Regulator", "Export"])

# ---------------------------------------------------------------- map
with tab_map:
    result = wb.result()
    ex = result.exposures
    b = scene.buildings.to_crs("EPSG:4326")
    exposed_buildings = set(ex["building_id"]) if len(ex) else set()
    buildings = pd.DataFrame({
        "id": b["id"], "use": b["use"], "height": b["height"],
        "polygon": [list(g.exterior.coords) if g.geom_type == "Polygon" else list(g.geoms[0].exterior.coords)
                    for g in b.geometry],
        "colour": [[220, 80, 60, 200] if i in exposed_buildings
                   else ([210, 170, 120, 160] if p else [150, 150, 170, 140])
                   for i, p in zip(b["id"], b["private"], strict=True)]})
    cams = list(wb.cameras.values())
    clon, clat = scene.frame.to_lonlat([c.x for c in cams], [c.y for c in cams])
    cam_df = pd.DataFrame({"id": [c.id for c in cams], "lon": clon, "lat": clat, "range": [c.range_m for c in cams]})
    layers = [pdk.Layer("PolygonLayer", buildings, id="buildings", get_polygon="polygon", get_fill_color="colour",
                        get_elevation="height", extruded=True, pickable=True)]
    if len(ex):
        t = scene.targets
        idx = ex["target"].to_numpy(int)
        tlon, tlat = scene.frame.to_lonlat(t.centroid[idx, 0], t.centroid[idx, 1])
        tgt = pd.DataFrame({"camera": ex["camera_id"], "target": ex["target_id"], "dori": ex["dori"], "lon": tlon,
                            "lat": tlat, "z": t.centroid[idx, 2] - np.nanmin(t.centroid[:, 2]),
                            "colour": [DORI_COLOURS[d] for d in ex["dori"]]})
        layers.append(pdk.Layer("ScatterplotLayer", tgt, id="targets", get_position=["lon", "lat"], get_radius=0.6,
                                get_fill_color="colour", pickable=True))
    layers.append(pdk.Layer("ScatterplotLayer", cam_df, id="reach", get_position=["lon", "lat"], get_radius="range",
                            get_fill_color=[60, 120, 220, 25], stroked=True, get_line_color=[60, 120, 220, 120]))
    layers.append(pdk.Layer("ScatterplotLayer", cam_df, id="cameras", get_position=["lon", "lat"], get_radius=3,
                            get_fill_color=[30, 60, 200], pickable=True))
    if len(scene.streets):
        sp = scene.street_samples[:: max(1, len(scene.street_samples) // 3000)]
        slon, slat = scene.frame.to_lonlat(sp[:, 0], sp[:, 1])
        points = pd.DataFrame({"lon": slon, "lat": slat, "x": sp[:, 0], "y": sp[:, 1]})
        layers.append(pdk.Layer("ScatterplotLayer", points, id="street_points", get_position=["lon", "lat"],
                                get_radius=1.2, get_fill_color=[90, 90, 90, 90], pickable=True))
    centre = (float(np.mean(clon)), float(np.mean(clat))) if cams else tuple(b.geometry.union_all().centroid.coords[0])
    st.caption("Buildings: red = has exposed targets, tan = private, grey = non-residential. Dots: exposed targets "
               "by DORI class (red identify … green detect). Blue: cameras and their reach. "
               "Click a grey street point to place a new camera there.")
    event = st.pydeck_chart(pdk.Deck(layers=layers, map_style=None, tooltip={"text": "{id}{target}"},
                                     initial_view_state=pdk.ViewState(longitude=centre[0], latitude=centre[1],
                                                                      zoom=fit_zoom(scene, centre[1]), pitch=40)),
                            on_select="rerun", selection_mode="single-object", key="map")
    picked = (event.selection.objects.get("street_points") or []) if event and event.selection else []

    models = sorted(catalogue())
    with st.expander("Add a camera", expanded=bool(picked)):
        x0 = float(picked[0]["x"]) if picked else float(np.mean([c.x for c in cams]) if cams else 0.0)
        y0 = float(picked[0]["y"]) if picked else float(np.mean([c.y for c in cams]) if cams else 0.0)
        with st.form("add_camera"):
            new_id = st.text_input("Camera id", wb.new_id())
            model = st.selectbox("Model", models, index=models.index("bosch-mic-ip-starlight-7100i"))
            x = st.number_input(f"x [m] ({scene.frame.crs.to_string()})", value=x0, format="%.2f")
            y = st.number_input("y [m]", value=y0, format="%.2f")
            mount = st.number_input("Mount height [m]", value=6.0, min_value=0.5, max_value=100.0)
            if st.form_submit_button("Add camera"):
                with st.spinner(f"Analysing {new_id}…"):
                    wb.upsert({"id": new_id, "model": model, "x": x, "y": y, "mount_height_m": mount})
                save(name, wb)
                st.rerun()

    with st.expander("Edit or delete a camera"):
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
                max_masks = st.number_input("Max masks", value=int(spec["mask_limits"]["max_masks"]), min_value=0)
                if st.form_submit_button("Apply"):
                    changed = {**spec, "mount_height_m": mount, "pan_limits_deg": list(pan),
                               "tilt_limits_deg": list(tilt),
                               "mask_limits": {**spec["mask_limits"], "max_masks": int(max_masks)}}
                    if model != "(inline)":
                        changed["model"] = model
                    with st.spinner(f"Re-analysing {cid}…"):
                        wb.upsert(changed)
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
        _, plan = wb.results[cid]
        c1, c2, c3 = st.columns(3)
        pan = c1.slider("Pan [deg from north]", 0.0, 360.0, float(cam.direction_deg or 0.0))
        tilt = c2.slider("Tilt [deg]", -90.0, 90.0, float(cam.tilt_deg if cam.tilt_deg is not None else -10.0))
        zoom = c3.slider("Zoom [x]", 1.0, float(max(cam.hfov_deg[0] / cam.hfov_deg[1], 1.0)), 1.0)
        after = st.toggle("With masks applied (after)", value=False)
        hfov = float(np.degrees(2 * np.arctan(np.tan(np.radians(cam.hfov_deg[0]) / 2) / zoom)))
        view = render_view(scene, cam, azimuth_deg=pan, elevation_deg=tilt, hfov_deg=hfov, width=640,
                           masks=plan.masks if plan else None, masked=after)
        st.image(view.image, caption=f"{cid}: pan {pan:.0f}°, tilt {tilt:.0f}°, HFOV {hfov:.1f}° — private targets "
                                     f"in red ({len(view.target_pixels)} in view), masks in yellow or black",
                 width="stretch")

# ---------------------------------------------------------------- regulator
with tab_regulator:
    st.subheader("Exposure per camera, before and after masks")
    st.dataframe(table, width="stretch", hide_index=True)
    if len(table):
        st.download_button("Download the table (CSV)", table.to_csv(index=False),
                           file_name=f"{Path(name).stem}-regulator.csv")
        st.download_button("Download summary.json", json.dumps(wb.result().summary(), indent=1, default=str),
                           file_name=f"{Path(name).stem}-summary.json")

# ---------------------------------------------------------------- export
with tab_export:
    vendor = st.radio("Mask format", ["onvif", "axis", "hikvision", "json"], horizontal=True)
    if st.button("Prepare signed mask plans"):
        with st.spinner("Signing and exporting…"):
            st.session_state["export_zip"] = wb.export_zip(vendor)
    if "export_zip" in st.session_state:
        st.download_button("Download zip", st.session_state["export_zip"],
                           file_name=f"{Path(name).stem}-masks-{vendor}.zip")
    st.download_button("Save working state (cameras, JSON)", json.dumps(wb.state(), indent=1),
                       file_name=f"{Path(name).stem}-cameras.json")
