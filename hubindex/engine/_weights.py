"""Weights: rescaling within parents, equal and PCA weights, effective weights."""

from __future__ import annotations

import numpy as np

from hubindex.errors import ComputeError

__all__ = ["rescale_within_parents", "equal_weights", "effective_weights", "pca_weights"]


def rescale_within_parents(weights: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """w̃_i = w_i / Σ_{j: parent_j = parent_i} w_j; the root (parent −1) gets 1."""
    w = np.asarray(weights, dtype=float)
    parent = np.asarray(parent)
    if np.any(w < 0):
        raise ComputeError("weights must be >= 0")
    child = parent >= 0
    sums = np.zeros(len(w))
    np.add.at(sums, parent[child], w[child])
    if np.any(sums[parent[child]] <= 0):
        raise ComputeError("all weights of a group are zero")
    out = np.ones(len(w))
    out[child] = w[child] / sums[parent[child]]
    return out


def equal_weights(parent: np.ndarray) -> np.ndarray:
    """Equal weights within each parent: 1/(number of siblings)."""
    return rescale_within_parents(np.ones(len(parent)), parent)


def effective_weights(weights: np.ndarray, parent: np.ndarray, is_leaf: np.ndarray) -> np.ndarray:
    """Effective weight of node i = Π of rescaled weights along the path from i to the root (COINr
    ``get_eff_weights``). Leaves' effective weights sum to 1 when every aggregate has an available child."""
    r = rescale_within_parents(weights, parent)
    parent = np.asarray(parent)
    eff = r.copy()
    p = parent.copy()
    for _ in range(len(r)):
        up = p >= 0
        if not up.any():
            break
        eff[up] *= r[p[up]]
        p = np.where(up, parent[np.maximum(p, 0)], -1)
    return eff


def pca_weights(X: np.ndarray) -> np.ndarray:
    """Weights from the first principal component of the standardised complete-case children (COINr
    ``get_PCA`` weights): w_k = |loading_k of PC1|, rescaled to sum to 1. Rows with missing values are dropped.

    (The OECD Handbook's variant uses squared varimax-rotated loadings over several factors; this is the
    single-component version COINr uses.)
    """
    X = np.asarray(X, dtype=float)
    Z = X[~np.isnan(X).any(axis=1)]
    k = X.shape[1]
    if Z.shape[0] < 3 or k < 2:
        return np.full(k, 1.0 / k)
    sd = Z.std(axis=0, ddof=1)
    if np.any(sd == 0):
        raise ComputeError("PCA weights need children with non-zero variance")
    Z = (Z - Z.mean(axis=0)) / sd
    _, _, vt = np.linalg.svd(Z, full_matrices=False)
    load = np.abs(vt[0])
    return load / load.sum()
