#!/usr/bin/env python3
"""Engine benchmark: rays per second against a plain embreex loop on the same mesh and rays, in the
same run, and the Amadora scenario end to end (wall time, peak memory).

    python3 tasks.py bench            # or: .venv/bin/python benchmarks/engine.py [--repeat 5]

Prints medians over ``--repeat`` runs and the ratios; these machines are noisy, so compare ratios
measured in one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator  # noqa: E402
from simulator.engine.exposure import camera_exposures, in_reach  # noqa: E402
from simulator.visibility import EPS_END_M, EPS_START_M, RayEngine  # noqa: E402


def amadora_rays(scene: simulator.Scene, n_cameras: int) -> tuple[np.ndarray, np.ndarray]:
    """The (start, end) segments the engine casts for the first cameras: samples in range, facing, in reach."""
    t = scene.targets
    starts, ends = [], []
    st = t.sample_target
    for cam in scene.cameras[:n_cameras]:
        c = np.array(cam.position)
        v = t.samples - c
        d = np.linalg.norm(v, axis=1)
        ok = (d <= cam.range_m) & (np.einsum("ij,ij->i", t.planes.N[st], v) < 0)
        ok[ok] = in_reach(cam, v[ok])
        ends.append(t.samples[ok])
        starts.append(np.broadcast_to(c, (int(ok.sum()), 3)))
    return np.concatenate(starts), np.concatenate(ends)


def plain_embreex(triangles: np.ndarray, origin: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[float, int]:
    """A plain embreex occlusion call (one thread) on pre-made float32 arrays: the reference rate."""
    scene = rtcore_scene.EmbreeScene()
    TriangleMesh(scene, (triangles - origin).astype(np.float32))
    delta = end - start
    length = np.linalg.norm(delta, axis=1)
    d = (delta / length[:, None])
    o = (start - origin + d * EPS_START_M).astype(np.float32)
    t = (length - EPS_START_M - EPS_END_M).astype(np.float32)
    d = d.astype(np.float32)
    t0 = time.perf_counter()
    hit = scene.run(o, d, dists=t, query="OCCLUDED")
    return time.perf_counter() - t0, int((hit < 0).sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cameras", type=int, default=40, help="cameras whose rays are timed")
    ap.add_argument("--skip-e2e", action="store_true")
    args = ap.parse_args()

    print("building the Amadora scene …", flush=True)
    scene = simulator.build_scene(simulator.load_scenario(ROOT / "scenarios" / "amadora.yaml"))
    start, end = amadora_rays(scene, args.cameras)
    n = len(end)
    print(f"mesh: {len(scene.triangles):,} triangles; rays: {n:,} from {args.cameras} cameras")

    plain_s, eng1_s, eng2_s, pipe_s = [], [], [], []
    agree = True
    e1 = RayEngine(scene.triangles, origin=scene.origin, threads=1)
    e2 = RayEngine(scene.triangles, origin=scene.origin, threads=2)
    thresholds = scene.scenario.analysis.dori_px_per_m.model_dump()
    scene.target_index, scene.target_radius  # built once per scene: not part of the timed loop  # noqa: B018
    for _ in range(args.repeat):
        s, clear_plain = plain_embreex(scene.triangles, scene.origin, start, end)
        plain_s.append(s)
        for eng, acc in ((e1, eng1_s), (e2, eng2_s)):
            t0 = time.perf_counter()
            clear = eng.segment_clear(start, end)
            acc.append(time.perf_counter() - t0)
            agree &= int(clear.sum()) == clear_plain
        t0 = time.perf_counter()
        r0 = e2.rays_cast
        for cam in scene.cameras[: args.cameras]:
            camera_exposures(cam, scene.targets, e2, dori_thresholds=thresholds, target_radius=scene.target_radius,
                             target_index=scene.target_index)
        pipe_s.append((time.perf_counter() - t0, e2.rays_cast - r0))

    def rate(secs: list[float]) -> float:
        return n / statistics.median(secs)

    plain = rate(plain_s)
    one, two = rate(eng1_s), rate(eng2_s)
    pipe_rate = statistics.median(r / s for s, r in pipe_s)
    print(f"\nray throughput (median of {args.repeat}), same mesh and rays, same run:")
    print(f"  plain embreex, 1 thread, bare call : {plain / 1e6:6.2f} M rays/s   (1.00)")
    print(f"  engine segment_clear, 1 thread     : {one / 1e6:6.2f} M rays/s   ({one / plain:.2f})")
    print(f"  engine segment_clear, 2 threads    : {two / 1e6:6.2f} M rays/s   ({two / plain:.2f})")
    print(f"  full per-camera exposure pipeline  : {pipe_rate / 1e6:6.2f} M rays/s   ({pipe_rate / plain:.2f})"
          "  (culling, gathering, aggregation included)")
    print(f"  results identical to plain embreex : {agree}")

    if not args.skip_e2e:
        for label, extra in (("exposures only (--no-masks)", ["--no-masks"]), ("with masks, exports, signing", [])):
            times, peaks = [], []
            for _ in range(max(1, min(args.repeat, 3))):
                with tempfile.TemporaryDirectory() as out:
                    scenario = str(ROOT / "scenarios" / "amadora.yaml")
                    cmd = [sys.executable, "-m", "simulator.cli", "run", scenario, "--out", out, *extra]
                    t0 = time.perf_counter()
                    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                    times.append(time.perf_counter() - t0)
                    if p.returncode != 0:
                        print(p.stderr)
                        return 1
                    summary = json.loads((Path(out) / "summary.json").read_text())
                    # ru_maxrss of children is the largest child so far: measure each variant in a fresh process
                peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
            compliant = sum(c["compliant"] for c in summary["cameras"])
            st = summary["stats"]
            print(f"\nsimulator run scenarios/amadora.yaml, {label} ({len(summary['cameras'])} cameras, "
                  f"{st['targets']:,} targets, {st['rays']:,} rays, {compliant} compliant):")
            print(f"  wall time median {statistics.median(times):.1f} s (runs: {', '.join(f'{t:.1f}' for t in times)})")
            print(f"  peak memory (largest child so far) {max(peaks):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
