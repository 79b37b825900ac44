"""Re-scoring a served index with other weights (``POST /api/score``, :meth:`IndexView.rescore`), fast.

A :class:`Rescorer` holds what does not depend on the weights, computed once per served index: the framework
tree (:class:`hubindex.web._drivers.Tree`), the published weights, node values and ranks, unit names, the
sub-rankings' group codes, and the JSON text of everything constant (unit codes and names, published ranks,
pillar scores at the published weights, the keys). A request then

1. re-aggregates only the ancestors of the changed weights (the same inputs give the same numbers, so every
   other node keeps its published value), with the engine's aggregators (``hubindex.engine._aggregate``);
2. splits each unit's score change into one contribution per changed weight
   (:func:`hubindex.web._drivers.decompose`, given the values of step 1);
3. ranks r_i = 1 + #{j: s_j > s_i} on scores rounded to 10 decimals (``rank_desc``), tiers and sub-ranks by the
   spec's rules, and Spearman's ρ of the new ranks with the published ones;
4. writes the response, either as the dict of :meth:`Rescored.as_dict` or straight to JSON text
   (:meth:`Rescored.as_json`): whole columns are turned into JSON tokens at once (``float.__repr__``, as
   ``json.dumps`` writes floats; ranks from a table of integer tokens; the published weights', rescaled
   weights' and pillar scores' text kept from start-up where they did not change) and each row is one ``%``
   format of a per-index template, so no per-row dict is built. ``as_json()`` is byte for byte ``json.dumps(as_dict(), separators=(",", ":"), ensure_ascii=False,
   allow_nan=False)`` (tested); where it could not be (two row keys alike, e.g. a pillar coded ``score``) it
   is that call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hubindex._json import jsonable
from hubindex.engine._rank import group_ranks_coded, rank_desc, tiers_by_rank, tiers_by_score
from hubindex.engine._weights import rescale_within_parents
from hubindex.errors import SpecError
from hubindex.web._drivers import Decomposition, Tree, decompose, node_values

__all__ = ["Rescorer", "Rescored", "RANK_DECIMALS", "desc_ranks", "floats_list", "ranks_list", "spearman"]

RANK_DECIMALS = 10  # as hubindex.engine.pipeline: scores equal to 10 decimals are ties


def floats_list(a: np.ndarray) -> list[float | None]:
    """``[jsonable(x) for x in a]`` for a float array, at once: finite values as floats, NaN/±inf → None."""
    a = np.asarray(a, dtype=float)
    fin = np.isfinite(a)
    return [x if f else None for x, f in zip(a.tolist(), fin.tolist(), strict=True)]


def ranks_list(a: np.ndarray) -> list[int | None]:
    """``[jsonable(x) as int]`` for a float array of ranks, at once: NaN/±inf → None."""
    a = np.asarray(a, dtype=float)
    return [None if x != x or x in (np.inf, -np.inf) else int(x) for x in a.tolist()]


def _dumps(x: Any) -> str:
    """One JSON value, as the API writes it (compact, UTF-8 text, no NaN)."""
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json_floats(a: np.ndarray) -> list[str]:
    """JSON tokens of a float column: ``repr`` (what ``json.dumps`` writes), ``null`` for NaN/±inf."""
    out = list(map(float.__repr__, a.tolist()))
    bad = ~np.isfinite(a)
    if bad.any():
        for i in np.flatnonzero(bad).tolist():
            out[i] = "null"
    return out


def _json_ranks(a: np.ndarray, table: np.ndarray | None = None, offset: int = 0) -> list[str]:
    """JSON tokens of a rank column (whole numbers as floats): ``int(x)`` as text, ``null`` for NaN/±inf.
    ``table``: the tokens of ``offset − len(table) + 1 … offset − 1`` at positions 1…, ``null`` at 0
    (:meth:`Rescorer`'s), looked up when every value is a whole number in that range."""
    bad = ~np.isfinite(a)
    x = np.where(bad, 0.0, a)
    if table is not None:
        i = x + offset
        if ((i >= 1) & (i < len(table)) & (i == np.floor(i))).all():
            i[bad] = 0
            out: list[str] = table[i.astype(np.intp)].tolist()
            return out
    out = list(map(int.__repr__, x.astype(np.int64).tolist()))
    if bad.any():
        for j in np.flatnonzero(bad).tolist():
            out[j] = "null"
    return out


def _finite_or_raise(a: np.ndarray) -> None:
    """``json.dumps(allow_nan=False)`` refuses NaN/±inf floats; so does the direct writer, with its message."""
    if not np.isfinite(a).all():
        raise ValueError("Out of range float values are not JSON compliant")


def _bits_differ(a: np.ndarray, b: np.ndarray) -> list[int]:
    """Positions where two float arrays differ bit for bit (so −0.0 differs from 0.0: their text differs)."""
    return np.flatnonzero(a.view(np.int64) != b.view(np.int64)).tolist()


def _pct(s: str) -> str:
    """``s`` as literal text in a ``%`` template."""
    return s.replace("%", "%%")


def desc_ranks(rounded: np.ndarray, group_codes: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The engine's ``rank_desc(rounded)`` and ``group_ranks_coded(rounded, c)`` for each ``c`` in
    ``group_codes`` (r_i = 1 + #{j: s_j > s_i}; within a group 1 + #{j in i's group: s_j > s_i}; NaN score or
    group code −1 → NaN)."""
    return rank_desc(rounded), [group_ranks_coded(rounded, codes) for codes in group_codes]


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` ascending, ties sharing the mean of their positions (scipy's ``rankdata``, method
    "average": a run of equal values at sorted positions s..e−1 gets (s + 1 + e) / 2, exact in floats)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    start = np.flatnonzero(new)
    end = np.append(start[1:], n)
    out = np.empty(n)
    out[order] = np.repeat((start + 1 + end) / 2, end - start)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ of ``a`` and ``b`` over the pairs where both are present: Pearson's r of their average
    ranks, computed as ``pandas.Series.corr(method="spearman")`` does (scipy's ``spearmanr``: ``np.corrcoef`` of
    the ranks; NaN for fewer than 2 pairs or a constant input) — the same number, without its overhead."""
    valid = ~(np.isnan(a) | np.isnan(b))
    a, b = a[valid], b[valid]
    if len(a) < 2 or (a[0] == a).all() or (b[0] == b).all():
        return float("nan")
    ranked = np.column_stack((_average_ranks(a), _average_ranks(b)))
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])


@dataclass(frozen=True)
class Rescored:
    """One re-scoring, as columns in unit order (see the module doc); ``order``: the rows' order in the
    response (by new rank, unranked last, then unit code)."""

    rescorer: Rescorer
    w: np.ndarray  #: the weights used, in ``tree.codes`` order
    rescaled: np.ndarray  #: w_i / Σ over i's siblings (root: 1)
    values: dict[str, np.ndarray]  #: every node's score with ``w``
    score: np.ndarray
    rank: np.ndarray
    tiers: np.ndarray | None  #: tier labels (object array; None where unranked)
    sub: list[tuple[str, np.ndarray]]  #: ("rank_in_<group>", ranks)
    moves: np.ndarray  #: published rank − new rank (NaN where either is missing)
    dec: Decomposition
    ok: np.ndarray  #: rows whose drivers are decomposable
    rho: float
    order: np.ndarray

    def _drivers(self) -> dict[str, Any]:
        """The response's ``drivers`` block: how the split was computed, the changed weights' published values."""
        dec, base, pos = self.dec, self.rescorer.base, self.rescorer.tree.pos
        return {"method": dec.method, "changed": dec.changed, "note": dec.note(),
                "published_weights": {x: float(base[pos[x]]) for x in dec.changed}}

    def as_dict(self) -> dict[str, Any]:
        """The response of ``POST /api/score`` as Python values (see :meth:`IndexView.rescore`)."""
        rs = self.rescorer
        score_l, delta_l, rank_l = floats_list(self.score), floats_list(self.dec.delta), ranks_list(self.rank)
        moves = ranks_list(self.moves)
        sub = [(key, ranks_list(r)) for key, r in self.sub]
        pillars = [(p, rs.pillars_l[p] if self.values[p] is rs.v0[p] else floats_list(self.values[p]))
                   for p in rs.pillars]
        contrib_l = self.dec.contributions.tolist()
        ok = self.ok.tolist()
        changed = self.dec.changed
        tiers = None if self.tiers is None else [jsonable(x) for x in self.tiers]
        rows = []
        for j in self.order.tolist():
            row = {"unit": rs.units[j], "name": rs.names[j], "score": score_l[j], "rank": rank_l[j],
                   "published_rank": rs.pub_l[j], "move": moves[j]}
            if tiers is not None:
                row["tier"] = tiers[j]
            for key, s in sub:
                row[key] = s[j]
            for p, vals in pillars:
                row[p] = vals[j]
            row["score_change"] = delta_l[j]
            row["drivers"] = dict(zip(changed, contrib_l[j], strict=True)) if ok[j] else None
            rows.append(row)
        codes = rs.tree.codes
        return {"weights": dict(zip(codes, self.w.tolist(), strict=True)),
                "rescaled": dict(zip(codes, self.rescaled.tolist(), strict=True)),
                "spearman_vs_published": jsonable(self.rho), "drivers": self._drivers(), "ranking": rows}

    def as_json(self) -> bytes:
        """``as_dict()`` as the API's JSON bytes, written column by column (see the module doc)."""
        rs = self.rescorer
        if rs.row_template is None:  # row keys collide: the dict (later keys overwrite earlier ones) decides
            return _dumps(self.as_dict()).encode()
        table, off = rs.rank_tokens, rs.rank_offset
        cols: list[list[str]] = [rs.units_j, rs.names_j, _json_floats(self.score), _json_ranks(self.rank, table, off),
                                 rs.pub_j, _json_ranks(self.moves, table, off)]
        if self.tiers is not None:
            token = rs.token
            cols.append([token(x) for x in self.tiers.tolist()])
        cols += [_json_ranks(r, table, off) for _, r in self.sub]
        cols += [rs.pillars_j[p] if self.values[p] is rs.v0[p] else _json_floats(self.values[p])
                 for p in rs.pillars]
        cols.append(_json_floats(self.dec.delta))
        # "drivers": {code: contribution, ...} written by the row template itself; "null" rows re-written
        contrib = self.dec.contributions
        ok = self.ok
        _finite_or_raise(contrib[ok])
        head = rs.row_template
        tmpl = head + "{" + ",".join(_pct(_dumps(c)) + ":%s" for c in self.dec.changed) + "}}"
        rows = [tmpl % vals for vals in zip(*cols, *(_json_floats(c) for c in contrib.T), strict=True)]
        if not ok.all():
            tmpl_null = head + "null}"
            for j in np.flatnonzero(~ok).tolist():
                rows[j] = tmpl_null % tuple(c[j] for c in cols)
        # weights and rescaled weights: the published ones' text, re-written where they changed
        _finite_or_raise(self.w)
        _finite_or_raise(self.rescaled)
        keys = rs.codes_j
        w_items, r_items = list(rs.w_items), list(rs.rescaled_items)
        for i in _bits_differ(self.w, rs.base):
            w_items[i] = f"{keys[i]}:{float(self.w[i])!r}"
        for i in _bits_differ(self.rescaled, rs.base_rescaled):
            r_items[i] = f"{keys[i]}:{float(self.rescaled[i])!r}"
        rho = jsonable(self.rho)
        return "".join((
            '{"weights":{', ",".join(w_items), '},"rescaled":{', ",".join(r_items),
            '},"spearman_vs_published":', "null" if rho is None else repr(rho),
            ',"drivers":', _dumps(self._drivers()),
            ',"ranking":[', ",".join([rows[j] for j in self.order.tolist()]), "]}",
        )).encode()


class Rescorer:
    """Re-scoring of one built index (see the module doc). ``norm``: the normalised indicator columns in unit
    order; ``methods``: each aggregate's aggregation method."""

    def __init__(self, result: Any, norm: dict[str, np.ndarray], methods: dict[str, str],
                 min_availability: float | None, names: list[str]) -> None:
        r, fw = result, result.framework
        self.fw, self.norm, self.methods, self.min_availability = fw, norm, methods, min_availability
        self.tree = tree = Tree.of(fw)
        self.units: list[str] = list(r.units)
        self.names = names
        self.base = r.weights["weight"].reindex(list(fw.codes)).to_numpy(dtype=float)
        self.pub = r.ranks[fw.root].reindex(self.units).to_numpy(dtype=float)
        self.pub_l = ranks_list(self.pub)
        self.v0 = node_values(fw, norm, self.base, methods, min_availability, tree=tree)
        self.group_codes = {g: pd.factorize(r.groups[g].reindex(self.units).to_numpy(dtype=object),
                                            use_na_sentinel=True)[0]
                            for g in getattr(r.spec, "subrankings", [])}
        self.tiers = getattr(r.spec, "tiers", None)
        self.pillars: list[str] = list(r.pillars())
        self.pillars_l = {p: floats_list(self.v0[p]) for p in self.pillars}
        # JSON text of what every response repeats
        self.units_j = [_dumps(u) for u in self.units]
        self.names_j = [_dumps(n) for n in self.names]
        self.pub_j = _json_ranks(self.pub)
        self.pillars_j = {p: _json_floats(self.v0[p]) for p in self.pillars}
        self.codes_j = [_dumps(c) for c in tree.codes]
        self._tokens: dict[Any, str] = {}
        keys = ["unit", "name", "score", "rank", "published_rank", "move",
                *(["tier"] if self.tiers is not None else []), *(f"rank_in_{g}" for g in self.group_codes),
                *self.pillars, "score_change", "drivers"]
        self.row_template: str | None = (
            "{" + ",".join(_pct(_dumps(k)) + ":%s" for k in keys[:-1]) + ',"drivers":'
            if len(set(keys)) == len(keys) else None)  # + the drivers object and "}", per request
        n = len(self.units)
        self.rank_offset = n + 2  # rank tokens: "null", then -(n + 1) … n + 1 (ranks, moves, sub-ranks)
        self.rank_tokens = np.array(["null", *map(str, range(-n - 1, n + 2))], dtype=object)
        self.base_rescaled = rescale_within_parents(self.base, tree.parent, zero_groups="nan")
        self.w_items = [f"{k}:{v!r}" for k, v in zip(self.codes_j, self.base.tolist(), strict=True)]
        self.rescaled_items = [f"{k}:{v!r}" for k, v in zip(self.codes_j, self.base_rescaled.tolist(), strict=True)]
        self._unit_key = np.empty(len(self.units))
        self._unit_key[np.argsort(np.array(self.units, dtype=object), kind="stable")] = np.arange(len(self.units))

    def token(self, x: Any) -> str:
        """The JSON text of a small repeated value (a tier label: ``jsonable(x)`` written), cached."""
        t = self._tokens.get(x)
        if t is None:
            t = self._tokens[x] = _dumps(jsonable(x))
        return t

    def weights(self, weights: Mapping[str, float]) -> np.ndarray:
        """The published weights with ``weights`` (node code → weight) put in; unknown codes, weights that are
        not finite numbers ≥ 0 and aggregates left with only zero weights are a :class:`SpecError`."""
        pos = self.tree.pos
        w = self.base.copy()
        unknown = [c for c in weights if c not in pos]
        if unknown:
            raise SpecError(f"weights: unknown node code(s) {unknown[:10]}; valid codes are the framework's nodes "
                            f"(GET /api/framework)")
        for c, v in weights.items():
            if not (v >= 0 and math.isfinite(v)):
                raise SpecError(f"weights: weight of '{c}' must be a finite number >= 0, got {v}")
            w[pos[c]] = float(v)
        zero = self.tree.first_all_zero(w)
        if zero is not None:
            raise SpecError(f"weights: all weights under '{zero}' are zero; give at least one child a weight > 0")
        return w

    def all_zero_group(self, weights: Mapping[str, float]) -> tuple[str, tuple[str, ...]] | None:
        """The first aggregate (in computation order) all of whose children have weight 0 once ``weights``
        (node code → weight; unknown codes ignored) replace the published weights, with its children's codes;
        ``None`` when every aggregate keeps a child with a positive weight."""
        w = self.base.copy()
        for c, v in weights.items():
            i = self.tree.pos.get(c)
            if i is not None:
                w[i] = float(v)
        zero = self.tree.first_all_zero(w)
        return None if zero is None else (zero, self.tree.kid_codes[zero])

    def rescore(self, weights: Mapping[str, float]) -> Rescored:
        """Steps 1–3 of the module doc for ``weights`` (node code → weight; others keep theirs)."""
        tree, base = self.tree, self.base
        w = self.weights(weights)
        changed = [tree.codes[i] for i in np.flatnonzero(w != base).tolist()]
        values = node_values(self.fw, self.norm, w, self.methods, self.min_availability, base=self.v0,
                             dirty=tree.dirty(changed), tree=tree)
        dec = decompose(self.fw, self.norm, base, w, self.methods, self.min_availability, tree=tree, v0=self.v0,
                        v1=values)
        score = values[tree.root]
        rounded = np.round(score, RANK_DECIMALS)
        rank, subs = desc_ranks(rounded, list(self.group_codes.values()))
        tiers = None
        t = self.tiers
        if t is not None:
            labels = (tiers_by_rank(rank, [int(c) for c in t.cutoffs], t.labels) if t.by == "rank"
                      else tiers_by_score(score, t.cutoffs, t.labels))
            tiers = labels
        sub = [(f"rank_in_{g}", x) for g, x in zip(self.group_codes, subs, strict=True)]
        resc = rescale_within_parents(w, tree.parent, zero_groups="nan")
        contrib = dec.contributions
        ok = ~np.isnan(contrib).any(axis=1) if contrib.size else np.ones(len(score), dtype=bool)
        pub = self.pub
        moves = np.where(np.isnan(rank) | np.isnan(pub), np.nan, pub - rank)
        rho = spearman(pub, rank) if len(rank) > 2 else float("nan")
        unranked = np.isnan(rank)
        order = np.lexsort((self._unit_key, np.where(unranked, 0.0, rank), unranked))
        return Rescored(self, w, resc, values, score, rank, tiers, sub, moves, dec, ok, rho, order)
