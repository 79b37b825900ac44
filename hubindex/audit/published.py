"""Compare our ranking with published fintech-city rankings: report, never tune.

The published lists (Global Fintech Hub Report, GFCI FinTech ranking, Findexable, StartupBlink, …) ship as one
tidy table, ``hubindex/datasets/published/published_rankings.csv``: one row per (list, city) with the list's
publisher, edition, coverage, the source URL each rank was read from, the city name *as published* and its
rank. :func:`load_published` checks that table and maps every published name to one of our city codes through
the registry (``registry/cities.csv`` names, ``registry/aliases.csv``) and the published-spelling table
``published/name_aliases.csv``; names that match no city are kept and listed as unmatched, never dropped.

:func:`compare_published` compares a built :class:`~hubindex.engine.result.Result` with each list. For a list
L, the *overlap* O is the set of its cities that we rank (n = |O|). On O:

- published rank p_c and our rank r_c (our rank among all our units);
- within-overlap ranks p'_c = rank of p_c in O, r'_c = rank of r_c in O (1 = best; ties get the average rank);
- the rank gap g_c = r'_c − p'_c (> 0: we place c lower than the list does, among the same cities);
- Spearman's ρ = Pearson correlation of (p'_c, r'_c) over O (``scipy.stats.spearmanr``), only for n ≥ 3;
  when n < 10 a note says that one swap moves ρ a lot, and no p-value is given (scipy's p-value uses a t
  approximation). A published top-N says nothing about the cities
  below N, so ρ only measures the order *within* the list; ``in_our_top`` counts the list's cities that we also
  place within our top N (N = the list's largest published rank).

Explaining a city's gap. With realised effective weights E_ui (the product of the rescaled weights on the path
from node i to the root after the aggregation renormalised them over the unit's available children:
:func:`hubindex.engine._weights.unit_effective_weights`) and node scores s_ui (pillar/indicator scores of the
Result; missing → contribution 0), the *contribution* of node i to unit u's index score is

    C_ui = E_ui · s_ui

and under arithmetic aggregation Σ_{pillars k} C_uk = Σ_{indicators l} C_ul = score_u exactly. A city's
contribution relative to the overlap is

    Δ_ui = C_ui − mean_{j ∈ O} C_ji,

so Σ_k Δ_uk = score_u − mean_{j ∈ O} score_j − (residual_u − mean_{j ∈ O} residual_j), where
residual_u = score_u − Σ_k C_uk is 0 up to rounding for arithmetic aggregation (it is reported for other
aggregation rules, where the decomposition is only a first-order attribution).

The cities a gap is about, ``swapped_with``, are the ones we order the other way *in the gap's direction*:
for g_u > 0, W_u = {j ∈ O : p'_j > p'_u and r'_j < r'_u} (the list puts them below u, we put them above);
for g_u < 0, W_u = {j ∈ O : p'_j < p'_u and r'_j > r'_u}. W_u is never empty when the ranks are distinct (of
the n − p'_u cities the list puts below u, at most n − r'_u < n − p'_u fit below u in our order). The same
decomposition against them,

    Δ^W_ui = C_ui − mean_{j ∈ W_u} C_ji,   Σ_k Δ^W_uk = score_u − mean_{j ∈ W_u} score_j (arithmetic),

answers "why do we put u below (or above) those cities": for g > 0 every j in W_u scores at least as high as u,
and the pillars and indicators with the most negative Δ^W hold u back; for g < 0 the most positive Δ^W push it
up. Pillars and indicators are ordered by Δ^W (by Δ when W_u is empty, which only ties can cause). The cities
explained are the ``top`` with the largest |g|, ties broken by the larger |r − p| (our rank among all our units
against the published rank), then by published rank.

Nothing here depends on particular indicator codes: pillars are the children of the framework's root.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.errors import DataError

__all__ = [
    "PUBLISHED_DIR", "RULE", "PublishedLists", "ListComparison", "PublishedComparison", "load_published",
    "compare_published", "SMALL_N",
]

PUBLISHED_DIR = Path(__file__).resolve().parent.parent / "datasets" / "published"
REGISTRY_DIR = Path(__file__).resolve().parent.parent / "datasets" / "registry"
RULE = "Comparisons with published rankings are reported, never used to choose indicators or weights."
SMALL_N = 10  # below this many overlap cities, Spearman's rho gets a caution note

COLUMNS = ("list_id", "list_name", "publisher", "edition", "coverage", "source_url", "retrieved",
           "city_name_as_published", "country_iso2", "rank", "rank_basis", "tied", "note")
LIST_FIELDS = ("list_name", "publisher", "edition", "coverage")
RANK_BASES = ("stated", "listed order")


def _norm(s: object) -> str:
    """The registry's spelling key (case, accents, punctuation, spaces ignored) for names in Latin script;
    names with letters of other scripts (Chinese, Greek, …), which that key would erase, keep their letters:
    NFKC, case-folded, spaces collapsed."""
    import re
    import unicodedata

    from hubindex.datasets.build import norm_name

    t = str(s)
    if any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in t):
        return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", t).casefold()).strip()
    return norm_name(t)


# ------------------------------------------------------------------------------------------------ loading

@dataclass(frozen=True)
class PublishedLists:
    """The published rankings table, checked, with our city ``code`` per row (``None`` when unmatched) and the
    rule that matched it (``matched_by``: ``registry``, ``registry alias``, ``published alias`` or ``""``)."""

    table: pd.DataFrame
    path: Path

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(self.table["list_id"]))

    def lists(self) -> pd.DataFrame:
        """One row per list: id, name, publisher, edition, coverage, rows, matched rows, source URLs."""
        rows = []
        for lid, g in self.table.groupby("list_id", sort=False):
            first = g.iloc[0]
            rows.append({"list_id": lid, **{f: first[f] for f in LIST_FIELDS}, "n_published": len(g),
                         "n_matched": int(g["code"].notna().sum()),
                         "sources": list(dict.fromkeys(g["source_url"]))})
        return pd.DataFrame(rows)

    def unmatched(self) -> pd.DataFrame:
        """Every published name that matches none of our cities (list, name, country, rank)."""
        t = self.table[self.table["code"].isna()]
        return t[["list_id", "city_name_as_published", "country_iso2", "rank"]].reset_index(drop=True)

    def select(self, ids: Sequence[str] | None) -> PublishedLists:
        """Only the given lists (unknown ids: :class:`KeyError` naming the valid ones)."""
        if not ids:
            return self
        bad = [i for i in ids if i not in self.ids]
        if bad:
            raise KeyError(f"unknown published list {', '.join(repr(b) for b in bad)}; valid ids: "
                           f"{', '.join(self.ids)}")
        return PublishedLists(self.table[self.table["list_id"].isin(list(ids))].reset_index(drop=True), self.path)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV table ({e})") from None


def name_lookup(registry: Path = REGISTRY_DIR, aliases: Path | None = None) -> dict[tuple[str, str], tuple[str, str]]:
    """(country ISO2, normalised spelling) → (city code, rule) from the registry and the published aliases."""
    cities = _read_csv(registry / "cities.csv")
    reg_alias = _read_csv(registry / "aliases.csv")
    pub_alias = _read_csv(aliases if aliases is not None else PUBLISHED_DIR / "name_aliases.csv")
    from hubindex.datasets.build import registry_spellings

    iso = dict(zip(cities["code"], cities["country_iso2"], strict=True))
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for iso2, spelling, code, kind in registry_spellings(cities, reg_alias):
        if spelling or kind != "name":  # a city without a GeoNames name has none to add
            out.setdefault((iso2, _norm(spelling)), (code, "registry" if kind == "name" else "registry alias"))
    for pos, (_, r) in enumerate(pub_alias.iterrows()):
        if r["code"] not in iso:
            raise DataError(f"{aliases or PUBLISHED_DIR / 'name_aliases.csv'}, row {pos + 2}, column 'code': "
                            f"unknown city code {r['code']!r} (expected a code of registry/cities.csv)")
        key = (r["country_iso2"], _norm(r["alias"]))
        if out.get(key, (r["code"],))[0] != r["code"]:
            raise DataError(f"{aliases or PUBLISHED_DIR / 'name_aliases.csv'}, row {pos + 2}: {r['alias']!r} "
                            f"({r['country_iso2']}) maps to {r['code']} but the registry maps it to {out[key][0]}")
        out.setdefault(key, (r["code"], "published alias"))
    return out


def check_table(t: pd.DataFrame, path: Path) -> None:
    """Raise :class:`DataError` (file, row, column, expectation) unless the published table is well-formed."""
    missing = [c for c in COLUMNS if c not in t.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected {list(COLUMNS)}")
    for i, r in t.iterrows():
        row = int(str(i)) + 2  # header is row 1
        for c in ("list_id", "list_name", "publisher", "edition", "coverage", "source_url", "retrieved",
                  "city_name_as_published", "country_iso2"):
            if not str(r[c]).strip():
                raise DataError(f"{path}, row {row}, column '{c}': empty; every row needs a value")
        if not str(r["source_url"]).startswith(("http://", "https://")):
            raise DataError(f"{path}, row {row}, column 'source_url': expected an http(s) URL, got "
                            f"{r['source_url']!r}")
        if not (str(r["rank"]).isdigit() and int(r["rank"]) >= 1):
            raise DataError(f"{path}, row {row}, column 'rank': expected a positive integer, got {r['rank']!r}")
        if r["rank_basis"] not in RANK_BASES:
            raise DataError(f"{path}, row {row}, column 'rank_basis': expected one of {list(RANK_BASES)}, got "
                            f"{r['rank_basis']!r}")
        if r["tied"] not in ("", "yes"):
            raise DataError(f"{path}, row {row}, column 'tied': expected 'yes' or empty, got {r['tied']!r}")
    for lid, g in t.groupby("list_id", sort=False):
        for f in LIST_FIELDS:
            if g[f].nunique() > 1:
                raise DataError(f"{path}: list '{lid}', column '{f}': one value per list expected, found "
                                f"{sorted(g[f].unique())}")
        dup = g[g["rank"].duplicated(keep=False)]
        if len(dup) and (dup["tied"] != "yes").any():
            r0 = int(dup.index[0]) + 2
            raise DataError(f"{path}, row {r0}, column 'rank': list '{lid}' has rank {dup['rank'].iloc[0]} more "
                            "than once; mark every tied row with tied=yes")
        names = g["city_name_as_published"].map(_norm) + "|" + g["country_iso2"]
        if names.duplicated().any():
            r0 = int(names[names.duplicated()].index[0]) + 2
            raise DataError(f"{path}, row {r0}, column 'city_name_as_published': list '{lid}' names this city "
                            "twice")


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, aliases: str | None, registry: str) -> pd.DataFrame:
    p = Path(path)
    t = _read_csv(p)
    check_table(t, p)
    look = name_lookup(Path(registry), Path(aliases) if aliases else None)
    hits = [look.get((c, _norm(n))) for c, n in zip(t["country_iso2"], t["city_name_as_published"], strict=True)]
    t["code"] = [h[0] if h else None for h in hits]
    t["matched_by"] = [h[1] if h else "" for h in hits]
    t["rank"] = t["rank"].astype(int)
    for lid, g in t.groupby("list_id", sort=False):
        codes = g["code"].dropna()
        if codes.duplicated().any():
            c = codes[codes.duplicated()].iloc[0]
            raise DataError(f"{p}: list '{lid}' has two published names that map to our city {c}: "
                            f"{g.loc[g['code'] == c, 'city_name_as_published'].tolist()}")
    return t


def load_published(path: str | Path | None = None, *, aliases: str | Path | None = None,
                   registry: str | Path | None = None) -> PublishedLists:
    """Read and check the published rankings table (default: the shipped one) and map names to our codes."""
    p = Path(path) if path is not None else PUBLISHED_DIR / "published_rankings.csv"
    t = _load_cached(str(p), str(aliases) if aliases is not None else None, str(registry or REGISTRY_DIR))
    return PublishedLists(t.copy(), p)


# ------------------------------------------------------------------------------------------------ comparing

@dataclass(frozen=True)
class ListComparison:
    """One published list against our ranking (see the module docstring for every formula)."""

    list_id: str
    meta: dict[str, Any]
    n_published: int
    n_overlap: int
    rho: float
    p_value: float
    note: str
    max_published_rank: int
    in_our_top: int
    cities: pd.DataFrame  # one row per overlap city, by published rank
    differences: list[dict[str, Any]]  # the largest |gap| first, with their pillar/indicator explanations
    not_ranked: list[dict[str, Any]]  # matched to our cities but without a rank of ours
    unmatched: list[dict[str, Any]]  # published names that match none of our cities

    def to_dict(self) -> dict[str, Any]:
        return {"list_id": self.list_id, **self.meta, "n_published": self.n_published,
                "n_overlap": self.n_overlap, "spearman": _num(self.rho), "p_value": _num(self.p_value),
                "note": self.note, "max_published_rank": self.max_published_rank, "in_our_top": self.in_our_top,
                "cities": _records(self.cities), "differences": self.differences,
                "not_ranked": self.not_ranked, "unmatched": self.unmatched}


@dataclass(frozen=True)
class PublishedComparison:
    """Every list's comparison, the index compared and the method/rule texts."""

    index: dict[str, Any]
    lists: list[ListComparison] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per list: id, name, edition, coverage, n published, n overlap, Spearman, p, in our top N."""
        return pd.DataFrame([{"list_id": c.list_id, "list_name": c.meta["list_name"],
                              "edition": c.meta["edition"], "coverage": c.meta["coverage"],
                              "n_published": c.n_published, "n_overlap": c.n_overlap, "spearman": c.rho,
                              "p_value": c.p_value, "max_published_rank": c.max_published_rank,
                              "in_our_top": c.in_our_top, "note": c.note} for c in self.lists])

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "rule": RULE, "method": METHOD,
                "lists": [c.to_dict() for c in self.lists]}


METHOD = ("Overlap O = the list's cities that we rank. Within O both rankings are re-ranked 1..n (ties "
          "averaged); gap = our rank in O - published rank in O (positive: we place the city lower). "
          "Spearman's rho on O (n >= 3). A city's contribution from node i is E_i * s_i (realised effective "
          "weight x score). delta = contribution minus its mean over O; delta_swapped = contribution minus its "
          "mean over the cities we order the other way in the gap's direction (swapped_with). Pillar deltas add up to the city's score "
          "minus the matching mean score (exactly, for arithmetic aggregation).")


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rec in df.to_dict(orient="records"):
        out.append({str(k): (_num(v) if isinstance(v, float | np.floating) else
                        int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()})
    return out


def contributions(result: Any) -> tuple[pd.DataFrame, pd.Series]:
    """C_ui = E_ui · s_ui for every unit and framework node, and residual_u = score_u − Σ_{pillars} C_uk.

    E is the realised effective weight (weights renormalised over each unit's available children, as the
    aggregation does); a missing score contributes 0.
    """
    from hubindex.engine._weights import unit_effective_weights

    fw = result.framework
    codes = list(fw.codes)
    S = result.scores[codes].to_numpy(dtype=float)
    avail = ~np.isnan(S)
    w = result.weights["weight"].reindex(codes).to_numpy(dtype=float)
    E = unit_effective_weights(avail, w, fw.parent)
    C = pd.DataFrame(np.where(avail, E * np.nan_to_num(S), 0.0), index=result.scores.index, columns=codes)
    pillars = list(fw.children(fw.root))
    residual = result.scores[fw.root].astype(float) - C[pillars].sum(axis=1)
    return C, residual


def _pillar_of(fw: Any) -> dict[str, str]:
    pillars = set(fw.children(fw.root))
    out = {}
    for c in fw.indicators:
        chain = (c, *fw.ancestors(c))
        out[c] = next((a for a in chain if a in pillars), fw.root)
    return out


@dataclass(frozen=True)
class _Arrays:
    """Everything the explanations read, as arrays aligned on (units, framework nodes)."""

    upos: dict[str, int]
    col: dict[str, int]
    S: np.ndarray  # scores
    C: np.ndarray  # contributions E · s
    R: np.ndarray  # raw values (indicator columns; NaN elsewhere)
    residual: np.ndarray
    pillars: list[str]
    inds: list[str]
    pillar_of: dict[str, str]
    node_names: dict[str, str]

    @classmethod
    def of(cls, result: Any) -> _Arrays:
        fw = result.framework
        codes = list(fw.codes)
        C, residual = contributions(result)
        raw = result.datasets.get("Raw")
        R = np.full((len(result.scores), len(codes)), np.nan)
        if raw is not None:
            for j, c in enumerate(codes):
                if c in raw.columns:
                    R[:, j] = pd.to_numeric(raw[c].reindex(result.scores.index), errors="coerce").to_numpy(float)
        return cls(upos={str(u): i for i, u in enumerate(result.scores.index)}, col={c: j for j, c in enumerate(codes)},
                   S=result.scores[codes].to_numpy(dtype=float), C=C[codes].to_numpy(dtype=float), R=R,
                   residual=residual.to_numpy(dtype=float), pillars=list(fw.children(fw.root)),
                   inds=list(fw.indicators), pillar_of=_pillar_of(fw),
                   node_names=dict(zip(codes, fw.names, strict=True)))


def compare_one(result: Any, rows: pd.DataFrame, *, top: int = 5, n_indicators: int = 3,
                arrays: _Arrays | None = None) -> ListComparison:
    """Compare ``result`` with one published list (``rows``: that list's rows of :class:`PublishedLists`)."""
    from scipy.stats import rankdata, spearmanr

    fw = result.framework
    root = fw.root
    first = rows.iloc[0]
    meta: dict[str, Any] = {f: str(first[f]) for f in LIST_FIELDS}
    meta["sources"] = list(dict.fromkeys(rows["source_url"]))
    ranks = result.ranks[root]
    names = result.unit_names
    unmatched = [{"name": r["city_name_as_published"], "country": r["country_iso2"], "published_rank": int(r["rank"])}
                 for _, r in rows[rows["code"].isna()].iterrows()]
    matched = rows[rows["code"].notna()]
    ranked = matched[matched["code"].map(lambda c: c in ranks.index and pd.notna(ranks.get(c)))]
    not_ranked = [{"unit": r["code"], "name": r["city_name_as_published"], "published_rank": int(r["rank"]),
                   "why": "screened out or missing from our index" if r["code"] not in ranks.index
                   else "no index score"} for _, r in matched.drop(ranked.index).iterrows()]
    ov = ranked.sort_values("rank", kind="stable")  # the overlap O, by published rank
    units = ov["code"].tolist()
    n = len(units)
    p = ov["rank"].to_numpy(dtype=float)
    r = ranks.reindex(units).to_numpy(dtype=float)
    pp, rr = rankdata(p), rankdata(r)
    gap = rr - pp
    rho = pval = float("nan")
    if n >= 3 and np.ptp(p) > 0 and np.ptp(r) > 0:
        res = spearmanr(p, r)
        rho = float(res.statistic)
        if n >= SMALL_N:  # scipy's p-value uses a t approximation: meaningless for a handful of cities
            pval = float(res.pvalue)
    notes = []
    if n < 3:
        notes.append(f"n = {n}: too few cities in common for a rank correlation")
    elif n < SMALL_N:
        notes.append(f"n = {n} < {SMALL_N}: rho is very uncertain (one swap moves it a lot) and no p-value "
                     "is given; read the ranks")
    max_rank = int(rows["rank"].max())
    notes.append(f"the list covers {meta['coverage']}: rho measures the order within these cities only")
    in_top = int((r <= max_rank).sum())
    scores = result.scores[root]
    cities = pd.DataFrame({
        "unit": units, "name": [str(names.get(u, u)) for u in units],
        "published_name": ov["city_name_as_published"].tolist(), "published_rank": p.astype(int),
        "our_rank": r, "published_rank_in_overlap": pp, "our_rank_in_overlap": rr, "gap": gap,
        "score": scores.reindex(units).to_numpy(dtype=float)})

    differences: list[dict[str, Any]] = []
    if n >= 2:
        a = arrays if arrays is not None else _Arrays.of(result)
        rows_o = np.array([a.upos[u] for u in units])
        Co = a.C[rows_o]  # overlap × nodes
        So, Ro = a.S[rows_o], a.R[rows_o]
        D = Co - Co.mean(axis=0)
        kp = np.array([a.col[k] for k in a.pillars])
        ki = np.array([a.col[k] for k in a.inds])
        mean_score = float(np.nanmean(cities["score"]))
        order = np.lexsort((-np.abs(r - p), -np.abs(gap)))  # |gap|, then |our rank - published rank|; stable
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)  # all-missing columns: mean is NaN
            mS, mR = np.nanmean(So, axis=0), np.nanmean(Ro, axis=0)
            for i in order[:top]:
                if gap[i] == 0:
                    break
                u = units[i]
                sign = 1.0 if gap[i] > 0 else -1.0  # > 0: we rank lower; the most negative deltas explain it
                js = [j for j in range(n) if sign * (pp[j] - pp[i]) > 0 and sign * (rr[j] - rr[i]) < 0]
                js.sort(key=lambda j: (r[j], units[j]))
                swapped = [units[j] for j in js]
                DW = Co[i] - Co[js].mean(axis=0) if js else D[i]
                wS = np.nanmean(So[js], axis=0) if js else None
                wR = np.nanmean(Ro[js], axis=0) if js else None
                prow = [{"code": k, "name": a.node_names[k], "score": _num(So[i, c]),
                         "overlap_mean_score": _num(mS[c]),
                         "swapped_mean_score": _num(wS[c]) if wS is not None else None,
                         "contribution": _num(Co[i, c]), "delta": _num(D[i, c]),
                         "delta_swapped": _num(DW[c]) if js else None}
                        for k, c in zip(a.pillars, kp, strict=True)]
                prow = [prow[t] for t in np.argsort(sign * DW[kp], kind="stable")]
                irow = []
                for t in np.argsort(sign * DW[ki], kind="stable")[:n_indicators]:
                    k, c = a.inds[t], ki[t]
                    irow.append({"code": k, "name": a.node_names[k], "pillar": a.pillar_of[k],
                                 "value": _num(Ro[i, c]), "overlap_mean_value": _num(mR[c]),
                                 "swapped_mean_value": _num(wR[c]) if wR is not None else None,
                                 "score": _num(So[i, c]), "overlap_mean_score": _num(mS[c]),
                                 "swapped_mean_score": _num(wS[c]) if wS is not None else None,
                                 "delta": _num(D[i, c]), "delta_swapped": _num(DW[c]) if js else None,
                                 "missing": bool(np.isnan(So[i, c]))})
                sc = cities["score"].to_numpy(dtype=float)
                differences.append({
                    "unit": u, "name": str(names.get(u, u)),
                    "published_name": str(ov["city_name_as_published"].iloc[i]),
                    "published_rank": int(p[i]), "our_rank": int(r[i]),
                    "published_rank_in_overlap": float(pp[i]), "our_rank_in_overlap": float(rr[i]),
                    "gap": float(gap[i]), "direction": "we rank lower" if gap[i] > 0 else "we rank higher",
                    "score": _num(sc[i]), "overlap_mean_score": _num(mean_score),
                    "swapped_mean_score": _num(sc[js].mean()) if js else None,
                    "residual": _num(a.residual[a.upos[u]]), "swapped_with": swapped,
                    "swapped_with_names": [str(names.get(x, x)) for x in swapped],
                    "pillars": prow, "indicators": irow})
    return ListComparison(
        list_id=str(first["list_id"]), meta=meta, n_published=len(rows), n_overlap=n, rho=rho, p_value=pval,
        note="; ".join(notes), max_published_rank=max_rank, in_our_top=in_top, cities=cities,
        differences=differences, not_ranked=not_ranked, unmatched=unmatched)


def compare_published(result: Any, published: PublishedLists | None = None, *, lists: Iterable[str] | None = None,
                      top: int = 5, n_indicators: int = 3) -> PublishedComparison:
    """Compare ``result`` with every published list (or the ``lists`` named); see the module docstring.

    ``top``: cities with the largest rank gaps explained per list; ``n_indicators``: indicators named per city.
    Unknown list ids raise :class:`KeyError` naming the valid ones.
    """
    pub = (published or load_published()).select(list(lists) if lists is not None else None)
    arrays = _Arrays.of(result)
    spec = result.spec
    index = {"name": getattr(spec, "name", None), "version": getattr(spec, "version", None),
             "n_units": int(result.ranks[result.framework.root].notna().sum()),
             "pillars": list(result.framework.children(result.framework.root)),
             "aggregation": _aggregation(spec)}
    out = [compare_one(result, g, top=top, n_indicators=n_indicators, arrays=arrays)
           for _, g in pub.table.groupby("list_id", sort=False)]
    return PublishedComparison(index=index, lists=out)


def _aggregation(spec: Any) -> str | None:
    try:
        return str(spec.step("aggregate").method)
    except Exception:  # noqa: BLE001 - a spec without a readable aggregate step: say nothing
        return None
