"""Screening of units by data availability and zeros (COINr ``Screen()``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubindex.errors import ComputeError

__all__ = ["ScreenOutcome", "screen_units"]


@dataclass(frozen=True)
class ScreenOutcome:
    """Per unit: kept?, availability share, zero share and why it was dropped or forced in
    ('' | 'availability' | 'zeros' | 'forced_exclude' | 'forced_include')."""

    keep: np.ndarray
    availability: np.ndarray
    zero_share: np.ndarray
    reason: np.ndarray


def screen_units(X: np.ndarray, min_availability: float | None = None, max_zero_share: float | None = None,
                 include: np.ndarray | None = None, exclude: np.ndarray | None = None) -> ScreenOutcome:
    """Keep unit i if availability_i = (non-missing values)/p ≥ ``min_availability`` and
    zero_share_i = (zeros)/p ≤ ``max_zero_share`` (shares over all p indicators, as COINr's ``dat_thresh`` and
    ``nonzero_thresh``); forced exclusions then inclusions override the thresholds."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ComputeError(f"screening needs a (units, indicators) matrix, got shape {X.shape}")
    n, p = X.shape
    for name, thr in (("min_availability", min_availability), ("max_zero_share", max_zero_share)):
        if thr is not None and not 0 <= thr <= 1:
            raise ComputeError(f"screening: {name} must be a share in [0, 1], got {thr}")
    forced: list[np.ndarray | None] = []
    for name, m in (("include", include), ("exclude", exclude)):
        if m is None:
            forced.append(None)
            continue
        m = np.asarray(m)
        if m.dtype != bool or m.shape != (n,):
            raise ComputeError(f"screening: '{name}' must be a boolean mask with one entry per unit ({n}), "
                               f"got dtype {m.dtype} and shape {m.shape}")
        forced.append(m)
    include, exclude = forced
    avail = (~np.isnan(X)).sum(axis=1) / max(p, 1)
    zeros = (X == 0).sum(axis=1) / max(p, 1)
    keep = np.ones(n, dtype=bool)
    reason = np.full(n, "", dtype=object)
    if min_availability is not None:
        low = avail < min_availability
        keep &= ~low
        reason[low] = "availability"
    if max_zero_share is not None:
        z = zeros > max_zero_share
        keep &= ~z
        reason[z & (reason == "")] = "zeros"
    if exclude is not None:
        keep &= ~exclude
        reason[exclude] = "forced_exclude"
    if include is not None:
        keep |= include
        reason[include] = "forced_include"
    return ScreenOutcome(keep, avail, zeros, reason)
