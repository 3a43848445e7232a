"""Writing a run's outputs: everything is staged beside the output folder and published at once
(``publish``), so a failed or killed run leaves the previous outputs, whole."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..results import EXPOSURE_COLUMNS, CameraOutputs, CameraResult, Result, assemble, targets_frame
from ..scene import Scene
from .publish import MARKER, OURS, Publication, kill_point


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        tmp_path.unlink()
        write(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        else:
            tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def write_outputs(result: Result, out: Path, *, key_path: str | Path | None = None, pdf: bool = False) -> list[Path]:
    """Write summary.json, exposures.csv, results.gpkg, report.html (and report.pdf with ``pdf``) and
    (with mask plans) the signed mask exports into ``out``; returns the paths written. The audit log in
    ``out/audit/`` is appended to.

    Everything is written to a staging folder first and moved into ``out`` only when all files exist.
    """
    with Outputs(out) as outputs:
        return outputs.write(result, key_path=key_path, pdf=pdf)


class Outputs:
    """The staging of a run's outputs for ``out`` (``publish.Publication``: built beside it, swapped in
    at once): ``scene_layers(scene)`` may write the layers that depend on the scene alone while the
    cameras are analysed; ``write(result)`` writes the rest and publishes everything. Leaving the
    ``with`` block without ``write`` publishes nothing and leaves nothing behind."""

    def __init__(self, out: Path) -> None:
        self.publication = Publication(out)
        self.out = self.publication.out
        self.stage = self.publication.stage
        self._scene: Scene | None = None  # the scene whose layers are in the staged GeoPackage

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.publication.close()

    def scene_layers(self) -> Callable[[Scene], None]:
        """The job that writes the GeoPackage's ``targets`` layer (every private target of a scene)
        into the staging folder, picklable, for ``pipeline.analyse(meanwhile=...)``: ``write`` takes
        it as done when given a result on the scene passed to ``scene_layers_done``."""
        return functools.partial(_write_targets, path=self.stage / "results.gpkg")

    def scene_layers_done(self, scene: Scene) -> None:
        self._scene = scene

    def _write_layers(self, result: Result) -> None:
        """results.gpkg in the staging folder: the scene's layers (unless written beside the cameras
        already) and the results'."""
        if self._scene is not result.scene:
            (self.stage / "results.gpkg").unlink(missing_ok=True)
            _write_targets(result.scene, path=self.stage / "results.gpkg")
        _write_gpkg(result, self.stage / "results.gpkg")

    def write(self, result: Result, *, key_path: str | Path | None = None, pdf: bool = False) -> list[Path]:
        from .export.plans import file_sha256, write_mask_exports
        from .integrity import AuditLog, signing_key, write_public_key

        out, stage = self.out, self.stage
        exports = None
        gpkg: Future[None] | None = None
        try:
            if result.mask_plans:
                key, _ = signing_key(key_path)
                write_public_key(key.public_key(), stage / "signing-key.pub")
                exports = write_mask_exports(stage, result, key,
                                             scenario_sha256=file_sha256(Path(result.scene.scenario.source)),
                                             audit=AuditLog(stage / "audit", key))
            # the GeoPackage is written on a thread meanwhile (GDAL works without the interpreter lock)
            pool = ThreadPoolExecutor(1)
            gpkg = pool.submit(self._write_layers, result)
            pool.shutdown(wait=False)
            summary = result.summary()
            (stage / "summary.json").write_text(json.dumps(jsonable(summary), indent=2) + "\n", encoding="utf-8")
            (stage / "exposures.csv").write_text(exposures_csv(result), encoding="utf-8")
            from .report.html import report_html

            (stage / "report.html").write_text(report_html(result), encoding="utf-8")
            gpkg.result()
            if pdf:
                from .report.pdf import html_to_pdf

                html_to_pdf(stage / "report.html", stage / "report.pdf")
            if exports is not None:
                # every ONVIF document valid before anything is logged; the entries go into the staged
                # copy of the log, which is published with the plans they record, at the same instant
                exports.finish()
                exports = None
            kill_point("staged")
            self.publication.publish()
            return [out / f.name for f in sorted(out.iterdir()) if f.name in OURS and f.name != MARKER]
        finally:
            if exports is not None:  # an error elsewhere: nothing is published or logged
                exports.cancel()
            if gpkg is not None:  # the staging folder is not left to a thread still writing in it
                wait([gpkg])


ROUNDED = {"visible_fraction": 4, "max_px_per_m": 2, "distance_m": 2, "max_px_per_m_foreshortened": 2,
           "incidence_deg": 2, "visible_fraction_error": 4}  # exposures.csv's decimals, by column


def csv_rows(ex: pd.DataFrame, *, header: bool) -> str:
    """``exposures.csv``'s text for exposure rows ``ex``: ``EXPOSURE_COLUMNS``, the measures rounded
    (``ROUNDED``), with or without the header line."""
    csv = ex[EXPOSURE_COLUMNS].copy() if len(ex) else pd.DataFrame(columns=EXPOSURE_COLUMNS)
    for col, decimals in ROUNDED.items():
        if len(csv):
            csv[col] = csv[col].astype(float).round(decimals)
    text: str = csv.to_csv(index=False, header=header)
    return text


def exposures_csv(result: Result) -> str:
    """The text of ``exposures.csv``: each camera's rows as its process formatted them
    (``CameraOutputs.csv``) where the rows run camera by camera and each run is a camera's whole
    formatted rows (one camera's rows format alone as among all: the measures are floats either
    way), else formatted here."""
    ex = result.exposures
    ids = ex["camera_id"].to_numpy(object) if len(ex) else np.zeros(0, object)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.intp)
    counts = np.diff(np.r_[starts, len(ids)])
    chunks = [result.outputs.get(str(ids[i])) for i in starts]
    whole = [o is not None and o.csv is not None and o.csv_rows == n
             for o, n in zip(chunks, counts.tolist(), strict=True)]
    if len(set(ids[starts].tolist())) == len(starts) and all(whole):
        return csv_rows(ex.iloc[:0], header=True) + "".join(o.csv for o in chunks if o is not None and o.csv)
    return csv_rows(ex, header=True)


def camera_outputs(scene: Scene, part: CameraResult) -> CameraOutputs:
    """The parts of the outputs that depend on one camera alone (mask footprints, unsigned vendor
    exports, the report's section with its map; its coverage polygons, cached on the coverage), for a
    process that ran the camera to derive in parallel with the others, as the writers would compute
    them."""
    from .export.plans import result_footprints, vendor_documents
    from .report.figures import camera_figure
    from .report.html import camera_section
    from .report.tables import camera_table

    one = assemble(scene, [part], seconds=0.0)
    cid = part.camera_id
    if part.coverage is not None:
        part.coverage.polygons()
        part.coverage.areas()
    if part.plan is not None:
        result_footprints(one, cid)
        vendor_documents(one, cid)
    (row,) = camera_table(one).itertuples(index=False)
    done = one.camera_outputs(cid)
    done.csv, done.csv_rows = csv_rows(one.exposures, header=False), len(one.exposures)
    done.section = camera_section(one, row, camera_figure(one, cid))
    return done


@contextlib.contextmanager
def without_fsync() -> Any:
    """SQLite writes without waiting for the disk (GDAL's ``OGR_SQLITE_SYNCHRONOUS=OFF``) for the
    block or the decorated function: the GeoPackage is written into the staging folder and
    published by renaming it, so losing its last pages to a power cut mid-write is no worse than
    losing the renaming; the waits cost ~50 ms per layer."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": before})


@without_fsync()
def _write_gpkg(result: Result, path: Path) -> None:
    scene = result.scene
    crs = scene.frame.crs
    b = scene.buildings
    cols = ["id", "height", "height_source", "levels", "use", "private", "source", "ground_z", "roof_z"]
    bl = gpd.GeoDataFrame(b[[c for c in cols if c in b.columns]], geometry=b.geometry.values, crs=crs)
    exposed = result.exposures.groupby("building_id").size() if len(result.exposures) else pd.Series(dtype=int)
    bl["exposed_targets"] = bl["id"].map(exposed).fillna(0).astype(int)
    bl.to_file(path, layer="buildings", driver="GPKG", engine="pyogrio", use_arrow=True)
    if len(result.exposures):
        _write_exposures(result, path)
    else:
        gpd.GeoDataFrame({c: pd.Series(dtype=str) for c in EXPOSURE_COLUMNS}, geometry=[], crs=crs).to_file(
            path, layer="exposures", driver="GPKG", engine="pyogrio", use_arrow=True)
    cams = result.cameras
    cg = gpd.GeoDataFrame({
        "id": [c.id for c in cams], "model": [c.model or "" for c in cams], "kind": [c.kind for c in cams],
        "z": [c.z for c in cams], "mount_height_m": [c.mount_height_m for c in cams],
        "pan_from_deg": [c.pan_limits_deg[0] for c in cams], "pan_to_deg": [c.pan_limits_deg[1] for c in cams],
        "tilt_min_deg": [c.tilt_limits_deg[0] for c in cams], "tilt_max_deg": [c.tilt_limits_deg[1] for c in cams],
        "direction_deg": [np.nan if c.direction_deg is None else c.direction_deg for c in cams],
        "range_m": [c.range_m for c in cams], "defaults": ["; ".join(c.defaults) for c in cams],
    }, geometry=shapely.points([[c.x, c.y] for c in cams]) if cams else [], crs=crs)
    cg.to_file(path, layer="cameras", driver="GPKG", engine="pyogrio", use_arrow=True)
    _write_coverage(result, path)


@without_fsync()
def _write_targets(scene: Scene, *, path: Path) -> None:
    """The ``targets`` layer (the columns of ``results.targets_frame``), in chunks: a city holds
    hundreds of thousands of targets. Written as Arrow with the polygons encoded as WKB here
    directly (no shapely objects: building 600k of them took longer than writing them)."""
    import pyarrow as pa
    import pyogrio

    t = scene.targets
    n = len(t)
    if n == 0:
        targets_frame(scene).to_file(path, layer="targets", driver="GPKG", engine="pyogrio", use_arrow=True)
        return
    labels = scene.target_labels

    def chunks(step: int = 50_000) -> Any:
        for a in range(0, n, step):
            idx = np.arange(a, min(a + step, n))
            xyz, owner = t.rings3d(scene.terrain, idx)
            yield from pa.table({**{k: v.slice(a, len(idx)) for k, v in labels.items()},
                                 "area_m2": np.round(t.area[idx], 3), "samples": np.diff(t.offsets)[idx],
                                 "geometry": polygons_wkb(xyz, owner, len(idx))}).to_batches()

    batches = chunks()
    first = next(batches)
    # one layer written from a stream of chunks (appending chunk after chunk reopens the layer and
    # updates its spatial index row by row instead of building it once at the end: twice the time)
    stream = pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches))
    pyogrio.write_arrow(stream, path, layer="targets", driver="GPKG", geometry_name="geometry",
                        geometry_type="Polygon Z", crs=scene.frame.crs.to_wkt())


def _write_exposures(result: Result, path: Path) -> None:
    """The ``exposures`` layer (``Result.exposures_gdf`` without the ``target`` index) as Arrow, each
    target's polygon encoded once as WKB (as in the ``targets`` layer)."""
    import pyarrow as pa
    import pyogrio

    scene = result.scene
    ex = result.exposures
    uniq, inv = np.unique(ex["target"].to_numpy(int), return_inverse=True)
    xyz, owner = scene.targets.rings3d(scene.terrain, uniq)
    table = pa.Table.from_pandas(ex.drop(columns=["target"]), preserve_index=False)
    table = table.append_column("geometry", polygons_wkb(xyz, owner, len(uniq)).take(pa.array(inv)))
    pyogrio.write_arrow(table, path, layer="exposures", driver="GPKG", geometry_name="geometry",
                        geometry_type="Polygon Z", crs=scene.frame.crs.to_wkt())


def polygons_wkb(xyz: NDArray[np.float64], owner: NDArray[np.intp], n: int) -> Any:
    """ISO WKB (little endian) of ``n`` 3D polygons with one ring each, given as the rings' points
    ``xyz`` (P, 3) and each point's polygon ``owner`` (P,), sorted; a pyarrow binary array. Records
    of polygons with the same number of points are laid out in one numpy record array."""
    import pyarrow as pa

    counts = np.bincount(owner, minlength=n)
    starts = np.r_[0, np.cumsum(counts)]
    parts, order, sizes = [], [], []
    for m in (int(v) for v in np.unique(counts)):
        ids = np.flatnonzero(counts == m)
        fields: list[Any] = [("order", "u1"), ("type", "<u4"), ("rings", "<u4")]
        if m:
            fields += [("points", "<u4"), ("xyz", "<f8", (m, 3))]
        rec = np.empty(len(ids), np.dtype(fields))  # packed: 13 + 24 m bytes per polygon
        rec["order"], rec["type"], rec["rings"] = 1, 1003, 1 if m else 0  # 1003: Polygon Z (an empty one: no ring)
        if m:
            rec["points"] = m
            rec["xyz"] = xyz[starts[ids][:, None] + np.arange(m)]
        parts.append(rec.view(np.uint8).ravel())
        order.append(ids)
        sizes.append(np.full(len(ids), rec.dtype.itemsize, np.int64))
    offsets = np.r_[0, np.cumsum(np.concatenate(sizes))]
    grouped = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets),
                                                           pa.py_buffer(np.concatenate(parts))])
    back = np.empty(n, np.int64)
    back[np.concatenate(order)] = np.arange(n)
    return grouped.take(pa.array(back)).cast(pa.binary())


def _write_coverage(result: Result, path: Path) -> None:
    """``coverage``: per camera, DORI class and masked or not, the public ground it covers (dissolved
    cells); ``identify``: where some camera reaches face identification, before and after masks."""
    crs = result.scene.frame.crs
    coverage_frame(result).to_file(path, layer="coverage", driver="GPKG", engine="pyogrio", use_arrow=True)
    id_rows: list[dict[str, Any]] = []
    id_geoms: list[Any] = []
    for when in ("before_masks", "after_masks"):
        cell, cells = result.identify_cells(after_masks=when == "after_masks")
        for geom in result.identify_polygons(after_masks=when == "after_masks"):
            id_rows.append({"when": when, "area_m2": round(len(cells) * cell**2, 1)})
            id_geoms.append(geom)
    gpd.GeoDataFrame(id_rows if id_rows else {"when": pd.Series(dtype=str), "area_m2": pd.Series(dtype=float)},
                     geometry=id_geoms, crs=crs).to_file(path, layer="identify", driver="GPKG", engine="pyogrio",
                                                         use_arrow=True)


def coverage_frame(result: Result) -> gpd.GeoDataFrame:
    """The public ground each camera covers, per DORI class and masked or not (its dissolved cells:
    ``CameraCoverage.polygons``), with ``area_m2`` and ``cells``, in the scene's CRS."""
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for cid, cov in result.coverage.items():
        for dori, masked, n, geom in cov.polygons():
            rows.append({"camera_id": cid, "dori": dori, "masked": masked, "area_m2": round(n * cov.cell_m**2, 1),
                         "cells": n})
            geoms.append(geom)
    cols = {"camera_id": pd.Series(dtype=str), "dori": pd.Series(dtype=str), "masked": pd.Series(dtype=bool),
            "area_m2": pd.Series(dtype=float), "cells": pd.Series(dtype=int)}
    return gpd.GeoDataFrame(rows if rows else cols, geometry=geoms, crs=result.scene.frame.crs)


def jsonable(o: Any) -> Any:
    """``o`` with numpy scalars made plain and tuples made lists (what ``json`` writes)."""
    if isinstance(o, dict):
        return {k: jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [jsonable(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    return o
