"""Normalisation methods (COINr ``n_*``), column-wise over units, NaN kept, batched over leading axes."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import build

from hubindex.engine import (
    NORMALISERS,
    borda,
    dist_to_max,
    dist_to_ref,
    dist_to_target,
    frac_max,
    goalposts,
    min_max,
    normalise,
    percentile_rank,
    rank,
    scaled,
    z_score,
)
from hubindex.errors import ComputeError, SpecError

NA = np.nan
x = np.array([[1.0], [2], [4], [NA], [5]])  # min 1, max 5, mean 3, sd(n−1) = √(10/3)


def col(y: np.ndarray) -> np.ndarray:
    return np.asarray(y)[:, 0]


def test_min_max_by_hand() -> None:
    # y = l + (x − 1)/(5 − 1)·(u − l)
    np.testing.assert_allclose(col(min_max(x)), [0, 25, 75, NA, 100])
    np.testing.assert_allclose(col(min_max(x, 1, 100)), [1, 25.75, 75.25, NA, 100])


def test_z_score_by_hand() -> None:
    sd = np.sqrt(10 / 3)
    np.testing.assert_allclose(col(z_score(x)), [-2 / sd, -1 / sd, 1 / sd, NA, 2 / sd])
    np.testing.assert_allclose(col(z_score(x, 10, 2)), 10 + 2 * np.array([-2, -1, 1, NA, 2]) / sd)
    # a spread below 1 (x/10: sd = 0.1826) is divided by, not by 1: the same z-scores
    np.testing.assert_allclose(col(z_score(x / 10)), [-2 / sd, -1 / sd, 1 / sd, NA, 2 / sd])


def test_scaled_dist_and_frac_by_hand() -> None:
    np.testing.assert_allclose(col(scaled(x, 2, 4)), [-25, 0, 50, NA, 75])  # (x − 2)/4·100
    np.testing.assert_allclose(col(dist_to_max(x)), [0, 0.25, 0.75, NA, 1])  # 1 − (5 − x)/4
    np.testing.assert_allclose(col(dist_to_max(x / 10)), [0, 0.25, 0.75, NA, 1])  # range 0.4 < 1: same
    np.testing.assert_allclose(col(min_max(x / 10)), [0, 25, 75, NA, 100])
    # reference unit 2 (x = 4): 1 − (4 − x)/4 ; capped at 1 if asked
    np.testing.assert_allclose(col(dist_to_ref(x, 2)), [0.25, 0.5, 1, NA, 1.25])
    np.testing.assert_allclose(col(dist_to_ref(x, 2, cap_max=True)), [0.25, 0.5, 1, NA, 1])
    np.testing.assert_allclose(col(dist_to_ref(x / 10, 2)), [0.25, 0.5, 1, NA, 1.25])  # range 0.4 < 1: same
    np.testing.assert_allclose(col(frac_max(x)), [0.2, 0.4, 0.8, NA, 1])  # x / 5


def test_dist_to_target_both_directions_by_hand() -> None:
    X = np.column_stack([col(x), col(x)])
    t = np.array([4.0, 2.0])
    d = np.array([1, -1])
    # +1: (x − 1)/(4 − 1) ; −1: (5 − x)/(5 − 2)
    up = np.array([0, 1 / 3, 1, NA, 4 / 3])
    down = np.array([4 / 3, 1, 1 / 3, NA, 0])
    np.testing.assert_allclose(dist_to_target(X, t, d, cap_max=False), np.column_stack([up, down]))
    np.testing.assert_allclose(dist_to_target(X, t, d), np.column_stack([np.minimum(up, 1), np.minimum(down, 1)]))


def test_rank_based_methods_with_ties_by_hand() -> None:
    y = np.array([[3.0], [1], [3], [NA], [2]])
    # min ranks 3,1,3,·,2 over n = 4 values: (r − 1)/(n − 1)
    np.testing.assert_allclose(col(percentile_rank(y)), [2 / 3, 0, 2 / 3, NA, 1 / 3])
    np.testing.assert_allclose(col(rank(y)), [3.5, 1, 3.5, NA, 2])  # average ranks
    np.testing.assert_allclose(col(borda(y)), [2.5, 0, 2.5, NA, 1])  # units beaten, ties ½


def test_goalposts_by_hand() -> None:
    y = np.array([[-5.0], [5], [15], [NA]])
    lo, hi = np.array([0.0]), np.array([10.0])
    # +1: (x − 0)/10·100, truncated to [0, 100]
    np.testing.assert_allclose(col(goalposts(y, lo, hi, np.array([1]))), [0, 50, 100, NA])
    np.testing.assert_allclose(col(goalposts(y, lo, hi, np.array([1]), trunc=False)), [-50, 50, 150, NA])
    # −1: (10 − x)/10·scale
    np.testing.assert_allclose(col(goalposts(y, lo, hi, np.array([-1]), scale=1)), [1, 0.5, 0, NA])
    with pytest.raises(ComputeError, match="upper != lower"):
        goalposts(y, hi, hi, np.array([1]))
    # goalposts away from 0 (a zero lower post hides x − lower vs x + lower): [2, 12], x = 4.5 → 25 / 75
    x = np.array([[4.5], [2.0], [12.0]])
    lo2, hi2 = np.array([2.0]), np.array([12.0])
    np.testing.assert_allclose(col(goalposts(x, lo2, hi2, np.array([1]))), [25, 0, 100])
    np.testing.assert_allclose(col(goalposts(x, lo2, hi2, np.array([-1]))), [75, 100, 0])


@pytest.mark.parametrize("method", ["min_max", "z_score", "dist_to_max"])
def test_zero_variance_all_missing_and_single_unit_give_nan(method: str) -> None:
    f = NORMALISERS[method]
    Z = np.column_stack([np.full(4, 2.0), np.full(4, NA)])  # zero variance, all missing
    assert np.isnan(f(Z)).all()
    assert np.isnan(f(np.array([[3.0]]))).all()  # a single unit has no spread


def test_frac_max_and_percentile_rank_degenerate_columns() -> None:
    assert np.isnan(frac_max(np.zeros((3, 1)))).all()  # max = 0
    np.testing.assert_allclose(col(frac_max(np.full((3, 1), 2.0))), [1, 1, 1])
    # all tied: min rank 1 for all -> (1 − 1)/(n − 1) = 0 (dplyr::percent_rank) ; one value -> NaN
    np.testing.assert_allclose(col(percentile_rank(np.full((3, 1), 2.0))), [0, 0, 0])
    assert np.isnan(percentile_rank(np.array([[1.0], [NA]]))).all()


def test_rank_methods_handle_constant_columns() -> None:
    np.testing.assert_allclose(col(rank(np.full((3, 1), 7.0))), [2, 2, 2])
    np.testing.assert_allclose(col(borda(np.full((3, 1), 7.0))), [1, 1, 1])


def test_batched_equals_one_by_one() -> None:
    rng = np.random.default_rng(0)
    B = rng.normal(size=(3, 6, 2))
    B[1, 2, 0] = NA
    for m in ("min_max", "z_score", "dist_to_max", "percentile_rank", "rank", "borda"):
        got = normalise(B, m)
        for k in range(3):
            np.testing.assert_allclose(got[k], normalise(B[k], m), err_msg=m)


def test_errors() -> None:
    with pytest.raises(ComputeError, match="unknown normalisation 'softmax'"):
        normalise(x, "softmax")
    with pytest.raises(ComputeError, match="u > l"):
        min_max(x, 100, 0)
    with pytest.raises(ComputeError, match="spread"):
        scaled(x, 0, 0)
    with pytest.raises(ComputeError, match="out of range"):
        dist_to_ref(x, 9)


def test_pipeline_applies_direction_before_normalising(X5: np.ndarray) -> None:
    r = build([{"step": "normalise", "method": "min_max"}, {"step": "aggregate"}], X5)
    np.testing.assert_allclose(r.datasets["Normalised"]["c"], [0, 25, 50, 75, 100])  # c has direction −1
    r = build([{"step": "normalise", "method": "rank"}, {"step": "aggregate"}], X5)
    np.testing.assert_allclose(r.datasets["Normalised"]["c"], [1, 2, 3, 4, 5])
    r = build([{"step": "normalise", "method": "dist_to_ref", "ref_unit": "U3"}, {"step": "aggregate"}], X5)
    np.testing.assert_allclose(r.datasets["Normalised"]["a"], [0.5, 0.75, 1, 1.25, 1.5])  # 1 − (3 − x)/4


def test_pipeline_targets_goalposts_and_bad_input(X5: np.ndarray) -> None:
    fw = [{"code": "IDX"}, {"code": "a", "parent": "IDX", "target": 3, "goalposts": [0, 10]},
          {"code": "c", "parent": "IDX", "direction": -1, "target": 2, "goalposts": [0, 5]}]
    X = X5[:, [0, 2]]
    kw = {"framework": fw, "indicators": ("a", "c")}
    r = build([{"step": "normalise", "method": "dist_to_target", "cap_max": False}, {"step": "aggregate"}], X, **kw)
    # a (+1): (x − 1)/(3 − 1) ; c (−1): (5 − x)/(5 − 2) on raw values
    np.testing.assert_allclose(r.datasets["Normalised"]["a"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_allclose(r.datasets["Normalised"]["c"], [0, 1 / 3, 2 / 3, 1, 4 / 3])
    r = build([{"step": "normalise", "method": "goalposts"}, {"step": "aggregate"}], X, **kw)
    np.testing.assert_allclose(r.datasets["Normalised"]["a"], [10, 20, 30, 40, 50])
    np.testing.assert_allclose(r.datasets["Normalised"]["c"], [0, 20, 40, 60, 80])  # (5 − x)/5·100
    with pytest.raises(SpecError, match="ref_unit 'ZZ'"):
        build([{"step": "normalise", "method": "dist_to_ref", "ref_unit": "ZZ"}, {"step": "aggregate"}], X5)
    with pytest.raises(SpecError, match=r"needs a 'target'.*\['a', 'b', 'c', 'd'\]"):
        build([{"step": "normalise", "method": "dist_to_target"}, {"step": "aggregate"}], X5)
    with pytest.raises(SpecError, match="goalposts"):
        build([{"step": "normalise", "method": "goalposts"}, {"step": "aggregate"}], X5)
    Xz = X5.copy()
    Xz[:, 3] = 7.0
    with pytest.raises(ComputeError, match="indicator 'd' has zero variance"):
        build([{"step": "normalise", "method": "min_max"}, {"step": "aggregate"}], Xz)
    Xn = X5.copy()
    Xn[:, 1] = NA
    with pytest.raises(ComputeError, match="indicator 'b' has no values left"):
        build([{"step": "normalise", "method": "rank"}, {"step": "aggregate"}], Xn)
