"""The engine's input: unit identifiers, group and denominator columns, and the raw indicator matrix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["IndexData"]


@dataclass(frozen=True)
class IndexData:
    """Raw inputs aligned by unit. ``X[:, j]`` is indicator ``indicators[j]``; NaN is missing.

    ``groups`` and ``denominators`` map a column name to an array with one entry per unit.
    """

    units: np.ndarray  # str codes
    names: np.ndarray  # str display names
    indicators: tuple[str, ...]
    X: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    denominators: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, p = self.X.shape
        if len(self.units) != n or len(self.indicators) != p:
            raise ValueError("IndexData: X shape does not match units × indicators")

    def __cache_arrays__(self) -> list[object]:
        """The arrays a step cache makes read-only when it stores this object."""
        return [self.units, self.names, self.X, self.groups, self.denominators]

    @property
    def n_units(self) -> int:
        return len(self.units)

    def subset_units(self, keep: np.ndarray) -> IndexData:
        """Rows where ``keep`` is True (a boolean mask)."""
        return IndexData(
            self.units[keep],
            self.names[keep],
            self.indicators,
            self.X[keep],
            {k: v[keep] for k, v in self.groups.items()},
            {k: v[keep] for k, v in self.denominators.items()},
        )
