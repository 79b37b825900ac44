"""Survey estimates as index indicators: indicators.csv + indicator_provenance.csv, and an index spec whose
data.path joins a base table with the survey's indicators.csv (SIMULATED multi-city survey)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hubindex import build
from hubindex.cli import main
from hubindex.survey import run_survey
from hubindex.survey.run import PROVENANCE_COLUMNS, indicator_tables
from hubindex.survey.simulate import simulate_surveys


def _survey(tmp: Path, n_units: int = 6, seed: int = 7, **over) -> Path:
    sim = simulate_surveys(n_units=n_units, seed=seed)   # SIMULATED respondents, labelled as such
    f = sim.frame
    f["net"] = np.where(np.random.default_rng(seed).random(len(f)) < 0.8, 1, 2)
    f.to_csv(tmp / "respondents_SIMULATED.csv", index=False)
    raw = {"name": "simulated city survey", "source": "SIMULATED survey (test data)",
           "data": {"path": "respondents_SIMULATED.csv", "weight": "weight", "unit": "unit", "strata": "stratum",
                    "psu": "psu"},
           "measures": [{"code": "adopt", "items": ["item"], "denominator": {"label": "all adults"}},
                        {"code": "adopt_net", "items": ["item"],
                         "denominator": {"label": "internet users", "where": {"net": [1]}}}],
           "groups": [{"name": "sex", "column": "sex"}], "min_n": 20, **over}
    p = tmp / "survey.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    return p


def test_indicator_tables_by_hand(tmp_path):
    res = run_survey(_survey(tmp_path))
    wide, long = indicator_tables(res)
    t = res.estimates
    assert list(wide.columns) == ["code", "adopt", "adopt_net"] and wide["code"].tolist() == [f"U{i}" for i in
                                                                                               range(6)]
    for _, r in wide.iterrows():
        e = t[(t.unit == r["code"]) & (t.group == "all")].set_index("measure")
        assert r["adopt"] == pytest.approx(100 * e.loc["adopt", "estimate"], rel=1e-15)
        assert r["adopt_net"] == pytest.approx(100 * e.loc["adopt_net", "estimate"], rel=1e-15)
    assert list(long.columns) == PROVENANCE_COLUMNS and len(long) == 12
    one = long[(long.unit == "U3") & (long.indicator == "adopt")].iloc[0]
    e = t[(t.unit == "U3") & (t.group == "all") & (t.measure == "adopt")].iloc[0]
    assert one["value"] == pytest.approx(100 * e["estimate"]) and one["n"] == e["n"]
    assert one["ci_low"] == pytest.approx(100 * e["ci_low"]) and one["ci_high"] == pytest.approx(100 * e["ci_high"])
    assert one["se"] == pytest.approx(100 * e["se"]) and one["deff"] == pytest.approx(e["deff"])
    assert one["source"] == "SIMULATED survey (test data)"
    assert one["weighting"] == "design weights 'weight'; denominator: all adults"


def test_indicator_suppressed_is_empty_and_named_columns(tmp_path):
    p = _survey(tmp_path, min_n=10_000, indicators={"unit_column": "uCode", "prefix": "svy_"})
    res = run_survey(p)
    wide, long = indicator_tables(res)
    assert list(wide.columns) == ["uCode", "svy_adopt", "svy_adopt_net"]
    assert wide[["svy_adopt", "svy_adopt_net"]].isna().all().all()          # every estimate suppressed
    assert long["weighting"].str.contains("suppressed").all() and (long["n"] > 0).all()


def test_index_spec_takes_survey_indicators(tmp_path):
    """A small index: base table (two hard-data indicators) + the survey's indicators.csv, joined on `code`."""
    p = _survey(tmp_path)
    assert main(["survey", "estimate", str(p), "--out", str(tmp_path / "svy"), "--top", "0"]) == 0
    ind = pd.read_csv(tmp_path / "svy" / "indicators.csv")
    prov = pd.read_csv(tmp_path / "svy" / "indicator_provenance.csv")
    assert set(prov["indicator"]) == {"adopt", "adopt_net"} and len(prov) == 12
    rng = np.random.default_rng(1)
    base = pd.DataFrame({"code": [f"U{i}" for i in range(6)], "name": [f"City {i}" for i in range(6)],
                         "funding": rng.uniform(1, 100, 6), "talent": rng.uniform(1, 100, 6)})
    base.to_csv(tmp_path / "base.csv", index=False)
    spec = {
        "name": "hubs with a survey indicator (SIMULATED)",
        "data": {"path": ["base.csv", "svy/indicators.csv"], "unit_code": "code", "unit_name": "name"},
        "framework": [{"code": "IDX"}, {"code": "Supply", "parent": "IDX"}, {"code": "Adoption", "parent": "IDX"},
                      {"code": "funding", "parent": "Supply"}, {"code": "talent", "parent": "Supply"},
                      {"code": "adopt", "parent": "Adoption", "source": "survey: svy/indicator_provenance.csv"}],
        "pipeline": [{"step": "normalise", "method": "min_max", "l": 0, "u": 100},
                     {"step": "aggregate", "method": "arithmetic"}],
    }
    sp = tmp_path / "index.yaml"
    sp.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = build(sp)
    raw = res.datasets["Raw"]
    np.testing.assert_allclose(raw["adopt"].to_numpy(), ind.set_index("code").loc[raw.index, "adopt"].to_numpy(),
                               rtol=1e-12)
    a = raw["adopt"].to_numpy()
    norm = 100 * (a - a.min()) / (a.max() - a.min())
    np.testing.assert_allclose(res.scores["Adoption"].to_numpy(), norm, rtol=1e-9, atol=1e-9)
    sup = res.scores["Supply"].to_numpy()
    np.testing.assert_allclose(res.scores["IDX"].to_numpy(), (sup + norm) / 2, rtol=1e-9, atol=1e-9)
    assert not np.allclose(res.scores["IDX"].to_numpy(), sup)
