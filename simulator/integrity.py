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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import InputError

KEY_ENV = "SIMULATOR_SIGNING_KEY"
AuditAction = Literal["generate", "approve", "export", "disable_request", "enable", "deploy", "deploy_failed",
                      "check_device"]


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


def verify_plan(plan: dict[str, Any], pub: Ed25519PublicKey) -> None:
    """Raise ``IntegrityError`` unless the plan is exactly the one that was signed."""
    integ = plan.get("integrity")
    if not isinstance(integ, dict):
        raise IntegrityError("no integrity block: the plan is not signed", field="integrity")
    body = {k: v for k, v in plan.items() if k != "integrity"}
    missing = [k for k in ("timestamp", "scenario_sha256", "sha256", "signature") if k not in integ]
    if missing:
        raise IntegrityError(f"integrity block lacks {', '.join(missing)}", field="integrity")
    message = canonical({"plan": body, "timestamp": integ["timestamp"], "scenario_sha256": integ["scenario_sha256"]})
    if sha256_hex(message) != integ["sha256"]:
        raise IntegrityError("content does not match its SHA-256: the plan was changed", field="integrity.sha256")
    try:
        pub.verify(base64.b64decode(str(integ["signature"])), message)
    except (InvalidSignature, ValueError):
        raise IntegrityError("signature does not verify with this public key", field="integrity.signature") from None


# ------------------------------------------------------------------ audit log


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
        seq, prev, current = self._last()
        entry: dict[str, Any] = {"seq": seq + 1, "time": now_iso(), "user": user or getpass.getuser(),
                                 "action": action, "camera": camera, "masks": masks or [], "detail": detail or {},
                                 "prev": prev}
        body = canonical(entry)
        entry["hash"] = sha256_hex(body)
        entry["signature"] = base64.b64encode(self.key.sign(body)).decode()
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        if current is None or current.stat().st_size + len(line.encode()) > self.max_bytes:
            current = self.folder / f"audit-{len(self.files()) + 1:06d}.jsonl"
        with open(current, "a", encoding="utf-8") as f:  # append-only
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return entry


def verify_log(path: Path, pub: Ed25519PublicKey) -> int:
    """Verify an audit log (a file: the series it belongs to, up to and including it; or a folder: all of
    it). Returns the number of entries; raises ``IntegrityError`` naming the file and entry at fault."""
    path = Path(path)
    files = sorted(path.glob("audit-*.jsonl")) if path.is_dir() else \
        [f for f in sorted(path.parent.glob("audit-*.jsonl")) if f.name <= path.name]
    if not files:
        raise IntegrityError("no audit-*.jsonl files", file=str(path))
    prev, seq = "0" * 64, 0
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"line {n}"
            try:
                e = json.loads(line)
                body = {k: v for k, v in e.items() if k not in ("hash", "signature")}
                msg = canonical(body)
            except (json.JSONDecodeError, AttributeError):
                raise IntegrityError(f"{where}: not a JSON entry", file=str(f)) from None
            if e.get("seq") != seq + 1:
                raise IntegrityError(f"{where}: sequence {e.get('seq')} follows {seq}: entries missing or reordered",
                                     file=str(f))
            if e.get("prev") != prev:
                raise IntegrityError(f"{where}: does not chain to the previous entry", file=str(f))
            if sha256_hex(msg) != e.get("hash"):
                raise IntegrityError(f"{where}: content does not match its hash: the entry was changed", file=str(f))
            try:
                pub.verify(base64.b64decode(e.get("signature", "")), msg)
            except (InvalidSignature, ValueError):
                raise IntegrityError(f"{where}: signature does not verify", file=str(f)) from None
            prev, seq = e["hash"], e["seq"]
    return seq
