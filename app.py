"""Streamlit app (minimal until the app issue): the default scenario's exposures on a map."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydeck as pdk
import streamlit as st

import simulator
from simulator.pipeline import Result

ROOT = Path(__file__).parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

st.set_page_config(page_title="Privacy-zone simulator", layout="wide")
st.title("Camera privacy-zone simulator")


@st.cache_resource(show_spinner="Building the scene and casting rays…")
def run(path: str) -> Result:
    return simulator.analyse(path)


names = [p.name for p in SCENARIOS]
choice = st.selectbox("Scenario", names, index=names.index("tutorial.yaml") if "tutorial.yaml" in names else 0)
result = run(str(ROOT / "scenarios" / choice))
summary = result.summary()
ex = result.exposures

st.metric("Cameras", len(summary["cameras"]))
st.metric("Exposed private targets (camera x target)", len(ex))

b = result.scene.buildings.to_crs("EPSG:4326")
b["colour"] = b["private"].map({True: [200, 120, 60, 180], False: [140, 140, 160, 160]})
b["polygon"] = [list(g.exterior.coords) if g.geom_type == "Polygon" else list(g.geoms[0].exterior.coords)
                for g in b.geometry]
lon, lat = result.scene.frame.to_lonlat([c.x for c in result.scene.cameras], [c.y for c in result.scene.cameras])
cams = pd.DataFrame({"id": [c.id for c in result.scene.cameras], "lon": lon, "lat": lat})
layers = [
    pdk.Layer("PolygonLayer", b[["id", "polygon", "colour", "height"]], get_polygon="polygon",
              get_fill_color="colour", get_elevation="height", extruded=True, pickable=True),
    pdk.Layer("ScatterplotLayer", cams, get_position=["lon", "lat"], get_radius=3, get_fill_color=[220, 30, 30]),
]
centre = b.geometry.union_all().centroid if len(b) else None
view = pdk.ViewState(latitude=centre.y if centre else float(lat.mean()),
                     longitude=centre.x if centre else float(lon.mean()), zoom=17, pitch=45)
st.pydeck_chart(pdk.Deck(layers=layers, initial_view_state=view, map_style=None))
st.subheader("Exposures")
st.dataframe(ex.drop(columns=["target"]) if len(ex) else ex, use_container_width=True)
