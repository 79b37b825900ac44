"""Streaming summaries of Monte Carlo replications: memory bounded regardless of the number of replications N.

A :class:`StreamSummary` holds, per unit of the target, everything the rank-interval table needs, updated chunk
by chunk and mergeable (the Dask backend sums the partial summaries of its chunks):

* ranks are integers 1..n_units, so a **rank-count matrix** C (units × n_units, int64), C[i, r − 1] = number of
  replications in which unit i has rank r. The sorted sample of unit i's ranks is fully determined by row i, so
  the mean Σ_r r·C[i, r]/Σ_r C[i, r] and every quantile are **exact** — computed with numpy's default ('linear',
  R type 7) definition by :func:`quantiles_from_counts`;
* scores: the count, sum and the sum of squared deviations M2 (merged with Chan et al.'s rule
  M2 = M2_a + M2_b + δ²·n_a·n_b/n, δ = mean_b − mean_a), so the mean and the variance are exact up to floating
  point rounding; the exact minimum and maximum; and a **histogram** on a fixed grid of ``bins`` equal bins over
  [lo, hi] (:meth:`~hubindex.audit.model.AuditModel.score_bounds`: a range that provably contains every score).
  A score quantile is the same 'linear' interpolation between the two neighbouring order statistics, each replaced
  by the midpoint of its bin, then clipped to the exact [min, max]; as the true order statistics lie in those bins,
  the **error is at most half a bin width**, (hi − lo)/(2·bins) (:attr:`StreamSummary.score_quantile_error`);
* per discrete factor, how often each alternative was drawn.

Memory: units × (n_units + bins) int64 counters, independent of N (91 units, 4,096 bins: 3 MiB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["StreamSummary", "quantiles_from_counts", "rank_count_matrix", "score_histogram", "DEFAULT_BINS",
           "QUANTILES"]

DEFAULT_BINS = 4096
QUANTILES = (0.05, 0.5, 0.95)


def rank_count_matrix(R: np.ndarray, n_units: int) -> np.ndarray:
    """C[i, r − 1] = #{replications (rows of R) where unit i (column) has rank r}; NaN ranks are not counted.
    One ``np.bincount`` over the flat index i·n_units + r − 1."""
    R = np.asarray(R, dtype=float).reshape(-1, n_units)
    ok = ~np.isnan(R)
    k = np.where(ok, R, 1.0).astype(np.int64)
    k += np.arange(-1, n_units * n_units - 1, n_units, dtype=np.int64)  # i·n_units + r − 1
    return np.bincount(k[ok], minlength=n_units * n_units).reshape(n_units, n_units)


def score_histogram(S: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """H[i, k] = #{rows where unit i's score falls in bin k = ⌊(s − lo)·bins/(hi − lo)⌋} (clipped to
    [0, bins − 1]); NaN scores are not counted."""
    S = np.asarray(S, dtype=float)
    n = S.shape[-1]
    S = S.reshape(-1, n)
    ok = ~np.isnan(S)
    x = np.where(ok, S, lo)
    x -= lo
    x *= bins / (hi - lo)
    k = x.astype(np.int64)  # truncation = floor for x ≥ 0; x < 0 (rounding below lo) lands in bin 0 either way
    np.clip(k, 0, bins - 1, out=k)
    k += np.arange(n, dtype=np.int64) * bins
    return np.bincount(k[ok], minlength=n * bins).reshape(n, bins)


def quantiles_from_counts(counts: np.ndarray, values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles (len(q) × rows) of samples given as counts (rows × K) of the sorted distinct ``values`` (K).

    The sorted sample x_0 ≤ … ≤ x_{m−1} of a row has x_j = values[#{k: cum_k ≤ j}] (cum = cumulative counts).
    Numpy's 'linear' rule: h = (m − 1)·q, j = ⌊h⌋, γ = h − j; x_j + (x_{j+1} − x_j)·γ for γ < 0.5, else
    x_{j+1} − (x_{j+1} − x_j)·(1 − γ), and x_{m−1} when h ≥ m − 1 — the same operations as ``np.nanquantile``, so
    the result is identical to it on the expanded sample. A row with m = 0 gives NaN.
    """
    counts = np.asarray(counts, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    qa = np.asarray(q, dtype=float)
    m = counts.sum(1)  # rows
    cum = np.cumsum(counts, axis=1)
    h = (m[None, :] - 1) * qa[:, None]  # (q, rows)
    top = h >= m[None, :] - 1
    j = np.where(top, m[None, :] - 1, np.floor(h)).astype(np.int64)
    j = np.maximum(j, 0)
    jn = np.where(top, j, j + 1)
    gamma = h - np.where(top, -1, j)

    def order_stat(idx: np.ndarray) -> np.ndarray:  # (q, rows) positions → values
        pos = (cum[None, :, :] <= idx[:, :, None]).sum(-1)
        return values[np.minimum(pos, len(values) - 1)]

    a, b = order_stat(j), order_stat(jn)
    d = b - a
    out = np.where(gamma >= 0.5, b - d * (1 - gamma), a + d * gamma)
    return np.where(m[None, :] > 0, out, np.nan)


def _nan_stats(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per column: count, sum, M2 = Σ(x − mean)², min, max over non-NaN entries (NaN min/max for none)."""
    ok = ~np.isnan(S)
    cnt = ok.sum(0).astype(np.int64)
    s = np.where(ok, S, 0.0).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / cnt
        m2 = np.where(ok, (S - mean) ** 2, 0.0).sum(0)
    smin = np.fmin.reduce(S, axis=0) if len(S) else np.full(S.shape[1], np.nan)
    smax = np.fmax.reduce(S, axis=0) if len(S) else np.full(S.shape[1], np.nan)
    return cnt, s, m2, smin, smax


@dataclass
class StreamSummary:
    """Mergeable per-unit summary of replications (see the module doc). Build one per chunk with
    :meth:`from_chunk`, combine with :meth:`merge` (in place, in chunk order for bit-identical results)."""

    lo: float
    hi: float
    bins: int
    n: int
    rank_counts: np.ndarray  # units × n_units, int64
    score_hist: np.ndarray  # units × bins, int64
    score_count: np.ndarray  # units, int64
    score_sum: np.ndarray
    score_m2: np.ndarray
    score_min: np.ndarray
    score_max: np.ndarray
    choice_counts: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_chunk(cls, S: np.ndarray, R: np.ndarray, lo: float, hi: float, bins: int = DEFAULT_BINS,
                   choices: Mapping[str, tuple[np.ndarray, int]] | None = None) -> StreamSummary:
        """Summary of one chunk: scores S and ranks R (replications × units); ``choices``: factor → (index of the
        chosen alternative per replication, number of alternatives)."""
        S = np.asarray(S, dtype=float)
        n_units = S.shape[1]
        cnt, s, m2, smin, smax = _nan_stats(S)
        cc = {k: np.bincount(i, minlength=k_alt).astype(np.int64) for k, (i, k_alt) in (choices or {}).items()}
        return cls(float(lo), float(hi), int(bins), len(S), rank_count_matrix(R, n_units),
                   score_histogram(S, lo, hi, bins), cnt, s, m2, smin, smax, cc)

    def merge(self, other: StreamSummary) -> StreamSummary:
        """Add ``other`` (same grid) into this summary and return it: counts and histograms add, M2 by Chan's
        rule, min/max by fmin/fmax."""
        if (other.lo, other.hi, other.bins) != (self.lo, self.hi, self.bins):
            raise ValueError("cannot merge stream summaries on different histogram grids")
        na, nb = self.score_count, other.score_count
        n = na + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = other.score_sum / nb - self.score_sum / na
            extra = np.where((na > 0) & (nb > 0), delta * delta * (na * nb / np.maximum(n, 1)), 0.0)
        self.score_m2 = self.score_m2 + other.score_m2 + extra
        self.score_sum = self.score_sum + other.score_sum
        self.score_count = n
        self.score_min = np.fmin(self.score_min, other.score_min)
        self.score_max = np.fmax(self.score_max, other.score_max)
        self.rank_counts += other.rank_counts
        self.score_hist += other.score_hist
        self.n += other.n
        for k, v in other.choice_counts.items():
            self.choice_counts[k] = self.choice_counts[k] + v if k in self.choice_counts else v.copy()
        return self

    # -- derived statistics --------------------------------------------------------------------------------
    @property
    def bin_width(self) -> float:
        return (self.hi - self.lo) / self.bins

    @property
    def score_quantile_error(self) -> float:
        """Largest possible |estimated − exact| score quantile: half a bin width, (hi − lo)/(2·bins)."""
        return self.bin_width / 2

    @property
    def nbytes(self) -> int:
        """Bytes held by the counters (independent of the number of replications)."""
        arrs = [self.rank_counts, self.score_hist, self.score_count, self.score_sum, self.score_m2,
                self.score_min, self.score_max, *self.choice_counts.values()]
        return int(sum(a.nbytes for a in arrs))

    def rank_mean(self) -> np.ndarray:
        """Σ_r r·C[i, r] / Σ_r C[i, r] (exact: integer sums)."""
        r = np.arange(1, self.rank_counts.shape[1] + 1, dtype=np.int64)
        tot = self.rank_counts.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.rank_counts @ r) / tot

    def rank_quantiles(self, q: Sequence[float] = QUANTILES) -> np.ndarray:
        """Exact rank quantiles (len(q) × units), numpy 'linear'."""
        return quantiles_from_counts(self.rank_counts, np.arange(1, self.rank_counts.shape[1] + 1, dtype=float), q)

    def score_mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.score_sum / self.score_count

    def score_sd(self) -> np.ndarray:
        """Sample standard deviation √(M2/(n − 1)) (NaN for n < 2)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.score_count > 1, np.sqrt(self.score_m2 / (self.score_count - 1)), np.nan)

    def score_quantiles(self, q: Sequence[float] = QUANTILES) -> np.ndarray:
        """Score quantiles (len(q) × units) from the histogram: bin midpoints, linear rule, clipped to
        [min, max]; within :attr:`score_quantile_error` of the exact value."""
        mid = self.lo + (np.arange(self.bins) + 0.5) * self.bin_width
        est = quantiles_from_counts(self.score_hist, mid, q)
        return np.clip(est, self.score_min[None, :], self.score_max[None, :])
