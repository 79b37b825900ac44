"""Explain a change between two editions exactly: a Shapley decomposition over factor groups.

The factors of a change from edition A to edition B are

- one per indicator whose data changed: *all* units' values of that indicator go from A's to B's (normalisation
  couples units, so one city's new value moves everyone's normalised value);
- ``method``: the spec (framework, weights, pipeline, tiers) goes from A's to B's;
- ``coverage``: the set of units goes from A's to B's (entries come in with their B data, exits leave);
- ``denominators``: denominator columns go from A's to B's (only when they differ).

A *coalition* S of factors defines a hybrid build: B's state for the factors in S, A's for the others. Its value
v(S) is the score (or rank) of every unit, from a full engine rebuild of the hybrid data. The Shapley value of
factor i is the average, over all orders of switching factors from A to B, of the change when i is switched:

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S))

and Σ_i φ_i = v(N) − v(∅) = B − A holds exactly (efficiency). With up to ``max_exact`` factors (default 8,
i.e. 256 rebuilds) every coalition is built and the formula is exact. With more, indicators are grouped by
pillar (``groups="auto"``) or, for ``groups="indicator"``, orders are sampled (antithetic pairs); each sampled
order's marginals telescope to B − A, so the sampled contributions still add up to the total exactly, and each
carries a standard error (``Explanation.stderr``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine.data import IndexData
from hubindex.engine.pipeline import run
from hubindex.errors import StoreError

__all__ = ["explain", "Explanation", "HybridBuilder", "shapley_exact", "method_key"]


def method_key(spec: Any) -> str:
    """The spec without where its data lives: two editions with the same key use the same method."""
    d = spec.model_dump(mode="json", exclude={"base_dir", "name", "description", "version"})
    d["data"].pop("path", None)
    return json.dumps(d, sort_keys=True)


class HybridBuilder:
    """Builds hybrids of two editions' inputs and methods, caching one engine run per coalition."""

    def __init__(self, spec_a: Any, data_a: IndexData, spec_b: Any, data_b: IndexData,
                 groups: Mapping[str, Sequence[str]] | None = None) -> None:
        self.spec_a, self.spec_b = spec_a, spec_b
        self.data_a, self.data_b = data_a, data_b
        ua, ub = [str(u) for u in data_a.units], [str(u) for u in data_b.units]
        self.units = list(dict.fromkeys([*ub, *ua]))
        self.units_a, self.units_b = ua, ub
        inds = list(dict.fromkeys([*data_b.indicators, *data_a.indicators]))
        self.indicators = inds
        U, P = len(self.units), len(inds)
        pos = {u: i for i, u in enumerate(self.units)}
        self.ia = np.array([pos[u] for u in ua])
        self.ib = np.array([pos[u] for u in ub])
        XA = np.full((U, P), np.nan)
        XB = np.full((U, P), np.nan)
        ca = np.array([inds.index(c) for c in data_a.indicators], dtype=int)
        cb = np.array([inds.index(c) for c in data_b.indicators], dtype=int)
        XA[np.ix_(self.ia, ca)] = data_a.X
        XB[np.ix_(self.ib, cb)] = data_b.X
        in_a = np.zeros(U, bool)
        in_a[self.ia] = True
        in_b = np.zeros(U, bool)
        in_b[self.ib] = True
        # a unit's state for an indicator that only one edition has: use what exists
        only_b = ~in_a
        only_a = ~in_b
        XA[only_b] = XB[only_b]
        XB[only_a] = XA[only_a]
        has_a = np.isin(inds, list(data_a.indicators))
        has_b = np.isin(inds, list(data_b.indicators))
        XA[:, ~has_a] = XB[:, ~has_a]
        XB[:, ~has_b] = XA[:, ~has_b]
        self.XA, self.XB = XA, XB
        self.in_a, self.in_b = in_a, in_b
        # names / groups / denominators: B's where B has the unit
        self.names = np.empty(U, dtype=object)
        self.names[self.ia] = data_a.names
        self.names[self.ib] = data_b.names
        gnames = list(dict.fromkeys([*data_b.groups, *data_a.groups]))
        self.groups = {}
        for g in gnames:
            v = np.full(U, None, dtype=object)
            if g in data_a.groups:
                v[self.ia] = data_a.groups[g]
            if g in data_b.groups:
                v[self.ib] = data_b.groups[g]
            self.groups[g] = v
        dnames = list(dict.fromkeys([*data_b.denominators, *data_a.denominators]))
        self.den_a, self.den_b = {}, {}
        for d in dnames:
            va, vb = np.full(U, np.nan), np.full(U, np.nan)
            if d in data_a.denominators:
                va[self.ia] = data_a.denominators[d]
            if d in data_b.denominators:
                vb[self.ib] = data_b.denominators[d]
            va = np.where(np.isnan(va), vb, va)
            vb = np.where(np.isnan(vb), va, vb)
            self.den_a[d], self.den_b[d] = va, vb
        # factors
        both = in_a & in_b
        changed = [c for j, c in enumerate(inds)
                   if not np.array_equal(XA[both, j], XB[both, j], equal_nan=True)]
        self.changed_indicators = changed
        if groups is None:
            groups = {c: [c] for c in changed}
        self.data_factors = {k: [c for c in v if c in changed] for k, v in groups.items()}
        self.data_factors = {k: v for k, v in self.data_factors.items() if v}
        factors = list(self.data_factors)
        self.method_changed = method_key(spec_a) != method_key(spec_b)
        if self.method_changed:
            factors.append("method")
        self.coverage_changed = not (in_a.all() and in_b.all())
        if self.coverage_changed:
            factors.append("coverage")
        self.den_changed = any(not np.array_equal(self.den_a[d], self.den_b[d], equal_nan=True)
                               for d in self.den_a)
        if self.den_changed:
            factors.append("denominators")
        self.factors = factors
        self._col = {k: np.array([inds.index(c) for c in v]) for k, v in self.data_factors.items()}
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.n_builds = 0

    def data_for(self, mask: int) -> tuple[Any, IndexData]:
        """The spec and engine input of coalition ``mask`` (bit i set = factor i in B's state)."""
        on = {f for i, f in enumerate(self.factors) if mask >> i & 1}
        X = self.XA.copy()
        for k, cols in self._col.items():
            if k in on:
                X[:, cols] = self.XB[:, cols]
        spec = self.spec_b if "method" in on else self.spec_a
        keep = self.in_b if "coverage" in on else self.in_a
        if not self.coverage_changed:
            keep = self.in_a
        dens = self.den_b if "denominators" in on else self.den_a
        inds = [n.code for n in spec.framework if n.code not in {m.parent for m in spec.framework}]
        missing = [c for c in inds if c not in self.indicators]
        if missing:
            raise StoreError(f"the method of one edition needs indicator(s) {missing}, which neither edition has")
        take = [self.indicators.index(c) for c in inds]
        order = np.flatnonzero(keep)
        order = order[np.argsort(np.array(self.units, dtype=object)[order], kind="stable")]
        data = IndexData(np.array(self.units, dtype=object)[order], self.names[order], tuple(inds),
                         X[np.ix_(order, np.array(take, dtype=int))], {g: v[order] for g, v in self.groups.items()},
                         {d: v[order] for d, v in dens.items()})
        return spec, data

    def prefill(self, max_factors: int = 12) -> bool:
        """Compute every coalition's (scores, ranks) at once, without a rebuild per coalition, when that is exact.

        Applies when only data factors differ (same method, coverage and denominators), the pipeline is
        column-wise (the column fast path of :class:`~hubindex.store.WhatIf`) and screening keeps the same units
        in every coalition. Then each indicator's normalised column has two states, A's and B's (each computed
        once through the real column pipeline), a coalition's normalised matrix takes B's columns for its factors,
        and the index follows by the engine's aggregators on the whole batch (M coalitions × units × indicators);
        ranks as the engine ranks (``rank_desc`` of scores rounded to ``RANK_DECIMALS``). Checked against full
        rebuilds of the all-A and all-B coalitions (scores to 1e-9, ranks equal); on any mismatch nothing is
        stored and :meth:`value` rebuilds as before. Returns whether the cache was filled.
        """
        from hubindex.engine._rank import rank_desc
        from hubindex.engine._screen import screen_units
        from hubindex.engine.pipeline import RANK_DECIMALS
        from hubindex.store._whatif import WhatIf

        n = len(self.factors)
        if n == 0 or n > max_factors or self.method_changed or self.coverage_changed or self.den_changed:
            return False
        spec, data0 = self.data_for(0)
        full = (1 << n) - 1
        _, data1 = self.data_for(full)
        try:
            wi = WhatIf(spec, data0, scopes=None)
        except Exception:  # noqa: BLE001 - any failure: rebuild coalition by coalition
            return False
        if not wi.fast:
            return False
        masks = np.arange(1 << n)
        on = np.array([[m >> i & 1 for i in range(n)] for m in masks], dtype=bool)  # (M, n factors)
        inds = list(data0.indicators)
        fcols = [[inds.index(c) for c in self.data_factors[f]] for f in self.factors]
        st = spec.step("screen")
        if st is not None:
            if st.include or st.exclude:
                return False
            for m in range(len(masks)):
                X = np.array(data0.X, dtype=float)
                for i in range(n):
                    if on[m, i]:
                        X[:, fcols[i]] = data1.X[:, fcols[i]]
                if not np.array_equal(screen_units(X, st.min_availability, st.max_zero_share).keep, wi.keep):
                    return False
        p = len(inds)
        ZA = wi.base.scores[list(wi.inds)].to_numpy(dtype=float)  # (units kept, p): normalised, A's data
        ZB = ZA.copy()
        try:
            for i in range(n):
                for j in fcols[i]:
                    ZB[:, j] = wi.normalised_column(j, np.asarray(data1.X[:, j], dtype=float)[wi.keep][:, None])[:, 0]
        except Exception:  # noqa: BLE001
            return False
        col_on = np.zeros((len(masks), p), dtype=bool)
        for i in range(n):
            col_on[np.ix_(on[:, i], np.asarray(fcols[i], dtype=int))] = True
        Z = np.where(col_on[:, None, :], ZB[None], ZA[None])  # (M, units, p)
        S = self._aggregate_batch(wi, Z)
        K = rank_desc(np.round(S, RANK_DECIMALS))
        pos = {u: i for i, u in enumerate(self.units)}
        idx = np.array([pos[u] for u in wi.units], dtype=int)
        vals: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for mi in range(len(masks)):
            s = np.full(len(self.units), np.nan)
            k = np.full(len(self.units), np.nan)
            s[idx], k[idx] = S[mi], K[mi]
            vals[mi] = (s, k)
        for m in (0, int(full)):  # the check: two full rebuilds
            spec_m, data_m = self.data_for(m)
            r = run(spec_m, data_m)
            s_ref = r.scores[r.index_code].reindex(wi.units).to_numpy(dtype=float)
            k_ref = r.ranks[r.index_code].reindex(wi.units).to_numpy(dtype=float)
            if not (np.allclose(S[m], s_ref, rtol=0, atol=1e-9, equal_nan=True)
                    and np.array_equal(K[m], k_ref, equal_nan=True)):
                return False
        self.cache.update(vals)
        self.n_builds += 2
        return True

    @staticmethod
    def _aggregate_batch(wi: Any, Z: np.ndarray) -> np.ndarray:
        """Index scores (M, n) from normalised indicator matrices Z (M, n, p): the engine's aggregators, level by
        level up the tree, on the whole batch."""
        from hubindex.engine import pipeline as pl

        fw = wi.fw
        agg = wi.spec.step("aggregate")
        M, n, _ = Z.shape
        vals: dict[str, np.ndarray] = {c: Z[:, :, j] for j, c in enumerate(wi.inds)}
        order = sorted((i for i, c in enumerate(fw.codes) if c not in vals), key=lambda i: int(fw.level[i]))
        for pi in order:
            kids = np.flatnonzero(fw.parent == pi)
            C = np.stack([vals[fw.codes[k]] for k in kids], axis=-1)  # (M, n, k)
            method = agg.by_level.get(int(fw.level[pi]), agg.method)
            try:
                v = np.asarray(pl._aggregate(C, wi.w[kids], method, min_availability=agg.min_availability),
                               dtype=float).reshape(M, n)
            except (ValueError, IndexError):
                v = np.stack([np.asarray(pl._aggregate(C[b], wi.w[kids], method,
                                                       min_availability=agg.min_availability), dtype=float)
                              for b in range(M)])
            vals[fw.codes[pi]] = v
        return vals[wi.root]

    def value(self, mask: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ranks) of every unit (NaN where absent) in coalition ``mask``; cached."""
        hit = self.cache.get(mask)
        if hit is not None:
            return hit
        spec, data = self.data_for(mask)
        r = run(spec, data)
        s = np.full(len(self.units), np.nan)
        k = np.full(len(self.units), np.nan)
        pos = {u: i for i, u in enumerate(self.units)}
        idx = np.array([pos[str(u)] for u in r.scores.index], dtype=int)
        s[idx] = r.scores[r.index_code].to_numpy(dtype=float)
        k[idx] = r.ranks[r.index_code].to_numpy(dtype=float)
        self.cache[mask] = (s, k)
        self.n_builds += 1
        return s, k


def shapley_exact(v: np.ndarray) -> np.ndarray:
    """Exact Shapley values from the values of all 2^n coalitions.

    ``v`` has shape (2^n, …) with v[mask] the value of coalition ``mask``; returns shape (n, …).
    """
    m = v.shape[0]
    n = int(round(math.log2(m)))
    if 1 << n != m:
        raise ValueError("v must have 2^n rows")
    out = np.zeros((n, *v.shape[1:]))
    fact = [math.factorial(k) for k in range(n + 1)]
    sizes = np.array([bin(s).count("1") for s in range(m)])
    for i in range(n):
        bit = 1 << i
        without = np.array([s for s in range(m) if not s & bit], dtype=int)
        w = np.array([fact[sizes[s]] * fact[n - sizes[s] - 1] / fact[n] for s in without])
        diff = v[without | bit] - v[without]
        out[i] = np.tensordot(w, diff, axes=(0, 0))
    return out


@dataclass(frozen=True)
class Explanation:
    """Contributions of each factor to every unit's score and rank change from ``a`` to ``b``.

    ``score`` / ``rank``: unit × (factors…, ``total``, ``residual``); ``total`` is B − A as published,
    ``residual`` = total − Σ contributions (≈ 0; the reproduction error of the rebuilds). Rank contributions
    are in rank places (negative = moved up). ``stderr``: standard errors of sampled contributions (0 if exact).
    """

    a: str
    b: str
    factors: list[str]
    factor_indicators: Mapping[str, list[str]]
    method: str  # "exact" or "sampled (P orders)"
    score: pd.DataFrame
    rank: pd.DataFrame
    stderr: pd.DataFrame
    rank_stderr: pd.DataFrame
    names: pd.Series
    n_builds: int
    seconds: float
    reproduction_error: float
    _scores_a: pd.Series = field(repr=False)
    _scores_b: pd.Series = field(repr=False)
    _ranks_a: pd.Series = field(repr=False)
    _ranks_b: pd.Series = field(repr=False)
    _phi_units: pd.DataFrame = field(repr=False)

    def for_unit(self, unit: str, top: int | None = None) -> pd.DataFrame:
        """One unit's contributions, largest in size first: factor, score contribution, rank contribution."""
        if unit not in self.score.index:
            raise StoreError(f"unit '{unit}' is not in both editions {self.a} and {self.b}")
        t = pd.DataFrame({"factor": self.factors,
                          "indicators": [", ".join(self.factor_indicators.get(f, [])) for f in self.factors],
                          "score": self.score.loc[unit, self.factors].to_numpy(dtype=float),
                          "score_se": self.stderr.loc[unit, self.factors].to_numpy(dtype=float),
                          "rank": self.rank.loc[unit, self.factors].to_numpy(dtype=float)})
        t = t.reindex(t["score"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
        return t.head(top) if top else t

    def overtakes(self, unit: str) -> pd.DataFrame:
        """Units that overtook ``unit`` (below it in A, above in B) or fell behind it, and why: the change of
        their score gap to ``unit`` split by factor; ``main_factor`` is the factor that moved the gap most in
        the direction it moved. Entries that rank above it in B and exits that ranked above it in A appear
        with ``how = entry/exit``."""
        ra, rb = self._ranks_a, self._ranks_b
        if unit not in ra.index or unit not in rb.index or np.isnan(ra[unit]) or np.isnan(rb[unit]):
            raise StoreError(f"unit '{unit}' is not ranked in both editions")
        rows = []
        phi = self._phi_units
        for d in phi.index.union(ra.dropna().index).union(rb.dropna().index):
            if d == unit:
                continue
            a_d, b_d = ra.get(d, np.nan), rb.get(d, np.nan)
            if np.isnan(a_d) and not np.isnan(b_d) and b_d < rb[unit]:
                rows.append({"unit": d, "name": self.names.get(d), "how": "entry", "rank_a": np.nan,
                             "rank_b": b_d, "gap_change": np.nan, "main_factor": "coverage"})
                continue
            if np.isnan(b_d) and not np.isnan(a_d) and a_d < ra[unit]:
                rows.append({"unit": d, "name": self.names.get(d), "how": "exit", "rank_a": a_d, "rank_b": np.nan,
                             "gap_change": np.nan, "main_factor": "coverage"})
                continue
            if np.isnan(a_d) or np.isnan(b_d):
                continue
            if a_d > ra[unit] and b_d < rb[unit]:
                how = "overtook"
            elif a_d < ra[unit] and b_d > rb[unit]:
                how = "fell behind"
            else:
                continue
            contrib = phi.loc[d] - phi.loc[unit]  # gap (other − unit) change by factor
            gap = (self._scores_b[d] - self._scores_b[unit]) - (self._scores_a[d] - self._scores_a[unit])
            sign = 1.0 if how == "overtook" else -1.0
            main = contrib.idxmax() if sign > 0 else contrib.idxmin()
            row = {"unit": d, "name": self.names.get(d), "how": how, "rank_a": a_d, "rank_b": b_d,
                   "gap_change": gap, "main_factor": main}
            row |= {f"gap_{f}": float(contrib[f]) for f in self.factors}
            rows.append(row)
        out = pd.DataFrame(rows)
        if out.empty:
            return out
        return out.sort_values(["how", "rank_b"], kind="stable").reset_index(drop=True)


def _groups_by_pillar(spec: Any, indicators: Sequence[str]) -> dict[str, list[str]]:
    parent = {n.code: n.parent for n in spec.framework}
    root = next(n.code for n in spec.framework if n.parent is None)
    out: dict[str, list[str]] = {}
    for c in indicators:
        p = c
        while parent.get(p) is not None and parent.get(p) != root:
            p = parent[p]
        key = p if parent.get(p) == root else "other"
        out.setdefault(key, []).append(c)
    return out


def _group_levels(spec: Any) -> list[int]:
    from hubindex.engine.framework import Framework

    fw = Framework.from_nodes(spec.framework)
    root = int(fw.level[fw.index_of(fw.root)])
    return sorted({int(x) for x in fw.level if 1 < int(x) < root})


def _groups_at_level(spec: Any, indicators: Sequence[str], level: int) -> dict[str, list[str]]:
    """Indicators grouped by their ancestor at ``level`` (an indicator without one is its own group)."""
    from hubindex.engine.framework import Framework

    fw = Framework.from_nodes(spec.framework)
    out: dict[str, list[str]] = {}
    for c in indicators:
        key = c
        if c in fw.codes:
            for a in fw.ancestors(c):
                if fw.level_of(a) == level:
                    key = a
                    break
        out.setdefault(key, []).append(c)
    return out


def explain(a: Any, b: Any, *, store: Any = None, groups: str | Mapping[str, Sequence[str]] = "auto",
            max_exact: int = 8, n_orders: int = 64, seed: int = 0, fast: bool = True) -> Explanation:
    """Decompose every unit's score and rank change from edition ``a`` to ``b`` into factor contributions.

    ``a``/``b``: Edition objects, or labels of ``store``. ``groups``: ``"auto"`` (indicators if the factors
    number at most ``max_exact``, else pillars, else sampled indicators), ``"indicator"``, ``"pillar"``, or a
    mapping {factor name: [indicator codes]}. Sampling uses ``n_orders`` orders (antithetic pairs). ``fast``:
    compute all coalitions in one batch where that is exact (:meth:`HybridBuilder.prefill`, checked against full
    rebuilds); ``False`` rebuilds every coalition.
    """
    t0 = time.perf_counter()
    if not hasattr(a, "index_data"):
        if store is None:
            raise StoreError("explain: pass Edition objects, or labels together with store=")
        a, b = store.get(a), store.get(b)
    spec_a, spec_b = a.spec, b.spec
    da, db = a.index_data(), b.index_data()
    hb = HybridBuilder(spec_a, da, spec_b, db)
    extra = len(hb.factors) - len(hb.data_factors)
    if isinstance(groups, Mapping):
        hb = HybridBuilder(spec_a, da, spec_b, db, groups=groups)
    elif groups == "pillar":
        hb = HybridBuilder(spec_a, da, spec_b, db, groups=_groups_by_pillar(spec_b, hb.changed_indicators))
    elif groups == "auto" and len(hb.factors) > max_exact:
        # the finest level of the tree whose groups are few enough for the exact formula
        for lv in _group_levels(spec_b):
            g = _groups_at_level(spec_b, hb.changed_indicators, lv)
            if len(g) + extra <= max_exact:
                hb = HybridBuilder(spec_a, da, spec_b, db, groups=g)
                break
    elif groups not in ("auto", "indicator"):
        raise StoreError(f"explain: groups must be 'auto', 'indicator', 'pillar' or a mapping, got {groups!r}")
    n = len(hb.factors)
    U = len(hb.units)
    rng = np.random.default_rng(seed)
    if fast:
        hb.prefill()
    if n <= max_exact:
        masks = range(1 << n)
        V = np.stack([np.stack(hb.value(m)) for m in masks])  # (2^n, 2, U)
        phi = shapley_exact(V)  # (n, 2, U)
        se = np.zeros_like(phi)
        how = "exact"
    else:
        pairs = max(1, n_orders // 2)
        samples = np.zeros((pairs, n, 2, U))
        full = (1 << n) - 1
        for p in range(pairs):
            perm = rng.permutation(n)
            for order in (perm, perm[::-1]):
                mask = 0
                prev = np.stack(hb.value(0))
                for i in order:
                    mask |= 1 << int(i)
                    cur = np.stack(hb.value(mask))
                    samples[p, i] += 0.5 * (cur - prev)
                    prev = cur
                assert mask == full
        phi = samples.mean(0)
        se = samples.std(0, ddof=1) / np.sqrt(pairs) if pairs > 1 else np.full_like(phi, np.nan)
        how = f"sampled ({2 * pairs} orders, antithetic pairs)"
    s0, k0 = hb.value(0)
    s1, k1 = hb.value((1 << n) - 1)
    units = hb.units
    sa = a.scores[a.index_code].reindex(units).to_numpy(dtype=float)
    sb = b.scores[b.index_code].reindex(units).to_numpy(dtype=float)
    ka = a.ranks[a.index_code].reindex(units).to_numpy(dtype=float)
    kb = b.ranks[b.index_code].reindex(units).to_numpy(dtype=float)
    rep = float(np.nanmax(np.abs(np.concatenate([s0 - sa, s1 - sb]))) if U else 0.0)
    both = hb.in_a & hb.in_b

    def table(k: int, total: np.ndarray) -> pd.DataFrame:
        t = pd.DataFrame(phi[:, k, :].T, index=pd.Index(units, name="unit"), columns=hb.factors)
        t["total"] = total
        t["residual"] = total - t[hb.factors].sum(axis=1)
        return t[both]

    score = table(0, sb - sa)
    rank = table(1, kb - ka)
    stderr = pd.DataFrame(se[:, 0, :].T, index=pd.Index(units, name="unit"), columns=hb.factors)[both]
    rstderr = pd.DataFrame(se[:, 1, :].T, index=pd.Index(units, name="unit"), columns=hb.factors)[both]
    idx = pd.Index(units, name="unit")
    return Explanation(
        a=a.ref, b=b.ref, factors=list(hb.factors),
        factor_indicators={**hb.data_factors, "method": [], "coverage": [], "denominators": []},
        method=how, score=score, rank=rank, stderr=stderr, rank_stderr=rstderr,
        names=pd.Series(hb.names, index=idx), n_builds=hb.n_builds, seconds=time.perf_counter() - t0,
        reproduction_error=rep,
        _scores_a=pd.Series(sa, index=idx), _scores_b=pd.Series(sb, index=idx),
        _ranks_a=pd.Series(ka, index=idx), _ranks_b=pd.Series(kb, index=idx),
        _phi_units=score[hb.factors],
    )

