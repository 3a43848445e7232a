"""Integrity of mask plans and of the audit log (what the Amadora opinion asks: signed, time-stamped,
tamper-evident records of every mask change).

- Keys: Ed25519; the private key file is created with mode 0600.
- Plans: canonical JSON (sorted keys, no spaces, UTF-8) of ``{"plan", "timestamp", "scenario_sha256"}``
  is hashed (SHA-256) and signed; the plan file carries ``integrity`` with all of it.
- Audit log: JSON lines, each entry hash-chained to the previous one (``prev``) and signed; past
  ``max_bytes`` a new file is started and the chain continues across files.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import InputError

KEY_ENV = "SIMULATOR_SIGNING_KEY"
AuditAction = Literal["generate", "approve", "export", "publish", "disable_request", "enable", "deploy",
                      "deploy_failed", "check_device"]


class IntegrityError(InputError):
    """A plan or log failed verification."""


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------ keys


def write_keypair(private_path: Path, public_path: Path | None = None) -> tuple[Path, Path]:
    """Create an Ed25519 key pair: PEM private key (mode 0600, never overwritten) and PEM public key."""
    private_path = Path(private_path)
    public_path = Path(public_path) if public_path else private_path.with_suffix(".pub")
    private_path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError("a key already exists there; not overwritten", file=str(private_path)) from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    write_public_key(key.public_key(), public_path)
    return private_path, public_path


def write_public_key(pub: Ed25519PublicKey, path: Path) -> None:
    path.write_bytes(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read an Ed25519 private key ({exc})", file=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("not an Ed25519 private key", file=str(path))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read an Ed25519 public key ({exc})", file=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("not an Ed25519 public key", file=str(path))
    return key


def default_key_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "privacy-zone-simulator" / "signing-key.pem"


def signing_key(path: str | Path | None = None) -> tuple[Ed25519PrivateKey, Path]:
    """The key given, else ``$SIMULATOR_SIGNING_KEY``, else the per-user key (created on first use)."""
    chosen = Path(path) if path else (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else default_key_path())
    if not chosen.exists() and path is None and not os.environ.get(KEY_ENV):
        write_keypair(chosen)
    return load_private_key(chosen), chosen


def key_id(pub: Ed25519PublicKey) -> str:
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_hex(raw)[:16]


def trusted_keys_folder() -> Path:
    """Where the public keys (``*.pub``) a user has chosen to trust are kept."""
    return default_key_path().parent / "trusted"


def pinned_keys(private: str | Path | None = None) -> list[tuple[Ed25519PublicKey, str]]:
    """The public keys trusted without ``--public-key``: the half of ``private`` (a key the user signs
    with), of ``$SIMULATOR_SIGNING_KEY``, of the per-user signing key, and every ``*.pub`` in
    ``trusted_keys_folder()``; with where each comes from."""
    out: list[tuple[Ed25519PublicKey, str]] = []
    for src in (private, os.environ.get(KEY_ENV) or None, default_key_path()):
        if src and Path(src).is_file():
            out.append((load_private_key(Path(src)).public_key(), f"the public half of {src}"))
    folder = trusted_keys_folder()
    if folder.is_dir():
        out += [(load_public_key(f), str(f)) for f in sorted(folder.glob("*.pub"))]
    return out


def file_key_id(path: Path) -> str | None:
    """The id of the key a plan, log or run folder says it was signed with (None: it does not say)."""
    path = Path(path)
    try:
        if path.is_dir():
            head = path / "audit" / HEAD if (path / "audit").is_dir() else path / HEAD
            return str(json.loads(head.read_text(encoding="utf-8"))["public_key_id"]) if head.is_file() else None
        if path.suffix == ".jsonl":
            return str(json.loads((path.parent / HEAD).read_text(encoding="utf-8"))["public_key_id"])
        return str(json.loads(path.read_text(encoding="utf-8"))["integrity"]["public_key_id"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def safe_name(camera_id: str) -> str:
    """A file name for a camera id (OSM ids such as ``node/123`` contain slashes)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", camera_id)


# ------------------------------------------------------------------ plans


def sign_plan(plan: dict[str, Any], key: Ed25519PrivateKey, *, scenario_sha256: str,
              timestamp: str | None = None) -> dict[str, Any]:
    """The plan with an ``integrity`` block: sha256, timestamp, scenario digest, Ed25519 signature."""
    body = {k: v for k, v in plan.items() if k != "integrity"}
    ts = timestamp or now_iso()
    message = canonical({"plan": body, "timestamp": ts, "scenario_sha256": scenario_sha256})
    return {**body, "integrity": {
        "algorithm": "Ed25519", "sha256": sha256_hex(message), "timestamp": ts, "scenario_sha256": scenario_sha256,
        "public_key_id": key_id(key.public_key()), "signature": base64.b64encode(key.sign(message)).decode()}}


# every key of a plan's integrity block (``sign_plan`` writes them all; the signature covers the plan,
# the timestamp and the scenario's digest, and the others are checked against the key and the content)
INTEGRITY_KEYS = ("algorithm", "sha256", "timestamp", "scenario_sha256", "public_key_id", "signature")


def verify_plan(plan: dict[str, Any], pub: Ed25519PublicKey) -> None:
    """Raise ``IntegrityError`` unless the plan is exactly the one that was signed."""
    integ = plan.get("integrity")
    if not isinstance(integ, dict):
        raise IntegrityError("no integrity block: the plan is not signed", field="integrity")
    body = {k: v for k, v in plan.items() if k != "integrity"}
    missing = [k for k in INTEGRITY_KEYS if k not in integ]
    if missing:
        raise IntegrityError(f"integrity block lacks {', '.join(missing)}", field="integrity")
    unknown = sorted(set(integ) - set(INTEGRITY_KEYS), key=str)
    if unknown:
        raise IntegrityError(f"integrity block holds unknown keys ({_short(unknown)}): it was changed",
                             field="integrity")
    if integ["algorithm"] != "Ed25519":
        raise IntegrityError(f"unknown signature algorithm {_short(integ['algorithm'])}", field="integrity.algorithm")
    if integ["public_key_id"] != key_id(pub):
        raise IntegrityError(f"signed by key {_short(integ['public_key_id'])}: the signature does not verify with "
                             f"this public key ({key_id(pub)})", field="integrity.public_key_id")
    try:
        message = canonical({"plan": body, "timestamp": integ["timestamp"],
                             "scenario_sha256": integ["scenario_sha256"]})
    except (ValueError, TypeError, RecursionError):  # a lone surrogate, a value JSON cannot hold
        raise IntegrityError("the plan holds text that cannot be encoded: it was changed", field="camera_id") from None
    if sha256_hex(message) != integ["sha256"]:
        raise IntegrityError("content does not match its SHA-256: the plan was changed", field="integrity.sha256")
    try:
        pub.verify(base64.b64decode(str(integ["signature"])), message)
    except (InvalidSignature, ValueError):
        raise IntegrityError("signature does not verify with this public key", field="integrity.signature") from None


# ------------------------------------------------------------------ audit log

HEAD = "head.json"  # the audit log's signed head, beside its entries


class AuditLog:
    """Append-only, hash-chained, signed JSON-lines log in ``folder`` (``audit-000001.jsonl``, ...)."""

    def __init__(self, folder: Path, key: Ed25519PrivateKey, *, max_bytes: int = 1_000_000) -> None:
        self.folder = Path(folder)
        self.key = key
        self.max_bytes = max_bytes
        self.folder.mkdir(parents=True, exist_ok=True)

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("audit-*.jsonl"))

    def _last(self) -> tuple[int, str, Path | None]:
        files = self.files()
        for f in reversed(files):
            lines = [ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if lines:
                e = json.loads(lines[-1])
                return int(e["seq"]), str(e["hash"]), f
        return 0, "0" * 64, files[-1] if files else None

    def record(self, action: AuditAction, *, camera: str | None = None, masks: list[str] | None = None,
               user: str | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one signed entry (and rewrite the signed head); returns it."""
        return self.record_many([{"action": action, "camera": camera, "masks": masks, "user": user,
                                  "detail": detail}])[0]

    def record_many(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append several signed entries (each a mapping of ``record``'s arguments), flushed to disk once,
        and then rewrite the signed head once; returns them."""
        if not items:
            return []
        seq, prev, current = self._last()
        head = self.folder / HEAD
        if head.is_file():  # never continue a log shorter than its own signed head, nor with another key
            try:
                data = json.loads(head.read_text(encoding="utf-8"))
                counted, signer = int(data["count"]), data.get("public_key_id")
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
                raise IntegrityError("the signed head cannot be read; not appending", file=str(head)) from None
            if seq < counted:
                raise IntegrityError(f"the log holds {seq} entries but its signed head counts {counted}; not "
                                     f"appending to a log that was cut short", file=str(self.folder))
            if signer != key_id(self.key.public_key()):
                raise IntegrityError(f"the log is signed with key {str(signer)[:16]}, not with this signing key "
                                     f"{key_id(self.key.public_key())}: one log, one key (pass that key with --key)",
                                     file=str(self.folder))
        out: list[dict[str, Any]] = []
        pending: dict[Path, list[str]] = {}
        size = current.stat().st_size if current is not None else 0
        n_files = len(self.files())
        for it in items:
            entry: dict[str, Any] = {"seq": seq + 1, "time": now_iso(), "user": it.get("user") or getpass.getuser(),
                                     "action": it["action"], "camera": it.get("camera"), "masks": it.get("masks") or [],
                                     "detail": it.get("detail") or {}, "prev": prev}
            body = canonical(entry)
            entry["hash"] = sha256_hex(body)
            entry["signature"] = base64.b64encode(self.key.sign(body)).decode()
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
            if current is None or size + len(line.encode()) > self.max_bytes:
                n_files += 1
                current, size = self.folder / f"audit-{n_files:06d}.jsonl", 0
            pending.setdefault(current, []).append(line)
            size += len(line.encode())
            seq, prev = entry["seq"], entry["hash"]
            out.append(entry)
        for path, lines in pending.items():
            with open(path, "a", encoding="utf-8") as f:  # append-only
                f.write("".join(lines))
                f.flush()
                os.fsync(f.fileno())
        assert current is not None
        self._write_head(seq, prev, current.name)
        return out

    def _write_head(self, count: int, last_hash: str, last_file: str) -> None:
        """The signed head (``head.json``): the number of entries and the last one's hash, replaced
        atomically after each append, so that a log cut short or emptied no longer matches it."""
        head: dict[str, Any] = {"count": count, "last_hash": last_hash, "last_file": last_file, "time": now_iso(),
                                "public_key_id": key_id(self.key.public_key())}
        head["signature"] = base64.b64encode(self.key.sign(canonical(head))).decode()
        tmp = self.folder / f".head.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(head, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / HEAD)


def verify_log(path: Path, pub: Ed25519PublicKey) -> int:
    """Verify an audit log folder: every entry (hash chain, sequence, signatures) and the signed head
    (``head.json``: the count and the last hash), so that a log cut short, emptied or with entries
    removed at its end is caught, as is one entry changed anywhere. Given one ``audit-*.jsonl`` file,
    its folder is verified. Returns the number of entries; raises ``IntegrityError`` naming the file
    and entry at fault. (What no log can show alone: the whole folder replaced by an older copy, head
    and all; keep the head's count elsewhere too, say in the report or an approval, to rule that out.)"""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    files = sorted(folder.glob("audit-*.jsonl"))
    head = _read_head(folder, pub)
    if not files:
        raise IntegrityError(f"no audit-*.jsonl files, but the signed head counts {head['count']} entries",
                             file=str(folder))
    prev, seq = "0" * 64, 0
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise IntegrityError(f"not UTF-8 text (byte {exc.start})", file=str(f)) from None
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"line {n}"
            try:
                e = json.loads(line)
                if not isinstance(e, dict):
                    raise TypeError
                body = {k: v for k, v in e.items() if k not in ("hash", "signature")}
                msg = canonical(body)
            except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
                raise IntegrityError(f"{where}: not a JSON entry", file=str(f)) from None
            if e.get("seq") != seq + 1:
                raise IntegrityError(f"{where}: sequence {_short(e.get('seq'))} follows {seq}: entries missing or "
                                     f"reordered", file=str(f))
            if e.get("prev") != prev:
                raise IntegrityError(f"{where}: does not chain to the previous entry", file=str(f))
            if sha256_hex(msg) != e.get("hash"):
                raise IntegrityError(f"{where}: content does not match its hash: the entry was changed", file=str(f))
            sig = e.get("signature")
            try:
                if not isinstance(sig, str):
                    raise ValueError
                pub.verify(base64.b64decode(sig, validate=True), msg)
            except (InvalidSignature, ValueError):
                raise IntegrityError(f"{where}: signature does not verify", file=str(f)) from None
            prev, seq = e["hash"], e["seq"]
            if seq == head["count"] and prev != head["last_hash"]:
                raise IntegrityError(f"entry {seq} is not the one the signed head records: the log was rewritten",
                                     file=str(f))
    # the head is a signed checkpoint: the log must reach it (entries after it are signed too: an append
    # interrupted before the head was rewritten)
    if seq < head["count"]:
        raise IntegrityError(f"the log holds {seq} entries but its signed head counts {head['count']}: entries "
                             f"were removed or the log was cut short", file=str(folder))
    return seq


def _read_head(folder: Path, pub: Ed25519PublicKey) -> dict[str, Any]:
    p = folder / HEAD
    if not p.is_file():
        raise IntegrityError(f"no signed head ({HEAD}): a log cut short could not be told from a whole one",
                             file=str(folder))
    try:
        head = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(head, dict):
            raise TypeError
        body = {k: v for k, v in head.items() if k != "signature"}
        sig = head.get("signature")
        if not isinstance(sig, str) or not isinstance(head.get("count"), int):
            raise ValueError
        pub.verify(base64.b64decode(sig, validate=True), canonical(body))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError, InvalidSignature,
            RecursionError):
        raise IntegrityError("the signed head does not verify", file=str(p)) from None
    return head


def _short(value: Any, n: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------ runs


def plan_file_name(plan: dict[str, Any]) -> str:
    """The file name a run gives a plan: its camera's (made file-safe), ``.proposed`` for the plan made
    for proposed limits."""
    proposed = ".proposed" if plan.get("proposed_limits") is True else ""
    return f"{safe_name(str(plan.get('camera_id')))}{proposed}.json"


def verify_plan_file(path: Path, plan: Any, pub: Ed25519PublicKey, *,
                     exports: dict[str, dict[str, Any]] | None = None) -> None:
    """A plan file as a run wrote it: signed (``verify_plan``), under its own camera's name (so a plan
    copied over another camera's is caught), and, in a run's ``masks/`` folder, the very plan the run's
    audit log last recorded exporting to that file. ``exports``: ``last_exports`` of that log, already
    verified; None: the log is verified and read here."""
    path = Path(path)
    if not isinstance(plan, dict):
        raise IntegrityError("not a JSON mask plan", file=str(path))
    try:
        verify_plan(plan, pub)
    except IntegrityError as exc:
        raise IntegrityError(str(exc), file=str(path)) from None
    if path.name != plan_file_name(plan):
        raise IntegrityError(f"this is the plan of camera {_short(plan.get('camera_id'))}, whose file is "
                             f"{plan_file_name(plan)}: it was moved or copied over another camera's plan",
                             file=str(path), field="camera_id")
    audit = path.parent.parent / "audit"
    if path.parent.name != "masks" or not audit.is_dir():
        return
    if exports is None:
        verify_log(audit, pub)
        exports = last_exports(read_entries(audit))
    exported = exports.get(f"masks/{path.name}")
    if exported is None:
        raise IntegrityError("the run's audit log records no export of this file", file=str(path))
    if exported.get("plan_sha256") != plan["integrity"]["sha256"]:
        raise IntegrityError("not the plan the run's audit log last recorded exporting to this file",
                             file=str(path))


def verify_run(folder: Path, pub: Ed25519PublicKey) -> tuple[int, int]:
    """A run's output folder: its audit log (``verify_log``) and every signed plan in ``masks/``
    (``verify_plan_file``). Returns (plans, log entries)."""
    folder = Path(folder)
    n = verify_log(folder / "audit", pub)
    entries = read_entries(folder / "audit")
    exports = last_exports(entries)
    plans = sorted((folder / "masks").glob("*.json"))
    for p in plans:
        try:
            plan = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise IntegrityError(f"not a JSON mask plan ({str(exc)[:80]})", file=str(p)) from None
        verify_plan_file(p, plan, pub, exports=exports)
    published = [e for e in entries if e.get("action") == "publish"]
    if published:  # the run's last publication names every plan and ONVIF document it published
        files = published[-1].get("detail", {}).get("files", {})
        have = {f"masks/{p.name}" for p in plans}
        missing, extra = sorted(set(files) - have), sorted(have - set(files))
        if missing or extra:
            raise IntegrityError(("plans missing: " + ", ".join(missing[:3]) if missing else "") +
                                 ("; " if missing and extra else "") +
                                 ("plans the last publication does not name: " + ", ".join(extra[:3]) if extra else ""),
                                 file=str(folder / "masks"))
        for want in files.values():
            doc = folder / str(want.get("onvif", ""))
            if not doc.is_file() or sha256_hex(doc.read_bytes()) != want.get("onvif_sha256"):
                raise IntegrityError("not the ONVIF document the run published with its plan", file=str(doc))
    return len(plans), n


def last_exports(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each file an audit log records exporting (``masks/<name>.json``), the detail of the last
    entry that exported it (its plan's and ONVIF document's SHA-256)."""
    out: dict[str, dict[str, Any]] = {}
    for e in entries:
        d = e.get("detail")
        if e.get("action") == "export" and isinstance(d, dict) and isinstance(d.get("file"), str):
            out[d["file"]] = d
    return out


def read_entries(folder: Path) -> list[dict[str, Any]]:
    """The entries of an audit log folder, in order (verify it first: ``verify_log``)."""
    return [json.loads(ln) for f in sorted(folder.glob("audit-*.jsonl"))
            for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
