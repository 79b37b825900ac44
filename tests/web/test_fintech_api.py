"""The API over the default fintech index: provenance, rank intervals, editions, city extras, downloads.

Every served number is checked against a computation outside the app: the rank intervals against full engine
rebuilds of sampled replications plus plain numpy percentiles (the replications themselves come from a direct
``uncertainty()`` call, the function the app also uses, with the served design), rebuilds of each dataset edition,
the provenance CSV, and hubindex.store's own functions.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

import hubindex.datasets as ds
from hubindex.api import build


@pytest.fixture(scope="module")
def edition_ranks():  # type: ignore[no-untyped-def]
    """Index ranks of every shipped edition, rebuilt here independently of the app."""
    out = {}
    for y in ds.EDITIONS:
        r = build(ds.edition_spec(y))
        out[str(y)] = r.ranks[r.index_code]
    return out


def test_provenance_uses_the_real_columns(fclient, fintech_result) -> None:
    prov = ds.provenance(2025)
    p = fclient.get("/api/units/CN-HGH").json()
    inds = {n["code"]: n for n in p["nodes"] if n["is_indicator"]}
    n_country = 0
    for code, n in inds.items():
        row = prov[(prov["unit"] == "CN-HGH") & (prov["indicator"] == code)].iloc[0]
        pv = n["provenance"]
        assert pv["source"] == row["source"] and pv["scope"] == row["scope"] and pv["derivation"] == row["derivation"]
        assert pv["year"] == int(re.findall(r"(?:19|20)\d\d", str(row["source_date"]))[0])  # '2025-10-07', 'QS 2022'
        assert pv["source_date"] == str(row["source_date"])
        assert pv["source_file"] == row["source_file"]
        assert n["imputed"] == bool(fintech_result.imputed.at["CN-HGH", code])
        n_country += row["scope"] == "country"
    assert n_country > 0 and p["n_country_level"] == n_country
    assert p["coords"] == pytest.approx([30.29365, 120.16142], abs=1e-4)  # latitude/longitude columns
    units = fclient.get("/api/units").json()
    assert all("lat" in u and "lon" in u for u in units) and len(units) == 91


def test_rank_intervals_equal_a_direct_audit_run(fclient, fintech_result) -> None:
    """What this checks: the app serves the 5th/50th/95th percentiles (numpy, over replications) of the ranks of a
    direct uncertainty() run with the served design and seed — the same function the app calls, so this checks the
    wiring (design, seed, percentiles, rounding) — and, independently of the audit's batched arithmetic, that those
    replication ranks are the engine's: 12 sampled replications are rebuilt one by one with hubindex.build on
    the replication's own spec (AuditModel.spec_for) and must give the same Index ranks."""
    from hubindex.audit.model import AuditModel
    from hubindex.audit.uncertainty import uncertainty

    meta = fclient.get("/api/meta").json()["uncertainty"]
    assert meta["n"] == 1000
    if fintech_result.spec.uncertainty:  # the spec's own block is used as declared
        assert meta["notes"][0].startswith("the uncertain choices declared with the index")
    js = fclient.get("/api/uncertainty").json()
    res = uncertainty(fintech_result.spec, js["config"])
    assert res.ranks is not None and res.design is not None and res.ranks.shape == (1000, len(res.units))
    m = AuditModel(fintech_result.spec, res.config)
    for i in np.linspace(0, len(res.ranks) - 1, 12).astype(int):
        one = build(m.spec_for(res.design[i]))
        np.testing.assert_array_equal(one.ranks[one.index_code].reindex(res.units).to_numpy(float), res.ranks[i])
    q = np.nanquantile(res.ranks, [0.05, 0.5, 0.95], axis=0)
    by = {r["unit"]: r for r in js["rows"]}
    for j, u in enumerate(res.units):
        assert by[u]["rank_lo"] == round(q[0, j], 1) and by[u]["rank_hi"] == round(q[2, j], 1)
        assert by[u]["rank_lo"] <= by[u]["rank_median"] <= by[u]["rank_hi"]
    ranking = fclient.get("/api/ranking").json()
    assert all(r["rank_lo"] == by[r["unit"]]["rank_lo"] for r in ranking)
    assert {r["unit"] for r in ranking if r["rank_hi"] - r["rank_lo"] > 0}  # not degenerate


def test_documented_default_design(client, asem_result) -> None:
    """A spec without an uncertainty block gets weights ±25 % per level, min-max/rank, arithmetic/geometric."""
    assert not asem_result.spec.uncertainty
    js = client.get("/api/uncertainty").json()
    cfg = js["config"]
    levels = sorted({int(x) for x in asem_result.framework.level})[:-1]
    assert cfg["weights"]["noise"] == {str(k): 0.25 for k in levels} or cfg["weights"]["noise"] == {
        k: 0.25 for k in levels}
    assert [a["method"] for a in cfg["normalise"]] == ["min_max", "rank"]
    assert [a["method"] for a in cfg["aggregate"]] == ["arithmetic", "geometric"]
    assert js["replications"] == 1000 and len(js["rows"]) == len(asem_result.units)


def test_uncertainty_for_user_weights(fclient) -> None:
    base = fclient.get("/api/uncertainty").json()
    same = fclient.post("/api/uncertainty", json={"weights": {"IND": 1, "CON": 1, "ECO": 1}}).json()
    assert [r["rank_lo"] for r in same["rows"]] == [r["rank_lo"] for r in base["rows"]]  # same seed, same weights
    other = fclient.post("/api/uncertainty", json={"weights": {"IND": 5, "CON": 0.2}, "n": 2000}).json()
    assert other["replications"] == 2000 and other["elapsed_ms"] > 0
    assert [r["rank_median"] for r in other["rows"]] != [r["rank_median"] for r in base["rows"]]
    # bounded and validated
    assert fclient.post("/api/uncertainty", json={"weights": {}, "n": 5001}).status_code == 422
    r = fclient.post("/api/uncertainty", json={"weights": {"NOPE": 1}})
    assert r.status_code == 400 and "unknown node" in r.json()["detail"]
    r = fclient.post("/api/uncertainty", json={"weights": {"IND": 0, "CON": 0, "ECO": 0}})
    assert r.status_code == 422 and "all weights under 'GFHI' are zero" in r.json()["detail"]


def test_change_column_and_editions(fclient, fintech_result, edition_ranks) -> None:
    e = fclient.get("/api/editions").json()
    assert [x["label"] for x in e["editions"]] == ["2021", "2022", "2023", "2024", "2025"]
    assert e["current"] == "2025" and e["previous"] == "2024" and "recomputed from the shipped dataset" in e["source"]
    prev, cur = edition_ranks["2024"], fintech_result.ranks["GFHI"]
    for r in fclient.get("/api/ranking").json():
        assert r["change"] == int(prev[r["unit"]] - cur[r["unit"]])
        assert r["prev_rank"] == prev[r["unit"]]
    d = fclient.get("/api/editions/diff", params={"a": "2021", "b": "2025"}).json()
    assert len(d["rows"]) == 91
    for row in d["rows"]:
        assert row["rank_change"] == edition_ranks["2021"][row["unit"]] - edition_ranks["2025"][row["unit"]]
        if row["score_a"]:
            assert row["rel_score_change"] == pytest.approx(100 * row["score_change"] / abs(row["score_a"]))
    s = d["summary"]
    moved = [r["rank_change"] for r in d["rows"]]
    assert s["up"] == sum(m > 0 for m in moved) and s["down"] == sum(m < 0 for m in moved)
    assert s["up"] + s["down"] + s["unchanged"] == 91 and s["by_group"]
    h = fclient.get("/api/units/CN-HGH/history").json()["rows"]
    assert [x["rank"] for x in h] == [edition_ranks[y]["CN-HGH"] for y in ("2021", "2022", "2023", "2024", "2025")]
    assert h[0]["rank_change"] is None and h[1]["rank_change"] == h[0]["rank"] - h[1]["rank"]
    er = fclient.get("/api/editions/2022").json()["rows"]
    assert er[0]["rank"] == 1 and len(er) == 91
    assert fclient.get("/api/editions/1999").status_code == 404
    assert fclient.get("/api/editions/diff", params={"a": "2024", "b": "1999"}).status_code == 404
    assert fclient.get("/api/units/NOPE/history").status_code == 404


def test_editions_from_a_store(fintech_result, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from hubindex.store import EditionStore, build_editions, diff
    from hubindex.web import create_app

    store = EditionStore(tmp_path / "ed.duckdb")
    build_editions(store, [2024, 2025])
    c = TestClient(create_app(fintech_result, store=tmp_path / "ed.duckdb", uncertainty_reps=0))
    e = c.get("/api/editions").json()
    assert [x["label"] for x in e["editions"]] == ["2024", "2025"] and e["source"].startswith("edition store")
    want = diff("2024", "2025", store=store).set_index("unit")["rank_change"]
    got = {r["unit"]: r["rank_change"] for r in c.get("/api/editions/diff?a=2024&b=2025").json()["rows"]}
    assert got == want.to_dict()
    assert c.get("/api/uncertainty").status_code == 404  # started without intervals: a clear 404


def test_no_editions_for_other_indexes(client) -> None:
    r = client.get("/api/editions")
    assert r.status_code == 404 and "no editions" in r.json()["detail"]
    assert "change" not in client.get("/api/ranking").json()[0]


def test_what_it_takes_and_rank_range(fclient, fintech_result) -> None:
    from hubindex import store as st

    target = 10  # Hangzhou ranks 19th in the 2025 edition: the target is not already met
    assert fintech_result.ranking().set_index("unit").at["CN-HGH", "rank"] > target
    js = fclient.get("/api/units/CN-HGH/what-it-takes", params={"rank": target}).json()
    ref = st.WhatIf.from_spec(fintech_result.spec).single("CN-HGH", rank=target)
    got = {x["indicator"]: x for x in js["single"]}
    nat = {x["indicator"]: x for x in js["national_context"]}
    # city levers in "single", national values (country proxies) apart, as national context
    assert set(got) == set(ref.loc[ref["lever"].astype(bool), "indicator"])
    assert set(nat) == set(ref.loc[~ref["lever"].astype(bool), "indicator"]) and nat
    assert all(x["scope"] == "city" for x in got.values()) and all(x["scope"] != "city" for x in nat.values())
    for _, row in ref.iterrows():
        x = (got if row["lever"] else nat)[row["indicator"]]
        assert x["reachable"] == bool(row["reachable"])
        if row["reachable"]:
            assert x["required"] == pytest.approx(row["required"])
            assert x["rank_after"] <= target
    assert js["combination"]["status"] == "optimal" and js["combination"]["check_met"] is True
    assert not set(js["combination"]["moved"]) & set(nat) and js["combination"]["best_reachable"]["rank"] >= 1
    assert all(x["scope"] == "city" for x in js["combination"]["plan"])
    both = fclient.get("/api/units/CN-HGH/what-it-takes", params={"rank": target, "include_national": "true"}).json()
    assert both["national_context"] == [] and {x["indicator"] for x in both["single"]} == set(got) | set(nat)
    assert set(both["combination"]["moved"]) >= set(nat)
    assert fclient.get("/api/units/CN-HGH/what-it-takes").status_code == 422
    assert fclient.get("/api/units/CN-HGH/what-it-takes", params={"rank": 3, "tier": "next"}).status_code == 422
    assert fclient.get("/api/units/NOPE/what-it-takes", params={"rank": 3}).status_code == 404
    r = fclient.get("/api/units/GB-LON/what-it-takes", params={"tier": "next"})
    assert r.status_code == 400 and "top tier" in r.json()["detail"]
    rr = fclient.get("/api/units/CN-HGH/rank-range").json()
    ref = st.rank_range(fintech_result, units=["CN-HGH"]).iloc[0]
    assert (rr["best_rank"], rr["worst_rank"]) == (ref["best_rank"], ref["worst_rank"])
    assert rr["best_rank"] <= rr["rank"] <= rr["worst_rank"]
    assert sum(rr["weights_best"].values()) == pytest.approx(1, abs=1e-5)
    assert fclient.get("/api/units/CN-HGH/rank-range", params={"tol": 2}).status_code == 422


def test_targets(fclient) -> None:
    t = fclient.get("/api/units/CN-HGH/targets").json()
    assert t["name"] == "Hangzhou" and len(t["targets"]) >= 1
    assert {x["status"] for x in t["targets"]} <= {"met", "missed", "on track", "off track", "no data"}
    assert fclient.get("/api/units/GB-LON/targets").json()["targets"] == []


@pytest.mark.parametrize("url", ["/api/editions/diff?a=2024&b=2025", "/api/units/CN-HGH/history",
                                 "/api/uncertainty", "/api/indicators", "/api/ranking", "/api/editions/2021"])
def test_every_table_downloads(fclient, url) -> None:
    sep = "&" if "?" in url else "?"
    js = fclient.get(f"{url}{sep}format=json").json()
    rows = js["rows"] if isinstance(js, dict) else js
    csv = fclient.get(f"{url}{sep}format=csv")
    assert csv.status_code == 200 and not csv.text.startswith("#")  # no junk rows above the header
    df = pd.read_csv(io.StringIO(csv.text))
    assert len(df) == len(rows)
    x = fclient.get(f"{url}{sep}format=xlsx")
    book = pd.read_excel(io.BytesIO(x.content), sheet_name=None)
    assert len(next(iter(book.values()))) == len(rows)
    assert any("citation" in str(v) for v in book["README"]["about"])


def test_export_endpoint(fclient) -> None:
    body = {"name": "my_table", "format": "xlsx", "columns": ["unit", "score"],
            "rows": [{"unit": "A", "score": 1.5, "ignored": 1}, {"unit": "B"}], "view": "http://x/#/compare"}
    r = fclient.post("/api/export", json=body)
    book = pd.read_excel(io.BytesIO(r.content), sheet_name=None)
    assert list(book["my_table"].columns) == ["unit", "score"] and book["my_table"]["score"].isna().tolist() == [False, True]
    assert any("view: http://x/#/compare" in str(v) for v in book["README"]["about"])
    r = fclient.post("/api/export", json={**body, "format": "csv"})
    assert 'filename="my_table.csv"' in r.headers["content-disposition"] and r.text.splitlines()[-1] == "B,"
    assert fclient.post("/api/export", json={**body, "name": "../etc"}).status_code == 422
    assert fclient.post("/api/export", json={**body, "format": "pdf"}).status_code == 422
    big = {**body, "rows": [{"unit": "x" * 100}] * 60000}
    assert fclient.post("/api/export", json=big).status_code == 413
