"""The real editions: one build of the default index per dataset vintage, and back-casts.

The dataset package exposes its vintages as ``hubindex.datasets.EDITIONS`` (e.g. ``(2021, …, 2025)``) and
``hubindex.datasets.edition_spec(year)`` (the default index on that year's dataset vintage).
``build_editions(store)`` builds each with :func:`hubindex.build` and publishes it as edition ``"<year>"``; the
user's store is filled on first use (:func:`open_store`), so a fresh install lists 2021 … 2025 without shipping
a binary file inside the package.

A *back-cast* re-runs an old edition's stored data with the current (or any) method, so that a change between
two editions splits into a method part (back-cast A − A) and a data part (B − back-cast A).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from hubindex.errors import StoreError
from hubindex.store._store import Edition, EditionStore, default_store_path

__all__ = ["vintages", "vintage_spec", "build_with_inputs", "build_vintage", "build_editions", "open_store",
           "backcast", "method_vs_data", "with_data_path"]


def _datasets() -> Any:
    """The dataset package, checked to offer ``EDITIONS`` and ``edition_spec``."""
    import hubindex.datasets as ds

    if not hasattr(ds, "EDITIONS") or not hasattr(ds, "edition_spec"):
        raise StoreError("this install has no dataset editions (hubindex.datasets.EDITIONS / edition_spec); "
                         "publish your own with `hubindex edition publish SPEC --label LABEL`")
    return ds


def vintages() -> list[int]:
    """The dataset vintages shipped with the package (``hubindex.datasets.EDITIONS``, e.g. [2021, …, 2025])."""
    return [int(v) for v in _datasets().EDITIONS]


def with_data_path(spec: Any, path: str | Path | list[str | Path]) -> Any:
    """A copy of ``spec`` that reads ``path`` (one file or several, made absolute) instead of its own data."""
    paths = [str(Path(p).resolve()) for p in (path if isinstance(path, list) else [path])]
    data = spec.data.model_copy(update={"path": paths[0] if len(paths) == 1 else paths})
    return spec.model_copy(update={"data": data})


def vintage_spec(vintage: int, spec: Any = None) -> Any:
    """The default index on the dataset of ``vintage`` (``edition_spec``); with ``spec``, that method pointed
    at the vintage's data files instead."""
    ds = _datasets()
    if int(vintage) not in vintages():
        raise StoreError(f"no dataset vintage {vintage}; the vintages are {vintages()}")
    s = ds.edition_spec(int(vintage))
    if spec is None:
        return s
    from hubindex.api import as_spec

    return with_data_path(as_spec(spec), [s.resolve(p) for p in s.data.paths])


def build_with_inputs(spec: Any) -> tuple[Any, Any]:
    """``(Result, IndexData)``: :func:`hubindex.build` of ``spec``, and the engine input it read (stored with an
    edition so that it can be rebuilt, explained and back-cast without the data file)."""
    from hubindex.api import as_spec, build
    from hubindex.io import load_data

    s = as_spec(spec)
    return build(s), load_data(s)[0]


def build_vintage(vintage: int, spec: Any = None) -> tuple[Any, Any, Any]:
    """Build one vintage: returns (spec, Result, IndexData)."""
    s = vintage_spec(vintage, spec)
    result, data = build_with_inputs(s)
    return s, result, data


def _provenance(vintage: int) -> Any:
    """The dataset's provenance table of ``vintage`` (``hubindex.datasets.provenance``) as records, if any."""
    prov = getattr(_datasets(), "provenance", None)
    if prov is None:
        return None
    t = prov(int(vintage))
    return t.astype(object).where(t.notna(), None).to_dict(orient="records") if isinstance(t, pd.DataFrame) else t


def build_editions(store: EditionStore, years: Iterable[int] | None = None, spec: Any = None, *,
                   progress: Callable[[str], None] | None = None) -> list[str]:
    """Build and publish one edition per vintage not yet in the store; returns the labels published.

    Safe against a concurrent first use: a label another process published meanwhile is skipped."""
    say = progress or (lambda _m: None)
    done = []
    for v in (list(years) if years is not None else vintages()):
        label = str(v)
        if label in store:
            continue
        s, result, data = build_vintage(v, spec)
        try:
            store.publish(result, label, data=data, vintage=int(v), provenance=_provenance(v),
                          note=s.name if str(v) in s.name else f"{s.name}, {v} dataset vintage")
        except StoreError:
            if label in store:  # published by another process since we looked
                continue
            raise
        say(f"published edition {label} ({len(result.scores)} cities)")
        done.append(label)
    return done


def open_store(path: str | Path | None = None, *, init: bool = True, read_only: bool = False,
               progress: Callable[[str], None] | None = None) -> EditionStore:
    """The edition store at ``path`` (default :func:`default_store_path`: ``$HUBINDEX_STORE`` or the user's
    data folder). With ``init``, the editions of the shipped dataset vintages that are missing are built and
    published first (on first use, or when a newer vintage ships), and ``progress`` is told; a store that holds
    only other editions (the user's own index) is left as it is. Without dataset editions in this install,
    the store is opened as it is."""
    p = Path(path) if path is not None else default_store_path()
    if init:
        try:
            years = vintages()
        except StoreError:
            years = []
        store = EditionStore(p)
        labels = set(store.labels())
        missing = [y for y in years if str(y) not in labels]
        # a store holding only the user's own editions is left alone: the shipped ones are added to a new
        # (empty) store, or to one that already holds some of them (a newly shipped vintage)
        if missing and (not labels or labels & {str(y) for y in years}):
            say = progress or (lambda m: print(m, file=sys.stderr))
            say(f"edition store {p}: building the editions {missing} of the default index, one per dataset "
                "vintage (first use)")
            build_editions(store, missing, progress=say)
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
