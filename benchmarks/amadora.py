"""Benchmark 2 of the city-scale issue: ``simulator run scenarios/amadora.yaml`` end to end.

Runs the command line as a user would (a fresh process each time, every output written), several
times, with the default (one worker process per core) and, as the baseline measured in the same run,
with ``--processes 1``; the runs alternate so that both see the same machine. Timed runs are not
watched (reading /proc/PID/smaps_rollup walks the page tables: sampling it often enough slows the run
down); then one run per configuration measures memory: the peak, over the run, of the sum of the
proportional set sizes (PSS: shared pages divided among the processes sharing them) of the command
and every process it starts (workers, the ONVIF validator), sampled every 100 ms; the largest single
process's peak resident size (VmHWM) is given too.

    python benchmarks/amadora.py --runs 5
    python benchmarks/amadora.py --runs 3 --no-baseline --against 4da2625   # this code against a commit

``--against REV`` also runs the same command from a temporary git worktree of REV (with this
interpreter), alternating with this code, and prints the ratio of the medians.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = re.compile(r"scene ([0-9.]+) s, cameras ([0-9.]+) s, outputs ([0-9.]+) s")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def memory_kb(pid: int, field: str) -> int:
    """``Pss`` (from smaps_rollup) or ``VmHWM`` (from status) of a process, in kB; 0 once it is gone."""
    try:
        src = "smaps_rollup" if field == "Pss" else "status"
        for line in Path(f"/proc/{pid}/{src}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_once(extra: list[str], *, watch: bool, root: Path = ROOT) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(root)}
        proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "run", "scenarios/amadora.yaml",
                                 "--out", out, *extra], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        peak_pss = peak_rss = 0
        while watch and proc.poll() is None:
            pids = tree(proc.pid)
            peak_pss = max(peak_pss, sum(memory_kb(p, "Pss") for p in pids))
            peak_rss = max(peak_rss, *(memory_kb(p, "VmHWM") for p in pids))
            time.sleep(0.1)
        proc.wait()
        wall = time.perf_counter() - t0
        text = proc.stdout.read() if proc.stdout else ""
        if proc.returncode != 0:
            raise SystemExit(f"run failed ({proc.returncode}):\n{text}")
        m = STAGES.search(" ".join(text.split()))
        scene, cameras, outputs = (float(v) for v in m.groups()) if m else (float("nan"),) * 3
        return {"wall": wall, "scene": scene, "cameras": cameras, "outputs": outputs,
                "pss_mb": peak_pss / 1024, "rss_mb": peak_rss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-baseline", action="store_true", help="skip the --processes 1 runs")
    ap.add_argument("--against", metavar="REV", help="also run the code of this git commit, alternately")
    args = ap.parse_args()
    with contextlib.ExitStack() as stack:
        other = stack.enter_context(worktree(args.against)) if args.against else None
        return measure(args, other)


@contextlib.contextmanager
def worktree(rev: str):  # type: ignore[no-untyped-def]
    """A temporary detached git worktree of ``rev``, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="against-"))
    subprocess.run(["git", "worktree", "add", "--force", "--detach", str(path), rev], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)


def measure(args: argparse.Namespace, other: Path | None) -> int:
    configs: dict[str, tuple[list[str], Path]] = {"default (one process per core)": ([], ROOT)}
    if not args.no_baseline:
        configs["--processes 1 (baseline)"] = (["--processes", "1"], ROOT)
    if other is not None:
        configs[f"commit {args.against} (default)"] = ([], other)
    results: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
    for i in range(args.runs):
        for name, (extra, root) in configs.items():
            r = run_once(extra, watch=False, root=root)
            results[name].append(r)
            print(f"run {i + 1} {name}: {r['wall']:.1f} s (scene {r['scene']:.1f}, cameras {r['cameras']:.1f}, "
                  f"outputs {r['outputs']:.1f})", flush=True)
    memory = {}
    for name, (extra, root) in configs.items():
        memory[name] = run_once(extra, watch=True, root=root)
        print(f"memory run {name}: peak PSS {memory[name]['pss_mb']:.0f} MiB, largest process "
              f"{memory[name]['rss_mb']:.0f} MiB ({memory[name]['wall']:.1f} s, watched)", flush=True)
    print()
    med = {}
    for name, rs in results.items():
        med[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        walls = sorted(r["wall"] for r in rs)
        m = med[name]
        print(f"{name}: median {m['wall']:.1f} s over {len(rs)} runs ({walls[0]:.1f}-{walls[-1]:.1f}); stages "
              f"scene {m['scene']:.1f} s, cameras {m['cameras']:.1f} s, outputs {m['outputs']:.1f} s; peak PSS "
              f"{memory[name]['pss_mb']:.0f} MiB, largest process {memory[name]['rss_mb']:.0f} MiB")
    names = list(med)
    for other_name in names[1:]:
        print(f"ratio {names[0]} / {other_name} (median wall): "
              f"{med[names[0]]['wall'] / med[other_name]['wall']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
