"""A read-only, JSON-ready view of a built index, computed once at start-up, plus re-scoring with new weights.

Everything the HTTP API and the browser pages show comes from :class:`IndexView`. Re-scoring
(:meth:`IndexView.rescore`) re-aggregates the *normalised* indicator table with the engine's own aggregators
(``hubindex.engine._aggregate``) and ranks by the engine's ``rank_desc`` / ``group_ranks`` / tier rules, so a
re-weighted ranking equals a rebuild of the spec with those weights (tested); the work is done by
:mod:`hubindex.web._rescore`, with everything that does not depend on the weights computed once per view.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex._json import jsonable
from hubindex.engine._rank import group_ranks
from hubindex.engine.result import Result
from hubindex.errors import DataError, HubindexError, where
from hubindex.web._rescore import RANK_DECIMALS, Rescorer

__all__ = ["IndexView", "jsonable", "read_survey_provenance", "SURVEY_PROVENANCE_COLUMNS"]

_LAT = ("lat", "latitude", "Latitude", "LAT")
_LON = ("lon", "lng", "long", "longitude", "Longitude", "LON")
_COUNTRY = ("country", "country_name", "Country", "nation")
_REGION = ("region", "Region", "continent", "EurAsia_group")


SURVEY_PROVENANCE_COLUMNS = ("unit", "indicator", "value", "se", "ci_low", "ci_high", "n", "deff", "source",
                             "weighting")
_SURVEY_NUMERIC = ("value", "se", "ci_low", "ci_high", "n", "deff")


def read_survey_provenance(path: str | Path) -> pd.DataFrame:
    """Read a ``hubindex survey estimate`` provenance file (``indicator_provenance.csv``: unit, indicator,
    value, se, ci_low, ci_high, n, deff, source, weighting; values in the indicator's unit, e.g. percent).

    Empty cells (suppressed estimates) stay missing. A missing file or column, a non-numeric number or an
    interval with ci_low > ci_high is a :class:`DataError` naming the file, row and column."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: survey provenance file not found")
    try:
        df = pd.read_csv(p, dtype={"unit": str, "indicator": str}, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise DataError(f"{p}: not a readable CSV file ({e})") from None
    missing = [c for c in SURVEY_PROVENANCE_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{where(p, column=missing[0])}missing: a survey provenance file needs the columns "
                        f"{', '.join(SURVEY_PROVENANCE_COLUMNS)} (as written by `hubindex survey estimate`)")
    for c in _SURVEY_NUMERIC:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = num.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{where(p, i + 2, c)}{df[c].iloc[i]!r} is not a number")
        df[c] = num
    inverted = df["ci_low"] > df["ci_high"]
    if inverted.any():
        i = int(np.flatnonzero(inverted.to_numpy())[0])
        raise DataError(f"{where(p, i + 2, 'ci_low')}ci_low {df['ci_low'].iloc[i]} is above ci_high "
                        f"{df['ci_high'].iloc[i]}")
    for c in ("unit", "indicator"):
        if df[c].isna().any():
            i = int(np.flatnonzero(df[c].isna().to_numpy())[0])
            raise DataError(f"{where(p, i + 2, c)}empty")
    df = df.rename(columns={"value": "estimate"})
    df["survey"] = True
    return df


def _year_of(x: Any) -> int | None:
    """The year in a date-like value ('2025-10-07', '2021', 'QS 2022', 2021.0): the first 19xx/20xx number;
    ``None`` when there is none."""
    if x is None:
        return None
    m = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", str(x))
    return int(m.group(1)) if m else None


def _col(values: Any) -> list[Any]:
    return [jsonable(v) for v in values]


def _rank_int(x: Any) -> int | None:
    v = jsonable(x)
    return None if v is None else int(v)


@dataclass
class IndexView:
    """JSON payloads of one built index (see module doc). Build with :meth:`from_result`."""

    result: Result
    meta: dict[str, Any] = field(default_factory=dict)
    coords: dict[str, tuple[float, float]] = field(default_factory=dict)
    provenance: pd.DataFrame | None = None
    #: per-unit extra ranking columns (rank interval, change vs the previous edition), set by the app
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)

    # ------------------------------------------------------------------------------------------------
    @classmethod
    def from_result(cls, result: Result, *, citation: str | None = None, licence: str | None = None,
                    survey_provenance: str | Path | None = None) -> IndexView:
        """The view of ``result``; ``survey_provenance``: a ``hubindex survey estimate`` provenance file
        (``indicator_provenance.csv``; default: one found next to a data file)."""
        spec = result.spec
        rr = result.run_record
        version = getattr(spec, "version", None)
        from hubindex.publish.tables import display_name

        name = display_name(result)  # the name for readers (no internal labels), used by every page and download
        spec_hash = rr.get("spec_hash", "")
        cite = citation or (f"{name}{f' ({version})' if version else ''}. Built with hubindex "
                            f"{rr.get('hubindex_version', '')}, spec {spec_hash[:12]}.")
        meta = {
            "name": name,
            "description": getattr(spec, "description", None),
            "version": version,
            "spec_hash": spec_hash,
            "hubindex_version": rr.get("hubindex_version"),
            "n_units": len(result.units),
            "excluded_units": list(result.excluded),
            "citation": cite,
            "licence": licence or "Scores: CC BY 4.0; each indicator keeps its source's licence (see Methodology).",
        }
        v = cls(result=result, meta=meta)
        v.coords = v._find_coords()
        v.provenance = v._find_provenance(survey_provenance)
        return v

    # -- helpers ----------------------------------------------------------------------------------------
    @property
    def fw(self):  # type: ignore[no-untyped-def]
        return self.result.framework

    def _node_meta(self) -> dict[str, Any]:
        return {n.code: n for n in getattr(self.result.spec, "framework", [])}

    def _raw_table(self) -> pd.DataFrame | None:
        """The spec's data file(s) as read from disk (for coordinates and context columns), or None."""
        spec = self.result.spec
        data = getattr(spec, "data", None)
        if data is None:
            return None
        try:
            from hubindex.io import read_table

            frames = [read_table(spec.resolve(p), data.sheet, (data.unit_code,)) for p in data.paths]
        except Exception:  # noqa: BLE001 - optional context only; the build already validated the data
            return None
        df = frames[0]
        for f in frames[1:]:
            df = df.merge(f, on=data.unit_code, how="outer", suffixes=("", "_dup"))
        return df.set_index(data.unit_code)

    def _find_coords(self) -> dict[str, tuple[float, float]]:
        """Latitude/longitude per unit from a lat/lon column pair in the groups or the data file."""
        sources = [self.result.groups]
        raw = self._raw_table()
        if raw is not None:
            sources.append(raw)
        for df in sources:
            lat = next((c for c in _LAT if c in df.columns), None)
            lon = next((c for c in _LON if c in df.columns), None)
            if lat and lon:
                la = pd.to_numeric(df[lat], errors="coerce")
                lo = pd.to_numeric(df[lon], errors="coerce")
                out = {}
                for u in self.result.units:
                    if u in df.index and pd.notna(la.get(u)) and pd.notna(lo.get(u)):
                        out[str(u)] = (float(la[u]), float(lo[u]))
                if out:
                    return out
        return {}

    def _find_provenance(self, survey: str | Path | None = None) -> pd.DataFrame | None:
        """Per-cell provenance (unit, indicator, source, year, …): the dataset's ``provenance.csv`` (or
        ``provenance_<edition>.csv``) next to a data file, plus survey provenance — ``survey`` (a
        ``hubindex survey estimate`` output ``indicator_provenance.csv``), else any ``indicator_provenance.csv``
        next to a data file. Survey rows carry value, se, ci_low, ci_high, n, deff, source, weighting; where a
        cell has both, the survey fields are added to the dataset's record."""
        spec = self.result.spec
        data = getattr(spec, "data", None)
        frames: list[pd.DataFrame] = []
        paths = [Path(spec.resolve(rel)) for rel in data.paths] if data is not None else []
        for p in paths:
            assert data is not None
            cands = [p.with_name("provenance.csv")]
            if p.stem.startswith("fintech_hubs_"):
                cands.insert(0, p.with_name(f"provenance_{p.stem.removeprefix('fintech_hubs_')}.csv"))
            for c in cands:
                if c.exists():
                    try:
                        df = pd.read_csv(c, keep_default_na=False, na_values=[""])
                    except Exception:  # noqa: BLE001 - provenance is optional context
                        continue
                    ucol = next((k for k in ("unit", "uCode", "code", "city_code", data.unit_code) if k in df), None)
                    icol = next((k for k in ("indicator", "iCode", "variable", "code") if k in df and k != ucol),
                                None)
                    if ucol and icol:
                        frames.append(df.rename(columns={ucol: "unit", icol: "indicator"}))
                        break
            if frames:
                break
        if survey is not None:
            sv = read_survey_provenance(survey)
            fw = self.result.framework
            hit = sv["unit"].isin(self.result.units) & sv["indicator"].isin(fw.indicators)
            if not hit.any():
                raise DataError(f"{survey}: none of its unit × indicator pairs is in the index (it has units "
                                f"{sorted(set(sv['unit']))[:5]} and indicators {sorted(set(sv['indicator']))[:5]}; the "
                                f"index has indicators {list(fw.indicators)[:5]}…)")
            frames.append(sv)
        else:
            for p in paths:
                c = p.with_name("indicator_provenance.csv")
                if c.exists():
                    try:
                        frames.append(read_survey_provenance(c))
                    except HubindexError:  # auto-detected, not asked for: a malformed file is ignored
                        continue
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True, sort=False)

    def group_roles(self) -> dict[str, str | None]:
        g = self.result.groups.columns
        return {"country": next((c for c in _COUNTRY if c in g), None),
                "region": next((c for c in _REGION if c in g), None)}

    # -- payloads -------------------------------------------------------------------------------------
    def units(self) -> list[dict[str, Any]]:
        """One record per unit: code, name, groups, coordinates."""
        r = self.result
        out = []
        for u in r.units:
            rec: dict[str, Any] = {"unit": u, "name": jsonable(r.unit_names.get(u)) or u}
            for g in r.groups.columns:
                rec[g] = jsonable(r.groups.at[u, g])
            if u in self.coords:
                rec["lat"], rec["lon"] = self.coords[u]
            out.append(rec)
        return out

    def framework(self) -> list[dict[str, Any]]:
        """Cached :meth:`_framework` (the tree does not change while a view lives)."""
        if "_fw" not in self.__dict__:
            self.__dict__["_fw"] = self._framework()
        return self.__dict__["_fw"]

    def _framework(self) -> list[dict[str, Any]]:
        """Nodes in tree order with parent, level, weight as given, weight rescaled among siblings, effective
        weight in the index (product of rescaled weights up the tree), and the spec's metadata."""
        fw = self.fw
        w = self.result.weights
        meta = self._node_meta()
        raw = self.result.datasets.get("Raw")
        out = []
        for i, c in enumerate(fw.codes):
            n = meta.get(c)
            rec: dict[str, Any] = {
                "code": c, "name": fw.names[i], "parent": fw.parent_of(c), "level": int(fw.level[i]),
                "is_indicator": bool(fw.is_leaf[i]), "direction": int(fw.direction[i]),
                "weight": jsonable(w.at[c, "weight"]) if c in w.index else jsonable(fw.weight[i]),
                "rescaled": jsonable(w.at[c, "rescaled"]) if c in w.index else None,
                "effective": jsonable(w.at[c, "effective"]) if c in w.index else None,
                "children": list(fw.children(c)),
            }
            for k in ("unit", "source", "description", "target"):
                rec[k] = jsonable(getattr(n, k, None)) if n is not None else None
            if fw.is_leaf[i] and raw is not None and c in raw.columns:
                rec["coverage"] = jsonable(float(raw[c].notna().mean()))
            out.append(rec)
        return out

    def indicators(self) -> list[dict[str, Any]]:
        return [n for n in self.framework() if n["is_indicator"]]

    def aggregation(self) -> dict[str, Any]:
        """The aggregation rule: default method, per-level overrides, minimum availability."""
        step = self.result.spec.step("aggregate") if hasattr(self.result.spec, "step") else None
        return {
            "method": getattr(step, "method", "arithmetic"),
            "by_level": {str(k): v for k, v in (getattr(step, "by_level", {}) or {}).items()},
            "min_availability": getattr(step, "min_availability", None),
            "weights_use": getattr(getattr(self.result.spec, "weights", None), "use", "spec"),
        }

    def tiers_spec(self) -> dict[str, Any] | None:
        t = getattr(self.result.spec, "tiers", None)
        return None if t is None else {"by": t.by, "cutoffs": list(t.cutoffs), "labels": list(t.labels)}

    def table(self, kind: str) -> dict[str, Any]:
        """``scores`` or ``ranks`` as {units, columns, data (rows)}; ``normalised``/``raw`` from the datasets."""
        r = self.result
        df = {"scores": r.scores, "ranks": r.ranks}.get(kind)
        if df is None:
            df = r.datasets[{"normalised": "Normalised", "raw": "Raw"}[kind]]
        df = df.reindex(index=r.units)
        return {"units": list(df.index), "columns": list(df.columns),
                "data": [_col(row) for row in df.to_numpy(dtype=object)]}

    def ranking(self) -> list[dict[str, Any]]:
        """The published ranking: rank, unit, name, groups, score, tier, pillar scores/ranks, sub-ranks."""
        r = self.result
        t = r.ranking()
        pillars = r.pillars()
        out = []
        for rec in t.to_dict(orient="records"):
            u = rec["unit"]
            row: dict[str, Any] = {str(k): jsonable(v) for k, v in rec.items()}
            row["rank"] = _rank_int(rec["rank"])
            for p in pillars:
                row[f"rank_{p}"] = _rank_int(r.ranks.at[u, p])
            for k in r.subranks.columns:
                row[k] = _rank_int(rec[k])
            row.update(self.extra.get(str(u), {}))
            out.append(row)
        return out

    def profile(self, unit: str, k: int = 5) -> dict[str, Any]:
        """One unit: every node's score and rank, raw value, imputed/treated flags, source; strengths and
        weaknesses = the ``k`` indicators with the best / worst rank (ties broken by higher / lower score);
        position in its groups; the ±2 neighbours in the ranking; the 5 most similar units (Euclidean
        distance between pillar-score vectors)."""
        r = self.result
        if unit not in r.scores.index:
            raise KeyError(unit)
        fw = self.fw
        meta = {n["code"]: n for n in self.framework()}
        raw = r.datasets.get("Raw")
        n_units = len(r.units)
        if "_of" not in self.__dict__:
            self.__dict__["_of"] = r.ranks.notna().sum().to_dict()
        of = self.__dict__["_of"]
        sc, rk = r.scores.loc[unit], r.ranks.loc[unit]  # one row each, then plain lookups
        raw_row = raw.loc[unit] if raw is not None else None
        imp = r.imputed.loc[unit] if unit in r.imputed.index else None
        flags = r.treat_flags.loc[unit] if unit in r.treat_flags.index else None
        nodes = []
        for c in fw.codes:
            m = meta[c]
            rec = {"code": c, "name": m["name"], "parent": m["parent"], "level": m["level"],
                   "is_indicator": m["is_indicator"], "score": jsonable(sc[c]), "rank": _rank_int(rk[c]),
                   "of": int(of[c]), "effective_weight": m["effective"]}
            if m["is_indicator"]:
                rec["raw"] = jsonable(raw_row[c]) if raw_row is not None and c in raw_row.index else None
                rec["imputed"] = bool(imp[c]) if imp is not None and c in imp.index else False
                flag = flags[c] if flags is not None and c in flags.index else ""
                rec["treated"] = jsonable(flag) or None
                rec["unit"] = m["unit"]
                rec["source"] = m["source"]
                rec["direction"] = m["direction"]
                prov = self._cell_provenance(unit, c)
                if prov:
                    rec["provenance"] = prov
            nodes.append(rec)
        inds = [n for n in nodes if n["is_indicator"] and n["rank"] is not None]
        best = sorted(inds, key=lambda n: (n["rank"], -(n["score"] or 0)))
        worst = sorted(inds, key=lambda n: (-n["rank"], n["score"] or 0))
        idx = r.index_code
        if "_order" not in self.__dict__:
            self.__dict__["_order"] = r.ranking()["unit"].tolist()
        order = self.__dict__["_order"]
        pos = order.index(unit)
        pil = r.scores[r.pillars()].to_numpy(dtype=float)
        me = r.scores.loc[unit, r.pillars()].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            d = np.sqrt(np.nansum((pil - me) ** 2, axis=1))
        d[r.units.index(unit)] = np.inf
        similar = [r.units[i] for i in np.argsort(d, kind="stable")[:5] if np.isfinite(d[i])]
        groups = {}
        for g in r.groups.columns:
            label = jsonable(r.groups.at[unit, g])
            n_members = int((r.groups[g] == r.groups.at[unit, g]).sum()) if label is not None else 0
            col = f"rank_in_{g}"
            if col in r.subranks.columns:
                grank = r.subranks.at[unit, col]
            else:  # not a spec sub-ranking: rank by index score within the group all the same
                gr = group_ranks(np.round(r.scores[idx].to_numpy(dtype=float), RANK_DECIMALS),
                                 r.groups[g].to_numpy(dtype=object))
                grank = gr[r.units.index(unit)]
            groups[g] = {"label": label, "n": n_members, "rank": _rank_int(grank)}
        return {
            "unit": unit, "name": jsonable(r.unit_names.get(unit)) or unit,
            "groups": groups, "coords": self.coords.get(unit),
            "score": jsonable(r.scores.at[unit, idx]), "rank": _rank_int(r.ranks.at[unit, idx]), "of": n_units,
            "tier": jsonable(r.tiers.get(unit)) if r.tiers is not None else None,
            "nodes": nodes,
            "strengths": [n["code"] for n in best[:k]],
            "weaknesses": [n["code"] for n in worst[:k]],
            "neighbours": order[max(0, pos - 2): pos + 3],
            "similar": similar,
            "n_imputed": int(sum(1 for n in nodes if n.get("imputed"))),
            "n_country_level": int(sum(1 for n in nodes if (n.get("provenance") or {}).get("scope") == "country")),
            **self.extra.get(unit, {}),
        }

    def _cell_provenance(self, unit: str, code: str) -> dict[str, Any] | None:
        """The provenance record of one value: source, source_file, source_date, year (of the source date),
        original value and unit, scope (``city`` or ``country``: a national figure standing in for the city)
        and derivation; for a survey estimate also value, se, ci_low, ci_high, n, deff, weighting and
        ``survey: true``; ``None`` when the dataset ships no provenance for it."""
        if self.provenance is None:
            return None
        if "_prov" not in self.__dict__:
            p = self.provenance
            recs: dict[tuple[str, str], dict[str, Any]] = {}
            cols = [c for c in p.columns if c not in ("unit", "indicator")]
            for row in p.itertuples(index=False):
                d = dict(zip(p.columns, row, strict=True))
                key = (str(d["unit"]), str(d["indicator"]))
                rec = {c: jsonable(d[c]) for c in cols}
                if key in recs:  # a second table for the same cell (survey): add its fields, keep the first's
                    recs[key].update({c: v for c, v in rec.items() if v is not None and recs[key].get(c) is None})
                    if rec.get("survey"):
                        recs[key]["survey"] = True
                    continue
                if rec.get("year") is None:
                    rec["year"] = _year_of(rec.get("source_date") or rec.get("date")
                                           or (rec.get("source") if rec.get("survey") else None))
                recs[key] = rec
            self.__dict__["_prov"] = recs
        return self.__dict__["_prov"].get((unit, code))

    def bootstrap(self) -> dict[str, Any]:
        """Everything the browser pages need in one response."""
        return {
            "meta": self.meta, "units": self.units(), "framework": self.framework(),
            "aggregation": self.aggregation(), "tiers": self.tiers_spec(),
            "subrankings": list(getattr(self.result.spec, "subrankings", [])), "group_roles": self.group_roles(),
            "pillars": self.result.pillars(), "index": self.result.index_code,
            "scores": self.table("scores"), "ranks": self.table("ranks"), "normalised": self.table("normalised"),
            "raw": self.table("raw") if "Raw" in self.result.datasets else None,
            "imputed": {"columns": list(self.result.imputed.columns),
                        "data": self.result.imputed.reindex(self.result.units).to_numpy(dtype=bool).tolist()},
            "ranking": self.ranking(),
            "aliases": self.aliases(),
        }

    def aliases(self) -> dict[str, list[str]]:
        """Other names of the served units for search and links: unit code → aliases (spelling variants,
        boroughs, former names) from the dataset registry's ``aliases.csv``, for the units of this index only
        (``{}`` when the registry is absent or names none of them)."""
        path = Path(__file__).resolve().parents[1] / "datasets" / "registry" / "aliases.csv"
        if not path.exists():
            return {}
        try:
            t = pd.read_csv(path, keep_default_na=False, dtype=str, usecols=["code", "alias"])
        except (ValueError, OSError):
            return {}
        served = {str(u) for u in self.result.units}
        out: dict[str, list[str]] = {}
        for code, alias in zip(t["code"], t["alias"], strict=True):
            if code in served and alias:
                out.setdefault(code, []).append(alias)
        return out

    # -- re-scoring -----------------------------------------------------------------------------------
    def rescore(self, weights: Mapping[str, float]) -> dict[str, Any]:
        """Re-aggregate the normalised indicators with ``weights`` (node code → weight, others unchanged).

        For each aggregate in ascending level, y = AGG(children; w) with the spec's aggregation method (e.g.
        arithmetic: Σ w_k x_k / Σ w_k over available children); ranks r_i = 1 + #{j: s_j > s_i} on scores
        rounded to 10 decimals; tiers and sub-ranks by the spec's rules. Returns the new ranking with each
        unit's move (published rank − new rank; positive = up), its score change and the contribution of
        each changed weight to it (``drivers``; :func:`hubindex.web._drivers.decompose`: exact for arithmetic
        means, Shapley values otherwise), the normalised weights used and the Spearman correlation of the new
        ranks with the published ones (over the units ranked in both). Incremental, with everything that does
        not depend on the weights computed once per view (:mod:`hubindex.web._rescore`).
        """
        return self.rescorer().rescore(weights).as_dict()

    def rescore_json(self, weights: Mapping[str, float]) -> bytes:
        """:meth:`rescore` as the API's JSON bytes (``json.dumps(rescore(weights), separators=(",", ":"),
        ensure_ascii=False, allow_nan=False)``, byte for byte), written without building the dicts."""
        return self.rescorer().rescore(weights).as_json()

    def all_zero_group(self, weights: Mapping[str, float]) -> tuple[str, tuple[str, ...]] | None:
        """The first aggregate whose children all have weight 0 once ``weights`` replace the published ones,
        with its children (``None`` when there is none): :meth:`Rescorer.all_zero_group`."""
        return self.rescorer().all_zero_group(weights)

    def rescorer(self) -> Rescorer:
        """The view's :class:`~hubindex.web._rescore.Rescorer` (built on first use, then reused)."""
        if "_rescorer" not in self.__dict__:
            r = self.result
            norm, methods = self._engine_inputs()
            self.__dict__["_rescorer"] = Rescorer(r, norm, methods, self.aggregation()["min_availability"],
                                                  [jsonable(r.unit_names.get(u)) or u for u in r.units])
        return self.__dict__["_rescorer"]

    def _engine_inputs(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """The normalised indicator columns (unit order) and each aggregate's method, cached."""
        if "_inputs" not in self.__dict__:
            r, fw = self.result, self.result.framework
            agg = self.aggregation()
            norm = r.datasets["Normalised"].reindex(index=r.units)
            vals = {c: norm[c].to_numpy(dtype=float) for c in fw.indicators}
            methods = {c: agg["by_level"].get(str(int(fw.level[fw.index_of(c)])), agg["method"])
                       for c in fw.aggregates}
            self.__dict__["_inputs"] = (vals, methods)
        return self.__dict__["_inputs"]
