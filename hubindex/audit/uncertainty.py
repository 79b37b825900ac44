"""Monte Carlo uncertainty analysis: N replications of the index under randomly drawn modelling choices.

Per unit: nominal rank and score, and over the replications the mean, median, 5th and 95th percentile of the
rank and of the score (percentiles as numpy's 'linear' = R's type 7, what COINr's ``get_sensitivity`` uses).
Replications are drawn and evaluated in chunks (``config.chunk``), chunk c from the random stream
SeedSequence([seed, c]): same seed → same result, on any backend.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.audit.backend import Backend, run_chunks
from hubindex.audit.config import UncertaintyConfig, parse_uncertainty
from hubindex.audit.model import AuditModel
from hubindex.io import atomic_dir

__all__ = ["UncertaintyResult", "uncertainty", "summarise"]


def summarise(units: np.ndarray, names: np.ndarray, nominal_score: np.ndarray, nominal_rank: np.ndarray,
              S: np.ndarray, R: np.ndarray) -> pd.DataFrame:
    """Per unit (columns of S and R, replications in rows): nominal, mean, median, p05 and p95 of ranks and
    scores, ignoring replications where the unit has no score."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rq = np.nanquantile(R, [0.05, 0.5, 0.95], axis=0)
        sq = np.nanquantile(S, [0.05, 0.5, 0.95], axis=0)
        df = pd.DataFrame({
            "name": names, "nominal_rank": nominal_rank, "rank_mean": np.nanmean(R, 0), "rank_median": rq[1],
            "rank_p05": rq[0], "rank_p95": rq[2], "nominal_score": nominal_score, "score_mean": np.nanmean(S, 0),
            "score_median": sq[1], "score_p05": sq[0], "score_p95": sq[2],
        }, index=pd.Index(units, name="unit"))
    return df.sort_values(["nominal_rank", "rank_median"], kind="stable")


@dataclass(frozen=True)
class UncertaintyResult:
    """Replications (rows) × units (columns) of the target's scores and ranks, with the design behind them."""

    target: str
    units: np.ndarray
    names: np.ndarray
    nominal_score: np.ndarray
    nominal_rank: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray
    design: np.ndarray
    choices: pd.DataFrame
    config: UncertaintyConfig

    @property
    def n(self) -> int:
        return len(self.scores)

    def summary(self) -> pd.DataFrame:
        """The rank and score intervals per unit (see :func:`summarise`)."""
        return summarise(self.units, self.names, self.nominal_score, self.nominal_rank, self.scores, self.ranks)

    def write(self, out: Path) -> list[str]:
        """rank_intervals.csv, choices.csv (the alternatives of each replication), ranks.csv (replications ×
        units) and config.json into ``out``, replaced atomically."""
        with atomic_dir(Path(out)) as tmp:
            self.summary().to_csv(tmp / "rank_intervals.csv")
            self.choices.rename_axis("replication").to_csv(tmp / "choices.csv")
            pd.DataFrame(self.ranks, columns=self.units).rename_axis("replication").to_csv(
                tmp / "ranks.csv", float_format="%.0f")
            (tmp / "config.json").write_text(json.dumps(
                {"target": self.target, "n": self.n, **self.config.model_dump(mode="json")}, indent=2))
        return ["rank_intervals.csv", "choices.csv", "ranks.csv", "config.json"]


def uncertainty(spec: Any = None, config: UncertaintyConfig | dict[str, Any] | None = None, *,
                n: int | None = None, seed: int | None = None, backend: Backend = "local",
                scheduler: str | None = None, model: AuditModel | None = None,
                progress: Callable[[int, int], None] | None = None) -> UncertaintyResult:
    """Run the Monte Carlo uncertainty analysis declared in the spec's ``uncertainty`` block (or ``config``).

    ``n``/``seed`` override the block's. ``backend='dask'`` runs the chunks on a local 2-worker cluster or on
    ``scheduler``; the result is identical to the local backend. ``progress(done, total)`` reports replications.
    """
    from hubindex.api import as_spec

    over = {k: v for k, v in (("n", n), ("seed", seed)) if v is not None}
    if model is None:
        s = as_spec(spec)
        cfg = config if isinstance(config, UncertaintyConfig) else parse_uncertainty(
            config if config is not None else s.uncertainty)
        if over:
            cfg = parse_uncertainty({**cfg.model_dump(), **over})
        model = AuditModel(s, cfg)
    cfg = model.config
    if over:  # a prepared model keeps its weight sets; only the replications change
        cfg = parse_uncertainty({**cfg.model_dump(), **over})
    N, chunk = cfg.n, cfg.chunk
    tasks = [("mc", cfg.seed, c, min(chunk, N - c * chunk)) for c in range(math.ceil(N / chunk))]
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress:
            progress(done, N)

    parts = run_chunks(model, tasks, backend=backend, scheduler=scheduler, progress=tick)
    U = np.concatenate([p[0] for p in parts])
    S = np.concatenate([p[1] for p in parts])
    R = np.concatenate([p[2] for p in parts])
    names = model.unit_names
    return UncertaintyResult(model.target, model.units, names, model.nominal_score, model.nominal_rank, S, R, U,
                             model.choice_table(U), cfg)
