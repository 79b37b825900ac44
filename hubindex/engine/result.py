"""The immutable result of a build: data sets per step, scores, ranks, tiers, sub-ranks, reports, run record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from hubindex.engine.framework import Framework

__all__ = ["Result"]


def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Result:
    """What ``build(spec)`` returns. All tables are indexed by unit code (units sorted by code).

    - ``datasets``: indicator tables after each step, keyed like COINr's (``Raw``, ``Denominated``,
      ``Imputed``, ``Screened``, ``Treated``, ``Normalised``).
    - ``scores``: one column per framework node: normalised value for indicators, aggregated score for
      aggregates. ``ranks``: the same shape, highest = 1, ties share the lowest rank, missing → NA.
    - ``imputed`` (bool) and ``treat_flags`` (``winhi``/``winlo``/``log_CT``/…) flag cells.
    - ``reports``: one table per step (screen, impute, treat, normalise, weights, aggregate).
    - ``run_record``: spec, hashes of data files, package version and every step's parameters.
    """

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
    run_record: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "datasets", _frozen(self.datasets))
        object.__setattr__(self, "reports", _frozen(self.reports))
        object.__setattr__(self, "run_record", _frozen(self.run_record))

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
