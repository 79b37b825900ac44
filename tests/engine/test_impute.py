"""Imputation: column/group mean and median, row mean within the aggregation group, IterativeImputer."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import build

from hubindex.engine import impute, impute_column, impute_group, impute_iterative, impute_row_mean
from hubindex.errors import ComputeError

NA = np.nan
X = np.array([
    [1.0, 10, NA],
    [2.0, NA, NA],
    [NA, 40, NA],
    [9.0, 70, NA],   # column 2 is all missing
])


def test_column_mean_and_median_by_hand() -> None:
    # mean col0 = (1+2+9)/3 = 4 ; mean col1 = (10+40+70)/3 = 40 ; median col0 = 2 ; median col1 = 40
    out, mask = impute_column(X, "mean")
    assert out[2, 0] == 4 and out[1, 1] == 40
    out_m, _ = impute_column(X, "median")
    assert out_m[2, 0] == 2 and out_m[1, 1] == 40
    # the all-missing column stays missing and is not flagged
    assert np.isnan(out[:, 2]).all() and not mask[:, 2].any()
    np.testing.assert_array_equal(mask, [[0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])


def test_group_mean_and_median_by_hand() -> None:
    g = np.array(["A", "A", "B", "B"], dtype=object)
    # group A col1: only U0 = 10 -> U1 gets 10 ; group B col0: only U3 = 9 -> U2 gets 9
    out, mask = impute_group(X, g, "mean")
    assert out[1, 1] == 10 and out[2, 0] == 9 and mask.sum() == 2
    Y = np.array([[1.0], [2.0], [6.0], [NA], [100.0]])
    gy = np.array(["A", "A", "A", "A", "B"], dtype=object)
    assert impute_group(Y, gy, "median")[0][3, 0] == 2  # median(1, 2, 6) = 2
    assert impute_group(Y, gy, "mean")[0][3, 0] == 3  # (1+2+6)/3


def test_group_all_missing_and_unlabelled_units_stay_missing() -> None:
    Y = np.array([[NA], [NA], [5.0], [NA]])
    g = np.array(["A", "A", "B", None], dtype=object)  # group A all missing; U3 has no group
    out, mask = impute_group(Y, g)
    assert np.isnan(out[[0, 1, 3], 0]).all() and not mask.any()


def test_row_mean_within_aggregation_group_by_hand() -> None:
    Y = np.array([[1.0, NA, 3.0, 10.0, NA],
                  [NA, NA, NA, 4.0, 6.0]])
    cg = np.array(["P1", "P1", "P1", "P2", "P2"], dtype=object)
    out, mask = impute_row_mean(Y, cg)
    # U0: P1 siblings (1, 3) -> 2 ; P2 sibling 10 -> 10 ; U1: P1 all missing -> stays missing
    np.testing.assert_allclose(out, [[1, 2, 3, 10, 10], [NA, NA, NA, 4, 6]])
    np.testing.assert_array_equal(mask, [[0, 1, 0, 0, 1], [0, 0, 0, 0, 0]])


def test_iterative_recovers_a_linear_relation_and_keeps_observed_values() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=60)
    Y = np.column_stack([a, 2 * a + 1, rng.normal(size=60)])
    Y[5, 1] = NA  # should be close to 2·a5 + 1
    Y[7, 0] = NA
    Y[:, 2][:3] = NA
    Z = np.column_stack([Y, np.full(60, NA)])  # an all-missing column is left alone
    out, mask = impute_iterative(Z, seed=0)
    assert out[5, 1] == pytest.approx(2 * a[5] + 1, abs=0.05)
    assert out[7, 0] == pytest.approx(a[7], abs=0.05)
    ok = ~np.isnan(Z)
    np.testing.assert_array_equal(out[ok], Z[ok])
    assert mask.sum() == 5 and np.isnan(out[:, 3]).all()
    out2, _ = impute_iterative(Z, seed=0)
    np.testing.assert_array_equal(out, out2)  # deterministic for a seed


def test_dispatch_none_and_errors() -> None:
    out, mask = impute(X, "none")
    np.testing.assert_array_equal(np.isnan(out), np.isnan(X))
    assert not mask.any()
    with pytest.raises(ComputeError, match="needs a group column"):
        impute(X, "group_mean")
    with pytest.raises(ComputeError, match="aggregation groups"):
        impute(X, "row_mean")
    with pytest.raises(ComputeError, match="unknown imputation 'knn'"):
        impute(X, "knn")
    with pytest.raises(ComputeError, match="4 units"):
        impute_group(X, np.array(["A", "B"], dtype=object))
    with pytest.raises(ComputeError, match="3 indicators"):
        impute_row_mean(X, np.array(["P"], dtype=object))
    with pytest.raises(ComputeError, match="matrix"):
        impute_column(np.array([1.0, NA]))


def test_no_missing_values_is_a_no_op() -> None:
    Y = np.arange(6.0).reshape(3, 2)
    for m in ("mean", "median", "iterative"):
        out, mask = impute(Y, m)
        np.testing.assert_array_equal(out, Y)
        assert not mask.any()


def test_pipeline_flags_imputed_cells_and_reports(X5: np.ndarray) -> None:
    pipe = [{"step": "impute", "method": "group_mean", "group": "region"}, {"step": "normalise"},
            {"step": "aggregate"}]
    r = build(pipe, X5, groups=["region"], group_values={"region": ["E", "E", "W", "W", "W"]})
    # b of U4 (West: U3 = 30, U5 = 50) -> 40
    assert r.datasets["Imputed"].loc["U4", "b"] == 40
    assert r.imputed.loc["U4", "b"] and r.imputed.to_numpy().sum() == 1
    rep = r.reports["impute"]
    assert rep.loc["b", "n_missing_before"] == 1 and rep.loc["b", "n_imputed"] == 1
    assert rep.loc["b", "n_missing_after"] == 0
    # row mean within P1 on the same data: b of U4 <- a of U4 = 4 (raw scale; after normalising in practice)
    r = build([{"step": "impute", "method": "row_mean"}, *pipe[1:]], X5)
    assert r.datasets["Imputed"].loc["U4", "b"] == 4
    r = build([{"step": "impute", "method": "iterative", "max_iter": 3}, *pipe[1:]], X5)
    assert r.imputed.loc["U4", "b"]
    assert r.run_record["steps"][0]["max_iter"] == 3
