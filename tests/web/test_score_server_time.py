"""``POST /api/score`` made fast (``hubindex/web/_rescore.py``) answers what it answered before: on the shipped
index its ranking equals a full build of the spec carrying those weights, number for number; the JSON written from
columns is byte for byte ``json.dumps`` of the dict; the one-sort ranks equal the engine's ``rank_desc`` /
``group_ranks_coded``; Spearman's ρ equals pandas'. A browser's request gets a gzip body; every response carries
``Server-Timing: app;dur=<ms>``."""

from __future__ import annotations

import csv
import json
import math
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hubindex.api import build
from hubindex.engine._rank import group_ranks_coded, rank_desc
from hubindex.errors import SpecError
from hubindex.web._rescore import desc_ranks, spearman
from hubindex.web._view import IndexView
from hubindex.web.app import _json_bytes

WEIGHT_SETS = [
    {"IND": 3.0},  # a pillar
    {"fintech_unicorns": 0.0, "ECO_TAL": 2.5},  # an indicator dropped, a sub-pillar up
    {"CON": 0.5, "ECO": 2.0, "qs_top200": 4.0, "gawc_connectivity": 0.25},  # several levels at once
    {},  # nothing changed: the published ranking
]


def _rebuilt(result: Any, weights: dict[str, float]) -> Any:
    """An independent full build of the spec with these weights written into its framework."""
    spec = result.spec
    d = spec.model_dump()
    d["framework"] = [{**n, "weight": weights.get(n["code"], n["weight"])} for n in d["framework"]]
    return build(type(spec).model_validate(d))


@pytest.mark.parametrize("weights", WEIGHT_SETS)
def test_score_equals_a_full_build_on_the_shipped_index(fclient, fintech_result, weights) -> None:  # type: ignore[no-untyped-def]
    got = fclient.post("/api/score", json={"weights": weights})
    assert got.status_code == 200, got.text
    js = got.json()
    ref = _rebuilt(fintech_result, weights)
    pub = fintech_result.index_ranks
    rows = {x["unit"]: x for x in js["ranking"]}
    assert list(rows) == sorted(ref.units, key=lambda u: (int(ref.index_ranks[u]), u))  # order: rank, then code
    for u in ref.units:
        row = rows[u]
        assert row["score"] == float(ref.index_scores[u])  # exactly: the same aggregators on the same inputs
        assert row["rank"] == int(ref.index_ranks[u])
        assert row["published_rank"] == int(pub[u]) and row["move"] == int(pub[u] - ref.index_ranks[u])
        assert row["tier"] == ref.tiers[u]
        for col in ref.subranks.columns:
            x = ref.subranks.at[u, col]
            assert row[col] == (None if np.isnan(x) else int(x))  # None: the city has no such group
        for p in ref.pillars():
            assert row[p] == float(ref.scores.at[u, p])
        assert row["score_change"] == pytest.approx(ref.index_scores[u] - fintech_result.index_scores[u], abs=1e-12)
        assert sum(row["drivers"].values()) == pytest.approx(row["score_change"], abs=1e-9)
        assert set(row["drivers"]) == set(js["drivers"]["changed"])
    rho = pd.Series(pub.to_numpy(float)).corr(pd.Series(ref.index_ranks.reindex(pub.index).to_numpy(float)),
                                            method="spearman")
    assert js["spearman_vs_published"] == rho
    fw = fintech_result.framework
    assert js["weights"] == {c: float(weights.get(c, fintech_result.weights.at[c, "weight"])) for c in fw.codes}
    assert js["rescaled"] == pytest.approx(ref.weights["rescaled"].to_dict(), abs=1e-15)


_VIEWS: dict[str, IndexView] = {}


def _view(name: str) -> IndexView:
    """Views over the shipped index, with arithmetic means (the exact split) and with medians (Shapley)."""
    if name not in _VIEWS:
        r = build(None)
        if name == "median":
            r = build(r.spec.with_step("aggregate", method="median"))
        _VIEWS[name] = IndexView.from_result(r)
    return _VIEWS[name]


_CODES = list(build(None).framework.codes)


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from(["arithmetic", "median"]),
       weights=st.dictionaries(st.sampled_from(_CODES),
                               st.sampled_from([0.0, -0.0, 0.3, 1.0, 2.5, 7.0]) | st.floats(1e-6, 1e3), max_size=6))
def test_json_written_from_columns_is_json_dumps_of_the_dict(which: str, weights: dict[str, float]) -> None:
    v = _view(which)
    try:
        want = _json_bytes(v.rescore(weights))
    except SpecError as e:  # an aggregate left with only zero weights: the same refusal
        with pytest.raises(SpecError, match=re.escape(str(e))):
            v.rescore_json(weights)
        return
    assert v.rescore_json(weights) == want


def _tiny(tmp_path: Path, pillar: str = "P1", group: str = "region", name: str = "One",
          weight_d: float = 1.0) -> IndexView:
    """A 6-unit index (U4 has no group, U5 and U6 tie) with the given pillar code, group column, unit name and
    published weight of indicator d."""
    rows = [["code", "name", group, "a", "b", "c", "d"], ["U1", name, "East", 1, 10, 5, 0.5],
            ["U2", "Two", "East", 2, 20, 4, 0.4], ["U3", "Three", "West", 3, 30, 3, 0.3],
            ["U4", "Four", "", 4, "", 2, 0.2], ["U5", "Five", "West", 5, 50, 1, 0.1],
            ["U6", "Six", "West", 5, 50, 1, 0.1]]
    with open(tmp_path / "data.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    spec = {"name": "Tiny", "data": {"path": "data.csv", "unit_code": "code", "unit_name": "name", "groups": [group]},
            "framework": [{"code": "IDX", "name": "Tiny index"}, {"code": pillar, "parent": "IDX", "weight": 1},
                          {"code": "P2", "parent": "IDX", "weight": 3}, {"code": "a", "parent": pillar},
                          {"code": "b", "parent": pillar}, {"code": "c", "parent": "P2", "direction": -1},
                          {"code": "d", "parent": "P2", "weight": weight_d}],
            "pipeline": [{"step": "normalise", "method": "min_max", "l": 0, "u": 100},
                         {"step": "aggregate", "method": "arithmetic"}],
            "tiers": {"by": "rank", "cutoffs": [2], "labels": ['Top "1" %s', "Rest"]}, "subrankings": [group]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return IndexView.from_result(build(tmp_path / "spec.yaml"))


@pytest.mark.parametrize("weights", [{"P2": 1.0}, {"a": 0.0}, {"b": 2.0, "d": 0.5}, {}])
def test_json_writer_with_awkward_names_and_a_missing_group(tmp_path, weights) -> None:  # type: ignore[no-untyped-def]
    """Quotes, %, non-ASCII in names, keys and tier labels; a unit without a group; a tie (U5, U6)."""
    v = _tiny(tmp_path, pillar="P%s1", group='re%gion"', name='O"ne %s é\\')
    assert v.rescorer().row_template is not None
    assert v.rescore_json(weights) == _json_bytes(v.rescore(weights))
    rows = {x["unit"]: x for x in v.rescore(weights)["ranking"]}
    assert rows["U4"]['rank_in_re%gion"'] is None and rows["U5"]["rank"] == rows["U6"]["rank"]


@pytest.mark.parametrize("weights", [{"d": -0.0}, {"d": 0.0}, {"a": -0.0}, {"d": 2.0}])
def test_json_writer_keeps_the_sign_of_a_zero_weight(tmp_path, weights) -> None:  # type: ignore[no-untyped-def]
    """−0.0 is a valid weight (≥ 0) and JSON writes it "-0.0": it must not be taken for a published 0.0."""
    v = _tiny(tmp_path, weight_d=0.0)
    assert v.rescore_json(weights) == _json_bytes(v.rescore(weights))


def test_json_writer_falls_back_to_the_dict_when_row_keys_collide(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A pillar coded "score" overwrites the dict's index score (as it always did); the bytes follow the dict."""
    v = _tiny(tmp_path, pillar="score")
    assert v.rescorer().row_template is None
    for w in ({"P2": 1.0}, {"a": 0.0}):
        assert v.rescore_json(w) == _json_bytes(v.rescore(w))


_SCORES = st.lists(st.sampled_from([0.0, 1.5, 2.0, 2.0, 3.25, -1.0, math.nan]) | st.floats(-5, 5), max_size=40)


@settings(max_examples=300, deadline=None)
@given(s=_SCORES, data=st.data())
def test_one_sort_ranks_equal_the_engines(s: list[float], data: Any) -> None:
    x = np.array(s, dtype=float)
    codes = [np.array(data.draw(st.lists(st.integers(-1, 3), min_size=len(s), max_size=len(s))), dtype=np.int64)
             for _ in range(2)]
    rank, subs = desc_ranks(x, codes)
    if len(x):
        assert np.array_equal(rank, rank_desc(x), equal_nan=True)
    for c, got in zip(codes, subs, strict=True):
        assert np.array_equal(got, group_ranks_coded(x, c), equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from([1.0, 2.0, 2.0, 3.0, math.nan]) | st.integers(1, 30).map(float),
                                st.sampled_from([1.0, 5.0, math.nan]) | st.integers(1, 30).map(float)),
                      max_size=30))
def test_spearman_is_pandas(pairs: list[tuple[float, float]]) -> None:
    a = np.array([p[0] for p in pairs], dtype=float)
    b = np.array([p[1] for p in pairs], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on a constant input (ρ undefined: NaN)
        want = pd.Series(a).corr(pd.Series(b), method="spearman")
    got = spearman(a, b)
    assert (math.isnan(got) and math.isnan(want)) or got == want


def test_all_zero_group_on_the_shipped_index_is_422(fclient) -> None:  # type: ignore[no-untyped-def]
    r = fclient.post("/api/score", json={"weights": {"trading_venues": 0}})  # IND_FM's only indicator
    assert r.status_code == 422
    assert "all weights under 'IND_FM' are zero" in r.json()["detail"] and "trading_venues" in r.json()["detail"]


def test_score_body_is_gzipped_for_a_browser_and_plain_otherwise(fclient) -> None:  # type: ignore[no-untyped-def]
    body = {"weights": {"IND": 2.0}}
    gz = fclient.post("/api/score", json=body, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    plain = fclient.post("/api/score", json=body, headers={"Accept-Encoding": "identity"})
    assert gz.headers["content-encoding"] == "gzip" and "accept-encoding" in gz.headers["vary"].lower()
    assert int(gz.headers["content-length"]) < len(gz.content) / 2  # sent compressed, decoded by the client
    assert "content-encoding" not in plain.headers and int(plain.headers["content-length"]) == len(plain.content)
    assert gz.content == plain.content  # the same JSON


def test_every_response_carries_server_timing(fclient) -> None:  # type: ignore[no-untyped-def]
    for method, path, kw in (("GET", "/api/health", {}), ("POST", "/api/score", {"json": {"weights": {"IND": 2}}}),
                             ("POST", "/api/score", {"json": {"weights": {"NOPE": 1}}}),  # an error too
                             ("GET", "/", {})):
        t = time.perf_counter()
        r = fclient.request(method, path, **kw)
        took_ms = (time.perf_counter() - t) * 1e3
        m = re.fullmatch(r"app;dur=(\d+\.\d{3})", r.headers.get("server-timing", ""))
        assert m, (path, r.status_code, r.headers.get("server-timing"))
        assert 0 < float(m.group(1)) <= took_ms  # the app's part of what the client waited for
    assert json.loads(fclient.post("/api/score", json={"weights": {}}).content)["ranking"]
