#!/usr/bin/env python3
"""City-scale benchmarks (issue 6): one script, figures and ratios measured in the same run.

    .venv/bin/python benchmarks/cluster.py engine     # engine vs a plain embreex loop on two threads
    .venv/bin/python benchmarks/cluster.py viewshed   # N cameras: full 3D analysis vs gdal_viewshed on a 1 m DSM
    .venv/bin/python benchmarks/cluster.py scaling --buildings 4000 --cameras 400   # 1 process vs 2 Dask workers
    .venv/bin/python benchmarks/cluster.py scaling --buildings 100000 --cameras 10000 --sample 1000
    .venv/bin/python benchmarks/cluster.py growth     # time and peak memory as the generated city grows

These machines are noisy (2 cores): medians over --repeat runs, ratios against baselines of the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402


# ---------------------------------------------------------------- 1. engine vs plain embreex, 2 threads
def bench_engine(args: argparse.Namespace) -> None:
    from embreex import rtcore_scene
    from embreex.mesh_construction import TriangleMesh

    from benchmarks.engine import amadora_rays  # type: ignore[import-not-found]
    from simulator.visibility import EPS_END_M, EPS_START_M, RayEngine

    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "amadora.yaml"))
    start, end = amadora_rays(scene, args.cameras)
    n = len(end)
    emb = rtcore_scene.EmbreeScene()
    TriangleMesh(emb, (scene.triangles - scene.origin).astype(np.float32))
    delta = end - start
    length = np.linalg.norm(delta, axis=1)
    d = delta / length[:, None]
    o = (start - scene.origin + d * EPS_START_M).astype(np.float32)
    t = (length - EPS_START_M - EPS_END_M).astype(np.float32)
    d = d.astype(np.float32)
    half = n // 2

    def plain_two_threads() -> float:
        out: list[np.ndarray] = [np.empty(0), np.empty(0)]

        def work(k: int, sl: slice) -> None:
            out[k] = emb.run(o[sl], d[sl], dists=t[sl], query="OCCLUDED")

        t0 = time.perf_counter()
        th = [threading.Thread(target=work, args=(0, slice(0, half))),
              threading.Thread(target=work, args=(1, slice(half, n)))]
        for x in th:
            x.start()
        for x in th:
            x.join()
        return time.perf_counter() - t0

    engine = RayEngine(scene.triangles, origin=scene.origin, threads=2)
    plain_s, eng_s = [], []
    for _ in range(args.repeat):
        plain_s.append(plain_two_threads())
        t0 = time.perf_counter()
        engine.segment_clear(start, end)
        eng_s.append(time.perf_counter() - t0)
    p, e = n / statistics.median(plain_s), n / statistics.median(eng_s)
    print(f"{n:,} Amadora rays, {len(scene.triangles):,} triangles, median of {args.repeat}:")
    print(f"  plain embreex, 2 Python threads : {p / 1e6:6.2f} M rays/s (1.00)")
    print(f"  engine segment_clear, 2 threads  : {e / 1e6:6.2f} M rays/s ({e / p:.2f}; goal >= 0.8)")


# ---------------------------------------------------------------- 3. N cameras vs gdal_viewshed
def bench_viewshed(args: argparse.Namespace) -> None:
    import shutil

    import rasterio
    from rasterio.features import rasterize
    from rasterio.transform import from_origin

    from simulator.run.camera import camera_result

    exe = shutil.which("gdal_viewshed")
    if exe is None:
        sys.exit("gdal_viewshed missing: apt-get install gdal-bin")
    sc = simulator.load_scenario(ROOT / "scenarios" / "amadora.yaml")
    sc = sc.model_copy(update={"coverage": sc.coverage.model_copy(update={"cell_m": 1.0})})
    scene = simulator.build_scene(sc)
    cams = scene.cameras[: args.cameras]
    cell = 1.0
    ix0, iy0, public = scene.public_cells(cell)
    h, w = public.shape
    iy1 = iy0 + h
    transform = from_origin(ix0 * cell, iy1 * cell, cell, cell)
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    ground = scene.terrain.height_at(((ix0 + cols + 0.5) * cell).ravel(), ((iy1 - rows - 0.5) * cell).ravel())
    b = scene.buildings
    roofs = rasterize(((g, z) for g, z in zip(b.geometry.values, b["roof_z"], strict=True)), out_shape=(h, w),
                      transform=transform, fill=np.nan, dtype="float64")
    dsm = np.where(np.isnan(roofs), ground.reshape(h, w), roofs)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "dsm.tif"
        with rasterio.open(src, "w", driver="GTiff", width=w, height=h, count=1, dtype="float64",
                           crs=scene.frame.crs, transform=transform) as ds:
            ds.write(dsm, 1)
        t0 = time.perf_counter()
        for cam in cams:
            col, row = int(math.floor(cam.x / cell)) - ix0, iy1 - 1 - int(math.floor(cam.y / cell))
            subprocess.run([exe, "-q", "-ox", str(cam.x), "-oy", str(cam.y), "-oz",
                            str(cam.z - dsm[row, col]), "-tz", str(sc.coverage.height_m), "-md", str(cam.range_m),
                            str(src), str(Path(tmp) / "v.tif")], check=True)
        gdal_s = time.perf_counter() - t0
    scene.engine  # noqa: B018 - built once, as in a run
    for label, masks in (("exposures + coverage", False), ("exposures + masks + coverage", True)):
        sc2 = sc.model_copy(update={"masks": sc.masks.model_copy(update={"enabled": masks})})
        scene.scenario = sc2
        t0 = time.perf_counter()
        for cam in cams:
            camera_result(scene, cam)
        ours = time.perf_counter() - t0
        print(f"{len(cams)} Amadora cameras, range {cams[0].range_m:g} m, 1 m cells: {label} {ours:.1f} s; "
              f"gdal_viewshed (ground and roofs only, same cameras) {gdal_s:.1f} s; ratio {ours / gdal_s:.2f} "
              "(goal <= 1)")


def peak_mb() -> float:
    """This process's peak resident memory [MB] (VmHWM: ru_maxrss of a spawned process starts from its
    parent's peak, so Dask workers spawned by a big client would all report the client's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- a generated city
def generated_city(folder: Path, n_buildings: int, n_cameras: int, *, seed: int = 1) -> Path:
    """A grid city: blocks of 4 x 4 detached houses (10 x 8 m, 2-4 storeys) between 12 m streets,
    cameras at intersections; files in EPSG:32629 near Lisbon."""
    rng = np.random.default_rng(seed)
    per_side = math.ceil(math.sqrt(n_buildings / 16))
    block, street = 64.0, 12.0
    x0, y0 = 480000.0, 4290000.0
    feats = []
    k = 0
    for bi in range(per_side):
        for bj in range(per_side):
            bx, by = x0 + bi * (block + street), y0 + bj * (block + street)
            for i in range(4):
                for j in range(4):
                    if k >= n_buildings:
                        break
                    hx, hy = bx + 3 + i * 15.5, by + 4 + j * 15.0
                    ring = [[hx, hy], [hx + 10, hy], [hx + 10, hy + 8], [hx, hy + 8], [hx, hy]]
                    feats.append({"type": "Feature", "properties": {"id": f"h{k}", "building": "house",
                                                                     "building:levels": int(rng.integers(2, 5))},
                                  "geometry": {"type": "Polygon", "coordinates": [ring]}})
                    k += 1
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32629"}}
    (folder / "b.geojson").write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": feats}))
    lines = []
    span = per_side * (block + street)
    for i in range(per_side + 1):
        c = -street / 2 + i * (block + street)
        lines.append([[x0 + c, y0 - street], [x0 + c, y0 + span]])
        lines.append([[x0 - street, y0 + c], [x0 + span, y0 + c]])
    (folder / "s.geojson").write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": [
        {"type": "Feature", "properties": {"id": f"s{i}", "highway": "residential"},
         "geometry": {"type": "LineString", "coordinates": ln}} for i, ln in enumerate(lines)]}))
    # camera sites: the intersections, then the middle of each street between two of them
    step = block + street
    nodes = [(x0 - street / 2 + i * step, y0 - street / 2 + j * step) for i in range(per_side + 1)
             for j in range(per_side + 1)]
    nodes += [(x0 - street / 2 + i * step + step / 2, y0 - street / 2 + j * step) for i in range(per_side)
              for j in range(per_side + 1)]
    nodes += [(x0 - street / 2 + i * step, y0 - street / 2 + j * step + step / 2) for i in range(per_side + 1)
              for j in range(per_side)]
    pick = rng.choice(len(nodes), size=min(n_cameras, len(nodes)), replace=False)
    cams = [{"id": f"c{n}", "model": "bosch-mic-ip-starlight-7100i", "x": nodes[p][0], "y": nodes[p][1],
             "mount_height_m": 6.0} for n, p in enumerate(sorted(pick))]
    import yaml

    (folder / "city.yaml").write_text(yaml.safe_dump({
        "name": f"generated-{n_buildings}", "crs": "EPSG:32629",
        "buildings": {"path": "b.geojson"}, "streets": {"path": "s.geojson"},
        "windows": {"synthesize": True, "spacing_m": 3.5},
        "analysis": {"max_range_m": 80, "sample_spacing_m": 0.5, "surface_sample_spacing_m": 3.0,
                     "max_samples_per_target": 100},
        "cameras": cams}, sort_keys=False))
    return folder / "city.yaml"


def bench_scaling(args: argparse.Namespace) -> None:
    """One process (tiled, on a random sample of ``--sample`` cameras when given) against a two-worker
    LocalCluster on every camera; the same tiles, per-worker throughput compared."""
    from dask.distributed import Client, LocalCluster

    from simulator.run.dask import analyse_distributed

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = generated_city(Path(tmp), args.buildings, args.cameras)
        sc = simulator.load_scenario(path)
        sc = sc.model_copy(update={"analysis": sc.analysis.model_copy(update={"tile_m": args.tile_m})})
        scene = simulator.build_scene(sc)
        build_s = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"generated city: {len(scene.buildings):,} buildings, {len(scene.targets):,} targets, "
              f"{len(scene.targets.samples):,} samples, {len(scene.triangles):,} triangles, {len(scene.cameras):,} "
              f"cameras, tiles of {args.tile_m:g} m; written and built in {build_s:.1f} s, client peak {rss:,.0f} MB",
              flush=True)
        ids = [c.id for c in scene.cameras]
        sample = ids
        if args.sample and args.sample < len(ids):
            pick = np.random.default_rng(7).choice(len(ids), args.sample, replace=False)
            sample = [ids[i] for i in sorted(pick)]
        # scene-wide figures the parts are cut from, computed once (before any timing)
        _ = scene.target_radius, scene.maskable, scene.street_samples, scene.public_cells(sc.coverage.cell_m)
        rates = {}
        for threads in (2, 1):  # the default (both cores for the rays), and a worker's share of the machine
            sct = sc.model_copy(update={"analysis": sc.analysis.model_copy(update={"threads": threads})})
            scene.scenario = sct
            scene.__dict__.pop("engine", None)
            one = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                simulator.analyse(scene, cameras=sample)
                one.append(time.perf_counter() - t0)
            rates[threads] = len(sample) / statistics.median(one)
            print(f"  one process, engine on {threads} thread(s), {len(sample):,} cameras: "
                  f"{statistics.median(one):.1f} s, {rates[threads]:.2f} cameras/s (median of {args.repeat})",
                  flush=True)
        scene.scenario = sc
        r1 = rates[2]
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, memory_limit=0)
        client = Client(cluster)
        try:
            t0 = time.perf_counter()
            analyse_distributed(sc, scheduler=cluster.scheduler_address, scene=scene, chunks_per_worker=args.chunks)
            two = time.perf_counter() - t0
            mem = client.run(peak_mb)
        finally:
            client.close()
            cluster.close()
        n = len(ids)
        r2 = n / two / 2
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  2-worker LocalCluster, {n:,} cameras: {two:.1f} s, {n / two:.2f} cameras/s, {r2:.2f} per worker = "
              f"{r2 / r1:.2f} of one process on 2 threads (goal >= 0.8), {r2 / rates[1]:.2f} of one on 1 thread; "
              "worker peak RSS "
              f"{', '.join(f'{m:,.0f}' for m in mem.values())} MB; client peak {rss:,.0f} MB")


def bench_growth(args: argparse.Namespace) -> None:
    """One process, tiled: how build time, analysis time and peak memory grow with the city, and the
    size of the largest tile part (what a worker holds), which should not grow."""
    print(f"tiles of {args.tile_m:g} m; one process per size (fresh), engine on 2 threads; "
          f"{args.cameras or 'a tenth of the houses as'} cameras")
    print("buildings  cameras    targets  build s  analyse s  s/camera  peak MB  largest part: targets  triangles")
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = generated_city(Path(tmp), n, args.cameras or max(1, n // 10))
            code = ("import sys, time, resource, simulator; from simulator.run.tiles import plan_tiles, scene_part; "
                    "t=time.perf_counter(); sc=simulator.load_scenario(sys.argv[1]); tm=float(sys.argv[2]); "
                    "sc=sc.model_copy(update={'analysis': sc.analysis.model_copy(update={'tile_m': tm})}); "
                    "s=simulator.build_scene(sc); b=time.perf_counter()-t; "
                    "t=time.perf_counter(); simulator.analyse(s); a=time.perf_counter()-t; "
                    "parts=[scene_part(s, tl.box, tl.camera_ids) for tl in plan_tiles(s, [c.id for c in s.cameras], "
                    "tm)]; big=max(parts, key=lambda p: len(p.targets)); "
                    "print(len(s.buildings), len(s.cameras), len(s.targets), round(b,1), round(a,1), "
                    "round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024), len(big.targets), "
                    "len(big.triangles))")
            out = subprocess.run([sys.executable, "-c", code, str(path), str(args.tile_m)], capture_output=True,
                                 text=True, cwd=ROOT)
            if out.returncode:
                print(out.stderr.strip().splitlines()[-1])
                continue
            b, c, t, bs, a, m, pt, ptri = out.stdout.split()
            print(f"{int(b):9,}  {int(c):7,}  {int(t):9,}  {float(bs):7.1f}  {float(a):9.1f}  "
                  f"{float(a) / int(c):8.2f}  {int(m):7,}  {int(pt):21,}  {int(ptri):9,}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("engine")
    e.add_argument("--cameras", type=int, default=40)
    e.add_argument("--repeat", type=int, default=5)
    v = sub.add_parser("viewshed")
    v.add_argument("--cameras", type=int, default=141)
    s = sub.add_parser("scaling")
    s.add_argument("--buildings", type=int, default=4000)
    s.add_argument("--cameras", type=int, default=400)
    s.add_argument("--repeat", type=int, default=1)
    s.add_argument("--chunks", type=int, default=2, help="camera chunks per worker (when there are few tiles)")
    s.add_argument("--sample", type=int, default=0, help="one process on this many random cameras (0: all)")
    s.add_argument("--tile-m", type=float, default=1000.0)
    g = sub.add_parser("growth")
    g.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    g.add_argument("--tile-m", type=float, default=500.0)
    g.add_argument("--cameras", type=int, default=200, help="cameras in every city (0: a tenth of the houses)")
    args = ap.parse_args()
    run = {"engine": bench_engine, "viewshed": bench_viewshed, "scaling": bench_scaling, "growth": bench_growth}
    run[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
