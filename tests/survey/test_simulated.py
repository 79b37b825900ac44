"""Interval coverage and raking recovery on SIMULATED surveys with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from hubindex.survey.estimate import domain_rates, effective_n, interval
from hubindex.survey.rake import rake
from hubindex.survey.simulate import simulate_surveys


@pytest.fixture(scope="module")
def sim():
    return simulate_surveys(n_units=1000, seed=1)


@pytest.mark.parametrize("method", ["wilson", "korn_graubard"])
def test_coverage_of_95_percent_intervals(sim, method):
    # 1,000 independent simulated surveys (one per unit), estimated in one vectorised call
    f = sim.frame
    unit = f["unit"].str[1:].astype(int).to_numpy()
    y = (f["item"] == 1).to_numpy(float)
    e = domain_rates(y, f["weight"].to_numpy(), unit, 1000, f["stratum"].to_numpy(), f["psu"].to_numpy(),
                     design=unit)
    lo, hi = interval(method, e.rate, effective_n(e.rate, e.var, e.n, e.df))
    truth = sim.true_rate.to_numpy()
    coverage = np.mean((lo <= truth) & (truth <= hi))
    print(f"{method} coverage over 1,000 simulated surveys: {coverage:.3f}")
    assert 0.93 <= coverage <= 0.97
    assert np.median(e.deff) > 1.2  # clustering is real: a naive SRS interval would under-cover


def test_raking_recovers_margins_and_reduces_bias():
    s = simulate_surveys(n_units=50, seed=3, psu_per_stratum=4, per_psu=40)
    f = s.frame
    rng = np.random.default_rng(0)
    # bias the sample: the outcome depends on age, and the young are over-represented
    young = (f["age"] == "15-29").to_numpy()
    y = (rng.random(len(f)) < np.where(young, 0.8, 0.3)).astype(float)
    keep = young | (rng.random(len(f)) < 0.4)
    f, y = f[keep].reset_index(drop=True), y[keep]
    unit = f["unit"].str[1:].astype(int).to_numpy()
    cats = {"sex": ["female", "male"], "age": ["15-29", "30-49", "50+"]}
    codes = {v: f[v].map({c: i for i, c in enumerate(cs)}).to_numpy() for v, cs in cats.items()}
    w0 = f["weight"].to_numpy()
    tot = np.bincount(unit, weights=w0)
    shares = {v: s.margins.set_index("category").loc[cs, "target"].to_numpy() for v, cs in cats.items()}
    targets = {v: tot[:, None] * shares[v][None, :] for v in cats}
    w, rep = rake(w0, unit, codes, targets, tol=1e-10)
    assert rep.converged and rep.max_rel_error < 1e-10
    for v in cats:
        got = np.bincount(unit * len(cats[v]) + codes[v], weights=w).reshape(50, -1)
        np.testing.assert_allclose(got, targets[v], rtol=1e-9)
    true = 0.3 * 0.8 + 0.7 * 0.3
    before = domain_rates(y, w0, unit, 50).rate
    after = domain_rates(y, w, unit, 50).rate
    assert abs(np.mean(after) - true) < 0.01 < abs(np.mean(before) - true)
    assert all(rep.deff_kish_after[k] >= 1 for k in rep.deff_kish_after)
