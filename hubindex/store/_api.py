"""The store's convenience functions (re-exported by :mod:`hubindex.store`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from hubindex.store._compare import diff_editions, diff_summary
from hubindex.store._store import EditionStore
from hubindex.store._whatif import WhatIf
from hubindex.store.editions import open_store


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
