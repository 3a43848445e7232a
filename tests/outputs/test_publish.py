"""A run's outputs as evidence: publishing is one transaction (killed at each step of publishing, or
mid-run, the folder holds the previous run or the new one, whole, and no staging survives the next
run), a second run on the same folder is refused, and ``simulator verify`` catches tampering: a log
cut short or emptied, its last entry removed, a plan copied over another camera's, a key swapped
beside the files, and random one-byte changes and truncations of plans and logs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import cli
from simulator.outputs.publish import KILL_ENV, KILL_POINTS
from tests.scenes import PTZ, building, window_south, write_scenario

ROOT = Path(__file__).resolve().parents[2]


def _scenario(tmp: Path, name: str = "s", x: float = 0.0) -> Path:
    blds = [building("N", -6, 15, 6, 23, 6.0)]
    cams = [{"id": "a", **PTZ, "x": x, "y": 0.0, "mount_height_m": 3.0},
            {"id": "b", **PTZ, "x": x + 3.0, "y": 0.0, "mount_height_m": 3.0}]
    return write_scenario(tmp / name, buildings=blds, cameras=cams,
                          openings=[window_south("wn", "N", 15.0, -3.0, 3.0, 1.0, 2.4)])


def _run(scenario: Path, out: Path, key: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(scenario), "--out", str(out),
                           "--key", str(key)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _verify(out: Path, key: Path) -> tuple[int, str]:
    r = subprocess.run([sys.executable, "-m", "simulator.cli", "verify", str(out), "--public-key",
                        str(key.with_suffix(".pub"))], cwd=ROOT, capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    assert cli.main(["keys", "--out", str(folder)]) == 0
    return folder / "signing-key.pem"


@pytest.fixture(scope="module")
def previous(tmp_path_factory, key) -> tuple[Path, Path, dict[str, bytes]]:
    """A finished run (scenario a), and a second scenario (b, other camera positions) to run over it."""
    tmp = tmp_path_factory.mktemp("prev")
    first, second = _scenario(tmp, "one"), _scenario(tmp, "two", x=1.0)
    out = tmp / "out"
    assert _run(first, out, key).returncode == 0
    return out, second, _snapshot(out)


@pytest.mark.parametrize("step", [s for s in KILL_POINTS if s != "aside"])  # "aside": the next test
def test_a_run_killed_at_each_step_of_publishing_leaves_the_old_or_the_new_run_whole(step, previous, key, tmp_path):
    out0, second, before = previous
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    r = _run(second, out, key, **{KILL_ENV: step})
    assert r.returncode == -signal.SIGKILL, r.stderr
    after = _snapshot(out) if out.exists() else {}
    staging = sorted(p.name for p in tmp_path.iterdir() if ".staging-" in p.name or p.name.endswith(".previous"))
    if step in ("staged", "before-swap"):
        assert after == before  # nothing published: the previous run, byte for byte
    else:  # published: the new run whole, its log recording exactly what was published
        assert after != before and set(before) <= set(after) | {"report.pdf"}
        assert _verify(out, key)[0] == 0
    if step in ("swapped",):
        assert staging  # the previous folder is still beside it, to be removed by the next run
    # the next run cleans up whatever the kill left, and publishes
    assert _run(second, out, key).returncode == 0
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or p.name.endswith(".previous")]
    code, text = _verify(out, key)
    assert code == 0, text
    # the log records each publication once: the first run's and the last run's, plus the one published
    # before the kill when the kill came after the swap
    log = [json.loads(ln) for f in sorted((out / "audit").glob("audit-*.jsonl")) for ln in f.read_text().splitlines()]
    runs = len([e for e in log if e["action"] == "generate" and e["camera"] == "a"])
    assert runs == (3 if step in ("swapped", "cleaned") else 2)


def test_the_aside_kill_is_undone_by_the_next_run(previous, key, tmp_path):
    """Without RENAME_EXCHANGE the previous folder is renamed aside first; killed there (the state
    made here by hand), the output folder is missing, and the next publication on it puts the
    previous one back before anything else."""
    from simulator.outputs import publish

    out0, second, before = previous
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    aside = tmp_path / ".out.previous"
    os.rename(out, aside)  # the state a kill at "aside" leaves
    with publish.Publication(out) as pub:
        assert out.exists() and not aside.exists()
        assert _snapshot(out) == before
        assert pub.stage.parent == tmp_path
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_a_run_killed_mid_analysis_leaves_no_staging_after_the_next_run(previous, key, tmp_path):
    out0, second, before = previous
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", "run", str(ROOT / "scenarios" / "tutorial.yaml"),
                             "--out", str(out), "--key", str(key)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.staging-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    # killed while it writes its staging folder (at once: the tutorial's outputs take about a second)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _snapshot(out) == before
    assert not list(out.glob(".staging-*"))  # nothing inside the output folder, ever
    assert _run(second, out, key).returncode == 0
    assert not list(tmp_path.glob(".out.staging-*"))


def test_a_second_run_on_the_same_folder_is_refused(previous, key, tmp_path):
    from simulator.outputs.publish import folder_lock

    out = tmp_path / "out"
    shutil.copytree(previous[0], out)
    with folder_lock(out):
        r = _run(previous[1], out, key)
        assert r.returncode == 2 and "another run or command is writing to this output folder" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        r = subprocess.run([sys.executable, "-m", "simulator.cli", "audit", str(out), "approve", "--camera", "a",
                            "--key", str(key)], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 2 and "another run" in r.stderr


def test_bad_output_folders_are_refused_with_one_line(previous, key, tmp_path, capsys):
    scenario = previous[1]
    (tmp_path / "file").write_text("x")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine")
    for out, words in (("", "empty output folder name"), (str(tmp_path / "file"), "is not a folder"),
                       (str(tmp_path / "home"), "holds other files"), ("/proc/pzs", "cannot")):
        capsys.readouterr()
        assert cli.main(["run", str(scenario), "--out", out, "--key", str(key)]) == 2, out
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], (out, err)
    assert (tmp_path / "home" / "notes.txt").read_text() == "mine"
    assert cli.main(["keys", "--out", str(tmp_path / "file")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert cli.main(["audit", str(tmp_path / "home"), "approve", "--camera", "a"]) == 2
    assert "not a run's output folder" in capsys.readouterr().err
    assert cli.main(["audit", str(previous[0]), "approve", "--camera", "zz", "--key", str(key)]) == 2
    assert "the run has no camera 'zz' (it has a, b)" in capsys.readouterr().err


@pytest.fixture
def run_copy(previous, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(previous[0], out)
    return out


def _log(out: Path) -> Path:
    (f,) = sorted((out / "audit").glob("audit-*.jsonl"))
    return f


def test_verify_catches_what_it_used_to_report_intact(run_copy, key, tmp_path):
    out = run_copy
    assert _verify(out, key)[0] == 0
    log = _log(out)
    text = log.read_text()
    log.write_text("".join(text.splitlines(keepends=True)[:-1]))  # the last entry removed
    code, msg = _verify(out, key)
    assert code == 1 and "signed head counts" in msg
    log.write_text("")  # emptied
    assert _verify(out, key)[0] == 1
    log.write_text(text)
    (out / "audit" / "head.json").unlink()  # head removed with it
    code, msg = _verify(out, key)
    assert code == 1 and "no signed head" in msg


def test_a_plan_copied_over_another_cameras_is_caught(run_copy, key):
    out = run_copy
    shutil.copy(out / "masks" / "b.json", out / "masks" / "a.json")
    code, msg = _verify(out / "masks" / "a.json", key)
    assert code == 1 and "this is the plan of camera 'b'" in msg
    assert _verify(out, key)[0] == 1


def test_a_key_swapped_beside_the_files_is_not_trusted(run_copy, key, tmp_path):
    """Re-signed with another key and that key's signing-key.pub put beside the files: without
    --public-key nothing is trusted but a pinned key, and the swapped key is not one."""
    from simulator.outputs.integrity import load_private_key, sign_plan, write_keypair, write_public_key

    out = run_copy
    other, other_pub = write_keypair(tmp_path / "k" / "evil.pem")
    plan = json.loads((out / "masks" / "a.json").read_text())
    forged = sign_plan({k: v for k, v in plan.items() if k != "integrity"} | {"reasons": ["forged"]},
                       load_private_key(other), scenario_sha256=plan["integrity"]["scenario_sha256"])
    (out / "masks" / "a.json").write_text(json.dumps(forged))
    write_public_key(load_private_key(other).public_key(), out / "signing-key.pub")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    r = subprocess.run([sys.executable, "-m", "simulator.cli", "verify", str(out / "masks" / "a.json")], cwd=ROOT,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "not pinned" in r.stderr and "not trusted on its own" in r.stderr
    code, msg = _verify(out / "masks" / "a.json", key)  # the run's real key, given: the forgery fails
    assert code == 1 and "does not verify" in msg
    # the key the user pins is trusted, and verify says so
    (tmp_path / "cfg" / "privacy-zone-simulator" / "trusted").mkdir(parents=True)
    shutil.copy(key.with_suffix(".pub"), tmp_path / "cfg" / "privacy-zone-simulator" / "trusted" / "city.pub")
    r = subprocess.run([sys.executable, "-m", "simulator.cli", "verify", str(out / "audit")], cwd=ROOT,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "trusted key" in r.stdout and "city.pub (pinned)" in r.stdout


def test_verify_refuses_broken_files_with_one_line(run_copy, key, tmp_path, capsys):
    out = run_copy
    pub = str(key.with_suffix(".pub"))
    bad = tmp_path / "list.json"
    bad.write_text("[1, 2]")
    capsys.readouterr()
    assert cli.main(["verify", str(bad), "--public-key", pub]) == 1
    assert "not a JSON mask plan" in capsys.readouterr().err
    log = _log(out)
    lines = log.read_text().splitlines()
    e = json.loads(lines[0])
    e["signature"] = 12345
    log.write_text("\n".join([json.dumps(e), *lines[1:]]) + "\n")
    assert cli.main(["verify", str(out / "audit"), "--public-key", pub]) == 1
    assert "line 1" in capsys.readouterr().err
    log.write_bytes(b"\xff\xfe" + log.read_bytes())
    assert cli.main(["verify", str(out / "audit"), "--public-key", pub]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not UTF-8" in err[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_one_byte_changes_and_truncations_are_caught(previous, key, data):
    """Any one byte of a plan or of the log changed (to any other value), or either cut short at any
    length: verify never reports intact. (Whitespace between JSON tokens carries no meaning, so a
    change there that leaves the same JSON is not a change of the record; such draws are skipped.)"""
    from simulator.cli import trusted_key
    from simulator.outputs.integrity import IntegrityError, verify_run

    out0 = previous[0]
    pub, _ = trusted_key(out0, str(key.with_suffix(".pub")))
    files = [out0 / "masks" / "a.json", _log(out0), out0 / "audit" / "head.json"]
    target = data.draw(st.sampled_from(files))
    raw = target.read_bytes()
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(raw) - 1))
        b = data.draw(st.integers(0, 255).filter(lambda v: v != raw[i]))
        changed = raw[:i] + bytes([b]) + raw[i + 1:]
    else:
        changed = raw[:data.draw(st.integers(0, len(raw) - 1))]
    if _same_records(raw, changed):
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        shutil.copytree(out0, out)
        (out / target.relative_to(out0)).write_bytes(changed)
        with pytest.raises(IntegrityError):
            verify_run(out, pub)


def _same_records(a: bytes, b: bytes) -> bool:
    """Whether two versions of a file hold the same JSON records (line by line)."""
    try:
        la = [json.loads(x) for x in a.decode().splitlines() if x.strip()]
        lb = [json.loads(x) for x in b.decode().splitlines() if x.strip()]
    except (ValueError, UnicodeDecodeError):
        try:
            return json.loads(a) == json.loads(b)
        except (ValueError, UnicodeDecodeError):
            return False
    return la == lb


def test_a_yaml_alias_bomb_is_refused_at_once_with_a_short_line(tmp_path, capsys):
    """Nine levels of nine aliases (9**9 values expanded) under ``name:``: refused before any work,
    in one short line; so is a scenario without ``name`` (no dump of the scenario), and a file too big."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\nname: *a9\ncrs: EPSG:32629\n")
    t0 = time.perf_counter()
    assert cli.main(["run", str(bomb), "--out", str(tmp_path / "o")]) == 2
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "aliases" in err[0] and len(err[0]) < 300
    few = tmp_path / "few.yaml"  # few aliases, but each a large expansion
    few.write_text("a: &a [" + ",".join(["1"] * 1000) + "]\nb: &b [" + ",".join(["*a"] * 90) + "]\n"
                   "c: [" + ",".join(["*b"] * 9) + "]\nname: x\n")
    assert cli.main(["run", str(few), "--out", str(tmp_path / "o")]) == 2
    assert "once its aliases are expanded" in capsys.readouterr().err
    scenario = yaml_without_name = tmp_path / "noname.yaml"
    yaml_without_name.write_text("crs: EPSG:32629\nbuildings: {path: b.geojson}\ncameras: []\n" + "# pad\n" * 50)
    assert cli.main(["run", str(scenario), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "name" in err[0] and "required key is missing" in err[0] and len(err[0]) < 200
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "# " + "x" * (5 << 20) + "\n")
    assert cli.main(["run", str(big), "--out", str(tmp_path / "o")]) == 2
    assert "more than a scenario's" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_append_interrupted_before_its_head_still_verifies_and_a_cut_log_is_not_continued(run_copy, key):
    """The head is a signed checkpoint: a log that goes past it (an append killed before the head was
    rewritten: every entry is signed) verifies; a log cut below it is refused, and nothing is appended
    to it."""
    from simulator.outputs.integrity import HEAD, AuditLog, IntegrityError, load_private_key

    out = run_copy
    head = (out / "audit" / HEAD).read_bytes()
    AuditLog(out / "audit", load_private_key(key)).record("approve", camera="a")
    (out / "audit" / HEAD).write_bytes(head)  # as if killed between the append and the head
    code, msg = _verify(out / "audit", key)
    assert code == 0, msg
    log = _log(out)
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-2]))  # now below the head
    assert _verify(out / "audit", key)[0] == 1
    with pytest.raises(IntegrityError, match="not appending"):
        AuditLog(out / "audit", load_private_key(key)).record("approve", camera="a")


def test_review_findings_on_folders(previous, key, tmp_path, monkeypatch, capsys):
    """A mount point, a symlinked audit log, a run from inside the folder, a folder of dotfiles only, the
    mode of the published folder, and staging folders of other output folders left alone."""
    from simulator.outputs.publish import Publication, check_out

    with pytest.raises(Exception, match="is a mount point"):
        check_out("/proc")
    (tmp_path / "dots").mkdir()
    (tmp_path / "dots" / ".gitkeep").write_text("")
    assert check_out(tmp_path / "dots") == tmp_path / "dots"
    out = tmp_path / "out"
    shutil.copytree(previous[0], out)
    monkeypatch.chdir(out / "masks")
    with pytest.raises(Exception, match="holds the current folder"):
        check_out(out)
    monkeypatch.chdir(tmp_path)
    os.chmod(out, 0o750)
    other = tmp_path / ".r1.staging-abcdefgh"  # the staging of a folder named r1, not of r[1]
    other.mkdir()
    with Publication(tmp_path / "r[1]") as pub:
        pub.publish()
    assert other.exists()
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "r[1]").stat().st_mode & 0o777 == 0o777 & ~umask
    with Publication(out) as pub:
        pub.publish()
    assert out.stat().st_mode & 0o777 == 0o750
    victim = tmp_path / "victim.jsonl"
    victim.write_text("")
    (out / "audit" / "audit-000009.jsonl").symlink_to(victim)
    with pytest.raises(Exception, match="symbolic link"):
        Publication(out)
    assert not list(tmp_path.glob(".out.staging-*"))


def test_review_findings_on_verify_and_deploy(previous, key, tmp_path, capsys):
    """A plan superseded by a later run is no longer intact in its folder, and outside a run's masks/
    it is reported as signature only and cannot be deployed; a plan or ONVIF document removed or
    changed is caught from the last publication; hostile JSON gives one line; another key is refused
    before the work."""
    out0, second, _ = previous
    out = tmp_path / "out"
    shutil.copytree(out0, out)
    old = (out / "masks" / "a.json").read_bytes()
    assert _run(second, out, key).returncode == 0  # a second run: camera a's plan changes
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.json").write_bytes(old)
    code, text = _verify(tmp_path / "elsewhere" / "a.json", key)
    assert code == 0 and "signature only" in text
    assert cli.main(["deploy", str(tmp_path / "elsewhere" / "a.json"), "--device", "http://127.0.0.1:9/x"]) == 2
    assert "not a plan in a run's masks/ folder" in capsys.readouterr().err
    assert not (tmp_path / ".elsewhere.lock").exists() and not (Path("/") / "..lock").exists()
    saved = (out / "masks" / "a.json").read_bytes()
    (out / "masks" / "a.json").write_bytes(old)
    code, text = _verify(out, key)
    assert code == 1 and "last recorded exporting" in text
    (out / "masks" / "a.json").write_bytes(saved)
    doc = out / "masks" / "onvif" / "a.xml"
    doc.write_bytes(doc.read_bytes().replace(b"<", b" <", 1))
    code, text = _verify(out, key)
    assert code == 1 and "not the ONVIF document" in text
    (out / "masks" / "b.json").unlink()
    code, text = _verify(out, key)
    assert code == 1 and "plans missing: masks/b.json" in text
    pub = str(key.with_suffix(".pub"))
    head = out / "audit" / "head.json"
    head.write_text("[" * 100_000 + "]" * 100_000)
    capsys.readouterr()
    assert cli.main(["verify", str(out / "audit"), "--public-key", pub]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    plan = tmp_path / "p" / "masks" / "a.json"
    plan.parent.mkdir(parents=True)
    plan.write_text('{"camera_id": "\\ud800", "integrity": {"timestamp": 1, "scenario_sha256": 1, "sha256": 1, '
                    '"signature": 1}}')
    assert cli.main(["verify", str(plan), "--public-key", pub]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    fresh = tmp_path / "fresh"
    shutil.copytree(out0, fresh)
    other = tmp_path / "k2"
    assert cli.main(["keys", "--out", str(other)]) == 0
    r = _run(second, fresh, other / "signing-key.pem")
    assert r.returncode == 2 and "audit log is signed with key" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_many_aliases_of_a_small_anchor_are_a_valid_scenario(tmp_path):
    from simulator.scenario import load_scenario

    sc = tmp_path / "s.yaml"
    sc.write_text("name: x\nlens: &l [60.0, 2.0]\ncameras:\n" + "".join(
        f"  - {{id: c{i}, kind: ptz, resolution_px: [1920, 1080], hfov_deg: *l, x: 0, y: {i}}}\n" for i in range(150)))
    with pytest.raises(Exception, match="unknown key"):  # 150 aliases parse; 'lens' is no scenario key
        load_scenario(sc)


def test_every_key_of_the_integrity_block_is_checked(run_copy, key):
    """The fields the signature does not cover are checked too: a renamed, added or changed
    ``public_key_id`` or ``algorithm`` is caught (a one-byte change once found unnoticed)."""
    from simulator.outputs.integrity import IntegrityError, load_public_key, verify_plan

    plan = json.loads((run_copy / "masks" / "a.json").read_text())
    pub = load_public_key(key.with_suffix(".pub"))
    verify_plan(plan, pub)
    integ = plan["integrity"]
    for changed in ({k if k != "public_key_id" else " ublic_key_id": v for k, v in integ.items()},
                    integ | {"extra": 1}, integ | {"algorithm": "Ed448"}, integ | {"public_key_id": "0" * 16}):
        with pytest.raises(IntegrityError):
            verify_plan(plan | {"integrity": changed}, pub)
