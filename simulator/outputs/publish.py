"""Publishing a run's output folder as one transaction.

A run builds its whole output folder beside ``--out`` (``.NAME.staging-*`` in the same parent, so on the
same file system), with the previous run's audit log copied in and the new entries appended to that
copy, and then swaps it with ``--out`` in one step (``renameat2(RENAME_EXCHANGE)``). A reader sees the
previous folder or the new one, never a mix: the outputs, the signed plans and the audit entries that
record them appear at the same instant, so the log never records a publication that did not happen.
Where the file system cannot exchange, the previous folder is renamed aside first (``.NAME.previous``)
and the new one renamed into place; a kill between the two renames is undone at the next run, which
puts the previous folder back. (The guarantee is against a killed process; against a power cut the
audit log's appends are flushed to disk, the other files are left to the file system.)

A lock (``flock`` on ``.NAME.lock`` beside the folder) makes a second run, or a command appending to
the folder's audit log, on the same folder fail with one line instead of racing. Staging folders left
by a killed run are removed by the next run on that folder.

Kill points for the fault-injection test: ``$SIMULATOR_KILL_AT`` names a step (``KILL_POINTS``) at
which the process kills itself with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError

MARKER = ".privacy-zone-run"  # written into every run folder: what lets a later run replace it
OURS = {"summary.json", "exposures.csv", "results.gpkg", "report.html", "report.pdf", "masks", "signing-key.pub",
        "audit", MARKER}
KILL_POINTS = ("staged", "before-swap", "aside", "swapped", "cleaned")
KILL_ENV = "SIMULATOR_KILL_AT"


def kill_point(step: str) -> None:
    """Kill this process with SIGKILL if ``$SIMULATOR_KILL_AT`` names ``step`` (fault injection)."""
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` holds a run's outputs (its marker, or the files of a run from before it)."""
    return (path / MARKER).exists() or (path / "summary.json").is_file() or (path / "audit").is_dir()


def check_out(out: Path | str) -> Path:
    """``--out`` as a path, refused (``InputError``) when it is empty, a file, or a folder that holds
    other things than a run's outputs (which publishing would replace)."""
    if str(out).strip() == "":
        raise InputError("an empty output folder name (it would be the current folder)", field="--out")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError("exists and is not a folder", file=str(path), field="--out")
    if path.is_symlink():
        raise InputError("is a symbolic link; give the folder it points to", file=str(path), field="--out")
    if path.is_dir() and os.path.ismount(path):
        raise InputError("is a mount point, which cannot be swapped for a new folder; give a folder inside it",
                         file=str(path), field="--out")
    if Path.cwd().resolve().is_relative_to(path.resolve()):
        raise InputError("holds the current folder, which publishing would replace; run from outside it",
                         file=str(path), field="--out")
    if path.is_dir() and any(not e.name.startswith(".") for e in path.iterdir()) and not is_run_folder(path):
        raise InputError("the folder holds other files and no run's outputs; publishing replaces the folder, "
                         "so choose a new or empty one", file=str(path), field="--out")
    if path.resolve() == Path(path.resolve().anchor):
        raise InputError("the root folder cannot be an output folder", file=str(path), field="--out")
    return path


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Hold the lock of output folder ``out`` (``.NAME.lock`` beside it); ``InputError`` at once if
    another process holds it."""
    out = Path(out).resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(out.parent / f".{out.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"cannot write beside the output folder ({exc.strerror})", file=str(out)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("another run or command is writing to this output folder; try again when it has "
                             "finished", file=str(out)) from None
        yield
    finally:
        os.close(fd)


class Publication:
    """The staging of one run's output folder (``stage``), published by ``publish()`` as one swap with
    ``out``. Holds the folder's lock from creation to ``close()``; entries of the previous folder that
    are not a run's outputs are carried over (hard links), and so is its audit log (a copy the run
    appends to)."""

    def __init__(self, out: Path | str) -> None:
        self.out = check_out(out).resolve()
        self._lock = folder_lock(self.out)
        self._lock.__enter__()
        try:
            recover(self.out)
            self.stage = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.staging-", dir=self.out.parent))
            if self.out.is_dir():
                for entry in self.out.iterdir():
                    if entry.name == "audit" or entry.name not in OURS:
                        _carry(entry, self.stage / entry.name)
            (self.stage / MARKER).write_text(json.dumps({"format": 1}) + "\n", encoding="utf-8")
            _take_mode(self.stage, self.out)
        except OSError as exc:
            self.close()
            raise InputError(f"cannot prepare the output folder ({exc.strerror or exc})", file=str(self.out)) from None
        except BaseException:
            self.close()
            raise

    def publish(self) -> None:
        """Swap the staged folder in for ``out`` (the previous folder is removed after the swap)."""
        kill_point("before-swap")
        try:
            self._swap()
        except OSError as exc:
            raise InputError(f"cannot publish the run ({exc.strerror or exc}); the previous outputs are unchanged",
                             file=str(self.out)) from None
        _fsync_dir(self.out.parent)
        kill_point("swapped")
        shutil.rmtree(self.stage, ignore_errors=True)
        kill_point("cleaned")

    def _swap(self) -> None:
        if not self.out.exists():
            os.rename(self.stage, self.out)
        elif _exchange(self.stage, self.out):
            pass  # self.stage now holds the previous folder
        else:
            aside = self.out.parent / f".{self.out.name}.previous"
            shutil.rmtree(aside, ignore_errors=True)
            os.rename(self.out, aside)
            kill_point("aside")
            try:
                os.rename(self.stage, self.out)
            except OSError:
                os.rename(aside, self.out)  # the previous folder back at once
                raise
            os.rename(aside, self.stage)

    def close(self) -> None:
        """Drop what was not published and release the lock."""
        stage = getattr(self, "stage", None)
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        self._lock.__exit__(None, None, None)

    def __enter__(self) -> Publication:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _take_mode(stage: Path, out: Path) -> None:
    """Give the staged folder the previous folder's mode (and group, where allowed), else the mode a
    new folder gets under the umask (``mkdtemp`` makes it 0700)."""
    if out.is_dir():
        st = out.stat()
        os.chmod(stage, stat.S_IMODE(st.st_mode))
        with contextlib.suppress(OSError):
            os.chown(stage, -1, st.st_gid)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)


def recover(out: Path) -> None:
    """Undo what a killed run left beside ``out`` (call with the lock held): a previous folder renamed
    aside while the new one was not yet in place is put back; staging folders are removed."""
    aside = out.parent / f".{out.name}.previous"
    if aside.exists():
        if out.exists():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(aside, out)
    for stale in out.parent.glob(f".{glob.escape(out.name)}.staging-*"):
        if re.fullmatch(rf"\.{re.escape(out.name)}\.staging-[A-Za-z0-9_]{{8}}", stale.name):  # ours, not a.b's
            shutil.rmtree(stale, ignore_errors=True)


def _carry(src: Path, dst: Path) -> None:
    """Hard-link a file (copy where links fail) or a folder's files into ``dst``. The audit log must be
    plain files: a link would send the run's entries outside the transaction."""
    if src.name == "audit" and (src.is_symlink() or any(p.is_symlink() for p in src.rglob("*"))):
        raise InputError("the audit log holds a symbolic link; it must be plain files", file=str(src))
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, copy_function=_link_or_copy, symlinks=True)
    else:
        _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str, **_: Any) -> None:
    if Path(src).name.startswith("audit-") or Path(src).name == "head.json":
        shutil.copy2(src, dst)  # appended to or replaced by the run: never shared with the previous folder
        return
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False where the system
    or the file system cannot."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
