"""The immutable result of a build: data sets per step, scores, ranks, tiers, sub-ranks, reports, run record.

Tables the core path does not need (data sets, reports, effective weights, the run record, even the score and rank
frames) are held as :class:`Lazy` makers and built on first access, then kept: a rebuild that nobody inspects
pays only for the arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import FrozenInstanceError
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import pandas as pd

from hubindex.engine.framework import Framework

__all__ = ["Result", "Lazy", "LazyMapping"]

T = TypeVar("T")

_FIELDS = ("spec", "framework", "unit_names", "groups", "datasets", "scores", "ranks", "tiers", "subranks",
           "imputed", "treat_flags", "reports", "excluded", "weights", "run_record")


class Lazy(Generic[T]):
    """A value computed by ``make()`` on first use (the holder itself never changes)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], T]) -> None:
        self.make = make


class LazyMapping(Mapping[str, Any]):
    """A read-only mapping whose values are built from zero-argument makers on first access, then kept.

    Keys (and their order) are known up front; ``dict.setdefault`` makes concurrent first accesses agree on one
    object.
    """

    __slots__ = ("_makers", "_done")

    def __init__(self, makers: Mapping[str, Callable[[], Any]]) -> None:
        self._makers = dict(makers)
        self._done: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        try:
            return self._done[key]
        except KeyError:
            make = self._makers[key]  # KeyError for an unknown key, as a dict
            return self._done.setdefault(key, make())

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)

    def __contains__(self, key: object) -> bool:
        return key in self._makers

    def __repr__(self) -> str:
        return f"LazyMapping({list(self._makers)})"


def _mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, LazyMapping | MappingProxyType) else MappingProxyType(dict(v))


class Result:
    """What ``build(spec)`` returns. All tables are indexed by unit code (units sorted by code).

    - ``datasets``: indicator tables after each step, keyed like COINr's (``Raw``, ``Denominated``,
      ``Imputed``, ``Screened``, ``Treated``, ``Normalised``).
    - ``scores``: one column per framework node: normalised value for indicators, aggregated score for
      aggregates. ``ranks``: the same shape, highest = 1, ties share the lowest rank, missing → NA.
    - ``imputed`` (bool) and ``treat_flags`` (``winhi``/``winlo``/``log_CT``/…) flag cells.
    - ``reports``: one table per step (screen, impute, treat, normalise, weights, aggregate).
    - ``run_record``: spec, hashes of data files, package version and every step's parameters.

    Immutable: attributes cannot be set, mappings are read-only and the arrays behind the tables are read-only
    (a build may share them with the pipeline's step cache). Any attribute may be given to the constructor as a
    :class:`Lazy` maker; it is built on first access and then kept.
    """

    # no __slots__: ``object.__setattr__(result, name, value)`` (as on a frozen dataclass) still replaces a field

    spec: Any  # IndexSpec (typed as Any to keep the engine free of the spec module's import cycle)
    framework: Framework
    unit_names: pd.Series
    groups: pd.DataFrame
    datasets: Mapping[str, pd.DataFrame]
    scores: pd.DataFrame
    ranks: pd.DataFrame
    tiers: pd.Series | None
    subranks: pd.DataFrame
    imputed: pd.DataFrame
    treat_flags: pd.DataFrame
    reports: Mapping[str, pd.DataFrame]
    excluded: tuple[str, ...]
    weights: pd.DataFrame
    run_record: Mapping[str, Any]

    def __init__(self, spec: Any, framework: Framework, unit_names: Any, groups: Any, datasets: Any, scores: Any,
                 ranks: Any, tiers: Any, subranks: Any, imputed: Any, treat_flags: Any, reports: Any,
                 excluded: Any, weights: Any, run_record: Any = None) -> None:
        v = dict(zip(_FIELDS, (spec, framework, unit_names, groups, datasets, scores, ranks, tiers, subranks,
                               imputed, treat_flags, reports, excluded, weights,
                               {} if run_record is None else run_record), strict=True))
        for k in ("datasets", "reports", "run_record"):
            if not isinstance(v[k], Lazy):
                v[k] = _mapping(v[k])
        object.__setattr__(self, "_v", v)
        object.__setattr__(self, "_done", {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_v", "_done"):
            raise AttributeError(name)
        try:
            x = object.__getattribute__(self, "_v")[name]
        except KeyError:
            raise AttributeError(f"'Result' object has no attribute '{name}'") from None
        if not isinstance(x, Lazy):
            return x
        done = object.__getattribute__(self, "_done")
        try:
            return done[name]
        except KeyError:
            made = x.make()
            if name in ("datasets", "reports", "run_record"):
                made = _mapping(made)
            return done.setdefault(name, made)  # concurrent first accesses agree on one object

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field '{name}'")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field '{name}'")

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_FIELDS})

    def __repr__(self) -> str:
        return (f"Result(index={self.index_code!r}, units={len(self.scores)}, "
                f"spec={getattr(self.spec, 'name', None)!r})")

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (process pools) materialises every lazy field
        return (Result, tuple(getattr(self, k) for k in _FIELDS))

    @property
    def index_code(self) -> str:
        return self.framework.root

    @property
    def units(self) -> list[str]:
        return list(self.scores.index)

    @property
    def index_scores(self) -> pd.Series:
        return self.scores[self.index_code]

    @property
    def index_ranks(self) -> pd.Series:
        return self.ranks[self.index_code]

    def pillars(self, level: int | None = None) -> list[str]:
        """Codes of the root's children (or of all nodes at ``level``)."""
        if level is None:
            return list(self.framework.children(self.index_code))
        fw = self.framework
        return [c for c, lv in zip(fw.codes, fw.level, strict=True) if lv == level]

    def ranking(self) -> pd.DataFrame:
        """The ranking table: rank, unit, name, groups, index score, tier, pillar scores, sub-ranks; by rank."""
        idx = self.index_code
        t = pd.DataFrame({"rank": self.ranks[idx], "unit": self.scores.index, "name": self.unit_names})
        t = t.join(self.groups)
        t["score"] = self.scores[idx]
        if self.tiers is not None:
            t["tier"] = self.tiers
        for p in self.pillars():
            t[p] = self.scores[p]
        t = t.join(self.subranks)
        t.index.name = None
        return t.sort_values(["rank", "unit"], na_position="last", kind="stable").reset_index(drop=True)
