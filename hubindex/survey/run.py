"""Survey pipeline: read respondents → (rake) → estimate every measure × unit × subgroup → a tidy table.

The table has one row per (unit, measure, group, level) with the columns of :data:`ESTIMATE_COLUMNS`
(proportions as fractions in [0, 1]; ``group``/``level`` = ``all``/``all`` for the whole sample) and a
provenance string per row. :func:`as_indicator` turns it into an engine indicator column (one value per unit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.errors import DataError, where
from hubindex.survey.estimate import domain_rates, effective_n, interval
from hubindex.survey.rake import RakeReport, category_keys, rake, read_margins
from hubindex.survey.spec import (
    Group,
    Measure,
    SurveySpec,
    _codes_equal,
    load_survey_spec,
    read_respondents,
)

__all__ = ["SurveyResult", "run_survey", "estimate_table", "write_survey_outputs", "as_indicator",
           "ESTIMATE_COLUMNS"]

ESTIMATE_COLUMNS = ["unit", "measure", "measure_name", "denominator", "group", "level", "estimate", "se",
                    "ci_low", "ci_high", "n", "n_eff", "deff", "deff_kish", "suppressed", "provenance"]


@dataclass(frozen=True)
class SurveyResult:
    """Estimates table, the weights used (per respondent) and the raking report (None without raking)."""

    spec: SurveySpec
    estimates: pd.DataFrame
    weights: pd.DataFrame
    rake_report: RakeReport | None


def run_survey(spec: SurveySpec | str | Path) -> SurveyResult:
    """Read the spec's respondent file, rake if asked, and estimate every measure (see :func:`estimate_table`)."""
    s = spec if isinstance(spec, SurveySpec) else load_survey_spec(spec)
    margins = None
    if s.raking is not None:
        margins = read_margins(s.resolve(s.raking.margins))
    extra = sorted(set(margins["variable"])) if margins is not None else []
    df, labels = read_respondents(s, extra=extra)
    unit_keys = _unit_keys(s, df)
    unit_names = sorted(unit_keys.unique().tolist())
    unit = pd.Index(unit_names).get_indexer(unit_keys).astype(np.int64)
    w0 = df[s.data.weight].to_numpy(float) if s.data.weight else np.ones(len(df))
    w = w0
    rep = None
    if margins is not None and s.raking is not None:
        w, rep = _rake(s, df, unit, unit_names, w0, margins)
    table = estimate_table(s, df, w, unit, unit_names, labels, rep)
    ids = df[s.data.id] if s.data.id else pd.Series(np.arange(1, len(df) + 1), name="row")
    weights = pd.DataFrame({"id" if s.data.id else "row": ids.to_numpy(), "unit": unit_keys.to_numpy(),
                            "design_weight": w0, "weight": w})
    return SurveyResult(spec=s, estimates=table, weights=weights, rake_report=rep)


def _unit_keys(s: SurveySpec, df: pd.DataFrame) -> pd.Series:
    if s.data.unit_value is not None:
        return pd.Series([s.data.unit_value] * len(df), dtype="string")
    return category_keys(df[s.data.unit])  # type: ignore[index]


def _rake(s: SurveySpec, df: pd.DataFrame, unit: np.ndarray, unit_names: list[str], w0: np.ndarray,
          m: pd.DataFrame) -> tuple[np.ndarray, RakeReport]:
    assert s.raking is not None
    mpath = s.resolve(s.raking.margins)
    dpath = s.data_path
    tab = dpath.suffix.lower() in {".csv", ".tsv", ".txt"}
    row = (lambda i: i + 2) if tab else (lambda i: i + 1)
    per_unit = set(m["unit"]) != {"*"}
    if per_unit:
        missing_units = sorted(set(unit_names) - set(m["unit"]))
        if missing_units:
            raise DataError(f"{mpath}: no margins for unit(s) {missing_units[:5]} found in {dpath}")
    U = len(unit_names)
    codes: dict[str, np.ndarray] = {}
    targets: dict[str, np.ndarray] = {}
    wtot = np.bincount(unit, weights=w0, minlength=U)
    for v, mv in m.groupby("variable", sort=False):
        keys = category_keys(df[v])
        if keys.isna().any():
            i = int(np.flatnonzero(keys.isna().to_numpy())[0])
            raise DataError(f"{where(dpath, row(i), v)}missing value in raking variable '{v}'; every respondent "
                            f"needs a category (impute or add a 'missing' category to {mpath.name})")
        cats = list(dict.fromkeys(mv["category"].tolist()))
        code = pd.Index(cats).get_indexer(keys).astype(np.int64)
        T = np.zeros((U, len(cats)))
        for ui, uname in enumerate(unit_names):
            rows = mv[mv["unit"] == (uname if per_unit else "*")]
            T[ui, [cats.index(c) for c in rows["category"]]] = rows["target"].to_numpy()
        known = np.zeros((U, len(cats)), bool)
        for ui, uname in enumerate(unit_names):
            rows = mv[mv["unit"] == (uname if per_unit else "*")]
            known[ui, [cats.index(c) for c in rows["category"]]] = True
        lack = (code < 0) | ~known[unit, np.maximum(code, 0)]
        if lack.any():
            i = int(np.flatnonzero(lack)[0])
            raise DataError(f"{where(dpath, row(i), v)}category {keys.iloc[i]!r} is not in the margins table "
                            f"{mpath}{f' for unit {unit_names[unit[i]]!r}' if per_unit else ''} (it has "
                            f"{sorted(cats)})")
        tot = T.sum(axis=1, keepdims=True)
        shares = np.isclose(tot, 1.0, rtol=1e-6)
        T = np.where(shares, T * wtot[:, None], T)
        codes[v], targets[v] = code, T
    trim = s.raking.trim
    return rake(w0, unit, codes, targets, max_iter=s.raking.max_iter, tol=s.raking.tol,
                lower=trim.lower if trim else None, upper=trim.upper if trim else None, unit_names=unit_names,
                margins_file=mpath.name)


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


def group_levels(g: Group, df: pd.DataFrame, file_labels: dict[str, dict[Any, str]]) -> tuple[np.ndarray, list[str]]:
    """Level code per respondent (−1 outside every level) and the level labels, in order."""
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
        lk = sorted(keys.dropna().unique().tolist(), key=lambda k: (not _num(k), float(k) if _num(k) else 0, k))
        names = list(lk)
    code = pd.Index(lk).get_indexer(keys.astype(object)).astype(np.int64)
    return code, names


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
    conf = s.confidence
    ci_name = {"wilson": "Wilson", "korn_graubard": "Korn-Graubard"}[s.ci]
    parts = []
    for m in s.measures:
        y, den = measure_outcome(m, df)
        for gname, code, names in groups:
            L = len(names)
            cell = np.where(den & (code >= 0), unit * L + code, -1)
            est = domain_rates(y, w, cell, U * L, strata, psu, design=unit, lonely_psu=s.lonely_psu)
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
            parts.append(t)
    return pd.concat(parts, ignore_index=True)[ESTIMATE_COLUMNS]


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


def write_survey_outputs(res: SurveyResult, out: Path | str) -> list[Path]:
    """Write ``estimates.csv``, ``weights.csv`` and ``run.json`` (spec + raking report) into ``out`` atomically."""
    from hubindex.io import atomic_dir

    out = Path(out)
    with atomic_dir(out) as tmp:
        res.estimates.to_csv(tmp / "estimates.csv", index=False, float_format="%.10g")
        res.weights.to_csv(tmp / "weights.csv", index=False, float_format="%.10g")
        run = {"spec": res.spec.model_dump(mode="json"), "spec_file": res.spec.spec_file,
               "data_file": str(res.spec.data_path),
               "raking": None if res.rake_report is None else res.rake_report.__dict__}
        (tmp / "run.json").write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    return [out / "estimates.csv", out / "weights.csv", out / "run.json"]


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
