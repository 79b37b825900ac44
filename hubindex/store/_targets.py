"""City targets: what cities promised, and how they are doing against observations over editions.

A targets table (CSV) has one row per target or reported figure::

    kind, city, country_iso3, measure, relation, value, unit, deadline, year, source_title, source_publisher,
    source_date, quote, note

``kind`` is ``target`` (with a ``deadline``) or ``observation`` (a reported value for a ``year``). A target is
tracked against observations of the same city and measure: the table's own observation rows, and — when the
measure is an indicator of the index (its code, or mapped with ``measure_map``) — the city's raw value in every
edition (year = the edition's vintage). Status:

- ``met``: an observation in or before the deadline year satisfies the relation;
- ``missed``: an observation for the deadline year or later does not satisfy it;
- ``on track`` / ``off track``: the deadline is ahead and the straight line through the observations (at least
  two years) reaches / does not reach the target by the deadline;
- ``no data``: nothing to compare with — the note says why (the measure is not in the index data and no figure
  was reported; a qualitative goal; a single observation gives no trend). Nothing is guessed.

A reported "more than v" (relation ``>``/``>=`` on an observation) is a lower bound: it can prove a ``>=``
target met or a ``<=`` target missed, never the reverse (:func:`_decides`). Observations of the city's *other*
measures are listed with every target as context (``related_observations``; in the note of a target without
observations of its own, e.g. "no observation of this measure …; related observations:
financial_industry_added_value 119.7 bn CNY (2018)") and never used for its status.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.errors import DataError, where

__all__ = ["load_targets", "shipped_targets_path", "target_status", "TARGET_COLUMNS", "observations",
           "progress_pct"]

TARGET_COLUMNS = ("kind", "city", "country_iso3", "measure", "relation", "value", "unit", "deadline", "year",
                  "source_title", "source_publisher", "source_date", "quote", "note")
_REQUIRED = ("kind", "city", "measure", "relation", "value", "unit")
_RELATIONS = {">", ">=", "=", "~", "<", "<=", "status"}
ABOUT = 0.10  # '~' is met within 10 %


def shipped_targets_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "city_targets.csv"


def load_targets(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check a targets table (default: the shipped Hangzhou and Shanghai targets)."""
    p = Path(path) if path is not None else shipped_targets_path()
    if not p.exists():
        raise DataError(f"{p}: targets file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder; expected a targets CSV file")
    from hubindex.io import csv_record_lines, parse_numbers, reader_errors

    with reader_errors(p, "target"):
        lines = csv_record_lines(p)  # a short row (a file cut mid-row) is refused, not padded with blanks
        t = pd.read_csv(p, dtype=str, keep_default_na=False)
    if len(lines) != len(t):
        lines = np.arange(len(t)) + 2
    t.columns = [c.strip() for c in t.columns]
    missing = [c for c in _REQUIRED if c not in t.columns]
    if missing:
        raise DataError(f"{p}: missing column(s) {missing}; a targets table needs {list(_REQUIRED)}")
    if "source" in t.columns and "source_title" not in t.columns:
        t["source_title"] = t["source"]
    for c in TARGET_COLUMNS:
        if c not in t.columns:
            t[c] = ""
    t["kind"] = t["kind"].str.strip().replace("", "target")
    values = np.full(len(t), np.nan)
    for i, r in t.iterrows():
        k = int(str(i))
        line = int(lines[k])
        if r["kind"] not in ("target", "observation"):
            raise DataError(f"{where(p, line, 'kind')}expected 'target' or 'observation', got {r['kind']!r}")
        if r["relation"].strip() not in _RELATIONS:
            raise DataError(f"{where(p, line, 'relation')}expected one of {sorted(_RELATIONS)}, got {r['relation']!r}")
        if r["relation"].strip() != "status":
            # strictly: '3,5' or '1,234' is refused with a hint (it used to be read as 35 / 1234), as are inf
            # and an empty value
            v, bad, why = parse_numbers(np.array([r["value"]], dtype=object))
            if bad is not None or np.isnan(v[0]):
                raise DataError(f"{where(p, line, 'value')}{why or 'expected a number, got an empty cell'}")
            values[k] = v[0]
        else:  # a qualitative goal: a value, if any, is kept when it is a number and never used in a status
            v, bad, _ = parse_numbers(np.array([r["value"]], dtype=object))
            values[k] = np.nan if bad is not None else v[0]
        col = "deadline" if r["kind"] == "target" else "year"
        if r[col].strip() and not r[col].strip().lstrip("-").isdigit():
            raise DataError(f"{where(p, line, col)}expected a year, got {r[col]!r}")
        if r["kind"] == "target" and not r["deadline"].strip():
            raise DataError(f"{where(p, line, 'deadline')}a target needs a deadline year")
    out = t[list(TARGET_COLUMNS)].copy()
    out["relation"] = out["relation"].str.strip()
    out["value"] = values
    for c in ("deadline", "year"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    out.attrs["path"] = str(p)
    return out


def _satisfies(value: float, relation: str, target: float) -> bool:
    if relation == ">":
        return value > target
    if relation == ">=":
        return value >= target
    if relation == "<":
        return value < target
    if relation == "<=":
        return value <= target
    if relation == "=":
        return bool(np.isclose(value, target))
    if relation == "~":
        return abs(value - target) <= ABOUT * abs(target)
    return False


def progress_pct(value: float, relation: str, target: float) -> float:
    """Progress towards a target in % of it: 100·value/target for ``>``, ``>=``, ``=``, ``~`` (more is
    better), 100·target/value for ``<``, ``<=`` (less is better); NaN for a qualitative goal or a zero
    denominator. 100 or more means the value is at or past the target."""
    if relation in (">", ">=", "=", "~"):
        num, den = value, target
    elif relation in ("<", "<="):
        num, den = target, value
    else:
        return float("nan")
    return float("nan") if den == 0 or np.isnan(num) or np.isnan(den) else 100.0 * num / den


def _unit_of(city: str, country: str, units: pd.DataFrame) -> str | None:
    """The unit code of a city (by code, or by name, with the country to tell namesakes apart)."""
    if city in units.index:
        return city
    name = units["name"].astype(str).str.lower()
    hits = list(units.index[name == city.lower()])
    if len(hits) > 1 and country:
        for col in ("country", "country_iso3"):
            if col in units.columns:
                hits = [u for u in hits if str(units.loc[u, col]).upper() == country.upper()]
                break
    return str(hits[0]) if len(hits) else None


def observations(targets: pd.DataFrame, store: Any = None, *, measure_map: Mapping[str, str] | None = None,
                 city: str | None = None) -> pd.DataFrame:
    """Every observation of the targets table's cities: the table's own ``observation`` rows, and the cities'
    raw values in every edition of the store for the measures they have targets on (when the measure is an
    indicator of the index, by code or through ``measure_map``; year = the edition's vintage).

    Columns: city, measure, year, value, relation (``=``; ``>``/``>=`` when the source says "more than", i.e. a
    lower bound; ``<``/``<=`` an upper bound; ``~`` about), unit, source, targeted (a target of the same city has
    this measure). ``city``: only this city (case-insensitive)."""
    cols = ["city", "measure", "year", "value", "relation", "unit", "source", "targeted"]
    t = targets
    if city is not None:
        t = t[t["city"].astype(str).str.lower() == city.lower()]
    rows = []
    for _, r in t[t["kind"] == "observation"].iterrows():
        rows.append({"city": r["city"], "measure": r["measure"], "year": r["year"], "value": r["value"],
                     "relation": r["relation"], "unit": r["unit"],
                     "source": f"{r['source_publisher']}, {r['source_date']}".strip(", ")})
    wanted = t[t["kind"] == "target"][["city", "country_iso3", "measure"]].drop_duplicates()
    if store is not None and len(wanted):
        mm = dict(measure_map or {})
        listing = store.list()
        listing = listing[listing["kind"] == "edition"]
        for label in listing["label"]:
            e = store.get(label)
            if e.vintage is None:
                continue
            units_of: dict[str, str | None] | None = None
            for _, w in wanted.iterrows():
                code = mm.get(w["measure"], w["measure"])
                if code not in e.raw.columns:
                    continue
                u = _unit_of(w["city"], w["country_iso3"], e.units)
                if u is None or u not in e.raw.index:
                    continue
                v = e.raw.loc[u, code]
                if pd.notna(v):
                    if units_of is None:
                        units_of = {n.code: n.unit for n in e.spec.framework}
                    rows.append({"city": w["city"], "measure": w["measure"], "year": e.vintage, "value": float(v),
                                 "relation": "=", "unit": units_of.get(code) or "",
                                 "source": f"edition {e.ref} ({code})"})
    out = pd.DataFrame(rows, columns=cols[:-1])
    keys = {(str(c).lower(), str(m)) for c, m in zip(wanted["city"], wanted["measure"], strict=True)}
    out["targeted"] = [(str(c).lower(), str(m)) in keys for c, m in zip(out["city"], out["measure"], strict=True)]
    return out.sort_values(["city", "measure", "year"], kind="stable", ignore_index=True)


def _decides(value: float, obs_rel: str, relation: str, target: float) -> bool | None:
    """Does an observation decide the target? True (satisfied), False (not), None (cannot tell).

    An exact observation (``=``, ``~``) decides by :func:`_satisfies`. A lower bound ("more than v", ``>``/``>=``)
    proves a ``>``/``>=`` target met when v itself satisfies it, and a ``<``/``<=`` target not met when v
    violates it; otherwise it cannot tell. An upper bound (``<``/``<=``) likewise, mirrored."""
    if obs_rel in ("=", "~"):
        return _satisfies(value, relation, target)
    ok = _satisfies(value, relation, target)
    if obs_rel in (">", ">="):
        if relation in (">", ">="):
            return True if ok else None
        if relation in ("<", "<="):
            return False if not ok else None
    if obs_rel in ("<", "<="):
        if relation in ("<", "<="):
            return True if ok else None
        if relation in (">", ">="):
            return False if not ok else None
    return None


def _describe(o: pd.DataFrame) -> str:
    """'financial_industry_added_value 119.7 bn CNY (2018); …' (``>`` observations read 'more than')."""
    words = {">": "more than ", ">=": "at least ", "<": "less than ", "<=": "at most ", "~": "about "}
    parts = []
    for _, r in o.iterrows():
        y = "" if pd.isna(r["year"]) else f" ({int(r['year'])})"
        u = f" {r['unit']}" if str(r["unit"] or "") else ""
        parts.append(f"{r['measure']} {words.get(str(r['relation']), '')}{float(r['value']):g}{u}{y}")
    return "; ".join(parts)


def target_status(targets: pd.DataFrame | str | Path | None = None, store: Any = None, *,
                  as_of: int | None = None, measure_map: Mapping[str, str] | None = None,
                  city: str | None = None) -> pd.DataFrame:
    """Status of every target: met / missed / on track / off track / no data, with the evidence and a note.

    A target is judged only on observations of its own city and measure (``observations``: the count, and
    ``latest_*``). The city's observations of *other* measures are listed as context in
    ``related_observations`` (records: measure, year, value, relation, unit, source) and, when the target has
    no observation of its own, in the note — never used for the status."""
    t = targets if isinstance(targets, pd.DataFrame) else load_targets(targets)
    obs = observations(t, store, measure_map=measure_map, city=city)
    obs = obs.dropna(subset=["value"])
    index_codes: set[str] = set()
    if store is not None and len(store):
        e = store.get(store.labels()[-1])
        index_codes = set(e.raw.columns)
    if as_of is None:
        years = [int(y) for y in obs["year"].dropna()] if len(obs) else []
        as_of = max([_dt.date.today().year, *years])
    mm = dict(measure_map or {})
    ocity = obs["city"].astype(str).str.lower()
    rows = []
    for _, r in t[t["kind"] == "target"].iterrows():
        if city is not None and r["city"].lower() != city.lower():
            continue
        mine = obs[ocity == str(r["city"]).lower()]
        o = mine[mine["measure"] == r["measure"]].dropna(subset=["year"]).sort_values("year", kind="stable")
        rel = mine[mine["measure"] != r["measure"]]
        related = [{"measure": x["measure"], "year": None if pd.isna(x["year"]) else int(x["year"]),
                    "value": float(x["value"]), "relation": x["relation"], "unit": x["unit"], "source": x["source"]}
                   for _, x in rel.iterrows()]
        context = (f"; related observations: {_describe(rel)}" if len(rel)
                   else "; no related observations of this city either")
        deadline = int(r["deadline"])
        code = mm.get(r["measure"], r["measure"])
        in_index = code in index_codes
        base = {"city": r["city"], "measure": r["measure"], "relation": r["relation"], "target": r["value"],
                "unit": r["unit"], "deadline": deadline, "source": f"{r['source_publisher']}, {r['source_date']}",
                "quote": r["quote"], "in_index_data": in_index, "n_observations": len(o),
                "observations": _describe(o), "related_observations": related}
        latest = o.iloc[-1] if len(o) else None
        ev = {"latest_year": None if latest is None else int(latest["year"]),
              "latest_value": None if latest is None else float(latest["value"]),
              "observed_by": None if latest is None else latest["source"],
              "progress_pct": np.nan if latest is None else progress_pct(float(latest["value"]), r["relation"],
                                                                          float(r["value"]))}
        if r["relation"] == "status":
            rows.append(base | ev | {"status": "no data",
                                     "note": "qualitative goal: needs an assessment, not a number" + context})
            continue
        if not len(o):
            why = ("the measure is in the index data but this city has no value in any edition" if in_index else
                   "no observation of this measure (not an indicator of the index; no figure reported)")
            rows.append(base | ev | {"status": "no data", "note": why + context})
            continue
        dec = [_decides(float(v), str(orel), r["relation"], float(r["value"]))
               for v, orel in zip(o["value"], o["relation"], strict=True)]
        o = o.assign(_dec=dec)
        upto = o[(o["year"] <= deadline) & (o["_dec"] == True)]  # noqa: E712 - object column of True/False/None
        if len(upto):
            y = int(upto["year"].iloc[0])
            rows.append(base | ev | {"status": "met", "note": f"met in {y}"})
            continue
        after = o[(o["year"] >= deadline) & (o["_dec"] == False)]  # noqa: E712
        if as_of > deadline or len(after):
            if len(after):
                first = after.iloc[0]
                rows.append(base | ev | {"status": "missed",
                                         "note": f"{_describe(after.iloc[:1])} (by {first['source']})"})
            else:
                late = o[(o["year"] > deadline) & (o["_dec"] == True)]  # noqa: E712
                note = (f"met in {int(late['year'].iloc[0])}, after the deadline {deadline}; no observation "
                        f"decides whether it was met by {deadline}" if len(late) else
                        f"deadline {deadline} passed; no observation for {deadline} or later decides it")
                rows.append(base | ev | {"status": "no data", "note": note})
            continue
        exact = o[o["relation"].isin(["=", "~"])]
        if exact["year"].nunique() < 2:
            rows.append(base | ev | {"status": "no data",
                                     "note": f"{len(o)} observation(s) so far ({_describe(o)}), not yet met; a "
                                             "trend needs exact values for two years"})
            continue
        slope, icpt = np.polyfit(exact["year"].astype(float), exact["value"].astype(float), 1)
        proj = slope * deadline + icpt
        ok = _satisfies(proj, r["relation"], float(r["value"]))
        rows.append(base | ev | {"status": "on track" if ok else "off track",
                                 "note": f"linear trend projects {proj:g} by {deadline}",
                                 "projected": proj})
    cols = ["city", "measure", "relation", "target", "unit", "deadline", "status", "note", "latest_year",
            "latest_value", "progress_pct", "observed_by", "n_observations", "observations", "in_index_data",
            "source", "quote", "related_observations"]
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=cols)
    return out[[c for c in cols if c in out.columns] + [c for c in out.columns if c not in cols]]
