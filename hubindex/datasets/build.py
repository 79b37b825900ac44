"""Build the shipped fintech-hubs dataset from the raw sources (``hubindex data build --raw PATH``).

Everything here is a deterministic function of the raw files in ``shared/data/raw`` (see its ``SOURCES.md``)
and of the registry tables in ``hubindex/datasets/registry/`` (cities, metro aliases, country-name aliases).
No number is typed in: every value is a count, a sum, a lookup or a documented derivation, and each one gets a
provenance row (source, file, source date/year, original value and unit, city-level or country proxy, derivation).

Outputs (``write_dataset``), one dataset *edition* per unicorn-list vintage (2021 … 2025):

- ``cities.csv`` — the registry with derived country ISO3/name, World Bank region, coordinates (GeoNames);
- ``indicators.csv`` — indicator metadata (pillar, sub-pillar, unit, direction, source, licence, scope);
- ``fintech_hubs_<year>.csv`` — one row per city: groups + one column per indicator (missing stays empty);
- ``provenance_<year>.csv`` — one row per (city, indicator) value;
- ``unmatched.csv`` — every source spelling of a city that did not resolve to a hub (never silently dropped);
- ``build_info.json`` — SHA-256 of every raw file read.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hubindex.datasets.covariates import covariate_means, read_covariate_csv, spread_by_covariate
from hubindex.errors import DataError
from hubindex.outdir import atomic_dir

REGISTRY = Path(__file__).resolve().parent / "registry"

#: Edition year → (unicorn list file, snapshot date). The unicorn lists fix the editions' vintages.
UNICORN_LISTS: dict[int, tuple[str, str]] = {
    2021: ("cbinsights_unicorns_history/unicorns_2021-12-31.csv", "2021-12-31"),
    2022: ("cbinsights_unicorns_history/unicorns_2022-11-15.csv", "2022-11-15"),
    2023: ("cbinsights_unicorns_history/unicorns_2023-05-31.csv", "2023-05-31"),
    2024: ("cbinsights_unicorns/unicorns_2024-03-20.csv", "2024-03-20"),
    2025: ("cbinsights_unicorns/unicorns_2025-10-07.csv", "2025-10-07"),
}
EDITIONS: tuple[int, ...] = tuple(UNICORN_LISTS)

#: CB Insights industry labels counted as fintech. The taxonomy changed in 2023 (see SOURCES.md):
#: 2021/2022 lists carry an explicit "Fintech" industry; from 2023 "Financial Services" + "Insurance".
FINTECH_INDUSTRIES_OLD = frozenset({"Fintech"})
FINTECH_INDUSTRIES_NEW = frozenset({"Financial Services", "Insurance"})

AIRPORT_RADIUS_KM = 50.0
PROV_COLUMNS = ["unit", "indicator", "value", "source", "source_file", "source_date", "original_value",
                "original_unit", "scope", "value_level", "derivation"]
#: ``value_level`` (provenance): how a value describes the city. ``city`` = measured for the metro;
#: ``country proxy`` = the national value used for the city; ``urban proxy`` = the value for the country's urban
#: adults (Findex urban split); ``modelled`` = a national value spread over cities by a city covariate.
#: ``income-group proxy`` = the Findex aggregate of the country's income group (economy not surveyed).
VALUE_LEVELS = ("city", "country proxy", "urban proxy", "modelled", "income-group proxy")


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    pillar: str
    subpillar: str
    unit: str
    direction: int
    scope: str  # "city" or "country"
    source: str
    licence: str
    definition: str
    in_default: bool = True


#: Forbes Global 2000 industry labels counted as financial / as software and IT services (the copy mixes old and
#: new Forbes labels, e.g. 'Banking' and 'Banking and Financial Services'; every label is listed here as data).
FORBES_FINANCE = frozenset({"Banking", "Banks", "Banking and Finance", "Banking and Financial Services",
                            "Diversified Financials", "Insurance", "Credit Card Companies"})
FORBES_TECH = frozenset({"IT Software & Services", "Software & services", "Software/Programming",
                         "Data Analytics & Big Data", "Technology"})
FORBES_FILE = "forbes_global2000/forbes_global2000_2024.csv"
GAWC_FILE = "gawc_connectivity/gawc_da31_gnc2020.xlsx"
#: GaWC lists Hong Kong, Macao and Taiwan's cities under 'China': a name not found in the stated country is
#: also looked up in these (the rule, not a per-city edit).
GAWC_ALSO_LOOK_IN: dict[str, tuple[str, ...]] = {"CN": ("HK", "MO", "TW")}
DFIIC_FILE = "pku_dfiic/pku_dfiic_city_2011_2023.dta"
#: The DFIIC series used as the city covariate of the fintech-use items: the aggregate index (breadth of coverage +
#: usage depth + digitisation), see docs/methodology.md for why not the payment sub-index.
DFIIC_COVARIATE = "index_aggregate"
FINDEX_HEADLINE = "worldbank_findex/findex2021_databankwide_headline.csv"
FINDEX_URBAN = "worldbank_findex_urban/findex2021_databankwide_urban.csv"

#: Findex 2021 fintech-use items: code -> (name, databank column, definition). Urban column = the same name with
#: ', urban' before ' (% age 15+)'.
FINDEX_USE: dict[str, tuple[str, str, str]] = {
    "mobile_instore_pay": ("In-store mobile payments",
                           "Made a digital in-store merchant payment: using a mobile phone (% age 15+)",
                           "Adults who paid in a shop with a mobile phone (QR code, wallet or tap) in the past year"),
    "online_bill_pay": ("Bills paid online", "Used a mobile phone or the internet to pay bills (% age 15+)",
                        "Adults who used a mobile phone or the internet to pay bills in the past year"),
    "mobile_send_money": ("Money sent online", "Used a mobile phone or the internet to send money (% age 15+)",
                          "Adults who used a mobile phone or the internet to send money to a relative or friend"),
    "online_purchase": ("Online purchases",
                        "Used a mobile phone or the internet to buy something online (% age 15+)",
                        "Adults who used a mobile phone or the internet to buy something online in the past year"),
}


def _findex_use_indicators() -> list[Indicator]:
    out = []
    for code, (name, _col, defn) in FINDEX_USE.items():
        out.append(Indicator(
            code, name, "Consumer Experience", "Fintech use", "% age 15+", 1, "country",
            "World Bank Global Findex 2021 databank (+ PKU DFIIC / Findex urban as city covariates)", "CC BY 4.0",
            f"{defn} (Findex 2021 round, carried to every edition). City value: the national value spread by a city "
            "covariate where one exists (PKU DFIIC aggregate index for Chinese cities: V_city = V_country x "
            "C_city / mean C over the country's cities, capped to [0, 100]), else the Findex urban-adult value, "
            "else the national value; provenance column value_level says which."))
        out.append(Indicator(
            f"{code}_national", f"{name} (national value)", "Consumer Experience", "Fintech use", "% age 15+", 1,
            "country", "World Bank Global Findex 2021 databank", "CC BY 4.0",
            f"The unscaled national value of {code} (the alternative declared in the default spec's uncertainty "
            "block).", in_default=False))
    return out


INDICATORS: tuple[Indicator, ...] = (
    Indicator("fintech_unicorns", "Fintech unicorns", "Industry", "Fintech firms", "count", 1, "city",
              "CB Insights Global Unicorn Club", "attribution, research use",
              "Private companies valued at US$1bn+ with HQ in the metro whose CB Insights industry is fintech "
              "('Fintech' in the 2021/2022 lists; 'Financial Services' or 'Insurance' from 2023)."),
    Indicator("fintech_unicorn_value", "Fintech unicorn valuation", "Industry", "Fintech firms", "US$ bn", 1,
              "city", "CB Insights Global Unicorn Club", "attribution, research use",
              "Sum of the latest valuations of the metro's fintech unicorns."),
    Indicator("trading_venues", "Exchanges and trading venues", "Industry", "Financial markets", "count", 1,
              "city", "ISO 10383 Market Identifier Codes", "free public code list",
              "Operating MICs (OPRT) located in the metro and active on the edition's snapshot date "
              "(created on or before it, not expired by it)."),
    Indicator("market_cap_gdp", "Stock market capitalisation", "Industry", "Financial markets", "% of GDP", 1,
              "country", "World Bank WDI CM.MKT.LCAP.GD.ZS via Gapminder", "CC BY 4.0",
              "Market capitalisation of listed domestic companies, % of GDP; latest year <= edition year. A country "
              "value that does not fit the city-level Industry pillar (coherence audit): shipped, not in the default "
              "index.", in_default=False),
    Indicator("g2000_finance", "Large financial companies", "Industry", "Financial leaders", "count", 1, "city",
              "Forbes Global 2000 (2024)", "city aggregates only, attribution 'Forbes Global 2000, 2024'",
              "Companies of the Forbes Global 2000 (2024) with head office in the metro whose Forbes industry is "
              "financial: " + ", ".join(sorted(FORBES_FINANCE)) + " (payments firms such as Visa, Mastercard and "
              "PayPal are in these classes)."),
    Indicator("g2000_finance_value", "Market value of large financial companies", "Industry", "Financial leaders",
              "US$ bn", 1, "city", "Forbes Global 2000 (2024)",
              "city aggregates only, attribution 'Forbes Global 2000, 2024'",
              "Sum of the market values (US$ bn, Forbes 2024) of those financial companies."),
    Indicator("g2000_tech", "Large software and IT companies", "Industry", "Technology platforms", "count", 1,
              "city", "Forbes Global 2000 (2024)", "city aggregates only, attribution 'Forbes Global 2000, 2024'",
              "Companies of the Forbes Global 2000 (2024) with head office in the metro whose Forbes industry is "
              "software or IT services: " + ", ".join(sorted(FORBES_TECH)) + " (where Adyen, Block, Nu, FIS, "
              "Tencent and Alibaba are classified; hardware and semiconductors are not counted)."),
    Indicator("g2000_tech_value", "Market value of large software and IT companies", "Industry",
              "Technology platforms", "US$ bn", 1, "city", "Forbes Global 2000 (2024)",
              "city aggregates only, attribution 'Forbes Global 2000, 2024'",
              "Sum of the market values (US$ bn, Forbes 2024) of those software and IT companies."),
    *_findex_use_indicators(),
    Indicator("account_ownership", "Account ownership", "Consumer Experience", "Access", "% age 15+", 1,
              "country", "World Bank Global Findex (FX.OWN.TOTL.ZS)", "CC BY 4.0",
              "Adults with an account at a financial institution or a mobile-money provider; latest survey <= "
              "edition year. Financial inclusion, not fintech use: shipped for reference, not in the default index.",
              in_default=False),
    Indicator("digital_payments", "Digital payments", "Consumer Experience", "Access", "% age 15+", 1,
              "country", "World Bank Global Findex 2021 databank", "CC BY 4.0",
              "Adults who made or received a digital payment in the past year (cards count); latest survey <= "
              "edition year (whole-percent precision in the source). Not in the default index.", in_default=False),
    Indicator("internet_users", "Internet users", "Consumer Experience", "Access", "% of population",
              1, "country", "World Bank WDI IT.NET.USER.ZS (ITU) via Gapminder", "CC BY 4.0",
              "Individuals using the Internet; latest year <= edition year. Not in the default index.",
              in_default=False),
    Indicator("qs_universities", "Ranked universities", "Ecosystem", "Talent", "count", 1, "city",
              "QS World University Rankings", "© QS, research use",
              "Universities in the metro ranked in the latest QS World University Rankings edition <= edition "
              "year + 1 (QS editions are published the year before their label)."),
    Indicator("qs_top200", "Top-200 universities", "Ecosystem", "Talent", "count", 1, "city",
              "QS World University Rankings", "© QS, research use",
              "Universities in the metro ranked 1-200 in that QS edition."),
    Indicator("metro_gdp_ppp", "Metro GDP (PPP, 2014)", "Ecosystem", "Economy", "US$ bn PPP", 1, "city",
              "Brookings Global Metro Monitor 2014 via Wikipedia 'List of cities by GDP'", "CC BY-SA 4.0",
              "Brookings 2014 estimate of metropolitan GDP at PPP (the only single-producer, single-year column)."),
    Indicator("gdp_per_capita", "GDP per capita", "Ecosystem", "National context", "current US$", 1, "country",
              "World Bank WDI NY.GDP.MKTP.CD / SP.POP.TOTL", "CC BY 4.0 (ODC-PDDL packaging)",
              "GDP (current US$) / total population, same country and year; latest year <= edition year."),
    Indicator("regulatory_quality", "Regulatory quality", "Ecosystem", "National context", "estimate (-2.5..2.5)", 1,
              "country", "World Bank Worldwide Governance Indicators (rq)", "CC BY 4.0",
              "WGI regulatory quality estimate; latest year <= edition year."),
    Indicator("air_destinations", "Air connectivity", "Ecosystem", "Connectivity", "destinations", 1, "city",
              "OpenFlights routes (June 2014 snapshot)", "ODbL 1.0",
              f"Distinct destination airports served by direct routes from airports within {AIRPORT_RADIUS_KM:g} km "
              "of the city centre (a structural 2014 measure, the same for every edition); replaced by GaWC "
              "connectivity in the default index.", in_default=False),
    Indicator("gawc_connectivity", "Global network connectivity", "Ecosystem", "Connectivity", "% of London", 1,
              "city", "GaWC Data Set 31: global network connectivity 2020 (Derudder & Taylor)", "research data, cite",
              "GaWC 2020 global network connectivity relative to London (= 100): how the city is linked through "
              "the office networks of the leading banking/finance, insurance, law, accountancy, advertising and "
              "consultancy firms; a metro with several GaWC cities takes the largest (connectivity is not additive)."),
    Indicator("unicorns_all", "All unicorns", "Ecosystem", "Innovation", "count", 1, "city",
              "CB Insights Global Unicorn Club", "attribution, research use",
              "All private companies valued at US$1bn+ with HQ in the metro (startup ecosystem depth)."),
    Indicator("ease_of_doing_business", "Ease of doing business score", "Ecosystem", "National context", "score 0-100",
              1, "country", "World Bank Doing Business (IC.BUS.DFRN.XQ)", "CC BY 4.0",
              "DB score, data year 2019 (series discontinued): shipped for reference, not in the default index.",
              in_default=False),
    Indicator("metro_population", "Metro population", "Ecosystem", "Economy", "thousands", 1, "city",
              "UN World Urbanization Prospects 2018, F12", "CC BY 3.0 IGO",
              "Urban agglomeration population (UN estimate/projection for the latest 5-year point <= edition year); "
              "a size/denominator variable, not in the default index.", in_default=False),
)
IND_BY_CODE = {i.code: i for i in INDICATORS}


# ---------------------------------------------------------------------------------------------------- helpers

def norm_name(s: object) -> str:
    """Case-, accent-, punctuation- and whitespace-insensitive key for a place name."""
    t = unicodedata.normalize("NFKD", str(s).replace("’", "'")).encode("ascii", "ignore").decode().lower()
    t = re.sub(r"[.\-'’]", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def registry_spellings(cities: pd.DataFrame, aliases: pd.DataFrame) -> Iterator[tuple[str, str, str, str]]:
    """Every spelling the registry knows for a hub city, as (country ISO2, spelling, city code, kind): the city's
    name and GeoNames name (kind ``"name"``), then each row of ``aliases.csv`` whose code is a city, with its
    kind (``spelling``, ``district``, …). ``cities``/``aliases``: ``registry/cities.csv`` and ``aliases.csv``."""
    for _, r in cities.iterrows():
        for s in (r["name"], r["geonames_name"]):
            yield r["country_iso2"], s, r["code"], "name"
    iso_of = dict(zip(cities["code"], cities["country_iso2"], strict=True))
    for _, r in aliases.iterrows():
        if r["code"] in iso_of:
            yield iso_of[r["code"]], r["alias"], r["code"], r["kind"]


#: Raw files read by the build in progress (relative paths), for ``build_info.json``; None outside a build.
_READS: set[str] | None = None


def _raw_path(raw: Path, rel: str) -> Path:
    """``raw / rel``, checked to exist and recorded as read by the build (build_info.json lists these only)."""
    p = raw / rel
    if not p.exists():
        raise DataError(f"{p}: raw source file is missing (expected the team's shared/data/raw layout, see SOURCES.md)")
    if _READS is not None:
        _READS.add(Path(rel).as_posix())
    return p


def _read(raw: Path, rel: str, **kw: object) -> pd.DataFrame:
    return pd.read_csv(_raw_path(raw, rel), **kw)  # type: ignore[call-overload]


def _fmt(x: float) -> str:
    return repr(float(x)) if pd.notna(x) else ""


class Registry:
    """Hub cities + metro aliases + country-name aliases (all data, from ``registry/*.csv``)."""

    def __init__(self, raw: Path) -> None:
        self.cities = pd.read_csv(REGISTRY / "cities.csv", keep_default_na=False, dtype=str)
        aliases = pd.read_csv(REGISTRY / "aliases.csv", keep_default_na=False, dtype=str)
        country_aliases = pd.read_csv(REGISTRY / "country_aliases.csv", keep_default_na=False, dtype=str)
        dup = self.cities.code[self.cities.code.duplicated()]
        if len(dup):
            raise DataError(f"{REGISTRY / 'cities.csv'}: duplicate city codes {sorted(set(dup))}")
        unknown = set(aliases.code) - set(self.cities.code)
        if unknown:
            raise DataError(f"{REGISTRY / 'aliases.csv'}: column code: unknown city codes {sorted(unknown)}")
        countries = json.loads(_raw_path(raw, "geonames/countries.json").read_text(encoding="utf-8"))
        self.iso3 = {k: v["iso3"] for k, v in countries.items()}
        self.country_name = {k: v["name"] for k, v in countries.items()}
        self.isonumeric = {k: int(v["isonumeric"]) for k, v in countries.items()}
        self.country_by_name: dict[str, str] = {norm_name(v["name"]): k for k, v in countries.items()}
        for _, r in country_aliases.iterrows():
            self.country_by_name[norm_name(r["alias"])] = r["iso2"]
        # (iso2, spelling key) -> hub code
        self.lookup: dict[tuple[str, str], str] = {}
        #: aliases that are parts of a metro (suburb, district, borough), e.g. 'Foshan' (Guangzhou) or 'Chaoyang'
        #: (Beijing) - also names of prefecture cities; sources of whole cities (city covariates) resolve without
        #: them (``resolve_city``): only the hub's names and its spelling aliases.
        self.districts: set[tuple[str, str]] = set()
        for iso2, spelling, code, kind in registry_spellings(self.cities, aliases):
            self._add(iso2, spelling, code)
            if kind not in ("name", "spelling", "source misspelling"):
                self.districts.add((iso2, norm_name(spelling)))
        self.city_states = {iso: code for iso, code in zip(self.cities.country_iso2, self.cities.code, strict=True)
                            if iso in ("SG", "HK", "LU", "BH", "QA")}

    def _add(self, iso2: str, spelling: str, code: str) -> None:
        key = (iso2, norm_name(spelling))
        if self.lookup.get(key, code) != code:
            raise DataError(f"{REGISTRY / 'aliases.csv'}: spelling {spelling!r} ({iso2}) maps to two cities: "
                            f"{self.lookup[key]} and {code}")
        self.lookup[key] = code

    def country(self, name: object) -> str | None:
        if not isinstance(name, str) or not name.strip():
            return None
        return self.country_by_name.get(norm_name(name.strip(" ,")))

    def resolve(self, iso2: str | None, city: object) -> str | None:
        """The hub a (country, city spelling) belongs to, or ``None``. Empty city in a city-state → that hub."""
        if iso2 is None:
            return None
        c = city if isinstance(city, str) else ""
        if not c.strip():
            return self.city_states.get(iso2)
        return self.lookup.get((iso2, norm_name(c)))

    def resolve_city(self, iso2: str | None, city: object) -> str | None:
        """Like ``resolve`` but for sources whose rows are whole cities (e.g. DFIIC prefecture cities): suburb,
        district and borough aliases are not used, so the prefecture cities Foshan and Chaoyang (Liaoning) are not
        Guangzhou and Beijing."""
        if iso2 is None or not isinstance(city, str) or (iso2, norm_name(city)) in self.districts:
            return None
        return self.resolve(iso2, city) if city.strip() else None


class Unmatched:
    """Collects every source spelling that did not resolve to a hub."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, source: str, edition: int, frame: pd.DataFrame, country_col: str, city_col: str,
            reason_col: str) -> None:
        g = frame.groupby([country_col, city_col, reason_col], dropna=False).size().reset_index(name="rows")
        for _, r in g.iterrows():
            self.rows.append({"source_file": source, "edition": edition, "country": r[country_col],
                              "city": r[city_col], "reason": r[reason_col], "rows": int(r["rows"])})

    def table(self) -> pd.DataFrame:
        """One row per (source file, spelling), with the editions it was read for and its row count."""
        t = pd.DataFrame(self.rows, columns=["source_file", "edition", "country", "city", "reason", "rows"])
        t = t.fillna("")
        t = t.groupby(["source_file", "country", "city", "reason"], as_index=False).agg(
            editions=("edition", lambda e: " ".join(str(x) for x in sorted(set(e)))), rows=("rows", "max"))
        return t.sort_values(["source_file", "rows", "country", "city"], ascending=[True, False, True, True],
                             kind="mergesort").reset_index(drop=True)


def _resolve_frame(reg: Registry, df: pd.DataFrame, country: pd.Series, city: pd.Series) -> pd.DataFrame:
    """Add ``iso2``, ``hub`` and ``reason`` columns (why a row is not matched)."""
    out = df.copy()
    out["iso2"] = [reg.country(c) if not (isinstance(c, str) and len(c) == 2 and c.isupper()) else c
                   for c in country]
    out["hub"] = [reg.resolve(i, c) for i, c in zip(out["iso2"], city, strict=True)]
    hub_countries = set(reg.cities.country_iso2)
    out["reason"] = np.where(out["hub"].notna(), "", np.where(
        out["iso2"].isna(), "unknown country",
        np.where(out["iso2"].isin(hub_countries), "city not in the hub registry", "country has no hub")))
    return out


def _provenance(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    """Provenance rows; ``value_level`` defaults to ``city`` / ``country proxy`` from ``scope``."""
    d = pd.DataFrame(list(rows), columns=PROV_COLUMNS)
    default = d["scope"].map({"city": "city", "country": "country proxy"})
    d["value_level"] = d["value_level"].where(d["value_level"].notna(), default)
    return d


# ---------------------------------------------------------------------------------------------------- sources

def unicorn_indicators(raw: Path, reg: Registry, year: int, unmatched: Unmatched) -> pd.DataFrame:
    """Counts and valuation sums of (fintech) unicorns per metro: Σ over rows whose HQ resolves to the metro."""
    rel, date = UNICORN_LISTS[year]
    u = _read(raw, rel)
    country = u["country"].astype("string")
    city = u["city"].astype("string")
    # Source errors kept as published: a few rows have country and city swapped (e.g. 'London', 'United Kingdom').
    swapped = country.map(lambda c: reg.country(c) is None) & city.map(lambda c: reg.country(c) is not None)
    country, city = country.where(~swapped, u["city"]), city.where(~swapped, u["country"])
    u = _resolve_frame(reg, u, country.fillna(""), city.fillna(""))
    u["country_src"], u["city_src"] = country.fillna(""), city.fillna("")
    unmatched.add(rel, year, u[u.hub.isna()], "country_src", "city_src", "reason")
    fin = FINTECH_INDUSTRIES_OLD if year <= 2022 else FINTECH_INDUSTRIES_NEW
    u["is_fintech"] = u["industry"].isin(fin)
    src = "CB Insights Global Unicorn Club"
    rows = []
    for code in reg.cities.code:
        m = u[u.hub == code]
        f = m[m.is_fintech]
        spell = ", ".join(f"{k} ({v})" for k, v in sorted(m.city_src.value_counts().items()))
        rows.append(dict(unit=code, indicator="unicorns_all", value=float(len(m)), source=src, source_file=rel,
                         source_date=date, original_value=str(len(m)), original_unit="companies", scope="city",
                         derivation=f"count of listed companies with HQ in the metro; HQ spellings: {spell}"))
        rows.append(dict(unit=code, indicator="fintech_unicorns", value=float(len(f)), source=src, source_file=rel,
                         source_date=date, original_value=str(len(f)), original_unit="companies", scope="city",
                         derivation=f"count with industry in {sorted(fin)}: {'; '.join(sorted(f.company.astype(str)))}"))
        val = float(f.valuation_usd_bn.sum())
        rows.append(dict(unit=code, indicator="fintech_unicorn_value", value=round(val, 6), source=src,
                         source_file=rel, source_date=date,
                         original_value=" + ".join(_fmt(v) for v in f.valuation_usd_bn) or "0 (no fintech unicorns)",
                         original_unit="US$ bn",
                         scope="city", derivation="sum of valuation_usd_bn of the fintech unicorns above"))
    return _provenance(rows)


def mic_indicator(raw: Path, reg: Registry, year: int, unmatched: Unmatched) -> pd.DataFrame:
    """Operating MICs in the metro active on the snapshot date: creation ≤ date < expiry (or no expiry)."""
    rel = "iso10383_mic/iso10383_mic.csv"
    m = _read(raw, rel, keep_default_na=False, dtype=str)
    date = UNICORN_LISTS[year][1]
    active = (m.oprt_sgmt == "OPRT") & (m.creation_date <= date) & ((m.expiry_date == "") | (m.expiry_date > date))
    m = _resolve_frame(reg, m[active], m.loc[active, "iso_country_code"], m.loc[active, "city"])
    unmatched.add(rel, year, m[m.hub.isna()], "iso_country_code", "city", "reason")
    rows = []
    for code in reg.cities.code:
        h = m[m.hub == code]
        rows.append(dict(unit=code, indicator="trading_venues", value=float(len(h)), source="ISO 10383 MIC registry",
                         source_file=rel, source_date=date, original_value=" ".join(sorted(h.mic)) or "0 (no active venue)",
                         original_unit="operating MICs", scope="city",
                         derivation="count of OPRT entries active on the date; cities: "
                                    + ", ".join(sorted(set(h.city)))))
    return _provenance(rows)


def qs_indicators(raw: Path, reg: Registry, year: int, unmatched: Unmatched) -> pd.DataFrame:
    """Ranked and top-200 universities per metro in the latest QS edition ≤ year + 1."""
    rel = "qs_university_rankings/qs_wur_2017_2022.csv"
    q = _read(raw, rel)
    ed = int(q.year[q.year <= year + 1].max())
    q = q[q.year == ed].copy()
    q = _resolve_frame(reg, q, q.country.fillna(""), q.city.fillna(""))
    q["country_src"], q["city_src"] = q.country.fillna(""), q.city.fillna("")
    unmatched.add(rel, year, q[q.hub.isna()], "country_src", "city_src", "reason")
    first = pd.to_numeric(q.rank_display.astype(str).str.extract(r"^=?(\d+)")[0], errors="coerce")
    q["top200"] = first <= 200
    rows = []
    for code in reg.cities.code:
        h = q[q.hub == code]
        t = h[h.top200]
        rows.append(dict(unit=code, indicator="qs_universities", value=float(len(h)), source="QS World University "
                         "Rankings", source_file=rel, source_date=f"QS {ed}", original_value=str(len(h)),
                         original_unit="universities", scope="city",
                         derivation="count of ranked universities: " + "; ".join(sorted(h.university.str.strip()))))
        rows.append(dict(unit=code, indicator="qs_top200", value=float(len(t)), source="QS World University "
                         "Rankings", source_file=rel, source_date=f"QS {ed}", original_value=str(len(t)),
                         original_unit="universities", scope="city",
                         derivation="count with rank_display starting <= 200: "
                                    + "; ".join(f"{u.strip()} ({r})" for u, r in sorted(zip(t.university, t.rank_display,
                                                                                            strict=True)))))
    return _provenance(rows)


def _country_series(reg: Registry, values: pd.DataFrame, key: str, col: str, year: int, *, indicator: str,
                    source: str, rel: str, unit: str, derivation: str, scale: float = 1.0) -> pd.DataFrame:
    """Latest value with ``time <= year`` for each hub's country (``values`` has columns key/time/col)."""
    v = values.dropna(subset=[col])
    v = v[v["time"] <= year].sort_values("time")
    latest = v.groupby(key).tail(1).set_index(key)
    rows = []
    for _, c in reg.cities.iterrows():
        k = reg.iso3[c.country_iso2]
        kk = k.lower() if key == "geo" and values[key].str.islower().all() else k
        if kk in latest.index:
            r = latest.loc[kk]
            val, orig, t = float(r[col]) * scale, str(r[col]), str(int(r["time"]))
        else:
            val, orig, t = np.nan, "", ""
        rows.append(dict(unit=c.code, indicator=indicator, value=val, source=source, source_file=rel,
                         source_date=t, original_value=orig, original_unit=unit, scope="country",
                         derivation=f"{derivation} ({k}); country-level value used for the city"
                         if orig else f"no value for {k} with year <= {year} in the source"))
    return _provenance(rows)


def gapminder_indicator(raw: Path, reg: Registry, year: int, file: str, col: str, indicator: str,
                        source: str, unit: str) -> pd.DataFrame:
    rel = f"gapminder_systema_globalis/{file}"
    d = _read(raw, rel)
    return _country_series(reg, d, "geo", col, year, indicator=indicator, source=source, rel=rel, unit=unit,
                           derivation="latest year <= edition year")


def findex_account(raw: Path, reg: Registry, year: int) -> pd.DataFrame:
    rel = "worldbank_findex/ddf--datapoints--fx_own_totl_zs--by--geo--time.csv"
    d = _read(raw, rel)
    return _country_series(reg, d, "geo", "fx_own_totl_zs", year, indicator="account_ownership",
                           source="World Bank Global Findex (WDI FX.OWN.TOTL.ZS)", rel=rel, unit="% age 15+",
                           derivation="latest survey year <= edition year")


def findex_headline(raw: Path, reg: Registry, year: int, column: str, indicator: str) -> pd.DataFrame:
    """A Findex 2021 databank column ('86%' strings) for the latest survey year <= edition year."""
    rel = "worldbank_findex/findex2021_databankwide_headline.csv"
    d = _read(raw, rel, dtype=str, keep_default_na=False)
    if column not in d.columns:
        raise DataError(f"{raw / rel}: column {column!r} not found")
    v = pd.DataFrame({"code": d["Country code"], "time": pd.to_numeric(d["Year"]),
                      "pct": pd.to_numeric(d[column].str.rstrip("%"), errors="coerce")})
    out = _country_series(reg, v, "code", "pct", year, indicator=indicator,
                          source="World Bank Global Findex 2021 databank", rel=rel, unit="% age 15+ (rounded)",
                          derivation=f"column '{column}', '%' stripped, latest survey year <= edition year")
    return out


def wgi_indicator(raw: Path, reg: Registry, year: int) -> pd.DataFrame:
    rel = "worldbank_wgi/wgidataset.csv"
    d = _read(raw, rel, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    d = d[d.indicator == "rq"]
    v = pd.DataFrame({"code": d.code, "time": pd.to_numeric(d.year),
                      "estimate": pd.to_numeric(d.estimate.replace({"": np.nan, "..": np.nan}))})
    return _country_series(reg, v, "code", "estimate", year, indicator="regulatory_quality",
                           source="World Bank Worldwide Governance Indicators", rel=rel, unit="estimate",
                           derivation="indicator rq (regulatory quality), latest year <= edition year")


def doing_business(raw: Path, reg: Registry, year: int) -> pd.DataFrame:
    rel = "worldbank_doing_business/ddf--datapoints--ic_bus_dfrn_xq--by--geo--time.csv"
    d = _read(raw, rel)
    return _country_series(reg, d, "geo", "ic_bus_dfrn_xq", year, indicator="ease_of_doing_business",
                           source="World Bank Doing Business", rel=rel, unit="score 0-100",
                           derivation="latest data year <= edition year (series ends 2019)")


def gdp_per_capita(raw: Path, reg: Registry, year: int) -> pd.DataFrame:
    """GDP per capita = GDP (current US$) / population, same country and year (latest year ≤ edition year)."""
    g = _read(raw, "worldbank_wdi/gdp_current_usd.csv")
    p = _read(raw, "worldbank_wdi/population_total.csv")
    m = g.merge(p, on=["Country Code", "Year"], suffixes=("_gdp", "_pop"))
    m = m[(m.Year <= year) & m.Value_gdp.notna() & m.Value_pop.notna() & (m.Value_pop > 0)].sort_values("Year")
    latest = m.groupby("Country Code").tail(1).set_index("Country Code")
    rows = []
    for _, c in reg.cities.iterrows():
        k = reg.iso3[c.country_iso2]
        if k in latest.index:
            r = latest.loc[k]
            val = float(r.Value_gdp) / float(r.Value_pop)
            rows.append(dict(unit=c.code, indicator="gdp_per_capita", value=val, source="World Bank WDI",
                             source_file="worldbank_wdi/gdp_current_usd.csv; worldbank_wdi/population_total.csv",
                             source_date=str(int(r.Year)), original_value=f"{_fmt(r.Value_gdp)} / {_fmt(r.Value_pop)}",
                             original_unit="current US$ / persons", scope="country",
                             derivation=f"NY.GDP.MKTP.CD / SP.POP.TOTL for {k}, same year; country-level value"))
        else:
            rows.append(dict(unit=c.code, indicator="gdp_per_capita", value=np.nan, source="World Bank WDI",
                             source_file="worldbank_wdi/gdp_current_usd.csv; worldbank_wdi/population_total.csv",
                             source_date="", original_value="", original_unit="current US$ / persons",
                             scope="country", derivation=f"no GDP and population for {k} (not in WDI)"))
    return _provenance(rows)


def _parts(names: str) -> list[str]:
    """Registry cells may name several source rows of one metro, separated by '|' (their values are summed)."""
    return [n.strip() for n in names.split("|") if n.strip()]


def metro_gdp(raw: Path, reg: Registry) -> pd.DataFrame:
    """Brookings 2014 metro GDP (PPP); a metro made of several table rows gets their sum (e.g. SF-Oakland + San Jose)."""
    rel = "wikipedia_cities_by_gdp/list_of_cities_by_gdp.csv"
    w = _read(raw, rel, dtype=str, keep_default_na=False)
    w.columns = [re.sub(r"\s+", " ", c) for c in w.columns]
    col = "Brookings 2014 est. PPP-adjusted GDP (billion US$)"
    name_col = "City proper/metropolitan area"
    by_name = {r[name_col]: r for _, r in w.iterrows()}
    rows = []
    for _, c in reg.cities.iterrows():
        names = _parts(c.wiki_gdp_name)
        texts = [by_name[n][col].strip() if n in by_name else "" for n in names]
        nums = [re.match(r"^[\d,]+(\.\d+)?", t) for t in texts]
        ok = bool(names) and all(nums)
        val = sum(float(m.group(0).replace(",", "")) for m in nums if m) if ok else np.nan
        rows.append(dict(unit=c.code, indicator="metro_gdp_ppp", value=val, source="Brookings Global Metro Monitor "
                         "2014 via Wikipedia", source_file=rel, source_date="2014",
                         original_value=" + ".join(texts) if ok else "", original_unit="US$ bn PPP", scope="city",
                         derivation=(("sum of rows " if len(names) > 1 else "row ") + ", ".join(f"'{n}'" for n in names)
                                     + f", column '{col}'") if ok else
                         f"no Brookings 2014 value for '{c.wiki_gdp_name or c['name']}' in the table"))
    return _provenance(rows)


def metro_population(raw: Path, reg: Registry, year: int) -> pd.DataFrame:
    """UN WUP agglomeration population (thousands); several agglomerations of one metro are summed."""
    rel = "un_wup2018/wup2018_f12_urban_agglomerations_300k.csv"
    d = _read(raw, rel)
    col = str(max(y for y in range(1950, 2036, 5) if y <= year))
    by = d.set_index(["Country Code", "Urban Agglomeration"])
    rows = []
    for _, c in reg.cities.iterrows():
        keys = [(reg.isonumeric[c.country_iso2], n) for n in _parts(c.wup_name)]
        ok = bool(keys) and all(k in by.index for k in keys)
        vals = [float(by.loc[k, col]) for k in keys] if ok else []  # type: ignore[arg-type]
        v = float(sum(vals)) if ok else np.nan
        rows.append(dict(unit=c.code, indicator="metro_population", value=v, source="UN World Urbanization "
                         "Prospects 2018", source_file=rel, source_date=col,
                         original_value=" + ".join(_fmt(x) for x in vals) if ok else "",
                         original_unit="thousands", scope="city",
                         derivation=(("sum of agglomerations " if len(keys) > 1 else "agglomeration ")
                                     + ", ".join(f"'{k[1]}'" for k in keys) + f", column {col}")
                         if ok else "no agglomeration row"))
    return _provenance(rows)


def fix_mojibake(s: str) -> str:
    """Undo UTF-8 text that was read as Latin-1 ('ZÃ¼rich' -> 'Zürich'); other strings are returned unchanged."""
    try:
        t = s.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return s
    return t


def forbes_hq_city(hq: object) -> str:
    """The city of a Forbes ``headquarters`` cell: mojibake decoded, US 'City- State' -> 'City'."""
    if not isinstance(hq, str):
        return ""
    return fix_mojibake(hq).split("- ")[0].strip()


def forbes_indicators(raw: Path, reg: Registry) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forbes Global 2000 (2024) head-office aggregates per metro: count and Σ market value of the financial
    (``FORBES_FINANCE``) and of the software/IT (``FORBES_TECH``) companies. Returns (provenance, unmatched rows);
    the row-level list is never shipped (only counts and sums; derivations name no company)."""
    f = _read(raw, FORBES_FILE)
    city = f["headquarters"].map(forbes_hq_city)
    f = _resolve_frame(reg, f, f["country"].fillna(""), city)
    f["city_src"], f["country_src"] = city, f["country"].fillna("")
    src = "Forbes Global 2000 (2024)"
    rows = []
    for code in reg.cities.code:
        h = f[f.hub == code]
        spell = ", ".join(f"{k} ({v})" for k, v in sorted(h.city_src.value_counts().items()))
        for ind, labels, what in (("g2000_finance", FORBES_FINANCE, "financial"),
                                  ("g2000_tech", FORBES_TECH, "software/IT")):
            m = h[h.industry.isin(labels)]
            mv = [float(x) for x in m.market_value]
            rows.append(dict(unit=code, indicator=ind, value=float(len(m)), source=src, source_file=FORBES_FILE,
                             source_date="2024", original_value=str(len(m)), original_unit="companies", scope="city",
                             derivation=f"count of {what} companies (Forbes industry in the {ind} rule) with head "
                                        f"office in the metro; head-office spellings of all its G2000 companies: "
                                        f"{spell or 'none'}"))
            rows.append(dict(unit=code, indicator=f"{ind}_value", value=round(float(sum(mv)), 6), source=src,
                             source_file=FORBES_FILE, source_date="2024",
                             original_value=f"sum of {len(mv)} market values" if mv else "0 (no such company)",
                             original_unit="US$ bn", scope="city",
                             derivation=f"sum of market_value of the {what} companies counted in {ind}"))
    return _provenance(rows), f[f.hub.isna()]


def gawc_names(cell: str) -> list[str]:
    """Spellings of a GaWC city cell, by rule: 'New York (New York)' -> ['New York (New York)', 'New York'];
    'Mumbai/Bombay' -> [..., 'Mumbai', 'Bombay'] (the qualifier in brackets is a state or country hint)."""
    c = cell.strip()
    base = re.sub(r"\s*\([^)]*\)\s*$", "", c).strip()
    out = [c, base, *[x.strip() for x in base.split("/") if x.strip()]]
    return list(dict.fromkeys(x for x in out if x))


def gawc_indicator(raw: Path, reg: Registry) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GaWC 2020 global network connectivity (GNC_rel, London = 100) per metro; several GaWC cities of one
    metro -> the largest. Names resolve by ``gawc_names`` and the registry aliases; ``GAWC_ALSO_LOOK_IN`` covers
    Hong Kong and Taipei listed under China. Returns (provenance, unmatched rows)."""
    g = pd.read_excel(_raw_path(raw, GAWC_FILE))
    hubs: list[str | None] = []
    isos: list[str | None] = []
    for city, country in zip(g["City"].astype(str), g["Country"].astype(str), strict=True):
        iso = reg.country(country)
        hub = None
        for name in gawc_names(city):
            for i in (iso, *GAWC_ALSO_LOOK_IN.get(iso or "", ())):
                hub = reg.resolve(i, name) if name != "" else None
                if hub:
                    break
            if hub:
                break
        hubs.append(hub)
        isos.append(iso)
    g["hub"], g["iso2"] = hubs, isos
    hub_countries = set(reg.cities.country_iso2)
    g["reason"] = np.where(g.hub.notna(), "", np.where(g.iso2.isna(), "unknown country", np.where(
        g.iso2.isin(hub_countries), "city not in the hub registry", "country has no hub")))
    rows = []
    for code in reg.cities.code:
        h = g[g.hub == code].sort_values("GNC_rel(%)", ascending=False, kind="mergesort")
        if len(h):
            best = h.iloc[0]
            parts = "; ".join(f"{r.City} {float(r['GNC_rel(%)']):.4g}" for _, r in h.iterrows())
            rows.append(dict(unit=code, indicator="gawc_connectivity", value=float(best["GNC_rel(%)"]),
                             source="GaWC Data Set 31 (Derudder & Taylor)", source_file=GAWC_FILE, source_date="2020",
                             original_value=f"{best['GNC_rel(%)']!r} (GNC_abs {int(best['GNC_abs'])}, rank "
                                            f"{int(best['Rank'])})", original_unit="% of London", scope="city",
                             derivation=f"GNC_rel(%) of '{best.City}'" + (f"; largest of: {parts}" if len(h) > 1
                                                                          else "")))
        else:
            rows.append(dict(unit=code, indicator="gawc_connectivity", value=np.nan,
                             source="GaWC Data Set 31 (Derudder & Taylor)", source_file=GAWC_FILE, source_date="2020",
                             original_value="", original_unit="% of London", scope="city",
                             derivation="the city is not among GaWC's 707 cities (or no alias matches)"))
    return _provenance(rows), g[g.hub.isna()]


def dfiic_covariate(raw: Path) -> pd.DataFrame:
    """PKU DFIIC prefecture cities as a city covariate: the ``DFIIC_COVARIATE`` series, all 337 cities."""
    d = pd.read_stata(_raw_path(raw, DFIIC_FILE))
    d = d[d[DFIIC_COVARIATE].notna()]
    return pd.DataFrame({"country_iso2": "CN", "city": d["pref_name_year18_eng"].astype(str),
                         "year": d["year"].astype(int), "value": d[DFIIC_COVARIATE].astype(float),
                         "source": f"PKU DFIIC ({DFIIC_COVARIATE})", "source_file": DFIIC_FILE})


def city_covariates(raw: Path, reg: Registry) -> pd.DataFrame:
    """Every city covariate: the built-in PKU DFIIC adapter + user files ``<raw>/city_covariates/*.csv``
    (see :mod:`hubindex.datasets.covariates`), with ``hub`` (the hub a row resolves to, or None) and ``reason``.
    One source per country."""
    parts = [dfiic_covariate(raw)]
    folder = raw / "city_covariates"
    for f in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        rel = f.relative_to(raw).as_posix()
        d = read_covariate_csv(_raw_path(raw, rel))
        d["source_file"] = rel
        parts.append(d)
    cov = pd.concat(parts, ignore_index=True)
    per = cov.groupby("country_iso2")["source_file"].unique()
    for iso, files in per.items():
        if len(files) > 1:
            raise DataError(f"city covariates: country {iso} has several sources ({', '.join(sorted(files))}); "
                            "keep one per country")
    out = _resolve_frame(reg, cov, cov["country_iso2"], cov["city"])
    out["hub"] = [reg.resolve_city(i, c) for i, c in zip(out.country_iso2, out.city, strict=True)]
    hub_countries = set(reg.cities.country_iso2)
    out["reason"] = np.where(out.hub.notna(), "", np.where(out.country_iso2.isin(hub_countries),
                                                            "city not in the hub registry", "country has no hub"))
    dup = out[out.hub.notna()].duplicated(["hub", "year"], keep=False)
    if dup.any():
        first = out[out.hub.notna()][dup].iloc[0]
        raise DataError(f"{first.source_file}: several rows of year {first.year} resolve to hub {first.hub}; "
                        "expected one per city")
    return out


def findex_use(raw: Path, reg: Registry, cov: pd.DataFrame) -> pd.DataFrame:
    """The Findex 2021 fintech-use items per hub, at the finest level available (see FINDEX_USE):

    1. ``modelled``: the country has a city covariate C that covers the hub for the survey year (or the latest
       earlier year): V_city = clip(V_country × C_city / C̄_country, 0, 100) (``spread_by_covariate``);
    2. ``urban proxy``: else the Findex 2021 value for the country's urban adults, where published;
    3. ``country proxy``: else the national value;
    4. ``income-group proxy``: an economy not surveyed in 2021 (Qatar, Bahrain, Luxembourg) takes the Findex 2021
       aggregate of its income group (e.g. 'High income'), so that no hub lacks a whole pillar.

    ``<code>_national`` is the national value for every hub (the uncertainty alternative). The Findex 2021 round
    (survey year 2021, or 2022 for late surveys) is the only one with these items; it is used for every edition.
    """
    d = _read(raw, FINDEX_HEADLINE, dtype=str, keep_default_na=False)
    u = _read(raw, FINDEX_URBAN, dtype=str, keep_default_na=False)
    #: income group of each economy (latest round that gives one) and the aggregate rows' codes by group name
    economies = d["Region"] != ""  # aggregates (regions, income groups) have no region
    income = {r["Country code"]: r["Income group"] for _, r in d[economies].sort_values("Year").iterrows()
              if r["Income group"]}
    agg_code = {r["Country name"]: r["Country code"] for _, r in d[~economies].iterrows()}
    d = d[pd.to_numeric(d["Year"]) >= 2021]
    means = covariate_means(cov)
    rows = []
    for code, (_name, col, _defn) in FINDEX_USE.items():
        ucol = col.replace(" (% age 15+)", ", urban (% age 15+)")
        for c in (col,):
            if c not in d.columns:
                raise DataError(f"{raw / FINDEX_HEADLINE}: column {c!r} not found")
        if ucol not in u.columns:
            raise DataError(f"{raw / FINDEX_URBAN}: column {ucol!r} not found")
        nat = {r["Country code"]: (r[col], r["Year"]) for _, r in d.sort_values("Year").iterrows() if r[col]}
        urb = {r["Country code"]: r[ucol] for _, r in u.iterrows() if r[ucol]}
        for _, city in reg.cities.iterrows():
            iso2, k = city.country_iso2, reg.iso3[city.country_iso2]
            base = dict(unit=city.code, source="World Bank Global Findex 2021 databank", source_file=FINDEX_HEADLINE,
                        original_unit="% age 15+ (rounded)")
            if k not in nat:
                grp = income.get(k, "")
                g = nat.get(agg_code.get(grp, ""))
                for ind in (code, f"{code}_national"):
                    if g is None:
                        rows.append(base | dict(indicator=ind, value=np.nan, source_date="", original_value="",
                                                scope="country", derivation=f"no Findex 2021 value for {k}"))
                    else:
                        rows.append(base | dict(
                            indicator=ind, value=float(g[0].rstrip("%")), source_date=g[1], original_value=g[0],
                            scope="country", value_level="income-group proxy",
                            derivation=f"{k} was not surveyed in Findex 2021: the '{grp}' aggregate of column "
                                       f"'{col}' (its income group in earlier Findex rounds), '%' stripped"))
                continue
            text, year = nat[k]
            v = float(text.rstrip("%"))
            rows.append(base | dict(indicator=f"{code}_national", value=v, source_date=year, original_value=text,
                                    scope="country", derivation=f"column '{col}' for {k}, '%' stripped; Findex "
                                    "2021 round, carried to every edition; country-level value"))
            crow = cov[(cov.hub == city.code)]
            cyears = sorted(int(y) for y in crow.year if int(y) <= int(year))
            if cyears:
                cy = cyears[-1]
                r = crow[crow.year == cy].iloc[0]
                cm = float(means.loc[(iso2, cy)])
                n_cities = int((cov.country_iso2 == iso2).groupby(cov.year).sum().get(cy, 0))
                (val,), (capped,) = spread_by_covariate([v], [float(r.value)], [cm])
                rows.append(base | dict(
                    indicator=code, value=float(val), source=f"{base['source']}; {r.source}",
                    source_file=f"{FINDEX_HEADLINE}; {r.source_file}", source_date=f"{year}; {cy}",
                    original_value=f"{text} x {float(r.value)!r} / {cm!r}", original_unit="% age 15+ x index / index",
                    scope="country", value_level="modelled",
                    derivation=f"modelled: national value {v:g} ({k}, Findex {year}) x city covariate {r.source} "
                               f"{float(r.value):.6g} ('{r.city}', {cy}) / mean {cm:.6g} of the country's {n_cities} "
                               "covariate cities" + (f"; capped to [0, 100] (unclipped {v * float(r.value) / cm:.6g})"
                                                    if capped else "")))
            elif k in urb:
                why = ("" if iso2 not in set(cov.country_iso2) else
                       "the city is not in the country's city covariate; ")
                rows.append(base | dict(
                    indicator=code, value=float(urb[k].rstrip("%")), source_file=FINDEX_URBAN, source_date="2021",
                    original_value=urb[k], scope="country", value_level="urban proxy",
                    derivation=f"{why}urban adults of {k}: column '{ucol}', '%' stripped (national {text})"))
            else:
                why = ("the city is not in the country's city covariate; " if iso2 in set(cov.country_iso2) else "")
                rows.append(base | dict(
                    indicator=code, value=v, source_date=year, original_value=text, scope="country",
                    derivation=f"{why}no city covariate and no urban split for {k}: national value, column '{col}', "
                               "Findex 2021 round, carried to every edition; country-level value"))
    return _provenance(rows)


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Great-circle distance: 2R·asin(√(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2))), R = 6371 km."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def air_connectivity(raw: Path, cities: pd.DataFrame) -> pd.DataFrame:
    """Distinct destination airports of direct routes from airports within AIRPORT_RADIUS_KM of the centre."""
    ap = _read(raw, "openflights/airports.dat", header=None, na_values="\\N", keep_default_na=False,
               names=["id", "name", "city", "country", "iata", "icao", "lat", "lon", "alt", "tz", "dst", "tzdb",
                      "type", "src"])
    rt = _read(raw, "openflights/routes.dat", header=None, na_values="\\N", keep_default_na=False,
               names=["airline", "airline_id", "src", "src_id", "dst", "dst_id", "codeshare", "stops", "equip"])
    # Some routes carry only the IATA/ICAO code of an airport (id '\\N', e.g. Hyderabad's HYD): fill from the code.
    code_id = {**dict(zip(ap.icao.dropna(), ap.id, strict=False)), **dict(zip(ap.iata.dropna(), ap.id, strict=False))}
    rt["src_id"] = pd.to_numeric(rt.src_id, errors="coerce").fillna(rt.src.map(code_id))
    rt["dst_id"] = pd.to_numeric(rt.dst_id, errors="coerce").fillna(rt.dst.map(code_id))
    rt = rt.dropna(subset=["src_id", "dst_id"])
    rt = rt[rt.stops == 0]
    rows = []
    for _, c in cities.iterrows():
        d = haversine_km(np.float64(c.latitude), np.float64(c.longitude), ap.lat.to_numpy(), ap.lon.to_numpy())
        near = ap[d <= AIRPORT_RADIUS_KM]
        ids = set(near.id.astype(int))
        r = rt[rt.src_id.astype(int).isin(ids) & ~rt.dst_id.astype(int).isin(ids)]
        n = r.dst_id.astype(int).nunique()
        used = set(r.src_id.astype(int))
        codes = [str(iata) if isinstance(iata, str) else str(icao)
                 for i, iata, icao in zip(near.id, near.iata, near.icao, strict=True) if int(i) in used]
        names = "; ".join(codes)
        rows.append(dict(unit=c.code, indicator="air_destinations", value=float(n), source="OpenFlights",
                         source_file="openflights/airports.dat; openflights/routes.dat", source_date="2014-06",
                         original_value=str(n), original_unit="destination airports", scope="city",
                         derivation=f"direct routes from airports within {AIRPORT_RADIUS_KM:g} km: {names}"))
    return _provenance(rows)


# ---------------------------------------------------------------------------------------------------- assembly

def city_table(raw: Path, reg: Registry) -> pd.DataFrame:
    """The registry with derived columns: ISO3, country name, WB region, coordinates (GeoNames)."""
    geo = _read(raw, "geonames/cities_pop50k.csv", keep_default_na=False)
    meta = _read(raw, "worldbank_wdi/Metadata_Country_API_IT.NET.USER.ZS_DS2_en_csv_v2_2160.csv",
                 encoding="utf-8-sig", keep_default_na=False)
    region = dict(zip(meta["Country Code"], meta["Region"], strict=True))
    gm = _read(raw, "gapminder_systema_globalis/ddf--entities--geo--country.csv", keep_default_na=False)
    gm_region = dict(zip(gm.iso3166_1_alpha3, gm.world_6region, strict=True))
    gm_to_wb = {"east_asia_pacific": "East Asia & Pacific", "europe_central_asia": "Europe & Central Asia",
                "south_asia": "South Asia", "middle_east_north_africa": "Middle East & North Africa",
                "sub_saharan_africa": "Sub-Saharan Africa"}
    out = []
    for _, c in reg.cities.iterrows():
        g = geo[(geo.country_code == c.country_iso2) & (geo.name == c.geonames_name)]
        if len(g) == 0:
            raise DataError(f"{REGISTRY / 'cities.csv'}: row {c.code}: column geonames_name: {c.geonames_name!r} "
                            f"not found in geonames/cities_pop50k.csv for country {c.country_iso2}")
        g = g.sort_values("population", ascending=False).iloc[0]
        iso3 = reg.iso3[c.country_iso2]
        reg_name = region.get(iso3) or gm_to_wb.get(gm_region.get(iso3, ""), "")
        out.append({"code": c.code, "name": c["name"], "country": reg.country_name[c.country_iso2],
                    "country_iso2": c.country_iso2, "country_iso3": iso3, "region": reg_name,
                    "region_source": "World Bank" if region.get(iso3) else "Gapminder world_6region",
                    "cn_region": c.cn_region, "latitude": float(g.latitude), "longitude": float(g.longitude),
                    "geonameid": int(g.geonameid)})
    return pd.DataFrame(out)


def build_edition(raw: Path, reg: Registry, cities: pd.DataFrame, year: int, unmatched: Unmatched,
                  fixed: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One edition: (wide table, provenance). ``fixed``: provenance of the edition-independent sources (metro
    GDP 2014, air routes 2014, Forbes 2024, GaWC 2020, Findex 2021 fintech use), the same in every edition."""
    gm = "ddf--datapoints--{}--by--geo--time.csv"
    parts = [
        unicorn_indicators(raw, reg, year, unmatched),
        mic_indicator(raw, reg, year, unmatched),
        gapminder_indicator(raw, reg, year, gm.format("market_value_of_listed_companies_percent_of_gdp"),
                            "market_value_of_listed_companies_percent_of_gdp", "market_cap_gdp",
                            "World Bank WDI via Gapminder", "% of GDP"),
        findex_account(raw, reg, year),
        findex_headline(raw, reg, year, "Made or received a digital payment (% age 15+)", "digital_payments"),
        gapminder_indicator(raw, reg, year, gm.format("internet_users"), "internet_users", "internet_users",
                            "World Bank WDI (ITU) via Gapminder", "% of population"),
        qs_indicators(raw, reg, year, unmatched),
        gdp_per_capita(raw, reg, year),
        wgi_indicator(raw, reg, year),
        doing_business(raw, reg, year),
        metro_population(raw, reg, year),
        *fixed,
    ]
    prov = pd.concat(parts, ignore_index=True)
    prov = prov[prov.indicator.isin(IND_BY_CODE)]
    order = {c: i for i, c in enumerate(IND_BY_CODE)}
    prov = prov.sort_values(["unit", "indicator"], key=lambda s: s.map(order) if s.name == "indicator" else s,
                            kind="mergesort").reset_index(drop=True)
    wide = prov.pivot(index="unit", columns="indicator", values="value")[list(IND_BY_CODE)]
    wide = cities[["code", "name", "country", "country_iso3", "region", "cn_region", "latitude", "longitude"]].merge(
        wide, left_on="code", right_index=True, how="left")
    return wide.sort_values("code").reset_index(drop=True), prov


def indicator_table() -> pd.DataFrame:
    return pd.DataFrame([i.__dict__ for i in INDICATORS])


def build_dataset(raw: Path) -> dict[str, pd.DataFrame]:
    """All shipped tables, keyed by file name."""
    return _build(Path(raw))[0]


def _build(raw: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """(tables, the raw files read — relative paths, sorted)."""
    global _READS
    if not (raw / "SOURCES.md").exists():
        raise DataError(f"{raw}: not a raw-sources folder (no SOURCES.md); pass --raw path/to/shared/data/raw")
    _READS = set()
    try:
        reg = Registry(raw)
        cities = city_table(raw, reg)
        unmatched = Unmatched()
        cov = city_covariates(raw, reg)
        forbes, forbes_un = forbes_indicators(raw, reg)
        gawc, gawc_un = gawc_indicator(raw, reg)
        fixed = [metro_gdp(raw, reg), air_connectivity(raw, cities), forbes, gawc, findex_use(raw, reg, cov)]
        tables: dict[str, pd.DataFrame] = {"cities.csv": cities, "indicators.csv": indicator_table()}
        for year in EDITIONS:
            wide, prov = build_edition(raw, reg, cities, year, unmatched, fixed)
            tables[f"fintech_hubs_{year}.csv"] = wide
            tables[f"provenance_{year}.csv"] = prov
            # edition-independent sources: their unmatched spellings belong to every edition
            unmatched.add(FORBES_FILE, year, forbes_un, "country_src", "city_src", "reason")
            unmatched.add(GAWC_FILE, year, gawc_un, "Country", "City", "reason")
            for src, part in cov[cov.hub.isna()].groupby("source_file"):
                unmatched.add(str(src), year, part, "country_iso2", "city", "reason")
        tables["unmatched.csv"] = unmatched.table()
        return tables, sorted(_READS)
    finally:
        _READS = None


def raw_hashes(raw: Path, files: Iterable[str]) -> dict[str, str]:
    """SHA-256 of each raw file the build read (``files``: paths relative to ``raw``)."""
    return {f: hashlib.sha256((raw / f).read_bytes()).hexdigest() for f in sorted(files)}


def write_dataset(raw: Path, out: Path) -> dict[str, pd.DataFrame]:
    """Build and write every table atomically into ``out`` (replaced as a whole, never half-written).
    ``build_info.json`` records the SHA-256 of the raw files the build read, and only those."""
    tables, read = _build(Path(raw))
    with atomic_dir(Path(out), "data build") as tmp:
        for name, t in tables.items():
            t.to_csv(tmp / name, index=False, lineterminator="\n", float_format=None)
        info = {"editions": list(EDITIONS), "raw_files_sha256": raw_hashes(Path(raw), read)}
        (tmp / "build_info.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return tables
