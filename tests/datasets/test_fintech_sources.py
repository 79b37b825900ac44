"""The fintech sources of the default index: Findex fintech use + city covariates, Forbes G2000, GaWC.

Values are checked against numbers computed here from the raw files, independently of the build code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubindex.datasets import DATA_DIR, load_edition, provenance, unmatched
from hubindex.datasets.build import (
    FORBES_FINANCE,
    FORBES_TECH,
    VALUE_LEVELS,
    Registry,
    city_covariates,
    findex_use,
    fix_mojibake,
    forbes_hq_city,
    gawc_names,
)
from hubindex.datasets.covariates import read_covariate_csv, spread_by_covariate
from hubindex.errors import DataError

HEADLINE = "worldbank_findex/findex2021_databankwide_headline.csv"
URBAN = "worldbank_findex_urban/findex2021_databankwide_urban.csv"
INSTORE = "Made a digital in-store merchant payment: using a mobile phone (% age 15+)"
BILLS = "Used a mobile phone or the internet to pay bills (% age 15+)"


def _pct(s: str) -> float:
    return float(s.rstrip("%"))


# ------------------------------------------------------------------------------------------- covariate formula

def test_spread_by_covariate_hand_computed() -> None:
    # V_city = V_country x C_city / C_mean, capped to [0, 100]
    v, capped = spread_by_covariate([50.0, 77.0, 40.0, 30.0, np.nan], [120.0, 390.0, 80.0, 100.0, 1.0],
                                    [100.0, 260.0, 100.0, 100.0, 1.0])
    np.testing.assert_allclose(v[:4], [60.0, 100.0, 32.0, 30.0])   # 50*1.2; 77*1.5 = 115.5 -> 100; 40*0.8; mean city
    assert list(capped) == [False, True, False, False, False]
    assert np.isnan(v[4])
    v2, c2 = spread_by_covariate([2.0], [-300.0], [100.0])           # below the lower bound -> 0, flagged
    assert v2[0] == 0.0 and c2[0]
    with pytest.raises(DataError, match="must be > 0"):
        spread_by_covariate([1.0], [1.0], [0.0])


@given(st.floats(0, 100), st.floats(0.01, 1e4), st.floats(0.01, 1e4))
def test_spread_is_bounded_and_proportional(v: float, c: float, m: float) -> None:
    out, capped = spread_by_covariate([v], [c], [m])
    assert 0.0 <= out[0] <= 100.0
    if not capped[0]:
        assert out[0] == pytest.approx(v * c / m, rel=1e-12, abs=1e-12)
    same, _ = spread_by_covariate([v], [m], [m])                    # the average city keeps the national value
    assert same[0] == pytest.approx(v, rel=1e-12, abs=1e-12)


def test_modelled_chinese_values_against_the_raw_files(raw_dir: Path) -> None:
    """Hangzhou and Chengdu: national Findex value x DFIIC aggregate index / simple mean over all 337 cities."""
    d = pd.read_csv(raw_dir / HEADLINE, dtype=str, keep_default_na=False)
    chn = d[(d["Country code"] == "CHN") & (d.Year == "2021")].iloc[0]
    dfiic = pd.read_stata(raw_dir / "pku_dfiic/pku_dfiic_city_2011_2023.dta")
    y = dfiic[dfiic.year == 2021]
    assert len(y) == 337
    mean = y.index_aggregate.mean()
    w = load_edition(2025).set_index("code")
    prov = provenance(2025).set_index(["unit", "indicator"])
    for code, name in (("CN-HGH", "Hangzhou"), ("CN-CTU", "Chengdu")):
        c = float(y[y.pref_name_year18_eng == name].index_aggregate.iloc[0])
        for col, ind in ((INSTORE, "mobile_instore_pay"), (BILLS, "online_bill_pay")):
            want = min(100.0, _pct(chn[col]) * c / mean)
            assert w.at[code, ind] == pytest.approx(want, rel=1e-12)
            assert w.at[code, f"{ind}_national"] == _pct(chn[col])
            assert prov.at[(code, ind), "value_level"] == "modelled"
            assert prov.at[(code, f"{ind}_national"), "value_level"] == "country proxy"
    # Hangzhou's online purchases hit the cap: 80 % x 359.7 / 282.8 = 101.8 > 100
    assert w.at["CN-HGH", "online_purchase"] == 100.0
    assert "capped to [0, 100]" in prov.at[("CN-HGH", "online_purchase"), "derivation"]
    # every edition carries the Findex 2021 round: the same modelled value in 2021 and 2025
    assert load_edition(2021).set_index("code").at["CN-HGH", "mobile_instore_pay"] == w.at["CN-HGH",
                                                                                           "mobile_instore_pay"]


def test_urban_country_and_income_group_levels(raw_dir: Path) -> None:
    d = pd.read_csv(raw_dir / HEADLINE, dtype=str, keep_default_na=False)
    u = pd.read_csv(raw_dir / URBAN, dtype=str, keep_default_na=False)
    w = load_edition(2025).set_index("code")
    prov = provenance(2025).set_index(["unit", "indicator"])
    ind_urban = u[u["Country code"] == "IND"].iloc[0][INSTORE.replace(" (% age 15+)", ", urban (% age 15+)")]
    assert w.at["IN-BLR", "mobile_instore_pay"] == _pct(ind_urban)               # India: urban adults
    assert prov.at[("IN-BLR", "mobile_instore_pay"), "value_level"] == "urban proxy"
    gbr = d[(d["Country code"] == "GBR") & (d.Year == "2021")].iloc[0]
    assert w.at["GB-LON", "online_bill_pay"] == _pct(gbr[BILLS])                  # UK: no urban split
    assert prov.at[("GB-LON", "online_bill_pay"), "value_level"] == "country proxy"
    hic = d[(d["Country name"] == "High income") & (d.Year == "2021")].iloc[0]    # Qatar: not surveyed in 2021
    assert w.at["QA-DOH", "mobile_instore_pay"] == _pct(hic[INSTORE])
    assert prov.at[("QA-DOH", "mobile_instore_pay"), "value_level"] == "income-group proxy"
    for year in (2021, 2025):
        assert set(provenance(year).value_level) == set(VALUE_LEVELS)


def _mini_raw(raw_dir: Path, tmp_path: Path) -> Path:
    """A raw folder with only what the covariate + Findex code reads (links to the real files)."""
    r = tmp_path / "raw"
    r.mkdir()
    for sub in ("geonames", "pku_dfiic", "worldbank_findex", "worldbank_findex_urban"):
        os.symlink(raw_dir / sub, r / sub)
    (r / "city_covariates").mkdir()
    return r


def test_a_user_covariate_file_spreads_its_country(raw_dir: Path, tmp_path: Path) -> None:
    r = _mini_raw(raw_dir, tmp_path)
    (r / "city_covariates" / "uk_cities.csv").write_text(
        "country_iso2,city,year,value,source\n"
        "GB,London,2021,150,my survey\nGB,Edinburgh,2021,100,my survey\nGB,Leeds,2021,50,my survey\n",
        encoding="utf-8")
    reg = Registry(r)
    cov = city_covariates(r, reg)
    out = findex_use(r, reg, cov).set_index(["unit", "indicator"])
    d = pd.read_csv(raw_dir / HEADLINE, dtype=str, keep_default_na=False)
    gb = _pct(d[(d["Country code"] == "GBR") & (d.Year == "2021")].iloc[0][BILLS])
    # C_mean = (150 + 100 + 50) / 3 = 100 over all three cities, not only the two hubs
    assert out.at[("GB-LON", "online_bill_pay"), "value"] == pytest.approx(gb * 1.5)
    assert out.at[("GB-EDI", "online_bill_pay"), "value"] == pytest.approx(gb)
    assert out.at[("GB-LON", "online_bill_pay"), "value_level"] == "modelled"
    assert out.at[("GB-LON", "online_bill_pay_national"), "value"] == gb
    assert "uk_cities.csv" in out.at[("GB-LON", "online_bill_pay"), "source_file"]
    # Leeds is not a hub: it counts in the mean and is reported as unmatched
    assert "Leeds" in set(cov[cov.hub.isna()].city)


def test_covariate_file_errors_name_file_row_and_column(raw_dir: Path, tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("country_iso2,city,year,value,source\nGB,London,2021,abc,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv: row 2, column value: expected a number > 0"):
        read_covariate_csv(p)
    p.write_text("country_iso2,city,value\nGB,London,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"columns \['year', 'source'\] are missing"):
        read_covariate_csv(p)
    r = _mini_raw(raw_dir, tmp_path)
    (r / "city_covariates" / "cn2.csv").write_text("country_iso2,city,year,value,source\nCN,Beijing,2021,1,x\n",
                                                   encoding="utf-8")
    with pytest.raises(DataError, match="country CN has several sources"):
        city_covariates(r, Registry(r))


def test_city_sources_do_not_use_suburb_aliases(raw_dir: Path) -> None:
    reg = Registry(raw_dir)
    assert reg.resolve("CN", "Foshan") == "CN-CAN" and reg.resolve_city("CN", "Foshan") is None
    assert reg.resolve("CN", "Chaoyang") == "CN-BJS" and reg.resolve_city("CN", "Chaoyang") is None
    assert reg.resolve_city("CN", "Xi'an") == "CN-SIA" and reg.resolve_city("CN", "Hangzhou") == "CN-HGH"


# ------------------------------------------------------------------------------------------------- Forbes G2000

def test_forbes_name_rules() -> None:
    assert fix_mojibake("ZÃ¼rich") == "Zürich" and fix_mojibake("SÃ£o Paulo") == "São Paulo"
    assert fix_mojibake("Zürich") == "Zürich" and fix_mojibake("London") == "London"
    assert forbes_hq_city("New York- New York") == "New York"
    assert forbes_hq_city("San Jose- California") == "San Jose"
    assert forbes_hq_city("ZÃ¼rich") == "Zürich" and forbes_hq_city(np.nan) == ""


def test_forbes_aggregates_against_the_raw_file(raw_dir: Path) -> None:
    f = pd.read_csv(raw_dir / "forbes_global2000/forbes_global2000_2024.csv")
    w = load_edition(2025).set_index("code")
    fin, tech = f.industry.isin(FORBES_FINANCE), f.industry.isin(FORBES_TECH)
    for code, hq in (("CN-SZX", ["Shenzhen"]), ("CN-HGH", ["Hangzhou"])):
        rows = f[f.headquarters.isin(hq) & (f.country == "China")]
        assert w.at[code, "g2000_finance"] == fin[rows.index].sum()
        assert w.at[code, "g2000_finance_value"] == pytest.approx(rows[fin[rows.index]].market_value.sum())
        assert w.at[code, "g2000_tech"] == tech[rows.index].sum()
        assert w.at[code, "g2000_tech_value"] == pytest.approx(rows[tech[rows.index]].market_value.sum())
    # the industry rule: Alibaba (IT Software & Services in this copy) counts as technology in Hangzhou
    ali = f[f.name == "Alibaba Group"].iloc[0]
    assert ali.industry in FORBES_TECH and ali.headquarters == "Hangzhou"
    assert w.at["CN-HGH", "g2000_tech_value"] >= ali.market_value
    # Visa ('Credit Card Companies', San Francisco) and PayPal (San Jose) are financial companies of the Bay Area
    bay = f[f.headquarters.isin(["San Francisco- California", "San Jose- California"])]
    for name in ("Visa", "PayPal"):
        assert bay[bay.name == name].industry.isin(FORBES_FINANCE).all()
    # Zurich: the mis-encoded 'ZÃ¼rich' rows are decoded and counted
    zr = f[f.headquarters.isin(["ZÃ¼rich", "Zurich"]) & (f.country == "Switzerland") & fin]
    assert (f.headquarters == "ZÃ¼rich").any() and w.at["CH-ZRH", "g2000_finance"] >= len(zr)


def test_forbes_rows_are_matched_or_reported_and_never_shipped(raw_dir: Path) -> None:
    f = pd.read_csv(raw_dir / "forbes_global2000/forbes_global2000_2024.csv")
    reg = Registry(raw_dir)
    from hubindex.datasets.build import forbes_indicators

    _prov, un = forbes_indicators(raw_dir, reg)
    shipped = unmatched()
    rel = "forbes_global2000/forbes_global2000_2024.csv"
    rows = shipped[(shipped.source_file == rel)]
    assert rows.rows.sum() == len(un)                       # every unmatched company row is listed
    assert {"Houston", "Calgary"} <= set(rows.city)
    # only aggregates ship: no Forbes company name appears in the Forbes-derived rows of any shipped table
    places = {forbes_hq_city(h) for h in f.headquarters}          # 'Corning', 'Oshkosh' are also HQ towns
    names = [n for n in f.name.astype(str) if len(n) > 5 and n not in places]
    for year in (2021, 2025):
        p = provenance(year)
        g = p[p.indicator.str.startswith("g2000_")]
        text = g.to_csv(index=False) + rows.to_csv(index=False)
        assert len(g) == 4 * len(load_edition(year)) and not [n for n in names if n in text]


# ------------------------------------------------------------------------------------------------------- GaWC

def test_gawc_name_rules() -> None:
    assert gawc_names("New York (New York)") == ["New York (New York)", "New York"]
    assert gawc_names("Mumbai/Bombay") == ["Mumbai/Bombay", "Mumbai", "Bombay"]
    assert gawc_names("Los Angeles(California)") == ["Los Angeles(California)", "Los Angeles"]
    assert gawc_names("Hong Kong") == ["Hong Kong"]


def test_gawc_values_against_the_raw_file(raw_dir: Path) -> None:
    g = pd.read_excel(raw_dir / "gawc_connectivity/gawc_da31_gnc2020.xlsx").set_index("City")["GNC_rel(%)"]
    w = load_edition(2025).set_index("code")
    assert w.at["US-NYC", "gawc_connectivity"] == g["New York (New York)"]
    assert w.at["IN-BOM", "gawc_connectivity"] == g["Mumbai/Bombay"]
    assert w.at["HK-HKG", "gawc_connectivity"] == g["Hong Kong"]        # listed under 'China' in GaWC
    assert w.at["TW-TPE", "gawc_connectivity"] == g["Taipei"]
    assert w.at["GB-LON", "gawc_connectivity"] == 100.0
    # a metro with several GaWC cities takes the largest (Bay Area: San Francisco, San Jose, Palo Alto)
    assert w.at["US-SFO", "gawc_connectivity"] == max(g["San Francisco (California)"], g["San Jose (California)"],
                                                      g["Palo Alto (California)"])
    assert w.gawc_connectivity.notna().all()
    un = unmatched()
    gu = un[un.source_file == "gawc_connectivity/gawc_da31_gnc2020.xlsx"]
    assert len(g) == gu.rows.sum() + len(set(provenance(2025).query("indicator == 'gawc_connectivity'")
                                             .derivation.str.extractall(r"of '([^']+)'")[0])
                                         | {c for d in provenance(2025).query("indicator == 'gawc_connectivity'")
                                            .derivation for c in _largest_of(d)})


def _largest_of(derivation: str) -> list[str]:
    if "largest of: " not in derivation:
        return []
    return [x.rsplit(" ", 1)[0] for x in derivation.split("largest of: ")[1].split("; ")]


# ------------------------------------------------------------------------------------------------- build_info

def test_build_info_lists_only_the_files_read(raw_dir: Path) -> None:
    info = json.loads((DATA_DIR / "build_info.json").read_text(encoding="utf-8"))
    files = set(info["raw_files_sha256"])
    for used in ("forbes_global2000/forbes_global2000_2024.csv", "gawc_connectivity/gawc_da31_gnc2020.xlsx",
                 "pku_dfiic/pku_dfiic_city_2011_2023.dta", URBAN, HEADLINE, "openflights/routes.dat"):
        assert used in files
    for unused in ("SOURCES.md", "ycombinator_companies", "crunchbase_2013_us", "sec_edgar_companies",
                   "financedatabase_equities", "openflights/LICENSE", "worldbank_findex_microdata"):
        assert not [f for f in files if f.startswith(unused)], unused
    assert all((raw_dir / f).is_file() for f in files)


def test_provenance_flag_reaches_the_exports() -> None:
    from hubindex import build
    from hubindex.publish.tables import normalise_provenance, scores_long

    res = build()
    long = scores_long(res, normalise_provenance(provenance(2025), unit_code="code"))
    row = long[(long.unit == "CN-HGH") & (long.code == "mobile_instore_pay")].iloc[0]
    assert row["value_level"] == "modelled"
    assert long[(long.unit == "GB-LON") & (long.code == "gawc_connectivity")].iloc[0]["value_level"] == "city"
