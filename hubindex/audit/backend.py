"""Run design chunks through an :class:`~hubindex.audit.model.AuditModel`, locally or on Dask.

Chunks are fixed by the design (their rows, or for Monte Carlo their (seed, chunk index) random streams), so
the result does not depend on the backend. Dask is optional (``pip install hubindex[dask]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from hubindex.audit.model import AuditModel
from hubindex.errors import ComputeError

__all__ = ["mc_design_chunk", "run_chunks", "Backend"]

Backend = Literal["local", "dask"]


def mc_design_chunk(seed: int, chunk: int, rows: int, ncols: int) -> np.ndarray:
    """Uniform design rows of Monte Carlo chunk ``chunk``: its own stream SeedSequence([seed, chunk])."""
    return np.random.default_rng(np.random.SeedSequence([seed, chunk])).random((rows, ncols))


def _eval_mc(model: AuditModel, seed: int, chunk: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    U = mc_design_chunk(seed, chunk, rows, model.ncols)
    S, R = model.evaluate(U)
    return U, S, R


def _eval_rows(model: AuditModel, U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    S, R = model.evaluate(U)
    return U, S, R


def run_chunks(model: AuditModel, tasks: Sequence[tuple[Any, ...]], *, backend: Backend = "local",
               scheduler: str | None = None, progress: Callable[[int], None] | None = None
               ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Evaluate tasks in order. A task is ``("mc", seed, chunk, rows)`` or ``("rows", U)``; each returns
    (design rows, scores, ranks). ``progress(rows_done)`` is called as chunks finish."""

    def one(m: AuditModel, t: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _eval_mc(m, *t[1:]) if t[0] == "mc" else _eval_rows(m, t[1])

    if backend == "local":
        out = []
        for t in tasks:
            r = one(model, t)
            out.append(r)
            if progress:
                progress(len(r[0]))
        return out
    if backend != "dask":
        raise ComputeError(f"unknown backend '{backend}'; expected 'local' or 'dask'")
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ComputeError("the dask backend needs the 'dask' extra: pip install 'hubindex[dask]'") from None

    own = None
    if scheduler is None:
        own = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(own)
    else:
        try:
            client = Client(scheduler, timeout=3)
        except OSError as e:
            raise ComputeError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    try:
        [m] = client.scatter([model], broadcast=True)
        futs = [client.submit(one, m, t, pure=False) for t in tasks]
        pos = {f.key: i for i, f in enumerate(futs)}
        res: list[Any] = [None] * len(futs)
        for f in as_completed(futs):
            res[pos[f.key]] = f.result()
            if progress:
                progress(len(res[pos[f.key]][0]))
        return res
    finally:
        client.close()
        if own is not None:
            own.close()
