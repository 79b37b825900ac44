"""Denomination: scale indicators by a denominator (per capita, per GDP, per area)."""

from __future__ import annotations

import numpy as np

from hubindex.errors import ComputeError

__all__ = ["denominate"]


def denominate(X: np.ndarray, D: np.ndarray, scale: float | np.ndarray = 1.0) -> np.ndarray:
    """y_ij = x_ij / d_ij · scale (COINr ``Denominate``). Pass d = 1 for columns that are not denominated.

    A missing denominator gives a missing value; a zero denominator gives NaN, never ±inf (the pipeline reports
    zero denominators as a data error first).
    """
    X = np.asarray(X, dtype=float)
    D = np.asarray(D, dtype=float)
    try:
        np.broadcast_shapes(X.shape, D.shape, np.shape(scale))
    except ValueError:
        raise ComputeError(f"denominate: denominators of shape {D.shape} (scale {np.shape(scale)}) do not match "
                           f"the indicators' shape {X.shape}") from None
    with np.errstate(divide="ignore", invalid="ignore"):
        return X / np.where(D == 0, np.nan, D) * scale
