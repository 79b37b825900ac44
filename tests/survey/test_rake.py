"""Raking: a hand case, agreement with samplics, trimming, and clear errors for bad margins."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubindex.errors import ComputeError, DataError
from hubindex.survey.rake import category_keys, rake, read_margins


def test_hand_case_2x2():
    # 4 respondents, one per (sex, age) cell, w = 1. Targets sex (60, 40), age (30, 70).
    # IPF on a 2×2 table with one unit per cell converges to the table with those margins that keeps the
    # odds ratio of the start (= 1): the independence table, w = outer((.6,.4), (.3,.7)) · 100.
    sex = np.array([0, 0, 1, 1])
    age = np.array([0, 1, 0, 1])
    w, rep = rake(np.ones(4), np.zeros(4, int), {"sex": sex, "age": age},
                  {"sex": np.array([[60.0, 40.0]]), "age": np.array([[30.0, 70.0]])}, tol=1e-12)
    np.testing.assert_allclose(w, [18, 42, 12, 28], rtol=1e-10)
    assert rep.converged and rep.iterations <= 3
    assert rep.deff_kish_before["0"] == pytest.approx(1.0)
    assert rep.deff_kish_after["0"] == pytest.approx(4 * (18**2 + 42**2 + 12**2 + 28**2) / 100**2)


def test_one_variable_is_poststratification():
    w, rep = rake(np.array([1.0, 1, 1, 2]), np.zeros(4, int), {"g": np.array([0, 0, 1, 1])},
                  {"g": np.array([[10.0, 30.0]])})
    np.testing.assert_allclose(w, [5, 5, 10, 20])
    assert rep.iterations == 1


def test_matches_samplics_rake():
    pytest.importorskip("samplics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics.weighting import SampleWeight
    rng = np.random.default_rng(4)
    n = 300
    a = rng.integers(0, 3, n)
    b = rng.integers(0, 2, n)
    w0 = rng.uniform(0.5, 2.0, n)
    ta = np.array([200.0, 300.0, 500.0])
    tb = np.array([450.0, 550.0])
    ours, _ = rake(w0, np.zeros(n, int), {"a": a, "b": b}, {"a": ta[None], "b": tb[None]}, tol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SampleWeight().rake(samp_weight=w0, margins={"a": a, "b": b},
                                     control={"a": dict(enumerate(ta)), "b": dict(enumerate(tb))},
                                     tol=1e-12, ctrl_tol=1e-12, max_iter=1000)
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_trimming_caps_weights_and_keeps_margins():
    rng = np.random.default_rng(2)
    n = 2000
    g = (rng.random(n) < 0.1).astype(int)  # a rare category that needs large weights
    w, rep = rake(np.ones(n), np.zeros(n, int), {"g": g}, {"g": np.array([[0.5 * n, 0.5 * n]])},
                  upper=3.0, max_iter=200, tol=1e-6)
    # the cap cannot be met together with the margin (target needs ~5× mean): not converged, reported
    assert not rep.converged
    # feasible: a few huge design weights are capped at 2× the mean while the margins are still met
    w0 = np.ones(n)
    w0[:20] = 15.0
    h = rng.integers(0, 2, n)
    t = np.bincount(g, minlength=2) * 1.0
    w2, rep2 = rake(w0, np.zeros(n, int), {"g": g, "h": h},
                    {"g": t[None] * w0.sum() / n, "h": np.array([[0.5, 0.5]]) * w0.sum()},
                    upper=2.0, lower=0.5, max_iter=500, tol=1e-7)
    assert rep2.converged and rep2.max_rel_error < 1e-7
    assert w2.max() / w2.mean() <= 2.0 * (1 + 1e-6) and w2.min() / w2.mean() >= 0.5 * (1 - 1e-6)
    assert rep2.trimmed >= 20
    assert rep2.deff_kish_after["0"] < rep2.deff_kish_before["0"]


def test_category_without_respondents_is_an_error():
    with pytest.raises(ComputeError, match="no respondents"):
        rake(np.ones(3), np.zeros(3, int), {"g": np.array([0, 0, 0])}, {"g": np.array([[2.0, 1.0]])})


def test_category_keys():
    assert category_keys(pd.Series([1, 2.0, "x ", None], dtype=object)).tolist()[:3] == ["1", "2", "x"]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "margins.csv"
    p.write_text(text)
    return p


def test_read_margins_errors(tmp_path):
    with pytest.raises(DataError, match="do not sum to the same total"):
        read_margins(_write(tmp_path, "variable,category,target\nsex,1,50\nsex,2,50\nage,a,30\nage,b,60\n"))
    with pytest.raises(DataError, match=r"row 3, column 'target'"):
        read_margins(_write(tmp_path, "variable,category,target\nsex,1,50\nsex,2,-1\n"))
    with pytest.raises(DataError, match="missing column"):
        read_margins(_write(tmp_path, "variable,level,target\nsex,1,50\n"))
    with pytest.raises(DataError, match="not columns of the respondent file"):
        read_margins(_write(tmp_path, "variable,category,target\nregion,1,1\n"), ["sex"])
    m = read_margins(_write(tmp_path, "variable,category,target\nsex,1,.5\nsex,2,.5\nage,1.0,1\n"))
    assert m["category"].tolist() == ["1", "2", "1"]
