"""Variance-based (Sobol) sensitivity analysis of ranks to the uncertain modelling choices.

Design: SALib's Saltelli/Sobol' sample with ``calc_second_order=False`` — N blocks of d + 2 rows (A, AB₁ … AB_d,
B), N(d + 2) runs in all; a continuous weight-noise factor (one column per noisy weight) is one SALib group.
Output y = mean over units of |rank − nominal rank| of the target. Estimators (COINr ``SA_estimate``;
Saltelli et al. 2010, Jansen 1999), with Var(y) the sample variance (n − 1) of the 2N values y_A ∪ y_B:

    first order  S_i  = mean(y_B · (y_ABi − y_A)) / Var(y)
    total order  ST_i = Σ (y_A − y_ABi)² / (2N · Var(y))

Confidence intervals: percentile bootstrap over the N blocks with Var(y) fixed (COINr: 5th–95th percentile).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.audit.backend import Backend, run_chunks
from hubindex.audit.config import UncertaintyConfig
from hubindex.audit.model import AuditModel, resolve_model
from hubindex.errors import ComputeError
from hubindex.outdir import atomic_dir

__all__ = ["saltelli_design", "sobol_indices", "split_design_output", "SensitivityResult", "sensitivity",
           "mean_abs_rank_change"]


def saltelli_design(names: list[str], groups: list[str], N: int, seed: int) -> np.ndarray:
    """SALib Sobol'-sequence Saltelli design on [0, 1)^c (columns ``names``, factors ``groups``): N(d + 2) rows,
    d = number of distinct groups; scrambled with ``seed``."""
    import warnings

    from SALib.sample import sobol

    problem: dict[str, Any] = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if len(set(groups)) < len(groups):
        problem["groups"] = groups
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when N is not a power of 2; the estimators stay valid
        X = sobol.sample(problem, N, calc_second_order=False, scramble=True, seed=seed)
    return np.minimum(X, np.nextafter(1.0, 0.0))


def split_design_output(y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y_A (N,), y_B (N,), y_AB (N, d)) from outputs in SALib's row order (A, AB₁ … AB_d, B per block)."""
    Y = np.asarray(y, dtype=float).reshape(-1, d + 2)
    return Y[:, 0], Y[:, -1], Y[:, 1:-1]


def _estimate(yA: np.ndarray, yB: np.ndarray, yAB: np.ndarray, var: float | np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """S_i and ST_i for a given Var(y); batched over leading axes (yA, yB: (..., N); yAB: (..., N, d))."""
    N = yA.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        S = np.mean(yB[..., None] * (yAB - yA[..., None]), axis=-2) / var
        ST = np.sum((yA[..., None] - yAB) ** 2, axis=-2) / (2 * N * var)
    return S, ST


def sobol_indices(yA: np.ndarray, yB: np.ndarray, yAB: np.ndarray, names: list[str] | None = None,
                  n_boot: int = 1000, conf: float = 0.90, seed: int = 0) -> pd.DataFrame:
    """First-order S_i = mean(y_B(y_ABi − y_A))/Var(y) and Jansen total ST_i = Σ(y_A − y_ABi)²/(2N·Var(y)),
    Var(y) = var(y_A ∪ y_B) with n − 1. Intervals as COINr's ``SA_estimate``: ``n_boot`` resamples (with
    replacement) of the N blocks with Var(y) held fixed, percentiles (1 ± conf)/2 — 5 % and 95 % by default.
    Var(y) = 0 → NaN."""
    yA, yB, yAB = (np.asarray(a, dtype=float) for a in (yA, yB, yAB))
    N, d = yAB.shape
    var = float(np.var(np.concatenate([yA, yB]), ddof=1)) if 2 * N > 1 else float("nan")
    if not var > 0:
        var = float("nan")
    S, ST = _estimate(yA, yB, yAB, var)
    rng = np.random.default_rng(seed)
    Sb = np.empty((n_boot, d))
    STb = np.empty((n_boot, d))
    step = max(1, 2_000_000 // max(N * d, 1))
    for b0 in range(0, n_boot, step):
        idx = rng.integers(0, N, size=(min(step, n_boot - b0), N))
        Sb[b0:b0 + len(idx)], STb[b0:b0 + len(idx)] = _estimate(yA[idx], yB[idx], yAB[idx], var)
    import warnings

    q = [(1 - conf) / 2, 1 - (1 - conf) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        qS = np.nanquantile(Sb, q, axis=0) if n_boot else np.full((2, d), np.nan)
        qT = np.nanquantile(STb, q, axis=0) if n_boot else np.full((2, d), np.nan)
    return pd.DataFrame({"S1": S, "S1_low": qS[0], "S1_high": qS[1], "ST": ST, "ST_low": qT[0], "ST_high": qT[1]},
                        index=pd.Index(names or [f"x{i + 1}" for i in range(d)], name="factor"))


def mean_abs_rank_change(R: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """y = mean over units with a rank of |rank − nominal rank|, per replication (row)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.abs(R - nominal), axis=-1)


@dataclass(frozen=True)
class SensitivityResult:
    """Sobol indices per uncertain factor, the design and its outputs."""

    target: str
    indices: pd.DataFrame
    N: int
    factors: tuple[str, ...]
    design: np.ndarray
    y: np.ndarray
    config: UncertaintyConfig

    @property
    def runs(self) -> int:
        return len(self.y)

    def write(self, out: Path) -> list[str]:
        """sobol_indices.csv, outputs.csv (design row → y) and config.json into ``out``, replaced atomically."""
        with atomic_dir(Path(out), "audit sensitivity") as tmp:
            self.indices.to_csv(tmp / "sobol_indices.csv")
            pd.DataFrame({"mean_abs_rank_change": self.y}).rename_axis("run").to_csv(tmp / "outputs.csv")
            (tmp / "config.json").write_text(json.dumps(
                {"target": self.target, "N": self.N, "runs": self.runs, "factors": list(self.factors),
                 "output": "mean absolute rank change vs nominal", **self.config.model_dump(mode="json")},
                indent=2))
        return ["sobol_indices.csv", "outputs.csv", "config.json"]


def sensitivity(spec: Any = None, config: UncertaintyConfig | dict[str, Any] | None = None, *,
                n: int | None = None, seed: int | None = None, n_boot: int = 1000, conf: float = 0.90,
                backend: Backend = "local", scheduler: str | None = None, model: AuditModel | None = None,
                progress: Callable[[int, int], None] | None = None) -> SensitivityResult:
    """Sobol sensitivity of the target's ranks to each uncertain factor: N(d + 2) runs (N = ``n`` or the
    block's ``n``), output = mean absolute rank change versus nominal."""
    over = {k: v for k, v in (("n", n), ("seed", seed)) if v is not None}
    model, cfg = resolve_model(spec, config, model, over)
    cols, groups = [], []
    for f in model.factors:
        for j in range(f.ncols):
            cols.append(f"{f.name}[{j}]" if f.ncols > 1 else f.name)
            groups.append(f.name)
    names = [f.name for f in model.factors]
    if len(names) < 2:
        raise ComputeError("sensitivity: a Saltelli design needs at least two uncertain factors")
    U = saltelli_design(cols, groups, cfg.n, cfg.seed)
    total = len(U)
    step = cfg.chunk * (len(names) + 2)
    tasks = [("rows", U[i:i + step]) for i in range(0, total, step)]
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress:
            progress(done, total)

    parts = run_chunks(model, tasks, backend=backend, scheduler=scheduler, progress=tick)
    R = np.concatenate([p[2] for p in parts])
    y = mean_abs_rank_change(R, model.nominal_rank)
    yA, yB, yAB = split_design_output(y, len(names))
    idx = sobol_indices(yA, yB, yAB, names, n_boot=n_boot, conf=conf, seed=cfg.seed)
    return SensitivityResult(model.target, idx, cfg.n, tuple(names), U, y, cfg)
