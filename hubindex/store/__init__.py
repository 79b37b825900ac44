"""Editions over time: an immutable DuckDB edition store, comparisons, exact explanations of changes, city
targets, "what it takes", and panels.

>>> from hubindex import store as st
>>> s = st.open_store()                      # $HUBINDEX_STORE or the user data folder; builds 2021…2025 once
>>> st.diff("2024", "2025", store=s)         # per-city rank/score change, entries, exits
>>> st.history("CN-HGH", store=s)            # a city's rank and score in every edition
>>> ex = st.explain("2024", "2025", store=s) # Shapley contributions that add up to every change
>>> st.what_it_takes("CN-HGH", rank=5)       # smallest single-indicator change, raw units
>>> st.rank_range(hubindex.build())          # best / worst rank over admissible weights

Web app: open the store per request with ``open_store(read_only=True, init=False)`` (or
``EditionStore(path, read_only=True)``); never hold a connection across requests (DuckDB lets one process
write at a time and a held connection would block publishing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hubindex.store._compare import diff_editions, diff_summary, history
from hubindex.store._explain import Explanation, explain
from hubindex.store._panel import (
    build_panel,
    comparable_spec,
    global_goalposts,
    impute_panel,
    panel_from_editions,
)
from hubindex.store._store import SCHEMA_VERSION, Edition, EditionStore, default_store_path
from hubindex.store._targets import load_targets, observations, shipped_targets_path, target_status
from hubindex.store._whatif import Goal, WhatIf, rank_range, rank_range_enumerate
from hubindex.store.editions import backcast, build_editions, method_vs_data, open_store

__all__ = [
    "EditionStore", "Edition", "SCHEMA_VERSION", "default_store_path", "open_store", "build_editions",
    "backcast", "method_vs_data",
    "diff", "summary", "history", "diff_editions", "diff_summary",
    "explain", "Explanation",
    "WhatIf", "Goal", "what_it_takes", "cheapest_combination", "rank_range", "rank_range_enumerate",
    "load_targets", "target_status", "observations", "shipped_targets_path",
    "impute_panel", "build_panel", "comparable_spec", "global_goalposts", "panel_from_editions",
]


def _store(store: EditionStore | str | Path | None) -> EditionStore:
    if isinstance(store, EditionStore):
        return store
    return open_store(store)


def diff(a: str, b: str, store: EditionStore | str | Path | None = None) -> pd.DataFrame:
    """Per-unit change from edition ``a`` to ``b``: ranks, scores, tiers, status (up/down/unchanged/entry/exit)."""
    s = _store(store)
    return diff_editions(s.get(a), s.get(b))


def summary(a: str, b: str, store: EditionStore | str | Path | None = None) -> dict[str, Any]:
    """Counts up/unchanged/down, entries/exits, gap rank 1 – rank 10, averages by region and tier."""
    s = _store(store)
    return diff_summary(s.get(a), s.get(b))


def _whatif(edition: str | None, store: EditionStore | str | Path | None, spec: Any) -> WhatIf:
    if edition is not None:
        return WhatIf.from_edition(_store(store).get(edition))
    return WhatIf.from_spec(spec)


def what_it_takes(unit: str, *, rank: int | None = None, tier: str | None = None, beat: str | None = None,
                  edition: str | None = None, store: EditionStore | str | Path | None = None, spec: Any = None,
                  **kw: Any) -> pd.DataFrame:
    """Smallest change of each single indicator (raw units) that brings ``unit`` to the goal; see
    :meth:`WhatIf.single`. Builds ``spec`` (default: the shipped index), or uses a stored ``edition``."""
    return _whatif(edition, store, spec).single(unit, rank=rank, tier=tier, beat=beat, **kw)


def cheapest_combination(unit: str, *, rank: int | None = None, tier: str | None = None, beat: str | None = None,
                         edition: str | None = None, store: EditionStore | str | Path | None = None,
                         spec: Any = None, **kw: Any) -> dict[str, Any]:
    """The cheapest combination of indicator changes reaching the goal (LP); see :meth:`WhatIf.combination`."""
    return _whatif(edition, store, spec).combination(unit, rank=rank, tier=tier, beat=beat, **kw)
