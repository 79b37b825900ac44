"""Split column- or row-independent NumPy work over threads (NumPy releases the GIL in sorts, selections,
gathers and scatters of numeric arrays). Each item is computed exactly as in one call, so results do not
depend on the number of threads."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["over_chunks", "PARALLEL_MIN"]

PARALLEL_MIN = 1_000_000  # array elements: below this, starting threads costs more than it saves


def over_chunks(n: int, fn: Callable[[slice], object], size: int, max_workers: int = 8, min_chunk: int = 2
                ) -> None:
    """Call ``fn(slice)`` on contiguous chunks covering ``range(n)``: one chunk per CPU (at most ``max_workers``,
    each of at least ``min_chunk`` items) in a thread pool when the work is large (``size`` ≥ PARALLEL_MIN
    elements), otherwise once on everything.

    ``min_chunk`` 2 by default: NumPy may sum a lone column of a C-ordered matrix pairwise but several columns
    one row after another, so a chunk of one item could round differently from the whole.
    """
    workers = min(os.cpu_count() or 1, max_workers, n // max(min_chunk, 1))
    if size < PARALLEL_MIN or workers < 2:
        fn(slice(0, n))
        return
    b = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(fn, [slice(int(b[i]), int(b[i + 1])) for i in range(workers)]))
