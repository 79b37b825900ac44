"""Editions for the dashboard: the index's history (``2021`` … ``2025``), rank changes, slope charts, city history.

Source, in order: an :class:`hubindex.store.EditionStore` given to the app (``hubindex serve --store PATH``) or the
user's default store (``$HUBINDEX_STORE`` / user data folder) when it exists and holds editions — read once,
read-only, with no connection held afterwards (publishing is never blocked); otherwise, when the served index is
one of the shipped dataset editions, each edition is built in memory with
``hubindex.build(hubindex.datasets.edition_spec(year))`` on first use and cached (no store file is written).

Comparisons reuse the store's own :func:`hubindex.store.diff_editions` / :func:`~hubindex.store.diff_summary` on
light edition snapshots, so the dashboard and ``hubindex edition diff`` agree.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.errors import StoreError

__all__ = ["Snapshot", "EditionHistory"]


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard needs of one edition: the ``units`` table (unit → rank, name, groups, score, tier,
    pillar scores) and the framework codes; duck-compatible with :class:`hubindex.store.Edition` for
    ``diff_editions``."""

    label: str
    revision: int
    vintage: int | None
    units: pd.DataFrame
    framework: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.label}@{self.revision}"


def _from_result(label: str, result: Any, vintage: int | None) -> Snapshot:
    fw = result.framework
    t = result.ranking().set_index("unit")
    for p in result.pillars():
        if p not in t.columns:
            t[p] = result.scores[p].reindex(t.index)
    t.index.name = "unit"
    return Snapshot(label, 0, vintage, t, {"codes": list(fw.codes), "root": fw.root,
                                            "parent": [fw.parent_of(c) for c in fw.codes]},
                    {"source": "built", "n_units": len(result.units), "spec_name": result.spec.name})


def _from_edition(e: Any) -> Snapshot:
    m = e.meta
    return Snapshot(e.label, int(e.revision), e.vintage, e.units, dict(e.framework),
                    {"source": "store", "n_units": len(e.units), "spec_name": m.get("spec_name"),
                     "published_at": str(m.get("published_at")), "spec_hash": m.get("spec_hash"),
                     "data_hash": m.get("data_hash"), "note": m.get("note")})


class EditionHistory:
    """The editions shown by the dashboard (see the module doc). ``current`` is the label of the served index
    (its spec's ``version`` when that is an edition label), ``previous`` the edition before it."""

    def __init__(self, snapshots: dict[str, Snapshot] | None = None, *, loader: Any = None, source: str = "",
                 current: str | None = None) -> None:
        self._snap = snapshots
        self._loader = loader
        self._lock = threading.Lock()
        self.source = source
        self._current = current

    # -- construction -----------------------------------------------------------------------------------
    @classmethod
    def auto(cls, result: Any, store: Any = None, *, spec: Any = None) -> EditionHistory | None:
        """Editions for the served ``result``: from ``store`` (an EditionStore or path), else the default store if
        it exists and has editions, else built lazily from the shipped dataset editions when ``result`` is
        one of them; ``None`` when the served index has no editions. ``spec`` (default ``result.spec``) decides
        the edition and whether it is a shipped one — the spec served at start-up, when ``result`` was built
        from an uploaded copy of its data."""
        spec = result.spec if spec is None else spec
        current = str(getattr(spec, "version", "") or "") or None
        if store is not None:
            return cls.from_store(store, current=current)
        if not _is_shipped_edition(spec):
            return None
        try:
            from hubindex.store import default_store_path

            p = default_store_path()
            if p.exists():
                h = cls.from_store(p, current=current)
                if h.labels():
                    return h
        except Exception:  # noqa: BLE001 - a store that cannot be read falls back to in-memory builds
            pass
        return cls.built(current=current, served=result)

    @classmethod
    def from_store(cls, store: Any, *, current: str | None = None) -> EditionHistory:
        """Read every edition (kind ``edition``, latest revision) from the store once, read-only."""
        from hubindex.store import EditionStore

        s = store if isinstance(store, EditionStore) else EditionStore(Path(store), read_only=True)
        listing = s.list()
        if "kind" in listing.columns:
            listing = listing[listing["kind"] == "edition"]
        snaps = {str(lab): _from_edition(s.get(str(lab))) for lab in listing["label"]}
        snaps = dict(sorted(snaps.items(), key=lambda kv: _sort_key(kv[1])))
        return cls(snaps, source=f"edition store {s.path}", current=current)

    @classmethod
    def built(cls, *, current: str | None = None, served: Any = None) -> EditionHistory:
        """Build ``hubindex.datasets.edition_spec(y)`` for every shipped year on first use (cached); the served
        result stands in for its own year."""
        import hubindex.datasets as ds

        def load() -> dict[str, Snapshot]:
            from hubindex.api import build

            out = {}
            for y in ds.EDITIONS:
                r = served if served is not None and str(y) == current else build(ds.edition_spec(y))
                out[str(y)] = _from_result(str(y), r, int(y))
            return out

        return cls(None, loader=load, source="each edition recomputed from the shipped dataset of its year",
                   current=current)

    # -- access -------------------------------------------------------------------------------------------
    @property
    def snapshots(self) -> dict[str, Snapshot]:
        if self._snap is None:
            with self._lock:
                if self._snap is None:
                    self._snap = self._loader()
        return self._snap

    def labels(self) -> list[str]:
        return list(self.snapshots)

    @property
    def current(self) -> str | None:
        labs = self.labels()
        if self._current in labs:
            return self._current
        return labs[-1] if labs else None

    @property
    def previous(self) -> str | None:
        labs = self.labels()
        cur = self.current
        if cur is None or cur not in labs:
            return None
        i = labs.index(cur)
        return labs[i - 1] if i > 0 else None

    def get(self, label: str) -> Snapshot:
        s = self.snapshots.get(str(label))
        if s is None:
            raise StoreError(f"no edition '{label}'; editions are {self.labels()}")
        return s

    def listing(self) -> list[dict[str, Any]]:
        """One record per edition: label, revision, vintage, number of units, top unit, metadata."""
        out = []
        for lab, s in self.snapshots.items():
            top = s.units.sort_values("rank").index[0] if len(s.units) else None
            out.append({"label": lab, "revision": s.revision, "vintage": s.vintage, "n_units": len(s.units),
                        "top": None if top is None else str(top), **{k: v for k, v in s.meta.items()
                                                                     if k != "n_units"}})
        return out

    def diff(self, a: str, b: str) -> pd.DataFrame:
        """Per-unit change A → B (``hubindex.store.diff_editions``) plus ``rel_score_change`` (% of score A)."""
        from hubindex.store import diff_editions

        d = diff_editions(self.get(a), self.get(b))
        with np.errstate(invalid="ignore", divide="ignore"):
            d["rel_score_change"] = 100 * d["score_change"] / d["score_a"].abs()
        return d

    def summary(self, a: str, b: str) -> dict[str, Any]:
        """Counts up/unchanged/down, entries, exits, gap rank 1 – rank 10, averages by region and tier."""
        from hubindex.store import diff_summary

        return diff_summary(self.get(a), self.get(b))

    def history(self, unit: str) -> list[dict[str, Any]]:
        """The unit's rank, score and tier in every edition (``present: false`` where it is absent)."""
        rows, found = [], False
        for lab, s in self.snapshots.items():
            rec: dict[str, Any] = {"label": lab, "vintage": s.vintage, "n_units": len(s.units)}
            if unit in s.units.index:
                u = s.units.loc[unit]
                found = True
                rec |= {"present": True, "rank": _num(u.get("rank")), "score": _num(u.get("score")),
                        "tier": None if pd.isna(u.get("tier", np.nan)) else str(u.get("tier"))}
            else:
                rec["present"] = False
            rows.append(rec)
        if not found:
            raise KeyError(unit)
        prev = None
        for rec in rows:
            rec["rank_change"] = (None if prev is None or rec.get("rank") is None or prev.get("rank") is None
                                  else prev["rank"] - rec["rank"])
            prev = rec
        return rows

    def changes(self, ranks: pd.Series) -> dict[str, Any]:
        """Rank change of the served ranking against the previous edition: previous rank − current rank
        (positive = moved up); ``None`` for entries."""
        prev = self.previous
        if prev is None:
            return {"previous": None, "change": {}}
        pr = self.get(prev).units["rank"]
        ch = {}
        for u, r in ranks.items():
            p = pr.get(u, np.nan)
            ch[str(u)] = None if pd.isna(p) or pd.isna(r) else int(p - r)
        return {"previous": prev, "change": ch, "prev_rank": {str(u): _num(v) for u, v in pr.items()}}


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def _sort_key(s: Snapshot) -> tuple[int, str]:
    return (s.vintage if s.vintage is not None else 10**9, s.label)


def _is_shipped_edition(spec: Any) -> bool:
    """True when the spec reads one of the shipped dataset edition files."""
    try:
        import hubindex.datasets as ds
    except ImportError:  # pragma: no cover
        return False
    if not hasattr(ds, "EDITIONS") or not hasattr(ds, "edition_path"):
        return False
    data = getattr(spec, "data", None)
    if data is None or len(data.paths) != 1:
        return False
    try:
        p = Path(spec.resolve(data.paths[0])).resolve()
    except Exception:  # noqa: BLE001
        return False
    return any(p == Path(ds.edition_path(y)).resolve() for y in ds.EDITIONS)
