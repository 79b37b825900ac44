"""Run design chunks through an :class:`~hubindex.audit.model.AuditModel`, locally or on Dask.

Chunks are fixed by the design (their rows, or for Monte Carlo their (seed, chunk index) random streams), so
the result does not depend on the backend. :func:`run_chunks` returns every chunk's arrays;
:func:`reduce_chunks` hands each chunk's (small) result to a callback in chunk order as soon as it is ready, with
at most ``window`` chunks in flight, so memory stays bounded for any number of chunks. Dask is optional
(``pip install hubindex[dask]``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from hubindex.audit.model import AuditModel
from hubindex.errors import ComputeError

__all__ = ["mc_design_chunk", "run_chunks", "reduce_chunks", "Backend"]

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


def _one(m: AuditModel, t: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _eval_mc(m, *t[1:]) if t[0] == "mc" else _eval_rows(m, t[1])


@contextmanager
def _dask_client(scheduler: str | None) -> Iterator[Any]:
    """A Dask client on ``scheduler`` or on a local 2-worker cluster (closed afterwards)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ComputeError("the dask backend needs the 'dask' extra: pip install 'hubindex[dask]'") from None
    own = None
    if scheduler is None:
        # no dashboard; the scheduler's HTTP server (health checks) on a free loopback port, so a busy port 8787
        # (another cluster, a notebook) does not print Dask's "Port 8787 is already in use" warning
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Port \d+ is already in use", category=UserWarning)
            own = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                               scheduler_kwargs={"dashboard": False})
        client = Client(own)
    else:
        try:
            client = Client(scheduler, timeout=3)
        except OSError as e:
            raise ComputeError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    try:
        yield client
    finally:
        client.close()
        if own is not None:
            own.close()


def _check_backend(backend: str) -> None:
    if backend not in ("local", "dask"):
        raise ComputeError(f"unknown backend '{backend}'; expected 'local' or 'dask'")


def run_chunks(model: AuditModel, tasks: Sequence[tuple[Any, ...]], *, backend: Backend = "local",
               scheduler: str | None = None, progress: Callable[[int], None] | None = None
               ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Evaluate tasks in order. A task is ``("mc", seed, chunk, rows)`` or ``("rows", U)``; each returns
    (design rows, scores, ranks). ``progress(rows_done)`` is called as chunks finish."""
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def keep(i: int, r: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        out.append(r)
        if progress:
            progress(len(r[0]))

    reduce_chunks(model, tasks, _one, keep, backend=backend, scheduler=scheduler, window=None)
    return out


def reduce_chunks(model: AuditModel, tasks: Sequence[Any], fn: Callable[[AuditModel, Any], Any],
                  consume: Callable[[int, Any], None], *, backend: Backend = "local", scheduler: str | None = None,
                  window: int | None = 8) -> None:
    """Compute ``fn(model, task)`` for every task (on Dask: on the workers, the model scattered once) and call
    ``consume(i, result)`` in task order i = 0, 1, …. On Dask at most ``window`` tasks are submitted and not yet
    consumed (``None``: all at once), so neither the workers nor the client hold more than ``window`` results."""
    _check_backend(backend)
    if backend == "local":
        for i, t in enumerate(tasks):
            consume(i, fn(model, t))
        return
    with _dask_client(scheduler) as client:
        from dask.distributed import as_completed

        [m] = client.scatter([model], broadcast=True)
        n = len(tasks)
        w = n if window is None else max(1, window)
        pos: dict[str, int] = {}
        ready: dict[int, Any] = {}
        nxt_submit = nxt_consume = 0
        ac = as_completed()
        while nxt_submit < min(w, n):
            f = client.submit(fn, m, tasks[nxt_submit], pure=False)
            pos[f.key] = nxt_submit
            ac.add(f)
            nxt_submit += 1
        for f in ac:
            ready[pos.pop(f.key)] = f.result()
            f.release()
            while nxt_consume in ready:
                consume(nxt_consume, ready.pop(nxt_consume))
                nxt_consume += 1
                if nxt_submit < n:
                    g = client.submit(fn, m, tasks[nxt_submit], pure=False)
                    pos[g.key] = nxt_submit
                    ac.add(g)
                    nxt_submit += 1
