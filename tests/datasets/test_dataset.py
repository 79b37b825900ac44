"""The shipped fintech-hubs dataset: registry, provenance, hand-checked values, reproducibility, default index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubindex import build
from hubindex.datasets import (
    DATA_DIR,
    EDITIONS,
    cities,
    edition_spec,
    indicators,
    load_edition,
    provenance,
    unmatched,
)
from hubindex.datasets.build import REGISTRY, VALUE_LEVELS, Registry, haversine_km, norm_name, write_dataset
from hubindex.errors import DataError


def test_registry_has_unique_cities_and_every_alias_resolves(raw_dir: Path) -> None:
    reg = Registry(raw_dir)
    c = reg.cities
    assert len(c) >= 86
    assert not c.code.duplicated().any()
    assert not c.duplicated(["name", "country_iso2"]).any()
    aliases = pd.read_csv(REGISTRY / "aliases.csv", keep_default_na=False)
    iso = dict(zip(c.code, c.country_iso2, strict=True))
    for _, a in aliases.iterrows():
        assert reg.resolve(iso[a.code], a.alias) == a.code, a.alias
    # suburbs from the examples
    assert reg.resolve("US", "Palo Alto") == "US-SFO"
    assert reg.resolve("US", "Mountain View") == "US-SFO"
    assert reg.resolve("IN", "Gurugram") == "IN-DEL"
    assert reg.resolve("IN", "Bangalore") == reg.resolve("IN", "Bengaluru") == "IN-BLR"
    assert reg.resolve("US", "Brooklyn") == reg.resolve("US", "Jersey City") == "US-NYC"
    assert reg.resolve("SG", "") == "SG-SIN"  # empty city in a city-state
    assert reg.resolve("GB", "Cambridge") is None  # the UK's Cambridge is not London


def test_shipped_city_table_is_complete() -> None:
    c = cities()
    assert c[["code", "name", "country", "country_iso3", "region", "latitude", "longitude"]].notna().all().all()
    assert c.latitude.between(-90, 90).all() and c.longitude.between(-180, 180).all()
    assert set(c.loc[c.country_iso3 == "CHN", "cn_region"]) == {"eastern", "central", "western"}


def test_norm_name_ignores_case_accents_and_punctuation() -> None:
    assert norm_name("São Paulo") == norm_name("sao  paulo") == "sao paulo"
    assert norm_name("Xi’an") == norm_name("Xi'an") == norm_name("xi an")


def test_haversine_known_distance() -> None:
    # London (51.5074, -0.1278) to Paris (48.8566, 2.3522): 343.5 km (great circle, R = 6371 km)
    d = haversine_km(np.float64(51.5074), np.float64(-0.1278), np.array([48.8566]), np.array([2.3522]))
    assert d[0] == pytest.approx(343.5, abs=0.5)


@pytest.mark.parametrize("year", EDITIONS)
def test_every_value_has_provenance(year: int) -> None:
    wide = load_edition(year)
    prov = provenance(year)
    ind = indicators()
    assert list(wide.columns[8:]) == list(ind.code)
    assert len(prov) == len(wide) * len(ind)
    assert not prov.duplicated(["unit", "indicator"]).any()
    assert set(prov.scope) <= {"city", "country"}
    assert set(prov.value_level) <= set(VALUE_LEVELS) and prov.value_level.notna().all()
    # scope 'city' only for values measured for the city; a modelled value rests on a national survey
    assert (prov.loc[prov.scope == "city", "value_level"] == "city").all()
    assert (prov.loc[prov.value_level == "modelled", "scope"] == "country").all()
    merged = wide.melt(id_vars="code", value_vars=list(ind.code), var_name="indicator").merge(
        prov, left_on=["code", "indicator"], right_on=["unit", "indicator"], suffixes=("", "_prov"))
    assert np.allclose(merged.value.astype(float), merged.value_prov.astype(float), equal_nan=True)
    has = merged.value.notna()
    assert (merged.loc[has, "source"].str.len() > 0).all()
    assert (merged.loc[has, "source_date"].astype(str).str.len() > 0).all()
    assert (merged.loc[has, "original_value"].astype(str).str.len() > 0).all()


def test_source_files_named_in_provenance_exist(raw_dir: Path) -> None:
    prov = provenance(2025)
    for files in prov.source_file.unique():
        for f in files.split("; "):
            assert (raw_dir / f).exists(), f


def test_hand_checked_values_against_the_raw_files(raw_dir: Path) -> None:
    wide = load_edition(2025).set_index("code")
    # Singapore fintech unicorns, 2025 list: HQ country Singapore (city-state), industry Financial Services/Insurance
    u = pd.read_csv(raw_dir / "cbinsights_unicorns/unicorns_2025-10-07.csv")
    sg = u[(u.country == "Singapore") & u.industry.isin(["Financial Services", "Insurance"])]
    assert wide.loc["SG-SIN", "fintech_unicorns"] == len(sg)
    assert wide.loc["SG-SIN", "fintech_unicorn_value"] == pytest.approx(sg.valuation_usd_bn.sum())
    # the 2021 list uses the old taxonomy: 'Fintech'
    u21 = pd.read_csv(raw_dir / "cbinsights_unicorns_history/unicorns_2021-12-31.csv")
    ldn = u21[(u21.city == "London") & (u21.industry == "Fintech")]
    assert load_edition(2021).set_index("code").loc["GB-LON", "fintech_unicorns"] == len(ldn)
    # Findex account ownership, China, latest survey <= 2025 (2024 value of FX.OWN.TOTL.ZS)
    fx = pd.read_csv(raw_dir / "worldbank_findex/ddf--datapoints--fx_own_totl_zs--by--geo--time.csv")
    chn = fx[(fx.geo == "chn")].sort_values("time").iloc[-1]
    assert wide.loc["CN-HGH", "account_ownership"] == pytest.approx(chn.fx_own_totl_zs)
    # GDP per capita derivation (World Bank GDP / population, same year)
    gdp = pd.read_csv(raw_dir / "worldbank_wdi/gdp_current_usd.csv")
    pop = pd.read_csv(raw_dir / "worldbank_wdi/population_total.csv")
    g = gdp[(gdp["Country Code"] == "DEU") & (gdp.Year == 2023)].Value.iloc[0]
    p = pop[(pop["Country Code"] == "DEU") & (pop.Year == 2023)].Value.iloc[0]
    assert wide.loc["DE-BER", "gdp_per_capita"] == pytest.approx(g / p)
    # Taiwan is not in WDI: missing stays missing
    assert np.isnan(wide.loc["TW-TPE", "gdp_per_capita"])


def test_unicorn_rows_are_matched_or_reported(raw_dir: Path) -> None:
    """Row conservation: every company row is counted in a hub or listed in unmatched.csv."""
    un = unmatched()
    for year, rel in ((2025, "cbinsights_unicorns/unicorns_2025-10-07.csv"),
                      (2021, "cbinsights_unicorns_history/unicorns_2021-12-31.csv")):
        n_raw = len(pd.read_csv(raw_dir / rel))
        n_hubs = load_edition(year).unicorns_all.sum()
        rows = un[(un.source_file == rel) & un.editions.astype(str).str.contains(str(year))].rows.sum()
        assert n_hubs + rows == n_raw


def test_shipped_tables_equal_a_fresh_build(raw_dir: Path, tmp_path: Path) -> None:
    """Byte-identical to a fresh build — from a raw folder that also holds a new, unused source, which must not
    change anything (build_info.json hashes only the files the build reads)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for entry in raw_dir.iterdir():
        (raw / entry.name).symlink_to(entry)
    (raw / "zz_new_source").mkdir()
    (raw / "zz_new_source" / "unused.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    write_dataset(raw, tmp_path / "data")
    for p in sorted((tmp_path / "data").iterdir()):
        assert (DATA_DIR / p.name).read_bytes() == p.read_bytes(), f"{p.name} differs from a fresh build"


def test_missing_raw_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="SOURCES.md"):
        write_dataset(tmp_path, tmp_path / "out")


def test_default_index_ranks_at_least_80_hubs() -> None:
    res = build()
    r = res.ranking()
    assert len(r) >= 80
    assert set(res.pillars()) == {"IND", "CON", "ECO"}
    assert r["rank"].min() == 1
    assert res.tiers is not None and res.tiers.value_counts().min() > 0
    assert "rank_in_region" in res.subranks.columns


@pytest.mark.parametrize("year", EDITIONS)
def test_every_edition_builds(year: int) -> None:
    res = build(edition_spec(year))
    assert len(res.units) >= 80
    assert res.spec.version == str(year)


def test_unknown_edition_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="editions are"):
        edition_spec(1999)
