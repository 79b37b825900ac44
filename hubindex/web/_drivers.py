"""Which weights drove a city's move: the change of each unit's index score under new weights, split into one
contribution per changed weight, so that the contributions add up to the score change.

Arithmetic aggregation at every level — exact, level by level. For an aggregate p with children k available for
the unit (weights w⁰ → w¹, sums S⁰, S¹ over the available children) and child values x⁰ → x¹,

    Δy_p = y_p(w¹, x¹) − y_p(w⁰, x⁰)
         = [y_p(w¹, x⁰) − y_p(w⁰, x⁰)]  +  Σ_k ŵ¹_k Δx_k                ŵ¹_k = w¹_k / S¹
         = Σ_{k changed} δ_k (x⁰_k − y⁰_p) / S¹  +  Σ_k ŵ¹_k Δx_k        δ_k = w¹_k − w⁰_k

(the first bracket is Σ_k w¹_k x⁰_k / S¹ − y⁰_p = Σ_k δ_k x⁰_k / S¹ + y⁰_p S⁰/S¹ − y⁰_p). Recursing into Δx_k
from the index down, the contribution of the weight of node k (child of p) to the index score is

    c_k = E¹_p · δ_k · (x⁰_k − y⁰_p) / S¹_p,         E¹_p = Π of ŵ¹ on the path from the index to p,

and Σ_k c_k = Δ index score exactly (up to rounding). Raising a weight helps a city where that node scores above
the city's average of its siblings (x⁰_k > y⁰_p), and hurts it where it scores below.

Other aggregations (geometric, harmonic, median, Copeland, outranking, or a mix): the Shapley value of each
changed weight in the game v(S) = index score with the weights in S changed and the others published. Exact
(all 2^m coalitions) for m ≤ :data:`MAX_EXACT` changed weights; beyond that the average over
:data:`N_PERMUTATIONS` seeded random orders (each order's marginal contributions telescope, so the sum is still
exact; the split is an estimate). A unit whose set of available nodes changes with the weights (every weight
under a node that it has data for set to zero) has no decomposition (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np

from hubindex.engine._aggregate import aggregate

__all__ = ["Decomposition", "MAX_EXACT", "N_PERMUTATIONS", "decompose", "node_values"]

MAX_EXACT = 8  # changed weights up to which the Shapley values are exact (2^m re-aggregations)
N_PERMUTATIONS = 32  # random orders for the sampled Shapley values beyond MAX_EXACT


@dataclass(frozen=True)
class Decomposition:
    """Per-unit contributions of the changed weights to the index score change."""

    changed: list[str]  #: node codes whose weight changed, in framework order
    delta: np.ndarray  #: (n_units,) index score with the new weights − with the published ones
    contributions: np.ndarray  #: (n_units, len(changed)); rows sum to ``delta``; NaN where not decomposable
    method: str  #: "exact" | "shapley" | "shapley-sampled"

    def note(self) -> str:
        """One sentence saying how the contributions were computed."""
        return {
            "exact": "exact level-by-level decomposition of the arithmetic means: c_k = E_p·(w1_k − w0_k)·"
                     "(x_k − y_p)/S1_p, summing to the score change",
            "shapley": f"Shapley values over the {len(self.changed)} changed weights (all coalitions), summing "
                       "to the score change",
            "shapley-sampled": f"Shapley values over the {len(self.changed)} changed weights estimated from "
                               f"{N_PERMUTATIONS} seeded random orders; they sum to the score change exactly",
        }[self.method]


def node_values(fw: Any, norm: dict[str, np.ndarray], w: np.ndarray, methods: dict[str, str],
                min_availability: float | None, base: dict[str, np.ndarray] | None = None,
                dirty: set[str] | None = None) -> dict[str, np.ndarray]:
    """Every node's score: indicators from ``norm``; each aggregate, in ascending level, y = AGG(children; w)
    with its method (``methods[code]``), as the engine does. With ``base`` and ``dirty``, only the aggregates in
    ``dirty`` are recomputed and the others are taken from ``base``."""
    vals = dict(norm) if base is None else dict(base)
    for code in fw.aggregates:
        if dirty is not None and code not in dirty:
            continue
        i = fw.index_of(code)
        kids = np.flatnonzero(fw.parent == i)
        C = np.column_stack([vals[fw.codes[k]] for k in kids])
        vals[code] = aggregate(C, w[kids], methods[code], min_availability=min_availability)
    return vals


def _ancestors(fw: Any, codes: list[str]) -> set[str]:
    out: set[str] = set()
    for c in codes:
        p = fw.parent_of(c)
        while p is not None and p not in out:
            out.add(p)
            p = fw.parent_of(p)
    return out


def _same_availability(fw: Any, v0: dict[str, np.ndarray], v1: dict[str, np.ndarray]) -> np.ndarray:
    """(n_units,) True where every node is missing under both weightings or under neither."""
    ok = np.ones(len(v0[fw.root]), dtype=bool)
    for c in fw.aggregates:
        ok &= np.isnan(v0[c]) == np.isnan(v1[c])
    return ok


def decompose(fw: Any, norm: dict[str, np.ndarray], w0: np.ndarray, w1: np.ndarray, methods: dict[str, str],
              min_availability: float | None, *, seed: int = 0) -> Decomposition:
    """Split each unit's index score change from weights ``w0`` to ``w1`` (arrays in ``fw.codes`` order) into
    one contribution per changed weight (see the module doc for the formulas)."""
    w0 = np.asarray(w0, dtype=float)
    w1 = np.asarray(w1, dtype=float)
    changed_idx = [i for i in range(len(fw.codes)) if fw.parent[i] >= 0 and w0[i] != w1[i]]
    changed = [fw.codes[i] for i in changed_idx]
    v0 = node_values(fw, norm, w0, methods, min_availability)
    n = len(v0[fw.root])
    if not changed:
        return Decomposition([], np.zeros(n) * np.where(np.isnan(v0[fw.root]), np.nan, 1.0),
                             np.zeros((n, 0)), "exact")
    dirty = _ancestors(fw, changed)
    v1 = node_values(fw, norm, w1, methods, min_availability, base=v0, dirty=dirty)
    delta = v1[fw.root] - v0[fw.root]
    good = _same_availability(fw, v0, v1) & ~np.isnan(delta)
    if all(m == "arithmetic" for m in methods.values()):
        contrib = _exact_arithmetic(fw, v0, w0, w1, changed_idx)
        method = "exact"
    else:
        contrib, method = _shapley(fw, norm, v0, w0, w1, changed_idx, methods, min_availability, seed)
    contrib[~good] = np.nan
    return Decomposition(changed, delta, contrib, method)


def _exact_arithmetic(fw: Any, v0: dict[str, np.ndarray], w0: np.ndarray, w1: np.ndarray,
                      changed_idx: list[int]) -> np.ndarray:
    """c_k = E¹_p δ_k (x⁰_k − y⁰_p) / S¹_p, from the index down (E¹ = product of the new normalised weights)."""
    n = len(v0[fw.root])
    col = {i: j for j, i in enumerate(changed_idx)}
    out = np.zeros((n, len(changed_idx)))
    E = {fw.root: np.ones(n)}
    for code in reversed(list(fw.aggregates)):  # index first
        Ep = E.get(code)
        if Ep is None:
            continue
        i = fw.index_of(code)
        kids = np.flatnonzero(fw.parent == i)
        X = np.column_stack([v0[fw.codes[k]] for k in kids])
        ok = ~np.isnan(X)
        W1 = np.where(ok, w1[kids], 0.0)
        S1 = W1.sum(axis=1)
        live = (Ep > 0) & (S1 > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(live[:, None], W1 / S1[:, None], 0.0)
            for j, k in enumerate(kids.tolist()):
                E[fw.codes[k]] = Ep * share[:, j]
                if k in col:
                    dev = np.where(ok[:, j] & live, X[:, j] - v0[code], 0.0)
                    out[:, col[k]] = np.where(live, Ep * (w1[k] - w0[k]) * dev / np.where(live, S1, 1.0), 0.0)
    return out


def _shapley(fw: Any, norm: dict[str, np.ndarray], v0: dict[str, np.ndarray], w0: np.ndarray, w1: np.ndarray,
             changed_idx: list[int], methods: dict[str, str], min_availability: float | None,
             seed: int) -> tuple[np.ndarray, str]:
    """Shapley values φ_i = Σ_{S ∌ i} |S|!(m−|S|−1)!/m! · (v(S ∪ {i}) − v(S)): exact over all coalitions for
    m ≤ MAX_EXACT, else averaged marginal contributions over N_PERMUTATIONS seeded random orders."""
    m = len(changed_idx)
    root = fw.root
    cache: dict[frozenset[int], np.ndarray] = {}

    def v(S: frozenset[int]) -> np.ndarray:
        hit = cache.get(S)
        if hit is None:
            if not S:
                hit = v0[root]
            else:
                w = w0.copy()
                ids = [changed_idx[j] for j in S]
                w[ids] = w1[ids]
                hit = node_values(fw, norm, w, methods, min_availability, base=v0,
                                  dirty=_ancestors(fw, [fw.codes[k] for k in ids]))[root]
            cache[S] = hit
        return hit

    n = len(v0[root])
    phi = np.zeros((n, m))
    if m <= MAX_EXACT:
        fm = factorial(m)
        for i in range(m):
            others = [j for j in range(m) if j != i]
            for size in range(m):
                coef = factorial(size) * factorial(m - size - 1) / fm
                for comb in combinations(others, size):
                    fs = frozenset(comb)
                    phi[:, i] += coef * (v(fs | {i}) - v(fs))
        return phi, "shapley"
    rng = np.random.default_rng(seed)
    for _ in range(N_PERMUTATIONS):
        order = rng.permutation(m)
        prefix: frozenset[int] = frozenset()
        prev = v(prefix)
        for j in order:
            prefix = prefix | {int(j)}
            cur = v(prefix)
            phi[:, j] += cur - prev
            prev = cur
        cache.clear()  # prefixes rarely repeat across random orders; keep memory flat
    return phi / N_PERMUTATIONS, "shapley-sampled"
