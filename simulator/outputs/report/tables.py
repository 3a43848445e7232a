"""Exposure tables from a ``Result``: per camera, exposed private targets by kind and DORI class
before and after masks, masks against the limit, the public view the masks cost, compliance."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from ...results import Result
from ...vocabulary import BELOW_DETECT, DORI_CLASSES, DORI_OR_NONE, IEC_2025_LEVELS, TARGET_KINDS


def after_masks_rows(ex: pd.DataFrame, result: Result) -> pd.DataFrame:
    """The exposure rows still visible outside every mask (all rows of cameras without a plan)."""
    if not len(ex):
        return ex
    plans = result.mask_plans
    cams = ex["camera_id"].astype(str).to_numpy(object)
    keep = ~pd.Series(cams).isin(list(plans)).to_numpy()
    residual = {cid: set(plan.residual_targets) for cid, plan in plans.items() if plan.residual_targets}
    if residual:
        none: set[str] = set()
        ids = ex["target_id"].astype(str).to_numpy(object).tolist()
        keep |= np.fromiter((t in residual.get(c, none) for c, t in zip(cams.tolist(), ids, strict=True)), bool,
                            len(ids))
    return ex[keep]



def camera_table(result: Result) -> pd.DataFrame:
    """One row per camera: ``exposed`` and ``after_masks`` (camera x target pairs), exposed targets per
    kind and per DORI class (before masks), masks used and the limit, the share of the public street
    samples it sees that its masks hide, compliance and reasons."""
    ex = result.exposures
    after = after_masks_rows(ex, result)
    after_counts = after.groupby("camera_id").size() if len(after) else pd.Series(dtype=int)
    rows = []
    for cam in result.cameras:
        mine = result.camera_rows(cam.id)
        plan = result.mask_plans.get(cam.id)
        row: dict[str, Any] = {"camera": cam.id, "model": cam.model or "inline", "exposed": len(mine)}
        kinds = Counter(mine["target_kind"].to_numpy(object)) if len(mine) else Counter()
        doris = Counter(mine["dori"].to_numpy(object)) if len(mine) else Counter()
        for kind in TARGET_KINDS:
            row[kind] = kinds[kind]
        for dori in DORI_CLASSES:
            row[dori] = doris[dori]
        row["after_masks"] = int(after_counts.get(cam.id, 0))
        row["masks"] = len(plan.masks) if plan else 0
        row["mask_limit"] = cam.mask_limits.max_masks
        row["masks_lower_bound"] = plan.masks_lower_bound if plan else 0
        row["proposed_limits"] = proposal_text(plan.proposal) if plan and plan.proposal else ""
        row["public_hidden_share"] = (round(plan.public_hidden_share, 4)
                                      if plan and plan.public_hidden_share is not None else None)
        row["compliant"] = plan.compliant if plan else len(mine) == 0
        row["reasons"] = "; ".join(plan.reasons) if plan else ("" if len(mine) == 0 else "masks not generated")
        rows.append(row)
    columns = ["camera", "model", "exposed", *TARGET_KINDS, *DORI_CLASSES, "after_masks", "masks", "mask_limit",
               "masks_lower_bound", "public_hidden_share", "compliant", "reasons", "proposed_limits"]
    return pd.DataFrame(rows, columns=columns)


# what people read for the columns of ``camera_table`` (the app and the report); shares as percentages
HUMAN_COLUMNS = {"camera": "Camera", "model": "Model", "exposed": "Exposed targets",
                 "window": "Windows", "door": "Doors", "balcony": "Balconies", "terrace": "Terraces",
                 "courtyard": "Courtyards", "backyard": "Backyards", "sensitive": "Sensitive places",
                 "facade": "Facades",
                 **{d: f"{d.capitalize()} (DORI)" for d in DORI_CLASSES},
                 "after_masks": "Exposed after masks", "masks": "Masks", "mask_limit": "Mask limit",
                 "masks_lower_bound": "Masks needed (proven lower bound)",
                 "public_hidden_share": "Public view hidden [%]", "compliant": "Compliant", "reasons": "Reasons",
                 "proposed_limits": "Remedy (proposed limits)"}


def human_table(cams: pd.DataFrame) -> pd.DataFrame:
    """``camera_table`` as people read it: ``HUMAN_COLUMNS`` names, the public share hidden in percent,
    "yes"/"no" for compliance, and "given inline" for a camera described without a catalogue model."""
    out = cams.copy()
    if "public_hidden_share" in out:
        out["public_hidden_share"] = [None if pd.isna(v) else round(100 * float(v), 1)
                                      for v in out["public_hidden_share"]]
    if "compliant" in out:
        out["compliant"] = ["yes" if bool(v) else "no" for v in out["compliant"]]
    if "model" in out:
        out["model"] = out["model"].replace({"inline": "given inline"})
    return out.rename(columns=HUMAN_COLUMNS)


def noncompliant_table(cams: pd.DataFrame) -> pd.DataFrame:
    """The cameras that are not compliant, with their reason and remedy (people's column names)."""
    bad = cams[~cams["compliant"].astype(bool)] if len(cams) else cams
    return human_table(bad[["camera", "exposed", "after_masks", "masks", "mask_limit", "reasons",
                            "proposed_limits"]])


def proposal_text(p: dict[str, Any]) -> str:
    """One line for a proposed limit (``CameraMasks.proposal``) and the outcome of planning with it."""
    parts = []
    if p.get("pan_limits_deg"):
        parts.append(f"pan {p['pan_limits_deg'][0]:g}..{p['pan_limits_deg'][1]:g} deg")
    if p.get("tilt_limits_deg"):
        parts.append(f"tilt {p['tilt_limits_deg'][0]:g}..{p['tilt_limits_deg'][1]:g} deg")
    outcome = (f"compliant with {p['masks']} masks (planned again and verified)" if p.get("compliant") else
               f"still not compliant ({p['masks']} masks, {p['exposed_after_masks']} targets left visible)")
    return f"{' and '.join(parts)}: {outcome}"


def density_classes(result: Result) -> tuple[str, tuple[str, ...]]:
    """The exposures' column the scenario's tables use (``analysis.density_levels``) and its classes,
    highest first, "none" last."""
    if result.scene.scenario.analysis.density_levels == "iec_2025":
        return "iec_2025", (*(name for name, _ in IEC_2025_LEVELS), BELOW_DETECT)
    return "dori", DORI_OR_NONE


def kind_dori_table(result: Result, camera_id: str | None = None, *, after_masks: bool = False) -> pd.DataFrame:
    """Exposed targets (camera x target pairs) of one camera (or all) as a kind x density-class count
    table (the scenario's ``density_levels``: IEC 62676-4:2014 DORI or the 2025 levels), before masks
    or, with ``after_masks``, those still visible outside every mask; a ``total`` row and column."""
    ex = result.exposures
    if camera_id is not None and len(ex):
        ex = result.camera_rows(camera_id)
    if after_masks:
        ex = after_masks_rows(ex, result)
    column, classes = density_classes(result)
    counts = np.zeros((len(TARGET_KINDS) + 1, len(classes) + 1), np.int64)
    if len(ex):
        k = pd.Index(TARGET_KINDS).get_indexer(ex["target_kind"].to_numpy(object))
        d = pd.Index(classes).get_indexer(ex[column].to_numpy(object))
        ok = (k >= 0) & (d >= 0)
        np.add.at(counts, (k[ok], d[ok]), 1)
    counts[:-1, -1] = counts[:-1, :-1].sum(axis=1)
    counts[-1] = counts[:-1].sum(axis=0)
    return pd.DataFrame(counts, index=pd.Index([*TARGET_KINDS, "total"], name="kind"),
                        columns=[*classes, "total"])
