"""The engine's exposures against an independent check (``tests/bruteforce.py``: float64 numpy ray
casting on a 24 x 24 grid of each target's own), on camera x target pairs drawn at random: half among
the targets each camera sees, half among those within its range that face it but it does not see.

    python benchmarks/exposure_check.py                    # Helsinki, Monaco, Ingolstadt
    python benchmarks/exposure_check.py monaco --pairs 40  # pairs per camera

Prints, per scenario: the share of pairs on which both say seen or both say not seen; the mean
absolute visible-fraction difference on pairs one of them finds partly visible; the share of pairs
seen by both whose frontal px/m (nearest visible point) agrees within 5 %; and the pairs that
disagree, worst first.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bruteforce import candidate_pairs, check_pair  # noqa: E402

SCENARIOS = ["helsinki", "monaco", "ingolstadt-lod3"]


def compare(result, pairs_per_camera: int, seed: int = 0) -> dict[str, object]:
    scene = result.scene
    ex = result.exposures
    rng = np.random.default_rng(seed)
    rows = []
    for cam in scene.cameras:
        mine = ex[ex["camera_id"] == cam.id].set_index("target")
        seen = mine.index.to_numpy(int)
        cands = candidate_pairs(scene, cam, 20 * pairs_per_camera, rng)
        unseen = np.setdiff1d(cands, seen)
        half = pairs_per_camera // 2
        pick = list(rng.choice(seen, size=min(half, len(seen)), replace=False)) if len(seen) else []
        pick += list(rng.choice(unseen, size=min(pairs_per_camera - len(pick), len(unseen)), replace=False)) \
            if len(unseen) else []
        for ti in pick:
            c = check_pair(scene, cam, int(ti))
            e = mine.loc[int(ti)] if int(ti) in mine.index else None
            rows.append({"camera": cam.id, "target": str(scene.targets.id[int(ti)]),
                         "kind": str(scene.targets.kind[int(ti)]),
                         "engine_seen": e is not None, "check_seen": c.seen,
                         "engine_vf": float(e["visible_fraction"]) if e is not None else 0.0,
                         "engine_err": float(e["visible_fraction_error"]) if e is not None else 0.0,
                         "check_vf": c.visible_share,
                         "engine_px": float(e["max_px_per_m"]) if e is not None else math.nan,
                         "check_px": c.px_per_m})
    n = len(rows)
    agree = sum(r["engine_seen"] == r["check_seen"] for r in rows)
    partial = [r for r in rows if 0 < r["engine_vf"] < 1 or 0 < r["check_vf"] < 1]
    vf_err = float(np.mean([abs(r["engine_vf"] - r["check_vf"]) for r in partial])) if partial else 0.0
    both = [r for r in rows if r["engine_seen"] and r["check_seen"]]
    px_ok = sum(abs(r["engine_px"] / r["check_px"] - 1) <= 0.05 for r in both)
    worst = sorted(rows, key=lambda r: (r["engine_seen"] == r["check_seen"], -abs(r["engine_vf"] - r["check_vf"])))
    return {"pairs": n, "agree": agree, "partial": len(partial), "vf_error": vf_err, "both_seen": len(both),
            "px_within_5pct": px_ok, "worst": worst[:5]}


def main() -> int:
    import simulator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=SCENARIOS)
    ap.add_argument("--pairs", type=int, default=30, help="pairs per camera")
    args = ap.parse_args()
    for name in args.scenarios:
        t0 = time.perf_counter()
        res = simulator.analyse(ROOT / "scenarios" / f"{name}.yaml", processes=2)
        r = compare(res, args.pairs)
        n, b = r["pairs"], r["both_seen"]
        print(f"{name}: {n} pairs; seen / not seen agree on {r['agree']} ({r['agree'] / max(n, 1):.1%}); "
              f"mean visible-fraction difference on {r['partial']} partly visible pairs {r['vf_error']:.3f}; "
              f"px/m within 5 % on {r['px_within_5pct']} of {b} seen by both "
              f"({r['px_within_5pct'] / max(b, 1):.1%}); {time.perf_counter() - t0:.0f} s", flush=True)
        for w in r["worst"]:
            e_says, c_says = ("seen" if w[k] else "not seen" for k in ("engine_seen", "check_seen"))
            print(f"   {w['camera']} -> {w['target']} ({w['kind']}): engine {e_says} vf {w['engine_vf']:.3f} "
                  f"+- {w['engine_err']:.3f}, check {c_says} vf {w['check_vf']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
