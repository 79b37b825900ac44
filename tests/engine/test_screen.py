"""Screening of units by availability and zeros, with forced inclusions/exclusions (COINr ``Screen``)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import build

from hubindex.engine import screen_units
from hubindex.errors import ComputeError, SpecError

NA = np.nan
# availability_i = non-missing / p ; zero_share_i = zeros / p   (p = 4)
X = np.array([
    [1, 2, 3, 4],        # U0: avail 4/4 = 1.00, zeros 0
    [1, NA, NA, 4],      # U1: avail 2/4 = 0.50
    [0, 0, 1, NA],       # U2: avail 3/4 = 0.75, zeros 2/4 = 0.50
    [NA, NA, NA, NA],    # U3: avail 0
])


def test_availability_and_zero_shares_by_hand() -> None:
    out = screen_units(X)
    np.testing.assert_allclose(out.availability, [1, 0.5, 0.75, 0])
    np.testing.assert_allclose(out.zero_share, [0, 0, 0.5, 0])
    assert out.keep.all() and list(out.reason) == ["", "", "", ""]


def test_thresholds_are_inclusive_and_reasons_recorded() -> None:
    out = screen_units(X, min_availability=0.75)  # 0.75 >= 0.75 is kept
    assert list(out.keep) == [True, False, True, False]
    assert list(out.reason) == ["", "availability", "", "availability"]
    out = screen_units(X, min_availability=0.6, max_zero_share=0.4)
    assert list(out.keep) == [True, False, False, False]
    assert list(out.reason) == ["", "availability", "zeros", "availability"]
    assert list(screen_units(X, max_zero_share=0.5).keep) == [True, True, True, True]  # 0.5 <= 0.5 is kept


def test_forced_inclusion_and_exclusion_override_thresholds() -> None:
    inc = np.array([False, False, False, True])
    exc = np.array([True, False, False, False])
    out = screen_units(X, min_availability=0.6, include=inc, exclude=exc)
    assert list(out.keep) == [False, False, True, True]
    assert list(out.reason) == ["forced_exclude", "availability", "", "forced_include"]
    # a unit both included and excluded: the inclusion wins (applied last)
    both = np.array([True, False, False, False])
    out = screen_units(X, include=both, exclude=both)
    assert out.keep[0] and out.reason[0] == "forced_include"


def test_single_unit_and_no_indicator_edge_cases() -> None:
    out = screen_units(np.array([[NA, 1.0]]), min_availability=0.5)
    assert list(out.keep) == [True] and out.availability[0] == 0.5
    out = screen_units(np.empty((2, 0)), min_availability=0.5)  # no indicator: availability 0
    assert list(out.keep) == [False, False]


@pytest.mark.parametrize("kw, msg", [
    ({"min_availability": 1.5}, "min_availability"),
    ({"max_zero_share": -0.1}, "max_zero_share"),
    ({"include": np.array([True, False])}, "include"),
    ({"exclude": np.array([0, 1, 0, 1])}, "boolean mask"),
])
def test_bad_arguments_raise_clear_errors(kw: dict, msg: str) -> None:
    with pytest.raises(ComputeError, match=msg):
        screen_units(X, **kw)
    with pytest.raises(ComputeError, match="matrix"):
        screen_units(np.array([1.0, 2.0]))


def test_pipeline_screen_report_and_forced_units(X5: np.ndarray) -> None:
    Xs = X5.copy()
    Xs[0, :3] = NA  # U1 has 1/4 available
    pipe = [{"step": "screen", "min_availability": 0.5, "exclude": ["U5"]},
            {"step": "normalise", "method": "min_max"}, {"step": "aggregate"}]
    r = build(pipe, Xs)
    assert r.excluded == ("U1", "U5") and r.units == ["U2", "U3", "U4"]
    rep = r.reports["screen"]
    assert rep.loc["U1", "reason"] == "availability" and rep.loc["U5", "reason"] == "forced_exclude"
    assert rep.loc["U1", "availability"] == pytest.approx(0.25)
    r = build([{**pipe[0], "include": ["U1"], "exclude": []}, *pipe[1:]], Xs)
    assert "U1" in r.units and r.reports["screen"].loc["U1", "reason"] == "forced_include"
    with pytest.raises(SpecError, match="'U9'"):
        build([{**pipe[0], "include": ["U9"]}, *pipe[1:]], Xs)
    with pytest.raises(ComputeError, match="no unit passes"):
        build([{"step": "screen", "min_availability": 1.0, "exclude": ["U2", "U3", "U5"]}, *pipe[1:]], Xs)
