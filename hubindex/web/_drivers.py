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

__all__ = ["Decomposition", "MAX_EXACT", "N_PERMUTATIONS", "Tree", "decompose", "node_values"]

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


@dataclass(frozen=True)
class Tree:
    """The framework's structure as plain Python lookups, built once per index (``Framework``'s ``aggregates``,
    ``root``, ``children`` and ``index_of`` recompute on every call): aggregates in computation order (ascending
    level), each aggregate's child positions and codes, each node's ancestors."""

    codes: tuple[str, ...]
    pos: dict[str, int]  #: code → position in ``codes``
    root: str
    aggregates: tuple[str, ...]  #: ascending level, as ``Framework.aggregates``
    kids: dict[str, np.ndarray]  #: aggregate → child positions (ascending)
    kid_codes: dict[str, tuple[str, ...]]
    ancestors: dict[str, tuple[str, ...]]  #: node → parent, grandparent, …, root
    parent: np.ndarray  #: as ``Framework.parent`` (−1 for the root)

    @classmethod
    def of(cls, fw: Any) -> Tree:
        codes = tuple(fw.codes)
        parent = np.asarray(fw.parent)
        aggregates = tuple(fw.aggregates)
        pos = {c: i for i, c in enumerate(codes)}
        kids = {a: np.flatnonzero(parent == pos[a]) for a in aggregates}
        up: dict[str, tuple[str, ...]] = {}
        for i, c in enumerate(codes):
            chain, p = [], int(parent[i])
            while p >= 0:
                chain.append(codes[p])
                p = int(parent[p])
            up[c] = tuple(chain)
        return cls(codes, pos, fw.root, aggregates, kids, {a: tuple(codes[k] for k in kids[a]) for a in aggregates},
                   up, parent)

    def dirty(self, codes: Any) -> set[str]:
        """The aggregates whose value depends on the weight of any of ``codes``: their ancestors."""
        out: set[str] = set()
        for c in codes:
            out.update(self.ancestors[c])
        return out

    def first_all_zero(self, w: np.ndarray) -> str | None:
        """The first aggregate (in computation order) all of whose children have weight 0 in ``w``, or None."""
        child = self.parent >= 0
        positive = np.bincount(self.parent[child], weights=(w[child] > 0), minlength=len(self.codes))
        return next((a for a in self.aggregates if positive[self.pos[a]] == 0), None)


def node_values(fw: Any, norm: dict[str, np.ndarray], w: np.ndarray, methods: dict[str, str],
                min_availability: float | None, base: dict[str, np.ndarray] | None = None,
                dirty: set[str] | None = None, tree: Tree | None = None) -> dict[str, np.ndarray]:
    """Every node's score: indicators from ``norm``; each aggregate, in ascending level, y = AGG(children; w)
    with its method (``methods[code]``), as the engine does. With ``base`` and ``dirty``, only the aggregates in
    ``dirty`` are recomputed and the others are taken from ``base``. ``tree``: ``Tree.of(fw)``, if at hand."""
    t = tree if tree is not None else Tree.of(fw)
    vals = dict(norm) if base is None else dict(base)
    for code in t.aggregates:
        if dirty is not None and code not in dirty:
            continue
        kids = t.kids[code]
        C = np.column_stack([vals[c] for c in t.kid_codes[code]])
        vals[code] = aggregate(C, w[kids], methods[code], min_availability=min_availability)
    return vals


def _same_availability(t: Tree, v0: dict[str, np.ndarray], v1: dict[str, np.ndarray],
                       only: set[str] | None = None) -> np.ndarray:
    """(n_units,) True where every node is missing under both weightings or under neither (``only``: the
    aggregates that may differ; the others are the same arrays in both)."""
    ok = np.ones(len(v0[t.root]), dtype=bool)
    for c in t.aggregates:
        if only is None or c in only:
            ok &= np.isnan(v0[c]) == np.isnan(v1[c])
    return ok


def decompose(fw: Any, norm: dict[str, np.ndarray], w0: np.ndarray, w1: np.ndarray, methods: dict[str, str],
              min_availability: float | None, *, seed: int = 0, tree: Tree | None = None,
              v0: dict[str, np.ndarray] | None = None, v1: dict[str, np.ndarray] | None = None) -> Decomposition:
    """Split each unit's index score change from weights ``w0`` to ``w1`` (arrays in ``fw.codes`` order) into
    one contribution per changed weight (see the module doc for the formulas).

    ``tree`` (``Tree.of(fw)``), ``v0`` (``node_values`` at ``w0``) and ``v1`` (at ``w1``, or ``v0`` with the
    ancestors of the changed weights re-aggregated) are used as given when passed, so a caller that already
    holds them does not compute them again; the result is the same."""
    t = tree if tree is not None else Tree.of(fw)
    w0 = np.asarray(w0, dtype=float)
    w1 = np.asarray(w1, dtype=float)
    changed_idx = np.flatnonzero((t.parent >= 0) & (w0 != w1)).tolist()
    changed = [t.codes[i] for i in changed_idx]
    if v0 is None:
        v0 = node_values(fw, norm, w0, methods, min_availability, tree=t)
    root = t.root
    n = len(v0[root])
    if not changed:
        return Decomposition([], np.zeros(n) * np.where(np.isnan(v0[root]), np.nan, 1.0),
                             np.zeros((n, 0)), "exact")
    dirty = t.dirty(changed)
    if v1 is None:
        v1 = node_values(fw, norm, w1, methods, min_availability, base=v0, dirty=dirty, tree=t)
    delta = v1[root] - v0[root]
    good = _same_availability(t, v0, v1, dirty) & ~np.isnan(delta)
    if all(m == "arithmetic" for m in methods.values()):
        contrib = _exact_arithmetic(t, v0, w0, w1, changed_idx, dirty)
        method = "exact"
    else:
        contrib, method = _shapley(t, fw, norm, v0, w0, w1, changed_idx, methods, min_availability, seed)
    contrib[~good] = np.nan
    return Decomposition(changed, delta, contrib, method)


def _exact_arithmetic(t: Tree, v0: dict[str, np.ndarray], w0: np.ndarray, w1: np.ndarray,
                      changed_idx: list[int], dirty: set[str]) -> np.ndarray:
    """c_k = E¹_p δ_k (x⁰_k − y⁰_p) / S¹_p, from the index down (E¹ = product of the new normalised weights).

    Only the aggregates in ``dirty`` (the ancestors of the changed weights) are visited: every changed node's
    parent is one of them, and E¹ is needed only on the paths from the index to them."""
    n = len(v0[t.root])
    col = {i: j for j, i in enumerate(changed_idx)}
    out = np.zeros((n, len(changed_idx)))
    E = {t.root: np.ones(n)}
    for code in reversed(t.aggregates):  # index first
        if code not in dirty:
            continue
        Ep = E[code]
        kids = t.kids[code]
        X = np.column_stack([v0[c] for c in t.kid_codes[code]])
        ok = ~np.isnan(X)
        W1 = np.where(ok, w1[kids], 0.0)
        S1 = W1.sum(axis=1)
        live = (Ep > 0) & (S1 > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(live[:, None], W1 / S1[:, None], 0.0)
            for j, (k, c) in enumerate(zip(kids.tolist(), t.kid_codes[code], strict=True)):
                if c in dirty:
                    E[c] = Ep * share[:, j]
                if k in col:
                    dev = np.where(ok[:, j] & live, X[:, j] - v0[code], 0.0)
                    out[:, col[k]] = np.where(live, Ep * (w1[k] - w0[k]) * dev / np.where(live, S1, 1.0), 0.0)
    return out


def _shapley(t: Tree, fw: Any, norm: dict[str, np.ndarray], v0: dict[str, np.ndarray], w0: np.ndarray, w1: np.ndarray,
             changed_idx: list[int], methods: dict[str, str], min_availability: float | None,
             seed: int) -> tuple[np.ndarray, str]:
    """Shapley values φ_i = Σ_{S ∌ i} |S|!(m−|S|−1)!/m! · (v(S ∪ {i}) − v(S)): exact over all coalitions for
    m ≤ MAX_EXACT, else averaged marginal contributions over N_PERMUTATIONS seeded random orders."""
    m = len(changed_idx)
    root = t.root
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
                                  dirty=t.dirty(t.codes[k] for k in ids), tree=t)[root]
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
