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

from typing import TYPE_CHECKING

from hubindex._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover
    from hubindex.store._api import cheapest_combination, diff, summary, what_it_takes
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

# The names load on first use (PEP 562), so `hubindex edition --help` imports neither pandas nor the engine.
_MODULES = {
    "hubindex.store._api": ("diff", "summary", "what_it_takes", "cheapest_combination"),
    "hubindex.store._compare": ("diff_editions", "diff_summary", "history"),
    "hubindex.store._explain": ("Explanation", "explain"),
    "hubindex.store._panel": ("build_panel", "comparable_spec", "global_goalposts", "impute_panel",
                              "panel_from_editions"),
    "hubindex.store._store": ("SCHEMA_VERSION", "Edition", "EditionStore", "default_store_path"),
    "hubindex.store._targets": ("load_targets", "observations", "shipped_targets_path", "target_status"),
    "hubindex.store._whatif": ("Goal", "WhatIf", "rank_range", "rank_range_enumerate"),
    "hubindex.store.editions": ("backcast", "build_editions", "method_vs_data", "open_store"),
}
_LAZY = {name: mod for mod, names in _MODULES.items() for name in names}

__getattr__ = lazy_getattr(__name__, _LAZY)
