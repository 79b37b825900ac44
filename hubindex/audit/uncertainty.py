"""Monte Carlo uncertainty analysis: N replications of the index under randomly drawn modelling choices.

Per unit: nominal rank and score, and over the replications the mean, median, 5th and 95th percentile of the
rank and of the score (percentiles as numpy's 'linear' = R's type 7, what COINr's ``get_sensitivity`` uses), the
score's standard deviation (n − 1), minimum and maximum. Replications are drawn and evaluated in chunks
(``config.chunk``), chunk c from the random stream SeedSequence([seed, c]): same seed → same result, on any
backend.

Two ways to keep the output (``keep``):

* ``"all"``: every replication's target ranks and scores (N × units) and design — memory grows with N;
* ``"summary"``: only a :class:`~hubindex.audit.streaming.StreamSummary` per unit, updated chunk by chunk —
  memory independent of N. Rank statistics are exact (identical to ``"all"``); score mean, sd, min and max are
  exact up to rounding; score quantiles come from a 4,096-bin histogram and are within
  :attr:`UncertaintyResult.score_quantile_error` (half a bin width) of the exact ones.
* ``"auto"`` (default): ``"all"`` for N ≤ :data:`AUTO_KEEP_ALL_MAX_N`, ``"summary"`` above.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hubindex.audit.backend import Backend, mc_design_chunk, reduce_chunks, run_chunks
from hubindex.audit.config import UncertaintyConfig
from hubindex.audit.model import AuditModel, resolve_model
from hubindex.audit.streaming import QUANTILES, StreamSummary, rank_count_matrix
from hubindex.outdir import atomic_dir

__all__ = ["UncertaintyResult", "uncertainty", "summarise", "AUTO_KEEP_ALL_MAX_N", "Keep"]

AUTO_KEEP_ALL_MAX_N = 10_000  # keep='auto': every replication up to this N, the streaming summary above
Keep = Literal["auto", "all", "summary"]

_COLS = ["name", "nominal_rank", "rank_mean", "rank_median", "rank_p05", "rank_p95", "nominal_score",
         "score_mean", "score_median", "score_p05", "score_p95", "score_sd", "score_min", "score_max"]


def _table(units: np.ndarray, cols: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(cols, index=pd.Index(units, name="unit"))[_COLS]
    return df.sort_values(["nominal_rank", "rank_median"], kind="stable")


def summarise(units: np.ndarray, names: np.ndarray, nominal_score: np.ndarray, nominal_rank: np.ndarray,
              S: np.ndarray, R: np.ndarray) -> pd.DataFrame:
    """Per unit (columns of S and R, replications in rows): nominal, mean, median, p05 and p95 of ranks and
    scores, and the scores' sd (n − 1), min and max, ignoring replications where the unit has no score."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rq = np.nanquantile(R, QUANTILES, axis=0)
        sq = np.nanquantile(S, QUANTILES, axis=0)
        return _table(units, {
            "name": names, "nominal_rank": nominal_rank, "rank_mean": np.nanmean(R, 0), "rank_median": rq[1],
            "rank_p05": rq[0], "rank_p95": rq[2], "nominal_score": nominal_score, "score_mean": np.nanmean(S, 0),
            "score_median": sq[1], "score_p05": sq[0], "score_p95": sq[2],
            "score_sd": np.nanstd(S, 0, ddof=1) if len(S) > 1 else np.full(S.shape[1], np.nan),
            "score_min": np.nanmin(S, 0), "score_max": np.nanmax(S, 0)})


def summarise_stream(units: np.ndarray, names: np.ndarray, nominal_score: np.ndarray, nominal_rank: np.ndarray,
                     st: StreamSummary) -> pd.DataFrame:
    """The :func:`summarise` table from a streaming summary (ranks exact, score quantiles ± half a bin)."""
    rq, sq = st.rank_quantiles(QUANTILES), st.score_quantiles(QUANTILES)
    return _table(units, {
        "name": names, "nominal_rank": nominal_rank, "rank_mean": st.rank_mean(), "rank_median": rq[1],
        "rank_p05": rq[0], "rank_p95": rq[2], "nominal_score": nominal_score, "score_mean": st.score_mean(),
        "score_median": sq[1], "score_p05": sq[0], "score_p95": sq[2], "score_sd": st.score_sd(),
        "score_min": st.score_min, "score_max": st.score_max})


@dataclass(frozen=True)
class UncertaintyResult:
    """The replications' target scores and ranks (replications × units) with the design behind them — or, in
    summary mode (``keep == 'summary'``), ``scores``, ``ranks``, ``design`` and ``choices`` are ``None`` and
    ``stream`` holds the bounded per-unit summary. :meth:`summary`, :meth:`rank_counts`, :meth:`choice_counts`
    and :meth:`write` work in both modes."""

    target: str
    units: np.ndarray
    names: np.ndarray
    nominal_score: np.ndarray
    nominal_rank: np.ndarray
    scores: np.ndarray | None
    ranks: np.ndarray | None
    design: np.ndarray | None
    choices: pd.DataFrame | None
    config: UncertaintyConfig
    stream: StreamSummary | None = None
    factor_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of replications."""
        if self.ranks is not None:
            return len(self.ranks)
        assert self.stream is not None
        return self.stream.n

    @property
    def keep(self) -> str:
        """'all' (every replication kept) or 'summary' (streaming summary only)."""
        return "all" if self.ranks is not None else "summary"

    @property
    def score_quantile_error(self) -> float:
        """Largest possible error of the score quantiles in :meth:`summary`: 0 with every replication kept,
        half a histogram bin width in summary mode. Rank statistics are always exact."""
        return 0.0 if self.stream is None else self.stream.score_quantile_error

    def summary(self) -> pd.DataFrame:
        """The rank and score intervals per unit (see :func:`summarise`)."""
        if self.ranks is not None and self.scores is not None:
            df = summarise(self.units, self.names, self.nominal_score, self.nominal_rank, self.scores, self.ranks)
        else:
            assert self.stream is not None
            df = summarise_stream(self.units, self.names, self.nominal_score, self.nominal_rank, self.stream)
        df.attrs = {"n": self.n, "keep": self.keep, "score_quantile_error": self.score_quantile_error}
        return df

    def rank_counts(self) -> pd.DataFrame:
        """Units × ranks 1..n_units: in how many replications each unit took each rank (the whole rank
        distribution; missing ranks not counted)."""
        if self.ranks is not None:
            C = rank_count_matrix(self.ranks, len(self.units))
        else:
            assert self.stream is not None
            C = self.stream.rank_counts
        return pd.DataFrame(C, index=pd.Index(self.units, name="unit"),
                            columns=pd.RangeIndex(1, len(self.units) + 1, name="rank"))

    def choice_counts(self) -> pd.DataFrame:
        """How often each alternative of each discrete factor was drawn (factor, alternative, count)."""
        rows = []
        for name, labels in self.factor_labels.items():
            if self.choices is not None:
                counts = self.choices[name].value_counts().reindex(list(labels), fill_value=0).to_numpy()
            else:
                assert self.stream is not None
                counts = self.stream.choice_counts.get(name, np.zeros(len(labels), dtype=np.int64))
            rows += [(name, lab, int(c)) for lab, c in zip(labels, counts, strict=True)]
        return pd.DataFrame(rows, columns=["factor", "alternative", "count"])

    def write(self, out: Path) -> list[str]:
        """rank_intervals.csv, rank_counts.csv (units × ranks), choice_counts.csv and config.json into ``out``,
        plus with every replication kept choices.csv (the alternatives of each replication) and ranks.csv
        (replications × units); replaced atomically."""
        files = ["rank_intervals.csv", "rank_counts.csv", "choice_counts.csv"]
        with atomic_dir(Path(out), "audit uncertainty") as tmp:
            self.summary().to_csv(tmp / "rank_intervals.csv")
            self.rank_counts().to_csv(tmp / "rank_counts.csv")
            self.choice_counts().to_csv(tmp / "choice_counts.csv", index=False)
            if self.ranks is not None and self.choices is not None:
                self.choices.rename_axis("replication").to_csv(tmp / "choices.csv")
                pd.DataFrame(self.ranks, columns=self.units).rename_axis("replication").to_csv(
                    tmp / "ranks.csv", float_format="%.0f")
                files += ["choices.csv", "ranks.csv"]
            info: dict[str, Any] = {"target": self.target, "n": self.n, **self.config.model_dump(mode="json"),
                                    "keep": self.keep, "score_quantile_error": self.score_quantile_error}
            if self.stream is not None:
                info["score_histogram"] = {"lo": self.stream.lo, "hi": self.stream.hi, "bins": self.stream.bins}
            (tmp / "config.json").write_text(json.dumps(info, indent=2))
        return [*files, "config.json"]


def _mc_summary(model: AuditModel, task: tuple[int, int, int, float, float, int]) -> StreamSummary:
    """Evaluate Monte Carlo chunk ``task = (seed, chunk, rows, lo, hi, bins)`` and reduce it to a summary (runs
    on a Dask worker for the dask backend)."""
    seed, chunk, rows, lo, hi, bins = task
    U = mc_design_chunk(seed, chunk, rows, model.ncols)
    S, R = model.evaluate(U)
    ks = {f.name: f.k for f in model.factors if f.k}
    ch = {k: (v, ks[k]) for k, v in model.choices(U).items()}
    return StreamSummary.from_chunk(S, R, lo, hi, bins, ch)


def _histogram_range(model: AuditModel) -> tuple[float, float]:
    """The model's score bounds, padded by 1e-9 of the span against rounding (or ±0.5 for a constant)."""
    lo, hi = model.score_bounds()
    if hi <= lo:
        return lo - 0.5, hi + 0.5
    pad = 1e-9 * (hi - lo)
    return lo - pad, hi + pad


def uncertainty(spec: Any = None, config: UncertaintyConfig | dict[str, Any] | None = None, *,
                n: int | None = None, seed: int | None = None, backend: Backend = "local",
                scheduler: str | None = None, model: AuditModel | None = None,
                progress: Callable[[int, int], None] | None = None, keep: Keep | None = None,
                bins: int | None = None) -> UncertaintyResult:
    """Run the Monte Carlo uncertainty analysis declared in the spec's ``uncertainty`` block (or ``config``).

    ``n``/``seed``/``keep``/``bins`` override the block's (``n``, ``seed``, ``keep``, ``score_bins``).
    ``keep='summary'`` streams the replications into bounded per-unit counters (see the module doc); 'auto'
    does so above :data:`AUTO_KEEP_ALL_MAX_N` replications. ``backend='dask'`` runs the chunks on a local
    2-worker cluster or on ``scheduler``; the result is identical to the local backend. ``progress(done,
    total)`` reports replications.
    """
    over = {k: v for k, v in (("n", n), ("seed", seed), ("keep", keep), ("score_bins", bins)) if v is not None}
    model, cfg = resolve_model(spec, config, model, over)
    N, chunk = cfg.n, cfg.chunk
    mode = cfg.keep if cfg.keep != "auto" else ("all" if N <= AUTO_KEEP_ALL_MAX_N else "summary")
    sizes = [(c, min(chunk, N - c * chunk)) for c in range(math.ceil(N / chunk))]
    labels = {f.name: f.labels for f in model.factors if f.k}
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress:
            progress(done, N)

    base = (model.target, model.units, model.unit_names, model.nominal_score, model.nominal_rank)
    if mode == "all":
        parts = run_chunks(model, [("mc", cfg.seed, c, r) for c, r in sizes], backend=backend,
                           scheduler=scheduler, progress=tick)
        U = np.concatenate([p[0] for p in parts])
        S = np.concatenate([p[1] for p in parts])
        R = np.concatenate([p[2] for p in parts])
        return UncertaintyResult(*base, S, R, U, model.choice_table(U), cfg, None, labels)

    lo, hi = _histogram_range(model)
    acc: list[StreamSummary] = []

    def consume(i: int, part: StreamSummary) -> None:
        if acc:
            acc[0].merge(part)
        else:
            acc.append(part)
        tick(part.n)

    reduce_chunks(model, [(cfg.seed, c, r, lo, hi, cfg.score_bins) for c, r in sizes], _mc_summary, consume,
                  backend=backend, scheduler=scheduler)
    return UncertaintyResult(*base, None, None, None, None, cfg, acc[0], labels)
