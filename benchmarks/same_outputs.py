"""Every output of every shipped scenario, this code against a git commit: the same, file by file.

    python benchmarks/same_outputs.py REV                      # all shipped scenarios
    python benchmarks/same_outputs.py REV tutorial monaco      # some of them

Runs ``simulator run`` on each scenario with this code and with the code of ``REV`` (a temporary git
worktree, this interpreter, the same signing key), then compares the two run folders. What differs
from one run to the next of the same code is left out, and only that: the times a run took, the
moments it signed and logged (timestamps), and what those moments change (signatures, the hashes
and chain of the audit log, which cover the timestamps). Everything else must be equal:

- ``exposures.csv``, ``signing-key.pub`` and the vendor exports: byte for byte (ISO timestamps aside);
- ``summary.json`` and the mask plans (``masks/*.json``): equal as JSON, without their times,
  timestamps, signatures and hashes;
- ``report.html``: equal text, with its generation time and the run's durations left out;
- ``results.gpkg``: layer by layer, the same layers with the same columns, rows, values and
  geometries (read with pyogrio);
- the audit log: the same entries (their kinds, cameras and files), timestamps and hashes aside.

Prints one line per scenario and the differences found; exit code 1 when any.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from amadora import worktree  # noqa: E402

SCENARIOS = ["tutorial", "ingolstadt-lod3", "monaco", "helsinki", "amadora"]
# the times, the moments, and what covers them (signatures; the plans' and audit entries' hashes, and
# the chain that links those)
VOLATILE = {"seconds", "ray_seconds", "mask_planning_seconds", "planning_seconds", "timestamp", "time", "signature",
            "sha256", "plan_sha256", "hash", "prev"}
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?Z?( UTC)?")
DURATION = re.compile(r"\b\d+(\.\d+)? s\b")


def run(root: Path, scenario: str, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "run", f"scenarios/{scenario}.yaml", "--out",
                           str(out)], cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{scenario} failed in {root} ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def stable(value: Any) -> Any:
    """``value`` (parsed JSON) without its volatile keys, at any depth."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def text_of(path: Path) -> str:
    return DURATION.sub("<duration>", ISO_TIME.sub("<time>", path.read_text(encoding="utf-8")))


def first_difference(a: str, b: str) -> str:
    k = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at character {k}: {a[max(0, k - 60):k + 60]!r} / {b[max(0, k - 60):k + 60]!r}"


def compare_gpkg(a: Path, b: Path) -> list[str]:
    import pyogrio

    la, lb = sorted(x[0] for x in pyogrio.list_layers(a)), sorted(x[0] for x in pyogrio.list_layers(b))
    out = [f"layers {la} / {lb}"] if la != lb else []
    for layer in sorted(set(la) & set(lb)):
        da = pyogrio.read_dataframe(a, layer=layer, use_arrow=True)
        db = pyogrio.read_dataframe(b, layer=layer, use_arrow=True)
        if list(da.columns) != list(db.columns) or len(da) != len(db):
            out.append(f"layer {layer}: columns {list(da.columns)} / {list(db.columns)}, rows {len(da)} / {len(db)}")
            continue
        geom = da.geometry.name if hasattr(da, "geometry") else None
        for col in da.columns:
            if col == geom:
                same = (da[col].to_wkb() == db[col].to_wkb()).all()
            else:
                same = da[col].equals(db[col])
            if not same:
                out.append(f"layer {layer}: column {col} differs")
    return out


def compare(a: Path, b: Path) -> list[str]:
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    diffs = []
    if fa != fb:
        diffs.append(f"files only here: {sorted(set(fa) - set(fb))}, only there: {sorted(set(fb) - set(fa))}")
    for rel in sorted(set(fa) & set(fb)):
        pa, pb = a / rel, b / rel
        if rel.parts[0] == "audit":
            if rel.suffix == ".jsonl":
                ea = [stable(json.loads(line)) for line in pa.read_text().splitlines() if line]
                eb = [stable(json.loads(line)) for line in pb.read_text().splitlines() if line]
                if ea != eb:
                    diffs.append(f"{rel}: {len(ea)} / {len(eb)} entries, or their contents, differ")
            continue  # head.json: the signed head of the chain (hashes over timestamps)
        if rel.suffix == ".gpkg":
            diffs += [f"{rel}: {d}" for d in compare_gpkg(pa, pb)]
        elif rel.suffix == ".json":
            ja, jb = (json.dumps(stable(json.loads(p.read_text())), sort_keys=True) for p in (pa, pb))
            if ja != jb:
                diffs.append(f"{rel}: {first_difference(ja, jb)}")
        else:
            ta, tb = text_of(pa), text_of(pb)
            if ta != tb:
                diffs.append(f"{rel}: {first_difference(ta, tb)}")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the git commit to compare with")
    ap.add_argument("scenarios", nargs="*", default=SCENARIOS)
    args = ap.parse_args()
    failed = False
    with worktree(args.rev) as other, tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios:
            mine, theirs = Path(tmp) / f"{name}-this", Path(tmp) / f"{name}-{args.rev}"
            run(ROOT, name, mine)
            run(other, name, theirs)
            diffs = compare(mine, theirs)
            n = sum(1 for p in mine.rglob("*") if p.is_file())
            print(f"{name}: {n} files, " + ("the same" if not diffs else f"{len(diffs)} differences"), flush=True)
            for d in diffs[:20]:
                print("   " + d)
            failed |= bool(diffs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
