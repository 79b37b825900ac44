"""Helpers for engine tests: a small in-memory spec + data, run without files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hubindex.engine import IndexData, Result, run
from hubindex.spec import IndexSpec, spec_from_dict

# IDX -> P1 (a, b), P2 (c, d); c has direction -1, P2 weight 3
TREE: list[dict[str, Any]] = [
    {"code": "IDX"},
    {"code": "P1", "parent": "IDX", "weight": 1},
    {"code": "P2", "parent": "IDX", "weight": 3},
    {"code": "a", "parent": "P1"},
    {"code": "b", "parent": "P1"},
    {"code": "c", "parent": "P2", "direction": -1},
    {"code": "d", "parent": "P2"},
]


def make_spec(pipeline: Sequence[dict[str, Any]], framework: Sequence[dict[str, Any]] = TREE, **extra: Any
              ) -> IndexSpec:
    d: dict[str, Any] = {"name": "t", "data": {"path": "unused.csv", "unit_code": "code",
                                             "groups": extra.pop("groups", []),
                                             "denominators": extra.pop("denominators", [])},
                         "framework": list(framework), "pipeline": list(pipeline), **extra}
    return spec_from_dict(d)


def make_data(X: Any, indicators: Sequence[str] = ("a", "b", "c", "d"), units: Sequence[str] | None = None,
              groups: dict[str, Sequence[Any]] | None = None, denominators: dict[str, Sequence[float]] | None = None
              ) -> IndexData:
    X = np.asarray(X, dtype=float)
    u = np.array(units if units is not None else [f"U{i + 1}" for i in range(X.shape[0])], dtype=object)
    return IndexData(u, u.copy(), tuple(indicators), X,
                     {k: np.asarray(v, dtype=object) for k, v in (groups or {}).items()},
                     {k: np.asarray(v, dtype=float) for k, v in (denominators or {}).items()})


def build(pipeline: Sequence[dict[str, Any]], X: Any, **kw: Any) -> Result:
    spec_kw = {k: kw.pop(k) for k in list(kw) if k in ("framework", "groups", "denominators", "weights", "tiers",
                                                        "subrankings")}
    data_kw = {k: kw.pop(k) for k in list(kw) if k in ("units", "group_values", "denominator_values", "indicators")}
    spec = make_spec(pipeline, **spec_kw)
    data = make_data(X, indicators=data_kw.get("indicators", ("a", "b", "c", "d")), units=data_kw.get("units"),
                     groups=data_kw.get("group_values"), denominators=data_kw.get("denominator_values"))
    return run(spec, data)


# 5 units × 4 indicators (a, b, c, d), one missing value (b of U4)
X5 = np.array([[1, 10, 5, 0.5], [2, 20, 4, 0.4], [3, 30, 3, 0.3], [4, np.nan, 2, 0.2], [5, 50, 1, 0.1]])
