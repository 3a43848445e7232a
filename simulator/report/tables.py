"""Exposure tables from a ``Result``: per camera, exposed private targets by kind and DORI class
before and after masks, masks against the limit, the public view the masks cost, compliance."""

from __future__ import annotations

from typing import Any

import pandas as pd

TARGET_KINDS = ("window", "door", "balcony", "terrace", "courtyard", "backyard", "sensitive", "facade")
DORI_CLASSES = ("identify", "recognise", "observe", "detect", "none")


def _after_masks(ex: pd.DataFrame, result: Any) -> pd.DataFrame:
    """The exposure rows still visible outside every mask (all rows of cameras without a plan)."""
    if not len(ex):
        return ex
    has_plan = ex["camera_id"].isin(list(result.mask_plans)).to_numpy()
    residual = [(cid, t) for cid, plan in result.mask_plans.items() for t in plan.residual_targets]
    keep = ~has_plan
    if residual:
        pairs = pd.MultiIndex.from_arrays([ex["camera_id"], ex["target_id"].astype(str)])
        keep |= pairs.isin(residual)
    return ex[keep]


def camera_rows(result: Any, camera_id: str) -> pd.DataFrame:
    """The exposure rows of one camera (the exposures split by camera once per result)."""
    key = "exposures_by_camera"
    if key not in result.cache:
        ex = result.exposures
        result.cache[key] = dict(iter(ex.groupby("camera_id", sort=False))) if len(ex) else {}
    return result.cache[key].get(camera_id, result.exposures.iloc[:0])


def camera_table(result: Any) -> pd.DataFrame:
    """One row per camera: ``exposed`` and ``after_masks`` (camera x target pairs), exposed targets per
    kind and per DORI class (before masks), masks used and the limit, the share of the public street
    samples it sees that its masks hide, compliance and reasons."""
    ex = result.exposures
    after = _after_masks(ex, result)
    after_counts = after.groupby("camera_id").size() if len(after) else pd.Series(dtype=int)
    rows = []
    for cam in result.cameras:
        mine = camera_rows(result, cam.id)
        plan = result.mask_plans.get(cam.id)
        row: dict[str, Any] = {"camera": cam.id, "model": cam.model or "inline", "exposed": len(mine)}
        for kind in TARGET_KINDS:
            row[kind] = int((mine["target_kind"] == kind).sum()) if len(mine) else 0
        for dori in DORI_CLASSES[:4]:
            row[dori] = int((mine["dori"] == dori).sum()) if len(mine) else 0
        row["after_masks"] = int(after_counts.get(cam.id, 0))
        row["masks"] = len(plan.masks) if plan else 0
        row["mask_limit"] = cam.mask_limits.max_masks
        row["public_hidden_share"] = (round(plan.public_hidden_share, 4)
                                      if plan and plan.public_hidden_share is not None else None)
        row["compliant"] = plan.compliant if plan else len(mine) == 0
        row["reasons"] = "; ".join(plan.reasons) if plan else ("" if len(mine) == 0 else "masks not generated")
        rows.append(row)
    columns = ["camera", "model", "exposed", *TARGET_KINDS, *DORI_CLASSES[:4], "after_masks", "masks", "mask_limit",
               "public_hidden_share", "compliant", "reasons"]
    return pd.DataFrame(rows, columns=columns)


def kind_dori_table(result: Any, camera_id: str | None = None, *, after_masks: bool = False) -> pd.DataFrame:
    """Exposed targets (camera x target pairs) of one camera (or all) as a kind x DORI-class count
    table, before masks or, with ``after_masks``, those still visible outside every mask; a
    ``total`` row and column."""
    ex = result.exposures
    if camera_id is not None and len(ex):
        ex = camera_rows(result, camera_id)
    if after_masks:
        ex = _after_masks(ex, result)
    table = pd.DataFrame(0, index=pd.Index(TARGET_KINDS, name="kind"), columns=list(DORI_CLASSES))
    if len(ex):
        counts = ex.groupby(["target_kind", "dori"]).size()
        for (kind, dori), n in counts.items():
            if kind in table.index and dori in table.columns:
                table.loc[kind, dori] = int(n)
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table
