"""Outlier treatment: COINr's default rule exactly, plus quantile winsorisation, log transforms and Box-Cox.

References: COINr ``Treat()`` / ``winsorise()`` (1.1.14), described in ``shared/data/asem/COINR_DEFAULTS.md``;
OECD/JRC Handbook on Constructing Composite Indicators (2008), §1.5.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from hubindex.engine._stats import _g1, _g2, power_sums, skew_kurt, skew_kurt_from_sums
from hubindex.errors import ComputeError

__all__ = ["TreatOutcome", "coinr_default_treat", "coinr_treat_matrix", "winsorise", "log_transform", "box_cox", "treat_columns",
           "passes_outlier_check", "FLAG_LABELS", "flag_labels", "treat_columns_coded"]

FLAG_LABELS: tuple[str, ...] = ("", "winhi", "winlo", "log_CT", "boxcox")
"""Every treatment flag; code c (uint8) in a coded flag matrix stands for FLAG_LABELS[c] (0: not treated)."""
_CODE = {lab: np.uint8(c) for c, lab in enumerate(FLAG_LABELS)}


def flag_labels(codes: np.ndarray) -> np.ndarray:
    """Object array of flag strings: FLAG_LABELS[codes], built as '' everywhere and the labels set only where
    a code is non-zero (much cheaper than a per-cell lookup on large matrices)."""
    codes = np.asarray(codes)
    out = np.empty(codes.shape, dtype=object)
    out.fill("")
    nz = codes != 0
    if nz.any():
        for c in np.unique(codes[nz]):
            if c >= len(FLAG_LABELS):
                raise ComputeError(f"unknown treatment flag code {int(c)}")
            out[codes == c] = FLAG_LABELS[c]
    return out


def _flag_codes(flags: np.ndarray) -> np.ndarray:
    """Inverse of ``flag_labels``: uint8 codes of an object array of flag strings."""
    flags = np.asarray(flags, dtype=object)
    codes = np.zeros(flags.shape, dtype=np.uint8)
    marked = flags != ""
    if not marked.any():
        return codes
    for lab, c in _CODE.items():
        if lab:
            codes[marked & (flags == lab)] = c
    unknown = marked & (codes == 0)
    if unknown.any():
        raise ComputeError(f"unknown treatment flag {flags[unknown][0]!r}; expected one of {FLAG_LABELS[1:]}")
    return codes


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
    s, k = skew_kurt(v)
    return float(s), float(k)


def _passes(s: np.ndarray, k: np.ndarray, skew_thresh: float, kurt_thresh: float) -> np.ndarray:
    """Vectorised ``passes_outlier_check``: |s| < skew_thresh or k < kurt_thresh; NaN never passes."""
    with np.errstate(invalid="ignore"):
        return (np.abs(s) < skew_thresh) | (k < kurt_thresh)


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
    if x.ndim != 1:
        raise ComputeError(f"coinr_default_treat treats one column (1-D), got shape {x.shape}")
    return coinr_treat_matrix(x[:, None], winmax, skew_thresh, kurt_thresh)[0]


def _winsorise_full(V: np.ndarray, hi: np.ndarray, lo: np.ndarray, active: np.ndarray, winmax: int,
                    skew_thresh: float, kurt_thresh: float) -> None:
    """COINr's winsorisation loop on the columns ``active`` of V, in place, with full passes over the columns."""
    while active.size:
        A = V[:, active]
        s, k = skew_kurt(A)
        count = hi[:, active].sum(0) + lo[:, active].sum(0)
        go = ~_passes(s, k, skew_thresh, kurt_thresh) & (count < winmax)
        A, s, cols = A[:, go], s[go], active[go]
        if not cols.size:
            break
        up = s >= 0
        # high side: the current max and the largest value below it; low side: min and the next value above
        with np.errstate(invalid="ignore"):
            F = np.where(up, A, -A)  # flip low-side columns so both become "move the max down"
        top = np.nanmax(F, axis=0)
        below = np.where(F < top, F, -np.inf).max(axis=0)
        movable = np.isfinite(below)  # a column whose values are all equal stops
        at = (F == top) & movable
        F = np.where(at, below, F)
        V[:, cols] = np.where(up, F, -F)
        hi[:, cols] |= at & up
        lo[:, cols] |= at & ~up
        active = cols[movable]


def _tail_levels(F: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of each column's top tail, descending, and their counts in the whole column.

    Returns dv (K + 1, p): dv[0] > dv[1] > ... > dv[q−1] are the distinct values among the K largest, dv[q] the
    largest value below them (−inf if none), NaN after; cnt (K + 1, p): how many points hold each dv[i], i < q.
    F has no NaN (missing → −inf).
    """
    n, p = F.shape
    T = -np.sort(-np.partition(F, n - K, axis=0)[n - K:], axis=0)  # the K largest, descending
    dv = np.full((K + 1, p), np.nan)
    cnt = np.zeros((K + 1, p))
    q = np.zeros(p, dtype=np.int64)
    cols = np.arange(p)
    for i in range(K):  # a loop over the K tail positions, vectorised over columns
        new = np.ones(p, dtype=bool) if i == 0 else T[i] != T[i - 1]
        q = q + new
        dv[q - 1, cols] = T[i]
        cnt[q - 1, cols] += 1
    last = T[K - 1]  # its ties may reach beyond the tail: count them in the whole column
    cnt[q - 1, cols] = (F == last).sum(0)
    dv[q, cols] = np.where(F < last, F, -np.inf).max(0)
    return dv, cnt


def _winsorise_tails(X: np.ndarray, winmax: int, skew_thresh: float, kurt_thresh: float,
                     sums: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """COINr's winsorisation loop for many long columns, without a full pass per step.

    A step only moves points of the top (or bottom) ``winmax`` + 1 distinct values, so each column's two tails
    are extracted once (``np.partition``) and the moments after a step come from the power sums about the
    original mean, S_r = Σ(x − c)^r, corrected for the moved points: with δ = S1/n,
    m2 = S2/n − δ², m3 = S3/n − 3δS2/n + 2δ³, m4 = S4/n − 4δS3/n + 6δ²S2/n − 3δ⁴.
    Only columns whose two tails are disjoint are handled (``done``); the others go to ``_winsorise_full``.
    ``sums``: (c, S) of X from ``power_sums`` when the caller has them already.
    """
    n, p = X.shape
    K = winmax + 1
    if sums is None:
        nn, c, S, ok = power_sums(X)
    else:
        c, S = sums
        ok = ~np.isnan(X)
        nn = ok.sum(0).astype(float)
    dvh, cnth = _tail_levels(np.where(ok, X, -np.inf), K)
    dvl, cntl = _tail_levels(np.where(ok, -X, -np.inf), K)
    dvl = -dvl
    qh = (~np.isnan(dvh)).sum(0) - 1  # index of "next value below the tail"
    ql = (~np.isnan(dvl)).sum(0) - 1
    cols = np.arange(p)
    # disjoint tails: everything the high side may touch lies above everything the low side may touch
    done = dvh[qh, cols] > dvl[ql, cols]
    if not done.any():
        return None
    X, S, nn, c = X[:, done], S[:, done], nn[done], c[done]
    dvh, cnth, dvl, cntl, qh, ql = dvh[:, done], cnth[:, done], dvl[:, done], cntl[:, done], qh[done], ql[done]
    p = int(done.sum())
    cols = np.arange(p)
    rows = np.arange(K + 1)[:, None]
    h = np.zeros(p, dtype=np.int64)  # high-side level: points at dv[0..h−1] now sit at dv[h]
    lv = np.zeros(p, dtype=np.int64)
    pw = np.arange(1, 5)[:, None]

    def moments(h: np.ndarray, lv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Sc = S.copy()
        for dv, cnt, lev in ((dvh, cnth, h), (dvl, cntl, lv)):
            moved = (rows < lev) & (cnt > 0)
            to = dv[lev, cols] - c
            fr = np.where(moved, dv - c, 0.0)
            cm = np.where(moved, cnt, 0.0)
            for r in range(4):
                Sc[r] += (cm * (to ** pw[r] - fr ** pw[r])).sum(0)
        dl = Sc[0] / nn
        a2, a3, a4 = Sc[1] / nn, Sc[2] / nn, Sc[3] / nn
        m2 = a2 - dl**2
        m3 = a3 - 3 * dl * a2 + 2 * dl**3
        m4 = a4 - 4 * dl * a3 + 6 * dl**2 * a2 - 3 * dl**4
        return m2, m3, m4

    def count(dv: np.ndarray, cnt: np.ndarray, lev: np.ndarray) -> np.ndarray:
        return np.where(rows < lev, cnt, 0.0).sum(0)

    active = np.ones(p, dtype=bool)
    for _ in range(2 * K + 2):  # each step raises one level; the count limit stops it within K steps a side
        m2, m3, m4 = moments(h, lv)
        s, k = _g1(nn, m2, m3), _g2(nn, m2, m4)
        total = count(dvh, cnth, h) + count(dvl, cntl, lv)
        active &= ~_passes(s, k, skew_thresh, kurt_thresh) & (total < winmax)
        if not active.any():
            break
        up = active & (s >= 0)
        down = active & ~(s >= 0)
        can_up = up & np.isfinite(dvh[np.minimum(h + 1, K), cols]) & (h + 1 <= qh)
        can_dn = down & np.isfinite(dvl[np.minimum(lv + 1, K), cols]) & (lv + 1 <= ql)
        active &= can_up | can_dn
        h = h + can_up
        lv = lv + can_dn
    # apply: points with original value ≥ dv_h[h−1] go to dv_h[h]; ≤ dv_l[lv−1] go to dv_l[lv]
    thr_h = np.where(h > 0, dvh[np.maximum(h - 1, 0), cols], np.inf)
    thr_l = np.where(lv > 0, dvl[np.maximum(lv - 1, 0), cols], -np.inf)
    with np.errstate(invalid="ignore"):
        HI = X >= thr_h
        LO = X <= thr_l
    V = np.where(HI, dvh[h, cols], np.where(LO, dvl[lv, cols], X))
    return done, V, HI, LO


def coinr_treat_matrix(X: np.ndarray, winmax: int = 5, skew_thresh: float = 2.0,
                       kurt_thresh: float = 3.5) -> list[TreatOutcome]:
    """``coinr_default_treat`` on every column of X at once (one outcome per column, identical results).

    Vectorised over columns: long columns use ``_winsorise_tails`` (no full pass per step), the others a loop
    of full vectorised passes over all still-failing columns together (at most ``winmax`` + 1 rounds).
    """
    return _coinr_arrays(X, winmax, skew_thresh, kurt_thresh)[2]


def _coinr_arrays(X: np.ndarray, winmax: int = 5, skew_thresh: float = 2.0, kurt_thresh: float = 3.5, *,
                  coded: bool = False) -> tuple[np.ndarray, np.ndarray, list[TreatOutcome]]:
    """``coinr_treat_matrix`` returning also the treated values and flags as (units, indicators) matrices.

    With ``coded`` the flags (the matrix and each outcome's ``flags``) are uint8 codes into ``FLAG_LABELS``.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ComputeError(f"treatment needs a (units, indicators) matrix, got shape {X.shape}")
    if winmax < 0:
        raise ComputeError(f"winmax must be >= 0, got {winmax}")
    n, p = X.shape
    # column sums of an F-ordered X do not depend on the other columns (each column is one contiguous
    # reduction), so the power sums of X serve the winsorisation of any subset of columns too
    share = X.flags.f_contiguous
    if share:
        nn0, c0, S0, ok = power_sums(X)
        s0, k0 = skew_kurt_from_sums(nn0, S0)
    else:
        ok = ~np.isnan(X)
        s0, k0 = skew_kurt(X)
    with np.errstate(invalid="ignore"):
        degenerate = np.isnan(s0) | (np.isnan(k0) & ~(np.abs(s0) < skew_thresh))
    passed0 = _passes(s0, k0, skew_thresh, kurt_thresh) & ~degenerate
    V = X.copy()
    hi = np.zeros(X.shape, dtype=bool)
    lo = np.zeros(X.shape, dtype=bool)
    todo = np.flatnonzero(~degenerate & ~passed0)  # columns that enter the winsorisation loop
    n_ok = ok.sum(0)
    K = winmax + 1
    big = todo[n_ok[todo] >= 4 * K + 4]
    fast = (_winsorise_tails(X[:, big], winmax, skew_thresh, kurt_thresh,
                             sums=(c0[big], S0[:, big]) if share else None) if big.size else None)
    if fast is not None:
        done, Vb, hib, lob = fast
        V[:, big[done]], hi[:, big[done]], lo[:, big[done]] = Vb, hib, lob
        todo = np.setdiff1d(todo, big[done])
    _winsorise_full(V, hi, lo, todo, winmax, skew_thresh, kurt_thresh)
    s1, k1 = skew_kurt(V)
    win_ok = _passes(s1, k1, skew_thresh, kurt_thresh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mn, mx = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        L = np.log(X - mn + 0.01 * (mx - mn))
    sl, kl = skew_kurt(L)
    s0, k0, s1, k1, sl, kl = (np.atleast_1d(a).astype(float).tolist() for a in (s0, k0, s1, k1, sl, kl))
    use_log = ~degenerate & ~passed0 & ~win_ok
    use_win = ~degenerate & ~passed0 & win_ok
    out = np.where(use_log, L, np.where(use_win, V, X))
    codes = np.zeros(X.shape, dtype=np.uint8)  # indices into FLAG_LABELS
    codes[hi & use_win] = _CODE["winhi"]
    codes[lo & use_win] = _CODE["winlo"]
    codes[ok & use_log] = _CODE["log_CT"]
    flags = codes if coded else flag_labels(codes)
    nwin = (hi | lo).sum(0)
    outs: list[TreatOutcome] = []
    for j in range(p):  # per-column outcomes are views into the result matrices (no work over units here)
        vals, fl = out[:, j], flags[:, j]
        if degenerate[j]:
            outs.append(TreatOutcome(vals, fl, "untreated", 0, s0[j], k0[j], s0[j], k0[j], False, False,
                                     "skewness/kurtosis undefined (too few values or zero variance)"))
        elif passed0[j]:
            outs.append(TreatOutcome(vals, fl, "none", 0, s0[j], k0[j], s0[j], k0[j], True, True))
        elif use_win[j]:
            outs.append(TreatOutcome(vals, fl, "winsorise", int(nwin[j]), s0[j], k0[j], s1[j], k1[j], False, True))
        else:
            outs.append(TreatOutcome(vals, fl, "log", 0, s0[j], k0[j], sl[j], kl[j], False,
                                     bool(_passes(sl[j], kl[j], skew_thresh, kurt_thresh)),
                                     f"winsorisation limit {winmax} reached; log of original values"))
    return out, flags, outs


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


def treat_columns_coded(X: np.ndarray, method: str = "coinr", **params: Any
                        ) -> tuple[np.ndarray, np.ndarray, list[TreatOutcome]]:
    """``treat_columns`` with the flag matrix as uint8 codes into ``FLAG_LABELS`` (no per-cell strings: the
    pipeline keeps codes and turns them into labels once, in ``flag_labels``). For ``coinr`` the outcomes'
    ``flags`` are codes too; for the other methods they are the per-column strings."""
    X = np.asarray(X, dtype=float)
    if method == "coinr":
        if X.ndim != 2:
            raise ComputeError(f"treatment needs a (units, indicators) matrix, got shape {X.shape}")
        return _coinr_arrays(X, **params, coded=True)
    vals, flags, outs = treat_columns(X, method, **params)
    codes = np.zeros(flags.shape, dtype=np.uint8) if method == "none" else _flag_codes(flags)
    return vals, codes, outs


def treat_columns(X: np.ndarray, method: str = "coinr", **params: Any
                  ) -> tuple[np.ndarray, np.ndarray, list[TreatOutcome]]:
    """Apply one treatment to every column. Returns (values, flags, outcomes); NaN stays NaN."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ComputeError(f"treatment needs a (units, indicators) matrix, got shape {X.shape}")
    if method == "coinr":
        return _coinr_arrays(X, **params)
    outs: list[TreatOutcome] = []
    for j in range(X.shape[1]):
        col = X[:, j]
        if method == "winsorise":
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
