"""Run a spec's ordered steps on the data: screen → denominate → impute → treat → normalise → aggregate → rank.

Each step is a pure function from ``hubindex.engine``; this module only sequences them, names things in error
messages and collects the reports. No I/O happens here.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine._aggregate import aggregate as _aggregate
from hubindex.engine._denominate import denominate as _denominate
from hubindex.engine._impute import impute as _impute
from hubindex.engine._normalise import normalise as _normalise
from hubindex.engine._rank import group_ranks, rank_desc, tiers_by_rank, tiers_by_score
from hubindex.engine._screen import screen_units
from hubindex.engine._treat import flag_labels, treat_columns, treat_columns_coded  # noqa: F401 (treat_columns: used via this module)
from hubindex.engine._weights import effective_weights, importance, pca_weights, unit_effective_weights
from hubindex.engine.data import IndexData
from hubindex.engine.framework import Framework
from hubindex.engine.result import Result
from hubindex.errors import ComputeError, DataError, SpecError

__all__ = ["run", "choose_weights", "package_version"]

RANK_DECIMALS = 10
# normalisers that divide by the spread of the data: a constant indicator cannot be normalised by them
_SPREAD_METHODS = {"min_max", "z_score", "dist_to_max", "dist_to_ref", "frac_max"}


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


def run(spec: Any, data: IndexData, *, data_hashes: Mapping[str, str] | None = None,
        progress: Callable[[str], None] | None = None) -> Result:
    """Build the index: every step of ``spec.pipeline`` in order, then ranks, tiers and sub-rankings."""
    say = progress or (lambda _msg: None)
    fw = choose_weights(spec, Framework.from_nodes(spec.framework))
    nodes = {n.code: n for n in spec.framework}
    inds = fw.indicators
    if tuple(data.indicators) != inds:
        raise SpecError("the data's indicator columns do not match the framework's leaves")
    for g in spec.subrankings:
        if g not in data.groups:
            raise SpecError(f"subrankings: '{g}' is not one of data.groups {list(data.groups)}")

    X = np.array(data.X, dtype=float)
    cur = data
    imputed = np.zeros(X.shape, dtype=bool)
    flags = np.zeros(X.shape, dtype=np.uint8)  # treatment flags as codes into FLAG_LABELS (labels at the end)
    datasets: dict[str, pd.DataFrame] = {"Raw": _frame(X, data.units, inds)}
    reports: dict[str, pd.DataFrame] = {}
    excluded: list[str] = []
    steps_done: list[dict[str, Any]] = []
    col_parent = np.array([fw.parent_of(c) or "" for c in inds], dtype=object)

    for step in spec.pipeline:
        kind = step.step
        say(kind)
        steps_done.append(step.model_dump(mode="json"))
        if kind == "screen":
            unit_index = {u: i for i, u in enumerate(cur.units)}
            for u in [*step.include, *step.exclude]:
                if u not in unit_index:
                    raise SpecError(f"screen: unit '{u}' in include/exclude is not a unit of the data")
            inc = np.isin(cur.units, step.include)
            exc = np.isin(cur.units, step.exclude)
            out = screen_units(X, step.min_availability, step.max_zero_share, include=inc, exclude=exc)
            reports["screen"] = pd.DataFrame(
                {"availability": out.availability, "zero_share": out.zero_share, "kept": out.keep,
                 "reason": out.reason}, index=pd.Index(cur.units, name="unit"))
            excluded += [str(u) for u in cur.units[~out.keep]]
            cur = cur.subset_units(out.keep)
            X, imputed, flags = X[out.keep], imputed[out.keep], flags[out.keep]
            if cur.n_units == 0:
                raise ComputeError("screen: no unit passes the screening thresholds")
            datasets["Screened"] = _frame(X, cur.units, inds)
        elif kind == "denominate":
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
            reports["denominate"] = pd.DataFrame({"indicator": list(by), "denominator": list(by.values())})
            datasets["Denominated"] = _frame(X, cur.units, inds)
        elif kind == "impute":
            groups = None
            if step.group is not None:
                if step.group not in cur.groups:
                    raise SpecError(f"impute: group '{step.group}' is not one of data.groups {list(cur.groups)}")
                groups = cur.groups[step.group]
                if len(groups) and all(v is None or v != v or str(v).strip() == "" for v in groups):
                    raise DataError(f"impute: the group column '{step.group}' is empty for every unit; expected "
                                    f"a group label per unit to impute by (or another method than {step.method})")
            X, mask = _impute(X, step.method, groups=groups, column_groups=col_parent, seed=step.seed,
                               max_iter=step.max_iter)
            imputed |= mask
            reports["impute"] = pd.DataFrame(
                {"n_missing_before": mask.sum(0) + np.isnan(X).sum(0), "n_imputed": mask.sum(0),
                 "n_missing_after": np.isnan(X).sum(0)}, index=pd.Index(inds, name="indicator"))
            datasets["Imputed"] = _frame(X, cur.units, inds)
        elif kind == "treat":
            X, flags, reports["treat"] = _treat(step, X, flags, inds)
            datasets["Treated"] = _frame(X, cur.units, inds)
        elif kind == "normalise":
            X = _normalise_step(step, X, fw, nodes, inds, cur)
            datasets["Normalised"] = _frame(X, cur.units, inds)
        elif kind == "aggregate":
            pass  # handled below, it is always last

    agg_step = spec.step("aggregate")
    say("aggregate")
    values, w_used = _aggregate_tree(agg_step, X, fw, cur, use_pca=spec.weights.use == "pca")
    codes = list(fw.codes)
    scores = pd.DataFrame(np.column_stack([values[c] for c in codes]), index=pd.Index(cur.units, name="unit"),
                          columns=codes)
    # scores equal to 10 decimals are ties: floating-point noise (75.00000000000001) must not split a tie
    ranks = pd.DataFrame(rank_desc(np.round(scores.to_numpy(), RANK_DECIMALS), axis=0), index=scores.index,
                         columns=codes)

    idx = fw.root
    tiers = None
    if spec.tiers is not None:
        t = spec.tiers
        lab = (tiers_by_rank(ranks[idx].to_numpy(), [int(c) for c in t.cutoffs], t.labels) if t.by == "rank"
               else tiers_by_score(scores[idx].to_numpy(), t.cutoffs, t.labels))
        tiers = pd.Series(lab, index=scores.index, name="tier")
    sub = pd.DataFrame(index=scores.index)
    for g in spec.subrankings:
        sub[f"rank_in_{g}"] = group_ranks(np.round(scores[idx].to_numpy(), RANK_DECIMALS), cur.groups[g])

    eff = effective_weights(w_used, fw.parent, fw.is_leaf)
    resc = _rescale(w_used, fw.parent)
    # realised: mean over units with an index score of the per-unit effective weight after missing-value
    # renormalisation; r2_index: squared correlation of the node's values with the index
    S = scores.to_numpy(dtype=float)
    has_index = ~np.isnan(scores[idx].to_numpy(dtype=float))
    E = unit_effective_weights(~np.isnan(S[has_index]), w_used, fw.parent)
    realised = E.mean(axis=0) if has_index.any() else np.full(len(codes), np.nan)
    weights = pd.DataFrame({"level": fw.level, "parent": [fw.parent_of(c) or "" for c in codes],
                            "weight": w_used, "rescaled": resc, "effective": eff, "realised": realised,
                            "r2_index": importance(S, S[:, fw.index_of(idx)])},
                           index=pd.Index(codes, name="code"))
    reports["weights"] = weights
    record = {
        "hubindex_version": package_version(),
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash(),
        "spec": spec.model_dump(mode="json", exclude={"base_dir"}),
        "data_files": dict(data_hashes or {}),
        "steps": steps_done,
        "n_units": int(cur.n_units),
        "excluded_units": excluded,
        "index": idx,
        "platform": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__},
    }
    return Result(
        spec=spec, framework=fw,
        unit_names=pd.Series(cur.names, index=scores.index, name="name"),
        groups=pd.DataFrame({g: v for g, v in cur.groups.items()}, index=scores.index),
        datasets=datasets, scores=scores, ranks=ranks, tiers=tiers, subranks=sub,
        imputed=_frame(imputed, cur.units, inds), treat_flags=_frame(flag_labels(flags), cur.units, inds),
        reports=reports, excluded=tuple(excluded), weights=weights, run_record=record,
    )


def _rescale(w: np.ndarray, parent: np.ndarray) -> np.ndarray:
    sums = np.zeros(len(w))
    child = parent >= 0
    np.add.at(sums, parent[child], w[child])
    out = np.ones(len(w))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[child] = w[child] / sums[parent[child]]
    return out


def _treat(step: Any, X: np.ndarray, flags: np.ndarray, inds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray,
                                                                                        pd.DataFrame]:
    base = {k: v for k, v in step.model_dump().items() if k not in ("step", "method", "indicators", "overrides")}
    unknown = [c for c in [*(step.indicators or []), *step.overrides] if c not in inds]
    if unknown:
        raise SpecError(f"treat: unknown indicator(s) {unknown}; indicators are {list(inds)}")
    targets = set(step.indicators) if step.indicators is not None else set(inds)
    # columns sharing the same method and parameters are treated together (vectorised over columns)
    batches: dict[str, tuple[str, dict[str, Any], list[int]]] = {}
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
        # X[:, cols] (an F-ordered copy) as in the general case below: reductions, and so results, depend on layout
        vals, fl, outcomes = treat_columns_coded(X[:, cols], method=method, **kw)
        X = np.ascontiguousarray(vals)  # C order, as the general case leaves it
        flags = np.where(fl != 0, fl, flags)
        by_col.update({j: (method, o) for j, o in enumerate(outcomes)})
        batches = {}
    else:
        X = X.copy()
        flags = flags.copy()
    for method, kw, cols in batches.values():
        vals, fl, outcomes = treat_columns_coded(X[:, cols], method=method, **kw)
        X[:, cols] = vals
        flags[:, cols] = np.where(fl != 0, fl, flags[:, cols])
        by_col.update({j: (method, o) for j, o in zip(cols, outcomes, strict=True)})
    rows = []
    for j, c in enumerate(inds):
        method, o = by_col[j]
        rows.append({"indicator": c, "method": method, "applied": o.method, "n_winsorised": o.n_winsorised,
                     "skew_before": o.skew_before, "kurt_before": o.kurt_before, "skew_after": o.skew_after,
                     "kurt_after": o.kurt_after, "passed_before": o.passed_before, "passed_after": o.passed_after,
                     "note": o.note})
    return X, flags, pd.DataFrame(rows).set_index("indicator")


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
    # vectorised screen for the two errors below; the exact per-column check (and message) runs on suspects only
    present = ~np.isnan(X)
    bad = ~present.any(axis=0)
    if m in _SPREAD_METHODS:
        with np.errstate(invalid="ignore"):
            hi = np.where(present, X, -np.inf).max(axis=0)
            lo = np.where(present, X, np.inf).min(axis=0)
        bad |= hi == lo
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
        return _normalise(X * direction, m, l=step.l, u=step.u)
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


def _aggregate_tree(step: Any, Xn: np.ndarray, fw: Framework, cur: IndexData, *, use_pca: bool
                    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    XnT = np.ascontiguousarray(Xn.T)  # each indicator's values contiguous: stacking children reads rows
    values: dict[str, np.ndarray] = {c: XnT[j] for j, c in enumerate(fw.indicators)}
    w = fw.weight.copy()
    for code in fw.aggregates:
        i = fw.index_of(code)
        kids = np.flatnonzero(fw.parent == i)
        C = np.column_stack([values[fw.codes[k]] for k in kids])
        level = int(fw.level[i])
        method = step.method_for(level)
        if use_pca and len(kids) > 1:
            w[kids] = pca_weights(C)
        wk = w[kids]
        if method in ("geometric", "harmonic"):
            bad = (C <= 0) & ~np.isnan(C)
            if bad.any():
                r, k = np.argwhere(bad)[0]
                raise ComputeError(
                    f"aggregate: the {method} mean of '{code}' needs values > 0, but '{fw.codes[kids[k]]}' is "
                    f"{C[r, k]:g} for unit '{cur.units[r]}'. Normalise to a positive range first "
                    "(e.g. min_max with l: 1, u: 100)."
                )
        values[code] = _aggregate(C, wk, method, min_availability=step.availability_for(code, level))
    return values, w
