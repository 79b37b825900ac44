"""The publication tables of a build, shared by the exports and the report.

All tables are plain DataFrames derived from a :class:`~hubindex.engine.result.Result` (and, when given, the
dataset's provenance table); nothing here writes files.

- :func:`ranking_table`: one row per unit (GII "Rankings" sheet).
- :func:`scores_long`: one row per unit × framework node (GII long-format data file) with hierarchy codes, raw
  value, score, rank, imputed/treated flags and, when known, data year and source.
- :func:`framework_table` / :func:`weights_table`: the tree with its weights and indicator metadata.
- :func:`notes_table`: citation, licence, spec hash, build time, package version, data files.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine.result import Result
from hubindex.errors import DataError, where

__all__ = [
    "safe_cell", "spreadsheet_safe",
    "ranking_table",
    "scores_long",
    "framework_table",
    "weights_table",
    "notes_table",
    "columns_table",
    "node_paths",
    "read_provenance",
    "find_provenance",
    "normalise_provenance",
    "build_time",
    "citation",
    "licence",
    "display_name",
    "display_table",
    "column_labels",
    "column_dictionary",
    "group_label",
    "group_in_sentence",
    "treatment_words",
]


# -- cells for spreadsheets (CSV/XLSX injection) ----------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(v: Any) -> Any:
    """A cell for CSV/XLSX (the OWASP CSV-injection rule): text that a spreadsheet would run as a formula (starts
    with ``=``, ``+``, ``-``, ``@``, tab or CR) gets a leading ``'``; numbers and plain decimal numbers in text
    (``-1.5``, ``+3``) are kept; everything else unchanged."""
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(v):
        return "'" + v
    return v


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :func:`safe_cell` applied to its column names and to every text (or mixed) column; numeric
    columns untouched. A unit named ``=HYPERLINK(…)`` in a user's data is then shown as text, not run."""
    out = df.rename(columns=lambda c: safe_cell(str(c)))
    return out.apply(lambda col: col if col.dtype.kind in "biufcmM" else col.map(safe_cell))

# column aliases accepted in a provenance table (compared case-insensitively)
_UNIT_ALIASES = ("unit", "unit_code", "ucode", "city_code", "code_unit")
_CODE_ALIASES = ("code", "indicator", "icode", "indicator_code", "node", "variable")
_YEAR_ALIASES = ("data_year", "year", "source_year", "vintage", "reference_year")
_SOURCE_ALIASES = ("source", "source_name", "data_source")
_DATE_ALIASES = ("source_date", "date", "reference_date", "retrieved", "retrieval_date")


# -- metadata ----------------------------------------------------------------------------------------------
def build_time(result: Result) -> str:
    """When the outputs were made (UTC, ISO 8601): the run record's ``built_at`` if it has one, else
    ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now."""
    rec = result.run_record
    for key in ("built_at", "build_time", "timestamp"):
        if rec.get(key):
            return str(rec[key])
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        t = _dt.datetime.fromtimestamp(int(epoch), tz=_dt.UTC)
    else:
        t = _dt.datetime.now(tz=_dt.UTC).replace(microsecond=0)
    return t.isoformat().replace("+00:00", "Z")


_INTERNAL_NAME = re.compile(r"\s*\(hubindex default\)", re.I)


def display_name(result: Result) -> str:
    """The index's name for readers: the spec's ``name`` without internal labels such as "(hubindex default)"."""
    name = getattr(result.spec, "name", None) or result.run_record.get("spec_name") or "Composite index"
    return _INTERNAL_NAME.sub("", str(name)).strip() or "Composite index"


def _spec_attr(result: Result, *names: str) -> Any:
    for n in names:
        v = getattr(result.spec, n, None)
        if v:
            return v
    return None


def licence(result: Result) -> str:
    """The licence the spec states (``licence``/``license``), else a pointer to the sources' own licences."""
    v = _spec_attr(result, "licence", "license")
    if v:
        return str(v)
    return ("not stated in the spec: each indicator keeps its source's licence (see the Framework sheet's "
            "source column); cite the sources and this index when reusing the data")


def citation(result: Result) -> str:
    """A citation line: the spec's own ``citation`` if it has one, else name, version, year, package, spec hash."""
    v = _spec_attr(result, "citation")
    if v:
        return _INTERNAL_NAME.sub("", str(v))
    rec = result.run_record
    name = display_name(result)
    ver = getattr(result.spec, "version", None)
    year = build_time(result)[:4]
    h = str(rec.get("spec_hash", ""))[:12]
    parts = [f"{name}{f' ({ver})' if ver else ''}", year,
             f"Built with hubindex {rec.get('hubindex_version', '?')}"]
    if h:
        parts.append(f"spec sha256 {h}")
    return ". ".join(parts) + "."


# -- provenance --------------------------------------------------------------------------------------------
def find_provenance(spec: Any) -> Path | None:
    """The provenance table shipped beside the spec's data (``provenance_<name>.csv`` next to
    ``fintech_hubs_<name>.csv``, or ``provenance.csv`` in the data's folder), or None."""
    for rel in getattr(spec.data, "paths", []):
        p = spec.resolve(rel)
        stem = p.stem
        cands = [p.with_name(f"provenance_{stem.removeprefix('fintech_hubs_')}.csv"),
                 p.with_name(f"provenance_{stem}.csv"), p.with_name("provenance.csv")]
        for c in cands:
            if c.exists():
                return c.resolve()
    return None


def read_provenance(path: Path) -> pd.DataFrame:
    """Read a provenance CSV (one row per unit × indicator, or per indicator) into the normalised form."""
    from hubindex.io import read_table

    df = read_table(Path(path), text_columns=())
    return normalise_provenance(df, source=str(path))


def _find(cols: Mapping[str, str], aliases: tuple[str, ...]) -> str | None:
    return next((cols[a] for a in aliases if a in cols), None)


def normalise_provenance(df: pd.DataFrame, source: str = "provenance", unit_code: str | None = None) -> pd.DataFrame:
    """Rename a provenance table's key columns to ``unit`` (optional), ``code``, ``data_year``, ``source``.

    Other columns are kept as they are. Duplicate keys are an error naming the file and row.
    """
    cols = {str(c).strip().lower(): c for c in df.columns}
    unit_aliases = _UNIT_ALIASES + ((unit_code.lower(),) if unit_code else ())
    ucol = _find(cols, unit_aliases)
    ccol = _find(cols, _CODE_ALIASES)
    if ccol is None:
        raise DataError(f"{where(source)}no indicator code column; expected one of {list(_CODE_ALIASES)}, "
                        f"columns are {list(df.columns)}")
    ren = {ccol: "code"}
    if ucol is not None:
        ren[ucol] = "unit"
    ycol = _find(cols, _YEAR_ALIASES)
    if ycol is not None:
        ren[ycol] = "data_year"
    scol = _find(cols, _SOURCE_ALIASES)
    if scol is not None:
        ren[scol] = "source"
    if "value" in cols and cols["value"] not in ren:
        ren[cols["value"]] = "source_value"  # the value as the provenance file states it
    out = df.rename(columns=ren)
    if "data_year" not in out.columns:
        dcol = _find({str(c).strip().lower(): c for c in out.columns}, _DATE_ALIASES)
        if dcol is not None:  # a date such as 2025-10-07 -> its year
            year = out[dcol].astype("string").str.extract(r"((?:19|20)\d\d)", expand=False)
            at = int(list(out.columns).index(dcol))
            out.insert(at, "data_year", pd.to_numeric(year, errors="coerce").astype("Int64"))
    keys = ["unit", "code"] if "unit" in out.columns else ["code"]
    for k in keys:
        out[k] = out[k].astype("string").str.strip()
    dup = out.duplicated(keys, keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        key = ", ".join(f"{k}={out[k].iloc[i]!r}" for k in keys)
        raise DataError(f"{where(source, i + 2)}duplicate provenance row for {key}; expected one row per "
                        f"{' × '.join(keys)}")
    return out.reset_index(drop=True)


# -- tables ------------------------------------------------------------------------------------------------
def node_paths(result: Result) -> dict[str, str]:
    """``{code: "Index/Pillar/.../code"}``: the hierarchy path of every node, root first."""
    fw = result.framework
    return {c: "/".join([*reversed(fw.ancestors(c)), c]) for c in fw.codes}


def _node_meta(result: Result) -> dict[str, Any]:
    return {n.code: n for n in getattr(result.spec, "framework", [])}


def ranking_table(result: Result, audit: pd.DataFrame | None = None) -> pd.DataFrame:
    """rank, unit, name, groups, index score, tier, each pillar's score and rank, sub-ranks; sorted by rank.

    Pillar columns are named ``<pillar>`` (score) and ``<pillar>_rank``; sub-ranks ``rank_in_<group>``.
    With an audit table (see :func:`hubindex.publish.report.rank_interval_columns`) the rank interval is added.
    """
    t = result.ranking()
    pillars = result.pillars()
    cols = [c for c in t.columns if c not in pillars and not str(c).startswith("rank_in_")]
    out = t[cols].copy()
    pr = result.ranks[pillars].reindex(t["unit"].to_numpy())
    for p in pillars:
        out[p] = t[p].to_numpy()
        out[f"{p}_rank"] = pr[p].to_numpy()
    for c in t.columns:
        if str(c).startswith("rank_in_"):
            out[c] = t[c].to_numpy()
    for c in [c for c in out.columns if c == "rank" or str(c).endswith("_rank") or str(c).startswith("rank_in_")]:
        out[c] = out[c].astype("Int64")
    if audit is not None:
        from hubindex.publish.report import rank_interval_columns

        lo, med, hi = rank_interval_columns(audit)
        a = _audit_by_unit(audit)
        if lo and hi:
            out["rank_lo"] = a[lo].reindex(out["unit"]).to_numpy()
            out["rank_hi"] = a[hi].reindex(out["unit"]).to_numpy()
        if med:
            out["rank_median"] = a[med].reindex(out["unit"]).to_numpy()
    return out


def _audit_by_unit(audit: pd.DataFrame) -> pd.DataFrame:
    if "unit" in audit.columns:
        return audit.set_index("unit")
    return audit


def scores_long(result: Result, provenance: pd.DataFrame | None = None) -> pd.DataFrame:
    """The GII-style long table: one row per unit × framework node, units in ranking order, nodes in tree order.

    Columns: unit, unit_name, code, node_name, level, kind (indicator/aggregate), parent, path (root/.../code),
    raw_value (indicators: the value as read; aggregates: empty), score (normalised value for indicators,
    aggregated score for aggregates), rank (1 = best among units), imputed, treatment (``winhi``/``winlo``/
    ``log``… or empty), treated, indicator unit, direction, weight (effective weight in the index), data_year
    and source (from the provenance table, else the framework node), then any other provenance columns.
    """
    fw = result.framework
    units = np.asarray(result.units, dtype=object)
    order = result.ranking()["unit"].to_numpy(dtype=object)
    pos = {u: i for i, u in enumerate(units)}
    ui = np.array([pos[u] for u in order], dtype=np.int64)
    codes = np.asarray(fw.codes, dtype=object)
    n_u, n_c = len(ui), len(codes)
    U = np.repeat(ui, n_c)
    C = np.tile(np.arange(n_c), n_u)

    scores = result.scores[list(codes)].to_numpy(dtype=float)
    ranks = result.ranks[list(codes)].to_numpy(dtype=float, na_value=np.nan)
    leaf = fw.is_leaf
    inds = list(fw.indicators)

    def ind_values(df: pd.DataFrame | None, fill: Any, dtype: Any) -> np.ndarray:
        full = np.full((len(units), n_c), fill, dtype=dtype)
        if df is not None:
            m = df.reindex(index=units, columns=inds).to_numpy()
            full[:, leaf] = m
        return full

    raw = ind_values(result.datasets.get("Raw"), np.nan, float)
    imputed = ind_values(result.imputed.astype(bool), False, bool)
    flags = ind_values(result.treat_flags.fillna(""), "", object)
    meta = _node_meta(result)
    paths = node_paths(result)
    parents = np.array([fw.parent_of(c) or "" for c in codes], dtype=object)
    eff = result.weights["effective"].reindex(list(codes)).to_numpy(dtype=float) if "effective" in \
        result.weights.columns else np.full(n_c, np.nan)
    node_unit = np.array([getattr(meta.get(c), "unit", None) for c in codes], dtype=object)
    node_source = np.array([getattr(meta.get(c), "source", None) for c in codes], dtype=object)
    node_year = np.array([getattr(meta.get(c), "year", None) for c in codes], dtype=object)

    df = pd.DataFrame({
        "unit": units[U],
        "unit_name": result.unit_names.reindex(units).to_numpy(dtype=object)[U],
        "code": codes[C],
        "node_name": np.asarray(fw.names, dtype=object)[C],
        "level": fw.level[C],
        "kind": np.where(leaf[C], "indicator", "aggregate"),
        "parent": parents[C],
        "path": np.array([paths[c] for c in codes], dtype=object)[C],
        "raw_value": raw[U, C],
        "score": scores[U, C],
        "rank": pd.Series(ranks[U, C]).round().astype("Int64").to_numpy(),
        "imputed": imputed[U, C],
        "treatment": flags[U, C],
        "indicator_unit": node_unit[C],
        "direction": fw.direction[C],
        "weight": eff[C],
        "data_year": node_year[C],
        "source": node_source[C],
    })
    df["treated"] = df["treatment"].astype(str) != ""
    df.loc[~leaf[C], ["imputed", "treated"]] = False
    if provenance is not None and len(provenance):
        df = _merge_provenance(df, provenance)
    cols = ["unit", "unit_name", "code", "node_name", "level", "kind", "parent", "path", "raw_value", "score",
            "rank", "imputed", "treatment", "treated", "indicator_unit", "direction", "weight", "data_year",
            "source"]
    return df[cols + [c for c in df.columns if c not in cols]].reset_index(drop=True)


def _merge_provenance(df: pd.DataFrame, prov: pd.DataFrame) -> pd.DataFrame:
    keys = ["unit", "code"] if "unit" in prov.columns else ["code"]
    p = prov.copy()
    taken = set(df.columns) - {"data_year", "source"}
    p = p.rename(columns={c: f"provenance_{c}" for c in p.columns if c in taken and c not in keys})
    left = df.copy()
    for k in keys:
        left[k] = left[k].astype(str)
        p[k] = p[k].astype(str)
    m = left.merge(p, on=keys, how="left", suffixes=("", "__prov"), validate="many_to_one")
    for c in ("data_year", "source"):
        if f"{c}__prov" in m.columns:
            m[c] = m[f"{c}__prov"].where(m[f"{c}__prov"].notna(), m[c])
            m = m.drop(columns=f"{c}__prov")
    return m


def framework_table(result: Result, coverage: bool = True) -> pd.DataFrame:
    """The tree in spec order: code, name, level, kind, parent, path, weight (as given), rescaled weight (share
    among siblings), effective weight (share of the index), direction, unit, source, description, denominator,
    target and, for indicators, coverage (share of units with a raw value), imputed and treated counts."""
    fw = result.framework
    meta = _node_meta(result)
    paths = node_paths(result)
    w = result.weights.reindex(list(fw.codes))
    df = pd.DataFrame({
        "code": list(fw.codes),
        "name": list(fw.names),
        "level": fw.level,
        "kind": np.where(fw.is_leaf, "indicator", "aggregate"),
        "parent": [fw.parent_of(c) or "" for c in fw.codes],
        "path": [paths[c] for c in fw.codes],
        "weight": fw.weight,
        "rescaled_weight": w["rescaled"].to_numpy(dtype=float) if "rescaled" in w else np.nan,
        "effective_weight": w["effective"].to_numpy(dtype=float) if "effective" in w else np.nan,
        "direction": fw.direction,
    })
    for attr in ("unit", "source", "description", "denominator", "target"):
        df[attr] = [getattr(meta.get(c), attr, None) for c in fw.codes]
    if coverage:
        raw = result.datasets.get("Raw")
        units = result.units
        cov = np.full(len(fw.codes), np.nan)
        n_imp = np.zeros(len(fw.codes), dtype=np.int64)
        n_tr = np.zeros(len(fw.codes), dtype=np.int64)
        leaf = fw.is_leaf
        inds = list(fw.indicators)
        if raw is not None and len(units):
            cov[leaf] = raw.reindex(index=units, columns=inds).notna().mean().to_numpy()
        n_imp[leaf] = result.imputed.reindex(columns=inds).fillna(False).astype(bool).sum().to_numpy()
        n_tr[leaf] = (result.treat_flags.reindex(columns=inds).fillna("").astype(str) != "").sum().to_numpy()
        df["coverage"] = cov
        df["n_imputed"] = np.where(leaf, n_imp, 0)
        df["n_treated"] = np.where(leaf, n_tr, 0)
    return df


def weights_table(result: Result) -> pd.DataFrame:
    """Weights of every node: as given, rescaled among siblings (w_i / Σ siblings) and effective in the index
    (product of rescaled weights up the tree), plus any named weight sets of the spec as extra columns."""
    w = result.weights.copy()
    w.index.name = "code"
    w = w.reset_index()
    names = dict(zip(result.framework.codes, result.framework.names, strict=True))
    w.insert(1, "name", w["code"].map(names))
    ws = getattr(result.spec, "weights", None)
    if ws is not None:
        w.insert(2, "weight_set_used", getattr(ws, "use", "spec"))
        for set_name, values in (getattr(ws, "sets", None) or {}).items():
            w[f"set_{set_name}"] = w["code"].map(values)
    return w


def notes_table(result: Result) -> pd.DataFrame:
    """Key/value metadata: title, citation, licence, spec hash and version, build time, package version,
    data files with their SHA-256, units, excluded units, pipeline steps."""
    rec = result.run_record
    spec = result.spec
    rows: list[tuple[str, str]] = [
        ("title", display_name(result)),
        ("description", str(getattr(spec, "description", "") or "")),
        ("edition / spec version", str(getattr(spec, "version", "") or "")),
        ("citation", citation(result)),
        ("licence", licence(result)),
        ("spec_hash (sha256)", str(rec.get("spec_hash", ""))),
        ("built_at (UTC)", build_time(result)),
        ("hubindex_version", str(rec.get("hubindex_version", ""))),
        ("index code", result.index_code),
        ("units ranked", str(len(result.units))),
        ("units screened out", ", ".join(result.excluded) or "none"),
        ("framework nodes", str(len(result.framework.codes))),
        ("indicators", str(len(result.framework.indicators))),
    ]
    for f, h in (rec.get("data_files") or {}).items():
        rows.append((f"data file {f} (sha256)", str(h)))
    for i, step in enumerate(rec.get("steps") or [], start=1):
        s = dict(step)
        kind = s.pop("step", "?")
        params = ", ".join(f"{k}={v}" for k, v in s.items() if v not in (None, {}, []))
        rows.append((f"pipeline step {i}", f"{kind}: {params}"))
    plat = rec.get("platform")
    if plat:
        rows.append(("platform", str(plat)))
    rows.append(("reproduce", "hubindex build SPEC (the spec is stored in run.json / the spec_hash above)"))
    return pd.DataFrame(rows, columns=["key", "value"])


_COLUMN_DOCS: dict[str, dict[str, str]] = {
    "Ranking": {
        "rank": "rank on the index (1 = best; ties share the lowest rank)",
        "unit": "unit code", "name": "unit name", "score": "index score",
        "tier": "tier label (when the spec defines tiers)",
        "<pillar>": "pillar score", "<pillar>_rank": "rank on that pillar",
        "rank_in_<group>": "rank within the unit's group (sub-ranking)",
        "rank_lo / rank_hi / rank_median": "rank interval from the uncertainty analysis (when given)",
    },
    "Scores": {
        "unit / unit_name": "unit code and name", "code / node_name": "framework node code and name",
        "level": "1 = indicator, rising to the index", "kind": "indicator or aggregate",
        "parent / path": "parent code and hierarchy path (root/.../code)",
        "raw_value": "indicator value as read from the data (before any treatment)",
        "score": "normalised value (indicators) or aggregated score (aggregates)",
        "rank": "rank among units on that node", "imputed": "value was missing and imputed",
        "treatment / treated": "outlier treatment applied (winhi/winlo = winsorised high/low, log… = transformed)",
        "indicator_unit": "unit of measurement", "direction": "+1 higher is better, -1 lower is better",
        "weight": "effective weight of the node in the index", "data_year / source": "provenance of the value",
    },
    "Framework": {
        "code / name": "framework node code and name", "level": "1 = indicator, rising to the index",
        "kind": "indicator or aggregate", "parent / path": "parent code and hierarchy path (root/.../code)",
        "weight": "weight as given in the spec", "rescaled_weight": "weight / sum of its siblings' weights",
        "effective_weight": "product of rescaled weights up to the index",
        "direction": "+1 higher is better, -1 lower is better", "unit": "unit of measurement",
        "source": "data source", "description": "definition of the indicator (from the spec)",
        "denominator": "indicator the values are divided by (when the spec sets one)",
        "target": "target value used by the distance-to-target normalisation (when set)",
        "coverage": "share of units with a raw value", "n_imputed / n_treated": "cells imputed / treated",
    },
    "Weights": {
        "code / name": "framework node code and name", "level": "1 = indicator, rising to the index",
        "parent": "parent code", "weight_set_used": "the spec's weight set used for this build",
        "weight / rescaled / effective": "as in Framework; set_<name>: the spec's named weight sets",
        "realised": "mean over units of the effective weight after renormalising for missing values",
        "r2_index": "squared correlation of the node's scores with the index (its realised importance)",
    },
    "Notes": {"key / value": "citation, licence, spec hash, build time, package version, data files, pipeline"},
}


def columns_table() -> pd.DataFrame:
    """The data dictionary: sheet, column, meaning."""
    return pd.DataFrame([(s, c, m) for s, cols in _COLUMN_DOCS.items() for c, m in cols.items()],
                        columns=["sheet", "column", "meaning"])


# -- display forms: readable headers, rounded values (the CSV files and the workbook) -----------------------
GROUP_LABELS = {"cn_region": "Region of China"}
TREATMENT_WORDS = {"winhi": "value capped at the outlier limit", "winlo": "value raised to the outlier limit"}

_FIXED_LABELS: dict[str, dict[str, str]] = {
    "Ranking": {"rank": "Rank", "unit": "Code", "name": "Name", "score": "Score", "tier": "Tier",
                "rank_lo": "Rank interval low", "rank_hi": "Rank interval high", "rank_median": "Median rank"},
    "Scores": {"unit": "Code", "unit_name": "Name", "code": "Node code", "node_name": "Node", "level": "Level",
               "kind": "Kind", "parent": "Parent code", "path": "Path", "raw_value": "Raw value", "score": "Score",
               "rank": "Rank", "imputed": "Imputed", "treatment": "Outlier treatment", "treated": "Treated",
               "indicator_unit": "Unit of measure", "direction": "Direction", "weight": "Effective weight",
               "data_year": "Data year", "source": "Source"},
    "Framework": {"code": "Code", "name": "Name", "rescaled_weight": "Weight among siblings",
                  "effective_weight": "Effective weight", "unit": "Unit of measure", "description": "Definition",
                  "n_imputed": "Imputed values", "n_treated": "Treated values"},
    "Weights": {"code": "Code", "name": "Name", "weight_set_used": "Weight set used",
                "rescaled": "Weight among siblings", "effective": "Effective weight"},
}
#: decimals of the display files per (table, column code); the JSON and the workbook's cells keep every digit
_SCORE_DP, _WEIGHT_DP = 2, 4


def group_label(g: str) -> str:
    """A group column's name for readers: ``cn_region`` → "Region of China", ``GDP_group`` → "GDP group"."""
    if g in GROUP_LABELS:
        return GROUP_LABELS[g]
    s = str(g).replace("_", " ").strip()
    return s[:1].upper() + s[1:]  # keep the rest as written (GDP, EurAsia)


def group_in_sentence(g: str) -> str:
    """The group label inside a sentence: ``cn_region`` → "region of China", ``EurAsia_group`` → "EurAsia group"."""
    lab = group_label(g)
    return lab[:1].lower() + lab[1:] if str(g)[:1].islower() else lab


def treatment_words(flag: str) -> str:
    """An outlier-treatment flag in readers' words (``winhi`` → "value capped at the outlier limit")."""
    if not flag:
        return ""
    if flag in TREATMENT_WORDS:
        return TREATMENT_WORDS[flag]
    return "log-transformed (skewed indicator)" if flag.startswith("log") else f"treated ({flag})"


def column_labels(result: Result, table: str, columns: list[str]) -> dict[str, str]:
    """``{code: header}`` for a publication table: pillar codes become "<pillar name> score" / "… rank",
    ``rank_in_<group>`` "Rank in <group>", group columns their label, other codes a fixed or sentence-case label.
    Headers are unique (a clash keeps the code in brackets)."""
    fixed = _FIXED_LABELS.get(table, {})
    names = dict(zip(result.framework.codes, result.framework.names, strict=True))
    pillars = set(result.pillars()) if table == "Ranking" else set()
    groups = set(result.groups.columns)
    out: dict[str, str] = {}
    for c in columns:
        s = str(c)
        if s in fixed:
            lab = fixed[s]
        elif s in pillars:
            lab = f"{names[s]} score"
        elif s.endswith("_rank") and s.removesuffix("_rank") in pillars:
            lab = f"{names[s.removesuffix('_rank')]} rank"
        elif s.startswith("rank_in_"):
            lab = f"Rank in {group_in_sentence(s.removeprefix('rank_in_'))}"
        elif s in groups:
            lab = group_label(s)
        else:
            lab = s.replace("_", " ").strip()
            lab = (lab[:1].upper() + lab[1:]) or s
        if lab in out.values():
            lab = f"{lab} [{s}]"
        out[s] = lab
    return out


def _decimals(result: Result, table: str, col: str) -> int | None:
    """Display decimals of one column (None = leave as is)."""
    pillars = set(result.pillars())
    if table == "Ranking":
        if col == "score" or col in pillars:
            return _SCORE_DP
        if col in ("rank_lo", "rank_hi", "rank_median"):
            return 1
    if table == "Scores" and col == "score":
        return _SCORE_DP
    if table == "Scores" and col == "weight":
        return _WEIGHT_DP
    if table in ("Framework", "Weights") and ("weight" in col or col in ("rescaled", "effective")) \
            and col != "weight_set_used":
        return _WEIGHT_DP
    if table == "Framework" and col == "coverage":
        return 3
    return None


def _six_significant(v: Any) -> Any:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return v
    return x if not np.isfinite(x) or x == 0 else float(f"{x:.6g}")


def display_table(result: Result, table: str, df: pd.DataFrame, *, relabel: bool = True) -> pd.DataFrame:
    """The display form of a publication table: values rounded for reading (scores 2 decimals, weights 4, rank
    percentiles 1, raw values 6 significant digits), outlier flags in words, readable headers
    (:func:`column_labels`). The machine form (codes, every digit) is the table itself, as in ``index.json``."""
    out = df.copy()
    for c in out.columns:
        nd = _decimals(result, table, str(c))
        if nd is not None and pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(nd)
    if table == "Scores":
        if "rank" in out.columns:
            out["rank"] = pd.to_numeric(out["rank"], errors="coerce").round().astype("Int64")
        if "raw_value" in out.columns:
            out["raw_value"] = out["raw_value"].map(_six_significant)
        if "treatment" in out.columns:
            out["treatment"] = out["treatment"].fillna("").astype(str).map(treatment_words)
    if relabel:
        out = out.rename(columns=column_labels(result, table, [str(c) for c in out.columns]))
    return out


def column_dictionary(result: Result, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per column of each table: table, header (display files and workbook), code (the key in
    ``index.json``), meaning."""
    rows = []
    pillars = set(result.pillars())
    names = dict(zip(result.framework.codes, result.framework.names, strict=True))
    for table, df in tables.items():
        docs = _COLUMN_DOCS.get(table, {})
        labels = column_labels(result, table, [str(c) for c in df.columns])
        for code, header in labels.items():
            meaning = docs.get(code)
            if meaning is None:
                if code in pillars:
                    meaning = f"score on the {names[code]} pillar"
                elif code.endswith("_rank") and code.removesuffix("_rank") in pillars:
                    meaning = f"rank on the {names[code.removesuffix('_rank')]} pillar"
                elif code.startswith("rank_in_"):
                    meaning = f"rank within the unit's {group_in_sentence(code.removeprefix('rank_in_'))}"
                elif code in result.groups.columns:
                    meaning = f"the unit's {group_in_sentence(code)} (group)"
                elif code.startswith("set_"):
                    meaning = f"weights of the spec's weight set '{code.removeprefix('set_')}'"
                else:
                    meaning = next((m for k, m in docs.items() if code in [x.strip() for x in k.split("/")]),
                                   "from the dataset's provenance table" if table == "Scores" else "")
            rows.append((table, header, code, meaning))
    return pd.DataFrame(rows, columns=["table", "header", "code", "meaning"])
