"""Hypothesis property tests for the engine's invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hubindex.engine import (
    AGGREGATORS,
    IndexData,
    effective_weights,
    impute,
    min_max,
    rank_desc,
    rescale_within_parents,
    run,
)
from hubindex.spec import spec_from_dict

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def matrices(min_rows: int = 1, max_rows: int = 12, min_cols: int = 1, max_cols: int = 6, nan_share: bool = True):  # type: ignore[no-untyped-def]
    """(n, p) float matrices, optionally with NaN holes."""
    elems = st.one_of(finite, st.just(np.nan)) if nan_share else finite
    shape = st.tuples(st.integers(min_rows, max_rows), st.integers(min_cols, max_cols))
    return shape.flatmap(lambda s: arrays(float, s, elements=elems))


@st.composite
def trees(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A random rooted tree (parent[i] < i, parent[0] = -1) with positive weights."""
    m = draw(st.integers(2, 25))
    parent = np.array([-1] + [draw(st.integers(0, i - 1)) for i in range(1, m)])
    w = np.array(draw(st.lists(st.floats(0.01, 100), min_size=m, max_size=m)))
    return parent, w


# -- ranks ----------------------------------------------------------------------------------------------


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=40, unique=True))
def test_ranks_are_a_permutation_without_ties(values: list[float]) -> None:
    r = rank_desc(np.array(values))
    assert sorted(r.tolist()) == list(range(1, len(values) + 1))
    assert r[int(np.argmax(values))] == 1


@SETTINGS
@given(st.lists(st.one_of(st.integers(0, 5).map(float), st.just(np.nan)), min_size=1, max_size=30))
def test_ties_share_the_lowest_rank(values: list[float]) -> None:
    s = np.array(values)
    r = rank_desc(s)
    for i, v in enumerate(s):
        if np.isnan(v):
            assert np.isnan(r[i])
        else:  # r_i = 1 + number of strictly better scores
            assert r[i] == 1 + np.sum(s[~np.isnan(s)] > v)


# -- weights ----------------------------------------------------------------------------------------------


@SETTINGS
@given(trees())
def test_rescaled_weights_sum_to_one_within_each_parent(tree: tuple[np.ndarray, np.ndarray]) -> None:
    parent, w = tree
    r = rescale_within_parents(w, parent)
    for p in np.unique(parent[parent >= 0]):
        assert np.isclose(r[parent == p].sum(), 1.0)
    leaves = ~np.isin(np.arange(len(parent)), parent)
    assert np.isclose(effective_weights(w, parent)[leaves].sum(), 1.0)


# -- normalisation ----------------------------------------------------------------------------------------


@SETTINGS
@given(matrices(min_rows=2), st.floats(-1e3, 1e3), st.floats(0.1, 1e3))
def test_min_max_output_lies_in_l_u(X: np.ndarray, lo: float, width: float) -> None:
    u = lo + width
    Y = min_max(X, lo, u)
    ok = ~np.isnan(Y)
    tol = 1e-9 * max(1.0, abs(lo), abs(u))
    assert np.all(Y[ok] >= lo - tol) and np.all(Y[ok] <= u + tol)
    if X.shape[0] >= 2:  # the column extremes map onto the bounds
        for j in range(X.shape[1]):
            x = X[:, j]
            if np.sum(~np.isnan(x)) and np.nanmax(x) > np.nanmin(x):
                assert np.isclose(Y[np.nanargmax(x), j], u) and np.isclose(Y[np.nanargmin(x), j], lo)
    assert not np.any(ok & np.isnan(X))  # missing stays missing


# -- imputation -------------------------------------------------------------------------------------------


@SETTINGS
@given(matrices(min_rows=2), st.sampled_from(["none", "mean", "median", "group_mean", "group_median",
                                              "row_mean"]), st.data())
def test_imputation_never_changes_a_non_missing_value(X: np.ndarray, method: str, data: st.DataObject) -> None:
    n, p = X.shape
    groups = np.array(data.draw(st.lists(st.sampled_from(["A", "B", None]), min_size=n, max_size=n)), dtype=object)
    cgroups = np.array(data.draw(st.lists(st.sampled_from(["P1", "P2"]), min_size=p, max_size=p)), dtype=object)
    out, mask = impute(X, method, groups=groups, column_groups=cgroups)
    ok = ~np.isnan(X)
    assert np.array_equal(out[ok], X[ok])
    assert not mask[ok].any()
    assert np.array_equal(mask, np.isnan(X) & ~np.isnan(out))  # exactly the filled cells are flagged


@settings(max_examples=15, deadline=None)
@given(matrices(min_rows=3, max_rows=15, min_cols=2, max_cols=4))
def test_iterative_imputation_never_changes_a_non_missing_value(X: np.ndarray) -> None:
    out, mask = impute(X / 1e3, "iterative")
    ok = ~np.isnan(X)
    assert np.array_equal(out[ok], (X / 1e3)[ok]) and not mask[ok].any()


# -- aggregation ------------------------------------------------------------------------------------------


@SETTINGS
@given(st.floats(0.01, 1e4), st.integers(1, 8), st.integers(1, 6), st.data())
def test_aggregating_identical_children_returns_that_value(v: float, k: int, n: int, data: st.DataObject) -> None:
    w = np.array(data.draw(st.lists(st.floats(0.01, 10), min_size=k, max_size=k)))
    X = np.full((n, k), v)
    for name in ("arithmetic", "geometric", "harmonic", "median"):
        np.testing.assert_allclose(AGGREGATORS[name](X, w), np.full(n, v), rtol=1e-12, err_msg=name)


TREE = [{"code": "IDX"}, {"code": "P1", "parent": "IDX", "weight": 2}, {"code": "P2", "parent": "IDX"},
        {"code": "a", "parent": "P1"}, {"code": "b", "parent": "P1", "weight": 3}, {"code": "c", "parent": "P2"},
        {"code": "d", "parent": "P2", "direction": -1}]
SPEC = spec_from_dict({"name": "p", "data": {"path": "x.csv"}, "framework": TREE,
                       "pipeline": [{"step": "normalise", "method": "min_max"}, {"step": "aggregate"}]})


@SETTINGS
@given(arrays(float, (6, 4), elements=st.one_of(st.floats(-100, 100), st.just(np.nan))),
       st.integers(0, 7), st.integers(0, 2), st.floats(0.001, 500))
def test_raising_a_positive_indicator_never_lowers_the_index(X6: np.ndarray, unit: int, col: int, delta: float
                                                             ) -> None:
    # a, b, c have direction +1; the build is min-max -> weighted arithmetic mean (missing values renormalised).
    # Two anchor units at −200 and 200 keep every column non-constant.
    X = np.vstack([X6, np.full((1, 4), -200.0), np.full((1, 4), 200.0)])
    assume(not np.isnan(X[unit, col]))
    units = np.array([f"U{i}" for i in range(8)], dtype=object)
    before = run(SPEC, IndexData(units, units, ("a", "b", "c", "d"), X)).scores["IDX"].to_numpy()
    X2 = X.copy()
    X2[unit, col] += delta
    after = run(SPEC, IndexData(units, units, ("a", "b", "c", "d"), X2)).scores["IDX"].to_numpy()
    assert after[unit] >= before[unit] - 1e-9
