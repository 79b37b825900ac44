"""Imputation of missing values. Every function returns ``(X_imputed, imputed_mask)`` and never changes a
non-missing value. References: COINr ``Impute()`` (``i_mean``, ``i_median``, ``i_mean_grp``, ``i_median_grp``);
OECD/JRC Handbook (2008) §1.4; scikit-learn ``IterativeImputer``."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from hubindex.engine._parallel import over_chunks
from hubindex.errors import ComputeError

__all__ = ["impute", "impute_column", "nanmedian_columns", "impute_group", "impute_row_mean", "impute_iterative"]


def _fill(X: np.ndarray, fill: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    miss = np.isnan(X)
    out = np.where(miss, fill, X)
    return out, miss & ~np.isnan(out)


def _matrix(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ComputeError(f"imputation needs a (units, indicators) matrix, got shape {X.shape}")
    return X


def _stat(stat: str) -> None:
    if stat not in ("mean", "median"):
        raise ComputeError(f"imputation statistic must be 'mean' or 'median', got {stat!r}")


def impute_column(X: np.ndarray, stat: Literal["mean", "median"] = "mean") -> tuple[np.ndarray, np.ndarray]:
    """x_ij missing → mean_j (or median_j) over the non-missing values of column j (COINr ``i_mean``,
    ``i_median``). All-missing columns stay missing. The result is F-ordered (one contiguous column per
    indicator, the layout every later column-wise step reads fastest)."""
    X = _matrix(X)
    _stat(stat)
    if stat == "median":
        K, nan, med = _median_rows(X)
        np.copyto(K, med[:, None], where=nan)  # K is X's transpose, missing cells +inf: now the medians
        none = np.isnan(med)  # all-missing columns: nothing imputed
        return K.T, (nan & ~none[:, None]).T if none.any() else nan.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = np.nanmean(X, axis=0)
    out = np.array(X, order="F")
    miss = np.isnan(out)
    np.copyto(out, np.broadcast_to(s, out.shape), where=miss)
    return out, miss & ~np.isnan(out)


def nanmedian_columns(X: np.ndarray) -> np.ndarray:
    """Median of each column's non-missing values, equal to ``np.nanmedian(X, axis=0)`` (NaN for an all-missing
    column): with n_j values sorted, x_((n−1)/2) if n_j is odd, else (x_(n/2−1) + x_(n/2))/2.

    Vectorised (``_median_rows``): missing → +inf (sorts last), and the columns with the same n_j share one
    ``np.partition`` at n_j/2 (for even n_j, x_(n/2−1) is then the largest value below that position); large
    matrices are split over threads by columns.
    """
    return _median_rows(_matrix(X))[2]


def _median_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, nan, med): K = Xᵀ as a C-contiguous copy (a plain copy when X is F-ordered) with missing cells +inf,
    nan = its missing mask, med = the medians of X's columns (``nanmedian_columns``)."""
    K = np.array(X.T, order="C")  # one row per column (a copy: missing cells are overwritten below)
    nan = np.isnan(K)
    np.copyto(K, np.inf, where=nan)
    n = K.shape[1] - nan.sum(axis=1)
    out = np.full(K.shape[0], np.nan)

    def part(sl: slice) -> None:
        nk = n[sl]
        for v in np.unique(nk[nk > 0]):
            rows = sl.start + np.flatnonzero(nk == v)
            k1, k2 = (v - 1) // 2, v // 2
            P = K[rows]  # a copy, partitioned in place: one selection (two in one call are far slower)
            P.partition(k2, axis=-1)
            hi = P[:, k2]
            with np.errstate(invalid="ignore"):  # −inf and +inf in the middle: NaN, as np.nanmedian
                out[rows] = hi if k1 == k2 else (P[:, :k2].max(axis=-1) + hi) / 2

    over_chunks(K.shape[0], part, K.size)
    return K, nan, out


def impute_group(X: np.ndarray, groups: np.ndarray, stat: Literal["mean", "median"] = "mean"
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Fill x_ij with the mean (median) of column j over the units of unit i's group (COINr ``i_mean_grp``).

    A group whose values are all missing in a column leaves them missing; a unit without a group label is not
    imputed.
    """
    X = _matrix(X)
    _stat(stat)
    if len(groups) != X.shape[0]:
        raise ComputeError(f"group imputation: {len(groups)} group labels for {X.shape[0]} units")
    g = pd.Series(np.asarray(groups, dtype=object))
    df = pd.DataFrame(X)
    key = g.where(g.notna(), None)
    if not key.notna().any():  # no unit has a group label: nothing to impute from (pandas fails on this)
        return _fill(X, np.full(X.shape, np.nan))
    fill = df.groupby(key, dropna=True).transform(stat).to_numpy(dtype=float) if len(df) else X
    fill = np.array(fill, dtype=float)
    if fill.shape != X.shape:  # units without a group are dropped by transform; realign
        full = np.full(X.shape, np.nan)
        full[key.notna().to_numpy()] = fill
        fill = full
    fill[key.isna().to_numpy()] = np.nan
    return _fill(X, fill)


def impute_row_mean(X: np.ndarray, column_groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x_ij missing → mean of unit i's non-missing values over the columns k with group_k = group_j (the
    indicator's siblings under its aggregate; COINr ``Impute(impute_by = "row", group_level = 2)``).

    Only meaningful on comparable scales, i.e. after normalisation (as COINr's documentation warns).
    """
    X = _matrix(X)
    cg = np.asarray(column_groups, dtype=object)
    if cg.shape != (X.shape[1],):
        raise ComputeError(f"row-mean imputation: {cg.size} column groups for {X.shape[1]} indicators")
    fill = np.full(X.shape, np.nan)
    for g in pd.unique(cg):
        cols = np.flatnonzero(cg == g)
        sub = X[:, cols]
        ok = ~np.isnan(sub)
        cnt = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(ok, sub, 0).sum(axis=1) / cnt
        fill[:, cols] = np.where(cnt > 0, m, np.nan)[:, None]
    return _fill(X, fill)


def impute_iterative(X: np.ndarray, seed: int = 0, max_iter: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Multivariate imputation by chained equations (scikit-learn ``IterativeImputer``, Bayesian ridge per
    column, ``random_state=seed``). Non-missing values are re-imposed, so they never change."""
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    X = _matrix(X)
    all_missing = np.isnan(X).all(axis=0)
    out = X.copy()
    if (~all_missing).sum() == 0:
        return out, np.zeros(X.shape, dtype=bool)
    imp = IterativeImputer(random_state=int(seed), max_iter=max_iter, keep_empty_features=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filled = imp.fit_transform(X[:, ~all_missing])
    out[:, ~all_missing] = filled
    return _fill(X, out)


def impute(X: np.ndarray, method: str, *, groups: np.ndarray | None = None,
           column_groups: np.ndarray | None = None, seed: int = 0, max_iter: int = 10
           ) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch: none | mean | median | group_mean | group_median | row_mean | iterative."""
    X = _matrix(X)
    if method == "none":
        return X.copy(), np.zeros(X.shape, dtype=bool)
    if method in ("mean", "median"):
        return impute_column(X, method)  # type: ignore[arg-type]
    if method in ("group_mean", "group_median"):
        if groups is None:
            raise ComputeError(f"imputation '{method}' needs a group column")
        return impute_group(X, groups, method.removeprefix("group_"))  # type: ignore[arg-type]
    if method == "row_mean":
        if column_groups is None:
            raise ComputeError("imputation 'row_mean' needs the indicators' aggregation groups")
        return impute_row_mean(X, column_groups)
    if method == "iterative":
        return impute_iterative(X, seed=seed, max_iter=max_iter)
    raise ComputeError(f"unknown imputation '{method}'; expected none, mean, median, group_mean, group_median, "
                       "row_mean or iterative")
