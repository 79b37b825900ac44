"""The framework tree as arrays: codes, parents, levels, weights, directions.

Levels follow COINr: 1 = indicator, each parent one level above its highest child (so the index has the top
level). Aggregation runs parents in ascending level, so every child is ready before its parent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hubindex.errors import SpecError

__all__ = ["Framework"]


@dataclass(frozen=True)
class Framework:
    """An immutable index tree. Arrays are aligned with ``codes``; ``parent[i] == -1`` marks the root."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    parent: np.ndarray  # int, -1 for the root
    level: np.ndarray  # int, 1 = indicator
    weight: np.ndarray  # float, as given (not rescaled)
    direction: np.ndarray  # +1 / -1
    is_leaf: np.ndarray  # bool

    @classmethod
    def from_nodes(cls, nodes: Sequence[Any]) -> Framework:
        """Build from spec nodes (objects with code, name, parent, level, weight, direction)."""
        codes = tuple(n.code for n in nodes)
        index = {c: i for i, c in enumerate(codes)}
        parent = np.array([-1 if n.parent is None else index[n.parent] for n in nodes], dtype=np.int64)
        n = len(codes)
        is_leaf = np.ones(n, dtype=bool)
        is_leaf[parent[parent >= 0]] = False
        # height: leaves 1, parent = 1 + max child height (iterate to a fixed point; depth <= n)
        height = np.ones(n, dtype=np.int64)
        for _ in range(n):
            new = height.copy()
            child = np.flatnonzero(parent >= 0)
            np.maximum.at(new, parent[child], height[child] + 1)
            if np.array_equal(new, height):
                break
            height = new
        given = [getattr(nd, "level", None) for nd in nodes]
        if all(g is not None for g in given):
            level = np.array(given, dtype=np.int64)
            for i in np.flatnonzero(parent >= 0):
                if level[parent[i]] <= level[i]:
                    raise SpecError(
                        f"framework: node '{codes[i]}' has level {level[i]} but its parent "
                        f"'{codes[parent[i]]}' has level {level[parent[i]]}; a parent's level must be higher"
                    )
            bad = np.flatnonzero(is_leaf & (level != 1))
            if bad.size:
                raise SpecError(
                    f"framework: node '{codes[bad[0]]}' has no children, so it is an indicator and must have "
                    f"level 1, got {level[bad[0]]}"
                )
        else:
            level = height
        weight = np.array([float(nd.weight) for nd in nodes])
        direction = np.array([int(getattr(nd, "direction", 1)) for nd in nodes], dtype=np.int64)
        names = tuple((nd.name or nd.code) for nd in nodes)
        return cls(codes, names, parent, level, weight, direction, is_leaf)

    # -- views ----------------------------------------------------------------------------------------
    @property
    def root(self) -> str:
        return self.codes[int(np.flatnonzero(self.parent < 0)[0])]

    @property
    def indicators(self) -> tuple[str, ...]:
        return tuple(c for c, leaf in zip(self.codes, self.is_leaf, strict=True) if leaf)

    @property
    def aggregates(self) -> tuple[str, ...]:
        """Aggregate codes in computation order (ascending level, then tree order)."""
        idx = [i for i in np.argsort(self.level, kind="stable") if not self.is_leaf[i]]
        return tuple(self.codes[i] for i in idx)

    def index_of(self, code: str) -> int:
        try:
            return self.codes.index(code)
        except ValueError:
            raise SpecError(f"framework: unknown node code '{code}'") from None

    def children(self, code: str) -> tuple[str, ...]:
        i = self.index_of(code)
        return tuple(self.codes[j] for j in np.flatnonzero(self.parent == i))

    def parent_of(self, code: str) -> str | None:
        p = int(self.parent[self.index_of(code)])
        return None if p < 0 else self.codes[p]

    def ancestors(self, code: str) -> tuple[str, ...]:
        out = []
        p = self.parent_of(code)
        while p is not None:
            out.append(p)
            p = self.parent_of(p)
        return tuple(out)

    def level_of(self, code: str) -> int:
        return int(self.level[self.index_of(code)])

    @property
    def max_level(self) -> int:
        return int(self.level.max())

    def with_weights(self, weights: Mapping[str, float]) -> Framework:
        """A copy with the named nodes' weights replaced (unknown codes are an error)."""
        w = self.weight.copy()
        for code, value in weights.items():
            if value < 0:
                raise SpecError(f"weight of '{code}' must be >= 0, got {value}")
            w[self.index_of(code)] = float(value)
        return Framework(self.codes, self.names, self.parent, self.level, w, self.direction, self.is_leaf)

    def rescaled_weights(self) -> np.ndarray:
        """Weights divided by the sum over their siblings: w_i / Σ_{j: parent_j = parent_i} w_j (root: 1)."""
        w = self.weight
        sums = np.zeros(len(w))
        child = self.parent >= 0
        np.add.at(sums, self.parent[child], w[child])
        out = np.ones(len(w))
        denom = sums[self.parent[child]]
        if np.any(denom <= 0):
            i = np.flatnonzero(child)[np.flatnonzero(denom <= 0)[0]]
            raise SpecError(f"framework: all weights under '{self.codes[self.parent[i]]}' are zero")
        out[child] = w[child] / denom
        return out
