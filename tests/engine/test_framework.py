"""The framework tree as arrays: levels, children, computation order, weights and their errors."""

from __future__ import annotations

from types import SimpleNamespace as N

import numpy as np
import pytest

from hubindex.engine import Framework
from hubindex.errors import SpecError


def nodes(**over: dict) -> list[N]:
    base = [
        dict(code="IDX", name="Index", parent=None, level=None, weight=1.0, direction=1),
        dict(code="P1", name=None, parent="IDX", level=None, weight=1.0, direction=1),
        dict(code="S1", name=None, parent="P1", level=None, weight=2.0, direction=1),
        dict(code="a", name=None, parent="S1", level=None, weight=1.0, direction=1),
        dict(code="b", name=None, parent="S1", level=None, weight=1.0, direction=-1),
        dict(code="c", name=None, parent="P1", level=None, weight=1.0, direction=1),  # leaf directly under P1
        dict(code="P2", name=None, parent="IDX", level=None, weight=3.0, direction=1),
        dict(code="d", name=None, parent="P2", level=None, weight=1.0, direction=1),
    ]
    return [N(**{**d, **over.get(d["code"], {})}) for d in base]


def test_levels_children_and_order() -> None:
    fw = Framework.from_nodes(nodes())
    # level = 1 + highest child level: leaves 1, S1 2, P1 3 (via S1), P2 2, IDX 4
    assert dict(zip(fw.codes, fw.level.tolist(), strict=True)) == {
        "IDX": 4, "P1": 3, "S1": 2, "a": 1, "b": 1, "c": 1, "P2": 2, "d": 1}
    assert fw.root == "IDX" and fw.max_level == 4
    assert fw.indicators == ("a", "b", "c", "d")
    assert fw.aggregates == ("S1", "P2", "P1", "IDX")  # every child before its parent
    assert fw.children("P1") == ("S1", "c") and fw.children("a") == ()
    assert fw.ancestors("a") == ("S1", "P1", "IDX") and fw.parent_of("IDX") is None
    assert fw.names[0] == "Index" and fw.names[1] == "P1"  # a missing name falls back to the code
    assert list(fw.direction) == [1, 1, 1, 1, -1, 1, 1, 1]


def test_rescaled_weights_and_with_weights() -> None:
    fw = Framework.from_nodes(nodes())
    r = dict(zip(fw.codes, fw.rescaled_weights(), strict=True))
    # P1 1/(1+3), P2 3/4 ; S1 2/(2+1), c 1/3 ; a, b ½ ; d 1 ; root 1
    assert r == pytest.approx({"IDX": 1, "P1": 0.25, "P2": 0.75, "S1": 2 / 3, "c": 1 / 3, "a": 0.5, "b": 0.5,
                               "d": 1})
    fw2 = fw.with_weights({"P2": 1.0})
    assert fw2.rescaled_weights()[fw.index_of("P2")] == 0.5 and fw.weight[fw.index_of("P2")] == 3  # immutable
    with pytest.raises(SpecError, match="'P2' must be >= 0"):
        fw.with_weights({"P2": -1.0})
    with pytest.raises(SpecError, match="unknown node code 'zz'"):
        fw.with_weights({"zz": 1.0})
    with pytest.raises(SpecError, match="all weights under 'S1' are zero"):
        fw.with_weights({"a": 0.0, "b": 0.0}).rescaled_weights()


def test_given_levels_are_checked() -> None:
    lv = {"IDX": {"level": 4}, "P1": {"level": 3}, "S1": {"level": 2}, "a": {"level": 1}, "b": {"level": 1},
          "c": {"level": 1}, "P2": {"level": 2}, "d": {"level": 1}}
    fw = Framework.from_nodes(nodes(**lv))
    assert fw.level_of("P2") == 2
    with pytest.raises(SpecError, match="'S1' has level 3 but its parent 'P1' has level 3"):
        Framework.from_nodes(nodes(**{**lv, "S1": {"level": 3}}))
    with pytest.raises(SpecError, match="'c' has no children.*must have level 1, got 2"):
        Framework.from_nodes(nodes(**{**lv, "c": {"level": 2}}))


def test_arrays_are_aligned() -> None:
    fw = Framework.from_nodes(nodes())
    assert fw.parent.dtype == np.int64 and fw.parent[0] == -1
    assert [fw.codes[p] if p >= 0 else None for p in fw.parent] == [
        None, "IDX", "P1", "S1", "S1", "P1", "IDX", "P2"]
    assert fw.is_leaf.tolist() == [False, False, False, True, True, True, False, True]
