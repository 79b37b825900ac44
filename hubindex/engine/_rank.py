"""Ranks (highest score = 1, ties share the lowest rank, missing → NaN), tiers and ranks within groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hubindex.errors import ComputeError

__all__ = ["rank_desc", "tiers_by_rank", "tiers_by_score", "group_ranks"]


def rank_desc(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """r_i = 1 + #{j: s_j > s_i} along ``axis`` ("min" ties, as COINr); NaN scores get NaN ranks.

    One argsort per row: sort descending (NaN last), each run of equal scores takes the position of its first
    member (so the sort needs no stability).
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim == 0:
        raise ComputeError("rank_desc needs an array of scores, got a scalar")
    moved = np.ascontiguousarray(np.moveaxis(s, axis, -1))
    if moved.shape[-1] == 0:
        return s.copy()
    nan = np.isnan(moved)
    key = np.where(nan, np.inf, -moved)
    order = np.argsort(key, axis=-1)
    sk = np.take_along_axis(key, order, -1)
    new = np.ones(sk.shape, dtype=bool)
    new[..., 1:] = sk[..., 1:] != sk[..., :-1]
    pos = np.broadcast_to(np.arange(sk.shape[-1]), sk.shape)
    first = np.maximum.accumulate(np.where(new, pos, 0), axis=-1)
    r = np.empty(sk.shape)
    np.put_along_axis(r, order, first + 1.0, -1)
    r[nan] = np.nan
    return np.moveaxis(r, -1, axis)


def tiers_by_rank(ranks: np.ndarray, cutoffs: Sequence[int], labels: Sequence[str]) -> np.ndarray:
    """Label by rank cut-offs: cutoffs [8, 40] → ranks 1–8 labels[0], 9–40 labels[1], the rest labels[2]."""
    if len(labels) != len(cutoffs) + 1:
        raise ComputeError("tiers need one label more than cut-offs")
    r = np.asarray(ranks, dtype=float)
    idx = np.searchsorted(np.asarray(cutoffs, dtype=float), r, side="left")
    out: np.ndarray = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    out[np.isnan(r)] = None
    return out


def tiers_by_score(scores: np.ndarray, thresholds: Sequence[float], labels: Sequence[str]) -> np.ndarray:
    """Label by descending thresholds: score ≥ t0 → labels[0], ≥ t1 → labels[1], …, else the last label."""
    if len(labels) != len(thresholds) + 1:
        raise ComputeError("tiers need one label more than thresholds")
    s = np.asarray(scores, dtype=float)
    t = np.asarray(thresholds, dtype=float)
    idx = (s[:, None] < t[None, :]).sum(axis=1)
    out: np.ndarray = np.asarray(labels, dtype=object)[idx]
    out[np.isnan(s)] = None
    return out


def group_ranks(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rank within each group (highest = 1, min ties); a missing group label or score gives NaN."""
    s = pd.Series(np.asarray(scores, dtype=float))
    g = pd.Series(np.asarray(groups, dtype=object))
    r = s.groupby(g, dropna=True).rank(ascending=False, method="min")
    return r.reindex(s.index).to_numpy(dtype=float)
