"""Survey pipeline: read respondents → (rake) → estimate every measure × unit × subgroup → a tidy table.

The table has one row per (unit, measure, group, level) with the columns of :data:`ESTIMATE_COLUMNS`
(proportions as fractions in [0, 1]; ``group``/``level`` = ``all``/``all`` for the whole sample) and a
provenance string per row. :func:`as_indicator` turns it into an engine indicator column (one value per unit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hubindex.errors import DataError, SpecError, where
from hubindex.survey.estimate import DomainEstimates, domain_rates, effective_n, interval
from hubindex.survey.rake import RakeReport, category_keys, rake, read_margins
from hubindex.survey.spec import (
    Group,
    Measure,
    SurveySpec,
    _codes_equal,
    load_survey_spec,
    locate,
    read_respondents,
)

__all__ = ["SurveyResult", "run_survey", "estimate_table", "write_survey_outputs", "as_indicator",
           "indicator_tables", "ESTIMATE_COLUMNS", "PROVENANCE_COLUMNS", "Backend"]

ESTIMATE_COLUMNS = ["unit", "measure", "measure_name", "denominator", "group", "level", "estimate", "se",
                    "ci_low", "ci_high", "n", "n_eff", "deff", "deff_kish", "suppressed", "provenance"]


Backend = Literal["memory", "dask"]


@dataclass(frozen=True)
class SurveyResult:
    """Estimates table, the weights used (per respondent) and the raking report (None without raking).

    ``weights`` is a pandas frame, or a lazy Dask frame with the ``dask`` backend (written part by part).
    """

    spec: SurveySpec
    estimates: pd.DataFrame
    weights: Any
    rake_report: RakeReport | None
    backend: str = "memory"


def run_survey(spec: SurveySpec | str | Path, backend: Backend = "memory",
               scheduler: str | None = None) -> SurveyResult:
    """Read the spec's respondent file(s), rake if asked, and estimate every measure (see :func:`estimate_table`).

    ``backend='dask'`` reads the file(s) as a Dask dataframe (one partition per part file; out of core with the
    local scheduler, or on the cluster at ``scheduler``) and computes the same sums with Dask group-bys; the
    result equals the in-memory one (:mod:`hubindex.survey.dask_backend`).
    """
    s = spec if isinstance(spec, SurveySpec) else load_survey_spec(spec)
    if backend == "dask":
        from hubindex.survey.dask_backend import run_survey_dask

        return run_survey_dask(s, scheduler=scheduler)
    if backend != "memory":
        raise SpecError(f"unknown backend {backend!r}; expected 'memory' or 'dask'")
    margins = None
    if s.raking is not None:
        margins = read_margins(s.resolve(s.raking.margins))
    extra = sorted(set(margins["variable"])) if margins is not None else []
    df, labels = read_respondents(s, extra=extra)
    unit_keys = _unit_keys(s, df)
    unit_names = sorted(unit_keys.unique().tolist())
    unit = pd.Index(unit_names).get_indexer(pd.Index(unit_keys)).astype(np.int64)
    w0 = df[s.data.weight].to_numpy(float) if s.data.weight else np.ones(len(df))
    w = w0
    rep = None
    if margins is not None and s.raking is not None:
        plan = rake_plan(s, margins, unit_names, np.bincount(unit, weights=w0, minlength=len(unit_names)))
        parts = df.attrs.get("parts") or [(s.data_path, len(df))]
        codes = {v: raking_codes(s, df, v, p, unit, unit_names, lambda i: locate(parts, i)) for v, p in plan.items()}
        trim = s.raking.trim
        w, rep = rake(w0, unit, codes, {v: p.targets for v, p in plan.items()}, max_iter=s.raking.max_iter,
                      tol=s.raking.tol, lower=trim.lower if trim else None, upper=trim.upper if trim else None,
                      unit_names=unit_names, margins_file=s.resolve(s.raking.margins).name)
    table = estimate_table(s, df, w, unit, unit_names, labels, rep)
    ids = df[s.data.id] if s.data.id else pd.Series(np.arange(1, len(df) + 1), name="row")
    weights = pd.DataFrame({"id" if s.data.id else "row": ids.to_numpy(), "unit": unit_keys.to_numpy(),
                            "design_weight": w0, "weight": w})
    return SurveyResult(spec=s, estimates=table, weights=weights, rake_report=rep)


def _unit_keys(s: SurveySpec, df: pd.DataFrame) -> pd.Series:
    if s.data.unit_value is not None:
        return pd.Series([s.data.unit_value] * len(df), dtype="string")
    assert s.data.unit is not None
    return category_keys(df[s.data.unit])


@dataclass(frozen=True)
class RakePlan:
    """One raking variable: its categories (margins order), targets U × K and which (unit, category) exist."""

    categories: list[str]
    targets: np.ndarray
    known: np.ndarray
    per_unit: bool
    margins_file: Path


def rake_plan(s: SurveySpec, m: pd.DataFrame, unit_names: list[str], wtot: np.ndarray) -> dict[str, RakePlan]:
    """Targets per unit and variable from the margins table (shares are scaled to the unit's Σ design weight)."""
    assert s.raking is not None
    mpath = s.resolve(s.raking.margins)
    per_unit = set(m["unit"]) != {"*"}
    if per_unit:
        missing_units = sorted(set(unit_names) - set(m["unit"]))
        if missing_units:
            raise DataError(f"{mpath}: no margins for unit(s) {missing_units[:5]} found in {s.data_path}")
    U = len(unit_names)
    plan: dict[str, RakePlan] = {}
    for v, mv in m.groupby("variable", sort=False):
        cats = list(dict.fromkeys(mv["category"].tolist()))
        T = np.zeros((U, len(cats)))
        known = np.zeros((U, len(cats)), bool)
        for ui, uname in enumerate(unit_names):
            rows = mv[mv["unit"] == (uname if per_unit else "*")]
            idx = [cats.index(c) for c in rows["category"]]
            T[ui, idx] = rows["target"].to_numpy()
            known[ui, idx] = True
        tot = T.sum(axis=1, keepdims=True)
        shares = np.isclose(tot, 1.0, rtol=1e-6)
        T = np.where(shares, T * wtot[:, None], T)
        plan[str(v)] = RakePlan(cats, T, known, per_unit, mpath)
    return plan


def raking_codes(s: SurveySpec, df: pd.DataFrame, v: str, p: RakePlan, unit: np.ndarray, unit_names: list[str],
                 at: Callable[[int], tuple[Path, int]]) -> np.ndarray:
    """Category code (index in ``p.categories``) of variable ``v`` per respondent; a missing value or a category
    the margins lack (for the respondent's unit) is a :class:`DataError` at ``at(i)`` = (file, row)."""
    keys = category_keys(df[v])
    if keys.isna().any():
        i = int(np.flatnonzero(keys.isna().to_numpy())[0])
        f, row = at(i)
        raise DataError(f"{where(f, row, v)}missing value in raking variable '{v}'; every respondent "
                        f"needs a category (impute or add a 'missing' category to {p.margins_file.name})")
    code = pd.Index(p.categories).get_indexer(pd.Index(keys)).astype(np.int64)
    lack = (code < 0) | ~p.known[unit, np.maximum(code, 0)]
    if lack.any():
        i = int(np.flatnonzero(lack)[0])
        f, row = at(i)
        raise DataError(f"{where(f, row, v)}category {keys.iloc[i]!r} is not in the margins table "
                        f"{p.margins_file}{f' for unit {unit_names[unit[i]]!r}' if p.per_unit else ''} (it has "
                        f"{sorted(p.categories)})")
    return code


def measure_outcome(m: Measure, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(y, in_denominator): y_i = 1 when ≥ at_least of the items carry a yes-code; the denominator mask applies
    ``denominator.where`` and, with ``missing: exclude``, drops respondents with any missing item."""
    yes = np.zeros(len(df), np.int64)
    miss = np.zeros(len(df), bool)
    for c in m.items:
        yes += _codes_equal(df[c], m.yes)
        miss |= df[c].isna().to_numpy()
    den = np.ones(len(df), bool)
    for c, codes in m.denominator.where.items():
        den &= _codes_equal(df[c], codes)
    if m.missing == "exclude":
        den &= ~miss
    return (yes >= m.at_least).astype(float), den


def group_levels(g: Group, df: pd.DataFrame, file_labels: dict[str, dict[Any, str]],
                 all_keys: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Level code per respondent (−1 outside every level) and the level labels, in order.

    ``all_keys``: every category key of the column over the whole sample (when ``df`` is one part of it), which
    orders the levels of a group without labels or bins.
    """
    col = df[g.column]
    if g.bins is not None:
        x = pd.to_numeric(col, errors="coerce")
        edges = list(g.bins)
        names = g.bin_labels or [f"[{a:g}, {b:g})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
        code = pd.cut(x, edges, right=False, labels=False)
        return np.where(code.isna(), -1, code.fillna(-1)).astype(np.int64), names
    keys = category_keys(col)
    lab = g.labels if g.labels is not None else file_labels.get(g.column)
    if lab:
        lk = category_keys(pd.Series(list(lab.keys()), dtype=object)).tolist()
        names = [str(v) for v in lab.values()]
    else:
        lk = level_order(keys.dropna().unique().tolist() if all_keys is None else all_keys)
        names = list(lk)
    code = pd.Index(lk).get_indexer(keys.astype(object)).astype(np.int64)
    return code, names


def level_order(keys: list[str]) -> list[str]:
    """Levels without labels: numbers first, in numeric order, then text."""
    return sorted(set(keys), key=lambda k: (not _num(k), float(k) if _num(k) else 0, k))


def _num(k: str) -> bool:
    try:
        float(k)
        return True
    except ValueError:
        return False


def estimate_table(s: SurveySpec, df: pd.DataFrame, w: np.ndarray, unit: np.ndarray, unit_names: list[str],
                   file_labels: dict[str, dict[Any, str]] | None = None,
                   rep: RakeReport | None = None) -> pd.DataFrame:
    """Every measure × unit × (all + each group level): rate, SE, interval, n, design effects, provenance."""
    file_labels = file_labels or {}
    U = len(unit_names)
    strata = df[s.data.strata].to_numpy() if s.data.strata else None
    psu = df[s.data.psu].to_numpy() if s.data.psu else None
    groups: list[tuple[str, np.ndarray, list[str]]] = [("all", np.zeros(len(df), np.int64), ["all"])]
    for g in s.groups:
        code, names = group_levels(g, df, file_labels)
        groups.append((g.name, code, names))
    weighting = _weighting(s, rep)
    parts = []
    for m in s.measures:
        y, den = measure_outcome(m, df)
        for gname, code, names in groups:
            L = len(names)
            cell = np.where(den & (code >= 0), unit * L + code, -1)
            est = domain_rates(y, w, cell, U * L, strata, psu, design=unit, lonely_psu=s.lonely_psu)
            parts.append(domain_table(s, m, gname, names, unit_names, est, weighting))
    return pd.concat(parts, ignore_index=True)[ESTIMATE_COLUMNS]


def domain_table(s: SurveySpec, m: Measure, gname: str, names: list[str], unit_names: list[str],
                 est: DomainEstimates, weighting: str) -> pd.DataFrame:
    """Rows of one measure × group (unit-major, level-minor): intervals, suppression below ``min_n``, provenance."""
    U, L = len(unit_names), len(names)
    conf = s.confidence
    ci_name = {"wilson": "Wilson", "korn_graubard": "Korn-Graubard"}[s.ci]
    ne = effective_n(est.rate, est.var, est.n, est.df, conf)
    lo, hi = interval(s.ci, est.rate, ne, conf)
    sup = est.n < s.min_n
    t = pd.DataFrame({
        "unit": np.repeat(unit_names, L), "measure": m.code, "measure_name": m.name or m.code,
        "denominator": m.denominator.label, "group": gname, "level": np.tile(names, U),
        "estimate": est.rate, "se": est.se, "ci_low": lo, "ci_high": hi, "n": est.n, "n_eff": ne,
        "deff": est.deff, "deff_kish": est.deff_kish, "suppressed": sup,
    })
    for c in ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff"):
        t.loc[sup, c] = np.nan
    t["provenance"] = [
        _provenance(s.source or s.name, r, weighting, m.denominator.label, ci_name, conf, s.min_n)
        for r in t.itertuples(index=False)
    ]
    return t


def weighting_text(s: SurveySpec, rep: RakeReport | None) -> str:
    """The provenance's "weighting" part: design weights, raking margins and sweeps, trimming."""
    return _weighting(s, rep)


def _weighting(s: SurveySpec, rep: RakeReport | None) -> str:
    base = f"design weights '{s.data.weight}'" if s.data.weight else "equal weights"
    if rep is None or s.raking is None:
        return base
    trim = s.raking.trim
    tr = f", trimmed to {trim.lower or 0:g}–{trim.upper or float('inf'):g}× mean" if trim else ""
    return (f"{base} raked to {rep.margins_file} ({', '.join(rep.variables)}; {rep.iterations} sweeps, max "
            f"margin error {rep.max_rel_error:.1e}{tr})")


def _provenance(src: str, r: Any, weighting: str, den: str, ci_name: str, conf: float, min_n: int) -> str:
    if r.suppressed:
        return f"survey: {src}, n={r.n} < {min_n}: suppressed; weighting: {weighting}; denominator: {den}"
    return (f"survey: {src}, n={r.n}, design effect {r.deff:.2f} (Kish {r.deff_kish:.2f}), "
            f"{round(100 * conf)}% {ci_name} interval {100 * r.ci_low:.1f}–{100 * r.ci_high:.1f}%, "
            f"weighting: {weighting}; denominator: {den}")


PROVENANCE_COLUMNS = ["unit", "indicator", "value", "se", "ci_low", "ci_high", "n", "deff", "source", "weighting"]


def indicator_tables(res: SurveyResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(``indicators.csv``, ``indicator_provenance.csv``) for an index spec.

    Indicators: one row per unit; the unit column is named ``spec.indicators.unit_column`` (the index spec's
    ``data.unit_code``, default ``code``) and each measure's overall (``all``/``all``) estimate is a column
    ``prefix + measure`` in **percent** (suppressed = empty, left to the index's imputation). Provenance: one row
    per unit × indicator with value, SE, interval (percent), n, design effect, source and weighting.
    """
    s = res.spec
    t = res.estimates
    t = t[(t["group"] == "all") & (t["level"] == "all")]
    ucol = s.indicators.unit_column
    units = sorted(t["unit"].astype(str).unique().tolist())
    wide = pd.DataFrame({ucol: units})
    for m in s.measures:
        col = s.indicators.prefix + m.code
        if col == ucol:
            raise SpecError(f"{s.spec_file or 'survey spec'}: indicator column {col!r} clashes with the unit "
                            f"column; set indicators.prefix or indicators.unit_column")
        tm = t[t["measure"] == m.code].set_index(t[t["measure"] == m.code]["unit"].astype(str))
        wide[col] = 100 * tm["estimate"].reindex(units).to_numpy(float)
    prov = t.assign(indicator=s.indicators.prefix + t["measure"].astype(str))
    weighting = weighting_text(s, res.rake_report)
    long = pd.DataFrame({
        "unit": prov["unit"].astype(str), "indicator": prov["indicator"], "value": 100 * prov["estimate"],
        "se": 100 * prov["se"], "ci_low": 100 * prov["ci_low"], "ci_high": 100 * prov["ci_high"],
        "n": prov["n"].astype(int), "deff": prov["deff"], "source": s.source or s.name,
        "weighting": weighting + "; denominator: " + prov["denominator"].astype(str)
        + np.where(prov["suppressed"], f"; suppressed (n < {s.min_n})", ""),
    })
    long = long.sort_values(["unit", "indicator"], kind="stable").reset_index(drop=True)
    return wide, long[PROVENANCE_COLUMNS]


def write_survey_outputs(res: SurveyResult, out: Path | str) -> list[Path]:
    """Write ``estimates.csv``, ``indicators.csv``, ``indicator_provenance.csv``, ``weights.csv`` and
    ``run.json`` (spec + raking report) into ``out`` atomically (nothing is left half-written on an error)."""
    from hubindex.outdir import atomic_dir

    out = Path(out)
    wide, long = indicator_tables(res)
    with atomic_dir(out, "survey estimate") as tmp:
        res.estimates.to_csv(tmp / "estimates.csv", index=False, float_format="%.10g")
        wide.to_csv(tmp / "indicators.csv", index=False, float_format="%.10g")
        long.to_csv(tmp / "indicator_provenance.csv", index=False, float_format="%.10g")
        if isinstance(res.weights, pd.DataFrame):
            res.weights.to_csv(tmp / "weights.csv", index=False, float_format="%.10g")
        else:  # a Dask frame: written partition by partition, never held in memory
            res.weights.to_csv(str(tmp / "weights.csv"), single_file=True, index=False, float_format="%.10g")
        run = {"spec": res.spec.model_dump(mode="json"), "spec_file": res.spec.spec_file,
               "data_file": str(res.spec.data_path), "backend": res.backend,
               "raking": None if res.rake_report is None else res.rake_report.__dict__}
        (tmp / "run.json").write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    return [out / n for n in ("estimates.csv", "indicators.csv", "indicator_provenance.csv", "weights.csv",
                              "run.json")]


def as_indicator(table: pd.DataFrame, measure: str, group: str = "all", level: str = "all",
                 scale: float = 1.0) -> pd.Series:
    """One engine indicator column: the ``measure``'s estimate per unit (× ``scale``, e.g. 100 for percent).

    Suppressed estimates are NaN (the engine's imputation step then treats them as missing). The series'
    ``attrs['provenance']`` maps unit → provenance string, ``attrs['n']`` unit → respondent count.
    """
    if measure not in set(table["measure"]):
        raise DataError(f"survey estimates: unknown measure {measure!r}; available: "
                        f"{sorted(set(table['measure']))}")
    t = table[(table["measure"] == measure) & (table["group"] == group) & (table["level"].astype(str) == level)]
    if t.empty:
        raise DataError(f"survey estimates: no rows for measure {measure!r}, group {group!r}, level {level!r}")
    if t["unit"].duplicated().any():
        raise DataError(f"survey estimates: more than one row per unit for measure {measure!r} (two "
                        f"denominators?); select one table per indicator")
    s = pd.Series(t["estimate"].to_numpy(float) * scale, index=t["unit"].astype(str).to_numpy(), name=measure)
    s.index.name = "unit"
    s.attrs["provenance"] = dict(zip(s.index, t["provenance"], strict=True))
    s.attrs["n"] = dict(zip(s.index, t["n"].astype(int), strict=True))
    return s
