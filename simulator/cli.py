"""The ``simulator`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import InputError, MissingDependencyError


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .io.writers import write_outputs
    from .pipeline import analyse, select_cameras
    from .scenario import load_scenario
    from .scene import build_scene

    err = Console(stderr=True)
    scenario = load_scenario(args.scenario)
    with err.status("building the scene…"):
        scene = build_scene(scenario, progress=lambda m: err.log(m) if args.verbose else None)
    select_cameras(scene, args.camera)
    err.print(f"scene: {len(scene.buildings)} buildings, {len(scene.targets)} private targets, "
              f"{len(scene.triangles)} triangles, {len(scene.cameras)} cameras ({scene.frame.crs.to_string()})")
    for note in scene.notes:
        err.print(f"[dim]note: {note}[/dim]")
    with Progress(TextColumn("cameras"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=False) as bar:
        task = bar.add_task("", total=len(args.camera or scene.cameras))

        def tick(cam: str, i: int, n: int) -> None:
            bar.update(task, completed=i, total=n, description=cam)

        result = analyse(scene, cameras=args.camera, progress=tick)
    write_outputs(result, Path(args.out))
    summary = result.summary()
    table = Table(title=f"{summary['scenario']}: exposed private targets per camera")
    for col in ("camera", "exposed", "identify", "recognise", "masks", "compliant"):
        table.add_column(col, justify="right" if col != "camera" else "left")
    ex = result.exposures
    cams = summary["cameras"]
    shown = sorted(cams, key=lambda c: -c["exposed_targets"])[:15]
    for c in shown:
        sub = ex[ex["camera_id"] == c["id"]] if len(ex) else ex
        identify = int((sub["dori"] == "identify").sum()) if len(sub) else 0
        recognise = int((sub["dori"] == "recognise").sum()) if len(sub) else 0
        table.add_row(c["id"], str(c["exposed_targets"]), str(identify), str(recognise),
                      f"{c['masks']}/{c['mask_limit']}", "yes" if c["compliant"] else "no")
    Console().print(table)
    if len(cams) > len(shown):
        Console().print(f"… {len(cams) - len(shown)} more cameras in summary.json")
    st = result.stats
    rate = st["rays"] / st["ray_seconds"] if st["ray_seconds"] else 0.0
    Console().print(f"{st['rays']:,} rays in {st['ray_seconds']:.2f} s ({rate / 1e6:.2f} M rays/s); "
                    f"total {st['seconds']:.1f} s. Outputs in {args.out}/ (summary.json, exposures.csv, results.gpkg)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simulator", description="Camera field-of-view and privacy-zone simulator.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline on a scenario")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    run.add_argument("-v", "--verbose", action="store_true", help="log each stage")
    run.set_defaults(func=_run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MissingDependencyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
