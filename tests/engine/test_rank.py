"""Ranks (highest = 1, ties share the lowest rank), tiers and ranks within unit groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_helpers import build
from hypothesis import given, settings
from hypothesis import strategies as st

from hubindex.engine import group_ranks, rank_desc, tiers_by_rank, tiers_by_score
from hubindex.errors import ComputeError, SpecError

NA = np.nan


def test_rank_desc_by_hand() -> None:
    # r_i = 1 + #{j: s_j > s_i}: 3 and 3 tie at 1, then 2 is 3rd (not 2nd), 1 is 4th ; NaN -> NaN
    np.testing.assert_array_equal(rank_desc(np.array([3.0, 1, 3, NA, 2])), [1, 4, 1, NA, 3])
    np.testing.assert_array_equal(rank_desc(np.array([5.0])), [1])
    np.testing.assert_array_equal(rank_desc(np.full(3, NA)), [NA, NA, NA])
    # batched along the last axis
    np.testing.assert_array_equal(rank_desc(np.array([[1.0, 2], [2, 1]])), [[2, 1], [1, 2]])


def test_tiers_by_rank_by_hand() -> None:
    # cutoffs [8, 40]: ranks 1–8 -> Leaders, 9–40 -> Challengers, the rest -> Others ; NaN rank -> None
    t = tiers_by_rank(np.array([1, 8, 9, 40, 41, NA]), [8, 40], ["Leaders", "Challengers", "Others"])
    assert list(t) == ["Leaders", "Leaders", "Challengers", "Challengers", "Others", None]
    with pytest.raises(ComputeError, match="one label more"):
        tiers_by_rank(np.array([1.0]), [8], ["A"])


def test_tiers_by_score_by_hand() -> None:
    # thresholds [80, 60]: ≥ 80 -> A, ≥ 60 -> B, else C (a score on a threshold goes up)
    t = tiers_by_score(np.array([90, 80, 79.9, 60, 10, NA]), [80, 60], ["A", "B", "C"])
    assert list(t) == ["A", "A", "B", "B", "C", None]
    with pytest.raises(ComputeError, match="one label more"):
        tiers_by_score(np.array([1.0]), [80, 60], ["A", "B"])


def test_group_ranks_by_hand() -> None:
    s = np.array([3.0, 1, 3, NA, 2, 7])
    g = np.array(["E", "E", "W", "W", None, "W"], dtype=object)
    # E: 3 > 1 ; W: 7 > 3 (NaN score unranked) ; no group -> NaN
    np.testing.assert_array_equal(group_ranks(s, g), [1, 2, 2, NA, NA, 1])
    np.testing.assert_array_equal(group_ranks(np.array([2.0, 2]), np.array(["A", "A"], dtype=object)), [1, 1])


def test_pipeline_ranks_tiers_and_subranks(X5: np.ndarray) -> None:
    pipe = [{"step": "normalise"}, {"step": "aggregate"}]
    r = build(pipe, X5, tiers={"by": "score", "cutoffs": [56, 50], "labels": ["A", "B", "C"]},
              subrankings=["region"], groups=["region"], group_values={"region": ["E", "E", "W", "W", "W"]})
    # IDX = (P1 + 3·P2)/4 = 37.5, 43.75, 50, 56.25, 62.5 (see tests/test_build.py)
    assert list(r.ranks["IDX"]) == [5, 4, 3, 2, 1]
    assert list(r.ranks["P2"]) == [1, 1, 1, 1, 1]  # P2 = 50 for all: one tie
    assert list(r.tiers) == ["C", "C", "B", "A", "A"]
    assert list(r.subranks["rank_in_region"]) == [2, 1, 3, 2, 1]
    t = r.ranking()
    assert list(t["unit"]) == ["U5", "U4", "U3", "U2", "U1"] and list(t["rank"]) == [1, 2, 3, 4, 5]
    with pytest.raises(SpecError, match="subrankings: 'zone'"):
        build(pipe, X5, subrankings=["zone"])


def test_floating_point_noise_does_not_split_a_tie() -> None:
    # (0.1 + 0.7)/2 and (0.8 + 0)/2 differ by ~1e-16 in floating point but are the same score: rank 1 both
    fw = [{"code": "IDX"}, {"code": "a", "parent": "IDX"}, {"code": "b", "parent": "IDX"}]
    X = np.array([[0.1, 0.7], [0.8, 0.0], [0.0, 0.0], [0.0, 0.7]])
    r = build([{"step": "normalise", "method": "scaled", "spread": 100}, {"step": "aggregate"}], X, framework=fw,
              indicators=("a", "b"))
    assert r.scores["IDX"].iloc[0] != r.scores["IDX"].iloc[1]  # noise is really there
    assert list(r.ranks["IDX"]) == [1, 1, 4, 3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.0, 2.5, 2.5000000001, np.nan])),
                          st.one_of(st.none(), st.just(np.nan), st.sampled_from(["a", "b", "c"]))), max_size=30))
def test_group_ranks_equal_pandas_groupby_rank(pairs: list[tuple[float | None, object]]) -> None:
    """The NumPy group ranks equal pandas' ``groupby(g, dropna=True).rank(ascending=False, method="min")``."""
    s = np.array([np.nan if v is None else v for v, _ in pairs], dtype=float)
    g = np.array([x for _, x in pairs], dtype=object)
    ref = (pd.Series(s).groupby(pd.Series(g), dropna=True).rank(ascending=False, method="min")
           .reindex(range(len(s))).to_numpy(dtype=float))
    assert np.array_equal(group_ranks(s, g), ref, equal_nan=True)
