"""Aggregation of children into a parent score. Batched: X is (..., n_units, k), w is (k,) or (..., k).

Missing children are dropped and the weights renormalised over the available ones (COINr's default). With
``min_availability`` a parent is missing when the share of available children (by count) is below it.
References: COINr ``Aggregate()`` (``a_amean``, ``a_gmean``, ``a_hmean``, ``a_median``, ``a_copeland``);
OECD/JRC Handbook (2008) §1.8 (non-compensatory multi-criteria approach).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hubindex.errors import ComputeError

__all__ = ["ordered_sum", "arithmetic_mean", "geometric_mean", "harmonic_mean", "weighted_median", "copeland", "outranking",
           "aggregate", "AGGREGATORS"]


def _prep(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    if np.any(w < 0):
        raise ComputeError("aggregation weights must be >= 0")
    W = np.broadcast_to(w[..., None, :], X.shape)
    ok = ~np.isnan(X)
    return X, np.where(ok, W, 0.0), ok


def _availability(out: np.ndarray, ok: np.ndarray, wok: np.ndarray, thresh: float | None) -> np.ndarray:
    share = ok.mean(axis=-1)
    bad = (wok.sum(axis=-1) <= 0) | (~ok.any(axis=-1))
    if thresh is not None:
        bad |= share < thresh
    return np.where(bad, np.nan, out)


def ordered_sum(A: np.ndarray) -> np.ndarray:
    """Σ over the last axis in index order, ((0 + a_0) + a_1) + …, with 0 = +0.0.

    A fixed order (NumPy's own ``sum`` is pairwise above 8 terms, so its bits depend on the row's length): a sum
    padded with zeros at the end has the same bits as the sum alone (x + 0.0 = x for every x a sum that starts at
    +0.0 can reach), which lets the pipeline aggregate all the groups of a level at once with the bits of
    aggregating each group alone."""
    out = np.zeros(A.shape[:-1])
    for j in range(A.shape[-1]):
        out += A[..., j]
    return out


def arithmetic_mean(X: np.ndarray, w: np.ndarray, min_availability: float | None = None) -> np.ndarray:
    """y = Σ_k w_k x_k / Σ_k w_k over available children k (COINr ``a_amean``); both sums in the order of the
    children (:func:`ordered_sum`)."""
    X, W, ok = _prep(X, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = ordered_sum(W * np.where(ok, X, 0)) / ordered_sum(W)
    return _availability(y, ok, W, min_availability)


def geometric_mean(X: np.ndarray, w: np.ndarray, min_availability: float | None = None) -> np.ndarray:
    """y = exp(Σ_k w_k ln x_k / Σ_k w_k) over available children (COINr ``a_gmean``); any x ≤ 0 is an error."""
    X, W, ok = _prep(X, w)
    if np.any(X[ok] <= 0):
        raise ComputeError("the geometric mean needs values > 0")
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.exp((W * np.log(np.where(ok, X, 1))).sum(-1) / W.sum(-1))
    return _availability(y, ok, W, min_availability)


def harmonic_mean(X: np.ndarray, w: np.ndarray, min_availability: float | None = None) -> np.ndarray:
    """y = Σ_k w_k / Σ_k (w_k / x_k) over available children (COINr ``a_hmean``); any x ≤ 0 is an error."""
    X, W, ok = _prep(X, w)
    if np.any(X[ok] <= 0):
        raise ComputeError("the harmonic mean needs values > 0")
    with np.errstate(invalid="ignore", divide="ignore"):
        y = W.sum(-1) / (W / np.where(ok, X, 1)).sum(-1)
    return _availability(y, ok, W, min_availability)


def weighted_median(X: np.ndarray, w: np.ndarray, min_availability: float | None = None) -> np.ndarray:
    """Weighted median of available children: sort values, cumulative normalised weight c; y = the smallest x
    with c ≥ 1/2, averaged with the next value when c equals 1/2 exactly (equal weights → ordinary median)."""
    X, W, ok = _prep(X, w)
    order = np.argsort(np.where(ok, X, np.inf), axis=-1, kind="stable")
    xs = np.take_along_axis(np.where(ok, X, np.inf), order, -1)
    ws = np.take_along_axis(W, order, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.cumsum(ws, -1) / ws.sum(-1, keepdims=True)
    eps = 1e-12
    first = np.argmax(c >= 0.5 - eps, axis=-1)[..., None]
    y = np.take_along_axis(xs, first, -1)[..., 0]
    exact = np.abs(np.take_along_axis(c, first, -1)[..., 0] - 0.5) <= eps
    # next available value after `first` (positive weight)
    later = np.where((np.arange(xs.shape[-1]) > first) & (ws > 0), xs, np.inf)
    nxt = later.min(-1)
    y = np.where(exact & np.isfinite(nxt), (y + nxt) / 2, y)
    return _availability(np.where(np.isfinite(y), y, np.nan), ok, W, min_availability)


def _pairwise(X: np.ndarray, W: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """c_ij = Σ_k w_k·([x_ik > x_jk] + ½[x_ik = x_jk]) / Σ_k w_k over k available for both i and j."""
    xi, xj = X[..., :, None, :], X[..., None, :, :]
    both = ok[..., :, None, :] & ok[..., None, :, :]
    wk = np.where(both, np.broadcast_to(W[..., :, None, :], both.shape), 0.0)
    score = np.where(xi > xj, 1.0, np.where(xi == xj, 0.5, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (wk * score).sum(-1) / wk.sum(-1)


def copeland(X: np.ndarray, w: np.ndarray, min_availability: float | None = None) -> np.ndarray:
    """Copeland score (COINr ``a_copeland``): with the weighted pairwise win share c_ij,
    y_i = Σ_{j≠i} sign(c_ij − c_ji) = #units i beats on weighted majority − #units that beat i."""
    X, W, ok = _prep(X, w)
    C = _pairwise(X, W, ok)
    S = np.sign(np.nan_to_num(C - np.swapaxes(C, -1, -2)))
    n = X.shape[-2]
    S = S * (1 - np.eye(n))
    return _availability(S.sum(-1), ok, W, min_availability)


def outranking(X: np.ndarray, w: np.ndarray, min_availability: float | None = None) -> np.ndarray:
    """Net outranking flow: y_i = Σ_{j≠i} (c_ij − c_ji), with c_ij the weighted share of children on which i
    beats j (ties count ½), over children available for both (Handbook §1.8)."""
    X, W, ok = _prep(X, w)
    C = np.nan_to_num(_pairwise(X, W, ok))
    D = (C - np.swapaxes(C, -1, -2)) * (1 - np.eye(X.shape[-2]))
    return _availability(D.sum(-1), ok, W, min_availability)


AGGREGATORS: dict[str, Callable[..., np.ndarray]] = {
    "arithmetic": arithmetic_mean, "geometric": geometric_mean, "harmonic": harmonic_mean,
    "median": weighted_median, "copeland": copeland, "outranking": outranking,
}


def aggregate(X: np.ndarray, w: np.ndarray, method: str = "arithmetic",
              min_availability: float | None = None) -> np.ndarray:
    """Dispatch to one of ``AGGREGATORS``."""
    try:
        f = AGGREGATORS[method]
    except KeyError:
        raise ComputeError(f"unknown aggregation '{method}'; expected one of {sorted(AGGREGATORS)}") from None
    return f(X, w, min_availability=min_availability)
