"""City-level covariates: spreading a national value over a country's cities.

A national survey value (e.g. the Findex share of adults who paid in a shop with a mobile phone) is the same for
every city of a country. Where a source measures the *same kind of behaviour* city by city (a "city covariate"),
the national value is spread over the cities in proportion to it:

    V_city = min(hi, max(lo, V_country × C_city / C̄_country))

* ``C_city`` — the covariate of the city (e.g. PKU DFIIC payment sub-index of the prefecture city);
* ``C̄_country`` — the **simple (unweighted) mean** of the covariate over *all* the country's cities in the
  covariate source for the same year (all 337 DFIIC prefecture cities, not only the hubs): the "average city";
* ``[lo, hi]`` — the indicator's natural bounds (``[0, 100]`` for a share of adults); a value outside is capped to
  the bound and the cap is recorded in provenance.

A city exactly at the national average keeps the national value; a city 20 % above the average city gets 1.2×.
The simple mean is used because no source gives the population of all prefecture cities; since the large,
rich cities tend to have both high covariates and many people, the population-weighted mean would be higher, so
the simple mean overstates the modelled values of above-average cities (see docs/methodology.md).

Covariate files (besides the built-in PKU DFIIC adapter) are plain CSV files placed in
``<raw>/city_covariates/*.csv`` with the columns ``country_iso2, city, year, value, source`` — one row per city
and year, listing *every* city of the country that the source covers (``C̄`` is their mean). A country may have
one covariate source only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from hubindex.errors import DataError

__all__ = ["COVARIATE_COLUMNS", "spread_by_covariate", "read_covariate_csv", "covariate_means"]

#: Columns of a user covariate file (``<raw>/city_covariates/<name>.csv``).
COVARIATE_COLUMNS = ("country_iso2", "city", "year", "value", "source")


def spread_by_covariate(v_country: ArrayLike, c_city: ArrayLike, c_mean: ArrayLike, lo: float = 0.0,
                        hi: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Modelled city values and cap flags.

    ``V_city = clip(V_country × C_city / C̄_country, lo, hi)``; returns ``(V_city, capped)`` where ``capped`` is
    True where the unclipped value lay outside ``[lo, hi]``. Missing inputs (NaN) give NaN (not capped); a
    non-positive mean ``C̄ <= 0`` is a data error (a ratio to it is meaningless).
    """
    v = np.asarray(v_country, dtype=float)
    c = np.asarray(c_city, dtype=float)
    m = np.asarray(c_mean, dtype=float)
    if np.any(m[~np.isnan(m)] <= 0):
        raise DataError("city covariate: the country mean C̄ must be > 0 (the covariate is a ratio scale)")
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = v * c / m
    out = np.clip(raw, lo, hi)
    capped = ~np.isnan(raw) & ((raw < lo) | (raw > hi))
    return out, capped


def read_covariate_csv(path: Path) -> pd.DataFrame:
    """A user covariate file: columns ``country_iso2, city, year, value, source``; values > 0 (ratio scale)."""
    try:
        d = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the city covariate file ({e})") from None
    missing = [c for c in COVARIATE_COLUMNS if c not in d.columns]
    if missing:
        raise DataError(f"{path}: columns {missing} are missing; a city covariate file needs "
                        f"{', '.join(COVARIATE_COLUMNS)}")
    out = pd.DataFrame({"country_iso2": d.country_iso2.str.strip().str.upper(), "city": d.city.str.strip(),
                        "source": d.source.str.strip()})
    for col in ("year", "value"):
        num = pd.to_numeric(d[col].str.strip(), errors="coerce")
        bad = num.isna() | ((num <= 0) if col == "value" else False)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            want = "a number > 0" if col == "value" else "a year (integer)"
            raise DataError(f"{path}: row {i + 2}, column {col}: expected {want}, got {d[col].iloc[i]!r}")
        out[col] = num.astype(float) if col == "value" else num.astype(int)
    return out[list(COVARIATE_COLUMNS)]


def covariate_means(cov: pd.DataFrame) -> pd.Series:
    """C̄ per (country_iso2, year): the simple mean of ``value`` over every city of the source."""
    return cov.groupby(["country_iso2", "year"])["value"].mean()
