"""Real data: the package's estimator reproduces the World Bank's published Findex 2021 rates for the Philippines.

Reads the raw files from shared/data/raw (skipped, with the reason, when that folder is absent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubindex.survey import as_indicator, run_survey

SPEC = "examples/findex_phl/survey.yaml"
HEADLINE = {  # measure code → column of findex2021_databankwide_headline.csv (whole-percent strings)
    "account": "Account (% age 15+)",
    "account_fin": "Financial institution account (% age 15+)",
    "account_mob": "Mobile money account (% age 15+)",
    "anydigpayment": "Made or received a digital payment (% age 15+)",
    "buy_online": "Used a mobile phone or the internet to buy something online (% age 15+)",
    "merchantpay_dig": "Made a digital merchant payment (% age 15+)",
}


@pytest.fixture(scope="module")
def result(raw_dir, repo):
    if not (raw_dir / "worldbank_findex_microdata" / "micro_world_2021_phl.csv").exists():
        pytest.skip("Findex microdata not present in shared/data/raw")
    return run_survey(repo / SPEC)


@pytest.fixture(scope="module")
def headline(raw_dir):
    h = pd.read_csv(raw_dir / "worldbank_findex" / "findex2021_databankwide_headline.csv", dtype=str)
    row = h[(h["Country code"] == "PHL") & (h["Year"] == "2021")]
    assert len(row) == 1
    return row.iloc[0]


def _overall(res, m):
    t = res.estimates
    return float(t[(t.measure == m) & (t.group == "all")]["estimate"].iloc[0])


def test_account_matches_wdi_to_four_decimals(result, raw_dir):
    wdi = pd.read_csv(raw_dir / "worldbank_findex" / "ddf--datapoints--fx_own_totl_zs--by--geo--time.csv")
    pub = float(wdi[(wdi.geo == "phl") & (wdi.time == 2021)]["fx_own_totl_zs"].iloc[0])
    ours = 100 * _overall(result, "account")
    print(f"account: ours {ours:.5f} vs published {pub:.5f}, |diff| = {abs(ours - pub):.2e} pp")
    assert abs(ours - pub) < 5e-4


@pytest.mark.parametrize("measure", list(HEADLINE))
def test_headline_rates_match_to_the_published_whole_percent(result, headline, measure):
    # the databank file publishes whole percents (±0.5 pp)
    pub = float(headline[HEADLINE[measure]].rstrip("%"))
    ours = 100 * _overall(result, measure)
    print(f"{measure}: ours {ours:.2f} vs published {pub:.0f}%, |diff| = {abs(ours - pub):.2f} pp")
    assert round(ours) == pub
    assert abs(ours - pub) <= 0.5


@pytest.mark.parametrize("measure", list(HEADLINE))
@pytest.mark.parametrize("level", ["young", "older"])
def test_published_age_split_matches(result, headline, measure, level):
    # the only demographic split left in the headline extract: young (15-24) / older (25+)
    col = HEADLINE[measure].replace(" (% age 15+)", f", {level} " + ("(% ages 15-24)" if level == "young"
                                                                     else "(% age 25+)"))
    pub = float(headline[col].rstrip("%"))
    t = result.estimates
    ours = 100 * float(t[(t.measure == measure) & (t.group == "age") & t.level.str.startswith(level)]
                       ["estimate"].iloc[0])
    print(f"{measure}, {level}: ours {ours:.2f} vs published {pub:.0f}%, |diff| = {abs(ours - pub):.2f} pp")
    assert round(ours) == pub


@pytest.mark.parametrize("group", ["sex", "income_quintile", "education"])
def test_breakdowns_are_consistent_with_the_overall_rate(result, group):
    # no published breakdown is available in the raw files (the headline extract dropped them), so check that
    # the weight-share-weighted average of the domain rates equals the overall rate, and domain n add up
    res = result
    w = res.weights["weight"].to_numpy()
    t = res.estimates
    for m in ("account", "account_fin", "account_mob", "anydigpayment", "merchantpay_dig"):
        d = t[(t.measure == m) & (t.group == group)]
        assert d["n"].sum() == 1000
        assert not d["suppressed"].any()
        # Σ_d W_d r_d / Σ W = overall; W_d from the rate's own numbers: n_d is not enough, use weights
        spec_col = {"sex": "female", "income_quintile": "inc_q", "education": "educ"}[group]
        raw = pd.read_csv(res.spec.data_path, usecols=[spec_col])[spec_col].to_numpy()
        Wd = np.array([w[raw == code].sum() for code in sorted(np.unique(raw))])
        avg = float(np.sum(Wd * d["estimate"].to_numpy()) / Wd.sum())
        assert avg == pytest.approx(_overall(res, m), abs=1e-12)


def test_design_effect_reported_beside_the_se(result):
    t = result.estimates
    a = t[(t.measure == "account") & (t.group == "all")].iloc[0]
    assert a["n"] == 1000
    assert a["deff_kish"] == pytest.approx(1.8246, abs=1e-3)  # n·Σw²/(Σw)² of the Findex PHL weights
    assert 1.0 < a["deff"] < 3.0
    assert a["ci_low"] < a["estimate"] < a["ci_high"]
    assert "n=1000" in a["provenance"] and "design weights 'wgt'" in a["provenance"]


def test_denominators_are_never_mixed(result):
    t = result.estimates
    all_adults = _overall(result, "buy_online")
    users = _overall(result, "buy_online_internet_users")
    assert users > all_adults  # same item, different denominators, different rates: kept apart
    row = t[(t.measure == "buy_online_internet_users") & (t.group == "all")].iloc[0]
    assert row["denominator"] == "adults with internet access" and row["n"] == 874


def test_as_indicator(result):
    s = as_indicator(result.estimates, "anydigpayment", scale=100)
    assert list(s.index) == ["PHL"] and s["PHL"] == pytest.approx(43.45, abs=0.01)
    assert "survey: World Bank" in s.attrs["provenance"]["PHL"]
