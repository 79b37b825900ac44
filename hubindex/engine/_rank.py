"""Ranks (highest score = 1, ties share the lowest rank, missing → NaN), tiers and ranks within groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hubindex.engine._parallel import over_chunks
from hubindex.errors import ComputeError

__all__ = ["rank_desc", "tiers_by_rank", "tiers_by_score", "group_ranks"]


def _rank_rows(K: np.ndarray, out: np.ndarray) -> None:
    """Min-tie ranks of each row of K (ascending keys, no NaN) into ``out``, both C-contiguous (m, n).

    One argsort per row; the rows are laid out as one flat array, each run of equal sorted keys takes the flat
    position of its first member (``np.repeat`` of the run starts), and the ranks go back to the unsorted
    positions by one fancy assignment (the inverse permutation).
    """
    m, n = K.shape
    order = np.argsort(K, axis=-1)
    row0 = np.arange(m, dtype=np.intp) * n
    flat = (order + row0[:, None]).ravel()  # flat positions, in sorted order
    sk = K.ravel()[flat].reshape(m, n)
    starts = np.empty((m, n), dtype=bool)
    starts[:, 0] = True  # a row starts a new run
    np.not_equal(sk[:, 1:], sk[:, :-1], out=starts[:, 1:])
    st = np.flatnonzero(starts)
    first = np.repeat(st % n + 1.0, np.diff(st, append=m * n))  # 1 + the run's start within its row
    out.reshape(-1)[flat] = first


def _rank_rows_parallel(K: np.ndarray) -> np.ndarray:
    """``_rank_rows`` with large arrays split by rows over threads (each row's ranks are the same however the
    rows are split)."""
    out = np.empty(K.shape)
    over_chunks(K.shape[0], lambda sl: _rank_rows(K[sl], out[sl]), K.size)
    return out


def rank_desc(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """r_i = 1 + #{j: s_j > s_i} along ``axis`` ("min" ties, as COINr); NaN scores get NaN ranks.

    One argsort per row of keys −s (NaN → +inf, last): each run of equal scores takes the position of its first
    member, so the sort needs no stability (see ``_rank_rows``).
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim == 0:
        raise ComputeError("rank_desc needs an array of scores, got a scalar")
    moved = np.moveaxis(s, axis, -1)
    shape = moved.shape
    n = shape[-1]
    if moved.size == 0:
        return s.copy()
    K = np.negative(moved.reshape(-1, n))  # a C-contiguous (rows, n) copy: key = −score
    nan = np.isnan(K)
    K[nan] = np.inf
    r = _rank_rows_parallel(K)
    r[nan] = np.nan
    return np.moveaxis(r.reshape(shape), -1, axis)


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
    """Rank within each group (highest = 1, min ties): r_i = 1 + #{j in i's group: s_j > s_i}; a missing group
    label (None/NaN) or score gives NaN.

    One sort by (group, −score); in sorted order a unit's rank is the position of the first unit of its tie
    run minus the position of the first unit of its group, plus 1."""
    codes, _ = pd.factorize(np.asarray(groups, dtype=object), use_na_sentinel=True)
    return group_ranks_coded(scores, codes)


def group_ranks_coded(scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``group_ranks`` with the groups given as integer codes (``pd.factorize``; −1 = no group)."""
    s = np.asarray(scores, dtype=float)
    out = np.full(s.shape, np.nan)
    idx = np.flatnonzero((codes >= 0) & ~np.isnan(s))
    if idx.size == 0:
        return out
    g, v = codes[idx], s[idx]
    order = np.lexsort((-v, g))
    gs, vs = g[order], v[order]
    pos = np.arange(idx.size)
    new_group = np.r_[True, gs[1:] != gs[:-1]]
    new_value = new_group | np.r_[True, vs[1:] != vs[:-1]]
    first_of_group = np.maximum.accumulate(np.where(new_group, pos, 0))
    first_of_tie = np.maximum.accumulate(np.where(new_value, pos, 0))
    out[idx[order]] = (first_of_tie - first_of_group + 1).astype(float)
    return out
