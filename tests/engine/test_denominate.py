"""Denomination y = x / d · scale (COINr ``Denominate``)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import build

from hubindex.engine import denominate
from hubindex.errors import ComputeError, DataError, SpecError

NA = np.nan


def test_by_hand_with_scale_per_column() -> None:
    X = np.array([[10.0, 3.0], [20.0, 4.0]])
    D = np.array([[2.0, 1.0], [5.0, 1.0]])
    # y_ij = x_ij / d_ij · scale_j : col 0 per thousand (scale 1000), col 1 untouched (d = 1, scale 1)
    y = denominate(X, D, np.array([1000.0, 1.0]))
    np.testing.assert_allclose(y, [[5000, 3], [4000, 4]])


def test_missing_and_zero_denominators_give_missing_never_inf() -> None:
    y = denominate(np.array([[1.0], [2.0], [NA]]), np.array([[NA], [0.0], [4.0]]))
    assert np.isnan(y).all()
    assert not np.isinf(y).any()


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ComputeError, match="do not match"):
        denominate(np.ones((3, 2)), np.ones((2, 2)))


def test_pipeline_denominates_by_node_denominator_and_reports() -> None:
    fw = [{"code": "IDX"}, {"code": "a", "parent": "IDX", "denominator": "pop"}, {"code": "b", "parent": "IDX"}]
    X = np.array([[10.0, 1], [30, 2], [NA, 3]])
    pop = [2.0, 3.0, 0.0]
    pipe = [{"step": "denominate"}, {"step": "normalise"}, {"step": "aggregate"}]
    r = build(pipe, X, framework=fw, indicators=("a", "b"), denominators=["pop"], denominator_values={"pop": pop})
    # a / pop = 5, 10, NA (a zero denominator is fine where the indicator is missing)
    np.testing.assert_allclose(r.datasets["Denominated"]["a"], [5, 10, NA])
    np.testing.assert_allclose(r.datasets["Denominated"]["b"], [1, 2, 3])
    assert r.reports["denominate"].to_dict("records") == [{"indicator": "a", "denominator": "pop"}]
    # explicit mapping and scale: per 100 people
    r = build([{"step": "denominate", "by": {"b": "pop"}, "scale": 100}, *pipe[1:]], X[:2], framework=fw,
              indicators=("a", "b"), denominators=["pop"], denominator_values={"pop": pop[:2]})
    np.testing.assert_allclose(r.datasets["Denominated"]["b"], [50, 200 / 3])
    np.testing.assert_allclose(r.datasets["Denominated"]["a"], [10, 30])


def test_pipeline_errors_name_the_indicator_unit_and_denominator() -> None:
    fw = [{"code": "IDX"}, {"code": "a", "parent": "IDX", "denominator": "pop"}, {"code": "b", "parent": "IDX"}]
    pipe = [{"step": "denominate"}, {"step": "normalise"}, {"step": "aggregate"}]
    X = np.array([[10.0, 1], [30, 2]])
    with pytest.raises(DataError, match="denominator 'pop' is 0 for unit 'U2'.*indicator 'a'"):
        build(pipe, X, framework=fw, indicators=("a", "b"), denominators=["pop"],
              denominator_values={"pop": [1.0, 0.0]})
    with pytest.raises(SpecError, match="'a' names denominator 'pop'"):
        build(pipe, X, framework=fw, indicators=("a", "b"))
