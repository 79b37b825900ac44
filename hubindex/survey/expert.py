"""Expert assessments of centres: an open reconstruction of the GFCI (Z/Yen) rating method.

The Global Financial Centres Index rates centres from (a) assessments of centres by survey respondents on a
1–10 scale and (b) *instrumental factors* (quantitative measures of each centre), combined by a support vector
machine that predicts how respondents would assess centres. Z/Yen's model is proprietary; this module is an
open, documented reconstruction whose every rule is a parameter of :class:`ExpertConfig`, defaulting to the
published GFCI values where they are published (see ``docs/expert.md``).

Pipeline (each step a pure function, all vectorised)::

    validate_assessments   schema: respondent, home_centre, centre, rating ∈ {1..10}, date [, sector, region]
    months_before          completed calendar months between an assessment and the reference date
    time_weights           w = bucket_weights[⌊age / bucket_months⌋] if age < window_months else 0
    select_assessments     window → home-centre exclusion → latest per (respondent, centre); counts per centre
    respondent_offsets     y_rc = μ + c_c + o_r + e  (weighted two-way fixed effects, ridge-shrunk o_r)
    centre_summary         weighted mean, sd, counts per centre
    apply_thresholds       rated (n > 150), associate (n < 50), unrated (between)
    fit_expert             SVR on (factors of c) → y_rc − o_r, time-weighted; rating = 100 · f(x_c)

No real assessment data ship with hubindex (none are published); :func:`simulate_assessments` generates a
clearly-labelled *simulated* panel with a known truth for tests and demos.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hubindex.errors import ComputeError, DataError, where

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "ExpertConfig",
    "ExpertResult",
    "Selection",
    "validate_assessments",
    "read_assessments",
    "validate_factors",
    "read_factors",
    "factors_from_result",
    "months_before",
    "time_weights",
    "select_assessments",
    "weighted_mean_sd",
    "centre_summary",
    "apply_thresholds",
    "respondent_offsets",
    "merge_pairs",
    "fit_expert",
    "simulate_assessments",
    "AssessSpec",
    "load_assess_spec",
    "run_assess",
    "write_expert_outputs",
]

#: The assessment table: column → meaning. Ratings are integers 1 (poor) … 10 (excellent).
REQUIRED_COLUMNS: Mapping[str, str] = MappingProxyType({
    "respondent": "respondent id (text)",
    "home_centre": "the respondent's home centre (text; any code, need not be an assessed centre)",
    "centre": "the assessed centre (a code of the factor table)",
    "rating": "integer 1..10",
    "date": "assessment date (ISO 8601, e.g. 2025-03-31)",
})
OPTIONAL_COLUMNS: Mapping[str, str] = MappingProxyType({
    "sector": "respondent's industry sector (e.g. fintech, banking) — for sub-ratings",
    "region": "respondent's region — for sub-ratings",
    "simulated": "True for rows made by simulate_assessments (never real data)",
})
_TEXT = ("respondent", "home_centre", "centre", "sector", "region")

STATUS_RATED, STATUS_UNRATED, STATUS_ASSOCIATE = "rated", "unrated", "associate"


# --------------------------------------------------------------------------------------------- config
class ExpertConfig(BaseModel):
    """Every rule of the method as a parameter; defaults are the GFCI's published values where they exist.

    Frozen and validated (pydantic), so it can be read from the ``config:`` block of an assessment spec.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- which assessments count
    window_months: int = Field(default=24, ge=1, description="Assessments older than this many months are dropped.")
    decay: Literal["buckets", "none"] = Field(default="buckets", description="Time weighting inside the window.")
    bucket_months: int = Field(default=6, ge=1, description="Width of a time-weighting bucket in months.")
    bucket_weights: tuple[float, ...] = Field(
        default=(1.0, 0.75, 0.5, 0.25),
        description="Weight of bucket k = ages [k·bucket_months, (k+1)·bucket_months); linear decay by default.",
    )
    outside_window: Literal["drop", "error"] = Field(
        default="drop", description="Assessments older than the window: drop and count them, or stop with an error.")
    exclude_home: bool = Field(default=True, description="Drop a respondent's assessments of their own home centre.")
    latest_only: bool = Field(default=True, description="Keep only a respondent's most recent assessment of a centre.")
    # --- thresholds (counts of assessments kept after the rules above)
    rate_above: int = Field(default=150, ge=0, description="A centre is rated when it has MORE than this many.")
    associate_below: int = Field(default=50, ge=0, description="FEWER than this many puts a centre on the associate list.")
    min_respondents: int = Field(default=0, ge=0, description="A rated centre also needs at least this many respondents.")
    # --- model
    offsets: bool = Field(default=True, description="Remove respondent offsets (generous/harsh raters) before fitting.")
    offset_shrinkage: float = Field(default=1.0, ge=0.0, description="Ridge λ on respondent offsets (in weight units).")
    kernel: Literal["auto", "rbf", "nystroem", "linear"] = Field(
        default="auto", description="rbf: exact SVR; nystroem: RBF feature map + LinearSVR (scales); linear: LinearSVR.")
    exact_max: int = Field(default=5000, ge=1, description="kernel='auto' uses exact SVR up to this many assessments.")
    C: float = Field(default=1.0, gt=0.0)
    epsilon: float = Field(default=0.1, ge=0.0, description="Width of the ε-insensitive tube, rating points.")
    gamma: float | None = Field(default=None, gt=0.0, description="RBF γ; default 1/n_factors (features standardised).")
    n_components: int = Field(default=300, ge=2, description="Nyström components (capped at the number of centres).")
    max_iter: int = Field(default=20000, ge=100, description="Iteration cap of the linear solvers.")
    target_resolution: float = Field(
        default=0.05, ge=0.0, description="Offset-free targets are rounded to this grid and identical (centre, target) "
        "pairs merged with summed weights before the SVR (0 = no merging).")
    cv_folds: int = Field(default=5, ge=0, description="Cross-validation folds (0 = no CV).")
    cv_by: Literal["centre", "assessment"] = Field(
        default="centre", description="centre: held-out centres are unseen (the case of thinly assessed centres).")
    # --- outputs
    scale: float = Field(default=100.0, gt=0.0, description="rating = scale · predicted assessment (1–10 → 100–1,000).")
    sub_ratings: tuple[str, ...] = Field(default=("sector", "region"), description="Respondent columns to sub-rate by.")
    min_sub_assessments: int = Field(default=200, ge=1, description="A sub-model needs this many assessments.")
    random_state: int = 0

    @model_validator(mode="after")
    def _check(self) -> ExpertConfig:
        if self.decay == "buckets":
            need = -(-self.window_months // self.bucket_months)
            if len(self.bucket_weights) < need:
                raise ValueError(f"bucket_weights has {len(self.bucket_weights)} values; a {self.window_months}-"
                                 f"month window in {self.bucket_months}-month buckets needs {need}")
            if any(not (0.0 <= w <= 1.0) for w in self.bucket_weights):
                raise ValueError("bucket_weights must lie in [0, 1]")
        if self.associate_below > self.rate_above + 1:
            raise ValueError(f"associate_below ({self.associate_below}) must not exceed rate_above + 1 "
                             f"({self.rate_above + 1})")
        return self


# --------------------------------------------------------------------------------------------- input
def _first_bad(mask: np.ndarray | pd.Series) -> int | None:
    m = np.asarray(mask, dtype=bool)
    return int(np.flatnonzero(m)[0]) if m.any() else None


def validate_assessments(
    df: pd.DataFrame, source: object = "<assessments>", centres: Sequence[str] | pd.Index | None = None,
) -> pd.DataFrame:
    """Check and normalise an assessment table; return a clean copy (text ids, int ``rating``, ``date``).

    Errors are :class:`DataError` naming ``source``, the row (file line: header = 1, first record = 2) and the
    column. ``centres``, when given, is the set of centres with factors; an assessed centre outside it is an error.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{where(source)}missing column(s) {missing}; an assessment table needs "
                        f"{list(REQUIRED_COLUMNS)} (optional: {list(OPTIONAL_COLUMNS)}); found {list(df.columns)}")
    if len(df) == 0:
        raise DataError(f"{where(source)}no assessments (the table has a header but no rows)")
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col in _TEXT:
        if col not in df.columns:
            continue
        s = df[col].astype("string").str.strip().reset_index(drop=True)
        if col in REQUIRED_COLUMNS:
            i = _first_bad(s.isna() | (s == ""))
            if i is not None:
                raise DataError(f"{where(source, i + 2, col)}expected {REQUIRED_COLUMNS[col]}, got an empty cell")
        out[col] = s.fillna("").astype(object)
    raw = df["rating"].reset_index(drop=True)
    num = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(num) | (num != np.round(num)) | (num < 1) | (num > 10)
    i = _first_bad(bad)
    if i is not None:
        raise DataError(f"{where(source, i + 2, 'rating')}expected an integer rating 1..10, got {raw.iloc[i]!r}")
    out["rating"] = num.astype(np.int8)
    rawd = df["date"].reset_index(drop=True)
    dates = pd.to_datetime(rawd.astype("string").str.strip(), errors="coerce", format="ISO8601")
    i = _first_bad(dates.isna())
    if i is not None:
        raise DataError(f"{where(source, i + 2, 'date')}expected a date such as 2025-03-31, got {rawd.iloc[i]!r}")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    out["date"] = dates.dt.normalize().astype("datetime64[ns]")
    if centres is not None:
        known = pd.Index(pd.Index(centres).astype(str))
        i = _first_bad(~out["centre"].isin(known).to_numpy())
        if i is not None:
            raise DataError(f"{where(source, i + 2, 'centre')}centre {out['centre'].iloc[i]!r} has no instrumental "
                            f"factors; expected one of the {len(known)} centres of the factor table")
    if "simulated" in df.columns:
        out["simulated"] = df["simulated"].reset_index(drop=True).astype(bool)
    return out


def read_assessments(path: Path | str, centres: Sequence[str] | pd.Index | None = None) -> pd.DataFrame:
    """Read an assessment table (CSV, TSV, XLSX or Parquet) and validate it (see :func:`validate_assessments`)."""
    from hubindex.io import read_table

    path = Path(path)
    df = read_table(path, text_columns=tuple(c for c in _TEXT) + ("date",))
    return validate_assessments(df, path, centres)


def validate_factors(df: pd.DataFrame, source: object = "<factors>", centre_column: str | None = None) -> pd.DataFrame:
    """Check a centre × instrumental-factor table; return it float-valued, indexed by centre code (text).

    The centre code is ``centre_column`` when given, else the index. Every other column must be numeric (empty
    cells are missing; the model imputes them by the factor's median across centres).
    """
    if centre_column is not None:
        if centre_column not in df.columns:
            raise DataError(f"{where(source, None, centre_column)}the centre code column is missing; "
                            f"columns are {list(df.columns)}")
        df = df.set_index(centre_column)
    codes = pd.Index(df.index.astype("string").str.strip())
    i = _first_bad(codes.isna() | (codes == ""))
    if i is not None:
        raise DataError(f"{where(source, i + 2, centre_column)}expected a centre code, got an empty cell")
    i = _first_bad(codes.duplicated())
    if i is not None:
        raise DataError(f"{where(source, i + 2, centre_column)}duplicate centre {codes[i]!r}; expected one row each")
    if df.shape[1] == 0:
        raise DataError(f"{where(source)}no factor columns; expected one numeric column per instrumental factor")
    from hubindex.io import parse_numbers

    out = {}
    for col in df.columns:
        # strictly, as index data: '3,5', '1,234', 'inf' and 1e400 are refused with file/row/column
        v, i, why = parse_numbers(df[col].to_numpy(dtype=object))
        if i is not None:
            raise DataError(f"{where(source, i + 2, col)}{why}")
        out[str(col)] = v
    res = pd.DataFrame(out, index=pd.Index(codes.astype(str), name="centre"))
    allnan = [c for c in res.columns if res[c].isna().all()]
    if len(allnan) == res.shape[1]:
        raise DataError(f"{where(source)}every factor column is empty")
    return res


def _mostly_numeric(s: pd.Series) -> bool:
    """A factor column by default: numeric, or text whose non-empty cells are mostly numbers (a typo such as
    'one' in a numeric column is then reported by :func:`validate_factors` instead of dropping the column)."""
    if pd.api.types.is_bool_dtype(s):
        return False
    if pd.api.types.is_numeric_dtype(s):
        return bool(s.notna().any())
    text = s.dropna().astype("string").str.strip()
    text = text[text != ""]
    return len(text) > 0 and pd.to_numeric(text, errors="coerce").notna().mean() >= 0.5


def read_factors(path: Path | str, centre_column: str = "centre", columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a centre × factor table (CSV/TSV/XLSX/Parquet) and validate it (see :func:`validate_factors`).

    ``columns``: the factor columns (each must exist and be numeric); by default every numeric column other
    than ``centre_column`` (text columns such as names or regions, and empty columns, are skipped).
    """
    from hubindex.io import read_table

    path = Path(path)
    df = read_table(path, text_columns=(centre_column,))
    if centre_column not in df.columns:
        raise DataError(f"{where(path, None, centre_column)}the centre code column is missing; "
                        f"columns are {list(df.columns)}")
    if columns is None:
        columns = [c for c in df.columns if c != centre_column and _mostly_numeric(df[c])]
    else:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise DataError(f"{where(path, None, missing[0])}factor column not in the file; columns are "
                            f"{list(df.columns)}")
    return validate_factors(df[[centre_column, *columns]], path, centre_column)


def factors_from_result(result: Any, dataset: str = "Normalised") -> pd.DataFrame:
    """The indicators of a built index (``hubindex.build``) as instrumental factors: one row per unit."""
    if dataset not in result.datasets:
        raise DataError(f"dataset {dataset!r} not in the build result; have {list(result.datasets)}")
    return validate_factors(result.datasets[dataset], f"build result dataset {dataset!r}")


# --------------------------------------------------------------------------------------------- rules
def months_before(dates: pd.Series | np.ndarray, reference: pd.Timestamp | str) -> np.ndarray:
    """Completed calendar months from each date to ``reference``.

    age = 12·(Y_ref − Y) + (M_ref − M) − [D_ref < D]; e.g. 2025-12-31 → 2026-06-30 is 5 (5 months 30 days),
    2026-01-01 → 2026-07-01 is 6. Negative for dates after the reference.
    """
    d = np.asarray(pd.to_datetime(dates), dtype="datetime64[D]")
    r = np.asarray(pd.Timestamp(reference).normalize().to_datetime64()).astype("datetime64[D]")
    dm, rm = d.astype("datetime64[M]"), r.astype("datetime64[M]")
    dday = (d - dm).astype(np.int64)
    rday = (r - rm).astype(np.int64)
    return (rm - dm).astype(np.int64) - (rday < dday).astype(np.int64)


def time_weights(age_months: np.ndarray, config: ExpertConfig | None = None) -> np.ndarray:
    """Weight of an assessment aged ``age_months`` (completed months):

    - outside the window (age ≥ window_months, or age < 0): 0;
    - ``decay='none'``: 1;
    - ``decay='buckets'``: ``bucket_weights[⌊age / bucket_months⌋]`` — by default 1, ¾, ½, ¼ for ages
      0–5, 6–11, 12–17, 18–23 months (linear decay by six-month buckets).
    """
    cfg = config or ExpertConfig()
    age = np.asarray(age_months, dtype=np.int64)
    inside = (age >= 0) & (age < cfg.window_months)
    if cfg.decay == "none":
        return inside.astype(float)
    bw = np.asarray(cfg.bucket_weights, dtype=float)
    k = np.clip(age // cfg.bucket_months, 0, len(bw) - 1)
    return np.where(inside, bw[k], 0.0)


@dataclass(frozen=True)
class Selection:
    """The assessments that count, with their time weights, and per-centre counts of every exclusion.

    ``counts`` (index = centre) has ``n_received`` (all rows), ``n_outside_window``, ``n_home_excluded``,
    ``n_superseded`` (older repeats of a respondent's assessment of the same centre) and ``n_assessments``
    (kept) — n_received = n_outside_window + n_home_excluded + n_superseded + n_assessments.
    """

    assessments: pd.DataFrame  # kept rows, with columns 'age_months' and 'weight'
    counts: pd.DataFrame
    reference_date: pd.Timestamp


def select_assessments(
    df: pd.DataFrame, reference_date: pd.Timestamp | str | None = None, config: ExpertConfig | None = None,
    source: object = "<assessments>",
) -> Selection:
    """Apply, in order, the window, the home-centre exclusion and the latest-only rule; attach time weights.

    ``reference_date`` defaults to the latest assessment date. A date after it is an error (a future
    assessment); a date before the window is dropped and counted, or an error when
    ``config.outside_window == 'error'``. ``df`` must already be validated (:func:`validate_assessments`).
    """
    cfg = config or ExpertConfig()
    ref = pd.Timestamp(df["date"].max() if reference_date is None else reference_date).normalize()
    age = months_before(df["date"], ref)
    i = _first_bad(age < 0)
    if i is None:
        i = _first_bad(df["date"].to_numpy() > ref.to_datetime64())
    if i is not None:
        raise DataError(f"{where(source, i + 2, 'date')}date {df['date'].iloc[i].date()} is after the reference "
                        f"date {ref.date()}; expected assessments made on or before it")
    stale = age >= cfg.window_months
    if cfg.outside_window == "error":
        i = _first_bad(stale)
        if i is not None:
            raise DataError(f"{where(source, i + 2, 'date')}date {df['date'].iloc[i].date()} is outside the "
                            f"{cfg.window_months}-month window ending {ref.date()}")
    home = (df["home_centre"].to_numpy() == df["centre"].to_numpy()) & ~stale if cfg.exclude_home else np.zeros(
        len(df), bool)
    keep = ~stale & ~home
    superseded = np.zeros(len(df), bool)
    if cfg.latest_only and keep.any():
        k = df.loc[keep, ["respondent", "centre", "date"]].copy()
        k["_pos"] = np.flatnonzero(keep)
        k = k.sort_values(["date", "_pos"], kind="stable")  # the latest (last row on ties) wins
        dup = k.duplicated(["respondent", "centre"], keep="last").to_numpy()
        superseded[k["_pos"].to_numpy()[dup]] = True
        keep &= ~superseded
    centre = df["centre"].to_numpy()
    codes, inv = np.unique(centre.astype(str), return_inverse=True)
    n = len(codes)
    counts = pd.DataFrame({
        "n_received": np.bincount(inv, minlength=n),
        "n_outside_window": np.bincount(inv, weights=stale, minlength=n).astype(np.int64),
        "n_home_excluded": np.bincount(inv, weights=home, minlength=n).astype(np.int64),
        "n_superseded": np.bincount(inv, weights=superseded, minlength=n).astype(np.int64),
        "n_assessments": np.bincount(inv, weights=keep, minlength=n).astype(np.int64),
    }, index=pd.Index(codes, name="centre"))
    kept = df.loc[keep].copy()
    kept["age_months"] = age[keep]
    kept["weight"] = time_weights(age[keep], cfg)
    return Selection(kept.reset_index(drop=True), counts, ref)


# --------------------------------------------------------------------------------------------- summaries
def weighted_mean_sd(y: np.ndarray, w: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    """Per group g: weighted mean m = Σwy/Σw and reliability-weighted sd s = √(Σw(y−m)² / (V₁ − V₂/V₁)),

    V₁ = Σw, V₂ = Σw² (equal weights give the ordinary n−1 standard deviation). Returns (m, s, V₁, n);
    m is NaN for an empty group, s is NaN below two assessments or when V₁ = V₂/V₁.
    """
    y = np.asarray(y, float)
    w = np.asarray(w, float)
    n = np.bincount(group, minlength=n_groups)
    v1 = np.bincount(group, weights=w, minlength=n_groups)
    v2 = np.bincount(group, weights=w * w, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.bincount(group, weights=w * y, minlength=n_groups) / v1
        ss = np.bincount(group, weights=w * (y - m[group]) ** 2, minlength=n_groups)
        denom = v1 - v2 / v1
        s = np.where((n >= 2) & (denom > 1e-12 * np.maximum(v1, 1)), np.sqrt(ss / denom), np.nan)
    m = np.where(v1 > 0, m, np.nan)
    return m, s, v1, n


def centre_summary(sel: Selection, centres: Sequence[str] | pd.Index | None = None) -> pd.DataFrame:
    """Per centre: the exclusion counts of ``sel``, ``n_respondents`` (distinct), ``weight_sum`` (Σw),
    ``mean_assessment`` (Σwy/Σw) and ``sd_assessment`` (see :func:`weighted_mean_sd`).

    ``centres`` fixes the rows (e.g. every centre of the factor table; those never assessed get zero counts).
    """
    a = sel.assessments
    idx = sel.counts.index
    if centres is not None:  # the given centres first, then any other assessed centre
        given = pd.Index(pd.Index(centres).astype(str), name="centre")
        idx = given.append(idx.difference(given))
    counts = sel.counts.reindex(idx).fillna(0).astype(np.int64)
    g = idx.get_indexer(pd.Index(a["centre"]))
    m, s, v1, _ = weighted_mean_sd(a["rating"].to_numpy(float), a["weight"].to_numpy(), g, len(idx))
    pairs = pd.DataFrame({"g": g, "r": a["respondent"].to_numpy()}).drop_duplicates()
    nresp = np.bincount(pairs["g"].to_numpy(), minlength=len(idx))
    out = counts.copy()
    out["n_respondents"] = nresp
    out["weight_sum"] = v1
    out["mean_assessment"] = m
    out["sd_assessment"] = s
    return out


def apply_thresholds(summary: pd.DataFrame, config: ExpertConfig | None = None) -> pd.Series:
    """Status of each centre from its kept-assessment count n and distinct respondents r:

    ``rated`` if n > rate_above and r ≥ min_respondents; ``associate`` if n < associate_below;
    ``unrated`` otherwise. Every centre is reported — none is dropped.
    """
    cfg = config or ExpertConfig()
    n = summary["n_assessments"].to_numpy()
    r = summary["n_respondents"].to_numpy() if "n_respondents" in summary else np.full(len(n), np.inf)
    status = np.where((n > cfg.rate_above) & (r >= cfg.min_respondents), STATUS_RATED,
                      np.where(n < cfg.associate_below, STATUS_ASSOCIATE, STATUS_UNRATED))
    return pd.Series(status, index=summary.index, name="status")


def respondent_offsets(
    y: np.ndarray, w: np.ndarray, resp: np.ndarray, centre: np.ndarray, n_resp: int, n_centre: int,
    shrinkage: float = 1.0, tol: float = 1e-10, max_iter: int = 500,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted two-way fixed effects y_rc = μ + c_c + o_r + e by alternating least squares (backfitting).

    μ = Σwy/Σw; from o = 0 repeat  c_c = Σ_r w(y − μ − o_r) / Σ_r w  and  o_r = Σ_c w(y − μ − c_c) / (Σ_c w + λ)
    until the largest change < tol. λ ≥ 0 (``shrinkage``) pulls the offset of a respondent with little weight
    towards 0; a respondent who assessed a single centre carries no information on their own generosity and
    gets o_r = (y − μ − c_c)·w/(w + λ), i.e. the centre effect absorbs most of it. Returns (o, c, μ).
    """
    y = np.asarray(y, float)
    w = np.asarray(w, float)
    sw = w.sum()
    if sw <= 0:
        raise ComputeError("all assessment weights are zero; nothing inside the time window")
    mu = float((w * y).sum() / sw)
    wr = np.bincount(resp, weights=w, minlength=n_resp)
    wc = np.bincount(centre, weights=w, minlength=n_centre)
    o = np.zeros(n_resp)
    c = np.zeros(n_centre)
    r = y - mu
    for _ in range(max_iter):
        with np.errstate(invalid="ignore", divide="ignore"):
            c_new = np.where(wc > 0, np.bincount(centre, weights=w * (r - o[resp]), minlength=n_centre) / wc, 0.0)
            o_new = np.bincount(resp, weights=w * (r - c_new[centre]), minlength=n_resp) / (wr + shrinkage)
        o_new = np.where(wr + shrinkage > 0, o_new, 0.0)
        delta = max(np.abs(c_new - c).max(initial=0.0), np.abs(o_new - o).max(initial=0.0))
        c, o = c_new, o_new
        if delta < tol:
            break
    return o, c, mu


# --------------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class ExpertResult:
    """A fitted expert-assessment model: immutable; tables are copies the caller may modify freely.

    - ``ratings`` (one row per centre of the factor table, sorted by rating): counts, ``status``,
      ``mean_assessment``/``sd_assessment`` (time-weighted, home-excluded), ``adjusted_mean`` (respondent offsets
      removed), ``predicted`` (model, 1–10), ``rating`` (= scale · predicted, the 1,000-point scale), ``rank``
      (among rated centres), ``rank_all`` and ``reputational_advantage`` = scale · (mean_assessment − predicted).
    - ``sub_ratings``: long table (by, level, centre, n_assessments, mean_assessment, predicted, rating) from a
      model refitted on the assessments of respondents in that sector/region only.
    - ``metrics``: r2_train, r2_centre_train, cv_r2, cv_rmse, cv_r2_centre, cv_spearman_centre, n_* and the
      kernel actually used. ``pipeline``: the fitted scikit-learn Pipeline mapping factors → offset-free
      assessment minus ``mu``.
    """

    config: ExpertConfig
    reference_date: pd.Timestamp
    ratings: pd.DataFrame
    sub_ratings: pd.DataFrame
    metrics: Mapping[str, Any]
    pipeline: Any
    mu: float
    factor_names: tuple[str, ...]
    offsets: pd.Series = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    def predict(self, factors: pd.DataFrame) -> pd.Series:
        """Predicted assessment (1–10) of an average respondent for each row of a centre × factor table."""
        missing = [f for f in self.factor_names if f not in factors.columns]
        if missing:
            raise DataError(f"factor table lacks the model's factor(s) {missing[:10]}")
        X = factors[list(self.factor_names)].to_numpy(float)
        return pd.Series(np.clip(self.pipeline.predict(X) + self.mu, 1.0, 10.0), index=factors.index,
                         name="predicted")

    def predict_assessments(self, pairs: pd.DataFrame, factors: pd.DataFrame) -> pd.Series:
        """Predicted assessment of ``pairs`` (columns respondent, centre): f(x_c) + o_r, clipped to [1, 10].

        Respondents unseen in training get o = 0.
        """
        p = self.predict(factors)
        f = p.reindex(pairs["centre"].astype(str)).to_numpy()
        o = self.offsets.reindex(pairs["respondent"].astype(str)).fillna(0.0).to_numpy()
        return pd.Series(np.clip(f + o, 1.0, 10.0), index=pairs.index, name="predicted")

    def ranking(self, rated_only: bool = True) -> pd.DataFrame:
        """Centres by rating, highest first (rated centres only by default)."""
        t = self.ratings
        return (t[t["status"] == STATUS_RATED] if rated_only else t).copy()

    def indicator(self, column: str = "rating") -> pd.Series:
        """The rating as an index indicator: one value per centre; NaN for centres that are not rated."""
        t = self.ratings
        return t[column].where(t["status"] == STATUS_RATED).rename(f"expert_{column}")


def _make_model(cfg: ExpertConfig, n_rows: int, n_centres: int, n_factors: int) -> tuple[str, Any, Any]:
    """(kernel used, preprocessing Pipeline fitted on the centre table, regressor)."""
    from sklearn.impute import SimpleImputer
    from sklearn.kernel_approximation import Nystroem
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR, LinearSVR

    kernel = cfg.kernel
    if kernel == "auto":
        kernel = "rbf" if n_rows <= cfg.exact_max else "nystroem"
    gamma = cfg.gamma if cfg.gamma is not None else 1.0 / max(n_factors, 1)
    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                                    ("scale", StandardScaler())]
    if kernel == "rbf":
        reg: Any = SVR(kernel="rbf", C=cfg.C, epsilon=cfg.epsilon, gamma=gamma, cache_size=500)
    else:
        if kernel == "nystroem":
            steps.append(("features", Nystroem(kernel="rbf", gamma=gamma, n_components=min(cfg.n_components, n_centres),
                                               random_state=cfg.random_state)))
        reg = LinearSVR(C=cfg.C, epsilon=cfg.epsilon, loss="squared_epsilon_insensitive", dual=False, fit_intercept=True,
                        intercept_scaling=10.0, max_iter=cfg.max_iter, tol=1e-4, random_state=cfg.random_state)
    return kernel, Pipeline(steps), reg


def merge_pairs(ci: np.ndarray, y: np.ndarray, w: np.ndarray, resolution: float) -> tuple[np.ndarray, ...]:
    """Round y to the grid ``resolution`` (h): ŷ = h·round(y/h), and merge rows with equal (centre, ŷ), summing w.

    Every row of a centre has the same features, so the weighted SVR loss Σᵢ wᵢ·L(ŷᵢ − f(x_cᵢ)) equals
    Σ_(c,ŷ) (Σw)·L(ŷ − f(x_c)) exactly: the fit on the merged rows is the fit on the rounded targets. With
    integer ratings and no offsets nothing is rounded. ``resolution = 0`` returns the rows unchanged.
    Returns (centre index, target, weight), rows with zero total weight dropped.
    """
    if resolution <= 0:
        keep = w > 0
        return ci[keep], y[keep], w[keep]
    q = np.round(y / resolution).astype(np.int64)
    qmin = q.min()
    span = int(q.max() - qmin + 1)
    key = ci.astype(np.int64) * span + (q - qmin)
    uk, inv = np.unique(key, return_inverse=True)
    ws = np.bincount(inv, weights=w, minlength=len(uk))
    keep = ws > 0
    uk, ws = uk[keep], ws[keep]
    return (uk // span), (uk % span + qmin) * resolution, ws


def _fit_core(cfg: ExpertConfig, Xc: np.ndarray, ci: np.ndarray, y: np.ndarray, w: np.ndarray, mu: float,
              train_centres: np.ndarray | None = None) -> tuple[str, Any, Any]:
    """Fit preprocessing on the centre table (rows ``train_centres`` or all), then the SVR on y − μ."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    ci, y, w = merge_pairs(ci, y, w, cfg.target_resolution)
    y = y - mu
    kernel, prep, reg = _make_model(cfg, len(y), Xc.shape[0] if train_centres is None else len(train_centres),
                                    Xc.shape[1])
    rows = Xc if train_centres is None else Xc[train_centres]
    Zc = prep.fit(rows).transform(Xc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(Zc[ci], y, sample_weight=w)
    return kernel, prep, reg


def _assemble(prep: Any, reg: Any) -> Any:
    from sklearn.pipeline import Pipeline

    return Pipeline([*prep.steps, ("svr", reg)])


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def _r2(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    w = np.ones_like(y) if w is None else w
    ok = np.isfinite(y) & np.isfinite(p) & (w > 0)
    if ok.sum() < 2:
        return float("nan")
    y, p, w = y[ok], p[ok], w[ok]
    ybar = (w * y).sum() / w.sum()
    tot = (w * (y - ybar) ** 2).sum()
    return float(1 - (w * (y - p) ** 2).sum() / tot) if tot > 0 else float("nan")


def _prepare(sel: Selection, factors: pd.DataFrame, cfg: ExpertConfig) -> dict[str, Any]:
    a = sel.assessments
    centres = factors.index
    ci = centres.get_indexer(pd.Index(a["centre"]))
    if (ci < 0).any():
        bad = a["centre"].to_numpy()[ci < 0][0]
        raise DataError(f"centre {bad!r} is assessed but has no instrumental factors")
    rcodes, ri = np.unique(a["respondent"].to_numpy().astype(str), return_inverse=True)
    y = a["rating"].to_numpy(float)
    w = a["weight"].to_numpy(float)
    if cfg.offsets:
        o, _, mu = respondent_offsets(y, w, ri, ci, len(rcodes), len(centres), cfg.offset_shrinkage)
    else:
        o, mu = np.zeros(len(rcodes)), float((w * y).sum() / w.sum())
    return {"ci": ci, "ri": ri, "rcodes": rcodes, "y": y, "w": w, "o": o, "mu": mu, "adj": y - o[ri]}


def _cross_validate(cfg: ExpertConfig, Xc: np.ndarray, d: dict[str, Any], n_centres: int) -> dict[str, float]:
    from sklearn.model_selection import GroupKFold, KFold

    ci, adj, w, mu = d["ci"], d["adj"], d["w"], d["mu"]
    present = np.unique(ci)
    if cfg.cv_by == "centre":
        k = min(cfg.cv_folds, len(present))
        if k < 2:
            return {}
        splits = GroupKFold(n_splits=k).split(ci, groups=ci)
    else:
        k = min(cfg.cv_folds, len(ci))
        if k < 2:
            return {}
        splits = KFold(n_splits=k, shuffle=True, random_state=cfg.random_state).split(ci)
    pred = np.full(len(ci), np.nan)
    for tr, te in splits:
        train_centres = np.unique(ci[tr]) if cfg.cv_by == "centre" else None
        _, prep, reg = _fit_core(cfg, Xc, ci[tr], adj[tr], w[tr], mu, train_centres)
        pred[te] = np.clip(reg.predict(prep.transform(Xc)[ci[te]]) + mu, 1, 10)
    m_obs, _, _, n = weighted_mean_sd(adj, w, ci, n_centres)
    m_pred, _, _, _ = weighted_mean_sd(pred, w, ci, n_centres)
    has = n > 0
    return {
        "cv_folds": float(k),
        "cv_r2": _r2(adj, pred, w),
        "cv_rmse": float(np.sqrt((w * (adj - pred) ** 2).sum() / w.sum())),
        "cv_r2_centre": _r2(m_obs[has], m_pred[has], n[has].astype(float)),
        "cv_spearman_centre": _spearman(m_obs[has], m_pred[has]),
    }


def fit_expert(
    assessments: pd.DataFrame, factors: pd.DataFrame, config: ExpertConfig | None = None,
    reference_date: pd.Timestamp | str | None = None, source: object = "<assessments>",
    progress: Any = None,
) -> ExpertResult:
    """Fit the GFCI-style model and rate every centre of ``factors``.

    1. :func:`select_assessments` (window, home exclusion, latest only) and time weights w.
    2. Respondent offsets o_r from :func:`respondent_offsets`; target ỹ_rc = y_rc − o_r (an average rater).
    3. Support vector regression ỹ_rc − μ ≈ f(z(x_c)) with sample weights w, where z = median imputation +
       standardisation fitted on the centre × factor table (each centre once) and f is an RBF SVR (exact or
       Nyström-mapped LinearSVR) or a linear SVR.
    4. predicted_c = clip(μ + f(z(x_c)), 1, 10) for every centre — also those with few or no assessments;
       rating_c = scale · predicted_c; status from :func:`apply_thresholds`.
    5. Cross-validation (``cv_by``: held-out centres or held-out assessments) and sub-ratings by refitting on
       each respondent sector/region with ≥ ``min_sub_assessments`` assessments.

    ``progress``: optional callable receiving a short text before each step.
    """
    cfg = config or ExpertConfig()
    say = progress or (lambda _msg: None)
    factors = validate_factors(factors, "<factors>") if not _is_clean_factors(factors) else factors
    a = assessments if _is_clean_assessments(assessments) else validate_assessments(assessments, source)
    i = _first_bad(~a["centre"].isin(factors.index).to_numpy())
    if i is not None:
        raise DataError(f"{where(source, i + 2, 'centre')}centre {a['centre'].iloc[i]!r} has no instrumental "
                        f"factors; expected one of the {len(factors)} centres of the factor table")
    say("selecting assessments")
    sel = select_assessments(a, reference_date, cfg, source)
    if len(sel.assessments) == 0 or sel.assessments["weight"].sum() <= 0:
        raise DataError(f"{where(source)}no assessment is left after the {cfg.window_months}-month window and "
                        "the home-centre exclusion")
    summary = centre_summary(sel, factors.index).loc[factors.index]
    status = apply_thresholds(summary, cfg)
    Xc = factors.to_numpy(float)
    d = _prepare(sel, factors, cfg)
    say("fitting the support vector model")
    kernel, prep, reg = _fit_core(cfg, Xc, d["ci"], d["adj"], d["w"], d["mu"])
    pipe = _assemble(prep, reg)
    predicted = np.clip(pipe.predict(Xc) + d["mu"], 1.0, 10.0)
    adj_mean, _, _, n = weighted_mean_sd(d["adj"], d["w"], d["ci"], len(factors))
    fit_pred = predicted[d["ci"]]
    metrics: dict[str, Any] = {
        "kernel": kernel,
        "n_assessments": int(len(d["y"])),
        "n_respondents": int(len(d["rcodes"])),
        "n_centres": int(len(factors)),
        "n_factors": int(factors.shape[1]),
        "n_rated": int((status == STATUS_RATED).sum()),
        "n_associate": int((status == STATUS_ASSOCIATE).sum()),
        "simulated_input": bool("simulated" in a.columns and a["simulated"].any()),
        "mu": d["mu"],
        "r2_train": _r2(d["adj"], fit_pred, d["w"]),
        "r2_centre_train": _r2(adj_mean[n > 0], predicted[n > 0], n[n > 0].astype(float)),
    }
    if cfg.cv_folds >= 2:
        say("cross-validating")
        metrics.update(_cross_validate(cfg, Xc, d, len(factors)))

    t = summary.copy()
    t["status"] = status
    t["adjusted_mean"] = adj_mean
    t["predicted"] = predicted
    t["rating"] = cfg.scale * predicted
    t["reputational_advantage"] = cfg.scale * (t["mean_assessment"] - predicted)
    t["rank_all"] = t["rating"].rank(ascending=False, method="min").astype(np.int64)
    rated = t["status"] == STATUS_RATED
    t["rank"] = t["rating"].where(rated).rank(ascending=False, method="min").astype("Int64")
    t = t.sort_values(["rating"], ascending=False, kind="stable")
    if metrics["simulated_input"]:
        t["simulated"] = True  # the assessments came from simulate_assessments: not real data

    say("sub-ratings")
    sub = _sub_ratings(sel, factors, cfg)
    offsets = pd.Series(d["o"], index=pd.Index(d["rcodes"], name="respondent"), name="offset")
    return ExpertResult(cfg, sel.reference_date, t, sub, metrics, pipe, d["mu"], tuple(map(str, factors.columns)),
                        offsets)


def _sub_ratings(sel: Selection, factors: pd.DataFrame, cfg: ExpertConfig) -> pd.DataFrame:
    frames = []
    a = sel.assessments
    Xc = factors.to_numpy(float)
    for by in cfg.sub_ratings:
        if by not in a.columns:
            continue
        for level, idx in a.groupby(by, sort=True).indices.items():
            if level == "" or len(idx) < cfg.min_sub_assessments:
                continue
            sub = Selection(a.iloc[idx].reset_index(drop=True), sel.counts, sel.reference_date)
            d = _prepare(sub, factors, cfg)
            _, prep, reg = _fit_core(cfg, Xc, d["ci"], d["adj"], d["w"], d["mu"])
            pred = np.clip(reg.predict(prep.transform(Xc)) + d["mu"], 1, 10)
            m, _, _, n = weighted_mean_sd(d["y"], d["w"], d["ci"], len(factors))
            frames.append(pd.DataFrame({
                "by": by, "level": level, "centre": factors.index, "n_assessments": n,
                "mean_assessment": m, "predicted": pred, "rating": cfg.scale * pred,
            }))
    cols = ["by", "level", "centre", "n_assessments", "mean_assessment", "predicted", "rating"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _is_clean_factors(f: pd.DataFrame) -> bool:
    return bool(len(f.columns)) and all(pd.api.types.is_float_dtype(t) for t in f.dtypes) and f.index.is_unique


def _is_clean_assessments(a: pd.DataFrame) -> bool:
    return (all(c in a.columns for c in REQUIRED_COLUMNS) and pd.api.types.is_integer_dtype(a["rating"])
            and pd.api.types.is_datetime64_any_dtype(a["date"]))


# --------------------------------------------------------------------------------------------- simulation
def simulate_assessments(
    n_centres: int = 40, n_factors: int = 12, n_respondents: int = 1500, per_respondent: float = 6.0,
    home_bias: float = 1.5, respondent_sd: float = 0.8, noise_sd: float = 1.0, signal: float = 1.2,
    months: int = 30, reference_date: str = "2026-06-30", home_share: float = 0.3,
    sectors: Sequence[str] = ("fintech", "banking", "asset management", "insurance", "professional services"),
    regions: Sequence[str] = ("Asia/Pacific", "Europe", "North America", "Middle East & Africa", "Latin America"),
    factors: pd.DataFrame | None = None, popularity: float = 1.0, seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """SIMULATED expert assessments with a known truth — for tests and demos only, never real data.

    Truth: centre effect c = signal · z(Xβ) with X the factor table (standard-normal factors unless ``factors``
    is given, e.g. a real dataset's indicators), β ~ N(0, 1), z = standardisation. Each respondent r has a home
    centre, offset o_r ~ N(0, respondent_sd²), sector and region; r assesses ~Poisson(per_respondent) centres drawn
    with probability ∝ exp(popularity·(0.6·c/signal + 0.6·N(0,1))) (better centres are assessed more), and, with probability
    ``home_share``, also the home centre. Rating = clip(round(6 + c + o_r + home_bias·[home] + ε), 1, 10),
    ε ~ N(0, noise_sd²); dates uniform over the last ``months`` months.

    Returns (assessments with a ``simulated`` column = True, factors indexed by centre, truth with columns
    ``effect`` and ``true_rank``).
    """
    rng = np.random.default_rng(seed)
    if factors is None:
        codes = np.array([f"C{j:03d}" for j in range(n_centres)])
        X = rng.standard_normal((n_centres, n_factors))
        fac = pd.DataFrame(X, index=pd.Index(codes, name="centre"), columns=[f"f{k:02d}" for k in range(n_factors)])
    else:
        fac = validate_factors(factors, "<factors>")
        codes = fac.index.to_numpy().astype(str)
        n_centres, n_factors = fac.shape
        X = fac.to_numpy(float)
        X = np.where(np.isnan(X), np.nanmedian(X, axis=0), X)
        sd = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    beta = rng.standard_normal(n_factors)
    lin = X @ beta
    effect = signal * (lin - lin.mean()) / (lin.std() or 1.0)
    # assessment propensity: a noisy increasing function of the effect (well-known centres are assessed more)
    prop = np.exp(popularity * (0.6 * effect / signal + 0.6 * rng.standard_normal(n_centres)))
    prop /= prop.sum()
    home = rng.choice(n_centres, size=n_respondents, p=prop)
    off = rng.normal(0, respondent_sd, n_respondents)
    k = np.maximum(rng.poisson(per_respondent, n_respondents), 1)
    r_idx = np.repeat(np.arange(n_respondents), k)
    c_idx = rng.choice(n_centres, size=len(r_idx), p=prop)
    add_home = rng.random(n_respondents) < home_share
    r_idx = np.concatenate([r_idx, np.flatnonzero(add_home)])
    c_idx = np.concatenate([c_idx, home[add_home]])
    is_home = c_idx == home[r_idx]
    eps = rng.normal(0, noise_sd, len(r_idx))
    rating = np.clip(np.round(6.0 + effect[c_idx] + off[r_idx] + home_bias * is_home + eps), 1, 10).astype(int)
    ref = pd.Timestamp(reference_date)
    days = rng.integers(0, int(months * 30.44), len(r_idx))
    dates = ref - pd.to_timedelta(days, unit="D")
    sec = np.asarray(sectors, dtype=object)[rng.integers(0, len(sectors), n_respondents)]
    reg = np.asarray(regions, dtype=object)[rng.integers(0, len(regions), n_respondents)]
    rid = np.array([f"R{i:06d}" for i in range(n_respondents)], dtype=object)
    ass = pd.DataFrame({
        "respondent": rid[r_idx], "home_centre": codes[home][r_idx].astype(object), "centre": codes[c_idx].astype(object),
        "rating": rating.astype(np.int8), "date": dates.normalize().astype("datetime64[ns]"),
        "sector": sec[r_idx], "region": reg[r_idx], "simulated": True,
    })
    order = rng.permutation(len(ass))
    ass = ass.iloc[order].reset_index(drop=True)
    truth = pd.DataFrame({"effect": effect}, index=pd.Index(codes, name="centre"))
    truth["true_rank"] = truth["effect"].rank(ascending=False, method="min").astype(int)
    return ass, fac, truth


# --------------------------------------------------------------------------------------------- spec, run, outputs
class AssessSpec(BaseModel):
    """An expert-assessment run (YAML): the assessment table, the centres' instrumental factors, the rules.

    Factors come either from a centre × factor table (``factors`` + ``centre_column`` [+ ``factor_columns``])
    or from a built index (``index_spec``: its ``factor_dataset`` indicators, e.g. the normalised ones).
    Relative paths resolve against the spec's folder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "Expert assessment rating"
    assessments: str
    factors: str | None = None
    centre_column: str = "centre"
    factor_columns: list[str] | None = None
    index_spec: str | None = None
    factor_dataset: str = "Normalised"
    reference_date: str | None = Field(default=None, description="End of the window (ISO date); default: latest assessment.")
    config: ExpertConfig = Field(default_factory=lambda: ExpertConfig())
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("reference_date", mode="before")
    @classmethod
    def _date_as_text(cls, v: Any) -> Any:
        """YAML reads an unquoted 2026-06-30 as a date: keep it as its ISO text."""
        import datetime as _dt

        return v.isoformat() if isinstance(v, _dt.date) else v

    @model_validator(mode="after")
    def _one_factor_source(self) -> AssessSpec:
        if (self.factors is None) == (self.index_spec is None):
            raise ValueError("give exactly one of 'factors' (a centre × factor table) or 'index_spec'")
        if self.reference_date is not None:
            try:
                pd.Timestamp(self.reference_date)
            except ValueError:
                raise ValueError(f"reference_date {self.reference_date!r} is not a date such as 2026-06-30") from None
        return self

    def resolve(self, rel: str) -> Path:
        p = Path(rel)
        return p if p.is_absolute() else self.base_dir / p


def load_assess_spec(path: Path | str) -> AssessSpec:
    """Read and validate an assessment spec (YAML); errors name the file and the offending key."""
    from pydantic import ValidationError

    from hubindex.errors import SpecError
    from hubindex.yamlio import read_yaml

    p = Path(path)
    raw = read_yaml(p, "assessment spec")
    if not isinstance(raw, dict):
        raise SpecError(f"{p}: expected a mapping with keys 'assessments' and 'factors' or 'index_spec'")
    try:
        return AssessSpec(**raw, base_dir=p.resolve().parent)
    except ValidationError as e:
        msgs = "; ".join((f"{'.'.join(map(str, err['loc']))}: " if err["loc"] else "")
                         + err["msg"].removeprefix("Value error, ") for err in e.errors())
        raise SpecError(f"{p}: {msgs}") from None
    except TypeError as e:
        raise SpecError(f"{p}: {e}") from None


def run_assess(spec: AssessSpec | Path | str, progress: Any = None) -> tuple[AssessSpec, ExpertResult]:
    """Read the spec's factors and assessments, validate them and fit (see :func:`fit_expert`)."""
    s = spec if isinstance(spec, AssessSpec) else load_assess_spec(spec)
    say = progress or (lambda _msg: None)
    say("reading instrumental factors")
    if s.factors is not None:
        factors = read_factors(s.resolve(s.factors), s.centre_column, s.factor_columns)
    else:
        from hubindex.api import build

        assert s.index_spec is not None
        res = build(s.resolve(s.index_spec))
        factors = factors_from_result(res, s.factor_dataset)
        if s.factor_columns is not None:
            missing = [c for c in s.factor_columns if c not in factors.columns]
            if missing:
                raise DataError(f"{s.resolve(s.index_spec)}: factor column(s) {missing} are not indicators of the "
                                f"index; indicators are {list(factors.columns)}")
            factors = factors[list(s.factor_columns)]
    say("reading assessments")
    path = s.resolve(s.assessments)
    a = read_assessments(path, factors.index)
    return s, fit_expert(a, factors, s.config, s.reference_date, path, progress)


def write_expert_outputs(result: ExpertResult, out: Path | str, spec: AssessSpec | None = None) -> list[Path]:
    """Write ``ratings.csv``, ``sub_ratings.csv``, ``indicator.csv`` (centre, expert_rating: rated centres only)
    and ``run.json`` (config, metrics, spec) into ``out`` atomically."""
    import json

    from hubindex.outdir import atomic_dir

    out = Path(out)
    names = ["ratings.csv", "sub_ratings.csv", "indicator.csv", "run.json"]
    with atomic_dir(out, "survey assess") as tmp:
        result.ratings.reset_index().to_csv(tmp / names[0], index=False, float_format="%.10g")
        result.sub_ratings.to_csv(tmp / names[1], index=False, float_format="%.10g")
        result.indicator().reset_index().to_csv(tmp / names[2], index=False, float_format="%.10g")
        run = {
            "method": "open reconstruction of the GFCI assessment model (hubindex.survey.expert)",
            "simulated_input": bool(result.metrics.get("simulated_input", False)),
            "reference_date": str(result.reference_date.date()),
            "config": result.config.model_dump(mode="json"),
            "metrics": dict(result.metrics),
            "spec": None if spec is None else spec.model_dump(mode="json"),
        }
        (tmp / names[3]).write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    return [out / n for n in names]
