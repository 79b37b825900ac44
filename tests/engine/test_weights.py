"""Weights: rescaling within parents, equal, PCA, effective (nominal and realised) weights, importance."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import build

from hubindex.engine import (
    arithmetic_mean,
    effective_weights,
    equal_weights,
    importance,
    pca_weights,
    rescale_within_parents,
    unit_effective_weights,
)
from hubindex.errors import ComputeError, SpecError

NA = np.nan
# 0 root ; 1, 2 pillars ; 3, 4 under 1 ; 5, 6, 7 under 2
PARENT = np.array([-1, 0, 0, 1, 1, 2, 2, 2])
W = np.array([1, 1, 3, 1, 1, 1, 2, 1.0])


def test_rescale_and_effective_by_hand() -> None:
    # pillars 1/(1+3), 3/4 ; leaves 1/2, 1/2 ; 1/4, 2/4, 1/4
    np.testing.assert_allclose(rescale_within_parents(W, PARENT), [1, 0.25, 0.75, 0.5, 0.5, 0.25, 0.5, 0.25])
    # effective = product up the path: 0.25·0.5, 0.75·0.25, 0.75·0.5
    eff = effective_weights(W, PARENT)
    np.testing.assert_allclose(eff, [1, 0.25, 0.75, 0.125, 0.125, 0.1875, 0.375, 0.1875])
    assert eff[3:].sum() == pytest.approx(1)
    np.testing.assert_allclose(equal_weights(PARENT), [1, 0.5, 0.5, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3])


def test_weight_errors() -> None:
    with pytest.raises(ComputeError, match=">= 0"):
        rescale_within_parents(np.array([1, -1, 1.0]), np.array([-1, 0, 0]))
    with pytest.raises(ComputeError, match="are zero"):
        rescale_within_parents(np.array([1, 0, 0.0]), np.array([-1, 0, 0]))
    with pytest.raises(ComputeError, match="same length"):
        rescale_within_parents(np.ones(3), np.array([-1, 0]))
    with pytest.raises(ComputeError, match="missing"):
        rescale_within_parents(np.array([1, NA, 1.0]), np.array([-1, 0, 0]))


def test_unit_effective_weights_renormalise_over_missing_children() -> None:
    A = np.ones((3, 8), dtype=bool)
    A[1, 3] = False  # leaf 3 missing: leaf 4 takes pillar 1's whole share 0.25
    A[2, [5, 6, 7, 2]] = False  # pillar 2 entirely missing: pillar 1 gets everything
    E = unit_effective_weights(A, W, PARENT)
    np.testing.assert_allclose(E[0], effective_weights(W, PARENT))
    np.testing.assert_allclose(E[1, 3:], [0, 0.25, 0.1875, 0.375, 0.1875])
    np.testing.assert_allclose(E[2], [1, 1, 0, 0.5, 0.5, 0, 0, 0])
    with pytest.raises(ComputeError, match="available must be"):
        unit_effective_weights(A[:, :4], W, PARENT)


def test_unit_effective_weights_reproduce_arithmetic_aggregation() -> None:
    # index_u = Σ_leaves E_ul x_ul for the arithmetic mean with missing-value renormalisation
    rng = np.random.default_rng(5)
    L = rng.uniform(0, 100, size=(40, 5))
    L[rng.random(L.shape) < 0.2] = NA
    p1 = arithmetic_mean(L[:, :2], W[3:5])
    p2 = arithmetic_mean(L[:, 2:], W[5:])
    idx = arithmetic_mean(np.column_stack([p1, p2]), W[1:3])
    S = np.column_stack([idx, p1, p2, L])
    E = unit_effective_weights(~np.isnan(S), W, PARENT)
    ok = ~np.isnan(idx)
    np.testing.assert_allclose((E[:, 3:] * np.nan_to_num(L)).sum(1)[ok], idx[ok])
    np.testing.assert_allclose(E[ok][:, 3:].sum(1), 1)


def test_pca_weights_by_hand() -> None:
    # a and 2a are perfectly correlated, b is orthogonal to a: PC1 of the standardised data is (1, 1, 0)/√2
    a = np.array([1.0, -1, 1, -1])
    b = np.array([1.0, 1, -1, -1])
    np.testing.assert_allclose(pca_weights(np.column_stack([a, 2 * a + 5, b])), [0.5, 0.5, 0], atol=1e-12)
    # incomplete rows are dropped; fewer than 3 complete rows or one child -> equal weights
    X = np.column_stack([np.r_[a, NA], np.r_[2 * a, 3], np.r_[b, 1]])
    np.testing.assert_allclose(pca_weights(X), [0.5, 0.5, 0], atol=1e-12)
    np.testing.assert_allclose(pca_weights(X[:2]), [1 / 3] * 3)
    np.testing.assert_allclose(pca_weights(a[:, None]), [1])
    with pytest.raises(ComputeError, match="non-zero variance"):
        pca_weights(np.column_stack([a, np.ones(4)]))


def test_importance_by_hand() -> None:
    y = np.array([1.0, 2, 3, 4])
    X = np.column_stack([2 * y + 1, [1.0, -1, -1, 1], np.full(4, 3.0), [4.0, 3, NA, 1]])
    # r(2y+1, y) = 1 ; (1,−1,−1,1) is orthogonal to y − ȳ = (−1.5,−.5,.5,1.5) -> 0 ; constant -> NaN ;
    # (4,3,·,1) vs (1,2,·,4): perfectly decreasing -> r² = 1
    np.testing.assert_allclose(importance(X, y), [1, 0, NA, 1], atol=1e-12)


def test_pipeline_weight_sets_and_report(X5: np.ndarray) -> None:
    pipe = [{"step": "normalise"}, {"step": "aggregate"}]
    r = build(pipe, X5)
    w = r.weights
    assert list(w.columns) == ["level", "parent", "weight", "rescaled", "effective", "realised", "r2_index"]
    # U4 misses b: its realised weight of a is 0.25 instead of 0.125; the mean over 5 units is (4·0.125 + 0.25)/5
    assert w.loc["a", "realised"] == pytest.approx(0.15)
    assert w.loc["b", "realised"] == pytest.approx(0.1)
    assert w.loc["IDX", "r2_index"] == pytest.approx(1)
    r = build(pipe, X5, weights={"use": "equal"})
    assert r.weights.loc["P2", "rescaled"] == pytest.approx(0.5)
    r = build(pipe, X5, weights={"use": "alt", "sets": {"alt": {"P1": 2, "a": 3}}})
    assert r.weights.loc["P1", "rescaled"] == pytest.approx(0.4) and r.weights.loc["a", "rescaled"] == 0.75
    r = build(pipe, X5, weights={"use": "pca"})
    assert r.weights["rescaled"].between(0, 1).all()
    np.testing.assert_allclose(r.weights.loc[["a", "b"], "rescaled"].sum(), 1)
    with pytest.raises(SpecError, match=r"unknown node\(s\) \['zz'\]"):
        build(pipe, X5, weights={"use": "bad", "sets": {"bad": {"zz": 1}}})
