"""Mask plans of every shipped scenario: compliant cameras with masks alone and with their proposed
limits (planned again and verified), masks used against the limit, the proven lower bound, the share
of public street samples in view that the masks hide, and the time spent planning masks.

    python benchmarks/masks.py                 # every shipped scenario
    python benchmarks/masks.py tutorial amadora

Each scenario runs in full (``simulator.analyse``, one worker process per core), as ``simulator run``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["tutorial", "helsinki", "ingolstadt-lod3", "monaco", "amadora"]


def main(names: list[str]) -> None:
    import simulator

    print(f"{'scenario':16} {'cameras':>7} {'compliant':>9} {'+limits':>7} {'masks/limit':>13} {'bound':>6} "
          f"{'public hidden':>13} {'planning s':>10} {'run s':>6}")
    for name in names or SCENARIOS:
        t0 = time.perf_counter()
        res = simulator.analyse(ROOT / "scenarios" / f"{name}.yaml", processes=os.cpu_count() or 1)
        seconds = time.perf_counter() - t0
        cams = res.summary()["cameras"]
        ok = sum(c["compliant"] for c in cams)
        limits = sum(1 for c in cams if not c["compliant"] and (c.get("proposed_limits") or {}).get("compliant"))
        masks = sum(c["masks"] for c in cams)
        limit = sum(c["mask_limit"] for c in cams)
        bound = sum(c.get("masks_lower_bound", 0) for c in cams)
        shares = [c["public_hidden_share"] for c in cams if c.get("public_hidden_share") is not None]
        share = statistics.mean(shares) if shares else 0.0
        print(f"{name:16} {len(cams):7d} {ok:9d} {limits:7d} {masks:6d}/{limit:<6d} {bound:6d} {share:12.1%} "
              f"{res.stats['mask_planning_seconds']:10.1f} {seconds:6.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
