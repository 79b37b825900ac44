"""Moment statistics with COINr's definitions (bias-adjusted "type 2", as Excel's SKEW and KURT)."""

from __future__ import annotations

import numpy as np

from hubindex.engine import _parallel
from hubindex.engine._parallel import over_chunks

__all__ = ["skewness", "kurtosis", "skew_kurt", "skew_kurt_from_sums"]


def _moments(X: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    ok = ~np.isnan(X)
    n = ok.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, X, 0).sum(axis=axis, keepdims=True) / n
        d = np.where(ok, X - mean, 0.0)
        d2 = d * d  # products, not **, which is several times slower for float arrays
        nn = n.squeeze(axis)
        m2 = d2.sum(axis=axis) / nn
        m3 = (d2 * d).sum(axis=axis) / nn
        m4 = (d2 * d2).sum(axis=axis) / nn
    return nn.astype(float), m2, m3, m4


def skew_kurt_from_sums(n: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(skewness, kurtosis) from n and the central power sums S (4, p), S_r = Σ(x − mean)^r (``_treat._col_sums``):
    m_r = S_r/n, then G1 and G2 as in ``skewness``/``kurtosis``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        m2, m3, m4 = S[1] / n, S[2] / n, S[3] / n
    return _g1(n, m2, m3), _g2(n, m2, m4)


def _g1(n: np.ndarray, m2: np.ndarray, m3: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = m3 / m2**1.5 * np.sqrt(n * (n - 1)) / (n - 2)
    return np.where((n < 3) | (m2 <= 0), np.nan, out)


def _g2(n: np.ndarray, m2: np.ndarray, m4: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        r = m4 / m2**2
        out = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return np.where((n < 4) | (m2 <= 0), np.nan, out)


def skew_kurt(X: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(skewness, kurtosis) in one pass over the data; same definitions as ``skewness`` and ``kurtosis``.

    Columns are independent: a large 2-D X (axis 0) is split by columns (≥ 2 each) over threads."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 2 and axis in (0, -2) and X.size >= _parallel.PARALLEL_MIN:
        s, k = np.empty(X.shape[1]), np.empty(X.shape[1])

        def part(sl: slice) -> None:
            n, m2, m3, m4 = _moments(X[:, sl], 0)
            s[sl], k[sl] = _g1(n, m2, m3), _g2(n, m2, m4)

        over_chunks(X.shape[1], part, X.size)
        return s, k
    n, m2, m3, m4 = _moments(X, axis)
    return _g1(n, m2, m3), _g2(n, m2, m4)


def skewness(X: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bias-adjusted sample skewness over non-missing values.

    g1 = (Σd³/n) / (Σd²/n)^{3/2}, G1 = g1·√(n(n−1))/(n−2), with d = x − mean(x).
    NaN when n < 3 or the variance is zero. Same as Excel SKEW, scipy ``skew(bias=False)`` and COINr.
    """
    n, m2, m3, _ = _moments(X, axis)
    out = _g1(n, m2, m3)
    return out if np.ndim(out) else float(out)  # type: ignore[return-value]


def kurtosis(X: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bias-adjusted sample excess kurtosis over non-missing values.

    r = (Σd⁴/n) / (Σd²/n)², G2 = ((n+1)(r−3) + 6)(n−1)/((n−2)(n−3)).
    NaN when n < 4 or the variance is zero. Same as Excel KURT, scipy ``kurtosis(bias=False)`` and COINr.
    """
    n, m2, _, m4 = _moments(X, axis)
    out = _g2(n, m2, m4)
    return out if np.ndim(out) else float(out)  # type: ignore[return-value]
