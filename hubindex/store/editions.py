"""The real editions: one build of the default index per dataset vintage (2021–2025), and back-casts.

``build_editions(store)`` builds the shipped default spec on each vintage's dataset file
(``hubindex/datasets/data/fintech_hubs_<vintage>.csv``) and publishes it as edition ``"<vintage>"``. The store
is filled on first use (``open_store()``), so a fresh install lists 2021 … 2025 without shipping a binary file.

A *back-cast* re-runs an old edition's stored data with the current (or any) method, so that a change between
two editions splits into a method part (back-cast A − A) and a data part (B − back-cast A).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from hubindex.errors import DataError, StoreError
from hubindex.store._store import Edition, EditionStore, default_store_path

__all__ = ["vintages", "vintage_spec", "build_vintage", "build_editions", "open_store", "backcast",
           "method_vs_data", "with_data_path"]


def _loader() -> Any:
    try:
        from hubindex.datasets import loader
    except ImportError as e:  # the dataset package is not installed/built
        raise StoreError(f"the shipped dataset is not available ({e}); build it with `hubindex data build`") from None
    return loader


def vintages() -> list[int]:
    """The dataset vintages shipped with the package (e.g. [2021, …, 2025])."""
    return [int(v) for v in _loader().available_vintages()]


def with_data_path(spec: Any, path: str | Path) -> Any:
    """A copy of ``spec`` that reads ``path`` (absolute) instead of its own data file."""
    data = spec.data.model_copy(update={"path": str(Path(path).resolve())})
    return spec.model_copy(update={"data": data})


def vintage_spec(vintage: int, spec: Any = None) -> Any:
    """``spec`` (default: the shipped default index) pointed at the dataset file of ``vintage``."""
    from hubindex.api import as_spec

    s = as_spec(spec)
    return with_data_path(s, _loader().dataset_path(int(vintage)))


def build_vintage(vintage: int, spec: Any = None) -> tuple[Any, Any, Any]:
    """Build one vintage: returns (spec, Result, IndexData)."""
    from hubindex.engine.pipeline import run
    from hubindex.io import load_data

    s = vintage_spec(vintage, spec)
    data, hashes = load_data(s)
    rel = {Path(p).name: h for p, h in hashes.items()}
    return s, run(s, data, data_hashes=rel), data


def _provenance(vintage: int) -> Any:
    try:
        prov = _loader().load_provenance(int(vintage))
    except (AttributeError, FileNotFoundError, DataError, StoreError, OSError):
        return None
    if isinstance(prov, pd.DataFrame):
        return prov.astype(object).where(prov.notna(), None).to_dict(orient="records")
    return prov


def build_editions(store: EditionStore, years: Iterable[int] | None = None, spec: Any = None, *,
                   progress: Callable[[str], None] | None = None) -> list[str]:
    """Build and publish one edition per vintage not yet in the store; returns the labels published."""
    say = progress or (lambda _m: None)
    have = set(store.labels())
    done = []
    for v in (list(years) if years is not None else vintages()):
        label = str(v)
        if label in have:
            continue
        _s, result, data = build_vintage(v, spec)
        store.publish(result, label, data=data, vintage=int(v), provenance=_provenance(v),
                      note=f"default index on the {v} dataset vintage")
        say(f"published edition {label} ({len(result.scores)} cities)")
        done.append(label)
    return done


def open_store(path: str | Path | None = None, *, init: bool = True, read_only: bool = False,
               progress: Callable[[str], None] | None = None) -> EditionStore:
    """The edition store at ``path`` (default ``$HUBINDEX_HOME/editions.duckdb``). With ``init`` and an empty
    store, the real editions (one per dataset vintage) are built and published first, and ``progress`` is told."""
    p = Path(path) if path is not None else default_store_path()
    if init and (not p.exists() or len(EditionStore(p)) == 0):
        store = EditionStore(p)
        say = progress or (lambda m: print(m, file=sys.stderr))
        say(f"edition store {p} is empty: building the editions of the default index, one per dataset vintage")
        build_editions(store, progress=say)
    return EditionStore(p, read_only=read_only)


def backcast(store: EditionStore, ref: str, spec: Any = None, *, label: str | None = None,
             publish: bool = False) -> Any:
    """Re-run edition ``ref``'s stored data with ``spec`` (default: the current default method).

    Returns the ``Result``; with ``publish=True`` also publishes it as ``label`` (default ``"<ref>-backcast"``)
    with ``kind="backcast"`` and ``based_on=ref``, and returns the stored Edition.
    """
    from hubindex.api import as_spec

    e = store.get(ref)
    s = as_spec(spec)
    result = e.rebuild(s)
    if not publish:
        return result
    lab = label or f"{e.label}-backcast"
    return store.publish(result, lab, data=e.index_data(), vintage=e.vintage, kind="backcast", based_on=e.ref,
                         note=f"edition {e.ref} data under the method of spec {s.spec_hash()[:12]}")


def method_vs_data(store: EditionStore, a: str, b: str, spec: Any = None) -> pd.DataFrame:
    """Split each unit's score and rank change A → B into a method part and a data part using a back-cast:
    ``method = A's data under B's method − A``, ``data = B − A's data under B's method`` (they add up)."""
    ea, eb = store.get(a), store.get(b)
    s = eb.spec if spec is None else spec
    bc = ea.rebuild(s)
    idx = bc.index_code
    units = list(dict.fromkeys([*eb.units.index, *ea.units.index]))
    t = pd.DataFrame(index=pd.Index(units, name="unit"))
    t["name"] = eb.units["name"].reindex(units).fillna(ea.units["name"].reindex(units))
    t["score_a"] = ea.units["score"].reindex(units)
    t["score_a_backcast"] = bc.scores[idx].reindex(units)
    t["score_b"] = eb.units["score"].reindex(units)
    t["method_effect"] = t["score_a_backcast"] - t["score_a"]
    t["data_effect"] = t["score_b"] - t["score_a_backcast"]
    t["total"] = t["score_b"] - t["score_a"]
    t["rank_a"] = ea.units["rank"].reindex(units)
    t["rank_a_backcast"] = bc.ranks[idx].reindex(units)
    t["rank_b"] = eb.units["rank"].reindex(units)
    return t.reset_index()


def _edition(store: EditionStore, ref: str | Edition) -> Edition:
    return ref if isinstance(ref, Edition) else store.get(ref)
