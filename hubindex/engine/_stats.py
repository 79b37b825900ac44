"""Moment statistics with COINr's definitions (bias-adjusted "type 2", as Excel's SKEW and KURT)."""

from __future__ import annotations

import numpy as np

__all__ = ["skewness", "kurtosis"]


def _moments(X: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    ok = ~np.isnan(X)
    n = ok.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, X, 0).sum(axis=axis, keepdims=True) / n
        d = np.where(ok, X - mean, 0.0)
        m2 = (d**2).sum(axis=axis) / n.squeeze(axis)
        m3 = (d**3).sum(axis=axis) / n.squeeze(axis)
        m4 = (d**4).sum(axis=axis) / n.squeeze(axis)
    return n.squeeze(axis).astype(float), m2, m3, m4


def skewness(X: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bias-adjusted sample skewness over non-missing values.

    g1 = (Σd³/n) / (Σd²/n)^{3/2}, G1 = g1·√(n(n−1))/(n−2), with d = x − mean(x).
    NaN when n < 3 or the variance is zero. Same as Excel SKEW, scipy ``skew(bias=False)`` and COINr.
    """
    n, m2, m3, _ = _moments(X, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        g1 = m3 / m2**1.5
        out = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    out = np.where((n < 3) | (m2 <= 0), np.nan, out)
    return out if np.ndim(out) else float(out)  # type: ignore[return-value]


def kurtosis(X: np.ndarray, axis: int = 0) -> np.ndarray:
    """Bias-adjusted sample excess kurtosis over non-missing values.

    r = (Σd⁴/n) / (Σd²/n)², G2 = ((n+1)(r−3) + 6)(n−1)/((n−2)(n−3)).
    NaN when n < 4 or the variance is zero. Same as Excel KURT, scipy ``kurtosis(bias=False)`` and COINr.
    """
    n, m2, _, m4 = _moments(X, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = m4 / m2**2
        out = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    out = np.where((n < 4) | (m2 <= 0), np.nan, out)
    return out if np.ndim(out) else float(out)  # type: ignore[return-value]
