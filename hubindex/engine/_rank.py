"""Ranks (highest score = 1, ties share the lowest rank, missing → NaN), tiers and ranks within groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from hubindex.errors import ComputeError

__all__ = ["rank_desc", "tiers_by_rank", "tiers_by_score", "group_ranks"]


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """r_i = 1 + #{j: s_j > s_i} along the last axis ("min" ties, as COINr); NaN scores get NaN ranks."""
    s = np.asarray(scores, dtype=float)
    r = sps.rankdata(-s, method="min", axis=-1, nan_policy="omit")
    return np.where(np.isnan(s), np.nan, r).astype(float)


def tiers_by_rank(ranks: np.ndarray, cutoffs: Sequence[int], labels: Sequence[str]) -> np.ndarray:
    """Label by rank cut-offs: cutoffs [8, 40] → ranks 1–8 labels[0], 9–40 labels[1], the rest labels[2]."""
    if len(labels) != len(cutoffs) + 1:
        raise ComputeError("tiers need one label more than cut-offs")
    r = np.asarray(ranks, dtype=float)
    idx = np.searchsorted(np.asarray(cutoffs, dtype=float), r, side="left")
    out = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    return np.where(np.isnan(r), None, out)


def tiers_by_score(scores: np.ndarray, thresholds: Sequence[float], labels: Sequence[str]) -> np.ndarray:
    """Label by descending thresholds: score ≥ t0 → labels[0], ≥ t1 → labels[1], …, else the last label."""
    if len(labels) != len(thresholds) + 1:
        raise ComputeError("tiers need one label more than thresholds")
    s = np.asarray(scores, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    idx = (s[:, None] < t[None, :]).sum(axis=1)
    out = np.asarray(labels, dtype=object)[idx]
    return np.where(np.isnan(s), None, out)


def group_ranks(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rank within each group (highest = 1, min ties); a missing group label or score gives NaN."""
    s = pd.Series(np.asarray(scores, dtype=float))
    g = pd.Series(np.asarray(groups, dtype=object))
    r = s.groupby(g, dropna=True).rank(ascending=False, method="min")
    return r.reindex(s.index).to_numpy(dtype=float)
