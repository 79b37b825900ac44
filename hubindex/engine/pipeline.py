"""Run a spec's ordered steps on the data: screen → denominate → impute → treat → normalise → aggregate → rank.

Each step is a pure function from ``hubindex.engine``; this module only sequences them, names things in error
messages and collects the reports. No I/O happens here.

A :class:`Pipeline` keeps the steps' outputs in a bounded cache keyed by everything they depend on (see its
docstring and docs/engine.md), so a rebuild after a change re-runs only the steps from the changed one on; the
``Result``'s tables are built lazily from the arrays. ``run`` is the same chain without a cache.
"""

from __future__ import annotations

import json
import platform
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine._aggregate import aggregate as _aggregate
from hubindex.engine._cache import DEFAULT_MAX_BYTES, CacheStats, IdentityMemo, StepCache, digest, freeze
from hubindex.engine._denominate import denominate as _denominate
from hubindex.engine._impute import impute as _impute
from hubindex.engine._normalise import normalise as _normalise
from hubindex.engine._rank import group_ranks_coded, rank_desc, tiers_by_rank, tiers_by_score
from hubindex.engine._screen import screen_units
from hubindex.engine._treat import flag_labels, treat_columns, treat_columns_coded  # noqa: F401 (treat_columns: used via this module)
from hubindex.engine._weights import (
    effective_weights,
    importance,
    pca_weights,
    rescale_within_parents,
    unit_effective_weights,
)
from hubindex.engine.data import IndexData
from hubindex.engine.framework import Framework
from hubindex.engine.result import Lazy, LazyMapping, Result
from hubindex.errors import ComputeError, DataError, SpecError

__all__ = ["run", "Pipeline", "default_pipeline", "data_fingerprint", "choose_weights", "package_version"]

RANK_DECIMALS = 10
# normalisers that divide by the spread of the data: a constant indicator cannot be normalised by them
_SPREAD_METHODS = {"min_max", "z_score", "dist_to_max", "dist_to_ref", "frac_max"}


@lru_cache(maxsize=1)
def package_version() -> str:
    try:
        return version("hubindex")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def choose_weights(spec: Any, fw: Framework) -> Framework:
    """Apply ``spec.weights.use``: the framework's own, ``equal``, or a named set (``pca`` is per group)."""
    use = spec.weights.use
    if use == "equal":
        return Framework(fw.codes, fw.names, fw.parent, fw.level, np.ones(len(fw.codes)), fw.direction, fw.is_leaf)
    if use in spec.weights.sets:
        unknown = [c for c in spec.weights.sets[use] if c not in fw.codes]
        if unknown:
            raise SpecError(f"weight set '{use}' names unknown node(s) {unknown}")
        return fw.with_weights(spec.weights.sets[use])
    return fw


def _frame(X: np.ndarray, units: np.ndarray, cols: tuple[str, ...] | list[str]) -> pd.DataFrame:
    # no copy: the pipeline never writes into an array after it became a data set (each step makes a new one)
    # object matrices (flags) keep dtype object: per-column string inference costs more than the whole build
    return pd.DataFrame(X, index=pd.Index(units, name="unit"), columns=list(cols), copy=False,
                        dtype=object if X.dtype == object else None)


# -- the chain's values -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What the steps need from the framework (one per framework + weights spec; cached)."""

    fw: Framework
    nodes: Mapping[str, Any]
    inds: tuple[str, ...]
    col_parent: np.ndarray
    upstream: str  # digest of everything the steps before aggregation read from the framework
    tree: str  # digest of the tree and the chosen weights (what aggregation reads)
    shape: str  # digest of the tree alone (without weights)
    levels: tuple[_Level, ...]  # aggregation order, level by level (see _levels)

    def __cache_arrays__(self) -> list[Any]:
        fw = self.fw
        return [fw.parent, fw.level, fw.weight, fw.direction, fw.is_leaf, self.col_parent,
                [(lv.aggs, lv.kids, lv.valid, lv.n_kids, lv.cols, lv.pads) for lv in self.levels]]


@dataclass(frozen=True)
class _State:
    """The data after some steps: current units, values, imputed/flag masks, excluded units, the data sets and
    the raw material of the step reports (tables are built from it only when asked for)."""

    cur: IndexData
    X: np.ndarray
    imputed: np.ndarray
    flags: np.ndarray
    excluded: tuple[str, ...]
    datasets: tuple[tuple[str, np.ndarray, np.ndarray], ...]  # (name, values, units)
    reports: tuple[tuple[str, Callable[[], pd.DataFrame]], ...]
    memo: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def group_codes(self, g: str) -> np.ndarray:
        """Integer codes of group column ``g`` (``pd.factorize``; −1 = none), computed once per state."""
        try:
            return self.memo[g]
        except KeyError:
            codes = pd.factorize(np.asarray(self.cur.groups[g], dtype=object), use_na_sentinel=True)[0]
            codes.flags.writeable = False
            return self.memo.setdefault(g, codes)

    def __cache_arrays__(self) -> list[Any]:
        c = self.cur
        return [self.X, self.imputed, self.flags, c.units, c.names, c.X, c.groups, c.denominators]


@dataclass(frozen=True)
class _Scored:
    """Aggregation and ranking: node values (units × codes), ranks, weights used, tiers and sub-ranks."""

    S: np.ndarray
    w_used: np.ndarray
    tiers: np.ndarray | None
    sub: tuple[tuple[str, np.ndarray], ...]

    def __cache_arrays__(self) -> list[Any]:
        return [self.S, self.w_used, self.tiers, [a for _, a in self.sub]]


def _json(x: Any) -> str:
    return json.dumps(x, sort_keys=True, separators=(",", ":"), default=str)


def data_fingerprint(data: IndexData) -> str:
    """A digest of the engine input's content: units, names, indicator codes, values (bytes), groups and
    denominators."""
    parts: list[str | bytes] = [
        "\x1f".join(map(str, data.units)), "\x1f".join(map(str, data.names)), "\x1f".join(data.indicators),
        str(data.X.shape), str(data.X.dtype), np.ascontiguousarray(data.X).tobytes(),
    ]
    for k in sorted(data.groups):
        parts += ["g:" + k, "\x1f".join(map(repr, data.groups[k]))]
    for k in sorted(data.denominators):
        d = np.asarray(data.denominators[k])
        parts += ["d:" + k, str(d.dtype), np.ascontiguousarray(d).tobytes() if d.dtype != object
                  else "\x1f".join(map(repr, d))]
    return digest(*parts)


class Pipeline:
    """Runs specs through the engine with a bounded cache of step outputs (incremental rebuilds).

    Each step's output is stored under a key chained from everything it depends on:

        k_0 = H(data content, framework fields the steps read);  k_i = H(k_{i-1}, parameters of step i)
        k_agg = H(k_last, tree + chosen weights, aggregate parameters, weights.use)
        k_rank = H(k_agg, tiers, subrankings)

    so a changed parameter re-runs only the steps from the first changed one onward, and the result is the same
    (bit for bit) as a cold build. The cache is an LRU bounded by ``max_bytes`` of array memory; its arrays are
    read-only. ``Pipeline(max_bytes=0)`` keeps nothing.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.cache = StepCache(max_bytes)

    def run(self, spec: Any, data: IndexData, *, data_key: str | None = None,
            data_hashes: Mapping[str, str] | None = None, progress: Callable[[str], None] | None = None) -> Result:
        """Build the index like :func:`run`, reusing the cached outputs of unchanged steps. ``data_key``
        identifies the data's content (default: a digest of it, :func:`data_fingerprint`)."""
        return _run(spec, data, self.cache, data_key or data_fingerprint(data), data_hashes, progress)

    def clear(self) -> None:
        self.cache.clear()

    @property
    def stats(self) -> CacheStats:
        return self.cache.stats


_DEFAULT: list[Pipeline] = []


def default_pipeline() -> Pipeline:
    """The process's default pipeline (what ``hubindex.build(spec)`` uses unless told ``cache=``)."""
    if not _DEFAULT:
        _DEFAULT.append(Pipeline())
    return _DEFAULT[0]


def run(spec: Any, data: IndexData, *, data_hashes: Mapping[str, str] | None = None,
        progress: Callable[[str], None] | None = None) -> Result:
    """Build the index: every step of ``spec.pipeline`` in order, then ranks, tiers and sub-rankings (cold:
    no cache; see :class:`Pipeline` for incremental rebuilds)."""
    return _run(spec, data, None, None, data_hashes, progress)


def _cached(cache: StepCache | None, key: str | None, make: Callable[[], Any]) -> Any:
    if cache is None or key is None:
        return make()
    hit = cache.get(key)
    if hit is not None:
        return hit
    return cache.put(key, make())


def _cached_weak(ref: weakref.ref[StepCache] | None, key: str | None, make: Callable[[], Any]) -> Any:
    """``_cached`` through a weak reference: a Result's lazy tables never keep a discarded cache alive."""
    return _cached(ref() if ref is not None else None, key, make)


#: per-framework and per-step work, once per spec object rather than once per build (see IdentityMemo)
_MEMO = IdentityMemo(256)


def _json_of(model: Any) -> str:
    """``model.model_dump_json()`` of a frozen spec part, once per object."""
    return _MEMO.get((model, "json"), model.model_dump_json)


def _context_of(spec: Any) -> _Context:
    """The framework as the steps see it, once per framework: keyed by the spec's node objects (immutable;
    ``spec.with_step`` and ``model_copy`` share them); read-only."""
    return _MEMO.get((*spec.framework, "context"), lambda: freeze(_context(spec)))



def _context(spec: Any) -> _Context:
    """The framework as the steps see it, with the spec's framework weights (before ``weights.use``)."""
    fw = Framework.from_nodes(spec.framework)
    nodes = {n.code: n for n in spec.framework}
    inds = fw.indicators
    col_parent = np.array([fw.parent_of(c) or "" for c in inds], dtype=object)
    upstream = _json([[c, fw.parent_of(c), nodes[c].direction, nodes[c].denominator, nodes[c].target,
                       nodes[c].goalposts] for c in inds])
    tree = digest(_json(list(fw.codes)), fw.parent.tobytes(), fw.level.tobytes(), fw.is_leaf.tobytes())
    return _Context(fw, nodes, inds, col_parent, digest(upstream), tree, tree, _levels(_plan(fw), fw))


def _with_weights(spec: Any, ctx: _Context) -> _Context:
    """``ctx`` with ``spec.weights.use`` applied; its tree digest then covers the weights used."""
    fw = choose_weights(spec, ctx.fw)
    tree = digest(ctx.tree, np.ascontiguousarray(fw.weight, dtype=float).tobytes())
    return _Context(fw, ctx.nodes, ctx.inds, ctx.col_parent, ctx.upstream, tree, ctx.shape, ctx.levels)


def _run(spec: Any, data: IndexData, cache: StepCache | None, data_key: str | None,
         data_hashes: Mapping[str, str] | None, progress: Callable[[str], None] | None) -> Result:
    say = progress or (lambda _msg: None)
    use_cache = cache is not None and data_key is not None
    ctx = _with_weights(spec, _context_of(spec))
    key = digest("input", data_key, ctx.upstream) if use_cache and data_key else None
    state: _State = _cached(cache, key, lambda: _input_state(data, ctx))
    for step in spec.pipeline:
        say(step.step)
        if step.step == "aggregate":
            continue  # always last: below
        key = digest(key, _json_of(step)) if key else None
        state = _cached(cache, key, partial(_STEPS[step.step], step, state, ctx))
    say("aggregate")
    agg_step = spec.step("aggregate")
    # the indicators' ranks depend only on the normalised values: computed when ``Result.ranks`` is first read,
    # and cached apart, so neither a build nor a re-weighting pays for them
    final = state
    ind_ranks = partial(_cached_weak, weakref.ref(cache) if cache is not None else None,
                        digest(key, "indicator ranks") if key else None,
                        lambda: rank_desc(np.round(final.X, RANK_DECIMALS), axis=0))
    # the latest aggregation of these values with this tree, method and thresholds, whatever its weights: a
    # re-weighting recomputes only the aggregates above a changed weight (PCA weights depend on the values)
    base_key = (digest(key, "aggregation base", ctx.shape, _json_of(agg_step))
                if key and cache is not None and spec.weights.use != "pca" else None)
    key = digest(key, "aggregate", ctx.tree, _json_of(agg_step), spec.weights.use) if key else None
    key = digest(key, _MEMO.get((spec.tiers, spec.subrankings, "ranking"), lambda: _json(
        [spec.tiers.model_dump() if spec.tiers else None, list(spec.subrankings)]))) if key else None

    def score() -> _Scored:
        base = cache.get(base_key) if cache is not None and base_key is not None and base_key in cache else None
        out = _score(spec, agg_step, final, ctx, base=base)
        if cache is not None and base_key is not None:
            cache.put(base_key, (out.w_used, out.S))
        return out

    scored: _Scored = _cached(cache, key, score)
    # the aggregates' ranks too: only when ``Result.ranks`` is read (a build, a re-weighting pay for none)
    agg_ranks = partial(_cached_weak, weakref.ref(cache) if cache is not None else None,
                        digest(key, "aggregate ranks") if key else None, lambda: _aggregate_ranks(scored.S, ctx.fw))
    return _result(spec, ctx, state, scored, data_hashes, ind_ranks, agg_ranks)


def _input_state(data: IndexData, ctx: _Context) -> _State:
    if tuple(data.indicators) != ctx.inds:
        raise SpecError("the data's indicator columns do not match the framework's leaves")
    # F order (one contiguous column per indicator) whatever the caller's layout: the steps work column by
    # column, and a reduction's last bits depend on the layout, so the same data give the same bits
    X = np.array(data.X, dtype=float, order="F")
    # the state's own copies of the unit columns (a cache freezes its arrays: never the caller's)
    cur = IndexData(np.array(data.units, copy=True), np.array(data.names, copy=True), data.indicators, X,
                    {k: np.array(v, copy=True) for k, v in data.groups.items()},
                    {k: np.array(v, copy=True) for k, v in data.denominators.items()})
    return _State(cur, X, np.zeros(X.shape, dtype=bool), np.zeros(X.shape, dtype=np.uint8), (),
                  (("Raw", X, cur.units),), ())


def _step_screen(step: Any, st: _State, ctx: _Context) -> _State:
    cur = st.cur
    unit_index = {u: i for i, u in enumerate(cur.units)}
    for u in [*step.include, *step.exclude]:
        if u not in unit_index:
            raise SpecError(f"screen: unit '{u}' in include/exclude is not a unit of the data")
    inc = np.isin(cur.units, step.include)
    exc = np.isin(cur.units, step.exclude)
    out = screen_units(st.X, step.min_availability, step.max_zero_share, include=inc, exclude=exc)
    units0 = cur.units

    def report() -> pd.DataFrame:
        return pd.DataFrame({"availability": out.availability, "zero_share": out.zero_share, "kept": out.keep,
                             "reason": out.reason}, index=pd.Index(units0, name="unit"))

    excluded = st.excluded + tuple(str(u) for u in cur.units[~out.keep])
    cur = cur.subset_units(out.keep)
    if cur.n_units == 0:
        raise ComputeError("screen: no unit passes the screening thresholds")
    X = st.X[out.keep]
    return _State(cur, X, st.imputed[out.keep], st.flags[out.keep], excluded,
                  (*st.datasets, ("Screened", X, cur.units)), (*st.reports, ("screen", report)))


def _step_denominate(step: Any, st: _State, ctx: _Context) -> _State:
    X, cur, inds, nodes = st.X, st.cur, ctx.inds, ctx.nodes
    by = dict(step.by) if step.by else {c: nodes[c].denominator for c in inds if nodes[c].denominator}
    D = np.ones(X.shape)
    for j, c in enumerate(inds):
        d = by.get(c)
        if d is None:
            continue
        den = cur.denominators.get(d)
        if den is None:
            raise SpecError(f"denominate: indicator '{c}' names denominator '{d}', which is not a "
                            f"denominator column {list(cur.denominators)}")
        zero = (den == 0) & ~np.isnan(X[:, j])
        if zero.any():
            raise DataError(f"denominate: denominator '{d}' is 0 for unit '{cur.units[zero][0]}'; "
                            f"cannot divide indicator '{c}' by zero")
        D[:, j] = den
    scale = np.where([c in by for c in inds], step.scale, 1.0)
    X = _denominate(X, D, scale)

    def report() -> pd.DataFrame:
        return pd.DataFrame({"indicator": list(by), "denominator": list(by.values())})

    return _State(cur, X, st.imputed, st.flags, st.excluded, (*st.datasets, ("Denominated", X, cur.units)),
                  (*st.reports, ("denominate", report)))


def _step_impute(step: Any, st: _State, ctx: _Context) -> _State:
    cur = st.cur
    groups = None
    if step.group is not None:
        if step.group not in cur.groups:
            raise SpecError(f"impute: group '{step.group}' is not one of data.groups {list(cur.groups)}")
        groups = cur.groups[step.group]
        if len(groups) and all(v is None or v != v or str(v).strip() == "" for v in groups):
            raise DataError(f"impute: the group column '{step.group}' is empty for every unit; expected "
                            f"a group label per unit to impute by (or another method than {step.method})")
    X, mask = _impute(st.X, step.method, groups=groups, column_groups=ctx.col_parent, seed=step.seed,
                      max_iter=step.max_iter)
    imputed = st.imputed | mask
    inds = ctx.inds

    def report() -> pd.DataFrame:
        return pd.DataFrame(
            {"n_missing_before": mask.sum(0) + np.isnan(X).sum(0), "n_imputed": mask.sum(0),
             "n_missing_after": np.isnan(X).sum(0)}, index=pd.Index(inds, name="indicator"))

    return _State(cur, X, imputed, st.flags, st.excluded, (*st.datasets, ("Imputed", X, cur.units)),
                  (*st.reports, ("impute", report)))


def _step_treat(step: Any, st: _State, ctx: _Context) -> _State:
    X, flags, outcomes = _treat(step, st.X, st.flags, ctx.inds)

    def report() -> pd.DataFrame:
        return pd.DataFrame(_treat_rows(ctx.inds, outcomes)).set_index("indicator")

    return _State(st.cur, X, st.imputed, flags, st.excluded, (*st.datasets, ("Treated", X, st.cur.units)),
                  (*st.reports, ("treat", report)))


def _step_normalise(step: Any, st: _State, ctx: _Context) -> _State:
    X = _normalise_step(step, st.X, ctx.fw, ctx.nodes, ctx.inds, st.cur)
    return _State(st.cur, X, st.imputed, st.flags, st.excluded, (*st.datasets, ("Normalised", X, st.cur.units)),
                  st.reports)


_STEPS: dict[str, Callable[[Any, _State, _Context], _State]] = {
    "screen": _step_screen, "denominate": _step_denominate, "impute": _step_impute, "treat": _step_treat,
    "normalise": _step_normalise,
}


def _score(spec: Any, agg_step: Any, st: _State, ctx: _Context,
           base: tuple[np.ndarray, np.ndarray] | None = None) -> _Scored:
    """Aggregate up the tree, then tiers and sub-ranks (on scores rounded to ``RANK_DECIMALS``). ``rank_desc``
    ranks each column on its own, so the index's rank for rank tiers is its column of the full rank matrix, and
    the ranks of the other nodes (indicators, and aggregates: ``_aggregate_ranks``) are computed apart, only when
    ``Result.ranks`` is read, and complete the same matrix as ranking all columns at once."""
    fw, cur = ctx.fw, st.cur
    for g in spec.subrankings:
        if g not in cur.groups:
            raise SpecError(f"subrankings: '{g}' is not one of data.groups {list(cur.groups)}")
    S, w_used = _aggregate_tree(agg_step, st.X, fw, cur, use_pca=spec.weights.use == "pca", levels=ctx.levels,
                                base=base)
    i_root = fw.index_of(fw.root)
    tiers = None
    if spec.tiers is not None:
        t = spec.tiers
        # scores equal to 10 decimals are ties: floating-point noise (75.00000000000001) must not split a tie
        root_rank = rank_desc(np.round(S[:, [i_root]], RANK_DECIMALS), axis=0)[:, 0]
        tiers = (tiers_by_rank(root_rank, [int(c) for c in t.cutoffs], t.labels) if t.by == "rank"
                 else tiers_by_score(S[:, i_root], t.cutoffs, t.labels))
    rounded = np.round(S[:, i_root], RANK_DECIMALS)
    sub = tuple((g, group_ranks_coded(rounded, st.group_codes(g))) for g in spec.subrankings)
    return _Scored(S, w_used, tiers, sub)


def _aggregate_ranks(S: np.ndarray, fw: Framework) -> np.ndarray:
    """Ranks of the aggregates (columns: the non-leaf codes in framework order), on scores rounded to
    ``RANK_DECIMALS`` (scores equal to 10 decimals are ties: noise such as 75.00000000000001 never splits one)."""
    return rank_desc(np.round(S[:, ~fw.is_leaf], RANK_DECIMALS), axis=0)


def _result(spec: Any, ctx: _Context, st: _State, sc: _Scored, data_hashes: Mapping[str, str] | None,
            ind_ranks: Callable[[], np.ndarray], agg_ranks: Callable[[], np.ndarray]) -> Result:
    """The Result over the chain's arrays; every table is built lazily, on first access."""
    fw, cur, inds = ctx.fw, st.cur, ctx.inds
    codes = list(fw.codes)
    idx = fw.root
    units = cur.units
    index: list[pd.Index] = []

    def uindex() -> pd.Index:  # one shared unit index for every table
        if not index:
            index.append(pd.Index(units, name="unit"))
        return index[0]

    def frame(A: np.ndarray, cols: Any) -> pd.DataFrame:
        return pd.DataFrame(A, index=uindex(), columns=list(cols), copy=False,
                            dtype=object if A.dtype == object else None)

    def weights() -> pd.DataFrame:
        w_used, S = sc.w_used, sc.S
        eff = effective_weights(w_used, fw.parent, fw.is_leaf)
        resc = rescale_within_parents(w_used, fw.parent, zero_groups="nan")
        # realised: mean over units with an index score of the per-unit effective weight after missing-value
        # renormalisation; r2_index: squared correlation of the node's values with the index
        has_index = ~np.isnan(S[:, fw.index_of(idx)])
        E = unit_effective_weights(~np.isnan(S[has_index]), w_used, fw.parent)
        realised = E.mean(axis=0) if has_index.any() else np.full(len(codes), np.nan)
        return pd.DataFrame({"level": fw.level, "parent": [fw.parent_of(c) or "" for c in codes],
                             "weight": w_used, "rescaled": resc, "effective": eff, "realised": realised,
                             "r2_index": importance(S, S[:, fw.index_of(idx)])},
                            index=pd.Index(codes, name="code"))

    memo: list[pd.DataFrame] = []

    def weights_once() -> pd.DataFrame:  # Result.weights and reports["weights"] are one table
        if not memo:
            memo.append(weights())
        return memo[0]

    def record() -> dict[str, Any]:
        return {
            "hubindex_version": package_version(),
            "spec_name": spec.name,
            "spec_hash": spec.spec_hash(),
            "spec": spec.model_dump(mode="json", exclude={"base_dir"}),
            "data_files": dict(data_hashes or {}),
            "steps": [s.model_dump(mode="json") for s in spec.pipeline],
            "n_units": int(cur.n_units),
            "excluded_units": list(st.excluded),
            "index": idx,
            "platform": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__},
        }

    def all_ranks() -> np.ndarray:
        R = np.empty(sc.S.shape, order="F")  # column by column: the two rank blocks are laid out so
        R[:, fw.is_leaf] = ind_ranks()
        R[:, ~fw.is_leaf] = agg_ranks()
        return R

    def subranks() -> pd.DataFrame:
        sub = pd.DataFrame(index=uindex())
        for g, r in sc.sub:
            sub[f"rank_in_{g}"] = r
        return sub

    reports = LazyMapping({**dict(st.reports), "weights": weights_once})
    return Result(
        spec=spec, framework=fw,
        unit_names=Lazy(lambda: pd.Series(cur.names, index=uindex(), name="name")),
        groups=Lazy(lambda: pd.DataFrame({g: v for g, v in cur.groups.items()}, index=uindex())),
        datasets=LazyMapping({name: partial(_frame, A, u, inds) for name, A, u in st.datasets}),
        scores=Lazy(lambda: frame(sc.S, codes)), ranks=Lazy(lambda: frame(all_ranks(), codes)),
        tiers=None if sc.tiers is None else Lazy(lambda: pd.Series(sc.tiers, index=uindex(), name="tier")),
        subranks=Lazy(subranks),
        imputed=Lazy(lambda: frame(st.imputed, inds)),
        treat_flags=Lazy(lambda: frame(flag_labels(st.flags), inds)),
        reports=reports, excluded=st.excluded, weights=Lazy(weights_once), run_record=Lazy(record),
    )


def _treat(step: Any, X: np.ndarray, flags: np.ndarray, inds: tuple[str, ...]
           ) -> tuple[np.ndarray, np.ndarray, list[tuple[Any, ...]]]:
    """Treated values, flag codes and, per indicator, the report's numbers (``_TREAT_COLUMNS``)."""
    base = {k: v for k, v in step.model_dump().items() if k not in ("step", "method", "indicators", "overrides")}
    unknown = [c for c in [*(step.indicators or []), *step.overrides] if c not in inds]
    if unknown:
        raise SpecError(f"treat: unknown indicator(s) {unknown}; indicators are {list(inds)}")
    batches: dict[str, tuple[str, dict[str, Any], list[int]]] = {}
    if step.indicators is None and not step.overrides:  # one method for every column (the usual case)
        method = step.method
        batches[""] = (method, _treat_kwargs(method, dict(base)), list(range(len(inds))))
    else:
        targets = set(step.indicators) if step.indicators is not None else set(inds)
        # columns sharing the same method and parameters are treated together (vectorised over columns)
        for j, c in enumerate(inds):
            params = {**base, "method": step.method, **step.overrides.get(c, {})}
            if c not in targets:
                params["method"] = "none"
            method = params.pop("method")
            kw = _treat_kwargs(method, params)
            key = repr((method, sorted(kw.items())))
            batches.setdefault(key, (method, kw, []))[2].append(j)
    by_col: dict[int, tuple[str, Any]] = {}
    if len(batches) == 1:  # one batch of all columns in order (the usual case): no scatter back
        method, kw, cols = next(iter(batches.values()))
        # every column, in order: X itself (the treatments read each column on its own, whatever the layout)
        vals, fl, outcomes = treat_columns_coded(X, method=method, **kw)
        X = np.asfortranarray(vals)  # F order (one contiguous column per indicator), as the general case leaves it
        flags = np.where(fl != 0, fl, flags) if flags.any() else fl
        by_col.update({j: (method, o) for j, o in enumerate(outcomes)})
        batches = {}
    else:
        X = np.array(X, order="F")
        flags = flags.copy()
    for method, kw, cols in batches.values():
        vals, fl, outcomes = treat_columns_coded(X[:, cols], method=method, **kw)
        X[:, cols] = vals
        flags[:, cols] = np.where(fl != 0, fl, flags[:, cols])
        by_col.update({j: (method, o) for j, o in zip(cols, outcomes, strict=True)})
    # the report's numbers only (an outcome's arrays are views that would keep the batch's matrices alive)
    summary = [(m, o.method, o.n_winsorised, o.skew_before, o.kurt_before, o.skew_after, o.kurt_after,
                o.passed_before, o.passed_after, o.note) for m, o in (by_col[j] for j in range(len(inds)))]
    return X, flags, summary


_TREAT_COLUMNS = ("method", "applied", "n_winsorised", "skew_before", "kurt_before", "skew_after", "kurt_after",
                  "passed_before", "passed_after", "note")


def _treat_rows(inds: tuple[str, ...], summary: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The treatment report's rows: one per indicator (built only when the report is read)."""
    return [{"indicator": c, **dict(zip(_TREAT_COLUMNS, row, strict=True))}
            for c, row in zip(inds, summary, strict=True)]


def _treat_kwargs(method: str, p: dict[str, Any]) -> dict[str, Any]:
    if method == "coinr":
        return {k: p[k] for k in ("winmax", "skew_thresh", "kurt_thresh") if k in p}
    if method == "winsorise":
        return {k: p[k] for k in ("lower", "upper") if k in p}
    if method == "log":
        return {"kind": p.get("log_kind", "ln_shift")}
    if method == "boxcox":
        return {"lmbda": p.get("lmbda")}
    if method == "none":
        return {}
    raise SpecError(f"treat: unknown method '{method}'")


def _normalise_step(step: Any, X: np.ndarray, fw: Framework, nodes: Mapping[str, Any], inds: tuple[str, ...],
                    cur: IndexData) -> np.ndarray:
    m = step.method
    direction = np.array([nodes[c].direction for c in inds], dtype=float)
    # vectorised screen for the two errors below; the exact per-column check (and message) runs on suspects only.
    # fmax/fmin skip NaN (NaN only for an all-missing column) and need no masked copy of X
    if X.shape[0] == 0:
        bad = np.ones(X.shape[1], dtype=bool)
    else:
        hi = np.fmax.reduce(X, axis=0)
        bad = np.isnan(hi)
        if m in _SPREAD_METHODS:
            bad |= hi == np.fmin.reduce(X, axis=0)
    for j in np.flatnonzero(bad):
        c = inds[j]
        col = X[:, j][~np.isnan(X[:, j])]
        if col.size == 0:
            raise ComputeError(f"normalise: indicator '{c}' has no values left (all units missing)")
        if m in _SPREAD_METHODS and np.ptp(col) == 0:
            raise ComputeError(
                f"normalise: indicator '{c}' has zero variance (all {col.size} values equal {col[0]:g}); "
                f"'{m}' divides by its spread. Remove it from the framework or use rank/borda normalisation."
            )
    if m == "min_max":
        from hubindex.engine._normalise import min_max_into

        Y = X * direction
        return min_max_into(Y, step.l, step.u, out=Y)  # Y is this step's own array: scaled in place
    if m == "z_score":
        return _normalise(X * direction, m, m=step.m, s=step.s)
    if m == "scaled":
        return _normalise(X * direction, m, centre=step.centre, spread=step.spread)
    if m == "dist_to_ref":
        hits = np.flatnonzero(cur.units == step.ref_unit)
        if hits.size == 0:
            raise SpecError(f"normalise: ref_unit '{step.ref_unit}' is not a unit of the data")
        kw: dict[str, Any] = {"ref_index": int(hits[0])}
        if step.cap_max is not None:
            kw["cap_max"] = step.cap_max
        return _normalise(X * direction, m, **kw)
    if m == "dist_to_target":
        missing = [c for c in inds if nodes[c].target is None]
        if missing:
            raise SpecError(f"normalise: dist_to_target needs a 'target' for every indicator; missing for {missing}")
        kw = {"targets": np.array([nodes[c].target for c in inds], dtype=float), "direction": direction}
        if step.cap_max is not None:
            kw["cap_max"] = step.cap_max
        return _normalise(X, m, **kw)
    if m == "goalposts":
        missing = [c for c in inds if nodes[c].goalposts is None]
        if missing:
            raise SpecError(f"normalise: goalposts needs 'goalposts: [lower, upper]' for every indicator; "
                            f"missing for {missing}")
        gp = np.array([nodes[c].goalposts for c in inds], dtype=float)
        return _normalise(X, m, lower=gp[:, 0], upper=gp[:, 1], direction=direction, scale=step.scale,
                          trunc=step.trunc)
    return _normalise(X * direction, m)


def _plan(fw: Framework) -> tuple[tuple[str, np.ndarray, tuple[str, ...], int], ...]:
    """Aggregation order: (code, children's positions, children's codes, level) per aggregate, children first."""
    out = []
    for code in fw.aggregates:
        i = fw.index_of(code)
        kids = np.flatnonzero(fw.parent == i)
        out.append((code, kids, tuple(fw.codes[k] for k in kids), int(fw.level[i])))
    return tuple(out)


@dataclass(frozen=True)
class _Level:
    """The aggregates of one level, for aggregating them all at once: their positions in ``fw.codes`` (G,), and
    their children's positions padded to the widest group (G, k_max) with ``valid`` marking real children.
    Made by :meth:`of`, which derives the rest."""

    level: int
    aggs: np.ndarray
    codes: tuple[str, ...]
    kids: np.ndarray
    valid: np.ndarray
    n_kids: np.ndarray
    # per child position j: the children's columns (kids[:, j], contiguous) and valid[:, j] (None: all valid)
    cols: tuple[np.ndarray, ...]
    pads: tuple[np.ndarray | None, ...]

    @classmethod
    def of(cls, level: int, aggs: np.ndarray, codes: tuple[str, ...], kids: np.ndarray, valid: np.ndarray
           ) -> _Level:
        return cls(level, aggs, codes, kids, valid, valid.sum(1),
                   tuple(np.ascontiguousarray(kids[:, j]) for j in range(kids.shape[1])),
                   tuple(None if valid[:, j].all() else np.ascontiguousarray(valid[:, j])
                         for j in range(kids.shape[1])))


def _levels(plan: tuple[tuple[str, np.ndarray, tuple[str, ...], int], ...], fw: Framework) -> tuple[_Level, ...]:
    out = []
    for level in sorted({p[3] for p in plan}):
        group = [p for p in plan if p[3] == level]
        width = max(len(p[1]) for p in group)
        kids = np.zeros((len(group), width), dtype=np.intp)
        valid = np.zeros((len(group), width), dtype=bool)
        for g, p in enumerate(group):
            kids[g, :len(p[1])] = p[1]
            valid[g, :len(p[1])] = True
        out.append(_Level.of(level, np.array([fw.index_of(p[0]) for p in group], dtype=np.intp),
                             tuple(p[0] for p in group), kids, valid))
    return tuple(out)


def _aggregate_tree(step: Any, Xn: np.ndarray, fw: Framework, cur: IndexData, *, use_pca: bool,
                    levels: tuple[_Level, ...] | None = None, base: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Every node's values, S (units × ``fw.codes``), and the weights used.

    Level by level, children first. Arithmetic levels (the usual case) are computed for all their aggregates at
    once (:func:`_arithmetic_level`, the bits of ``engine.arithmetic_mean`` on each group); other methods, and
    PCA weights, aggregate by aggregate.

    ``base`` = (weights, S) of an earlier aggregation of the same values ``Xn`` with the same tree, methods and
    thresholds: only the aggregates above a weight that differs are recomputed, the other columns are base's
    (the same inputs give the same bits: every group is computed as it would be alone)."""
    w = fw.weight.copy()
    dirty: np.ndarray | None = None
    if base is not None and not use_pca and base[0].shape == w.shape and base[1].shape == (len(Xn),
                                                                                             len(fw.codes)):
        w0, S0 = base
        dirty = np.zeros(len(fw.codes), dtype=bool)
        for c in np.flatnonzero((w0 != w) | (np.signbit(w0) != np.signbit(w))).tolist():
            p = int(fw.parent[c])
            while p >= 0 and not dirty[p]:  # a marked node's ancestors are marked already
                dirty[p] = True
                p = int(fw.parent[p])
        S = np.array(S0, order="F")  # a copy: the base stays as it is
    else:
        S = np.empty((Xn.shape[0], len(fw.codes)), order="F")  # one contiguous column per node
        S[:, fw.is_leaf] = Xn
    for lv in (levels if levels is not None else _levels(_plan(fw), fw)):
        if dirty is not None:
            sel = dirty[lv.aggs]
            if not sel.any():
                continue
            if not sel.all():
                lv = _Level.of(lv.level, lv.aggs[sel], tuple(c for c, d in zip(lv.codes, sel, strict=True) if d),
                               lv.kids[sel], lv.valid[sel])
        method = step.method_for(lv.level)
        thresh = [step.availability_for(code, lv.level) for code in lv.codes]
        if method == "arithmetic" and not use_pca:
            S[:, lv.aggs] = _arithmetic_level(S, lv, w, thresh)
            continue
        for g, code in enumerate(lv.codes):
            kids = lv.kids[g, :lv.n_kids[g]]
            C = np.ascontiguousarray(S[:, kids])  # rows contiguous, as np.column_stack: reductions' bits
            if use_pca and len(kids) > 1:
                w[kids] = pca_weights(C)
            if method in ("geometric", "harmonic"):
                bad = (C <= 0) & ~np.isnan(C)
                if bad.any():
                    r, k = np.argwhere(bad)[0]
                    raise ComputeError(
                        f"aggregate: the {method} mean of '{code}' needs values > 0, but '{fw.codes[kids[k]]}' is "
                        f"{C[r, k]:g} for unit '{cur.units[r]}'. Normalise to a positive range first "
                        "(e.g. min_max with l: 1, u: 100)."
                    )
            S[:, lv.aggs[g]] = _aggregate(C, w[kids], method, min_availability=thresh[g])
    return S, w


def _arithmetic_level(S: np.ndarray, lv: _Level, w: np.ndarray, thresh: list[float | None]) -> np.ndarray:
    """All the aggregates of a level by the weighted arithmetic mean, y_g = Σ_k w_k x_k / Σ_k w_k over the
    available children k of g, missing when no child with weight > 0 is available or when the share of
    available children is below g's threshold — ``arithmetic_mean`` on each group, with the same bits: the
    children are padded to the widest group with weight 0 and both sums run in child order, k = 0, 1, … (as
    ``ordered_sum``), so a padded term adds +0.0 and changes nothing. One pass per child position over
    (units × groups) arrays: no (units × groups × children) temporaries."""
    n, G = S.shape[0], len(lv.aggs)
    num, den = np.zeros((n, G)), np.zeros((n, G))
    count = np.zeros((n, G))
    for cols, pad in zip(lv.cols, lv.pads, strict=True):
        C = S[:, cols]
        ok = ~np.isnan(C)
        if pad is not None:
            ok &= pad
        W = np.where(ok, w[cols], 0.0)
        num += W * np.where(ok, C, 0.0)
        den += W
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        y = num / den
        bad = (den <= 0) | (count == 0)
        if any(t is not None for t in thresh):
            bad |= count / lv.n_kids < np.array([np.nan if x is None else x for x in thresh])
    return np.where(bad, np.nan, y)
