"""What it takes: the change a city needs to reach a goal, and its best and worst rank over admissible weights.

Goals: ``rank=k`` (rank k or better), ``tier="next"`` (the next tier up), ``beat=UNIT`` (at least that unit's
score).

City levers and national context. Every indicator value has a provenance scope (column :data:`SCOPE_COLUMN` of
the dataset's ``provenance_<edition>.csv``): ``city`` (the city's own figure) or anything else (a country proxy,
a modelled value). Only city-scope values are *levers*: by default the single-indicator table and the plan move
only them. A national value is *national context*: what would change if the country moved — the value of every
city of that country that is national too (same ``country`` group, non-city scope) moves with it, by the same
ratio (a country proxy takes the same new value; a modelled value keeps its city covariate).
``include_national=True`` brings national values back into the plan. A spec without provenance treats every
indicator as a lever (``WhatIf.scope_note`` says so).

Whole steps. A count (:func:`is_count`: the spec's ``unit`` is ``count``/``number``/``#``/``number of …``, or
the indicator is non-negative, open above, integer-valued in the data and its unit has no %, currency or
magnitude) moves in whole steps: the single-indicator value is the first whole number reaching the goal, and the
plan's steps are integers (a small MILP). Changes of bounded or signed scales (a percentage in [0, 100], an
estimate in [-2.5, 2.5]) are absolute, in their own unit: ``change_pct`` is only given on open ratio scales
(lower bound ≥ 0, no upper bound).

- :meth:`WhatIf.single` — for each indicator alone, the smallest change of the city's *raw* value (in the
  indicator's own unit) that reaches the goal, through the real pipeline (denominate, impute, treat, normalise,
  aggregate; min-max depends on the max, so a new maximum rescales every city). Every candidate value is a
  rebuild of that one column for all cities and of its ancestors' scores (the other columns are unchanged), run
  in batches: a grid over the search range, then three rounds of refinement of the first grid cell that reaches
  the goal (resolution ≈ range / 32⁴). The value found is checked by a full engine rebuild (``verified``).
  If the goal is not monotone in the value (treatment thresholds), the value is the smallest one found on the
  refined grid. Values stay within each indicator's natural range (``Node.bounds`` in the spec, ∩ explicit
  ``bounds``): a goal that needs more is "not reachable with this indicator alone", naming the bound and the
  value it would take.
- :meth:`WhatIf.combination` — the cheapest combination over several indicators: a linear program (SciPy
  ``linprog``, HiGHS) on *normalised* values with the linear arithmetic aggregation (score = Σ effective weight ×
  normalised value), other cities held fixed, the natural bounds as variable bounds; each indicator's gain is
  then translated back to its raw unit
  through the real column pipeline, and the joint change is checked with a full rebuild. The approximation
  (others held fixed, i.e. no new maximum and no change of treatment) is stated in the result.
- :func:`rank_range` — each city's best and worst rank over all weight vectors within bounds (weights of the
  pillars, or of the indicators, summing to 1): scores are linear in those weights, so for each pair of cities
  the smallest and largest score gap is an LP (solved in closed form as a fractional knapsack); the pairs that
  can go either way are settled by one mixed-integer LP per city (SciPy ``milp``, HiGHS) — unless a vertex of
  the admissible weights already puts none (best) or all (worst) of them above the city, which is the bound no
  MILP can beat.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from hubindex.engine._rank import rank_desc
from hubindex.engine.data import IndexData
from hubindex.engine.pipeline import RANK_DECIMALS, run
from hubindex.errors import ComputeError, HubindexError, SpecError

__all__ = ["WhatIf", "Goal", "rank_range", "rank_range_matrix", "rank_range_enumerate", "weight_extremes",
           "SCOPE_COLUMN", "CITY_SCOPE", "load_scopes", "is_count", "is_ratio_scale"]

_COLUMNWISE_IMPUTE = {"none", "mean", "median", "group_mean", "group_median"}

#: provenance column naming the level of a value: ``city`` = the city's own figure (a lever); anything else
#: (``country`` = a national proxy, a modelled value, …) is national context.
SCOPE_COLUMN = "scope"
CITY_SCOPE = "city"
#: the group that says which cities share a national value
COUNTRY_GROUP = "country"
_COUNT_WORDS = ("count", "number", "#", "n")
_NOT_COUNT_MARKS = ("%", "$", "€", "£", "¥", "bn", "billion", "million", "per ", "/", "index", "estimate", "score",
                    "rate", "share", "ratio", "usd", "eur", "gdp", "ppp")


def load_scopes(spec: Any) -> pd.DataFrame | None:
    """The unit × indicator provenance of ``spec``'s data: ``provenance_<edition>.csv`` next to a
    ``fintech_hubs_<edition>.csv`` data file, else ``provenance.csv`` next to the data file; ``None`` when there is
    none or it has no unit / indicator / :data:`SCOPE_COLUMN` columns (then every indicator is a lever)."""
    from pathlib import Path

    data = getattr(spec, "data", None)
    if data is None:
        return None
    for rel in data.paths:
        try:
            p = Path(spec.resolve(rel))
        except Exception:  # noqa: BLE001 - a spec without a resolvable path simply has no provenance
            continue
        cands = [p.with_name("provenance.csv")]
        if p.stem.startswith("fintech_hubs_"):
            cands.insert(0, p.with_name(f"provenance_{p.stem.removeprefix('fintech_hubs_')}.csv"))
        for c in cands:
            if not c.exists():
                continue
            try:
                df = pd.read_csv(c, keep_default_na=False, na_values=[""], dtype=str)
            except Exception:  # noqa: BLE001 - provenance is optional context
                continue
            if {"unit", "indicator", SCOPE_COLUMN} <= set(df.columns):
                df = df[["unit", "indicator", SCOPE_COLUMN]].copy()
                df.attrs["path"] = str(c)
                return df
    return None


def is_count(node: Any, values: np.ndarray | None = None) -> bool:
    """Whether indicator ``node`` moves in whole steps: its ``unit`` is a count word (``count``, ``number``,
    ``#``, ``number of …``), or — with a unit free of %, currency, magnitude and rate words — its natural range is
    [0, open) and every observed value is a whole number (e.g. ``destinations``)."""
    u = (node.unit or "").strip().lower()
    if u.split(" ")[0] in _COUNT_WORDS if u else False:
        return True
    if not u or any(m in u for m in _NOT_COUNT_MARKS) or any(ch.isdigit() for ch in u):
        return False
    b = node.bounds
    if b is None or b[0] is None or float(b[0]) < 0 or b[1] is not None or values is None:
        return False
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return bool(len(v)) and bool(np.all(v == np.round(v)))


def is_ratio_scale(node: Any, lim: tuple[float, float]) -> bool:
    """A relative change (%) means something only on an open ratio scale: lower bound ≥ 0 and no upper bound.
    Bounded scales (a percentage in [0, 100]) and signed ones (an estimate in [−2.5, 2.5]) change in absolute
    terms, in their own unit."""
    return bool(np.isfinite(lim[0]) and lim[0] >= 0 and not np.isfinite(lim[1]))


@dataclass(frozen=True)
class Goal:
    """rank k or better; the next tier up; or at least the score of unit ``beat``."""

    rank: int | None = None
    tier: str | None = None
    beat: str | None = None

    def describe(self) -> str:
        if self.rank is not None:
            return f"rank {self.rank} or better"
        if self.tier is not None:
            return f"tier '{self.tier}'"
        return f"the score of {self.beat}"


def _ranks_of(scores: np.ndarray, c: int) -> np.ndarray:
    """Rank of unit ``c`` in each row of ``scores`` (B, n), exactly as the engine ranks: ``rank_desc`` (1 + number
    of units strictly above, ties share the best place) on scores rounded to ``RANK_DECIMALS``."""
    return rank_desc(np.round(np.asarray(scores, dtype=float), RANK_DECIMALS))[:, c]


def _rank_in_row(s: np.ndarray, c: int) -> int:
    """Rank of unit ``c`` in one row of scores, as :func:`_ranks_of` (1 + units strictly above after rounding)."""
    r = np.round(np.asarray(s, dtype=float), RANK_DECIMALS)
    return int(1 + np.count_nonzero(r > r[c]))


class WhatIf:
    """What-it-takes calculations for one build (a spec and its engine input)."""

    def __init__(self, spec: Any, data: IndexData, scopes: Any = "auto") -> None:
        """``scopes``: the values' provenance — ``"auto"`` (read it next to the spec's data file, see
        :func:`load_scopes`), a DataFrame with columns unit, indicator and :data:`SCOPE_COLUMN`, or ``None``
        (no provenance: every indicator is a city lever)."""
        self.spec = spec
        self.data = data
        self.base = run(spec, data)
        r = self.base
        self.fw = r.framework
        self.units = [str(u) for u in r.scores.index]
        self.upos = {u: i for i, u in enumerate(self.units)}
        self.nodes = {n.code: n for n in spec.framework}
        self.inds = list(self.fw.indicators)
        self.root = self.fw.root
        self.values = {c: r.scores[c].to_numpy(dtype=float) for c in self.fw.codes}
        self.w = r.weights["weight"].reindex(list(self.fw.codes)).to_numpy(dtype=float)
        keep = np.isin(np.array([str(u) for u in data.units]), self.units)
        self.keep = keep
        self.cur = data.subset_units(keep)
        self.fast = self._fast_ok()
        self.fast_reason = "" if self.fast is True else str(self.fast)
        self.fast = self.fast is True
        if self.fast:
            self.fast = self._self_check()
        self._affine: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        self._mv: dict[tuple[int, int], np.ndarray] = {}
        self._set_scopes(load_scopes(spec) if isinstance(scopes, str) and scopes == "auto" else scopes)
        Xk = self.data.X[self.keep]
        self.counts = {code: is_count(self.nodes[code], Xk[:, j]) for j, code in enumerate(self.inds)}

    def _set_scopes(self, prov: Any) -> None:
        """scope[i, j] of every kept unit × indicator: the provenance's :data:`SCOPE_COLUMN` (a cell the
        provenance does not list is ``unknown``: not claimed city-level, so not a lever); all ``city`` without
        provenance."""
        n, p = len(self.units), len(self.inds)
        if prov is None or len(prov) == 0:
            self.scope = np.full((n, p), CITY_SCOPE, dtype=object)
            self.scope_note = ("no provenance for this data: every indicator is treated as a city lever")
            self.has_provenance = False
            return
        missing = {"unit", "indicator", SCOPE_COLUMN} - set(prov.columns)
        if missing:
            raise SpecError(f"what it takes: the provenance table needs the columns unit, indicator and "
                            f"'{SCOPE_COLUMN}'; missing {sorted(missing)}")
        look = {(str(u), str(i)): str(v).strip().lower()
                for u, i, v in zip(prov["unit"], prov["indicator"], prov[SCOPE_COLUMN], strict=True)}
        self.scope = np.array([[look.get((u, c), "unknown") for c in self.inds] for u in self.units], dtype=object)
        self.scope_note = ("City levers are the values measured for the city itself; national values (a country "
                           "figure standing in for the city, or a national survey figure spread over the country's "
                           "cities) are shown apart as national context.")
        self.has_provenance = True

    def levers(self, unit: str) -> dict[str, bool]:
        """{indicator: True if ``unit``'s value is its own (scope ``city``), False if national context}."""
        c = self._unit(unit)
        return {code: self.scope[c, j] == CITY_SCOPE for j, code in enumerate(self.inds)}

    def movers(self, j: int, c: int) -> np.ndarray:
        """Kept-unit rows whose raw value of indicator ``j`` moves when unit ``c``'s does: ``c`` alone for a
        city value; for a national value, every unit of ``c``'s country (group :data:`COUNTRY_GROUP`) whose
        value of ``j`` is national too (non-city scope) — they share the national figure (``c`` first)."""
        if self.scope[c, j] == CITY_SCOPE or COUNTRY_GROUP not in self.cur.groups:
            return np.array([c])
        g = np.asarray(self.cur.groups[COUNTRY_GROUP], dtype=object)
        same = (g == g[c]) & (self.scope[:, j] != CITY_SCOPE)
        same[c] = False
        return np.concatenate([[c], np.flatnonzero(same)])

    def moved_values(self, j: int, c: int, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, values (len(rows), B)) when unit ``c``'s raw value of indicator ``j`` becomes each of ``xs``:
        ``c`` takes x; a city sharing ``c``'s national value moves with the country — by the same ratio
        x / x_c (a country proxy, equal to x_c, becomes x; a modelled value, national × a city covariate,
        keeps its covariate), or by the same difference when x_c is 0 — clipped to the indicator's natural
        range (``Node.bounds``)."""
        xs = np.atleast_1d(np.asarray(xs, dtype=float))
        rows = self._movers_cached(j, c)
        if len(rows) == 1:
            return rows, xs[None, :]
        base = self.data.X[:, j][self.keep][rows]
        x0 = base[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            V = base[:, None] * (xs / x0)[None, :] if np.isfinite(x0) and x0 != 0 else base[:, None] + (xs - x0)
        nb = self.nodes[self.inds[j]].bounds
        if nb is not None:
            V = np.clip(V, -np.inf if nb[0] is None else float(nb[0]), np.inf if nb[1] is None else float(nb[1]))
        V[0] = xs
        return rows, V

    @classmethod
    def from_spec(cls, spec: Any = None) -> WhatIf:
        from hubindex.api import as_spec
        from hubindex.io import load_data

        s = as_spec(spec)
        data, _ = load_data(s)
        return cls(s, data)

    @classmethod
    def from_edition(cls, edition: Any, spec: Any = None) -> WhatIf:
        return cls(edition.spec if spec is None else spec, edition.index_data())

    # -- the column pipeline ---------------------------------------------------------------------------------
    def _fast_ok(self) -> bool | str:
        if self.spec.weights.use == "pca":
            return "PCA weights depend on the data"
        st = self.spec.step("impute")
        if st is not None and st.method not in _COLUMNWISE_IMPUTE:
            return f"imputation '{st.method}' uses other columns"
        agg = self.spec.step("aggregate")
        if agg.method in ("copeland", "outranking") or any(
                m in ("copeland", "outranking") for m in agg.by_level.values()):
            return "non-compensatory aggregation"
        return True

    def _self_check(self) -> bool:
        try:
            for j in range(min(3, len(self.inds))):
                col = self.data.X[:, j][self.keep]
                s = self.scores_with(j, col[:, None])[0]
                base = self.values[self.root]
                if not np.allclose(s, base, rtol=0, atol=1e-9, equal_nan=True):
                    self.fast_reason = "column re-evaluation did not reproduce the build"
                    return False
        except Exception as e:  # noqa: BLE001 - any mismatch means: use full rebuilds instead
            self.fast_reason = f"column re-evaluation failed ({type(e).__name__}: {e})"
            return False
        return True

    def normalised_column(self, j: int, cols: np.ndarray) -> np.ndarray:
        """Run raw columns (n_kept, B) of indicator ``j`` through the pipeline's column steps → normalised."""
        from hubindex.engine import pipeline as pl

        code = self.inds[j]
        X = np.array(cols, dtype=float)
        B = X.shape[1]
        for step in self.spec.pipeline:
            kind = step.step
            if kind == "denominate":
                by = dict(step.by) if step.by else {c: self.nodes[c].denominator for c in self.inds
                                                    if self.nodes[c].denominator}
                d = by.get(code)
                if d is not None:
                    D = np.repeat(self.cur.denominators[d][:, None], B, axis=1)
                    X = pl._denominate(X, D, step.scale)
            elif kind == "impute":
                groups = self.cur.groups[step.group] if step.group is not None else None
                parent = self.fw.parent_of(code) or ""
                X, _ = pl._impute(X, step.method, groups=groups,
                                  column_groups=np.array([parent] * B, dtype=object), seed=step.seed)
            elif kind == "treat":
                base = {k: v for k, v in step.model_dump().items()
                        if k not in ("step", "method", "indicators", "overrides")}
                params = {**base, "method": step.method, **step.overrides.get(code, {})}
                if step.indicators is not None and code not in step.indicators:
                    params["method"] = "none"
                method = params.pop("method")
                X, _, _ = pl.treat_columns(X, method=method, **pl._treat_kwargs(method, params))
            elif kind == "normalise":
                X = pl._normalise_step(step, X, self.fw, self.nodes, tuple([code] * B), self.cur)
        return X

    def scores_with(self, j: int, cols: np.ndarray, *, node: str | None = None) -> np.ndarray:
        """Scores (B, n) of ``node`` (default: the index) when indicator ``j``'s raw column is each of ``cols``."""
        return self.scores_from_normalised(j, self.normalised_column(j, cols).T, node=node)

    def scores_from_normalised(self, j: int, Xn: np.ndarray, *, node: str | None = None) -> np.ndarray:
        """Scores (B, n) of ``node`` (default: the index) when indicator ``j``'s normalised column is each row of
        ``Xn`` (B, n), the other columns as built: the real aggregators, up the tree."""
        from hubindex.engine import pipeline as pl

        agg = self.spec.step("aggregate")
        code = self.inds[j]
        changed = {code: Xn}
        child = code
        target = node or self.root
        while child != target:
            p = self.fw.parent_of(child)
            if p is None:
                break
            pi = self.fw.index_of(p)
            kids = np.flatnonzero(self.fw.parent == pi)
            B = Xn.shape[0]
            C = np.stack([changed[self.fw.codes[k]] if self.fw.codes[k] in changed
                          else np.broadcast_to(self.values[self.fw.codes[k]], (B, len(self.units)))
                          for k in kids], axis=-1)  # (B, n, k)
            method = agg.by_level.get(int(self.fw.level[pi]), agg.method)
            try:
                v = pl._aggregate(C, self.w[kids], method, min_availability=agg.min_availability)
                v = np.asarray(v, dtype=float).reshape(B, len(self.units))
            except (ValueError, IndexError):  # the aggregator is not batched: one build at a time
                v = np.stack([np.asarray(pl._aggregate(C[b], self.w[kids], method,
                                                       min_availability=agg.min_availability), dtype=float)
                              for b in range(B)])
            changed[p] = v
            child = p
        return changed[target]

    def _full_scores(self, changes: Mapping[str, float], unit: str) -> tuple[np.ndarray, Any]:
        """Full engine rebuild with ``unit``'s raw values replaced; returns (index scores, result)."""
        X = np.array(self.data.X, dtype=float)
        rows = np.flatnonzero(self.keep)  # kept-unit position → row of the engine input
        c = self._unit(unit)
        for code, v in changes.items():
            j = self.inds.index(code)
            mv, vals = self.moved_values(j, c, np.array([v]))
            X[rows[mv], j] = vals[:, 0]
        d = IndexData(self.data.units, self.data.names, self.data.indicators, X, self.data.groups,
                      self.data.denominators)
        res = run(self.spec, d)
        return res.scores[res.index_code].reindex(self.units).to_numpy(dtype=float), res

    def _eval(self, j: int, c: int, values: np.ndarray, *, full: bool = False) -> np.ndarray:
        """Index scores (B, n) with unit ``c``'s raw value of indicator ``j`` set to each of ``values``.

        A value the engine cannot build (e.g. one that makes the column constant, so min-max has no spread) gets
        a row of NaN: it never reaches a goal."""
        if full or not self.fast:
            return np.stack([self._full_or_nan({self.inds[j]: float(v)}, c) for v in values])
        base = self.data.X[:, j][self.keep]
        cols = np.repeat(base[:, None], len(values), axis=1)
        mv, vals = self.moved_values(j, c, np.asarray(values, dtype=float))
        cols[mv, :] = vals
        try:
            return self.scores_with(j, cols)
        except HubindexError:
            if len(values) == 1:
                return np.full((1, len(self.units)), np.nan)
            return np.concatenate([self._eval(j, c, values[i:i + 1]) for i in range(len(values))])

    def _full_or_nan(self, changes: Mapping[str, float], c: int) -> np.ndarray:
        try:
            return self._full_scores(changes, self.units[c])[0]
        except HubindexError:
            return np.full(len(self.units), np.nan)

    # -- goals -----------------------------------------------------------------------------------------------
    def goal(self, unit: str, *, rank: int | None = None, tier: str | None = None, beat: str | None = None
             ) -> tuple[Goal, Any]:
        """Resolve a goal into a predicate on score rows (B, n) → bool (B,), and a description."""
        g, kind, param = self.goal_spec(unit, rank=rank, tier=tier, beat=beat)
        c = self._unit(unit)
        if kind == "rank":
            return g, lambda S: _ranks_of(S, c) <= param
        if kind == "beat":
            return g, lambda S: S[:, c] >= S[:, int(param)]
        return g, lambda S: S[:, c] >= param

    def goal_spec(self, unit: str, *, rank: int | None = None, tier: str | None = None, beat: str | None = None
                  ) -> tuple[Goal, str, float]:
        """(goal, kind, parameter): kind ``rank`` (rank ≤ k, parameter k), ``beat`` (score ≥ that of the unit
        at position parameter) or ``score`` (score ≥ parameter)."""
        if sum(x is not None for x in (rank, tier, beat)) != 1:
            raise SpecError("what it takes: give exactly one goal: rank=k, tier='next' (or a tier name), or beat=UNIT")
        c = self._unit(unit)
        if rank is not None:
            k = int(rank)
            if k < 1:
                raise SpecError(f"what it takes: rank must be >= 1, got {k}")
            return Goal(rank=k), "rank", k
        if beat is not None:
            return Goal(beat=beat), "beat", self._unit(beat)
        t = self.spec.tiers
        if t is None:
            raise SpecError("what it takes: the spec has no tiers")
        labels = list(t.labels)
        cur_tier = None if self.base.tiers is None else str(self.base.tiers.iloc[c])
        if tier == "next":
            i = labels.index(cur_tier) if cur_tier in labels else len(labels)
            if i == 0:
                raise SpecError(f"what it takes: {unit} is already in the top tier '{labels[0]}'")
            want = i - 1
        else:
            if tier not in labels:
                raise SpecError(f"what it takes: unknown tier {tier!r}; tiers are {labels}")
            want = labels.index(tier)
        if t.by == "rank":
            k = int(t.cutoffs[want]) if want < len(t.cutoffs) else len(self.units)
            return Goal(tier=labels[want]), "rank", k
        thr = float(t.cutoffs[want]) if want < len(t.cutoffs) else -np.inf
        return Goal(tier=labels[want]), "score", thr

    def _unit(self, unit: str) -> int:
        if unit in self.upos:
            return self.upos[unit]
        names = {str(n).lower(): u for u, n in self.base.unit_names.items()}
        if str(unit).lower() in names:
            return self.upos[str(names[str(unit).lower()])]
        raise SpecError(f"what it takes: unknown unit '{unit}' (not ranked in this build)")

    # -- one indicator at a time -----------------------------------------------------------------------------
    def value_bounds(self, bounds: Mapping[str, tuple[float | None, float | None]] | None = None, *,
                     natural: bool = True) -> dict[str, tuple[float, float]]:
        """(lower, upper) admissible raw value of every indicator: the intersection of the spec's natural range
        (``Node.bounds``, e.g. [0, 100] for a percentage; ``null`` = open) and the explicit ``bounds``
        (``None`` = open). Open ends are ∓inf. ``natural=False`` ignores the spec's ranges."""
        out: dict[str, tuple[float, float]] = {}
        for code in self.inds:
            lo, hi = -np.inf, np.inf
            nb = self.nodes[code].bounds if natural else None
            for b in (nb, (bounds or {}).get(code)):
                if b is None:
                    continue
                b0, b1 = b
                lo = max(lo, -np.inf if b0 is None else float(b0))
                hi = min(hi, np.inf if b1 is None else float(b1))
            if lo > hi:
                raise SpecError(f"what it takes: bounds of '{code}' are empty (lower {lo:g} > upper {hi:g}); "
                                f"natural range {self.nodes[code].bounds}, given {(bounds or {}).get(code)}")
            out[code] = (lo, hi)
        unknown = sorted(set(bounds or {}) - set(self.inds))
        if unknown:
            raise SpecError(f"what it takes: bounds given for {unknown}, which are not indicators; indicators are "
                            f"{self.inds}")
        return out

    def _range(self, j: int, c: int, lim: tuple[float, float]) -> tuple[float, float, float, str]:
        """(from, to without bounds, to within ``lim``, the binding side 'upper'/'lower' bound or '')."""
        code = self.inds[j]
        col = self.data.X[:, j][self.keep]
        x0 = col[c]
        lo, hi = np.nanmin(col), np.nanmax(col)
        span = hi - lo if hi > lo else max(abs(hi), 1.0)
        d = int(self.nodes[code].direction)
        if np.isnan(x0):
            x0 = lo if d > 0 else hi
        free = hi + 2 * span if d > 0 else (max(lo - 2 * span, 0.0) if lo >= 0 else lo - 2 * span)
        end, side = free, ""
        if d > 0 and lim[1] < free:
            end, side = lim[1], "upper"
        elif d < 0 and lim[0] > free:
            end, side = lim[0], "lower"
        return float(x0), float(free), float(end), side

    def search_range(self, j: int, c: int, bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
                     *, natural: bool = True) -> tuple[float, float]:
        """(from, to) raw values searched for indicator ``j``: from the current value in the direction that
        improves the score, to 2 ranges beyond the best value (or to 0 for a non-negative 'lower is better'
        indicator), clipped to the indicator's natural range and ``bounds`` (see :meth:`value_bounds`)."""
        lim = self.value_bounds(bounds, natural=natural)[self.inds[j]]
        x0, _, end, _ = self._range(j, c, lim)
        return x0, end

    def _search(self, j: int, c: int, a: float, b: float, met: Any, *, full: bool, grid: int, rounds: int
                ) -> tuple[float, np.ndarray] | None:
        """Smallest x in [a, b] (grid, then ``rounds`` refinements of the first cell reaching the goal) and the
        scores there; ``None`` if no grid value reaches it."""
        xs = np.linspace(a, b, grid)
        S = self._eval(j, c, xs, full=full)
        ok = met(S)
        if not ok.any():
            return None
        i = int(np.argmax(ok))
        if i == 0:
            return float(xs[0]), S[0]
        a, b = xs[i - 1], xs[i]
        best_S = S[i]
        for _ in range(rounds):
            xs = np.linspace(a, b, grid)[1:]
            S = self._eval(j, c, xs, full=full)
            ok = met(S)
            i = int(np.argmax(ok)) if ok.any() else len(xs) - 1
            if ok.any():
                best_S = S[i]
            a, b = (xs[i - 1] if i > 0 else a), xs[i]
        return float(b), best_S

    # -- batched evaluation: many cities and candidate values at once -----------------------------------------
    def _affine_for(self, j: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(A, E): index scores as an affine function of indicator ``j``'s normalised column, unit by unit,
        s_i = A_i + E_i·z_i (other columns as built). Exact for arithmetic aggregation at every level (a
        weighted mean over the available children is affine in each child, and unit i's score depends only on
        its own z_i). Computed from the aggregators at z = 0 and z = 1 and checked at a random z (to 1e-9);
        ``None`` (use the aggregators) when it does not hold."""
        if j in self._affine:
            return self._affine[j]
        n = len(self.units)
        Z = np.vstack([np.zeros(n), np.ones(n), np.random.default_rng(j).uniform(0, 100, n)])
        out: tuple[np.ndarray, np.ndarray] | None = None
        try:
            S = self.scores_from_normalised(j, Z)
            A, E = S[0], S[1] - S[0]
            if np.allclose(A + E * Z[2], S[2], rtol=0, atol=1e-9, equal_nan=True):
                out = (A, E)
        except (HubindexError, ValueError, IndexError):
            out = None
        self._affine[j] = out
        return out

    def _movers_cached(self, j: int, c: int) -> np.ndarray:
        hit = self._mv.get((j, c))
        if hit is None:
            hit = self._mv[(j, c)] = self.movers(j, c)
        return hit

    def _batch_scores(self, j: int, cs: np.ndarray, xs: np.ndarray, *, full: bool = False) -> np.ndarray:
        """Index scores (B, n): row b with unit ``cs[b]``'s raw value of indicator ``j`` (and those of the units
        sharing it, see :meth:`movers`) set to ``xs[b]``. One pass of the column pipeline on the (n, B) matrix
        of candidate columns, then the affine aggregation (:meth:`_affine_for`). A candidate the engine cannot
        build gets a row of NaN. ``full`` (or no column fast path): a full engine rebuild per row."""
        B, n = len(xs), len(self.units)
        if full or not self.fast:
            return np.stack([self._full_or_nan({self.inds[j]: float(x)}, int(c)) for c, x in zip(cs, xs, strict=True)]
                            ) if B else np.zeros((0, n))
        base = self.data.X[:, j][self.keep]
        cols = np.empty((n, B), order="F")
        cols[:] = base[:, None]
        cols[cs, np.arange(B)] = xs  # the city itself; then the cities sharing a national value
        for c in np.unique(cs[self.scope[cs, j] != CITY_SCOPE]):
            sel = np.flatnonzero(cs == c)
            mv, vals = self.moved_values(j, int(c), xs[sel])
            cols[np.ix_(mv, sel)] = vals
        try:
            Xn = self.normalised_column(j, cols).T
        except HubindexError:
            if B == 1:
                return np.full((1, n), np.nan)
            h = B // 2
            return np.concatenate([self._batch_scores(j, cs[:h], xs[:h]), self._batch_scores(j, cs[h:], xs[h:])])
        aff = self._affine_for(j)
        if aff is None:
            return self.scores_from_normalised(j, Xn)
        A, E = aff
        with np.errstate(invalid="ignore"):
            S = A[None, :] + E[None, :] * Xn
        return np.where(np.isnan(Xn), self.values[self.root][None, :], S)

    @staticmethod
    def _met_margin(S: np.ndarray, cs: np.ndarray, kind: str, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(met, margin) of each row's goal for its own unit: met exactly as the engine ranks (scores rounded to
        ``RANK_DECIMALS``, ties share the best place); margin = s_c − (the score to reach: the k-th best other
        score, the rival's score, or the threshold), unrounded, −inf where s_c is missing."""
        B = len(cs)
        rows = np.arange(B)
        sc = S[rows, cs]
        if kind == "rank":
            R = np.round(S, RANK_DECIMALS)
            rc = R[rows, cs]
            k = params.astype(int)
            met = ((R > rc[:, None]).sum(1) + 1 <= k) & ~np.isnan(rc)
            Oth = np.where(np.isnan(S), -np.inf, S)
            Oth[rows, cs] = -np.inf
            Oth = -np.sort(-Oth, axis=1)
            kk = np.minimum(k - 1, S.shape[1] - 1)
            T = np.where(k - 1 < S.shape[1] - 1, Oth[rows, kk], -np.inf)
        elif kind == "beat":
            T = S[rows, params.astype(int)]
            met = sc >= T
        else:
            T = params.astype(float)
            met = sc >= T
        with np.errstate(invalid="ignore"):
            g = np.where(np.isnan(sc), -np.inf, sc - T)
        return met, g

    def _solve(self, j: int, cs: np.ndarray, x_from: np.ndarray, x_to: np.ndarray, kind: str, params: np.ndarray,
               *, grid: int = 17, tol: float | np.ndarray = 1e-6, full: bool = False, interp: int = 2
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For each unit cs[i], the first value on the segment x_from[i] → x_to[i] that meets its goal.

        Position p ∈ [0, 1], x = x_from + p·(x_to − x_from). A grid of ``grid`` points finds the first cell
        [p_a, p_b] whose end meets the goal (the start does not; evaluated in chunks, a unit leaving at its first
        point that meets the goal); the cell is then narrowed to width ≤ ``tol``
        (per unit or one for all): ``interp`` times by the root p* of the margin's linear interpolation,
        evaluated at p* ± tol/2 — exact in one step where the margin is linear in x (min-max without a new
        extreme and without a change of treatment: the city's score moves linearly, the others stand still) —
        then by rounds of 3 equally spaced points (the cell shrinks 4× per round; any other case). The bracket
        always keeps a start that does not meet the goal and an end that does. All units and candidates of a
        round go through the pipeline in one batch. Returns (found, x (the end), the bracket's start, scores
        at x).
        """
        m, n = len(cs), len(self.units)
        found = np.zeros(m, dtype=bool)
        xres = np.full(m, np.nan)
        xa = np.full(m, np.nan)
        Sres = np.full((m, n), np.nan)
        if m == 0:
            return found, xres, xa, Sres
        span = x_to - x_from
        tolv = np.broadcast_to(np.asarray(tol, dtype=float), (m,)).copy()

        def ev(idx: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            K = P.shape[1]
            cc = np.repeat(cs[idx], K)
            S = self._batch_scores(j, cc, (x_from[idx, None] + P * span[idx, None]).ravel(), full=full)
            met, g = self._met_margin(S, cc, kind, np.repeat(params[idx], K))
            return S.reshape(len(idx), K, n), met.reshape(len(idx), K), g.reshape(len(idx), K)

        P0 = np.linspace(0.0, 1.0, grid)
        # the grid in chunks (3 points, 4, then the rest): a unit leaves as soon as a point meets its goal, so only
        # the first cell that does is ever needed — the same cell as the whole grid, for far fewer candidates
        first = np.full(m, -1)
        g_at = np.full((m, grid), np.nan)
        Sb_all = np.full((m, n), np.nan)
        pend = np.arange(m)
        cuts = [0, min(3, grid), min(7, grid), grid]
        for lo_i, hi_i in zip(cuts[:-1], cuts[1:], strict=True):
            if hi_i <= lo_i or not len(pend):
                continue
            Pc = P0[lo_i:hi_i]
            S, met, g = ev(pend, np.broadcast_to(Pc, (len(pend), len(Pc))))
            g_at[pend, lo_i:hi_i] = g
            hit = met.any(1)
            k = np.argmax(met, axis=1)
            first[pend[hit]] = lo_i + k[hit]
            Sb_all[pend[hit]] = S[np.flatnonzero(hit), k[hit]]
            pend = pend[~hit]
        at0 = np.flatnonzero(first == 0)
        found[at0], xres[at0], xa[at0], Sres[at0] = True, x_from[at0], x_from[at0], Sb_all[at0]
        act = np.flatnonzero(first > 0)
        f = first[act]
        a, b = P0[f - 1], P0[f]
        ga, gb = g_at[act, f - 1], g_at[act, f]
        Sb = Sb_all[act]
        it = 0
        while len(act):
            done = ((b - a) <= tolv[act]) | (it >= 60)
            if done.any():
                fin = act[done]
                found[fin], Sres[fin] = True, Sb[done]
                xres[fin] = x_from[fin] + b[done] * span[fin]
                xa[fin] = x_from[fin] + a[done] * span[fin]
                keep = ~done
                act, a, b, ga, gb, Sb = act[keep], a[keep], b[keep], ga[keep], gb[keep], Sb[keep]
                if not len(act):
                    break
            if it < interp:
                with np.errstate(invalid="ignore", divide="ignore"):
                    t = ga / (ga - gb)
                t = np.where(np.isfinite(t) & (t > 0) & (t < 1), t, 0.5)
                pm = a + t * (b - a)
                h = 0.5 * tolv[act]
                P = np.clip(np.stack([pm - h, pm + h], axis=1), a[:, None], b[:, None])
            else:
                P = a[:, None] + (b - a)[:, None] * (np.arange(1, 4) / 4.0)[None, :]
            S, met, g = ev(act, P)
            anyk = met.any(1)
            k = np.argmax(met, axis=1)
            r = np.arange(len(act))
            # the first candidate meeting the goal becomes the new end; the one before it (or the old start) the
            # new start; none meeting: the last candidate becomes the new start
            km1 = np.maximum(k - 1, 0)
            na = np.where(anyk, np.where(k > 0, P[r, km1], a), P[r, -1])
            ga = np.where(anyk, np.where(k > 0, g[r, km1], ga), g[r, -1])
            b = np.where(anyk, P[r, k], b)
            gb = np.where(anyk, g[r, k], gb)
            Sb = np.where(np.asarray(anyk)[:, None], S[r, k], Sb)
            a = na
            it += 1
        return found, xres, xa, Sres

    def single(self, unit: str, *, rank: int | None = None, tier: str | None = None, beat: str | None = None,
               indicators: Sequence[str] | None = None,
               bounds: Mapping[str, tuple[float | None, float | None]] | None = None, natural_bounds: bool = True,
               grid: int = 17, rounds: int | None = None, verify: bool = True, full: bool = False,
               include_national: bool = True) -> pd.DataFrame:
        """For each indicator alone: the smallest raw change of ``unit`` that reaches the goal.

        Only admissible values are proposed: within the indicator's natural range (``Node.bounds`` in the spec,
        e.g. a percentage in [0, 100]; off with ``natural_bounds=False``) and the explicit ``bounds``. When the
        goal needs a value beyond the bound in the improving direction, the indicator is *not reachable alone*:
        ``limited_by`` names the bound ('upper bound' / 'lower bound'), ``bound`` its value, and
        ``required_unbounded`` the value it would take (searched up to 2 ranges beyond the best city).

        A count (:func:`is_count`) takes the first whole number reaching the goal (``whole_steps``). A national
        value (``lever`` False, ``scope`` not ``city``) is national context: the value moves for every city
        sharing it (:meth:`movers`); ``include_national=False`` leaves those rows out.

        Columns: indicator, name, unit (of measure), direction, scope, lever, whole_steps, current, required,
        change, change_pct (only on open ratio scales, see :func:`is_ratio_scale`), change_kind ('relative' /
        'absolute'), reachable, rank_before, rank_after, score_after, note, bound, limited_by,
        required_unbounded, verified, searched_to. The search: see :meth:`_solve` (resolution 1e-6 of the
        searched range; ``rounds`` is accepted for compatibility and unused). ``full=True`` uses a full engine
        rebuild per candidate (slow; the baseline).
        """
        out = self.single_many([unit], rank=rank, tier=tier, beat=beat, indicators=indicators, bounds=bounds,
                               natural_bounds=natural_bounds, grid=grid, verify=verify, full=full,
                               include_national=include_national)
        return next(iter(out.values()))

    def single_many(self, units: Sequence[str], *, rank: int | Sequence[int] | None = None, tier: str | None = None,
                    beat: str | None = None, indicators: Sequence[str] | None = None,
                    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
                    natural_bounds: bool = True, grid: int = 17, verify: bool = True, full: bool = False,
                    include_national: bool = True, tol: float = 1e-6) -> dict[str, pd.DataFrame]:
        """:meth:`single` for many units at once (one batch per indicator and search round); ``rank`` may give
        one goal rank per unit. Returns {unit code: table}."""
        units = list(units)
        ranks = list(rank) if isinstance(rank, Sequence) and not isinstance(rank, str) else [rank] * len(units)
        if len(ranks) != len(units):
            raise SpecError(f"what it takes: {len(ranks)} goal ranks for {len(units)} units")
        cs = np.array([self._unit(u) for u in units], dtype=int)
        specs = [self.goal_spec(u, rank=r, tier=tier, beat=beat) for u, r in zip(units, ranks, strict=True)]
        kinds = {k for _, k, _ in specs}
        if len(kinds) > 1:  # a tier goal resolves to one kind for every unit of the same spec
            raise SpecError("what it takes: all units of one call need goals of the same kind")
        kind = kinds.pop()
        params = np.array([p for _, _, p in specs], dtype=float)
        lims = self.value_bounds(bounds, natural=natural_bounds)
        for code in indicators or []:
            if code not in self.inds:
                raise SpecError(f"what it takes: '{code}' is not an indicator; indicators are {self.inds}")
        codes = list(indicators or self.inds)
        rank0 = self.base.ranks[self.root].to_numpy()
        rows: list[list[dict[str, Any]]] = [[] for _ in units]
        for code in codes:
            j = self.inds.index(code)
            node = self.nodes[code]
            d = int(node.direction)
            whole = self.counts[code]
            col = self.data.X[:, j][self.keep]
            sel = [i for i, c in enumerate(cs) if include_national or self.scope[c, j] == CITY_SCOPE]
            if not sel:
                continue
            sel_a = np.array(sel, dtype=int)
            rng = [self._range(j, int(cs[i]), lims[code]) for i in sel]
            x0 = np.array([r[0] for r in rng])
            free = np.array([r[1] for r in rng])
            end = np.array([r[2] for r in rng])
            side = [r[3] for r in rng]
            # counts need the threshold only to within half a step (then the whole numbers around it are checked)
            tl = np.maximum(tol, 0.5 / np.maximum(np.abs(end - x0), 1e-300)) if whole else tol
            f1, x1, xa1, S1 = self._solve(j, cs[sel_a], x0, end, kind, params[sel_a], grid=grid, tol=tl,
                                          full=full)
            # beyond the bound: what it would take without it
            bey = np.array([k for k in range(len(sel)) if not f1[k] and side[k] and (x0[k] - end[k]) * d < 0],
                           dtype=int)
            f2, x2, _, _ = self._solve(j, cs[sel_a[bey]], end[bey], free[bey], kind, params[sel_a[bey]],
                                       grid=grid, tol=tol, full=full)
            beyond = {int(k): (bool(f), float(x)) for k, f, x in zip(bey, f2, x2, strict=True)}
            # whole steps: the first whole number at or beyond the threshold (checked; the next one if not met)
            if whole:
                need = np.array([k for k in range(len(sel)) if f1[k] and x1[k] != x0[k]], dtype=int)
                if len(need):
                    # the threshold lies in (x_a, x_b], less than a step wide: the first whole number beyond x_a,
                    # or the next one
                    t = xa1[need]
                    cand = np.floor(t) + 1 if d > 0 else np.ceil(t) - 1
                    cand2 = cand + d
                    cc = cs[sel_a[need]]
                    S = self._batch_scores(j, np.concatenate([cc, cc]), np.concatenate([cand, cand2]), full=full)
                    met, _ = self._met_margin(S, np.concatenate([cc, cc]), kind, np.tile(params[sel_a[need]], 2))
                    L = len(need)
                    for q, k in enumerate(need):
                        lo, hi = lims[code]
                        pick = [(cand[q], S[q]) if met[q] else None, (cand2[q], S[L + q]) if met[L + q] else None]
                        got = next((p for p in pick if p is not None and lo - 1e-9 <= p[0] <= hi + 1e-9), None)
                        if got is None:
                            f1[k] = False
                            beyond.setdefault(int(k), (bool(met[q]), float(cand[q])))
                        else:
                            x1[k], S1[k] = got
            for k, i in enumerate(sel):
                c = int(cs[i])
                bval = lims[code][1] if d > 0 else lims[code][0]
                ratio = is_ratio_scale(node, lims[code])
                row: dict[str, Any] = {"indicator": code, "name": node.name or code, "unit": node.unit,
                                       "direction": d, "scope": str(self.scope[c, j]),
                                       "lever": bool(self.scope[c, j] == CITY_SCOPE), "whole_steps": whole,
                                       "current": float(col[c]), "searched_to": float(end[k]),
                                       "rank_before": int(rank0[c]), "bound": bval if np.isfinite(bval) else np.nan,
                                       "limited_by": "", "required_unbounded": np.nan,
                                       "change_kind": "relative" if ratio else "absolute"}
                unreached = {"required": np.nan, "change": np.nan, "reachable": False, "rank_after": np.nan,
                             "score_after": np.nan}
                if f1[k] and x1[k] == x0[k]:
                    row |= {"required": x0[k], "change": 0.0, "reachable": True,
                            "rank_after": _rank_in_row(S1[k], c), "score_after": float(S1[k][c]),
                            "note": "already met"}
                elif f1[k]:
                    row |= {"required": float(x1[k]), "change": float(x1[k] - x0[k]), "reachable": True,
                            "rank_after": _rank_in_row(S1[k], c), "score_after": float(S1[k][c]),
                            "note": ""}
                elif side[k] and (x0[k] - end[k]) * d >= 0:
                    row |= unreached | {"limited_by": f"{side[k]} bound",
                                        "note": f"not reachable with this indicator alone: already at its {side[k]} "
                                                f"bound {end[k]:g}"}
                elif not side[k] and whole and k in beyond:  # the next whole number lies past the search range
                    row |= unreached | {"note": f"not reached with this indicator alone up to {end[k]:g} (the next "
                                                f"whole number, {beyond[k][1]:g}, is past the searched range)"}
                elif side[k]:
                    ok, xb = beyond.get(k, (False, np.nan))
                    sname = side[k]
                    row["limited_by"] = f"{sname} bound"
                    if ok:
                        row["required_unbounded"] = xb
                        note = (f"not reachable with this indicator alone: it would take {xb:.4g}"
                                f"{' ' + node.unit if node.unit else ''}, "
                                f"{'above' if d > 0 else 'below'} its {sname} bound {end[k]:g}")
                    else:
                        note = (f"not reachable with this indicator alone: not even at its {sname} bound "
                                f"{end[k]:g} (nor beyond it, up to {free[k]:.4g})")
                    row |= unreached | {"note": note}
                else:
                    row |= unreached | {"note": f"not reached with this indicator alone up to {end[k]:g}"}
                if not row["lever"]:
                    who = len(self._movers_cached(j, c))
                    row["note"] = (f"national context ({row['scope']}): moves with the {who} cities of its country "
                                   f"that share the national value" if who > 1
                                   else f"national context ({row['scope']})") + \
                        (f"; {row['note']}" if row["note"] else "")
                rows[i].append(row)
        out: dict[str, pd.DataFrame] = {}
        for i in range(len(units)):
            c = int(cs[i])
            t = pd.DataFrame(rows[i])
            if t.empty:
                t = pd.DataFrame(columns=["indicator", "name", "unit", "direction", "scope", "lever", "whole_steps",
                                          "current", "required", "change", "change_pct", "change_kind",
                                          "reachable", "rank_before", "rank_after", "score_after", "note", "bound",
                                          "limited_by", "required_unbounded", "searched_to"])
            cur = t["current"].to_numpy(dtype=float)
            rel = (t["change_kind"] == "relative").to_numpy(dtype=bool)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                t["change_pct"] = np.where(rel & (cur != 0), 100 * t["change"].to_numpy(dtype=float) / np.abs(cur),
                                           np.nan)
            if verify:
                _, met_c = self.goal(self.units[c], rank=ranks[i], tier=tier, beat=beat)
                ver: list[bool | None] = []
                for _, r in t.iterrows():
                    if not r["reachable"]:
                        ver.append(None)
                        continue
                    s, _ = self._full_scores({r["indicator"]: r["required"]}, self.units[c])
                    ver.append(bool(met_c(s[None])[0]))
                t["verified"] = ver
            t.attrs["goal"] = specs[i][0].describe()
            t.attrs["unit"] = self.units[c]
            t.attrs["scope_note"] = self.scope_note
            out[self.units[c]] = t
        return out

    # -- a cheapest combination ------------------------------------------------------------------------------
    def _check_linear(self) -> None:
        agg = self.spec.step("aggregate")
        methods = {agg.method, *agg.by_level.values()}
        if methods != {"arithmetic"}:
            raise ComputeError(f"the combination LP needs arithmetic aggregation at every level; the spec uses "
                               f"{sorted(methods)}")

    def _target_score(self, c: int, g: Goal) -> float:
        s = self.values[self.root]
        others = np.delete(s, c)
        others = others[~np.isnan(others)]
        if g.rank is not None or (g.tier is not None and self.spec.tiers.by == "rank"):
            if g.rank is not None:
                k = g.rank
            else:
                labels = list(self.spec.tiers.labels)
                w = labels.index(g.tier)
                k = int(self.spec.tiers.cutoffs[w]) if w < len(self.spec.tiers.cutoffs) else len(s)
            srt = np.sort(others)[::-1]
            return float(srt[k - 1]) if k - 1 < len(srt) else -np.inf
        if g.beat is not None:
            return float(s[self._unit(g.beat)])
        w = list(self.spec.tiers.labels).index(g.tier)
        return float(self.spec.tiers.cutoffs[w])

    def combination(self, unit: str, *, rank: int | None = None, tier: str | None = None,
                    beat: str | None = None, cost: Mapping[str, float] | None = None,
                    max_change: Mapping[str, float] | None = None, indicators: Sequence[str] | None = None,
                    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
                    natural_bounds: bool = True, margin: float = 1e-6, include_national: bool = False
                    ) -> dict[str, Any]:
        """The cheapest combination of indicator changes reaching the goal (a small MILP, HiGHS).

        Moves only the city's levers (scope ``city``, see :meth:`levers`) unless ``include_national`` (then a
        national value moves for every city sharing it, :meth:`movers`) or ``indicators`` names them.
        ``cost``: cost per raw unit of each indicator (default: 1 per normalised point, i.e. per 1 % of the
        indicator's range under min-max 0–100). ``max_change``: the largest raw change allowed per indicator.

        Model (other cities' normalised values held fixed, arithmetic aggregation: score = s₀ + Σ_j e_j δ_j with
        e_j the effective weight and δ_j the normalised gain): minimise Σ cost_j · δ_j subject to
        Σ_j e_j δ_j ≥ target − s₀ (target = the score to reach), with

        - a continuous indicator: 0 ≤ δ_j ≤ min(best normalised value, N_j(b_j)) − current, b_j its admissible raw
          bound in the improving direction (natural range ∩ ``bounds``), N_j the real column pipeline; its raw
          value is then found by bisection within the bounds;
        - a count (:func:`is_count`): whole steps n_j ≥ 0 up to the best city's value (and the bound), with
          δ_j = G_j(n_j) = N_j(x₀ + n_j·direction) − N_j(x₀) tabulated exactly through the column pipeline. Where
          G_j is linear in n (min-max, no new maximum, no change of treatment: checked on every step) one integer
          variable n_j with δ_j = G_j(1)·n_j; otherwise one binary per step count (exactly one chosen).

        Returns the plan (normalised and raw), the status, the best reachable rank with the movable indicators
        at the ends of their ranges (:meth:`best_reachable`), and a full-rebuild check of the plan.
        """
        self._check_linear()
        g, met = self.goal(unit, rank=rank, tier=tier, beat=beat)
        c = self._unit(unit)
        lev = self.levers(self.units[c])
        if indicators is not None:
            inds = list(indicators)
            unknown = [x for x in inds if x not in self.inds]
            if unknown:
                raise SpecError(f"what it takes: {unknown} are not indicators; indicators are {self.inds}")
        else:
            inds = [x for x in self.inds if include_national or lev[x]]
        national = [x for x in self.inds if not lev[x]]
        s0 = float(self.values[self.root][c])
        target = self._target_score(c, g)
        need = target - s0 + margin
        base_plan = {"unit": self.units[c], "goal": g.describe(), "score": s0, "target_score": target,
                     "include_national": include_national, "moved": inds,
                     "national_context": [x for x in national if x not in inds], "scope_note": self.scope_note}
        if need <= 0:
            return base_plan | {"status": "already met", "plan": pd.DataFrame(), "cost": 0.0}
        best = self.best_reachable(self.units[c], indicators=inds, bounds=bounds, natural_bounds=natural_bounds,
                                   rank=rank, tier=tier, beat=beat)
        base_plan["best_reachable"] = best
        who = ("the city's own levers" if self.has_provenance and not include_national and indicators is None
               else "these indicators")
        if not inds:
            return base_plan | {"status": f"not reachable: the city has no levers of its own. {self.scope_note}",
                                "plan": pd.DataFrame(), "cost": np.nan}
        J = [self.inds.index(x) for x in inds]
        e = self.base.weights["effective"].reindex(inds).to_numpy(dtype=float)
        Xn = self.base.scores[inds].to_numpy(dtype=float)
        if np.isnan(Xn[c]).any():
            raise ComputeError(f"the combination LP needs {self.units[c]}'s normalised values of every indicator; "
                               f"missing: {[x for x, v in zip(inds, Xn[c], strict=True) if np.isnan(v)]}")
        top = np.nanmax(Xn, axis=0)
        ub = np.maximum(top - Xn[c], 0.0)
        lims = self.value_bounds(bounds, natural=natural_bounds)
        braw = np.full(len(J), np.nan)
        for k, j in enumerate(J):
            d = int(self.nodes[inds[k]].direction)
            b = lims[inds[k]][1] if d > 0 else lims[inds[k]][0]
            if not np.isfinite(b):
                continue
            braw[k] = b
            col = self.data.X[:, j][self.keep]
            if np.isnan(col[c]) or (b - col[c]) * d <= 0:  # at or beyond the bound: no gain admissible
                ub[k] = 0.0
                continue
            nb = self._norm_at(j, c, b)
            if np.isnan(nb):  # the bound itself is not buildable (it makes the column constant): just inside it
                b = b - (b - col[c]) * 1e-9
                lims[inds[k]] = (lims[inds[k]][0], b) if d > 0 else (b, lims[inds[k]][1])
                nb = self._norm_at(j, c, b)
            ub[k] = min(ub[k], max(nb - Xn[c, k], 0.0)) if np.isfinite(nb) else 0.0
        # local slope: normalised points per raw unit (finite difference through the real column pipeline)
        slope = np.ones(len(J))
        for k, j in enumerate(J):
            col = self.data.X[:, j][self.keep]
            span = np.nanmax(col) - np.nanmin(col)
            h = 1e-4 * (span if span > 0 else 1.0) * int(self.nodes[inds[k]].direction)
            cols = np.repeat(col[:, None], 2, axis=1)
            mv, vals = self.moved_values(j, c, np.array([col[c] + h]))
            cols[mv, 1] = vals[:, 0]
            nc = self.normalised_column(j, cols)
            slope[k] = abs(nc[c, 1] - nc[c, 0]) / abs(h) if h else 1.0
        # whole steps: exact gain tables G(n) for the counts
        tables: dict[int, np.ndarray] = {}
        for k, j in enumerate(J):
            x = inds[k]
            if not self.counts[x] or ub[k] <= 0:
                continue
            d = int(self.nodes[x].direction)
            col = self.data.X[:, j][self.keep]
            best_raw = float(col[int(np.nanargmax(self.base.scores[x].to_numpy(dtype=float)))])
            stop = best_raw if d > 0 else best_raw
            lo_b, hi_b = lims[x]
            stop = min(stop, hi_b) if d > 0 else max(stop, lo_b)
            nmax = int(np.floor(abs(stop - col[c]) + 1e-9))
            if max_change and x in max_change:
                nmax = min(nmax, int(np.floor(max_change[x] + 1e-9)))
            nmax = min(nmax, 5000)
            steps = col[c] + d * np.arange(nmax + 1, dtype=float)
            cols = np.repeat(col[:, None], nmax + 1, axis=1)
            mv, vals = self.moved_values(j, c, steps)
            cols[mv, :] = vals
            try:
                G = self.normalised_column(j, cols)[c] - Xn[c, k]
            except HubindexError:
                continue
            G = np.where(np.isfinite(G), G, -np.inf)
            tables[k] = G[: int(np.searchsorted(~(G <= ub[k] + 1e-9), True))] if len(G) else G
        cvec = np.ones(len(J))
        if cost:
            for k, x in enumerate(inds):
                if x in cost:
                    cvec[k] = cost[x] / slope[k] if slope[k] > 0 else np.inf
        if max_change:
            for k, x in enumerate(inds):
                if x in max_change and k not in tables:
                    ub[k] = min(ub[k], max_change[x] * slope[k])
        cvec = np.where(np.isfinite(cvec), cvec, 1e12)
        # MILP variables: one per continuous / linear-count indicator, then binaries of the non-linear counts
        cols_c, cols_a, lo_v, hi_v, integ, kind_of = [], [], [], [], [], []
        bins: list[tuple[int, int, float]] = []  # (k, n, gain)
        linear_steps: dict[int, float] = {}
        for k in range(len(J)):
            G = tables.get(k)
            if G is None:
                cols_c.append(cvec[k])
                cols_a.append(e[k])
                lo_v.append(0.0)
                hi_v.append(ub[k])
                integ.append(0)
                kind_of.append(("cont", k))
                continue
            n_top = len(G) - 1
            if n_top <= 0:
                continue
            s1 = G[1]
            if np.all(np.abs(G - s1 * np.arange(len(G))) <= 1e-9 * max(1.0, abs(G[-1]))):
                linear_steps[k] = s1
                per_step = (cost[inds[k]] if cost and inds[k] in cost else s1)
                cols_c.append(per_step)
                cols_a.append(e[k] * s1)
                lo_v.append(0.0)
                hi_v.append(float(n_top))
                integ.append(1)
                kind_of.append(("lin", k))
            else:
                for nn in range(1, n_top + 1):
                    bins.append((k, nn, float(G[nn])))
                    cols_c.append(cost[inds[k]] * nn if cost and inds[k] in cost else max(float(G[nn]), 0.0))
                    cols_a.append(e[k] * float(G[nn]))
                    lo_v.append(0.0)
                    hi_v.append(1.0)
                    integ.append(1)
                    kind_of.append(("bin", k))
        nv = len(cols_c)
        cons = [LinearConstraint(np.array(cols_a)[None, :], need, np.inf)]
        for k in {k for _, k in kind_of if _ == "bin"}:
            row = np.array([1.0 if kk == ("bin", k) else 0.0 for kk in kind_of])
            cons.append(LinearConstraint(row[None, :], 0.0, 1.0))
        if nv == 0:
            res = None
        else:
            with _quiet_stdout():
                res = milp(np.array(cols_c), constraints=cons, integrality=np.array(integ),
                           bounds=Bounds(np.array(lo_v), np.array(hi_v)), options={"mip_rel_gap": 0})
        if res is None or res.status != 0 or res.x is None:
            why = "no movable indicator has room to gain" if res is None else res.message
            reach = (f"not reachable with {who} alone" if not best.get("met") else
                     "infeasible under the linear model (other cities held fixed, no new maximum), although with "
                     f"{who} at the ends of their ranges the goal is met")
            return base_plan | {"status": f"{reach}: best reachable rank {best.get('rank')} ({why})",
                                "plan": pd.DataFrame(), "cost": np.nan, "reachable": bool(best.get("met"))}
        xv = res.x
        gain = np.zeros(len(J))
        steps_of: dict[int, int] = {}
        bi = 0
        for v, (kd, k) in zip(xv, kind_of, strict=True):
            if kd == "cont":
                gain[k] = v
            elif kd == "lin":
                steps_of[k] = int(round(v))
                gain[k] = linear_steps[k] * steps_of[k]
            else:
                kk, nn, gg = bins[bi]
                bi += 1
                if round(v) == 1:
                    steps_of[kk], gain[kk] = nn, gg
        rows = []
        changes: dict[str, float] = {}
        for k, x in enumerate(inds):
            if gain[k] <= 1e-9 and steps_of.get(k, 0) == 0:
                continue
            j = J[k]
            x0 = float(self.data.X[:, j][self.keep][c])
            if k in steps_of:
                raw = x0 + int(self.nodes[x].direction) * steps_of[k]
            else:
                raw = self._invert(j, c, Xn[c, k] + gain[k], lims[x])
            changes[x] = raw
            rows.append({"indicator": x, "name": self.nodes[x].name or x, "unit": self.nodes[x].unit,
                         "scope": str(self.scope[c, j]), "lever": bool(lev[x]), "whole_steps": k in steps_of,
                         "normalised_from": Xn[c, k], "normalised_to": Xn[c, k] + gain[k], "gain": gain[k],
                         "effective_weight": e[k], "current": x0, "required": raw, "change": raw - x0,
                         "bound": braw[k], "at_bound": bool(np.isfinite(braw[k]) and np.isclose(raw, braw[k]))})
        s_full, _ = self._full_scores(changes, self.units[c])
        nl = [inds[k] for k in {k for _, k in kind_of if _ == "bin"}]
        return base_plan | {
            "status": "optimal", "cost": float(res.fun), "plan": pd.DataFrame(rows), "reachable": True,
            "check_score": float(s_full[c]), "check_rank": int(_ranks_of(s_full[None], c)[0]),
            "check_met": bool(met(s_full[None])[0]),
            "approximation": "linear in normalised values with arithmetic aggregation; other cities' normalised "
                             "values held fixed (a new maximum or a change of treatment is not modelled); counts in "
                             "whole steps with exact gains from the column pipeline"
                             + (f" (not linear in the steps for {nl}: one binary per step count)" if nl else "")
                             + "; raw values from the real column pipeline; checked by a full rebuild",
        }

    def best_reachable(self, unit: str, *, indicators: Sequence[str] | None = None,
                       bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
                       natural_bounds: bool = True, include_national: bool = False, rank: int | None = None,
                       tier: str | None = None, beat: str | None = None) -> dict[str, Any]:
        """The best rank ``unit`` reaches with the movable indicators (its levers; all with ``include_national``;
        or ``indicators``) all at the ends of their search ranges in the improving direction — the natural bound
        (∩ ``bounds``), or 2 ranges beyond the best city where the range is open (see :meth:`search_range`) —
        in one full engine rebuild. Under min-max each indicator's end gives the city its best normalised value
        and (beyond the maximum) lowers everyone else's, so this is the most the city can do with them. With a
        goal, ``met`` says whether that reaches it."""
        c = self._unit(unit)
        lev = self.levers(self.units[c])
        inds = list(indicators) if indicators is not None else [x for x in self.inds if include_national or lev[x]]
        lims = self.value_bounds(bounds, natural=natural_bounds)
        changes = {}
        for x in inds:
            j = self.inds.index(x)
            x0, _, end, _ = self._range(j, c, lims[x])
            changes[x] = float(end)
        rank0 = int(self.base.ranks[self.root].iloc[c])
        if not changes:
            return {"rank": rank0, "score": float(self.values[self.root][c]), "values": {}, "met": None}
        try:
            s, _ = self._full_scores(changes, self.units[c])
        except HubindexError as err:
            return {"rank": None, "score": None, "values": changes, "met": None, "note": str(err)}
        out: dict[str, Any] = {"rank": int(_ranks_of(s[None], c)[0]), "score": float(s[c]), "values": changes,
                               "met": None}
        if sum(v is not None for v in (rank, tier, beat)) == 1:
            _, met = self.goal(self.units[c], rank=rank, tier=tier, beat=beat)
            out["met"] = bool(met(s[None])[0])
        return out

    def _norm_at(self, j: int, c: int, x: float) -> float:
        """Normalised value of unit ``c`` for indicator ``j`` with its raw value set to ``x``, the other cities
        unchanged (the real column pipeline); NaN when the engine cannot build it."""
        cc = np.array(self.data.X[:, j][self.keep], dtype=float)
        mv, vals = self.moved_values(j, c, np.array([x]))
        cc[mv] = vals[:, 0]
        try:
            return float(self.normalised_column(j, cc[:, None])[c, 0])
        except HubindexError:
            return float("nan")

    def _invert(self, j: int, c: int, want: float, lim: tuple[float, float] = (-np.inf, np.inf),
                iters: int = 60) -> float:
        """The raw value of unit ``c`` whose normalised value of indicator ``j`` is ``want`` (bisection between
        the current value and the end of the search range within ``lim``; never outside ``lim``)."""
        x0, _, end, _ = self._range(j, c, lim)

        def f(x: float) -> float:
            v = self._norm_at(j, c, x)
            return -np.inf if np.isnan(v) else v

        a, b = x0, end
        if f(b) < want:
            return float(np.clip(b, *lim))
        for _ in range(iters):
            m = 0.5 * (a + b)
            if f(m) >= want:
                b = m
            else:
                a = m
        return float(np.clip(b, *lim))


# -- best and worst rank over admissible weights --------------------------------------------------------------


def weight_extremes(D: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min and max of D[i] · w over {lo ≤ w ≤ hi, Σ w = 1}, for every row i (closed-form LP: fractional
    knapsack — start from ``lo`` and spend the rest 1 − Σ lo on the smallest / largest coefficients first)."""
    rest = 1.0 - lo.sum()
    cap = hi - lo

    def extreme(order: np.ndarray) -> np.ndarray:
        capo = cap[order]  # (n, m)
        cum = np.cumsum(capo, axis=1)
        give = np.clip(rest - (cum - capo), 0.0, capo)
        vals = np.take_along_axis(D, order, axis=1)
        return D @ lo + (vals * give).sum(axis=1)

    asc = np.argsort(D, axis=1, kind="stable")
    return extreme(asc), extreme(asc[:, ::-1])


def _bounds(w0: np.ndarray, tol: float | None, lo: np.ndarray | None, hi: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray]:
    if lo is None or hi is None:
        t = 0.5 if tol is None else tol
        lo = w0 * (1 - t) if lo is None else lo
        hi = w0 * (1 + t) if hi is None else hi
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    if (lo > hi).any() or lo.sum() > 1 + 1e-12 or hi.sum() < 1 - 1e-12:
        raise SpecError(f"rank range: weight bounds admit no weights summing to 1 (Σ lo = {lo.sum():g}, "
                        f"Σ hi = {hi.sum():g})")
    return lo, hi


def rank_range(result: Any, *, level: str = "pillar", tol: float | None = 0.5,
               lower: Mapping[str, float] | None = None, upper: Mapping[str, float] | None = None,
               units: Sequence[str] | None = None, eps: float = 1e-9) -> pd.DataFrame:
    """Best and worst attainable rank of every unit over all admissible weights.

    ``level="pillar"``: the weights of the index's children (pillar scores fixed), ``"indicator"``: the
    effective indicator weights (needs arithmetic aggregation and no missing normalised values). Admissible:
    weights summing to 1 with nominal × (1 ± ``tol``), or explicit ``lower``/``upper`` per code. Ties count in a
    unit's favour (ranks share the best place). Returns unit, name, rank, best_rank, worst_rank, and the weights
    reaching them.
    """
    fw = result.framework
    spec = result.spec
    agg = spec.step("aggregate")
    root_level = int(fw.level[fw.index_of(fw.root)])
    if level == "pillar":
        codes = list(fw.children(fw.root))
        if agg.by_level.get(root_level, agg.method) != "arithmetic":
            raise ComputeError("rank range: the index must be an arithmetic mean of its pillars")
        w0 = result.weights["rescaled"].reindex(codes).to_numpy(dtype=float)
    elif level == "indicator":
        codes = list(fw.indicators)
        if {agg.method, *agg.by_level.values()} != {"arithmetic"}:
            raise ComputeError("rank range over indicator weights needs arithmetic aggregation at every level")
        w0 = result.weights["effective"].reindex(codes).to_numpy(dtype=float)
    else:
        raise SpecError(f"rank range: level must be 'pillar' or 'indicator', got {level!r}")
    P = result.scores[codes].to_numpy(dtype=float)
    if np.isnan(P).any():
        bad = [c for c, m in zip(codes, np.isnan(P).any(0), strict=True) if m]
        raise ComputeError(f"rank range: missing {level} scores for {bad}; scores must be complete to be linear "
                           "in the weights (impute first)")
    lo = np.array([lower.get(c, np.nan) if lower else np.nan for c in codes])
    hi = np.array([upper.get(c, np.nan) if upper else np.nan for c in codes])
    lo = np.where(np.isnan(lo), w0 * (1 - (0.5 if tol is None else tol)), lo)
    hi = np.where(np.isnan(hi), w0 * (1 + (0.5 if tol is None else tol)), hi)
    lo, hi = _bounds(w0, tol, lo, hi)
    all_units = [str(u) for u in result.scores.index]
    names = result.unit_names.reindex(result.scores.index).to_numpy()
    ranks0 = result.ranks[fw.root].to_numpy()
    want = range(len(all_units)) if units is None else [all_units.index(u) for u in units]
    best, worst, always, undecided, wb, ww = rank_range_matrix(P, lo, hi, rows=list(want), eps=eps)
    rows = []
    for k, c in enumerate(want):
        rows.append({"unit": all_units[c], "name": names[c], "rank": float(ranks0[c]),
                     "best_rank": int(best[k]), "worst_rank": int(worst[k]),
                     "n_always_above": int(always[k]), "n_undecided": int(undecided[k]),
                     "weights_best": dict(zip(codes, np.round(wb[k], 6), strict=True)),
                     "weights_worst": dict(zip(codes, np.round(ww[k], 6), strict=True))})
    out = pd.DataFrame(rows)
    out.attrs |= {"level": level, "codes": codes, "lower": dict(zip(codes, lo, strict=True)),
                  "upper": dict(zip(codes, hi, strict=True)), "nominal": dict(zip(codes, w0, strict=True))}
    return out


def rank_range_matrix(P: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, rows: Sequence[int] | None = None,
                      eps: float = 1e-9) -> tuple[Any, ...]:
    """Best and worst rank of rows of ``P`` (units × components) when the score is P · w over
    {lo ≤ w ≤ hi, Σ w = 1}: pairwise closed-form LP bounds, then one MILP per unit for the undecided pairs.

    Returns (best, worst, n_always_above, n_undecided, weights_best, weights_worst), one entry per row.
    """
    n, m = P.shape
    want = range(n) if rows is None else rows
    best, worst, alw, und, wb, ww = [], [], [], [], [], []
    V = _box_simplex_vertices(lo, hi)  # candidate weights that may settle a unit without a MILP
    for c in want:
        D = np.delete(P - P[c], c, axis=0)  # (n-1, m): s_i − s_c = D_i · w
        mn, mx = weight_extremes(D, lo, hi)
        always = mn > eps
        never = mx <= eps
        undecided = ~always & ~never
        Du = D[undecided]
        # a vertex where no undecided unit is above (D_i·w ≤ 0), or every one is (D_i·w ≥ eps), reaches the bound
        # the MILP could reach at best (0, or all of them): the same count, without solving it
        b_extra = w_extra = -1
        if len(V) and len(Du):
            G = Du @ V.T  # (k, vertices)
            nb = np.flatnonzero((G <= 0).all(0))
            nw = np.flatnonzero((G >= eps).all(0))
            if len(nb):
                b_extra, w_b = 0, V[nb[0]].copy()
            if len(nw):
                w_extra, w_w = len(Du), V[nw[0]].copy()
        if b_extra < 0:
            b_extra, w_b = _milp_count(Du, lo, hi, minimise=True, eps=eps)
        if w_extra < 0:
            w_extra, w_w = _milp_count(Du, lo, hi, minimise=False, eps=eps)
        best.append(1 + int(always.sum()) + b_extra)
        worst.append(1 + int(always.sum()) + w_extra)
        alw.append(int(always.sum()))
        und.append(int(undecided.sum()))
        wb.append(w_b)
        ww.append(w_w)
    return np.array(best), np.array(worst), np.array(alw), np.array(und), wb, ww


def _box_simplex_vertices(lo: np.ndarray, hi: np.ndarray, max_dim: int = 10) -> np.ndarray:
    """Vertices of {lo ≤ w ≤ hi, Σ w = 1}: all but one weight at a bound, the last one = 1 − the others, kept when
    within its own bounds (m·2^(m−1) candidates; none for m > ``max_dim``)."""
    import itertools

    m = len(lo)
    if m > max_dim or m == 0:
        return np.zeros((0, m))
    out = []
    for free in range(m):
        others = [i for i in range(m) if i != free]
        for combo in itertools.product((0, 1), repeat=m - 1):
            w = np.empty(m)
            for i, b in zip(others, combo, strict=True):
                w[i] = hi[i] if b else lo[i]
            w[free] = 1.0 - w[others].sum()
            if lo[free] - 1e-12 <= w[free] <= hi[free] + 1e-12:
                out.append(w)
    return np.unique(np.array(out), axis=0) if out else np.zeros((0, m))


def _milp_count(D: np.ndarray, lo: np.ndarray, hi: np.ndarray, *, minimise: bool, eps: float
                ) -> tuple[int, np.ndarray | None]:
    """Fewest (``minimise``) or most rows of D that can be strictly above 0 at one admissible w."""
    m = len(lo)
    k = len(D)
    if k == 0:
        w = _feasible_w(lo, hi)
        return 0, w
    mn, mx = weight_extremes(D, lo, hi)
    # variables: w (m, continuous), z (k, binary)
    c = np.concatenate([np.zeros(m), np.ones(k) if minimise else -np.ones(k)])
    A_sum = np.concatenate([np.ones(m), np.zeros(k)])[None]
    cons = [LinearConstraint(A_sum, 1.0, 1.0)]
    if minimise:
        # z_i = 0 ⇒ D_i·w ≤ 0 :  D_i·w − M_i z_i ≤ 0
        A = np.hstack([D, -np.diag(np.maximum(mx, 0) + 1.0)])
        cons.append(LinearConstraint(A, -np.inf, 0.0))
    else:
        # z_i = 1 ⇒ D_i·w ≥ eps :  D_i·w − (eps − mn_i) z_i ≥ mn_i
        A = np.hstack([D, -np.diag(eps - np.minimum(mn, 0) + 1.0)])
        cons.append(LinearConstraint(A, np.minimum(mn, 0) - 1.0, np.inf))
    integrality = np.concatenate([np.zeros(m), np.ones(k)])
    bounds = Bounds(np.concatenate([lo, np.zeros(k)]), np.concatenate([hi, np.ones(k)]))
    with _quiet_stdout():  # HiGHS prints a debug line from C for some MIPs
        res = milp(c, constraints=cons, integrality=integrality, bounds=bounds, options={"mip_rel_gap": 0})
    if res.status != 0 or res.x is None:
        raise ComputeError(f"rank range: the mixed-integer LP failed ({res.message})")
    z = np.round(res.x[m:]).astype(int)
    return int(z.sum()), res.x[:m]


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 (C-level prints) for the duration."""
    try:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _feasible_w(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    w = lo.copy()
    rest = 1.0 - w.sum()
    for i in range(len(w)):
        add = min(hi[i] - w[i], rest)
        w[i] += add
        rest -= add
    return w


def rank_range_enumerate(P: np.ndarray, lo: np.ndarray, hi: np.ndarray, eps: float = 1e-9
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst rank of each row of ``P`` by enumeration (for tests and checks): for every set S of
    other units, an LP decides whether some admissible w puts exactly S strictly above; rank = |S| + 1."""
    import itertools

    n, m = P.shape
    best = np.zeros(n, dtype=int)
    worst = np.zeros(n, dtype=int)
    for c in range(n):
        others = [i for i in range(n) if i != c]
        feas = []
        for r in range(len(others) + 1):
            for S in itertools.combinations(others, r):
                D = P - P[c]
                A, b = [], []
                for i in others:
                    if i in S:
                        A.append(-D[i])  # D_i·w ≥ eps
                        b.append(-eps)
                    else:
                        A.append(D[i])  # D_i·w ≤ 0
                        b.append(0.0)
                res = linprog(np.zeros(m), A_ub=np.array(A), b_ub=np.array(b), A_eq=np.ones((1, m)), b_eq=[1.0],
                              bounds=list(zip(lo, hi, strict=True)), method="highs")
                if res.status == 0:
                    feas.append(len(S) + 1)
        best[c], worst[c] = min(feas), max(feas)
    return best, worst

