"""Weights: rescaling within parents, equal and PCA weights, effective weights (nominal, realised per unit after
missing-value renormalisation, and correlation-based importance).

References: COINr ``get_eff_weights``, ``get_PCA``; OECD/JRC Handbook (2008) §1.7; Paruolo, Saisana & Saltelli
(2013), "Ratings and rankings: voodoo or science?", JRSS A 176(3).
"""

from __future__ import annotations

import numpy as np

from hubindex.engine._parallel import over_chunks
from hubindex.errors import ComputeError

__all__ = ["rescale_within_parents", "equal_weights", "effective_weights", "unit_effective_weights",
           "pca_weights", "importance"]


def _check_tree(w: np.ndarray, parent: np.ndarray) -> None:
    if w.ndim != 1 or parent.shape != w.shape:
        raise ComputeError(f"weights and parent must be 1-D arrays of the same length, got shapes {w.shape} and "
                           f"{parent.shape}")
    if np.any((parent >= len(w)) | (parent < -1)):
        raise ComputeError("parent indices must be -1 (root) or a node position")
    if np.any(np.isnan(w)):
        raise ComputeError("weights must not be missing (NaN)")


def rescale_within_parents(weights: np.ndarray, parent: np.ndarray, *, zero_groups: str = "raise") -> np.ndarray:
    """w̃_i = w_i / Σ_{j: parent_j = parent_i} w_j; the root (parent −1) gets 1. A parent whose children all
    weigh 0 is an error, or (``zero_groups="nan"``) gives its children NaN."""
    w = np.asarray(weights, dtype=float)
    parent = np.asarray(parent)
    _check_tree(w, parent)
    if np.any(w < 0):
        bad = int(np.flatnonzero(w < 0)[0])
        raise ComputeError(f"weights must be >= 0; node {bad} has weight {w[bad]:g}")
    child = parent >= 0
    sums = np.zeros(len(w))
    np.add.at(sums, parent[child], w[child])
    if zero_groups == "raise" and np.any(sums[parent[child]] <= 0):
        p = int(parent[child][np.flatnonzero(sums[parent[child]] <= 0)[0]])
        raise ComputeError(f"all weights of the children of node {p} are zero")
    out = np.ones(len(w))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[child] = w[child] / sums[parent[child]]
    return out


def equal_weights(parent: np.ndarray) -> np.ndarray:
    """Equal weights within each parent: w̃_i = 1/(number of children of parent_i); root 1."""
    return rescale_within_parents(np.ones(len(parent)), parent)


def _topdown(parent: np.ndarray) -> np.ndarray:
    """Node positions ordered so that every parent comes before its children."""
    depth = np.zeros(len(parent), dtype=np.int64)
    p = parent.copy()
    for _ in range(len(parent)):
        up = p >= 0
        if not up.any():
            break
        depth += up
        p = np.where(up, parent[np.maximum(p, 0)], -1)
    return np.argsort(depth, kind="stable")


def _path_product(r: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """e_i = Π of r along the path from node i up to the root; r is (..., m), parent (m,)."""
    R = np.ascontiguousarray(np.moveaxis(r, -1, 0))  # nodes first: each node's row is contiguous
    E = R.copy()
    for i in _topdown(parent):  # one vectorised row product per node, parents first
        if parent[i] >= 0:
            E[i] *= E[parent[i]]
    return np.moveaxis(E, 0, -1)


def effective_weights(weights: np.ndarray, parent: np.ndarray, is_leaf: np.ndarray | None = None) -> np.ndarray:
    """Nominal effective weight of node i: e_i = Π of rescaled weights w̃ along the path from i to the root
    (COINr ``get_eff_weights``). The leaves' e_i sum to 1, and so do the nodes of any one level.

    ``is_leaf`` is accepted for backward compatibility and unused.
    """
    r = rescale_within_parents(weights, parent)
    return _path_product(r, np.asarray(parent))


def unit_effective_weights(available: np.ndarray, weights: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Realised effective weights per unit, after the aggregation renormalised weights over available children.

    With a_ui = 1 when node i has a value for unit u: r_ui = w_i·a_ui / Σ_{j: parent_j = parent_i} w_j·a_uj
    (0 when no sibling is available; the root gets a_u,root), and E_ui = Π of r_u along the path from i to the
    root. ``available`` is (n_units, n_nodes). Under arithmetic aggregation the index of unit u is exactly
    Σ_{leaves l} E_ul·x_ul, and Σ_l E_ul = 1 for every unit with an index score; without missing values every
    row equals ``effective_weights``.
    """
    A = np.asarray(available, dtype=bool)
    w = np.asarray(weights, dtype=float)
    parent = np.asarray(parent)
    _check_tree(w, parent)
    if A.ndim != 2 or A.shape[1] != len(w):
        raise ComputeError(f"available must be (units, {len(w)} nodes), got shape {A.shape}")
    if np.any(w < 0):
        raise ComputeError("weights must be >= 0")
    out = np.empty(A.shape[::-1]).T  # nodes-first memory, as _path_product returns it (later reductions see it)
    groups = [np.flatnonzero(parent == p) for p in np.unique(parent[parent >= 0])]

    def part(sl: slice) -> None:  # units are independent: large inputs are split by units over threads
        WA = np.where(A[sl], w, 0.0).T  # (nodes, units)
        r = A[sl].T.astype(float)
        for kids in groups:  # one vectorised pass per aggregate
            wk = WA[kids]
            den = wk.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                r[kids] = np.where(den > 0, wk / np.where(den > 0, den, 1), 0.0)
        out[sl] = _path_product(r.T, parent)

    over_chunks(A.shape[0], part, A.size)
    return out


def pca_weights(X: np.ndarray) -> np.ndarray:
    """Weights from the first principal component of the standardised complete-case children (COINr
    ``get_PCA`` weights): z = (x − mean)/sd, PC1 = first right singular vector of Z, w_k = |PC1_k| / Σ|PC1|.
    Rows with missing values are dropped; fewer than 3 complete rows or a single child → equal weights.

    (The OECD Handbook's variant uses squared varimax-rotated loadings over several factors; this is the
    single-component version COINr uses.)
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ComputeError(f"PCA weights need a (units, children) matrix, got shape {X.shape}")
    Z = X[~np.isnan(X).any(axis=1)]
    k = X.shape[1]
    if k == 0:
        raise ComputeError("PCA weights need at least one child")
    if Z.shape[0] < 3 or k < 2:
        return np.full(k, 1.0 / k)
    sd = Z.std(axis=0, ddof=1)
    if np.any(sd == 0):
        raise ComputeError(f"PCA weights need children with non-zero variance; child {int(np.flatnonzero(sd == 0)[0])}"
                           " is constant over the complete cases")
    Z = (Z - Z.mean(axis=0)) / sd
    _, _, vt = np.linalg.svd(Z, full_matrices=False)
    load = np.abs(vt[0])
    return load / load.sum()


def importance(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How much each column really drives y: the squared Pearson correlation R²_k = corr(x_k, y)² over units
    where both are present (the linear estimate of Paruolo et al.'s first-order sensitivity S_k). NaN for a
    constant column or fewer than 3 common units. Compare the shares R²_k / Σ R² with the effective weights."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ComputeError(f"importance needs X (units, k) and y (units,), got shapes {X.shape} and {y.shape}")
    out = np.empty(X.shape[1])

    def part(sl: slice) -> None:  # columns are independent: large inputs are split by columns over threads
        Xc = X[:, sl]
        ok = ~np.isnan(Xc) & ~np.isnan(y)[:, None]
        n = ok.sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = np.where(ok, Xc, 0).sum(0) / n
            Y = np.broadcast_to(y[:, None], Xc.shape)
            my = np.where(ok, Y, 0).sum(0) / n
            dx = np.where(ok, Xc - mx, 0.0)
            dy = np.where(ok, Y - my, 0.0)
            sxy = (dx * dy).sum(0)
            sxx = (dx * dx).sum(0)
            syy = (dy * dy).sum(0)
            r2 = sxy**2 / (sxx * syy)
        out[sl] = np.where((n >= 3) & (sxx > 0) & (syy > 0), np.minimum(r2, 1.0), np.nan)

    over_chunks(X.shape[1], part, X.size)  # chunks of ≥ 2 columns sum each column as the whole array does
    return out
