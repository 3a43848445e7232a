"""Choosing a camera's masks among candidates: a weighted set cover, solved exactly where it can be.

Every *piece* (a part of a private target that one mask can frame, see ``masks.plan``) must lie in a
chosen mask. Candidate ``c`` covers the pieces marked in row ``c`` of a boolean matrix and hides the
public samples marked in row ``c`` of another. The objective is lexicographic:

- ``least_public_hidden`` (the default): at most ``max_masks`` masks hiding the fewest public samples
  (the union over the chosen masks, not a sum), then the fewest masks, then the least solid angle (this
  last within the program's stopping gap);
  when no plan within ``max_masks`` exists among the candidates, the fewest masks;
- ``fewest_masks``: the fewest masks, then the fewest public samples hidden, then the least solid
  angle. (On the tutorial's fixed bullet this draws one rectangle over 93 % of the street it sees,
  where two masks hide none of it: the reason it is not the default.)

Both are solved exactly as far as a budget allows, after the classic set-cover reductions (``reduced``):
an integer program with HiGHS (``scipy.optimize.milp``) on the count alone where the count decides
(the greedy cover exceeds ``max_masks``, or ``fewest_masks``), then one for the fewest public samples
hidden within that many masks (or within ``max_masks``), its relaxation tightened by covering cuts
(``covering_cuts``, valid for every plan). The greedy set cover (the candidate covering
the most uncovered pieces, ties broken by the public samples it newly hides, then its solid angle) is
the fallback and the first incumbent: the better is kept.

``clique_bound`` gives a proven lower bound on the masks any plan needs: directions no two of which
one view can hold each need a mask of their own.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

Objective = Literal["fewest_masks", "least_public_hidden"]
# branch-and-bound nodes per integer program: the budget that makes plans the same on every machine
# (the time limit is a backstop for slow machines; a plan cut by it says so: method "time limit")
NODE_LIMIT = 2000
# at most this many covering cuts per program (``covering_cuts``): the tightest 200 cut Amadora's solve time
# by 15 % against 1,000 (the same plans; Helsinki and Monaco within the noise)
COVERING_CUTS = 200
# HiGHS's feasibility jump and RENS heuristics find nothing here that its others do not (the greedy
# cover is close, and the optimum is found at the root): off. Feasibility jump took about 40 % of the
# solve time of the hardest Amadora cameras, RENS's sub-MIPs about 20 % of the rest. A small cut pool
# (HiGHS keeps 10,000 cuts by default) costs no plan and about 30 % of the solve time on Amadora: the
# covering cuts are in the program from the start, and the pool's cuts cost more to manage than they prune.
# The root reduced-cost sub-MIP heuristic took about 40 % of the hardest Amadora solves (cam-065: 0.8 s
# of which 0.35 s), for incumbents the other heuristics find too: off (the same plans, 20 % less time)
HIGHS_OPTIONS = {"mip_heuristic_run_feasibility_jump": False, "mip_heuristic_run_rens": False,
                 "mip_heuristic_run_root_reduced_cost": False, "mip_pool_soft_limit": 30}


@dataclass(frozen=True)
class Selection:
    """The chosen candidates (indices), how they were found (``"optimal"``: proven optimal over the
    candidates; ``"node or time limit"``: the integer program's best within its budget; ``"greedy"``), and the
    public samples they hide (union)."""

    chosen: NDArray[np.intp]
    method: str
    public_hidden: int


def choose_masks(covers: NDArray[np.bool_], hides: NDArray[np.bool_], area_sr: NDArray[np.float64], *,
                 objective: Objective = "least_public_hidden", max_masks: int | None = None,
                 time_limit_s: float = 1.0) -> Selection:
    """Candidates covering every piece: ``covers`` (C, P) and ``hides`` (C, Q) boolean, ``area_sr``
    (C,) solid angles. Every piece must be covered by at least one candidate. With
    ``least_public_hidden``, when no plan within ``max_masks`` is found the fewest masks are chosen."""
    n_c, n_p = covers.shape
    if n_p == 0:
        return Selection(np.zeros(0, np.intp), "optimal", 0)
    if not covers.any(axis=0).all():
        raise ValueError("a piece that no candidate covers")
    keep, rows = reduced(covers, hides, area_sr)
    covers, hides, area_sr = covers[np.ix_(keep, rows)], hides[keep], area_sr[keep]
    greedy = greedy_cover(covers, hides, area_sr)
    best = Selection(greedy, "greedy", _hidden(hides, greedy))
    if time_limit_s > 0:
        # 1. the fewest masks, where they decide (an integer program on the count alone: HiGHS stops
        #    as soon as its bound proves the count)
        cap, cap_proven = max_masks, True
        if objective == "fewest_masks" or max_masks is None or len(greedy) > max_masks:
            best = _solve(covers, hides, area_sr, "fewest_masks", None, time_limit_s, best)
            if objective == "fewest_masks" or max_masks is None or len(best.chosen) > max_masks:
                cap, cap_proven = len(best.chosen), best.method == "optimal"  # the cap is that count
        # 2. within that many masks, the fewest public samples hidden, then the fewest masks; its
        #    label is what it proved, and no more than the count it was capped at. First the case where
        #    the samples that every plan hides suffice: then the fewest masks among the candidates that
        #    hide nothing else is the answer (a program on the count alone, quick)
        forced = _forced_only(covers, hides, area_sr, cap, time_limit_s)
        best = forced if forced is not None else \
            _solve(covers, hides, area_sr, "least_public_hidden", cap, time_limit_s, best)
        if not cap_proven and best.method == "optimal":
            best = replace(best, method="node or time limit")
    return replace(best, chosen=keep[best.chosen])


def _forced_only(covers: NDArray[np.bool_], hides: NDArray[np.bool_], area_sr: NDArray[np.float64],
                 cap: int | None, time_limit_s: float) -> Selection | None:
    """The least_public_hidden optimum when it hides only what every plan hides, else None. A public
    sample hidden by every candidate covering some piece is hidden by every plan; a plan hiding no
    other sample is optimal in that count, and among such plans (made of candidates hiding nothing
    else) the fewest masks come from a set cover on the count alone. None when those candidates cannot
    cover every piece within ``cap`` masks, or the count is not proven."""
    # forced[q]: some piece all of whose candidates hide q (float32 products: exact counts below 2**24)
    forced = np.zeros(hides.shape[1], bool)
    some = np.flatnonzero(hides.any(axis=0))  # only a sample some candidate hides can be forced
    not_hiding = covers.T.astype(np.float32) @ (~hides[:, some]).astype(np.float32)  # (pieces, samples)
    forced[some] = (not_hiding == 0).any(axis=0)
    clean = np.flatnonzero(~(hides & ~forced).any(axis=1))
    if len(clean) == 0 or not covers[clean].any(axis=0).all():
        return None
    sub_covers, sub_hides, sub_area = covers[clean], hides[clean], area_sr[clean]
    start = Selection(greedy_cover(sub_covers, sub_hides, sub_area), "greedy", int(forced.sum()))
    found = _solve(sub_covers, sub_hides, sub_area, "fewest_masks", None, time_limit_s, start)
    if found.method != "optimal" or (cap is not None and len(found.chosen) > cap):
        return None
    chosen = clean[found.chosen]
    return Selection(np.sort(chosen), "optimal", _hidden(hides, chosen))


def reduced(covers: NDArray[np.bool_], hides: NDArray[np.bool_],
            area_sr: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The classic exact reductions of a set cover, repeated until neither applies: candidates that
    another dominates (``undominated``), and pieces whose covering candidates include all those of
    another piece (covering that one covers it). Returns the candidates and pieces kept (indices)."""
    cols = np.arange(len(covers), dtype=np.intp)
    rows = np.arange(covers.shape[1], dtype=np.intp)
    while True:
        keep = cols[undominated(covers[np.ix_(cols, rows)], hides[cols], area_sr[cols])]
        sub = covers[np.ix_(keep, rows)]
        kept_rows = rows[_minimal_pieces(sub)]
        if len(keep) == len(cols) and len(kept_rows) == len(rows):
            return cols, rows
        cols, rows = keep, kept_rows


def _minimal_pieces(covers: NDArray[np.bool_]) -> NDArray[np.intp]:
    """The pieces (sorted indices of the columns of ``covers`` (C, P)) whose set of covering candidates
    holds no other piece's set (of pieces alike, the first)."""
    if covers.shape[1] < 2:
        return np.arange(covers.shape[1], dtype=np.intp)
    _, first = np.unique(_row_keys(covers.T), return_index=True)
    first = np.sort(first)
    c = covers[:, first].T.astype(np.float32)  # (P', C)
    # inside[p, q]: candidates covering q and not p; none: q's candidates are among p's, p goes
    inside = ((1.0 - c) @ c.T) == 0
    np.fill_diagonal(inside, False)
    kept: NDArray[np.intp] = first[~inside.any(axis=1)]
    return kept


def undominated(covers: NDArray[np.bool_], hides: NDArray[np.bool_], area_sr: NDArray[np.float64]) -> NDArray[np.intp]:
    """The candidates (sorted indices) that no other dominates: ``j`` dominates ``i`` when it covers
    every piece ``i`` covers and hides no public sample ``i`` does not (of candidates alike in both,
    the one of least solid angle stays). Swapping a dominated candidate for its dominator never adds a
    mask or a hidden public sample, so the optimum of either objective is among the rest (its solid
    angle, the last tie-break, may differ). Dropping them also removes the symmetric copies that slow
    the integer program down. A candidate covering no piece is dominated by any other. Only pairs that
    share a piece are compared (a sparse product), so the cost follows the overlaps, not C^2."""
    n = len(covers)
    if n < 2:
        return np.arange(n, dtype=np.intp)
    order = np.argsort(area_sr, kind="stable")
    _, first = np.unique(_row_keys(np.hstack([covers, hides])[order]), return_index=True)
    keep = np.sort(order[first])
    # j dominates i where j covers all |C_i| pieces of i (a pair sharing a piece: the nonzeros of the
    # sparse product C C^T) and hides nothing i does not: |H_j| = |H_i & H_j|
    c = _csr(covers[keep], np.int32)
    shared = (c @ c.T).tocoo()
    n_cov = covers[keep].sum(axis=1)
    ok = (shared.data == n_cov[shared.row]) & (shared.row != shared.col)
    i, j = shared.row[ok], shared.col[ok]
    h = hides[keep]
    n_hid = h.sum(axis=1)
    ok = n_hid[j] <= n_hid[i]
    i, j = i[ok], j[ok]
    # a candidate covering no piece is dominated by any other (it only adds a mask)
    dominated = (n_cov == 0) & bool((n_cov > 0).any())
    for a in range(0, len(i), 4096):  # |H_i & H_j| of the remaining pairs, a block at a time
        ii, jj = i[a:a + 4096], j[a:a + 4096]
        both = (h[ii] & h[jj]).sum(axis=1)
        dominated[ii[both == n_hid[jj]]] = True
    kept: NDArray[np.intp] = keep[~dominated]
    return kept


def _solve(covers: NDArray[np.bool_], hides: NDArray[np.bool_], area_sr: NDArray[np.float64], objective: Objective,
           max_masks: int | None, time_limit_s: float, incumbent: Selection) -> Selection:
    """The integer program for ``objective`` (see the module docstring); ``incumbent`` is kept unless
    the program finds better."""
    n_c, n_p = covers.shape
    # public samples hidden by the same candidates are one variable, weighted by their number
    columns = hides[:, hides.any(axis=0)].T if objective == "least_public_hidden" else np.zeros((0, n_c), bool)
    _, first, weight = np.unique(_row_keys(columns), return_index=True, return_counts=True)
    h = columns[first].T.reshape(n_c, -1)
    n_q = h.shape[1]
    # variables: x (C, binary: candidate chosen), y (Q', continuous 0..1: public sample hidden)
    area_w = 0.5 / max(float(area_sr.sum()), 1e-12)
    if objective == "fewest_masks":  # the count alone (an integral objective)
        c = np.ones(n_c)
    else:  # each mask costs less than 1 / C: all of them together less than one public sample
        c = np.r_[(1.0 + area_w * area_sr) / (n_c + 1), weight]
    cov = _csr(covers.T, np.float64)  # (P, C)
    rows = [hstack([cov, csr_matrix((n_p, n_q))])]
    lo, hi = [np.ones(n_p)], [np.full(n_p, np.inf)]
    if n_q:  # y_q >= x_c for every candidate c hiding q
        ci, qi = np.nonzero(h)
        k = np.arange(len(ci))
        link = coo_matrix((np.r_[-np.ones(len(ci)), np.ones(len(ci))], (np.r_[k, k], np.r_[ci, n_c + qi])),
                          shape=(len(ci), n_c + n_q))
        rows.append(link.tocsr())
        lo.append(np.zeros(len(ci)))
        hi.append(np.full(len(ci), np.inf))
    if n_q:  # y_q >= 1 - (the candidates covering piece p that do not hide q): a tighter relaxation
        tight = covering_cuts(covers, h, COVERING_CUTS)
        rows.append(hstack([csr_matrix(tight[0]), csr_matrix(tight[1])]).tocsr())
        lo.append(np.ones(tight[0].shape[0]))
        hi.append(np.full(tight[0].shape[0], np.inf))
    if max_masks is not None:
        rows.append(csr_matrix(np.r_[np.ones(n_c), np.zeros(n_q)][None, :]))
        lo.append(np.zeros(1))
        hi.append(np.full(1, float(max_masks)))
    # the relative gap at which HiGHS may stop: small enough that the incumbent's objective times it is
    # below half a mask (1 / (C + 1) in least_public_hidden, 1 in fewest_masks), so "optimal" is exact in
    # the public samples hidden and in the count; the solid-angle tie-break is within that gap
    unit = 1.0 if objective == "fewest_masks" else 1.0 / (n_c + 1)
    bound = float(c[incumbent.chosen].sum()) + (float(weight[h[incumbent.chosen].any(axis=0)].sum())
                                                if objective == "least_public_hidden" else 0.0)
    gap = min(1e-4, 0.4 * unit / max(bound, 1e-9))
    with warnings.catch_warnings():  # scipy passes HiGHS's own options on, with a warning
        warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
        res = milp(c, constraints=LinearConstraint(vstack(rows).tocsr(), np.concatenate(lo), np.concatenate(hi)),
                   integrality=np.r_[np.ones(n_c), np.zeros(n_q)], bounds=Bounds(0, 1),
                   options={"time_limit": float(time_limit_s), "node_limit": NODE_LIMIT, "presolve": True,
                            "mip_rel_gap": gap, **HIGHS_OPTIONS})
    unproven = replace(incumbent, method="greedy" if incumbent.method == "greedy" else "node or time limit")
    if res.x is None:
        return unproven
    chosen = np.flatnonzero(res.x[:n_c] > 0.5)
    if not covers[chosen].any(axis=0).all() or (max_masks is not None and len(chosen) > max_masks):
        return unproven  # a rounding artefact
    found = Selection(chosen, "optimal" if res.status == 0 else "node or time limit", _hidden(hides, chosen))
    if objective == "fewest_masks":
        better = len(found.chosen) <= len(incumbent.chosen)
    else:
        better = _key(found, objective, area_sr) <= _key(incumbent, objective, area_sr)
    if not better and found.method == "optimal" and (max_masks is None or len(incumbent.chosen) <= max_masks):
        return replace(incumbent, method="optimal")  # as good as a proven optimum, within the same cap
    return found if better else unproven


def covering_cuts(covers: NDArray[np.bool_], h: NDArray[np.bool_],
                   limit: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Valid inequalities ``y_q + sum(x_c for c covering p, not hiding q) >= 1`` (piece ``p`` is covered,
    so unless one of those is chosen, a candidate hiding ``q`` is), for the pairs (p, q) where some
    candidate covering ``p`` hides ``q``, at most ``limit`` of them, those with the fewest such terms
    first (the tightest). Returns their (rows, C) and (rows, Q) coefficient masks."""
    c = covers.astype(np.float32)
    hiding = c.T @ h.astype(np.float32)  # (P, Q): candidates covering p that hide q
    others = c.sum(axis=0)[:, None] - hiding  # those that do not
    ps, qs = np.nonzero(hiding > 0)
    order = np.argsort(others[ps, qs], kind="stable")[:limit]
    ps, qs = ps[order], qs[order]
    x_part = (covers[:, ps] & ~h[:, qs]).T
    y_part = np.zeros((len(ps), h.shape[1]), bool)
    y_part[np.arange(len(ps)), qs] = True
    return x_part, y_part


def _csr(mask: NDArray[np.bool_], dtype: type) -> csr_matrix:
    """A boolean matrix as a sparse one of ones (``csr_matrix(mask.astype(dtype))`` without its pass
    through a coordinate matrix)."""
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(mask.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=mask.shape[0]), out=indptr[1:])
    return csr_matrix((np.ones(len(cols), dtype), cols, indptr), shape=mask.shape)


def _row_keys(rows: NDArray[np.bool_]) -> NDArray[np.void]:
    """One opaque value per boolean row (n, m), equal where the rows are equal (their packed bits)."""
    packed = np.ascontiguousarray(np.packbits(rows, axis=1))
    return packed.view(np.dtype((np.void, max(packed.shape[1], 1)))).ravel() if packed.shape[1] else \
        np.zeros(len(rows), np.dtype((np.void, 1)))


def _hidden(hides: NDArray[np.bool_], chosen: NDArray[np.intp]) -> int:
    return int(hides[chosen].any(axis=0).sum()) if len(chosen) else 0


def _key(s: Selection, objective: Objective, area_sr: NDArray[np.float64]) -> tuple[float, ...]:
    a = float(area_sr[s.chosen].sum())
    return (len(s.chosen), s.public_hidden, a) if objective == "fewest_masks" else (s.public_hidden, len(s.chosen), a)


def greedy_cover(covers: NDArray[np.bool_], hides: NDArray[np.bool_], area_sr: NDArray[np.float64]) -> NDArray[np.intp]:
    """The greedy set cover: repeatedly the candidate covering the most uncovered pieces (ties: the
    fewest public samples newly hidden, then the least solid angle). Within a factor H(max pieces
    per candidate) <= 1 + ln(P) of the optimum (Johnson 1974); then every chosen mask whose pieces
    the others cover is dropped."""
    cov = _csr(covers, np.int32)
    uncovered = np.ones(covers.shape[1], np.int32)
    hidden = np.zeros(hides.shape[1], np.int32)
    chosen: list[int] = []
    while uncovered.any():
        gain = cov @ uncovered
        best = gain.max()
        tie = np.flatnonzero(gain == best)
        if len(tie) > 1:
            cost = (hides[tie] & (hidden == 0)).sum(axis=1)
            tie = tie[cost == cost.min()]
            tie = tie[np.argsort(area_sr[tie], kind="stable")[:1]]
        k = int(tie[0])
        chosen.append(k)
        uncovered[covers[k]] = 0
        hidden[hides[k]] = 1
    # drop redundant masks (largest first)
    out = list(chosen)
    for k in sorted(chosen, key=lambda i: -area_sr[i]):
        rest = [i for i in out if i != k]
        if rest and covers[rest].any(axis=0).all():
            out = rest
    return np.array(sorted(out), np.intp)


def clique_bound(dirs: NDArray[np.float64], max_angle_deg: float, *, starts: int = 64,
                 subset: int = 256) -> tuple[int, NDArray[np.intp]]:
    """A proven lower bound on the masks needed to cover unit directions (n, 3) when no mask can hold
    two directions more than ``max_angle_deg`` apart (the diagonal of the widest view: the largest
    angle between two rays of a pinhole view is between opposite corners). Directions pairwise
    farther apart than that each need their own mask; the bound is the size of such a set (a clique
    of the "too far apart" graph, grown greedily from up to ``starts`` seeds, among at most ``subset``
    directions spread out by farthest-point sampling), returned with it."""
    n = len(dirs)
    if n == 0:
        return 0, np.zeros(0, np.intp)
    if n > subset:  # a clique among a subset is one among all: the subset spread out (farthest points)
        pick = [0]
        d = dirs @ dirs[0]
        for _ in range(subset - 1):
            i = int(np.argmin(d))
            pick.append(i)
            d = np.maximum(d, dirs @ dirs[i])
        size, members = clique_bound(dirs[pick], max_angle_deg, starts=starts, subset=subset)
        return size, np.asarray(pick, np.intp)[members]
    cos_max = math.cos(math.radians(max_angle_deg))
    far = (dirs @ dirs.T) < cos_max - 1e-12  # (n, n): no view holds both
    far_f = far.astype(np.float32)  # the same, for counts by products (exact below 2**24)
    degree = far.sum(axis=1)
    seeds = np.argsort(-degree, kind="stable")[:starts]
    best = np.array([int(seeds[0])], np.intp)
    for s in seeds:
        if degree[s] + 1 <= len(best):
            continue
        clique: list[int] = [int(s)]
        cand = far[s].copy()
        while cand.any():
            idx = np.flatnonzero(cand)
            # the candidate far from the most other candidates
            chosen = int(idx[np.argmax(far_f[idx] @ cand.astype(np.float32))])
            clique.append(chosen)
            cand &= far[chosen]
        if len(clique) > len(best):
            best = np.array(clique, np.intp)
    return len(best), best


def view_diagonal_deg(hfov_deg: float, vfov_deg: float) -> float:
    """The angle [deg] between opposite corners of a pinhole view of ``hfov_deg`` x ``vfov_deg``."""
    tx, ty = math.tan(math.radians(hfov_deg) / 2), math.tan(math.radians(vfov_deg) / 2)
    return math.degrees(2 * math.atan(math.hypot(tx, ty)))
