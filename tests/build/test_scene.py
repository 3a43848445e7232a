"""Scene assembly: vector formats and CRSs, synthesized openings, courtyards, private areas."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml

import simulator
from tests.scenes import PTZ, X0, Y0, building, fc, write_scenario

CAM = {"id": "c", **PTZ, "x": 0.0, "y": 0.0, "mount_height_m": 5.0}


@pytest.mark.parametrize(("fmt", "crs"), [("b.gpkg", "EPSG:4326"), ("b.shp", "EPSG:3763"), ("b.fgb", "EPSG:3857"),
                                          ("b.geojson", "EPSG:32629")])
def test_vector_formats_and_crs(tmp_path, fmt, crs):
    # the same 20 x 10 m building, written in another format and CRS, comes back 200 m2 in the scene CRS
    path = write_scenario(tmp_path, buildings=[building("B1", -10, 20, 10, 30, 12)], cameras=[CAM])
    g = gpd.read_file(tmp_path / "b.geojson").to_crs(crs)
    g.to_file(tmp_path / fmt)
    sc = yaml.safe_load(path.read_text())
    sc["buildings"]["path"] = fmt
    path.write_text(yaml.safe_dump(sc))
    scene = simulator.build_scene(simulator.load_scenario(path))
    assert scene.buildings.geometry.iloc[0].area == pytest.approx(200.0, rel=1e-6)
    c = scene.buildings.geometry.iloc[0].centroid
    assert (c.x, c.y) == pytest.approx((X0, Y0 + 25), abs=1e-3)


def test_synthesized_windows_counted_by_hand(tmp_path):
    # 20 x 10 m, 12 m high, no levels -> floor(12 / 3) = 4 storeys. Long walls: floor((20 - 0.3) / 3) = 6
    # slots; short walls: floor(9.7 / 3) = 3. Top window of storey 4 ends at 9 + 0.9 + 1.4 = 11.3 <= 12.
    # 2 * 6 * 4 + 2 * 3 * 4 = 72 openings; one (the longest wall's ground-storey middle slot) is a door.
    path = write_scenario(tmp_path, buildings=[building("B1", -10, 20, 10, 30, 12)], cameras=[CAM],
                          windows={"synthesize": True, "width_m": 1.2, "height_m": 1.4, "spacing_m": 3.0,
                                   "sill_m": 0.9})
    t = simulator.build_scene(simulator.load_scenario(path)).targets
    synth = t.source == "synthesized"
    assert (t.kind[synth] == "window").sum() == 71 and (t.kind[synth] == "door").sum() == 1
    assert (t.kind == "facade").sum() == 4
    w = np.flatnonzero(t.kind == "window")[0]
    assert t.area[w] == pytest.approx(1.2 * 1.4)
    # each window 1.2 x 1.4 m at 0.25 m spacing: ceil(4.8) x ceil(5.6) = 5 x 6 samples
    assert np.diff(t.offsets)[w] == 30


def test_courtyard_enclosed_by_several_buildings(tmp_path):
    # four residential buildings ring a 20 x 20 m yard (x 10..30, y 10..30) with no footprint hole
    blds = [building("S", 0, 0, 40, 10, 9), building("N", 0, 30, 40, 40, 9), building("W", 0, 10, 10, 30, 9),
            building("E", 30, 10, 40, 30, 9)]
    scene = simulator.build_scene(simulator.load_scenario(write_scenario(tmp_path, buildings=blds, cameras=[CAM])))
    t = scene.targets
    c = np.flatnonzero(t.kind == "courtyard")
    assert len(c) == 1 and t.area[c[0]] == pytest.approx(400.0)
    # an open U (one side missing) encloses nothing
    scene = simulator.build_scene(simulator.load_scenario(write_scenario(tmp_path / "u", buildings=blds[:3],
                                                                         cameras=[CAM])))
    assert (scene.targets.kind == "courtyard").sum() == 0


def test_private_areas_backyard_and_terrace(tmp_path):
    path = write_scenario(tmp_path, buildings=[building("B1", 0, 20, 20, 30, 9)], cameras=[CAM],
                          private_areas={"path": "p.geojson"})
    feats = [{"type": "Feature", "properties": {"id": "yard", "kind": "backyard", "z": None},
              "geometry": shapely.geometry.mapping(shapely.box(X0, Y0 + 30, X0 + 20, Y0 + 40))},
             {"type": "Feature", "properties": {"id": "roof-terrace", "kind": "terrace", "z": 9.0},
              "geometry": shapely.geometry.mapping(shapely.box(X0 + 2, Y0 + 22, X0 + 8, Y0 + 28))},
             # a garden drawn over the building: only the part outside the footprint counts
             {"type": "Feature", "properties": {"id": "overlap", "kind": "backyard", "z": None},
              "geometry": shapely.geometry.mapping(shapely.box(X0 + 15, Y0 + 25, X0 + 25, Y0 + 35))}]
    import json
    (tmp_path / "p.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats,
                                                    "crs": {"type": "name", "properties": {"name": "EPSG:32629"}}}))
    t = simulator.build_scene(simulator.load_scenario(path)).targets
    ids = list(t.id)
    assert t.kind[ids.index("yard")] == "backyard" and t.area[ids.index("yard")] == pytest.approx(200.0)
    terrace = ids.index("roof-terrace")
    assert t.kind[terrace] == "terrace" and t.planes.origin[terrace][2] == pytest.approx(9.0)
    # overlap: 10 x 10 box minus the 5 x 5 corner inside the building
    assert t.area[ids.index("overlap")] == pytest.approx(75.0)
    assert (t.source[[ids.index("yard"), terrace]] == "data").all()


def test_cityjson_model_in_a_scenario(tmp_path, geodata):
    # Rotterdam's CityJSON has no CRS in the file: the scenario states it
    sc = {"name": "rdam", "models": [{"path": str(geodata / "cityjson_lod2" / "rotterdam_subset.json"),
                                      "crs": "EPSG:28992"}],
          "windows": {"synthesize": True}, "analysis": {"max_range_m": 150},
          "cameras": [{"id": "c", **PTZ, "lon": 4.4495, "lat": 51.9066, "mount_height_m": 6}]}
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(sc))
    scene = simulator.build_scene(simulator.load_scenario(p))
    assert len(scene.buildings) == 16 and scene.buildings["has_model"].all()
    assert scene.frame.crs.to_epsg() == 32631  # UTM zone of Rotterdam
    t = scene.targets
    assert (t.kind == "facade").sum() > 50 and (t.source == "synthesized").sum() > 100
    # facades on the footprint boundary face out of their building: a probe 0.5 m along the normal lies
    # outside the footprint (walls at roof steps, inside the footprint, keep their CityJSON orientation)
    fp = dict(zip(scene.buildings["id"], scene.buildings.geometry, strict=True))
    outside = []
    for i in np.flatnonzero(t.kind == "facade"):
        f, c, n = fp[t.planes.building_id[i]], t.centroid[i, :2], t.planes.N[i, :2]
        if f.boundary.distance(shapely.Point(*c)) < 0.3:
            outside.append(not f.contains(shapely.Point(*(c + 0.5 * n))))
    assert len(outside) > 50 and np.mean(outside) > 0.95


def test_cameras_from_geojson_tags_within_extent(tmp_path, geodata):
    # real OSM cameras (GeoJSON, tags as properties) over the real Zurich LoD2 model, clipped to an extent
    import geopandas as gpd
    extent = [8.50, 47.35, 8.56, 47.40]
    cams = geodata / "osm_cameras_switzerland" / "ch_surveillance.geojson"
    sc = {"name": "zurich", "extent": extent,
          "models": [{"path": str(geodata / "cityjson_lod2" / "zurich_subset_lod2.json")}],
          "analysis": {"max_range_m": 100}, "cameras": {"path": str(cams)}}
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(sc))
    scene = simulator.build_scene(simulator.load_scenario(p))
    g = gpd.read_file(cams).cx[extent[0]:extent[2], extent[1]:extent[3]]
    kept = g[(g.get("surveillance") != "indoor") & ~g.get("surveillance:type").isin(["guard", "gunshot_detector"])]
    multi = kept["camera:direction"].fillna("").str.count(";")  # a list of n directions is n cameras
    assert len(scene.cameras) == len(kept) + int(multi.sum())
    assert len(scene.cameras) > 20


def test_private_area_split_by_a_building_becomes_two_targets(tmp_path):
    """A garden drawn across a house (x 10..20) is the ground on either side of it: two backyard
    targets, 10 x 10 m each, the second named '<id>/2'; the targets layer writes them."""
    from simulator.results import targets_frame


    garden = fc([{"type": "Feature", "properties": {"id": "g1", "kind": "backyard"},
                  "geometry": {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 30, Y0], [X0 + 30, Y0 + 10],
                                                                   [X0, Y0 + 10], [X0, Y0]]]}}])
    (tmp_path / "g.geojson").write_text(json.dumps(garden))
    path = write_scenario(tmp_path, buildings=[building("H", 10, -5, 20, 15, 6.0)],
                          cameras=[{"id": "c", "kind": "ptz", "resolution_px": [1920, 1080], "hfov_deg": [60.0, 2.0],
                                    "x": 15.0, "y": 40.0, "mount_height_m": 8.0}],
                          private_areas={"path": "g.geojson"})
    scene = simulator.build_scene(simulator.load_scenario(path))
    t = scene.targets
    mine = sorted(str(i) for i in t.id if str(i).startswith("g1"))
    assert mine == ["g1", "g1/2"]
    assert sorted(np.round(t.area[np.isin(t.id, mine)], 6)) == [100.0, 100.0]
    frame = targets_frame(scene)
    assert frame[frame["target_id"].isin(mine)].geometry.is_valid.all()


def test_sampling_in_runs_equals_sampling_at_once():
    """``sample_planes`` works through the targets in runs of about ``block`` grid points; the samples
    and offsets must not depend on where the runs end: walls (rectangles), a courtyard with a hole
    and a draped backyard (containment tests), and a frame whose one grid point falls in its hole (its one
    interior point instead), at run lengths from 1 to everything."""
    from simulator.scene.targets import PlanarSet, sample_planes
    from simulator.scene.terrain import Terrain

    n = 7
    rng = np.random.default_rng(3)
    courtyard = shapely.Polygon([(0, 0), (9, 0), (9, 9), (0, 9)], [[(3, 3), (6, 3), (6, 6), (3, 6)]])
    polys = [shapely.box(0, 0, 6, 3), courtyard,
             shapely.box(0, 0, 1, 1).difference(shapely.box(0.05, 0.05, 0.95, 0.95)), shapely.box(0, 0, 1.2, 1.4),
             shapely.Polygon([(0, 0), (8, 0), (4, 7)]), shapely.box(2, 2, 2.3, 2.2), shapely.box(0, 0, 30, 12)]
    rect = np.array([True, False, False, True, False, True, True])
    draped = np.array([False, False, False, False, True, False, False])
    normals = np.tile([0.0, -1.0, 0.0], (n, 1))
    planes = PlanarSet(rng.normal(size=(n, 3)) * 10, np.tile([1.0, 0, 0], (n, 1)), np.tile([0, 0, 1.0], (n, 1)),
                       normals, np.array(polys, object), np.array(["b"] * n, object), rect, draped)
    spacing = np.array([0.5, 1.0, 2.0, 0.5, 1.0, 0.5, 3.0])
    terrain = Terrain()  # flat ground at z = 0
    whole, off = sample_planes(planes, spacing=spacing, max_samples=200, terrain=terrain, block=1 << 30)
    assert off[-1] == len(whole) and (np.diff(off) >= 1).all()
    # the frame (3 x 3 cells of 1/3 m, none holding its centre in the 5 cm frame): a point of each of
    # the 8 cells around the hole, on its surface and in its own cell
    assert np.diff(off)[2] == 8
    uv = (whole[off[2]:off[3]] - planes.origin[2])[:, [0, 2]]
    assert shapely.contains_xy(polys[2], *uv.T).all()
    assert len(np.unique(np.floor(uv * 3).astype(int), axis=0)) == 8
    assert np.diff(off)[0] == 12 * 6  # 6 x 3 m at 0.5 m
    for block in (1, 5, 37, 100, 10**6):
        for threads in (1, 2, 3):  # runs finish out of order; their samples move up into place after
            part, off2 = sample_planes(planes, spacing=spacing, max_samples=200, terrain=terrain, block=block,
                                       threads=threads)
            assert np.array_equal(off2, off) and np.array_equal(part, whole)


def test_border_cells_of_a_triangle_by_hand():
    """A right triangle (0, 0), (3, 0), (0, 3) on 3 x 3 cells of 1 m: the three cells below the
    diagonal lie inside (share 1, their centres the samples), the three it crosses are half inside
    (their centres lie on it, outside the open polygon: each gets a point of its half instead), the
    three above it hold nothing. A 10 m sliver triangle 0.4 m high gets a sample near its sharp tip."""
    from simulator.scene.targets import PlanarSet, cell_shares, sample_planes
    from simulator.scene.terrain import Terrain

    polys = [shapely.Polygon([(0, 0), (3, 0), (0, 3)]), shapely.Polygon([(0, 0), (10, 0.4), (1, 0.4)])]
    n = len(polys)
    planes = PlanarSet(np.zeros((n, 3)), np.tile([1.0, 0, 0], (n, 1)), np.tile([0, 0, 1.0], (n, 1)),
                       np.tile([0.0, -1.0, 0.0], (n, 1)), np.array(polys, object), np.array(["b"] * n, object),
                       np.zeros(n, bool), np.zeros(n, bool))
    pts, off = sample_planes(planes, spacing=np.array([1.0, 1.0]), max_samples=200, terrain=Terrain())
    uv = pts[off[0]:off[1]][:, [0, 2]]
    cells = {tuple(c) for c in np.floor(uv).astype(int).tolist()}
    assert cells == {(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)}
    centred = {tuple(np.round(p, 9)) for p in uv.tolist()} & {(0.5, 0.5), (1.5, 0.5), (0.5, 1.5)}
    assert len(centred) == 3 and shapely.contains_xy(polys[0], *uv.T).all()
    iu, iv = np.array([0, 1, 2, 0, 1, 0]), np.array([0, 0, 0, 1, 1, 2])
    share = cell_shares(planes, np.zeros(6, np.intp), iu, iv, np.full(6, 3), np.full(6, 3))
    assert np.allclose(share, [1, 1, 0.5, 1, 0.5, 0.5])
    # the sliver: 10 x 3 cells of 1 x 0.133 m; one sample in each cell it touches, on it, one near the tip
    sl = pts[off[1]:off[2]][:, [0, 2]]
    assert shapely.contains_xy(polys[1], *sl.T).all()
    assert len(np.unique(np.floor(sl / [1.0, 0.4 / 3]).astype(int), axis=0)) == len(sl)
    assert sl[:, 0].max() > 9.0  # the cell of the tip (u 9 to 10, v 0.267 to 0.4: 1/8 of it inside)


def test_synthesized_openings_by_hand():
    """A 10 m wall of two 3 m storeys with 1.2 x 1.4 m windows every 2.5 m (sill 0.9 m): slots at
    u = 2.5, 5 and 7.5 (floor((10 - 0.3) / 2.5) = 3, centred), a 1 x 2.1 m door in the middle slot
    of the ground storey; a gable wall (pentagon) keeps only the windows inside it. Ids name wall,
    storey and slot; the polygons are exactly ``shapely.box`` of the hand-derived bounds."""
    from simulator.scene.targets import PlanarSet, synthesize_openings

    wall = shapely.box(0, 0, 10, 6)
    gable = shapely.Polygon([(0, 0), (6, 0), (6, 3.5), (3, 6.5), (0, 3.5)])
    n = 2
    walls = PlanarSet(np.zeros((n, 3)), np.tile([1.0, 0, 0], (n, 1)), np.tile([0, 0, 1.0], (n, 1)),
                      np.tile([0, -1.0, 0], (n, 1)), np.array([wall, gable], object),
                      np.array(["way/1", "way/2"], object), np.array([True, False]))
    ps, kinds, ids = synthesize_openings(walls, np.zeros(n), np.array([2, 2]), width=1.2, height=1.4, spacing=2.5,
                                         sill=0.9, storey_height=3.0, door_wall=np.array([True, False]),
                                         door_width=1.0, door_height=2.1)
    expected = {f"way/1/w0-s{st}-{sl}": ("window", shapely.box(u - 0.6, 0.9 + 3 * st, u + 0.6, 2.3 + 3 * st))
                for st in (0, 1) for sl, u in enumerate((2.5, 5.0, 7.5))}
    expected["way/1/w0-s0-1"] = ("door", shapely.box(4.5, 0.0, 5.5, 2.1))
    # the gable (6 m: slots at 1.75 and 4.25): storey 1 reaches v = 5.3, above the eaves at u = 1.15
    # (v = 3.5 + 1.15) and u = 4.85 (v = 3.5 + 1.65): outside
    expected |= {f"way/2/w1-s0-{sl}": ("window", shapely.box(u - 0.6, 0.9, u + 0.6, 2.3))
                 for sl, u in enumerate((1.75, 4.25))}
    assert sorted(ids) == sorted(expected)
    for i, k, p in zip(ids, kinds, ps.polygons(), strict=True):
        assert k == expected[i][0]
        assert shapely.equals_exact(p, expected[i][1], tolerance=1e-12), (i, p)
        assert np.array_equal(shapely.get_coordinates(p),
                              shapely.get_coordinates(shapely.box(*shapely.bounds(p)))), i  # same ring order
    assert list(ps.building_id) == [i.split("/w")[0] for i in ids]


def test_rectangles_kept_as_bounds_behave_as_their_boxes():
    """Rectangles kept as bounds alone (``PlanarSet.boxes``) give what the same rectangles as
    ``shapely.box`` polygons give: polygons, bounds, 3D rings (in target order, mixed with real
    polygons), samples; through ``take`` and ``concat``. A rectangle without area stays a polygon."""
    from simulator.scene.targets import PlanarSet, Targets, box_set, sample_planes
    from simulator.scene.terrain import Terrain

    rng = np.random.default_rng(5)
    n = 40
    lo = rng.uniform(-5, 5, (n, 2))
    corners = np.column_stack([lo, lo + rng.uniform(0.2, 4, (n, 2))])
    origin, normal = rng.normal(size=(n, 3)) * 20, np.tile([0.0, -1.0, 0.0], (n, 1))
    axes = np.tile([1.0, 0, 0], (n, 1)), np.tile([0, 0, 1.0], (n, 1))
    ids = np.array([f"b{i % 7}" for i in range(n)], object)
    lazy = PlanarSet.boxes(origin, *axes, normal, corners, ids)
    real = PlanarSet(origin, *axes, normal, np.asarray(shapely.box(*corners.T), object), ids, np.ones(n, bool))
    assert shapely.is_missing(lazy.poly2d).all() and np.array_equal(lazy.bounds, real.bounds)
    assert shapely.equals_exact(lazy.polygons(), real.poly2d, tolerance=0).all()
    assert np.array_equal(lazy.areas(), shapely.area(real.poly2d))
    assert all(np.array_equal(shapely.get_coordinates(a), shapely.get_coordinates(b))
               for a, b in zip(lazy.polygons(), real.poly2d, strict=True))
    # a mixed set: real polygons (a triangle, a courtyard) between kept rectangles
    odd = PlanarSet(origin[:2], axes[0][:2], axes[1][:2], normal[:2],
                    np.array([shapely.Polygon([(0, 0), (3, 0), (0, 2)]),
                              shapely.box(0, 0, 9, 9).difference(shapely.box(3, 3, 6, 6))], object),
                    ids[:2], np.zeros(2, bool))
    mixed = PlanarSet.concat([lazy.take(slice(0, 25)), odd, lazy.take(np.arange(25, n))])
    same = PlanarSet.concat([real.take(slice(0, 25)), odd, real.take(np.arange(25, n))])
    spacing = np.full(n + 2, 0.5)
    terrain = Terrain()
    s1, o1 = sample_planes(mixed, spacing=spacing, max_samples=100, terrain=terrain)
    s2, o2 = sample_planes(same, spacing=spacing, max_samples=100, terrain=terrain)
    assert np.array_equal(s1, s2) and np.array_equal(o1, o2)

    def targets(p: PlanarSet) -> Targets:
        return Targets(np.arange(len(p)).astype(str).astype(object), np.full(len(p), "window", object),
                       np.full(len(p), "x", object), p, np.zeros(len(p)), s1, o1, np.zeros((len(p), 3)))

    which = rng.permutation(n + 2)[:30]
    for sel in (None, which, np.array([3, 0, 30, 7])):  # the last: kept rectangles only
        a, la = targets(mixed).rings3d(terrain, sel)
        b, lb = targets(same).rings3d(terrain, sel)
        assert np.array_equal(a, b) and np.array_equal(la, lb)
    flat = box_set(origin[:3], axes[0][:3], axes[1][:3], normal[:3],
                    np.array([[0, 0, 2, 1], [0, 0, 0, 1], [1, 1, 2, 0.5]], float), ids[:3])
    assert list(shapely.is_missing(flat.poly2d)) == [True, False, False]
    assert np.array_equal(flat.bounds, shapely.bounds(flat.polygons()))
