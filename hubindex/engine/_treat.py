"""Outlier treatment: COINr's default rule exactly, plus quantile winsorisation, log transforms and Box-Cox.

References: COINr ``Treat()`` / ``winsorise()`` (1.1.14), described in ``shared/data/asem/COINR_DEFAULTS.md``;
OECD/JRC Handbook on Constructing Composite Indicators (2008), §1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from hubindex.engine._stats import kurtosis, skewness
from hubindex.errors import ComputeError

__all__ = ["TreatOutcome", "coinr_default_treat", "winsorise", "log_transform", "box_cox", "treat_columns",
           "passes_outlier_check"]


@dataclass(frozen=True)
class TreatOutcome:
    """What was done to one indicator column."""

    values: np.ndarray
    flags: np.ndarray  # '' | 'winhi' | 'winlo' | 'log_CT' | 'boxcox'
    method: str  # 'none' | 'winsorise' | 'log' | 'boxcox' | 'untreated'
    n_winsorised: int
    skew_before: float
    kurt_before: float
    skew_after: float
    kurt_after: float
    passed_before: bool
    passed_after: bool
    note: str = ""


def passes_outlier_check(skew: float, kurt: float, skew_thresh: float = 2.0, kurt_thresh: float = 3.5) -> bool:
    """COINr's check: passes if |skew| < skew_thresh OR kurt < kurt_thresh (strict); NaN never passes."""
    return bool(abs(skew) < skew_thresh or kurt < kurt_thresh)


def _sk(v: np.ndarray) -> tuple[float, float]:
    return float(skewness(v)), float(kurtosis(v))


def coinr_default_treat(x: np.ndarray, winmax: int = 5, skew_thresh: float = 2.0,
                        kurt_thresh: float = 3.5) -> TreatOutcome:
    """COINr's default outlier rule on one column (missing values stay missing and are ignored).

    1. Check: pass if |G1| < skew_thresh or G2 < kurt_thresh (type-2 skewness G1, excess kurtosis G2).
    2. If it fails, winsorise while it fails and fewer than ``winmax`` points were moved: on the side of the
       current skew's sign (≥ 0: high), set every value equal to the current extreme to the next distinct value.
       Points already moved tie with the new extreme and move again. Count = |high set| + |low set|.
    3. If it still fails, discard the winsorisation and log-transform the ORIGINAL values:
       x' = ln(x − min + 0.01·(max − min)); kept whether or not it then passes. Flags: 'winhi'/'winlo'/'log_CT'.
    Degenerate: if skew is undefined, or kurtosis is undefined while |skew| ≥ threshold, return untreated.
    """
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    v0 = x[ok]
    flags = np.full(x.shape, "", dtype=object)
    s0, k0 = _sk(v0)

    def out(values: np.ndarray, method: str, nwin: int, fl: np.ndarray, note: str = "") -> TreatOutcome:
        s1, k1 = _sk(values[~np.isnan(values)])
        return TreatOutcome(values, fl, method, nwin, s0, k0, s1, k1, passed0,
                            _passes_or_nan(s1, k1), note)

    def _passes_or_nan(s: float, k: float) -> bool:
        return passes_outlier_check(s, k, skew_thresh, kurt_thresh)

    if np.isnan(s0) or (np.isnan(k0) and not abs(s0) < skew_thresh):
        passed0 = False
        return out(x.copy(), "untreated", 0, flags, "skewness/kurtosis undefined (too few values or zero variance)")
    passed0 = _passes_or_nan(s0, k0)
    if passed0:
        return out(x.copy(), "none", 0, flags)

    v = v0.copy()
    hi = np.zeros(v.size, dtype=bool)
    lo = np.zeros(v.size, dtype=bool)
    while True:
        s, k = _sk(v)
        if _passes_or_nan(s, k) or hi.sum() + lo.sum() >= winmax:
            break
        if s >= 0:
            top = v.max()
            below = v[v < top]
            if below.size == 0:
                break
            at = v == top
            v[at] = below.max()
            hi |= at
        else:
            bot = v.min()
            above = v[v > bot]
            if above.size == 0:
                break
            at = v == bot
            v[at] = above.min()
            lo |= at
    s, k = _sk(v)
    if _passes_or_nan(s, k):
        values = x.copy()
        values[ok] = v
        f = np.full(v.size, "", dtype=object)
        f[hi] = "winhi"
        f[lo] = "winlo"
        flags[ok] = f
        return out(values, "winsorise", int(hi.sum() + lo.sum()), flags)
    lv = np.log(v0 - v0.min() + 0.01 * (v0.max() - v0.min()))
    values = x.copy()
    values[ok] = lv
    flags[ok] = "log_CT"
    return out(values, "log", 0, flags, f"winsorisation limit {winmax} reached; log of original values")


def winsorise(x: np.ndarray, lower: float | None = 0.05, upper: float | None = 0.95) -> TreatOutcome:
    """Clip at quantiles: x' = min(max(x, q_lower), q_upper), quantiles of non-missing values (numpy 'linear',
    R type 7). ``None`` leaves that side alone. Flags 'winlo'/'winhi' where a value moved."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    v = x[ok]
    s0, k0 = _sk(v)
    lo = np.quantile(v, lower) if lower is not None and v.size else -np.inf
    hi = np.quantile(v, upper) if upper is not None and v.size else np.inf
    vals = x.copy()
    vals[ok] = np.clip(v, lo, hi)
    flags = np.full(x.shape, "", dtype=object)
    flags[ok & (x < lo)] = "winlo"
    flags[ok & (x > hi)] = "winhi"
    s1, k1 = _sk(vals[ok])
    n = int((flags != "").sum())
    return TreatOutcome(vals, flags, "winsorise", n, s0, k0, s1, k1, passes_outlier_check(s0, k0),
                        passes_outlier_check(s1, k1), f"quantiles [{lower}, {upper}] = [{lo:g}, {hi:g}]")


def log_transform(x: np.ndarray, kind: Literal["ln", "log10", "ln_shift"] = "ln_shift") -> TreatOutcome:
    """Log transforms: 'ln' x' = ln x and 'log10' x' = log10 x (need x > 0); 'ln_shift' is COINr's
    x' = ln(x − min + 0.01·(max − min)), defined for any values and order-preserving."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    v = x[ok]
    s0, k0 = _sk(v)
    if kind in ("ln", "log10"):
        if np.any(v <= 0):
            raise ComputeError(f"log transform '{kind}' needs values > 0; the smallest is {v.min():g} "
                               "(use log_kind: ln_shift)")
        lv = np.log(v) if kind == "ln" else np.log10(v)
    elif kind == "ln_shift":
        lv = np.log(v - v.min() + 0.01 * (v.max() - v.min()))
    else:
        raise ComputeError(f"unknown log kind '{kind}'; expected ln, log10 or ln_shift")
    vals = x.copy()
    vals[ok] = lv
    flags = np.where(ok, "log_CT", "").astype(object)
    s1, k1 = _sk(lv)
    return TreatOutcome(vals, flags, "log", 0, s0, k0, s1, k1, passes_outlier_check(s0, k0),
                        passes_outlier_check(s1, k1), kind)


def box_cox(x: np.ndarray, lmbda: float | None = None) -> TreatOutcome:
    """Box-Cox: x' = (x^λ − 1)/λ (λ ≠ 0), ln x (λ = 0), on x > 0; if min ≤ 0 the data are first shifted by
    x − min + 1. λ by maximum likelihood (scipy.stats.boxcox) when not given."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    v = x[ok]
    s0, k0 = _sk(v)
    shift = 0.0
    if v.size and v.min() <= 0:
        shift = 1 - v.min()
    w = v + shift
    if lmbda is None:
        if np.ptp(w) == 0:
            raise ComputeError("Box-Cox needs a non-constant indicator to estimate lambda")
        t, lam = sps.boxcox(w)
    else:
        lam = float(lmbda)
        t = sps.boxcox(w, lmbda=lam)
    vals = x.copy()
    vals[ok] = t
    flags = np.where(ok, "boxcox", "").astype(object)
    s1, k1 = _sk(t)
    return TreatOutcome(vals, flags, "boxcox", 0, s0, k0, s1, k1, passes_outlier_check(s0, k0),
                        passes_outlier_check(s1, k1), f"lambda={float(lam):.6g}, shift={shift:g}")


def treat_columns(X: np.ndarray, method: str = "coinr", **params: Any
                  ) -> tuple[np.ndarray, np.ndarray, list[TreatOutcome]]:
    """Apply one treatment to every column. Returns (values, flags, outcomes); NaN stays NaN."""
    X = np.asarray(X, dtype=float)
    outs: list[TreatOutcome] = []
    for j in range(X.shape[1]):
        col = X[:, j]
        if method == "coinr":
            o = coinr_default_treat(col, **params)
        elif method == "winsorise":
            o = winsorise(col, **params)
        elif method == "log":
            o = log_transform(col, **params)
        elif method == "boxcox":
            o = box_cox(col, **params)
        elif method == "none":
            s, k = _sk(col[~np.isnan(col)])
            p = passes_outlier_check(s, k)
            o = TreatOutcome(col.copy(), np.full(col.shape, "", dtype=object), "none", 0, s, k, s, k, p, p)
        else:
            raise ComputeError(f"unknown treatment '{method}'; expected coinr, winsorise, log, boxcox or none")
        outs.append(o)
    vals = np.column_stack([o.values for o in outs]) if outs else X.copy()
    flags = np.column_stack([o.flags for o in outs]) if outs else np.full(X.shape, "", dtype=object)
    return vals, flags, outs
