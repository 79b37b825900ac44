"""The batched replication engine behind the uncertainty and sensitivity analyses.

A replication is a row u ∈ [0, 1)^c of a design matrix: each discrete factor (an alternative data column set,
an alternative of impute, treat, normalise, exclude, aggregate, or a pre-drawn weight set) takes one column, k alternatives → index ⌊u·k⌋;
continuous weight noise takes one column per noisy node, w' = w·(1 + (2u − 1)·f).

Nothing that does not vary is recomputed: the normalised data of every (columns, impute, treat, normalise)
combination is built once by the real pipeline; replications are grouped by their discrete choices; inside a group the tree is
aggregated level by level as arrays (replications × units × children) with the engine's own batched
aggregators — once, unbatched, for a node whose children and weights do not vary in the group — and ranked in
bulk with the engine's ``rank_desc`` on scores rounded to ``RANK_DECIMALS``. ``spec_for(u)`` gives the plain spec
of a replication, so that ``build(spec_for(u))`` reproduces it (tested to 1e-9).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from hubindex.audit.config import UncertaintyConfig, parse_uncertainty
from hubindex.engine._aggregate import aggregate as _aggregate
from hubindex.engine._rank import rank_desc
from hubindex.engine.pipeline import RANK_DECIMALS, run
from hubindex.errors import ComputeError, HubindexError, SpecError
from hubindex.spec import IndexSpec

__all__ = ["Factor", "AuditModel", "aggregate_batched"]

_KEY_FACTORS = ("columns", "impute", "treat", "normalise", "exclude", "aggregate")
_FAST = ("arithmetic", "geometric", "harmonic")


def aggregate_batched(C: np.ndarray, W: np.ndarray, method: str, min_availability: float | None = None
                      ) -> np.ndarray:
    """Weighted means of children C ((n, k) shared, or (r, n, k)) with per-replication weights W (r, k), as
    matrix products: with T = x (arithmetic), ln x (geometric) or 1/x (harmonic) over available children,
    num = Σ_k w_k T_k, den = Σ_k w_k [x_k available]; y = num/den, exp(num/den) or den/num. Same definitions,
    missing-value rule and availability threshold as ``hubindex.engine._aggregate``; returns (r, n)."""
    if np.any(W < 0):
        raise ComputeError("aggregation weights must be >= 0")
    ok = ~np.isnan(C)
    if method != "arithmetic" and np.any(C[ok] <= 0):
        raise ComputeError(f"the {method} mean needs values > 0")
    T = {"arithmetic": lambda: np.where(ok, C, 0.0), "geometric": lambda: np.log(np.where(ok, C, 1.0)),
         "harmonic": lambda: np.where(ok, 1.0 / np.where(ok, C, 1.0), 0.0)}[method]()
    okf = ok.astype(float)
    if C.ndim == 2:
        num, den = (T @ W.T).T, (okf @ W.T).T
    else:
        num, den = np.matmul(T, W[:, :, None])[..., 0], np.matmul(okf, W[:, :, None])[..., 0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        y = num / den if method == "arithmetic" else np.exp(num / den) if method == "geometric" else den / num
    bad = (den <= 0) | ~ok.any(-1)
    if min_availability is not None:
        bad = bad | (ok.mean(-1) < min_availability)
    return np.where(bad, np.nan, y)


@dataclass(frozen=True)
class Factor:
    """One uncertain input: a discrete choice among ``labels`` or continuous weight noise (``k = 0``)."""

    name: str
    labels: tuple[str, ...]
    col0: int
    ncols: int

    @property
    def k(self) -> int:
        return len(self.labels)

    def index(self, U: np.ndarray) -> np.ndarray:
        """Alternative index ⌊u·k⌋ (clipped to k − 1) of each row."""
        return np.minimum((U[:, self.col0] * self.k).astype(np.int64), self.k - 1)


def _label(d: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in d.items()) or "nominal"


class AuditModel:
    """A spec plus its uncertain choices, ready to evaluate batches of replications."""

    def __init__(self, spec: IndexSpec, config: UncertaintyConfig | None = None, data: Any = None) -> None:
        from hubindex.io import load_data

        cfg = config if config is not None else parse_uncertainty(spec.uncertainty)
        if spec.weights.use == "pca":
            raise SpecError("uncertainty: weights.use 'pca' re-estimates weights per replication, which the "
                            "batched audit does not do; use fixed weights (spec, equal or a named set)")
        self.spec, self.config = spec, cfg
        self.data = data if data is not None else load_data(spec)[0]
        self.nominal = run(spec, self.data)
        fw = self.framework = self.nominal.framework
        self.target = cfg.target or fw.root
        if self.target not in fw.codes or fw.is_leaf[fw.index_of(self.target)]:
            raise SpecError(f"uncertainty.target: '{self.target}' is not an aggregate of the framework "
                            f"{list(fw.aggregates)}")
        self.units = np.asarray(self.nominal.scores.index)
        self.inds = fw.indicators

        # -- step alternatives (validated by building the step) -------------------------------------------
        self.alts: dict[str, list[dict[str, Any]]] = {}
        for step in ("impute", "treat", "normalise", "aggregate"):
            a = cfg.alternatives(step)
            if a is None:
                continue
            if spec.step(step) is None:
                raise SpecError(f"uncertainty.{step}: the pipeline has no '{step}' step to vary; add one")
            if not a:
                raise SpecError(f"uncertainty.{step}: give at least one alternative")
            for alt in a:
                self._with_step(spec, step, alt)
            self.alts[step] = a
        # -- alternative data columns: the same units, indicator j read from another column -------------------
        self.col_alts: list[dict[str, str]] = cfg.column_alternatives() or [{}]
        self.datas = [self.data]
        for mapping in self.col_alts[1:]:
            self.datas.append(self._data_with_columns(spec, mapping))
        ex = cfg.exclusions()
        self.excl_cols: list[np.ndarray] = [np.array([], dtype=np.int64)]
        if ex is not None:
            for names in ex:
                bad = [x for x in names if x not in self.inds]
                if bad:
                    raise SpecError(f"uncertainty.exclude: {bad} are not indicators; indicators are {list(self.inds)}")
            self.excl_cols = [np.array([self.inds.index(x) for x in names], dtype=np.int64) for names in ex]

        # -- weights ----------------------------------------------------------------------------------------
        self.w = self.nominal.weights["weight"].to_numpy(dtype=float)
        self.noisy = np.array([], dtype=np.int64)
        self.weight_sets: np.ndarray | None = None
        wn = cfg.weights
        if wn is not None:
            bad_lev = [lev for lev in wn.noise if lev not in set(fw.level.tolist())]
            if bad_lev:
                raise SpecError(f"uncertainty.weights.noise: level(s) {bad_lev} do not exist; levels are "
                                f"{sorted(set(fw.level.tolist()))}")
            f = np.array([wn.noise.get(int(lev), 0.0) for lev in fw.level])
            self.noisy = np.flatnonzero((f > 0) & (fw.parent >= 0))
            self.noise_f = f[self.noisy]
            if wn.sets is not None:
                rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0x5E75]))
                u = rng.uniform(-1, 1, (wn.sets, self.noisy.size))
                S = np.broadcast_to(self.w, (wn.sets, self.w.size)).copy()
                S[:, self.noisy] = self.w[self.noisy] * (1 + u * self.noise_f)
                self.weight_sets = S

        # -- factors and design columns ---------------------------------------------------------------------
        factors: list[Factor] = []
        col = 0
        if len(self.col_alts) > 1:
            factors.append(Factor("columns", tuple(_label(a) for a in self.col_alts), col, 1))
            col += 1
        for name in ("impute", "treat", "normalise"):
            if name in self.alts:
                factors.append(Factor(name, tuple(_label(a) for a in self.alts[name]), col, 1))
                col += 1
        if ex is not None:
            factors.append(Factor("exclude", tuple("-" + "-".join(x) if x else "none" for x in ex), col, 1))
            col += 1
        if "aggregate" in self.alts:
            factors.append(Factor("aggregate", tuple(_label(a) for a in self.alts["aggregate"]), col, 1))
            col += 1
        if wn is not None and self.noisy.size:
            if self.weight_sets is not None:
                factors.append(Factor("weights", tuple(f"set {i}" for i in range(len(self.weight_sets))), col, 1))
                col += 1
            else:
                factors.append(Factor("weights", (), col, int(self.noisy.size)))
                col += int(self.noisy.size)
        if not factors:
            raise SpecError("uncertainty: nothing is uncertain; declare alternatives for columns, impute, treat, "
                            "normalise, aggregate, exclude or weights noise")
        self.factors = tuple(factors)
        self.ncols = col

        # -- what does not vary: normalised data per (columns, impute, treat, normalise) -------------------
        self.variants: dict[tuple[int, int, int, int], np.ndarray] = {}
        sizes = [len(self.col_alts)] + [len(self.alts.get(s, [None])) for s in ("impute", "treat", "normalise")]
        for key in itertools.product(*(range(k) for k in sizes)):
            s = spec
            for step, i in zip(("impute", "treat", "normalise"), key[1:], strict=True):
                if step in self.alts:
                    s = self._with_step(s, step, self.alts[step][i])
            s = s.with_step("aggregate", method="arithmetic", by_level={}, min_availability=None,
                            min_availability_by={})
            res = run(s, self.datas[key[0]])
            if not np.array_equal(np.asarray(res.scores.index), self.units):
                raise ComputeError("uncertainty: an alternative changes which units are screened out; the audit "
                                   "needs the same units in every replication")
            self.variants[(key[0], key[1], key[2], key[3])] = res.datasets["Normalised"].to_numpy(dtype=float)
        agg_nominal = spec.step("aggregate")
        self.agg_steps = [agg_nominal] if "aggregate" not in self.alts else [
            self._with_step(spec, "aggregate", a).step("aggregate") for a in self.alts["aggregate"]]

        # -- the target's subtree in computation order ------------------------------------------------------
        ti = fw.index_of(self.target)
        sub = {ti}
        for i in range(len(fw.codes)):
            j = i
            while j >= 0:
                if j == ti:
                    sub.add(i)
                    break
                j = int(fw.parent[j])
        self.order = [c for c in fw.aggregates if fw.index_of(c) in sub]
        self.kids = {c: np.flatnonzero(fw.parent == fw.index_of(c)) for c in self.order}
        self.nominal_score = self.nominal.scores[self.target].to_numpy(dtype=float)
        self.nominal_rank = self.nominal.ranks[self.target].to_numpy(dtype=float)
        self.unit_names = self.nominal.unit_names.to_numpy(dtype=object)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle for Dask workers without the nominal Result and raw data (not needed to evaluate)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("nominal", "data", "datas")}

    # ------------------------------------------------------------------------------------------------------
    @staticmethod
    def _with_step(spec: IndexSpec, step: str, alt: dict[str, Any]) -> IndexSpec:
        try:
            return spec.with_step(step, **alt)
        except ValidationError as e:
            msg = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            raise SpecError(f"uncertainty.{step}: alternative {alt} is invalid ({msg})") from None

    @staticmethod
    def _renamed(spec: IndexSpec, mapping: dict[str, str]) -> IndexSpec:
        """The spec with indicator nodes renamed ``{indicator: column}`` (same place, parent, weight)."""
        d = spec.model_dump()
        d["framework"] = [{**nd, "code": mapping.get(nd["code"], nd["code"])} for nd in d["framework"]]
        return IndexSpec.model_validate(d)

    def _data_with_columns(self, spec: IndexSpec, mapping: dict[str, str]) -> Any:
        """The model's data with indicator j read from column ``mapping[indicator]`` of the spec's data file(s)."""
        from hubindex.engine.data import IndexData
        from hubindex.io import load_data

        bad = [k for k in mapping if k not in self.inds]
        if bad:
            raise SpecError(f"uncertainty.columns: {bad} are not indicators; indicators are {list(self.inds)}")
        try:
            alt = load_data(self._renamed(spec, mapping))[0]
        except HubindexError as e:
            raise SpecError(f"uncertainty.columns: alternative {mapping} cannot be read: {e}") from None
        if not np.array_equal(np.asarray(alt.units), np.asarray(self.data.units)):
            raise SpecError("uncertainty.columns: the alternative columns come with other units than the data")
        return IndexData(self.data.units, self.data.names, self.data.indicators, alt.X, self.data.groups,
                         self.data.denominators)

    @property
    def n_units(self) -> int:
        return len(self.units)

    def choices(self, U: np.ndarray) -> dict[str, np.ndarray]:
        """Index of the chosen alternative per discrete factor (continuous weight noise is left out)."""
        return {f.name: f.index(U) for f in self.factors if f.k}

    def weights(self, U: np.ndarray) -> np.ndarray:
        """Weights per replication (r × nodes): nominal, a pre-drawn noisy set, or w·(1 + (2u − 1)·f)."""
        r = len(U)
        f = next((f for f in self.factors if f.name == "weights"), None)
        if f is None:
            return np.broadcast_to(self.w, (r, self.w.size))
        if self.weight_sets is not None:
            return self.weight_sets[f.index(U)]
        W = np.broadcast_to(self.w, (r, self.w.size)).copy()
        W[:, self.noisy] = self.w[self.noisy] * (1 + (2 * U[:, f.col0:f.col0 + f.ncols] - 1) * self.noise_f)
        return W

    def scores(self, U: np.ndarray, nodes: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Scores (r × units) of ``nodes`` (default: the target) for the replications in the rows of ``U``."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        if U.shape[1] != self.ncols:
            raise ComputeError(f"design has {U.shape[1]} columns; this model needs {self.ncols}")
        nodes = [self.target] if nodes is None else list(nodes)
        r, n = len(U), self.n_units
        ch = self.choices(U)
        W = self.weights(U)
        keys = np.column_stack([ch.get(k, np.zeros(r, dtype=np.int64)) for k in _KEY_FACTORS])
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        out = {c: np.empty((r, n)) for c in nodes}
        for g, key in enumerate(uniq):
            rows = np.flatnonzero(inv == g) if len(uniq) > 1 else slice(None)
            vals = self._group(tuple(int(x) for x in key), W[rows], nodes)
            for c in nodes:
                out[c][rows] = vals[c]
        return out

    def _group(self, key: tuple[int, ...], Wg: np.ndarray, nodes: Sequence[str]) -> dict[str, np.ndarray]:
        fw = self.framework
        Xn = self.variants[(key[0], key[1], key[2], key[3])]
        excl = self.excl_cols[key[4]]
        if excl.size:
            Xn = Xn.copy()
            Xn[:, excl] = np.nan
        step = self.agg_steps[key[5]]
        rg, n = len(Wg), self.n_units
        values: dict[str, np.ndarray] = {c: Xn[:, j] for j, c in enumerate(self.inds)}
        for code in self.order:
            kids = self.kids[code]
            Wk = Wg[:, kids]
            kv = [values[fw.codes[k]] for k in kids]
            level = int(fw.level_of(code))
            method = step.method_for(level)
            avail = step.availability_for(code, level)
            try:
                shared = all(v.ndim == 1 for v in kv)
                if shared and (Wk == Wk[0]).all():
                    y = _aggregate(np.column_stack(kv), Wk[0], method, min_availability=avail)
                elif method in _FAST:
                    C = np.column_stack(kv) if shared else np.stack(
                        [np.broadcast_to(v, (rg, n)) for v in kv], axis=-1)
                    y = aggregate_batched(C, Wk, method, avail)
                else:
                    C = np.stack([np.broadcast_to(v, (rg, n)) for v in kv], axis=-1)
                    y = _aggregate(C, Wk, method, min_availability=avail)
            except HubindexError as e:
                raise ComputeError(f"uncertainty: aggregating '{code}' with {method} under alternative "
                                   f"{self.describe_key(key)}: {e}") from None
            values[code] = y
        return {c: np.broadcast_to(values[c], (rg, n)) for c in nodes}

    def score_bounds(self, node: str | None = None) -> tuple[float, float]:
        """An interval [lo, hi] that contains the score of ``node`` (default: the target) in every replication.

        Bottom up over the subtree: an indicator's range is its min–max over the normalised variants; a node
        aggregated by a mean (arithmetic, geometric, harmonic, weighted median — any alternative at its level)
        stays within the hull of its children's ranges, whatever the weights, exclusions or missing values;
        Copeland and net outranking scores lie in [−(n − 1), n − 1] for n units. Used as the fixed histogram grid
        of the streaming summary (the same on every backend).
        """
        fw = self.framework
        node = self.target if node is None else node
        rng: dict[str, tuple[float, float]] = {}
        for j, c in enumerate(self.inds):
            col = np.concatenate([v[:, j] for v in self.variants.values()])
            col = col[np.isfinite(col)]
            rng[c] = (float(col.min()), float(col.max())) if col.size else (np.inf, -np.inf)
        span = float(self.n_units - 1)
        for code in self.order:
            kids = [fw.codes[k] for k in self.kids[code]]
            lo = min(rng[k][0] for k in kids)
            hi = max(rng[k][1] for k in kids)
            level = int(fw.level_of(code))
            for m in {s.method_for(level) for s in self.agg_steps}:
                if m in ("copeland", "outranking"):
                    lo, hi = min(lo, -span), max(hi, span)
                elif m not in ("arithmetic", "geometric", "harmonic", "median"):
                    lo, hi = -np.inf, np.inf
            rng[code] = (lo, hi)
            if code == node:
                break
        lo, hi = rng[node]
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ComputeError(f"uncertainty: no finite bound for the scores of '{node}'; use keep='all'")
        return lo, hi

    def describe_key(self, key: tuple[int, ...]) -> str:
        labels = {f.name: f.labels for f in self.factors if f.k}
        parts = [f"{name}={labels[name][i]}" for name, i in zip(_KEY_FACTORS, key, strict=True) if name in labels]
        return "(" + "; ".join(parts) + ")"

    def ranks(self, S: np.ndarray) -> np.ndarray:
        """Ranks along units (1 = best, 'min' ties, NaN for missing), scores rounded to RANK_DECIMALS first."""
        return rank_desc(np.round(S, RANK_DECIMALS))

    def evaluate(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(target scores, target ranks), each r × units, for the design rows ``U``."""
        S = self.scores(U)[self.target]
        return S, self.ranks(S)

    def choice_table(self, U: np.ndarray) -> pd.DataFrame:
        """The labels of the chosen alternatives per replication."""
        return pd.DataFrame({name: np.asarray(next(f for f in self.factors if f.name == name).labels)[i]
                             for name, i in self.choices(U).items()})

    # -- the slow path ------------------------------------------------------------------------------------
    def spec_for(self, u: np.ndarray) -> IndexSpec:
        """The ordinary spec of one replication: ``build(spec_for(u))`` recomputes it from scratch."""
        u = np.atleast_2d(np.asarray(u, dtype=float))
        ch = {k: int(v[0]) for k, v in self.choices(u).items()}
        s = self.spec
        for step in ("impute", "treat", "normalise", "aggregate"):
            if step in ch:
                s = self._with_step(s, step, self.alts[step][ch[step]])
        drop = {self.inds[j] for j in self.excl_cols[ch.get("exclude", 0)]}
        cols = self.col_alts[ch.get("columns", 0)]
        fw = self.framework
        while True:  # an aggregate whose children are all excluded goes too (it would be a leaf without data)
            empty = {a for a in fw.aggregates if a not in drop and set(fw.children(a)) <= drop}
            if not empty:
                break
            drop |= empty
        w = self.weights(u)[0]
        d = self._renamed(s, cols).model_dump()
        d["framework"] = [nd for nd in d["framework"] if nd["code"] not in {cols.get(x, x) for x in drop}]
        d["weights"] = {"use": "audit", "sets": {
            "audit": {cols.get(c, c): float(x) for c, x in zip(self.framework.codes, w, strict=True) if c not in drop}}}
        d["uncertainty"] = None
        return IndexSpec.model_validate(d)


def resolve_model(spec: Any, config: UncertaintyConfig | dict[str, Any] | None, model: AuditModel | None,
                  over: dict[str, Any]) -> tuple[AuditModel, UncertaintyConfig]:
    """The audit model to run and the run's config. A new model is prepared from the spec (its ``uncertainty``
    block unless ``config`` is given); a prepared model keeps its variants and weight sets. ``over`` (n, seed, …)
    changes only the replications."""
    if model is None:
        from hubindex.api import as_spec

        s = as_spec(spec)
        cfg = config if isinstance(config, UncertaintyConfig) else parse_uncertainty(
            config if config is not None else s.uncertainty)
        if over:
            cfg = parse_uncertainty({**cfg.model_dump(), **over})
        return AuditModel(s, cfg), cfg
    cfg = model.config
    return model, (parse_uncertainty({**cfg.model_dump(), **over}) if over else cfg)
