"""The shipped fintech-hubs dataset: registry, editions 2021-2025, provenance, and the specs built on them.

``load_edition(2025)`` returns the wide table (one row per city); ``provenance(2025)`` one row per value with its
source; ``edition_spec(2024)`` the default index spec pointed at that edition's data. The tables are regenerated
from the raw sources by ``hubindex data build --raw PATH`` (see :mod:`hubindex.datasets.build`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hubindex.errors import DataError

if TYPE_CHECKING:  # pandas loads on first read: `hubindex data show` and `--help` stay fast
    import pandas as pd

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Dataset editions shipped (one per CB Insights unicorn-list vintage).
EDITIONS: tuple[int, ...] = (2021, 2022, 2023, 2024, 2025)
LATEST: int = EDITIONS[-1]

__all__ = ["DATA_DIR", "EDITIONS", "LATEST", "cities", "edition_path", "edition_spec", "indicators",
           "load_edition", "provenance", "unmatched"]


def _check(year: int) -> int:
    if int(year) not in EDITIONS:
        raise DataError(f"no dataset edition {year}: editions are {', '.join(map(str, EDITIONS))}")
    return int(year)


def _read(name: str) -> pd.DataFrame:
    p = DATA_DIR / name
    if not p.exists():
        raise DataError(f"{p}: shipped dataset file is missing; rebuild it with `hubindex data build --raw PATH`")
    import pandas as pd

    return pd.read_csv(p, keep_default_na=False, na_values=[""])


def edition_path(year: int) -> Path:
    """The CSV of one dataset edition."""
    return DATA_DIR / f"fintech_hubs_{_check(year)}.csv"


def load_edition(year: int = LATEST) -> pd.DataFrame:
    """One edition: code, name, country, country_iso3, region, cn_region, latitude, longitude, one column per indicator."""
    return _read(edition_path(year).name)


def provenance(year: int = LATEST) -> pd.DataFrame:
    """One row per (city, indicator): value, source, file, source date, original value/unit, scope, derivation."""
    return _read(f"provenance_{_check(year)}.csv")


def cities() -> pd.DataFrame:
    """The hub registry with country, region and coordinates."""
    return _read("cities.csv")


def indicators() -> pd.DataFrame:
    """Indicator metadata: pillar, sub-pillar, unit, direction, scope, source, licence, definition."""
    return _read("indicators.csv")


def unmatched() -> pd.DataFrame:
    """Source spellings of cities that did not resolve to a hub, with the reason and row counts."""
    return _read("unmatched.csv")


def edition_spec(year: int = LATEST):  # type: ignore[no-untyped-def]  # -> IndexSpec (lazy import)
    """The default index spec (``hubindex/specs/default.yaml``) pointed at dataset edition ``year``."""
    from hubindex.api import default_spec_path
    from hubindex.spec import load_spec, spec_from_dict

    base = load_spec(default_spec_path())
    d = base.model_dump(mode="json", exclude={"base_dir"})
    d["data"]["path"] = str(edition_path(year))
    d["version"] = str(_check(year))
    d["name"] = f"{base.name} — edition {year}"
    return spec_from_dict(d, base_dir=default_spec_path().parent, source=f"default spec, edition {year}")
