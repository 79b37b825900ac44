"""Ranks (highest score = 1, ties share the lowest rank, missing → NaN), tiers and ranks within groups."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hubindex.engine import _parallel
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
    if m == 1:  # one long row (the usual block of a large matrix): the same steps without the flat offsets
        k, o = K[0], np.argsort(K[0])
        s = k[o]
        run = np.empty(n, dtype=bool)
        run[0] = True
        np.not_equal(s[1:], s[:-1], out=run[1:])
        st = np.flatnonzero(run)
        out[0, o] = np.arange(1.0, n + 1) if st.size == n else np.repeat(st + 1.0, np.diff(st, append=n))
        return
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


_BLOCK = 1 << 14
"""Elements sorted per ``_rank_rows`` call: its keys, sort order and ranks (~128 KiB each) stay in the CPU's
fastest caches, which makes its gathers and scatters several times cheaper than on one big array."""
_IO_BLOCK = 1 << 17
"""Elements copied per block from the caller's scores into the C-contiguous key buffer: rows of a strided view
(the columns of a C matrix) are read several at a time, a cache line per element fetched."""


def _rank_block(M: np.ndarray, R: np.ndarray, sl: slice) -> None:
    """Ranks of the rows ``sl`` of M (scores, (m, n), any strides) into the same rows of R (C-contiguous).

    Blocks of about ``_IO_BLOCK`` elements: keys −s into a C-contiguous buffer (NaN → +inf, last; the sort is
    several times slower on NaN), ranked ``_BLOCK`` elements at a time by ``_rank_rows``, NaN put back.
    """
    n = M.shape[1]
    b = max(1, min(sl.stop - sl.start, _IO_BLOCK // max(n, 1)))
    bi = max(1, _BLOCK // max(n, 1))
    key = np.empty((b, n))
    for a in range(sl.start, sl.stop, b):
        e = min(a + b, sl.stop)
        k, r = key[: e - a], R[a:e]
        np.negative(M[a:e], out=k)
        nan = np.isnan(k)
        has_nan = bool(nan.any())
        if has_nan:
            k[nan] = np.inf
        for i in range(0, e - a, bi):
            _rank_rows(k[i:i + bi], r[i:i + bi])
        if has_nan:
            r[nan] = np.nan


def rank_desc(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """r_i = 1 + #{j: s_j > s_i} along ``axis`` ("min" ties, as COINr); NaN scores get NaN ranks.

    One argsort per row of keys −s (NaN → +inf, last): each run of equal scores takes the position of its first
    member, so the sort needs no stability (see ``_rank_rows``). Rows are ranked in cache-sized blocks
    (``_rank_block``), straight from and into the arrays' own layout (no transposed copies), and large inputs
    are split by rows over threads. The result has the shape of ``scores``, with the ranked axis contiguous
    (2-D: C order for axis −1, F order for axis 0 — one contiguous column of ranks per column of scores).
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim == 0:
        raise ComputeError("rank_desc needs an array of scores, got a scalar")
    if s.size == 0:
        return s.copy()
    if s.ndim <= 2:  # rank straight into the result, laid out with the ranked axis contiguous
        if not -s.ndim <= axis < s.ndim:
            raise np.exceptions.AxisError(axis, s.ndim)
        last = axis % s.ndim == s.ndim - 1
        M = s.reshape(1, -1) if s.ndim == 1 else (s if last else s.T)
        RM = np.empty(M.shape)
        if M.size < _parallel.PARALLEL_MIN:  # small: no thread pool (read at call time, tests lower it)
            _rank_block(M, RM, slice(0, M.shape[0]))
        else:
            over_chunks(M.shape[0], lambda sl: _rank_block(M, RM, sl), M.size)
        return RM.reshape(s.shape) if s.ndim == 1 else (RM if last else RM.T)
    moved = np.moveaxis(s, axis, -1)
    n = moved.shape[-1]
    M = moved.reshape(-1, n)
    R = np.empty(M.shape)
    over_chunks(M.shape[0], lambda sl: _rank_block(M, R, sl), M.size)
    return np.moveaxis(R.reshape(moved.shape), -1, axis)


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
    new_group = np.empty(idx.size, dtype=bool)  # a unit that starts its group (in sorted order)
    new_group[0] = True
    np.not_equal(gs[1:], gs[:-1], out=new_group[1:])
    new_value = new_group.copy()  # … or starts a run of equal scores
    new_value[1:] |= vs[1:] != vs[:-1]
    first_of_group = np.maximum.accumulate(np.where(new_group, pos, 0))
    first_of_tie = np.maximum.accumulate(np.where(new_value, pos, 0))
    out[idx[order]] = (first_of_tie - first_of_group + 1).astype(float)
    return out
