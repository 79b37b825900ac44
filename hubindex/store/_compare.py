"""Compare editions: per-city rank and score change, entries and exits, summary counts, group averages, history."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hubindex.errors import StoreError

__all__ = ["diff_editions", "diff_summary", "history"]

_GROUP_CANDIDATES = ("country", "country_name", "region", "subregion")


def _group_columns(e: Any) -> list[str]:
    skip = {"rank", "name", "score", "tier"}
    pillars = set(e.framework.get("codes", []))
    return [c for c in e.units.columns if c not in skip and c not in pillars and not c.startswith("rank_in_")]


def diff_editions(a: Any, b: Any) -> pd.DataFrame:
    """One row per unit in either edition, ordered by rank in ``b`` (then ``a``).

    Columns: ``unit, name, <groups>, rank_a, rank_b, rank_change`` (positive = moved up), ``score_a, score_b,
    score_change, tier_a, tier_b, status`` (``up``/``down``/``unchanged``/``entry``/``exit``) and, when both
    editions share them, the pillar score changes ``d_<pillar>``.
    """
    ua, ub = a.units, b.units
    units = list(dict.fromkeys([*ub.index, *ua.index]))
    out = pd.DataFrame(index=pd.Index(units, name="unit"))
    names = ub["name"].reindex(units).fillna(ua["name"].reindex(units))
    out["name"] = names
    for g in dict.fromkeys([*_group_columns(b), *_group_columns(a)]):
        vb = ub[g].reindex(units) if g in ub.columns else pd.Series(None, index=units, dtype=object)
        va = ua[g].reindex(units) if g in ua.columns else pd.Series(None, index=units, dtype=object)
        out[g] = vb.where(vb.notna(), va)
    out["rank_a"] = ua["rank"].reindex(units).astype(float)
    out["rank_b"] = ub["rank"].reindex(units).astype(float)
    out["rank_change"] = out["rank_a"] - out["rank_b"]
    out["score_a"] = ua["score"].reindex(units).astype(float)
    out["score_b"] = ub["score"].reindex(units).astype(float)
    out["score_change"] = out["score_b"] - out["score_a"]
    out["tier_a"] = ua["tier"].reindex(units) if "tier" in ua.columns else None
    out["tier_b"] = ub["tier"].reindex(units) if "tier" in ub.columns else None
    in_a, in_b = out["rank_a"].notna().to_numpy(), out["rank_b"].notna().to_numpy()
    rc = out["rank_change"].to_numpy()
    out["status"] = np.select(
        [in_b & ~in_a, in_a & ~in_b, rc > 0, rc < 0], ["entry", "exit", "up", "down"], default="unchanged")
    pa = [c for c in a.framework.get("codes", []) if c in ua.columns]
    for p in pa:
        if p in ub.columns:
            out[f"d_{p}"] = ub[p].reindex(units).astype(float) - ua[p].reindex(units).astype(float)
    out = out.reset_index()
    out["_k"] = out["rank_b"].fillna(np.inf)
    out["_k2"] = out["rank_a"].fillna(np.inf)
    return out.sort_values(["_k", "_k2", "unit"], kind="stable").drop(columns=["_k", "_k2"]).reset_index(drop=True)


def _gap(units: pd.DataFrame, k: int = 10) -> float:
    s = units.sort_values("rank", kind="stable")["score"].dropna().to_numpy()
    if len(s) < k:
        return float("nan")
    return float(s[0] - s[k - 1])


def diff_summary(a: Any, b: Any, d: pd.DataFrame | None = None, *, group: str | None = None) -> dict[str, Any]:
    """Counts up/unchanged/down, entries and exits, the gap between rank 1 and rank 10, and averages by region
    (or ``group``) and by tier (the tier in ``b``)."""
    d = diff_editions(a, b) if d is None else d
    counts = d["status"].value_counts()
    both = d[d["status"].isin(["up", "down", "unchanged"])]
    g = group or next((c for c in ("region", "subregion", "country") if c in d.columns), None)

    def averages(by: str) -> pd.DataFrame:
        if by not in d.columns:
            return pd.DataFrame()
        t = d.groupby(by, dropna=True).agg(
            n_a=("score_a", "count"), n_b=("score_b", "count"), score_a=("score_a", "mean"),
            score_b=("score_b", "mean"), rank_a=("rank_a", "mean"), rank_b=("rank_b", "mean"))
        t["score_change"] = t["score_b"] - t["score_a"]
        inner = both.groupby(by)["rank_change"].mean() if by in both.columns else None
        t["mean_rank_change"] = inner
        return t.sort_values("score_b", ascending=False)

    return {
        "a": a.ref, "b": b.ref, "n_a": int(d["rank_a"].notna().sum()), "n_b": int(d["rank_b"].notna().sum()),
        "up": int(counts.get("up", 0)), "unchanged": int(counts.get("unchanged", 0)),
        "down": int(counts.get("down", 0)),
        "entries": d.loc[d["status"] == "entry", "unit"].tolist(),
        "exits": d.loc[d["status"] == "exit", "unit"].tolist(),
        "gap_1_10_a": _gap(a.units), "gap_1_10_b": _gap(b.units),
        "mean_abs_rank_change": float(both["rank_change"].abs().mean()) if len(both) else float("nan"),
        "by_group": averages(g) if g else pd.DataFrame(), "group": g,
        "by_tier": averages("tier_b") if "tier_b" in d.columns and d["tier_b"].notna().any() else pd.DataFrame(),
    }


def history(store: Any, unit: str, *, kind: str | None = "edition") -> pd.DataFrame:
    """A unit's rank, score, tier and pillar scores in every edition (latest revision of each label, oldest
    first); editions where the unit is absent have a row with missing values and ``present = False``."""
    listing = store.list()
    if kind is not None:
        listing = listing[listing["kind"] == kind]
    rows = []
    found = False
    for label in listing["label"]:
        e = store.get(label)
        row: dict[str, Any] = {"label": e.label, "revision": e.revision, "vintage": e.vintage}
        if unit in e.units.index:
            found = True
            u = e.units.loc[unit]
            row |= {"present": True, "name": u["name"], "rank": float(u["rank"]), "score": float(u["score"]),
                    "tier": u.get("tier"), "n_units": len(e.units)}
            for p in e.framework.get("codes", []):
                if p in e.units.columns:
                    row[p] = float(u[p])
        else:
            row |= {"present": False, "n_units": len(e.units)}
        rows.append(row)
    if not found:
        raise StoreError(f"unit '{unit}' is in none of the editions {list(listing['label'])}")
    out = pd.DataFrame(rows)
    out["rank_change"] = -out["rank"].diff()
    out["score_change"] = out["score"].diff()
    return out
