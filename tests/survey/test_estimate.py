"""Estimators against hand-computed values, a naive loop implementation, samplics, and property tests."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hubindex.errors import ComputeError
from hubindex.survey.estimate import (
    domain_rates,
    effective_n,
    kish_deff,
    korn_graubard_interval,
    wilson_interval,
)


def test_hand_case_no_design():
    # y = 1,0,1,0; w = 1,2,3,4 → r = 4/10; u = w(y−r)/10 = .06,−.08,.18,−.16; Σu² = .068; v = 4/3 · .068
    e = domain_rates(np.array([1, 0, 1, 0]), np.array([1.0, 2, 3, 4]), np.zeros(4, int), 1)
    assert e.rate[0] == pytest.approx(0.4)
    assert e.var[0] == pytest.approx(4 / 3 * 0.068)
    assert e.n[0] == 4
    assert e.deff_kish[0] == pytest.approx(4 * 30 / 100)  # n Σw² / (Σw)² = 4·30/100
    # design deff: v / (s²/n), s² = n/(n−1)·r(1−r) = 4/3·0.24
    assert e.deff[0] == pytest.approx((4 / 3 * 0.068) / (4 / 3 * 0.24 / 4))
    assert e.df[0] == 3


def test_hand_case_strata_psu_domain():
    # stratum A: PSU 1 = {i0 (w1,y1,in), i1 (w1,y0,in)}, PSU 2 = {i2 (w2,y1,out)}
    # stratum B: PSU 3 = {i3 (w2,y0,in)}, PSU 4 = {i4 (w1,y1,in)}
    y = np.array([1, 0, 1, 0, 1])
    w = np.array([1.0, 1, 2, 2, 1])
    cell = np.array([0, 0, -1, 0, 0])
    strata = np.array(["A", "A", "A", "B", "B"])
    psu = np.array([1, 1, 2, 3, 4])
    e = domain_rates(y, w, cell, 1, strata, psu)
    # r = (1 + 0 + 0 + 1) / (1 + 1 + 2 + 1) = 0.4; u = w(y − .4)/5
    # PSU totals: U1 = (.6 − .4)/5 = .04, U2 = 0 (outside the domain), U3 = 2(−.4)/5 = −.16, U4 = .6/5 = .12
    # stratum A: 2/1 · ((.04 − .02)² + (0 − .02)²) = .0016; stratum B: 2 · ((−.16+.02)² + (.12+.02)²) = .0784
    assert e.rate[0] == pytest.approx(0.4)
    assert e.var[0] == pytest.approx(0.0016 + 0.0784)
    assert e.df[0] == 4 - 2


def naive_var(y, w, dom, strata, psu):
    """Straightforward loops over strata and PSUs (a different code path from the vectorised one)."""
    idx = [i for i in range(len(y)) if dom[i]]
    W = sum(w[i] for i in idx)
    r = sum(w[i] * y[i] for i in idx) / W
    total = 0.0
    for h in sorted(set(strata)):
        psus = sorted({psu[i] for i in range(len(y)) if strata[i] == h})
        tots = []
        for j in psus:
            tots.append(sum(w[i] * (y[i] - r) / W for i in range(len(y))
                            if strata[i] == h and psu[i] == j and dom[i]))
        m = sum(tots) / len(tots)
        total += len(tots) / (len(tots) - 1) * sum((t - m) ** 2 for t in tots)
    return r, total


def _design(seed: int, n: int = 120):
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 3, n)
    psu = strata * 10 + rng.integers(0, 4, n)  # 4 PSUs per stratum
    w = rng.gamma(2.0, 1.0, n) + 0.1
    y = (rng.random(n) < 0.3 + 0.1 * strata).astype(int)
    dom = rng.integers(0, 2, n)
    return y, w, strata, psu, dom


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_naive_loops_with_domains(seed):
    y, w, strata, psu, dom = _design(seed)
    # both domain levels in one call; a respondent outside the denominator (cell −1) too
    cell = dom.copy()
    cell[::7] = -1
    e = domain_rates(y, w, cell, 2, strata, psu)
    for d in (0, 1):
        r, v = naive_var(y, w, cell == d, strata, psu)
        assert e.rate[d] == pytest.approx(r, rel=1e-12)
        assert e.var[d] == pytest.approx(v, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 5])
def test_matches_samplics_taylor(seed):
    samplics = pytest.importorskip("samplics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam
    del samplics
    y, w, strata, psu, dom = _design(seed, 200)
    te = TaylorEstimator(PopParam.mean)
    te.estimate(y=y.astype(float), samp_weight=w, stratum=strata, psu=psu, domain=dom)
    e = domain_rates(y, w, dom, 2, strata, psu)
    for d in (0, 1):
        assert e.rate[d] == pytest.approx(te.point_est[d], rel=1e-12)
        assert e.se[d] == pytest.approx(te.stderror[d], rel=1e-9)
    # no PSU, no strata: each respondent its own PSU
    te = TaylorEstimator(PopParam.mean)
    te.estimate(y=y.astype(float), samp_weight=w)
    e = domain_rates(y, w, np.zeros(len(y), int), 1)
    assert e.se[0] == pytest.approx(te.stderror, rel=1e-9)


def test_units_are_independent_designs():
    # two units estimated together equal each unit estimated alone
    y, w, strata, psu, dom = _design(3, 150)
    unit = (np.arange(150) >= 70).astype(int)
    both = domain_rates(y, w, unit * 2 + dom, 4, strata, psu, design=unit)
    for u in (0, 1):
        m = unit == u
        alone = domain_rates(y[m], w[m], dom[m], 2, strata[m], psu[m])
        np.testing.assert_allclose(both.rate[2 * u:2 * u + 2], alone.rate, rtol=1e-12)
        np.testing.assert_allclose(both.var[2 * u:2 * u + 2], alone.var, rtol=1e-10)
        np.testing.assert_allclose(both.df[2 * u:2 * u + 2], alone.df)


def test_lonely_psu_options():
    y = np.array([1, 0, 1, 1])
    w = np.ones(4)
    strata = np.array([1, 1, 2, 2])
    psu = np.array([1, 2, 3, 3])  # stratum 2 has one PSU
    with pytest.raises(ComputeError, match="single PSU"):
        domain_rates(y, w, np.zeros(4, int), 1, strata, psu, lonely_psu="fail")
    rem = domain_rates(y, w, np.zeros(4, int), 1, strata, psu, lonely_psu="remove")
    adj = domain_rates(y, w, np.zeros(4, int), 1, strata, psu, lonely_psu="adjust")
    # r = .75; U1 = .25/4, U2 = −.75/4, U3 = 2·.25/4; stratum 1: 2·((U1−m)² + (U2−m)²), m = −.25/4
    s1 = 2 * ((0.25 / 4 + 0.25 / 4) ** 2 + (-0.75 / 4 + 0.25 / 4) ** 2)
    assert rem.var[0] == pytest.approx(s1)
    assert adj.var[0] == pytest.approx(s1 + (0.5 / 4) ** 2)


def test_empty_domain_is_nan_and_zero_variance():
    e = domain_rates(np.array([1, 1, 1]), np.ones(3), np.array([0, 0, 0]), 2)
    assert e.rate[0] == 1.0 and e.var[0] == 0.0
    assert np.isnan(e.rate[1]) and e.n[1] == 0


def test_kish_equal_weights_is_one():
    assert kish_deff(np.full(10, 3.0), np.zeros(10, int), 1)[0] == pytest.approx(1.0)


def test_wilson_hand_value():
    # p = .2, n = 100, z = 1.959964: textbook Wilson interval (0.1333, 0.2888)
    lo, hi = wilson_interval(np.array([0.2]), np.array([100.0]))
    assert lo[0] == pytest.approx(0.13330, abs=1e-4)
    assert hi[0] == pytest.approx(0.28883, abs=1e-4)


def test_korn_graubard_equals_clopper_pearson_at_srs():
    # with n_eff = n and integer x it is the exact Clopper–Pearson interval
    lo, hi = korn_graubard_interval(np.array([0.0, 0.3, 1.0]), np.array([20.0, 20.0, 20.0]))
    res = stats.binomtest(6, 20).proportion_ci(0.95, method="exact")
    assert lo[1] == pytest.approx(res.low, rel=1e-9) and hi[1] == pytest.approx(res.high, rel=1e-9)
    assert lo[0] == 0.0 and hi[0] == pytest.approx(1 - 0.025 ** (1 / 20))
    assert hi[2] == 1.0 and lo[2] == pytest.approx(0.025 ** (1 / 20))


def test_effective_n():
    # p(1−p)/v, capped at n; v = 0 → n; df adjustment (t_{n−1}/t_df)² shrinks it
    ne = effective_n(np.array([0.5, 0.5, 0.0]), np.array([0.0025, 0.0001, 0.0]), np.array([200, 200, 50]))
    np.testing.assert_allclose(ne, [100.0, 200.0, 50.0])
    ne_df = effective_n(np.array([0.5]), np.array([0.0025]), np.array([200]), np.array([10.0]))
    # the smallest design df, 1 (two PSUs in one stratum), is adjusted too: (t_199 / t_1)² at 2.5 %
    ne_1 = effective_n(np.array([0.5]), np.array([0.0025]), np.array([200]), np.array([1.0]))
    assert ne_1[0] == pytest.approx(100 * (stats.t.ppf(0.025, 199) / stats.t.ppf(0.025, 1)) ** 2)
    assert 2 < ne_1[0] < 3  # |t_1| = 12.7 against 1.97: a very wide interval, as it should be with one df
    assert ne_df[0] == pytest.approx(100 * (stats.t.ppf(0.025, 199) / stats.t.ppf(0.025, 10)) ** 2)


@settings(max_examples=60, deadline=None)
@given(
    y=st.lists(st.integers(0, 1), min_size=2, max_size=40),
    wseed=st.integers(0, 10_000),
    method=st.sampled_from(["wilson", "kg"]),
)
def test_properties(y, wseed, method):
    y = np.array(y)
    n = len(y)
    w = np.random.default_rng(wseed).uniform(0.1, 5.0, n)
    e = domain_rates(y, w, np.zeros(n, int), 1)
    p = e.rate[0]
    assert 0.0 <= p <= 1.0 and e.var[0] >= 0
    ne = effective_n(e.rate, e.var, e.n)
    lo, hi = (wilson_interval if method == "wilson" else korn_graubard_interval)(e.rate, ne)
    assert 0.0 <= lo[0] <= p + 1e-12 and p - 1e-12 <= hi[0] <= 1.0
    assert e.deff_kish[0] >= 1.0 - 1e-12
    if np.ptp(w) > 1e-9:
        assert e.deff_kish[0] > 1.0
