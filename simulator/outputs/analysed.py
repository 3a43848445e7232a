"""Analysed cameras kept on disk (the app's cache): each camera's ``CameraResult`` filed under the
digest of everything it depends on, so that opening a scenario again, or a camera edited back to
values seen before, casts no ray.

A result depends on the code (every source file of the package), the scenario file, the data files it
reads, and the camera's own values: ``scene_digest`` hashes the first three (file contents, not
dates), ``camera_digest`` the last. A file is written whole or not at all (a temporary file renamed
over it); one that cannot be read back (cut short, from another version of Python) counts as absent
and is replaced. The folder keeps the ``KEEP_SCENES`` scenes used last.

The files are pickles: read only from this machine's own cache folder, which only this tool writes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pickle
import shutil
import tempfile
from pathlib import Path

from ..inputs.bundle import data_files
from ..results import CameraOutputs, CameraResult
from ..scenario import Scenario
from ..scene import Camera

KEEP_SCENES = 8  # scenes kept in the cache folder, the least recently used removed first
PACKAGE = Path(__file__).resolve().parents[1]


@functools.cache
def code_digest() -> str:
    """sha256 of every source file of the package (names and contents)."""
    h = hashlib.sha256()
    for f in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.yaml")):
        h.update(str(f.relative_to(PACKAGE)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def scene_digest(scenario: Scenario) -> str:
    """sha256 of the code, the scenario file and every data file it reads (contents)."""
    h = hashlib.sha256(code_digest().encode())
    source = Path(scenario.source)
    h.update(source.read_bytes() if source.is_file() else scenario.model_dump_json().encode())
    for f in data_files(scenario):
        h.update(b"\0" + f.name.encode() + b"\0")
        with f.open("rb") as fh:
            for block in iter(functools.partial(fh.read, 1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def camera_digest(camera: Camera) -> str:
    """sha256 of every value of a placed camera."""
    return hashlib.sha256(json.dumps(dataclasses.asdict(camera), sort_keys=True, default=repr).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class AnalysedCameras:
    """The cache of one scene's analysed cameras, in ``root / <scene digest>``."""

    root: Path
    digest: str

    @classmethod
    def for_scenario(cls, root: Path, scenario: Scenario) -> AnalysedCameras:
        return cls(Path(root), scene_digest(scenario))

    @property
    def folder(self) -> Path:
        return self.root / self.digest

    def load(self, camera: Camera) -> CameraResult | None:
        """The camera's result as analysed before, or None."""
        path = self.folder / f"{camera_digest(camera)}.pkl"
        try:
            with path.open("rb") as f:
                found = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:  # cut short or unreadable: as if absent (replaced by the next save)
            return None
        if not isinstance(found, CameraResult) or found.camera_id != camera.id:
            return None
        os.utime(self.folder)
        return found

    def save(self, camera: Camera, result: CameraResult) -> None:
        """File ``result`` (outputs derived from it left out: they are derived again when needed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        kept = dataclasses.replace(result, outputs=CameraOutputs())
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(kept, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.folder / f"{camera_digest(camera)}.pkl")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._forget_old()

    def _forget_old(self) -> None:
        scenes = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in scenes[KEEP_SCENES:]:
            if old != self.folder:
                shutil.rmtree(old, ignore_errors=True)
