"""The ``simulator`` command line."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from rich.console import Console


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .build import build_scene
    from .outputs.publish import check_out
    from .outputs.writers import Outputs, camera_outputs
    from .run.camera import select_cameras
    from .run.pipeline import analyse
    from .scenario import load_scenario

    err = Console(stderr=True)
    check_out(args.out)  # before the work: a file, '' or a folder of other things is refused
    _same_log_key(Path(args.out), args.key)
    scenario = load_scenario(args.scenario)
    if args.workers is not None or args.scheduler is not None:
        from .run.dask import check_cluster_arguments

        check_cluster_arguments(args.workers, args.scheduler)
    if args.processes < 1:
        raise InputError(f"--processes must be at least 1, got {args.processes}", field="--processes")
    if args.pdf:
        from .outputs.report.pdf import browser

        browser()  # fail before the work, not after it
    if args.no_masks:
        scenario = scenario.model_copy(update={"masks": scenario.masks.model_copy(update={"enabled": False})})
    if scenario.masks.enabled:  # the ONVIF validator loads its schemas while the scene is built
        from .outputs.export.onvif import prestart

        prestart()
    t0 = time.perf_counter()
    with Outputs(Path(args.out)) as outputs:  # the folder checked and locked before the work
        with err.status("building the scene…"):
            scene = build_scene(scenario, progress=lambda m: err.log(m) if args.verbose else None)
        t_scene = time.perf_counter() - t0
        select_cameras(scene, args.camera)
        err.print(f"scene: {len(scene.buildings)} buildings, {len(scene.targets)} private targets, "
                  f"{len(scene.triangles)} triangles, {len(scene.cameras)} cameras ({scene.frame.crs.to_string()})")
        for note in scene.notes:
            err.print(f"[dim]note: {note}[/dim]")
        with progress_bar(err, "cameras", len(args.camera or scene.cameras)) as tick:
            if args.workers is not None or args.scheduler is not None:
                from .run.dask import analyse_distributed

                result = analyse_distributed(scenario, cameras=args.camera, workers=args.workers,
                                             scheduler=args.scheduler, scene=scene, progress=tick,
                                             finish=camera_outputs)
            else:  # the scene's own layers are written while the workers analyse the cameras
                result = analyse(scene, cameras=args.camera, progress=tick, processes=args.processes,
                                 meanwhile=outputs.scene_layers(), finish=camera_outputs)
                outputs.scene_layers_done(scene)
        t1 = time.perf_counter()
        outputs.write(result, key_path=args.key, pdf=args.pdf)
        t_write = time.perf_counter() - t1
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
                    f"scene {t_scene:.1f} s, cameras {st['seconds']:.1f} s, outputs {t_write:.1f} s. "
                    f"Outputs in {args.out}/ (summary.json, exposures.csv, results.gpkg, "
                    f"report.html{', report.pdf' if args.pdf else ''})")
    return 0


@contextlib.contextmanager
def progress_bar(err: Console, label: str, total: int | None) -> Iterator[Callable[[str, int, int], None]]:
    """A ``progress(item, done, total)`` callback: a bar on a terminal; elsewhere (a log, a batch job)
    a line at every tenth of the work, with the time so far."""
    if err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=err, transient=False) as bar:
            task = bar.add_task("", total=total)
            yield lambda item, i, n: bar.update(task, completed=i, total=n, description=item)
        return
    t0, shown, last = time.perf_counter(), [-1.0, -30.0], [0, 0, True]

    def say(i: int, n: int) -> None:
        err.print(f"{label}: {i:,} of {n:,} ({i / max(n, 1):.0%}) after {time.perf_counter() - t0:.0f} s")

    def line(item: str, i: int, n: int) -> None:
        # a line at every tenth, or every 30 s where the total grows as the work finds more to do
        tenth, now = 10 * i // max(n, 1), time.perf_counter() - t0
        last[:] = [i, n, False]
        if tenth > shown[0] or (now - shown[1] >= 30 and i > 0):
            shown[:] = [max(tenth, shown[0]), now]
            last[2] = True
            say(i, n)

    yield line
    if not last[2]:
        say(int(last[0]), int(last[1]))  # where the work ended


def cameras(n: int) -> str:
    """'1 camera reaches' / 'n cameras reach'."""
    return f"{n} camera reaches" if n == 1 else f"{n} cameras reach"


def _place(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .build import build_scene
    from .outputs.placement import write_placement
    from .outputs.publish import Publication, check_out
    from .run.place import propose, setup
    from .scenario import load_scenario

    err = Console(stderr=True)
    check_out(args.out)
    if args.processes < 1:
        raise InputError(f"--processes must be at least 1, got {args.processes}", field="--processes")
    if args.budget is not None and args.budget < 1:
        raise InputError(f"--budget must be at least 1 camera, got {args.budget}", field="--budget")
    if args.target_share is not None and not 0 < args.target_share <= 1:
        raise InputError(f"--target-share must lie in (0, 1], got {args.target_share:g}", field="--target-share")
    scenario = load_scenario(args.scenario)
    if args.workers is not None or args.scheduler is not None:
        from .run.dask import check_cluster_arguments

        check_cluster_arguments(args.workers, args.scheduler)
    t0 = time.perf_counter()
    # the folder's lock is held from now to the publication: another run on it fails now, not after the work
    with Publication(args.out) as pub:
        with err.status("building the scene…"):
            scene = build_scene(scenario)
        with err.status("watched ground and candidates…"):
            ready = setup(scene, budget=args.budget, target_share=args.target_share, models=args.model or ())
        err.print(f"scene: {len(scene.buildings)} buildings, {len(scene.targets)} private targets, "
                  f"{len(scene.cameras)} cameras of its own ({scene.frame.crs.to_string()}); "
                  f"{len(ready.grid.cells) * ready.grid.cell_area_m2:,.0f} m² watched, "
                  f"{len(ready.cameras):,} candidates")
        with progress_bar(err, "candidates", None) as tick:
            p = propose(scene, processes=args.processes, progress=tick, prepared=ready, workers=args.workers,
                        scheduler=args.scheduler)
        data = write_placement(pub, scene, p)
    w = data["watched"]
    if w["default"]:
        err.print(f"[dim]note: {w['default']}[/dim]")
    table = Table(title=f"{data['scenario']}: proposed cameras, in the order chosen")
    for col in ("#", "camera", "model", "height m", "limits", "masks", "gain m²", "reached"):
        table.add_column(col, justify="left" if col in ("camera", "model", "limits") else "right")
    for k, c in enumerate(data["chosen"]):
        limits = "proposed" if c["limits"] == "proposed" else "its own"
        if c.get("direction_deg") is not None:
            limits = f"fixed, {c['direction_deg']:g}°"
        table.add_row(str(k + 1), c["id"], str(c["model"]), f"{c['mount_height_m']:g}", limits,
                      f"{c['masks']}/{c['mask_limit']}", f"{c['marginal_gain_m2']:,.0f}",
                      f"{c['cumulative_share']:.1%}")
    Console().print(table)
    cand = data["candidates"]
    before = data["existing_cameras"]
    Console().print(
        f"{cameras(len(data['chosen']))} {data['reached_m2']:,.0f} m² of {w['total_m2']:,.0f} m² watched "
        f"({data['reached_share']:.1%}); no {p.budget} of these candidates reach more than "
        f"{data['upper_bound_m2']:,.0f} m² (the greedy choice is guaranteed 63.2 % of the best). The scenario's own "
        f"{before['cameras']} cameras reach {before['reached_m2']:,.0f} m². {cand['tried']:,} candidates tried, "
        f"{cand['analysed_in_full']:,} of them analysed in full (the others could not beat the choice even "
        f"without masks), {cand['left_out']:,} of those left out as not compliant under any proposed limits; "
        f"{time.perf_counter() - t0:.0f} s. Outputs in {args.out}/ (scenario.yaml, placement.json, placement.html)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .visibility import cores

    p = argparse.ArgumentParser(prog="simulator", description="Camera field-of-view and privacy-zone simulator.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline on a scenario")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--out", required=True, help="output folder")
    run.add_argument("--camera", action="append", metavar="ID", help="only this camera (repeatable)")
    run.add_argument("-v", "--verbose", action="store_true", help="log each stage")
    where_to = run.add_mutually_exclusive_group()
    where_to.add_argument("--processes", type=int, metavar="N", default=cores(),
                          help=f"run the cameras on N local processes sharing the scene (default: one per core, "
                               f"here {cores()}; 1: in this process)")
    where_to.add_argument("--workers", type=int, metavar="N", help="run the cameras on N local processes (Dask)")
    where_to.add_argument("--scheduler", metavar="ADDRESS", help="run the cameras on this Dask cluster "
                                                                  "(e.g. tcp://10.0.0.5:8786)")
    run.add_argument("--no-masks", action="store_true", help="exposures only: no mask plans or exports")
    run.add_argument("--pdf", action="store_true", help="also print report.html to report.pdf (headless Chromium)")
    run.add_argument("--key", help="Ed25519 private key (PEM) that signs the mask plans; default "
                                   "$SIMULATOR_SIGNING_KEY, else a per-user key created on first use")
    run.set_defaults(func=_run)
    pl = sub.add_parser("place", help="propose cameras that reach the most watched public ground, each compliant")
    pl.add_argument("scenario", help="scenario YAML file (its watch_areas and placement settings)")
    pl.add_argument("--out", required=True, help="output folder (scenario.yaml, placement.json, placement.html)")
    pl.add_argument("--budget", type=int, metavar="N", help="at most N cameras (default: placement.budget)")
    pl.add_argument("--target-share", type=float, metavar="S",
                    help="stop once this share (0-1] of the watched area is reached")
    pl.add_argument("--model", action="append", metavar="ID", help="a catalogue model to try (repeatable; "
                                                                    "default: placement.candidates.models)")
    where_pl = pl.add_mutually_exclusive_group()
    where_pl.add_argument("--processes", type=int, metavar="N", default=cores(),
                          help=f"analyse the candidates on N local processes (default: one per core, here {cores()})")
    where_pl.add_argument("--workers", type=int, metavar="N", help="analyse the candidates on N local processes (Dask)")
    where_pl.add_argument("--scheduler", metavar="ADDRESS", help="analyse the candidates on this Dask cluster")
    pl.set_defaults(func=_place)
    wh = sub.add_parser("where", help="which cameras can see a point or a target (window, door …), masked or not")
    wh.add_argument("scenario", help="scenario YAML file")
    wh.add_argument("--lon", type=float, help="longitude [deg, WGS 84] of the point")
    wh.add_argument("--lat", type=float, help="latitude [deg, WGS 84] of the point")
    wh.add_argument("--z", type=float, default=1.5, help="height of the point above the ground [m] (default 1.5)")
    wh.add_argument("--target", metavar="ID", help="a target id (as in exposures.csv) instead of a point")
    wh.add_argument("--json", action="store_true", help="print the answer as JSON")
    wh.set_defaults(func=_where)
    keys = sub.add_parser("keys", help="create an Ed25519 key pair for signing mask plans and audit logs")
    keys.add_argument("--out", required=True, help="folder for signing-key.pem (mode 0600) and signing-key.pub")
    keys.set_defaults(func=_keys)
    ver = sub.add_parser("verify", help="check a run's output folder, a signed mask plan (.json) or an audit log "
                                        "(its folder or a .jsonl file)")
    ver.add_argument("file")
    ver.add_argument("--public-key", help="PEM public key to trust; default: a pinned key (your signing key, "
                                          "$SIMULATOR_SIGNING_KEY, or a .pub file in the trusted-keys folder)")
    ver.set_defaults(func=_verify)
    for name, func, text in (("deploy", _deploy, "send a signed mask plan to a camera over ONVIF (limits, then masks)"),
                             ("check-device", _check_device, "read a camera's masks and PTZ limits back over ONVIF "
                                                             "and name every difference from a signed plan")):
        dev = sub.add_parser(name, help=text)
        dev.add_argument("plan", help="the signed plan, masks/<camera>.json of a run's output folder")
        dev.add_argument("--device", required=True, metavar="URL",
                         help="the camera's ONVIF endpoint serving Media2 and PTZ, e.g. http://10.0.0.7/onvif/device_service")
        dev.add_argument("--user", help="ONVIF user (WS-UsernameToken digest); none: no authentication")
        dev.add_argument("--password-file", help="a file holding the password (its first line)")
        dev.add_argument("--public-key", help="PEM public key; default: signing-key.pub of the run")
        dev.add_argument("--key", help="Ed25519 private key that signs the audit entry (as for run)")
        dev.set_defaults(func=func)
    aud = sub.add_parser("audit", help="append a signed entry to a run's audit log (approval, disable request…)")
    aud.add_argument("out", help="the run's output folder (its audit/ log)")
    aud.add_argument("action", choices=["approve", "disable_request", "enable"])
    aud.add_argument("--camera", required=True)
    aud.add_argument("--mask", action="append", default=[], help="mask id concerned (repeatable)")
    aud.add_argument("--user", help="default: the current login")
    aud.add_argument("--reason", default="")
    aud.add_argument("--key")
    aud.set_defaults(func=_audit)
    return p


def _where(args: argparse.Namespace) -> int:
    import json
    import math

    from rich.console import Console
    from rich.table import Table

    from .build import build_scene
    from .scenario import load_scenario
    from .where import point_from_lonlat, where_point, where_target

    if not (math.isfinite(args.z) and -100.0 <= args.z <= 1000.0):
        raise InputError(f"--z must be a height above the ground within -100..1000 m, got {args.z:g}", field="--z")
    if (args.target is None) == (args.lon is None or args.lat is None):
        raise InputError("give either --lon and --lat, or --target", field="--lon/--lat/--target")
    err = Console(stderr=True)
    with err.status("building the scene…"):
        scene = build_scene(load_scenario(args.scenario))
    if args.target is not None:
        what = f"target {args.target}"
        answer = where_target(scene, args.target)
    else:
        if not (-180 <= args.lon <= 180 and -90 <= args.lat <= 90):
            raise InputError(f"lon must be within -180..180 and lat within -90..90, got {args.lon}, {args.lat}",
                             field="--lon/--lat")
        point = point_from_lonlat(scene, args.lon, args.lat, args.z)
        what = f"point lon {args.lon}, lat {args.lat}, {args.z:g} m above ground"
        answer = where_point(scene, point)
    seen = answer[answer["visible"]]
    if args.json:
        print(json.dumps({"query": what, "cameras": json.loads(seen.to_json(orient="records"))}, indent=1))
        return 0
    table = Table(title=f"cameras that can see the {what}")
    for col in ("camera", "distance m", "px/m", "DORI", "masked"):
        table.add_column(col, justify="left" if col == "camera" else "right")
    for r in seen.itertuples(index=False):
        table.add_row(r.camera_id, f"{r.distance_m:.1f}", f"{r.px_per_m:.0f}", str(r.dori), "yes" if r.masked else "NO")
    Console().print(table)
    Console().print(f"{len(seen)} of {len(answer)} cameras can see it; {int((~seen['masked'].astype(bool)).sum())} "
                    "without a mask over it.")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from .outputs.integrity import write_keypair

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError("exists and is not a folder", file=args.out, field="--out")
    try:
        priv, pub = write_keypair(Path(args.out) / "signing-key.pem", Path(args.out) / "signing-key.pub")
    except OSError as exc:
        raise InputError(f"cannot write the keys ({exc.strerror or exc})", file=args.out, field="--out") from None
    print(f"private key {priv} (mode 0600), public key {pub}")
    return 0


def trusted_key(path: Path, given: str | None, private: str | None = None) -> tuple[Any, str]:
    """The public key to verify ``path`` with, and where it comes from. Trusted: ``--public-key``, else
    a pinned key (``integrity.pinned_keys``, with the public half of ``private`` if given) whose id the
    file names. A ``signing-key.pub`` beside the files is never trusted on its own: whoever can change
    the files can change it too."""
    from .outputs.integrity import file_key_id, key_id, load_public_key, pinned_keys, trusted_keys_folder

    if given:
        pub = load_public_key(Path(given))
        return pub, f"{given} (given)"
    wanted = file_key_id(path)
    pinned = pinned_keys(private)
    for pub, source in pinned:
        if wanted is None or key_id(pub) == wanted:
            return pub, f"{source} (pinned)"
    beside = next((f / "signing-key.pub" for f in (path if path.is_dir() else path.parent, path.parent,
                                                   path.parent.parent) if (f / "signing-key.pub").is_file()), None)
    hint = f"; {beside} holds that key, but a key beside the files is not trusted on its own" if beside else ""
    raise InputError(f"signed with key {wanted or '?'}, which is not pinned{hint}: pass --public-key FILE to trust "
                     f"it, or copy it into {trusted_keys_folder()}", file=str(path))


def _verify(args: argparse.Namespace) -> int:
    from .outputs.integrity import IntegrityError, key_id, verify_log, verify_run

    path = Path(args.file)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    pub, source = trusted_key(path, args.public_key)
    trusted = f"trusted key {key_id(pub)}: {source}"
    try:
        if path.is_dir() and (path / "audit").is_dir() or path.is_dir() and (path / "masks").is_dir():
            n_plans, n_entries = verify_run(path, pub)
            print(f"intact: run {path}: {n_plans} signed plans, each the one its camera's export entry records, "
                  f"and an audit log of {n_entries} entries matching its signed head; {trusted}")
        elif path.is_dir() or path.suffix == ".jsonl":
            n = verify_log(path, pub)
            print(f"intact: audit log of {n} entries, hash chain, signatures and signed head verified; {trusted}")
        else:
            plan = _plan_file(path, pub)
            logged = path.resolve().parent.name == "masks" and (path.resolve().parent.parent / "audit").is_dir()
            what = "the plan its run's audit log last exported there" if logged else \
                "signature only: no run's audit log beside it to show it is the current plan"
            print(f"intact: mask plan of {plan.get('camera_id')} signed {plan['integrity']['timestamp']}, "
                  f"sha256 {plan['integrity']['sha256'][:16]}… ({what}); {trusted}")
    except IntegrityError as exc:
        print(f"TAMPERED: {path}: {exc}", file=sys.stderr)
        return 1
    return 0


def _plan_file(path: Path, pub: Any, exports: dict[str, dict[str, Any]] | None = None) -> Any:
    """A signed plan file, verified (signature, and bound to its file name and to its run's log;
    ``exports``: that log's ``last_exports``, already verified)."""
    import json

    from .outputs.integrity import IntegrityError, verify_plan_file

    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise IntegrityError(f"not a JSON mask plan ({str(exc)[:80]})", file=str(path)) from None
    verify_plan_file(path, plan, pub, exports=exports)
    return plan


def _device_plan(args: argparse.Namespace) -> tuple[dict[str, Any], bytes, Any, object]:
    """The verified plan, its ONVIF document (the one its run exported: the audit log's export entry
    holds its SHA-256), the run's audit log (opened with a signing key whose public key is the run's)
    and the device credentials; ``InputError`` otherwise, before anything is sent."""
    import hashlib

    from .device import Credentials, DeviceError, check_url
    from .outputs.integrity import AuditLog, IntegrityError, key_id, last_exports, read_entries, signing_key, verify_log

    path = Path(args.plan)
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        check_url(args.device)
    except DeviceError as exc:
        raise InputError(str(exc), field="--device") from None
    if (args.user is None) != (args.password_file is None):
        raise InputError("give both --user and --password-file, or neither (no authentication)",
                         field="--user" if args.user is None else "--password-file")
    pub, _ = trusted_key(path, args.public_key, args.key)
    key, _ = signing_key(args.key)
    if key_id(key.public_key()) != key_id(pub):
        raise InputError("refused: the signing key is not the run's (its audit entries would not verify); "
                         "pass the run's key with --key", field="--key")
    audit = path.parent.parent / "audit"
    try:
        verify_log(audit, pub)
    except IntegrityError as exc:
        raise InputError(f"refused: the run's audit log does not verify ({exc})", file=str(audit)) from None
    exports = last_exports(read_entries(audit))
    try:
        plan = _plan_file(path, pub, exports)  # the run's last export of this file, or refused
    except IntegrityError as exc:
        raise InputError(f"refused: the plan does not verify ({exc})", file=str(path)) from None
    doc_path = path.parent / "onvif" / f"{path.stem}.xml"
    if not doc_path.is_file():
        raise InputError("no ONVIF document beside the plan", file=str(doc_path))
    document = doc_path.read_bytes()
    if exports[f"masks/{path.name}"].get("onvif_sha256") != hashlib.sha256(document).hexdigest():
        raise InputError("refused: the ONVIF document is not the one the run last exported with this signed plan",
                         file=str(doc_path))
    password = None
    if args.password_file:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the password ({exc})", file=args.password_file) from None
        password = lines[0] if lines else ""
        if not password:
            raise InputError("the password file is empty", file=args.password_file)
    if args.user is not None and args.device.lower().startswith("http://"):
        print("warning: over plain http the password digest can be captured and replayed; prefer https",
              file=sys.stderr)
    return plan, document, AuditLog(audit, key), Credentials(args.user, password)


def _same_log_key(out: Path, key_path: str | None) -> None:
    """Refuse, before the work, a run whose signing key is not the one the folder's audit log is signed
    with (one log, one key: its entries would not verify together)."""
    from .outputs.integrity import HEAD, file_key_id, key_id, signing_key

    head = out / "audit" / HEAD
    if not head.is_file():
        return
    signer = file_key_id(out)
    if signer is None:
        raise InputError("the audit log's signed head cannot be read", file=str(head))
    mine = key_id(signing_key(key_path)[0].public_key())
    if signer != mine:
        raise InputError(f"the folder's audit log is signed with key {signer[:16]}, this run's key is {mine}: "
                         f"pass that key with --key, or choose another output folder", field="--key")


def _run_of_plan(path: Path) -> Path:
    """The run folder of a plan file ``RUN/masks/<camera>.json``; ``InputError`` before anything else
    (no lock is taken, nothing is made) when the file is missing or not in a run's ``masks/``."""
    from .outputs.publish import is_run_folder

    if not path.is_file():
        raise InputError("file not found", file=str(path))
    run = path.resolve().parent.parent
    if path.resolve().parent.name != "masks" or not (run / "audit").is_dir() or not is_run_folder(run):
        raise InputError("not a plan in a run's masks/ folder (beside its audit/ log): only a plan the run's log "
                         "records can be sent", file=str(path))
    return run


def _locking_run_of_plan(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` run holding the lock of its plan's run folder (no run replaces it meanwhile)."""
    def locked(args: argparse.Namespace) -> int:
        from .outputs.publish import folder_lock

        with folder_lock(_run_of_plan(Path(args.plan))):
            return command(args)

    return locked


@_locking_run_of_plan
def _deploy(args: argparse.Namespace) -> int:
    from .device import DeviceError, PartialDeploy, deploy

    plan, document, audit, creds = _device_plan(args)
    ids = [m["id"] for m in plan["masks"]]
    detail = {"device": args.device, "plan_sha256": plan["integrity"]["sha256"]}
    try:
        done = deploy(args.device, document, creds)  # type: ignore[arg-type]
    except PartialDeploy as exc:  # the device was changed: that is recorded too
        audit.record("deploy_failed", camera=plan["camera_id"], masks=ids, detail={**detail, **exc.done,
                                                                                   "error": str(exc)})
        raise InputError(f"not deployed: {exc}") from None
    except DeviceError as exc:
        raise InputError(f"not deployed: {exc}") from None
    audit.record("deploy", camera=plan["camera_id"], masks=ids, detail={**detail, **done})
    print(f"deployed {plan['camera_id']} to {args.device}: {len(done['created'])} masks created, "
          f"{done['deleted']} replaced, limits {'set' if done['limits_set'] else 'not in the plan'}")
    return 0


@_locking_run_of_plan
def _check_device(args: argparse.Namespace) -> int:
    from .device import DeviceError, check, planned

    plan, document, audit, creds = _device_plan(args)
    try:
        differences = check(args.device, document, creds)  # type: ignore[arg-type]
    except DeviceError as exc:
        raise InputError(f"not checked: {exc}") from None
    audit.record("check_device", camera=plan["camera_id"], masks=[m["id"] for m in plan["masks"]],
                 detail={"device": args.device, "plan_sha256": plan["integrity"]["sha256"],
                         "differences": differences})
    if differences:
        for d in differences:
            print(f"DIFFERS: {plan['camera_id']}: {d}", file=sys.stderr)
        return 1
    limits = "limits as planned" if planned(document)[1] is not None else "no limits in the plan"
    print(f"the device holds the plan of {plan['camera_id']}: {len(plan['masks'])} masks enabled, {limits}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    import json

    from .outputs.integrity import AuditLog, signing_key
    from .outputs.publish import MARKER, folder_lock

    out = Path(args.out)
    if not (out / "summary.json").is_file() or not ((out / "audit").is_dir() or (out / MARKER).exists()):
        raise InputError("not a run's output folder (no summary.json and audit log)", file=str(out))
    try:
        cameras = [c.get("id") for c in json.loads((out / "summary.json").read_text(encoding="utf-8"))["cameras"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise InputError("summary.json is not a run's summary", file=str(out / "summary.json")) from None
    if args.camera not in cameras:
        shown = ", ".join(map(str, cameras[:5])) + (", …" if len(cameras) > 5 else "")
        raise InputError(f"the run has no camera {args.camera[:60]!r} (it has {shown})", field="--camera")
    key, _ = signing_key(args.key)
    with folder_lock(out):
        e = AuditLog(out / "audit", key).record(args.action, camera=args.camera, masks=args.mask,
                                                user=args.user, detail={"reason": args.reason})
    print(f"recorded entry {e['seq']}: {e['action']} {e['camera']} by {e['user']} at {e['time']}")
    return 0


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


def entry() -> None:
    """The ``simulator`` command: ``main``, then an exit that skips tearing the interpreter down
    (freeing a city's millions of objects one by one: 0.3 s after Amadora's run). Every output is
    written, closed and published by then; only the standard streams are left to flush."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
