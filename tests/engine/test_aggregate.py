"""Aggregation (COINr ``a_*``): weighted means, median, Copeland, outranking; missing-value renormalisation."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import build

from hubindex.engine import (
    AGGREGATORS,
    aggregate,
    arithmetic_mean,
    copeland,
    geometric_mean,
    harmonic_mean,
    outranking,
    weighted_median,
)
from hubindex.errors import ComputeError

NA = np.nan


def test_weighted_means_by_hand() -> None:
    X = np.array([[10.0, 20, NA], [1, 100, 10]])
    w = np.array([1.0, 2, 1])
    # row 0: (1·10 + 2·20)/(1 + 2) over available children ; row 1: (1 + 200 + 10)/4
    np.testing.assert_allclose(arithmetic_mean(X, w), [50 / 3, 211 / 4])
    # exp(Σ w ln x / Σ w): row 0 = (10·20²)^(1/3) ; row 1 = (1·100²·10)^(1/4) = 10^(5/4)
    np.testing.assert_allclose(geometric_mean(X, w), [4000 ** (1 / 3), 10**1.25])
    # Σw / Σ(w/x): row 0 = 3/(0.1 + 0.1) = 15 ; row 1 = 4/(1 + 0.02 + 0.1)
    np.testing.assert_allclose(harmonic_mean(X, w), [15, 4 / 1.12])


def test_weighted_median_by_hand() -> None:
    X = np.array([[1.0, 2, 3, 4], [4, NA, 1, 1], [5, 5, 5, 5]])
    # equal weights: ordinary median (2 + 3)/2 ; row 1 over (4, 1, 1) -> 1 ; constant -> 5
    np.testing.assert_allclose(weighted_median(X, np.ones(4)), [2.5, 1, 5])
    # weights (1,1,1,3) on 1..4: cumulative 1/6, 2/6, 3/6 = ½ exactly at 3 -> average with next = 3.5
    assert weighted_median(X[:1], np.array([1, 1, 1, 3.0]))[0] == 3.5
    # weights (1,1,1,4): cumulative 1/7, 2/7, 3/7, 1 -> 4
    assert weighted_median(X[:1], np.array([1, 1, 1, 4.0]))[0] == 4


def test_copeland_and_outranking_by_hand() -> None:
    X = np.array([[1.0, 2, 3, 4], [4, NA, 1, 1], [5, 5, 5, 5]])
    w = np.ones(4)
    # c_01 over children available to both (0, 2, 3): U0 wins on 2 of 3 -> 2/3 ; U2 beats everyone everywhere
    # Copeland: U0 = +1 (vs U1) − 1 (vs U2) = 0 ; U1 = −2 ; U2 = +2
    np.testing.assert_allclose(copeland(X, w), [0, -2, 2])
    # net flow Σ_j (c_ij − c_ji): U0 = (2/3 − 1/3) + (0 − 1) = −2/3 ; U1 = (1/3 − 2/3) + (0 − 1) ; U2 = 2
    np.testing.assert_allclose(outranking(X, w), [-2 / 3, -4 / 3, 2])
    # ties count ½ each way: two identical units tie with Copeland 0
    np.testing.assert_allclose(copeland(np.array([[1.0, 2], [1, 2]]), np.ones(2)), [0, 0])


def test_missing_values_availability_threshold_and_zero_weights() -> None:
    X = np.array([[10.0, NA, NA], [NA, NA, NA], [NA, 4, 8], [NA, 5, 6]])
    w = np.array([1.0, 1, 0])
    # row 0: one of three available (1/3 < ½) -> missing with the threshold ; row 1: nothing available
    # row 3: available children 5 (w 1) and 6 (w 0) -> 5 ; only w = 0 children left -> missing
    np.testing.assert_allclose(arithmetic_mean(X, w), [10, NA, 4, 5])
    np.testing.assert_allclose(arithmetic_mean(X, w, min_availability=0.5), [NA, NA, 4, 5])
    assert np.isnan(arithmetic_mean(np.array([[NA, 3.0]]), np.array([1.0, 0]))).all()
    for f in AGGREGATORS.values():
        assert np.isnan(f(np.array([[NA, NA], [1.0, 2]]), np.ones(2))[0])


def test_single_child_and_single_unit() -> None:
    X = np.array([[7.0], [3.0]])
    for name in ("arithmetic", "geometric", "harmonic", "median"):
        np.testing.assert_allclose(aggregate(X, np.array([2.0]), name), [7, 3])
    np.testing.assert_allclose(copeland(np.array([[1.0, 2]]), np.ones(2)), [0])


def test_batched_over_replications_with_per_replication_weights() -> None:
    rng = np.random.default_rng(2)
    X = rng.uniform(1, 10, size=(4, 6, 3))
    X[0, 1, 2] = NA
    W = rng.uniform(0.1, 1, size=(4, 3))
    for name, f in AGGREGATORS.items():
        got = f(X, W)
        for k in range(4):
            np.testing.assert_allclose(got[k], f(X[k], W[k]), err_msg=name)


def test_errors() -> None:
    with pytest.raises(ComputeError, match="values > 0"):
        geometric_mean(np.array([[0.0, 1]]), np.ones(2))
    with pytest.raises(ComputeError, match="values > 0"):
        harmonic_mean(np.array([[-1.0, 1]]), np.ones(2))
    with pytest.raises(ComputeError, match=">= 0"):
        arithmetic_mean(np.ones((2, 2)), np.array([1.0, -1]))
    with pytest.raises(ComputeError, match="unknown aggregation 'max'"):
        aggregate(np.ones((2, 2)), np.ones(2), "max")


def test_pipeline_by_level_threshold_and_geometric_error(X5: np.ndarray) -> None:
    pipe = [{"step": "normalise", "l": 1, "u": 100}, {"step": "aggregate", "method": "arithmetic",
                                                      "by_level": {3: "geometric"}}]
    r = build(pipe, X5)
    s = r.scores
    np.testing.assert_allclose(s["P1"], (s["a"] + s["b"].fillna(s["a"])) / 2)  # level 2 arithmetic
    np.testing.assert_allclose(s["IDX"], np.exp((np.log(s["P1"]) + 3 * np.log(s["P2"])) / 4))  # level 3 geometric
    r = build([pipe[0], {"step": "aggregate", "min_availability": 0.75}], X5)
    # U4 has 1 of 2 children of P1 (½ < ¾): P1 missing, and then the index has 1 of 2 children too
    assert np.isnan(r.scores.loc["U4", "P1"]) and np.isnan(r.scores.loc["U4", "IDX"])
    assert not r.scores.drop(index="U4").isna().any().any()
    assert np.isnan(r.ranks.loc["U4", "IDX"])
    with pytest.raises(ComputeError, match="geometric mean of 'P1'.*'a' is 0 for unit 'U1'"):
        build([{"step": "normalise"}, {"step": "aggregate", "method": "geometric"}], X5)


def test_min_availability_per_group_overrides_level_and_global() -> None:
    """U4 lacks b, so P1 has 1 of 2 children (availability 0.5) for U4; P2 is complete."""
    from engine_helpers import X5, build

    norm = {"step": "normalise", "method": "min_max", "l": 0, "u": 100}
    # global 0.6 -> P1 of U4 is missing; a per-node 0.5 for P1 lets it through again
    strict = build([norm, {"step": "aggregate", "min_availability": 0.6}], X5)
    assert np.isnan(strict.scores.loc["U4", "P1"])
    node = build([norm, {"step": "aggregate", "min_availability": 0.6, "min_availability_by": {"P1": 0.5}}], X5)
    assert node.scores.loc["U4", "P1"] == pytest.approx(node.scores.loc["U4", "a"])  # mean over available a
    # a level entry ('2' = parents of indicators) applies to P1 and P2; a node entry wins over it
    level = build([norm, {"step": "aggregate", "min_availability_by": {"2": 0.6}}], X5)
    assert np.isnan(level.scores.loc["U4", "P1"]) and not np.isnan(level.scores.loc["U4", "P2"])
    both = build([norm, {"step": "aggregate", "min_availability_by": {"2": 0.6, "P1": 0.0}}], X5)
    assert not np.isnan(both.scores.loc["U4", "P1"])


def test_min_availability_by_must_be_a_share() -> None:
    from engine_helpers import make_spec

    from hubindex.errors import SpecError

    with pytest.raises(SpecError, match="min_availability_by"):
        make_spec([{"step": "aggregate", "min_availability_by": {"P1": 1.5}}])
