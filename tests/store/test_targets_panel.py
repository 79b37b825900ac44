"""City targets (shipped table, status rules) and panels (time-aware imputation, normalisation across years)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from store_sim import YEARS, year_spec

from hubindex.errors import DataError
from hubindex.io import load_data
from hubindex.store import EditionStore, build_panel, impute_panel, load_targets, target_status
from hubindex.store._targets import progress_pct


def test_shipped_targets_load_and_say_no_data() -> None:
    t = load_targets()
    assert len(t) == 14 and set(t["city"]) == {"Hangzhou", "Shanghai"}
    hz = t[(t["city"] == "Hangzhou") & (t["measure"] == "fintech_industrial_added_value")].iloc[0]
    assert hz["relation"] == ">" and hz["value"] == 120 and hz["deadline"] == 2022 and "120 billion" in hz["quote"]
    st = target_status(t, as_of=2025)
    assert len(st) == 6 and (st["status"] == "no data").all()
    row = st[st["measure"] == "fintech_industrial_added_value"].iloc[0]
    assert "not an indicator of the index" in row["note"]
    assert "qualitative" in st[st["relation"] == "status"].iloc[0]["note"]


def test_shipped_targets_are_the_shared_table() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "targets" / "city_targets.csv"
    if not shared.exists():
        pytest.skip("../shared/data/targets is not here")
    from hubindex.store import shipped_targets_path

    assert shipped_targets_path().read_bytes() == shared.read_bytes()


def test_target_status_rules(sim_store: EditionStore, tmp_path: Path) -> None:
    e21, e23 = sim_store.get("2021"), sim_store.get("2023")
    a21, a23 = float(e21.raw.loc["L01", "a"]), float(e23.raw.loc["L01", "a"])
    trend_up = a23 > a21
    rows = [
        # met: a value the 2021 edition already reaches
        ["target", "City 1", "", "a", ">=", a21 - 1, "count", 2022, "", "t", "p", "2020-01-01", "q", ""],
        # missed: deadline 2022 passed, 2023 observation far below
        ["target", "City 1", "", "a", ">=", 1e6, "count", 2022, "", "t", "p", "2020-01-01", "q", ""],
        # ahead of the deadline: on/off track from the linear trend of the three editions
        ["target", "City 1", "", "a", ">=", a23 + (5 if trend_up else -5) * abs(a23 - a21), "count", 2030, "",
         "t", "p", "2020-01-01", "q", ""],
        # a reported observation only
        ["target", "Shanghai", "CHN", "companies", ">=", 20, "companies", 2025, "", "t", "p", "2020", "q", ""],
        ["observation", "Shanghai", "CHN", "companies", "=", 25, "companies", "", 2024, "t", "p", "2024", "q", ""],
        ["target", "City 2", "", "nothing", ">", 1, "x", 2030, "", "t", "p", "2020", "q", ""],
    ]
    cols = ["kind", "city", "country_iso3", "measure", "relation", "value", "unit", "deadline", "year",
            "source_title", "source_publisher", "source_date", "quote", "note"]
    pd.DataFrame(rows, columns=cols).to_csv(tmp_path / "t.csv", index=False)
    st = target_status(tmp_path / "t.csv", sim_store, as_of=2023)
    assert list(st["status"][:2]) == ["met", "missed"]
    assert st["status"].iloc[2] in ("on track", "off track") and st["n_observations"].iloc[0] == 3
    ys = np.array(YEARS, dtype=float)
    vals = [float(sim_store.get(str(y)).raw.loc["L01", "a"]) for y in YEARS]
    slope, icpt = np.polyfit(ys, vals, 1)
    target = float(st["target"].iloc[2])
    assert st["status"].iloc[2] == ("on track" if slope * 2030 + icpt >= target else "off track")
    assert st["projected"].iloc[2] == pytest.approx(slope * 2030 + icpt)
    assert st["status"].iloc[3] == "met" and st["latest_value"].iloc[3] == 25
    assert st["progress_pct"].iloc[3] == pytest.approx(125.0)  # 25 of 20 companies
    assert st["progress_pct"].iloc[0] == pytest.approx(100 * a23 / (a21 - 1))  # latest (2023) vs target
    assert np.isnan(st["progress_pct"].iloc[4])  # no data, no progress
    assert st["status"].iloc[4] == "no data" and bool(st["in_index_data"].iloc[0])
    bad = pd.DataFrame([rows[0]], columns=cols)
    bad.loc[0, "relation"] = "≈"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="row 2, column 'relation'"):
        load_targets(tmp_path / "bad.csv")


def test_impute_panel_locf_and_linear() -> None:
    p = pd.DataFrame({"unit": ["A"] * 4 + ["B"] * 4, "year": [2021, 2022, 2023, 2024] * 2,
                      "x": [1.0, np.nan, 3.0, np.nan, np.nan, 2.0, np.nan, np.nan]})
    f, fl = impute_panel(p, method="locf")
    assert f["x"].tolist()[:4] == [1, 1, 3, 3]
    assert fl["x"].tolist()[:4] == ["", "locf:2021", "", "locf:2023"]
    assert fl["x"].tolist()[4:] == ["missing", "", "locf:2022", "locf:2022"]
    f, fl = impute_panel(p, method="linear_locf")
    assert f["x"].tolist()[:4] == [1, 2, 3, 3] and fl["x"].iloc[1] == "interp:2021-2023"
    f, fl = impute_panel(p, method="locf", max_age=1)
    assert np.isnan(f["x"].iloc[7]) and fl["x"].iloc[7] == "missing"


def test_panel_normalisation_across_years(sim_dir: Path) -> None:
    spec = year_spec(sim_dir, 2021)
    by_year = {y: load_data(year_spec(sim_dir, y))[0] for y in YEARS}
    per = build_panel(spec, by_year)
    glob = build_panel(spec, by_year, normalise="global", impute="locf")
    # per-year min-max: every year has a 0 and a 100 per indicator; global: only over all years
    for y in YEARS:
        assert per[y].scores["a"].max() == pytest.approx(100)
    mx = max(glob[y].scores["a"].max() for y in YEARS)
    mn = min(glob[y].scores["a"].min() for y in YEARS)
    assert mx == pytest.approx(100) and mn == pytest.approx(0)
    # comparable: the same raw value gets the same normalised value in every year
    raw = {y: glob[y].datasets["Raw"] for y in YEARS}
    gp = glob[2021].spec.framework[3].goalposts
    for y in YEARS:
        v = raw[y]["a"].dropna()
        np.testing.assert_allclose(glob[y].scores["a"].reindex(v.index), 100 * (v - gp[0]) / (gp[1] - gp[0]),
                                   atol=1e-9)
    # the 2022 gap of L04 in d is carried from 2021 and flagged
    flags = glob[2022].run_record["panel_imputation"]["flags"]
    assert flags["L04"]["d"] == "locf:2021"


def test_progress_pct_hand_values() -> None:
    assert progress_pct(90, ">=", 120) == pytest.approx(75.0)
    assert progress_pct(5, "<=", 4) == pytest.approx(80.0)  # less is better: 4/5
    assert progress_pct(3, "<", 4) > 100  # past the target
    assert np.isnan(progress_pct(1, "status", 0)) and np.isnan(progress_pct(1, ">", 0))


def _real_targets_path() -> Path:
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "targets" / "city_targets.csv"
    from hubindex.store import shipped_targets_path

    return shared if shared.exists() else shipped_targets_path()  # identical files (see the test above)


def test_real_targets_list_related_observations_as_context() -> None:
    st = target_status(_real_targets_path(), as_of=2025)
    hz = st[(st["city"] == "Hangzhou") & (st["measure"] == "fintech_industrial_added_value")].iloc[0]
    assert hz["status"] == "no data" and hz["n_observations"] == 0 and hz["observations"] == ""
    assert hz["note"].startswith("no observation of this measure")
    assert "related observations: financial_industry_added_value 119.7 bn CNY (2018)" in hz["note"]
    rel = {r["measure"]: r for r in hz["related_observations"]}
    assert set(rel) == {"financial_industry_added_value", "financial_industry_share_of_gdp", "listed_tech_companies",
                        "mobile_payment_coverage_taxis", "mobile_payment_coverage_convenience_stores",
                        "mobile_payment_coverage_restaurants"}
    assert rel["financial_industry_added_value"] | {"source": ""} == {
        "measure": "financial_industry_added_value", "year": 2018, "value": 119.7, "relation": "=",
        "unit": "bn CNY", "source": ""}
    assert "mobile_payment_coverage_taxis more than 98 percent (2019)" in hz["note"]
    # the context never becomes evidence: no progress, no latest value
    assert np.isnan(hz["progress_pct"]) and hz["latest_value"] is None
    sh = st[st["city"] == "Shanghai"]
    assert (sh["status"] == "no data").all()
    assert all({r["measure"] for r in rel_} == {"financial_institutions", "financial_transaction_volume_jan_aug"}
               for rel_ in sh["related_observations"])
    assert "financial_institutions more than 1600 institutions (2020)" in sh["note"].iloc[0]
    # only one city's targets and observations
    only = target_status(_real_targets_path(), as_of=2025, city="shanghai")
    assert set(only["city"]) == {"Shanghai"} and len(only) == 2


def test_real_targets_status_from_same_measure_observations(tmp_path: Path) -> None:
    t = pd.read_csv(_real_targets_path(), dtype=str, keep_default_na=False)
    obs = t[t["kind"] == "observation"].iloc[0].copy()

    def add(city: str, measure: str, rel: str, value: float, year: int) -> dict[str, str]:
        return obs.to_dict() | {"city": city, "measure": measure, "relation": rel, "value": str(value),
                                "year": str(year), "source_publisher": "test", "source_date": str(year)}

    def status(extra: list[dict[str, str]], measure: str, as_of: int = 2024) -> pd.Series:
        pd.concat([t, pd.DataFrame(extra)], ignore_index=True).to_csv(tmp_path / "t.csv", index=False)
        st = target_status(tmp_path / "t.csv", as_of=as_of)
        return st[st["measure"] == measure].iloc[0]

    m = "fintech_industrial_added_value"  # Hangzhou: > 120 bn CNY by 2022
    r = status([add("Hangzhou", m, "=", 125, 2021)], m)
    assert r["status"] == "met" and r["note"] == "met in 2021" and r["observations"] == f"{m} 125 bn CNY (2021)"
    assert r["progress_pct"] == pytest.approx(100 * 125 / 120)
    # the related-observation context is still listed, and is not in the same-measure evidence
    assert "financial_industry_added_value" in {x["measure"] for x in r["related_observations"]}
    assert m not in {x["measure"] for x in r["related_observations"]}
    r = status([add("Hangzhou", m, "=", 100, 2020), add("Hangzhou", m, "=", 110, 2022)], m)
    assert r["status"] == "missed" and "110" in r["note"] and r["latest_value"] == 110
    # 'more than 130' is a lower bound: it proves '> 120' met …
    assert status([add("hangzhou", m, ">", 130, 2022)], m)["status"] == "met"
    # … but 'more than 100' in 2022 decides nothing
    r = status([add("Hangzhou", m, ">", 100, 2022)], m)
    assert r["status"] == "no data" and "decides" in r["note"]
    # met only after the deadline: not claimed as met by 2022
    r = status([add("Hangzhou", m, "=", 100, 2022), add("Hangzhou", m, "=", 130, 2023)], m)
    assert r["status"] == "missed"
    r = status([add("Hangzhou", m, "=", 130, 2023)], m)
    assert r["status"] == "no data" and "after the deadline 2022" in r["note"]
    s = "top_fintech_companies_fostered"  # Shanghai: >= 20 by 2025 → trend through (2021, 8), (2023, 15): 22 in 2025
    r = status([add("Shanghai", s, "=", 8, 2021), add("Shanghai", s, "=", 15, 2023)], s)
    assert r["status"] == "on track" and r["projected"] == pytest.approx(22.0)
    r = status([add("Shanghai", s, "=", 8, 2021), add("Shanghai", s, "=", 10, 2023)], s)
    assert r["status"] == "off track" and r["projected"] == pytest.approx(12.0)
    r = status([add("Shanghai", s, "=", 8, 2021)], s)
    assert r["status"] == "no data" and "two years" in r["note"] and r["n_observations"] == 1


def test_observations_api_real_csv() -> None:
    from hubindex.store import observations

    t = load_targets(_real_targets_path())
    o = observations(t, city="Hangzhou")
    assert len(o) == 6 and set(o["city"]) == {"Hangzhou"} and not o["targeted"].any()
    assert list(o.columns) == ["city", "measure", "year", "value", "relation", "unit", "source", "targeted"]
    taxis = o[o["measure"] == "mobile_payment_coverage_taxis"].iloc[0]
    assert taxis["relation"] == ">" and taxis["value"] == 98 and taxis["unit"] == "percent" and taxis["year"] == 2019
    assert len(observations(t)) == 8


def test_decides_hand_cases() -> None:
    from hubindex.store._targets import _decides

    assert _decides(125, "=", ">", 120) is True and _decides(110, "=", ">", 120) is False
    assert _decides(130, ">", ">", 120) is True and _decides(100, ">", ">", 120) is None
    assert _decides(130, ">", "<=", 120) is False and _decides(100, ">", "<=", 120) is None
    assert _decides(100, "<", "<", 120) is True and _decides(130, "<", ">=", 120) is None
    assert _decides(100, "<=", ">=", 120) is False
    assert _decides(21, "~", "~", 20) is True and _decides(30, ">", "~", 20) is None
