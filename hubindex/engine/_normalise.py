"""Normalisation, column by column over units (axis −2), NaN ignored and kept. Batched: X is (..., n, p).

X is already multiplied by the indicator direction, except for ``dist_to_target`` and ``goalposts``, which take
raw values and ``direction``. References: COINr ``Normalise()`` and its ``n_*`` functions; OECD/JRC Handbook
(2008) §1.6.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats as sps

from hubindex.errors import ComputeError

__all__ = ["min_max", "z_score", "scaled", "dist_to_max", "dist_to_ref", "dist_to_target", "frac_max",
           "percentile_rank", "rank", "borda", "goalposts", "normalise", "NORMALISERS"]


def _nan(f: Callable[..., np.ndarray], X: np.ndarray, **kw: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(X, axis=-2, keepdims=True, **kw)


def min_max(X: np.ndarray, l: float = 0.0, u: float = 100.0) -> np.ndarray:  # noqa: E741
    """y = l + (x − min)/(max − min)·(u − l) (COINr ``n_minmax``). Zero range → NaN column."""
    return min_max_into(np.asarray(X, dtype=float), l, u, out=None)


def min_max_into(X: np.ndarray, l: float = 0.0, u: float = 100.0, *,  # noqa: E741
                 out: np.ndarray | None) -> np.ndarray:
    """``min_max`` of a float array X written into ``out`` (``out=X``: in place, for a caller that owns X)."""
    if not u > l:
        raise ComputeError(f"min_max needs u > l, got l={l}, u={u}")
    lo, hi = _nan(np.nanmin, X), _nan(np.nanmax, X)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = hi - lo
        pos = r > 0
        y = np.subtract(X, lo, out=out)  # then in place: the same operations, same order as l + (x − lo)/r·(u − l)
        y /= np.where(pos, r, 1)
        y *= u - l
        y += l
    if not pos.all():
        np.copyto(y, np.nan, where=~pos)  # zero range (or all missing): NaN column
    return y


def z_score(X: np.ndarray, m: float = 0.0, s: float = 1.0) -> np.ndarray:
    """y = m + s·(x − mean)/sd, sd with denominator n − 1 (COINr ``n_zscore``). Zero sd → NaN column."""
    X = np.asarray(X, dtype=float)
    mu, sd = _nan(np.nanmean, X), _nan(np.nanstd, X, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, m + s * (X - mu) / np.where(sd > 0, sd, 1), np.nan)


def scaled(X: np.ndarray, centre: float = 0.0, spread: float = 1.0) -> np.ndarray:
    """y = (x − centre)/spread·100 (COINr ``n_scaled`` with ``npara = c(centre, spread)``)."""
    if spread == 0:
        raise ComputeError("scaled normalisation needs spread != 0")
    return (np.asarray(X, dtype=float) - centre) / spread * 100


def dist_to_max(X: np.ndarray) -> np.ndarray:
    """y = 1 − (max − x)/(max − min), i.e. distance to the best unit on [0, 1] (COINr ``n_dist2max``)."""
    X = np.asarray(X, dtype=float)
    lo, hi = _nan(np.nanmin, X), _nan(np.nanmax, X)
    r = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r > 0, 1 - (hi - X) / np.where(r > 0, r, 1), np.nan)


def dist_to_ref(X: np.ndarray, ref_index: int, cap_max: bool = False) -> np.ndarray:
    """y = 1 − (x_ref − x)/(max − min) (COINr ``n_dist2ref``); ``cap_max`` caps values above 1 at 1."""
    X = np.asarray(X, dtype=float)
    n = X.shape[-2] if X.ndim >= 2 else 0
    if not -n <= ref_index < n:
        raise ComputeError(f"dist_to_ref: reference unit index {ref_index} is out of range for {n} units")
    lo, hi = _nan(np.nanmin, X), _nan(np.nanmax, X)
    ref = np.take(X, [ref_index], axis=-2)
    r = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(r > 0, 1 - (ref - X) / np.where(r > 0, r, 1), np.nan)
    return np.where(y > 1, 1.0, y) if cap_max else y


def dist_to_target(X: np.ndarray, targets: np.ndarray, direction: np.ndarray, cap_max: bool = True) -> np.ndarray:
    """Distance to target on raw values (COINr ``n_dist2targ``): with d = direction,
    d = +1: y = (x − min)/(target − min); d = −1: y = (max − x)/(max − target); capped at 1 if ``cap_max``."""
    X = np.asarray(X, dtype=float)
    t = np.asarray(targets, dtype=float)
    d = np.asarray(direction, dtype=float)
    lo, hi = _nan(np.nanmin, X), _nan(np.nanmax, X)
    with np.errstate(invalid="ignore", divide="ignore"):
        up = (X - lo) / (t - lo)
        down = (hi - X) / (hi - t)
        y = np.where(d > 0, up, down)
    return np.where(y > 1, 1.0, y) if cap_max else y


def frac_max(X: np.ndarray) -> np.ndarray:
    """y = x / max (COINr ``n_fracmax``); meaningful for positive data."""
    X = np.asarray(X, dtype=float)
    hi = _nan(np.nanmax, X)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi != 0, X / np.where(hi != 0, hi, 1), np.nan)


def _ranks_up(X: np.ndarray, method: str) -> np.ndarray:
    """Ascending ranks along axis −2 ignoring NaN (scipy ``rankdata``); NaN stays NaN."""
    X = np.asarray(X, dtype=float)
    r = sps.rankdata(X, method=method, axis=-2, nan_policy="omit")
    return np.where(np.isnan(X), np.nan, r)


def percentile_rank(X: np.ndarray) -> np.ndarray:
    """y = (rank − 1)/(n − 1), rank = ascending "min" rank (ties share the lowest), n = non-missing values
    (COINr ``n_prank`` via ``dplyr::percent_rank``); fewer than 2 values → NaN."""
    r = _ranks_up(X, "min")
    n = (~np.isnan(np.asarray(X, dtype=float))).sum(axis=-2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1, (r - 1) / (n - 1), np.nan)


def rank(X: np.ndarray) -> np.ndarray:
    """y = ascending rank, ties averaged (COINr ``n_rank``: ``rank(x, ties.method = 'average')``)."""
    return _ranks_up(X, "average")


def borda(X: np.ndarray) -> np.ndarray:
    """Borda score y = rank − 1 (number of units beaten), ties averaged (COINr ``n_borda``)."""
    return _ranks_up(X, "average") - 1


def goalposts(X: np.ndarray, lower: np.ndarray, upper: np.ndarray, direction: np.ndarray, scale: float = 100.0,
              trunc: bool = True) -> np.ndarray:
    """Goalposts on raw values (COINr ``n_goalposts``): d = +1: y = (x − lower)/(upper − lower)·scale;
    d = −1: y = (upper − x)/(upper − lower)·scale; truncated to [0, scale] if ``trunc``."""
    X = np.asarray(X, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.any(hi == lo):
        raise ComputeError("goalposts need upper != lower")
    d = np.asarray(direction, dtype=float)
    y = np.where(d > 0, (X - lo) / (hi - lo), (hi - X) / (hi - lo))
    if trunc:
        y = np.clip(y, 0, 1)
    return y * scale


NORMALISERS: dict[str, Callable[..., np.ndarray]] = {
    "min_max": min_max, "z_score": z_score, "scaled": scaled, "dist_to_max": dist_to_max,
    "dist_to_ref": dist_to_ref, "dist_to_target": dist_to_target, "frac_max": frac_max,
    "percentile_rank": percentile_rank, "rank": rank, "borda": borda, "goalposts": goalposts,
}


def normalise(X: np.ndarray, method: str, **params: Any) -> np.ndarray:
    """Dispatch to one of ``NORMALISERS``."""
    try:
        f = NORMALISERS[method]
    except KeyError:
        raise ComputeError(f"unknown normalisation '{method}'; expected one of {sorted(NORMALISERS)}") from None
    return f(X, **params)
