"""Choosing cameras among candidates: lazy greedy over a weighted coverage objective.

Each candidate reaches a set of elements (the cells of the watched areas it covers at their required
level, after its masks); an element has a weight (its area [m2]). The value of a set of candidates is
the weight of the union of what they reach: monotone and submodular, so the greedy choice (at each step
the candidate of the largest marginal gain) reaches at least (1 - 1/e) of the best value any set of as
many candidates reaches (Nemhauser, Wolsey and Fisher, 1978). The lazy form (Minoux, 1978) keeps each
candidate's last gain as a bound (gains only shrink as the choice grows) and re-evaluates only the
candidate on top of the heap; it chooses exactly what the plain greedy chooses.

Among equal gains the candidate with the smaller ``tie_key`` is chosen (the caller's order: for example
the least private exposure, then the fewest masks), then the lower index.

The upper bound printed with a choice holds for any set of ``budget`` candidates: the value of the
choice plus the ``budget`` largest marginal gains with respect to it, and the sum of the ``budget``
largest single values, and the weight of what all the candidates together reach; the smallest of the three.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..vocabulary import F64


@dataclass(frozen=True)
class Choice:
    """The candidates chosen (indices, in the order chosen), the marginal gain of each, the value of
    the choice, and an upper bound on the value of any ``budget`` candidates."""

    order: list[int]
    gains: list[float]
    value: float
    upper_bound: float
    evaluations: int  # marginal gains computed (the lazy greedy's work)


def coverage_value(reach: Sequence[NDArray[np.intp]], weights: F64, chosen: Sequence[int]) -> float:
    """The weight of the union of what the ``chosen`` candidates reach."""
    if not chosen:
        return 0.0
    union = np.unique(np.concatenate([reach[i] for i in chosen]))
    return float(weights[union].sum())


def lazy_greedy(reach: Sequence[NDArray[np.intp]], weights: F64, *, budget: int,
                target_value: float | None = None, tie_key: Sequence[tuple[float, ...]] | None = None) -> Choice:
    """Choose up to ``budget`` candidates (``reach[i]``: the element indices candidate ``i`` reaches;
    ``weights``: each element's weight), stopping early once ``target_value`` is reached or no
    candidate adds anything (see the module docstring)."""
    if budget < 0:
        raise ValueError("budget must be at least 0")
    reach = [np.unique(r) for r in reach]  # each element once
    n = len(reach)
    keys = list(tie_key) if tie_key is not None else [()] * n
    covered = np.zeros(len(weights), bool)
    single = np.array([float(weights[r].sum()) for r in reach], float)
    heap = [(-single[i], keys[i], i, 0) for i in range(n)]
    heapq.heapify(heap)
    order: list[int] = []
    gains: list[float] = []
    value, evaluations = 0.0, n
    while heap and len(order) < budget and (target_value is None or value < target_value):
        neg, key, i, stamp = heapq.heappop(heap)
        if stamp == len(order):  # its gain is up to date: the largest
            if -neg <= 0:
                break
            order.append(i)
            gains.append(float(-neg))
            value += float(-neg)
            covered[reach[i]] = True
            continue
        fresh = reach[i][~covered[reach[i]]]
        evaluations += 1
        heapq.heappush(heap, (-float(weights[fresh].sum()), key, i, len(order)))
    after = np.array([float(weights[r[~covered[r]]].sum()) for r in reach], float)
    everything = covered.copy()  # what all the candidates together reach: no choice reaches more
    for r in reach:
        everything[r] = True
    bound = min(value + _largest_sum(after, budget), _largest_sum(single, budget),
                float(weights[everything].sum())) if n else 0.0
    return Choice(order, gains, float(value), float(max(bound, value)), evaluations)


def _largest_sum(values: F64, k: int) -> float:
    """The sum of the ``k`` largest of ``values``."""
    return float(np.sort(values)[::-1][:k].sum())
