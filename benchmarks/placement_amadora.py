"""Benchmark of ``simulator place`` on Amadora (issue 20), in one run:

- the watched areas: the public street space of the major streets (trunk, primary, secondary,
  tertiary), 6 m either side of the centre line, at ``recognise``;
- the shipped placement: the 141 Bosch MIC IP starlight 7100i at the intersections of those streets
  (``scenarios/amadora.yaml``), judged as ``place`` judges a candidate (masks, and the proposed limits
  where a camera's plan does not fit: generous to the shipped placement);
- ``simulator place`` with the same budget (141) and model, candidates on poles every ``--spacing``
  metres along the same streets, 8 m high (the shipped mount height);
- then ``simulator run`` on the scenario ``place`` wrote: every proposed camera must come out compliant.

    python benchmarks/placement_amadora.py                 # spacing 50 m
    python benchmarks/placement_amadora.py --spacing 40

Prints the watched area reached by each, the ratio, the upper bound, the candidates, and the times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MAJOR = ["trunk", "primary", "secondary", "tertiary"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spacing", type=float, default=50.0)
    ap.add_argument("--budget", type=int, default=141)
    ap.add_argument("--keep", metavar="DIR", help="copy the outputs of place (and of the run) into DIR")
    args = ap.parse_args()
    src = ROOT / "scenarios" / "amadora.yaml"
    data = yaml.safe_load(src.read_text())
    for key in ("streets", "terrain"):
        data[key]["path"] = str((src.parent / data[key]["path"]).resolve())
    data["placement"] = {
        "budget": args.budget,
        "watch_streets": {"highways": MAJOR, "half_width_m": 6, "level": "recognise"},
        "candidates": {"poles": {"spacing_m": args.spacing, "setback_m": 4, "highways": MAJOR}, "osm_mounts": False,
                       "mount_heights_m": [8], "models": ["bosch-mic-ip-starlight-7100i"]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        sc = Path(tmp) / "amadora-place.yaml"
        sc.write_text(yaml.safe_dump(data, sort_keys=False))
        out = Path(tmp) / "placed"
        exe = Path(sys.executable).parent / "simulator"
        t0 = time.perf_counter()
        subprocess.run([str(exe), "place", str(sc), "--out", str(out)], check=True,
                       env={**os.environ, "COLUMNS": "120"})
        t_place = time.perf_counter() - t0
        res = json.loads((out / "placement.json").read_text())
        t1 = time.perf_counter()
        subprocess.run([str(exe), "run", str(out / "scenario.yaml"), "--out", str(Path(tmp) / "run")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_run = time.perf_counter() - t1
        summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
        if args.keep:
            import shutil

            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.copytree(out, Path(args.keep) / "placed")
            shutil.copy(Path(tmp) / "run" / "summary.json", Path(args.keep) / "run-summary.json")
    before = res["existing_cameras"]["reached_m2"]
    after = res["reached_m2"]
    cams = summary["cameras"]
    compliant = sum(c["compliant"] for c in cams)
    print(f"watched: {res['watched']['total_m2']:,.0f} m2 ({', '.join(MAJOR)}, +-6 m, recognise)")
    print(f"shipped 141 intersection cameras: {before:,.0f} m2 "
          f"({before / res['watched']['total_m2']:.1%}); left out (not compliant under any proposed limits): "
          f"{len(res['existing_cameras']['left_out'])}")
    print(f"simulator place, budget {args.budget}: {after:,.0f} m2 ({res['reached_share']:.1%}), "
          f"{after / before - 1:+.1%} against the shipped placement; upper bound {res['upper_bound_m2']:,.0f} m2")
    print(f"candidates: {res['candidates']}")
    print(f"proposed cameras compliant in simulator run of the written scenario: {compliant} of {len(cams)}")
    print(f"times: place {t_place:.0f} s (goal < 600 s), run of the proposal {t_run:.0f} s")


if __name__ == "__main__":
    main()
