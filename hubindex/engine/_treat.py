"""Outlier treatment: COINr's default rule exactly, plus quantile winsorisation, log transforms and Box-Cox.

References: COINr ``Treat()`` / ``winsorise()`` (1.1.14), described in ``shared/data/asem/COINR_DEFAULTS.md``;
OECD/JRC Handbook on Constructing Composite Indicators (2008), §1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats as sps

from hubindex.engine._parallel import over_chunks
from hubindex.engine._stats import skew_kurt, skew_kurt_from_sums
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


def _col_sums(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """n and the central power sums S (4, c) of each column of an F-ordered X: the arithmetic of ``skew_kurt``
    (so the same bits), with the masks skipped when nothing is missing (where(ok, x, 0) is x)."""
    nan = np.isnan(X)
    if not nan.any():
        nn = np.full(X.shape[1], float(X.shape[0]))
        with np.errstate(invalid="ignore", divide="ignore"):
            d = X - X.sum(axis=0) / nn
    else:
        ok = ~nan
        nn = ok.sum(axis=0).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(ok, X - np.where(ok, X, 0).sum(axis=0) / nn, 0.0)
    d2 = d * d
    S = np.empty((4, X.shape[1]))
    S[0], S[1] = d.sum(0), d2.sum(0)
    d *= d2  # d³ (the same product as d2 * d), then d2² in d2's place
    S[2] = d.sum(0)
    d2 *= d2
    S[3] = d2.sum(0)
    return nn, S


def _skew_kurt_cols(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``skew_kurt`` of each column of an F-ordered X (the same bits), without threads."""
    return skew_kurt_from_sums(*_col_sums(X))


_EPS = float(np.finfo(float).eps)


def _window_levels(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels of each column of W (M, c), sorted from the extreme inwards: lev[i] = index of W[i]'s distinct
    value (0 = the extreme), dv[j] = the j-th distinct value (NaN past the last), q = number of distinct values."""
    M, c = W.shape
    new = np.ones((M, c), dtype=bool)
    new[1:] = W[1:] != W[:-1]
    lev = np.cumsum(new, axis=0) - 1
    dv = np.full((M, c), np.nan)
    dv[lev, np.arange(c)] = W
    return lev, dv, lev[-1] + 1


def _winsorise_tails(X: np.ndarray, winmax: int, skew_thresh: float, kurt_thresh: float, up0: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """COINr's winsorisation loop for long columns (n ≥ 4·winmax + 8, each failing the check), without a pass
    over the column per step, every decision certified against rounding.

    A step only moves points of the top (or bottom) winmax + 1 distinct values, and the loop stops once winmax
    points have moved, so each column is split once (``np.partition``) into its M = winmax + 2 largest values,
    its M smallest, and a core that never moves. With c the core's mean, the power sums about c are
    C_r = Σ_core (x − c)^r (once) plus the 2M window points at their current values, W_r (per step: 2M terms):
    a_r = (C_r + W_r)/n, δ = a_1, m2 = a2 − δ², m3 = a3 − 3δa2 + 2δ³, m4 = a4 − 4δa3 + 6δ²a2 − 3δ⁴.
    Only sums of computed terms: with the core's own mean as centre, δ² ≤ (2M/n)·a2 (Cauchy-Schwarz), so no
    catastrophic cancellation (the guard δ² ≤ a2/4 is checked). Rounding bound, from summation errors of at most
    γ0 = (140 + log2 n)·ε relative to Σ|terms|, taken 16 times larger (γ): with B3 = √(a2·a4) ≥ Σ|x − c|³/n,
    |Δg1| ≤ E1 = 16γ(B3/a2^1.5 + 10 + |g1|), |Δ(m4/m2²)| ≤ E2 = 16γ(a4/a2² + 8·B3/a2^1.5 + 30 + m4/m2²),
    scaled by G1's and G2's factors of n. A decision (fails: |G1| ≥ skew_thresh and G2 ≥ kurt_thresh) is taken
    only when both statistics are further than their bound from the thresholds that decide it — then the exact
    two-pass statistics of ``skew_kurt`` (whose own error is within the same bound) decide the same way.

    Returns (status, h, l, dvh, dvl): status per column 1 = passes after winsorising, 2 = still fails when the
    loop stops (winmax points moved), 0 = not certain (a decision within its bound, ties reaching beyond the
    window, the two windows overlapping): those columns go to the exact loop, ``_winsorise_full``. h, l: the
    levels reached (points at high levels < h now hold dvh[h]; low likewise); ``up0``: sign of the exact initial
    skewness (≥ 0: high side first).
    """
    n, c = X.shape
    M = winmax + 2
    ok = ~np.isnan(X)
    nn = ok.sum(axis=0)
    top, bot = np.empty((M, c)), np.empty((M, c))
    C = np.empty((4, c))
    cen = np.empty(c)
    for v in np.unique(nn):  # columns with the same number of values share one partition
        cols = np.flatnonzero(nn == v)
        P = X.copy(order="F") if cols.size == c else X[:, cols]  # a copy, partitioned in place (two single selections: much faster than one with two)
        if v < n:  # missing → +inf, after the v values (np.partition does not order NaN reliably)
            P[np.isnan(P)] = np.inf
        P.partition(v - M, axis=0)
        P[:v - M].partition(M - 1, axis=0)
        bot[:, cols] = np.sort(P[:M], axis=0)
        top[:, cols] = np.sort(P[v - M:], axis=0)[M - 1::-1]  # the M largest values, descending (then the +inf)
        core = P[M:v - M]
        cc = core.sum(axis=0) / core.shape[0]
        d = np.subtract(core, cc, out=core)  # P is ours and its windows are copied out: in place from here
        d2 = d * d
        C[0, cols], C[1, cols] = d.sum(0), d2.sum(0)
        d *= d2
        C[2, cols] = d.sum(0)
        d2 *= d2
        C[3, cols] = d2.sum(0)
        cen[cols] = cc
    levh, dvh, qh = _window_levels(top)
    levl, dvl, ql = _window_levels(bot)
    cols = np.arange(c)
    nf = nn.astype(float)
    f1 = np.sqrt(nf * (nf - 1)) / (nf - 2)
    f2 = (nf + 1) * (nf - 1) / ((nf - 2) * (nf - 3))
    gam = 16 * (140 + np.log2(nf)) * _EPS
    status = np.where(top[-1] > bot[-1], -1, 0).astype(np.int8)  # −1: running; overlapping windows: 0
    h = np.zeros(c, dtype=np.int64)
    lv = np.zeros(c, dtype=np.int64)
    for it in range(winmax + 2):  # each step moves ≥ 1 point; at winmax moved the loop stops
        run = status < 0
        if not run.any():
            break
        moved = (levh < h).sum(0) + (levl < lv).sum(0)
        if it == 0:  # the exact check failed (the caller's): no estimate needed
            fail, sure, up = np.ones(c, dtype=bool), np.ones(c, dtype=bool), up0
        else:
            ch = np.where(levh < h, dvh[h, cols], top) - cen
            cl = np.where(levl < lv, dvl[lv, cols], bot) - cen
            a = [(C[r] + (ch ** (r + 1)).sum(0) + (cl ** (r + 1)).sum(0)) / nf for r in range(4)]
            dl, a2, a3, a4 = a
            b3 = np.sqrt(a2 * a4)  # ≥ Σ|x − c|³/n (Cauchy-Schwarz)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                m2 = a2 - dl**2
                m3 = a3 - 3 * dl * a2 + 2 * dl**3
                m4 = a4 - 4 * dl * a3 + 6 * dl**2 * a2 - 3 * dl**4
                g1, r = m3 / m2**1.5, m4 / m2**2
                G1, G2 = g1 * f1, ((nf + 1) * (r - 3) + 6) * (nf - 1) / ((nf - 2) * (nf - 3))
                E1 = 16 * gam * (b3 / a2**1.5 + 10 + np.abs(g1)) * f1
                E2 = 16 * gam * (a4 / a2**2 + 8 * b3 / a2**1.5 + 30 + np.abs(r)) * f2
                big_s, small_s = np.abs(G1) - skew_thresh > E1, skew_thresh - np.abs(G1) > E1
                big_k, small_k = G2 - kurt_thresh > E2, kurt_thresh - G2 > E2
            fail = big_s & big_k
            sure = (fail | small_s | small_k) & (dl**2 <= a2 / 4) & np.isfinite(G1) & np.isfinite(G2) & (m2 > 0)
            up = G1 >= 0
        status[run & ~sure] = 0
        status[run & sure & ~fail] = 1
        go = run & sure & fail
        status[go & (moved >= winmax)] = 2
        go &= moved < winmax
        step_up, step_dn = go & up & (h + 2 <= qh), go & ~up & (lv + 2 <= ql)
        status[go & ~(step_up | step_dn)] = 0  # the next level would lie beyond the window (or nothing moves)
        h += step_up
        lv += step_dn
    status[status < 0] = 0
    return status, h, lv, dvh, dvl


def coinr_treat_matrix(X: np.ndarray, winmax: int = 5, skew_thresh: float = 2.0,
                       kurt_thresh: float = 3.5) -> list[TreatOutcome]:
    """``coinr_default_treat`` on every column of X at once (one outcome per column, identical results).

    Vectorised over columns, in blocks (``_coinr_arrays``): long columns use ``_winsorise_tails`` (no full pass
    per step), the others a loop of full vectorised passes over all still-failing columns together (at most
    ``winmax`` + 1 rounds).
    """
    return _coinr_arrays(X, winmax, skew_thresh, kurt_thresh)[2]


_BLOCK = 1 << 17
"""Cells per block of columns treated together: a block's copies and temporaries stay in the CPU cache."""
_TAILS_MIN_N = 256
"""Columns with fewer values take the plain loop: on short columns its few full passes cost less than the
tails' fixed per-step overhead (measured: 51 × 49 ASEM 0.56 vs 0.80 ms; 1,000 rows 5.7 vs 2.7 ms)."""


def _treat_block(X: np.ndarray, out: np.ndarray, codes: np.ndarray, st: np.ndarray, winmax: int,
                 skew_thresh: float, kurt_thresh: float) -> None:
    """COINr's rule on the columns of X (F-ordered), written into out, codes (FLAG_LABELS indices) and the
    per-column table st (6, c): skew/kurt before, skew/kurt after, n winsorised, kind (0 untreated (degenerate),
    1 none, 2 winsorise, 3 log)."""
    nn, S = _col_sums(X)
    s0, k0 = skew_kurt_from_sums(nn, S)
    with np.errstate(invalid="ignore"):
        degenerate = np.isnan(s0) | (np.isnan(k0) & ~(np.abs(s0) < skew_thresh))
    passed0 = _passes(s0, k0, skew_thresh, kurt_thresh) & ~degenerate
    kind = np.where(degenerate, 0, np.where(passed0, 1, 2))
    st[0], st[1], st[2], st[3], st[4] = s0, k0, s0, k0, 0
    todo = np.flatnonzero(kind == 2)
    keep = np.flatnonzero(kind != 2)
    if keep.size == kind.size:
        out[...] = X
    elif keep.size:
        out[:, keep] = X[:, keep]
    if todo.size:
        # the rounding bound of the tails path counts on windows of ≤ 130 points (winmax ≤ 128)
        big = todo[nn[todo] >= max(4 * winmax + 8, _TAILS_MIN_N)] if winmax <= 128 else todo[:0]
        exact = np.setdiff1d(todo, big)
        win = np.zeros(0, dtype=np.int64)  # columns kept winsorised (certain), with their values in V
        if big.size:
            status, h, lv, dvh, dvl = _winsorise_tails(X[:, big], winmax, skew_thresh, kurt_thresh,
                                                       s0[big] >= 0)
            exact = np.union1d(exact, big[status == 0])
            kind[big[status == 2]] = 3
            ok1 = status == 1
            win = big[ok1]
            if win.size:
                w = np.arange(win.size)
                hh, ll = h[ok1], lv[ok1]
                thr_h = np.where(hh > 0, dvh[:, ok1][np.maximum(hh - 1, 0), w], np.inf)
                thr_l = np.where(ll > 0, dvl[:, ok1][np.maximum(ll - 1, 0), w], -np.inf)
                A = X[:, win]
                with np.errstate(invalid="ignore"):
                    HI, LO = A >= thr_h, A <= thr_l
                V = np.where(HI, dvh[:, ok1][hh, w], np.where(LO, dvl[:, ok1][ll, w], A))
                s1, k1 = _skew_kurt_cols(V)
                held = _passes(s1, k1, skew_thresh, kurt_thresh)  # certified: always; never trust a bound blindly
                exact = np.union1d(exact, win[~held])
                win, V, HI, LO, s1, k1 = win[held], V[:, held], HI[:, held], LO[:, held], s1[held], k1[held]
                out[:, win] = V
                codes[:, win] = np.where(HI, _CODE["winhi"], np.where(LO, _CODE["winlo"], 0))
                st[2, win], st[3, win], st[4, win] = s1, k1, HI.sum(0) + LO.sum(0)
        if exact.size:
            V = np.asfortranarray(X[:, exact])
            hi, lo = np.zeros(V.shape, dtype=bool), np.zeros(V.shape, dtype=bool)
            _winsorise_full(V, hi, lo, np.arange(exact.size), winmax, skew_thresh, kurt_thresh)
            s1, k1 = _skew_kurt_cols(V)
            held = _passes(s1, k1, skew_thresh, kurt_thresh)
            e = exact[held]
            out[:, e] = V[:, held]
            codes[:, e] = np.where(hi[:, held], _CODE["winhi"], np.where(lo[:, held], _CODE["winlo"], 0))
            st[2, e], st[3, e], st[4, e] = s1[held], k1[held], (hi | lo)[:, held].sum(0)
            kind[exact[~held]] = 3
        logc = np.flatnonzero(kind == 3)
        if logc.size:
            every = logc.size == kind.size  # the usual case on heavy-tailed data: no gather, log straight into out
            A = X if every else X[:, logc]
            mn, mx = np.fmin.reduce(A, axis=0), np.fmax.reduce(A, axis=0)
            L = A - mn  # x' = ln(x − min + 0.01·(max − min)), the same operations in the same order
            L += 0.01 * (mx - mn)
            with np.errstate(invalid="ignore", divide="ignore"):
                np.log(L, out=out if every else L)
            if every:
                L = out
            else:
                out[:, logc] = L
            miss = np.isnan(A)
            codes[:, logc] = np.where(miss, 0, _CODE["log_CT"]) if miss.any() else _CODE["log_CT"]
            st[2, logc], st[3, logc] = _skew_kurt_cols(L)
    st[5] = kind


def _coinr_arrays(X: np.ndarray, winmax: int = 5, skew_thresh: float = 2.0, kurt_thresh: float = 3.5, *,
                  coded: bool = False) -> tuple[np.ndarray, np.ndarray, list[TreatOutcome]]:
    """``coinr_treat_matrix`` returning also the treated values and flags as (units, indicators) matrices
    (F-ordered: one contiguous column per indicator).

    Column by column in blocks of about ``_BLOCK`` cells (``_treat_block``; blocks split over threads for large
    X): the moments of each column, then — for the columns that fail — the winsorisation loop
    (``_winsorise_tails`` for long columns, ``_winsorise_full`` for short ones and whatever the first cannot
    certify), the moments after, and the log of the columns still failing. Every column's statistics are
    computed on its own contiguous values, so the results do not depend on X's layout, the blocks or threads.
    With ``coded`` the flags (the matrix and each outcome's ``flags``) are uint8 codes into ``FLAG_LABELS``.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ComputeError(f"treatment needs a (units, indicators) matrix, got shape {X.shape}")
    if winmax < 0:
        raise ComputeError(f"winmax must be >= 0, got {winmax}")
    n, p = X.shape
    X = np.asfortranarray(X)
    out = np.empty((n, p), order="F")
    codes = np.zeros((n, p), dtype=np.uint8, order="F")
    st = np.zeros((6, p))
    step = max(1, _BLOCK // max(n, 1))

    def part(sl: slice) -> None:
        for a in range(sl.start, sl.stop, step):
            b = slice(a, min(a + step, sl.stop))
            _treat_block(X[:, b], out[:, b], codes[:, b], st[:, b], winmax, skew_thresh, kurt_thresh)

    over_chunks(p, part, X.size, min_chunk=1)
    flags = codes if coded else flag_labels(codes)
    s0, k0, s1, k1, nwin, kind = (st[i].tolist() for i in range(6))
    outs: list[TreatOutcome] = []
    for j in range(p):  # per-column outcomes are views into the result matrices (no work over units here)
        vals, fl = out[:, j], flags[:, j]
        kj = kind[j]
        if kj == 0:
            outs.append(TreatOutcome(vals, fl, "untreated", 0, s0[j], k0[j], s0[j], k0[j], False, False,
                                     "skewness/kurtosis undefined (too few values or zero variance)"))
        elif kj == 1:
            outs.append(TreatOutcome(vals, fl, "none", 0, s0[j], k0[j], s0[j], k0[j], True, True))
        elif kj == 2:
            outs.append(TreatOutcome(vals, fl, "winsorise", int(nwin[j]), s0[j], k0[j], s1[j], k1[j], False, True))
        else:
            outs.append(TreatOutcome(vals, fl, "log", 0, s0[j], k0[j], s1[j], k1[j], False,
                                     bool(_passes(s1[j], k1[j], skew_thresh, kurt_thresh)),
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
