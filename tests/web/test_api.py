"""HTTP API: every endpoint, bad requests, the token rule, size bounds; POST /api/score against a rebuild."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubindex.api import build
from hubindex.web import create_app
from hubindex.web.app import MAX_BODY


def test_read_endpoints(client, asem_result) -> None:
    r = asem_result
    meta = client.get("/api/meta").json()
    assert meta["name"] == r.spec.name and meta["spec_hash"] == r.run_record["spec_hash"]
    assert "citation" in meta and "licence" in meta
    units = client.get("/api/units").json()
    assert [u["unit"] for u in units] == r.units
    assert units[0]["EurAsia_group"] == r.groups.iloc[0]["EurAsia_group"]
    inds = client.get("/api/indicators").json()
    assert [i["code"] for i in inds] == list(r.framework.indicators)
    lpi = next(i for i in inds if i["code"] == "LPI")
    assert lpi["name"] == "Logistics Performance Index" and lpi["unit"] == "Score 1-5"
    assert lpi["coverage"] == pytest.approx(r.datasets["Raw"]["LPI"].notna().mean())
    fw = client.get("/api/framework").json()
    assert fw["index"] == r.index_code and fw["pillars"] == r.pillars()
    nodes = {n["code"]: n for n in fw["nodes"]}
    # effective weights of the indicators sum to 1 (product of sibling-rescaled weights up the tree)
    assert sum(n["effective"] for n in nodes.values() if n["is_indicator"]) == pytest.approx(1.0)
    assert nodes["Conn"]["children"] == list(r.framework.children("Conn"))
    sc = client.get("/api/scores").json()
    j = sc["columns"].index(r.index_code)
    got = np.array([row[j] for row in sc["data"]], dtype=float)
    np.testing.assert_allclose(got, r.index_scores.to_numpy(), rtol=0, atol=1e-12)
    rk = client.get("/api/ranks").json()
    assert [row[rk["columns"].index(r.index_code)] for row in rk["data"]] == r.index_ranks.tolist()
    ranking = client.get("/api/ranking").json()
    assert [x["unit"] for x in ranking] == r.ranking()["unit"].tolist()
    assert ranking[0]["rank"] == 1 and "rank_in_EurAsia_group" in ranking[0] and "rank_Conn" in ranking[0]
    assert client.get("/api/health").json()["n_units"] == len(r.units)


def test_downloads(client, asem_result) -> None:
    csv = client.get("/api/ranking?format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("Rank,Code,Name,")  # the header first: no comment lines above it
    df = pd.read_csv(io.StringIO(csv.text))
    assert df["Code"].tolist() == asem_result.ranking()["unit"].tolist()
    assert "Connectivity score" in df.columns  # pillar names, not codes
    np.testing.assert_array_equal(df["Score"], asem_result.ranking()["score"].round(2))
    xl = client.get("/api/ranking?format=xlsx")
    sheets = pd.read_excel(io.BytesIO(xl.content), sheet_name=None)
    assert set(sheets) == {"ranking", "README"} and len(sheets["ranking"]) == len(asem_result.units)
    assert client.get("/api/ranking?format=pdf").status_code == 422


def test_profile(client, asem_result) -> None:
    r = asem_result
    p = client.get("/api/units/DEU").json()
    assert p["rank"] == int(r.index_ranks["DEU"]) and p["score"] == pytest.approx(r.index_scores["DEU"])
    inds = [n for n in p["nodes"] if n["is_indicator"] and n["rank"] is not None]
    best = min(n["rank"] for n in inds)
    worst = max(n["rank"] for n in inds)
    by_code = {n["code"]: n for n in p["nodes"]}
    assert by_code[p["strengths"][0]]["rank"] == best
    assert by_code[p["weaknesses"][0]]["rank"] == worst
    assert all(by_code[c]["rank"] <= by_code[d]["rank"] for c, d in zip(p["strengths"], p["strengths"][1:], strict=False))
    lpi = by_code["LPI"]
    assert lpi["raw"] == pytest.approx(r.datasets["Raw"].at["DEU", "LPI"])
    assert lpi["rank"] == int(r.ranks.at["DEU", "LPI"]) and lpi["imputed"] is False
    assert p["groups"]["EurAsia_group"]["rank"] == int(r.subranks.at["DEU", "rank_in_EurAsia_group"])
    # a group without a spec sub-ranking is ranked by index score within the group all the same
    g = r.groups["GDPpc_group"]
    peers = r.index_scores[g == g["AUT"]]
    aut = client.get("/api/units/AUT").json()["groups"]["GDPpc_group"]
    assert aut["rank"] == int((peers > peers["AUT"]).sum() + 1) and aut["n"] == len(peers)
    assert "DEU" in p["neighbours"] and "DEU" not in p["similar"] and len(p["similar"]) == 5
    assert len(client.get("/api/units/DEU?k=3").json()["strengths"]) == 3
    nf = client.get("/api/units/NOPE")
    assert nf.status_code == 404 and "unknown unit 'NOPE'" in nf.json()["detail"]
    assert client.get("/api/units/DEU?k=0").status_code == 422


def test_score_equals_rebuild_with_those_weights(client, asem_result) -> None:
    """POST /api/score must give exactly the ranking of a full rebuild whose spec carries the same weights."""
    weights = {"Conn": 3.0, "Sust": 1.0, "Physical": 0.0, "LPI": 2.5}
    got = client.post("/api/score", json={"weights": weights})
    assert got.status_code == 200
    js = got.json()
    spec = asem_result.spec
    d = spec.model_dump()
    d["framework"] = [{**n, "weight": weights.get(n["code"], n["weight"])} for n in d["framework"]]
    ref = build(type(spec).model_validate(d))
    by_unit = {x["unit"]: x for x in js["ranking"]}
    for u in ref.units:
        assert by_unit[u]["rank"] == int(ref.index_ranks[u])
        assert by_unit[u]["score"] == pytest.approx(ref.index_scores[u], abs=1e-9)
        assert by_unit[u]["published_rank"] == int(asem_result.index_ranks[u])
        assert by_unit[u]["move"] == int(asem_result.index_ranks[u] - ref.index_ranks[u])
        assert by_unit[u]["rank_in_EurAsia_group"] == int(ref.subranks.at[u, "rank_in_EurAsia_group"])
    assert js["rescaled"]["Conn"] == pytest.approx(0.75)
    # unchanged weights reproduce the published ranking, Spearman 1
    same = client.post("/api/score", json={"weights": {}}).json()
    assert all(x["move"] == 0 for x in same["ranking"]) and same["spearman_vs_published"] == pytest.approx(1.0)


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"weights": {"Conn": -1}}, 422, "greater than or equal to 0"),
    ({"weights": {"Conn": "heavy"}}, 422, "weights.Conn"),
    ({"weights": {"Conn": 1e9}}, 422, "less than or equal"),
    ({"weights": {"NOPE": 1}}, 400, "unknown node code(s) ['NOPE']"),
    ({"weights": {"Conn": 0, "Sust": 0}}, 422, "all weights under 'Index' are zero"),
    ({"weights": {"Conn": 1}, "extra": 1}, 422, "extra"),
    ({}, 422, "weights"),
    ([1, 2], 422, "invalid request"),
])
def test_score_bad_requests(client, body, status, needle) -> None:
    r = client.post("/api/score", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_score_rejects_non_json_and_too_many_weights(client) -> None:
    r = client.post("/api/score", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    many = {f"n{i}": 1 for i in range(5001)}
    # the body (~59 KB) is within the size bound, so it is read and refused by validation: 422, not 413
    assert len(json.dumps({"weights": many}).encode()) < MAX_BODY
    r = client.post("/api/score", json={"weights": many})
    assert r.status_code == 422 and "at most 5000" in r.json()["detail"]


def test_body_size_bound(client) -> None:
    big = b'{"weights": {"Conn": 1}, "pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
    r = client.post("/api/score", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"x" * (MAX_BODY // 4)

    r = client.post("/api/score", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_token_rule(asem_result, tmp_path) -> None:
    no_token = TestClient(create_app(asem_result))
    r = no_token.post("/api/admin/reload")
    assert r.status_code == 403 and "disabled" in r.json()["detail"]
    assert no_token.post("/api/admin/dataset", content=b"a,b\n").status_code == 403
    with_token = TestClient(create_app(asem_result, token="s3cret"))
    assert with_token.post("/api/admin/reload").status_code == 401
    assert with_token.post("/api/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert with_token.post("/api/admin/reload", headers={"Authorization": "Basic s3cret"}).status_code == 401
    ok = with_token.post("/api/admin/reload", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.json()["n_units"] == len(asem_result.units)


def test_dataset_upload(asem_result) -> None:
    c = TestClient(create_app(asem_result, token="t"))
    auth = {"Authorization": "Bearer t"}
    src = asem_result.spec.resolve(asem_result.spec.data.paths[0])
    df = pd.read_csv(src)
    df.loc[df[asem_result.spec.data.unit_code] == "BGD", "LPI"] = 1e6  # BGD becomes the best on LPI
    r = c.post("/api/admin/dataset", content=df.to_csv(index=False).encode(), headers=auth)
    assert r.status_code == 200, r.text
    assert c.get("/api/units/BGD").json()["nodes"][0]["rank"] == 1
    bad = c.post("/api/admin/dataset", content=b"uCode,foo\nX,1\n", headers=auth)
    assert bad.status_code == 400 and "rejected" in bad.json()["detail"]
    assert c.get("/api/units/BGD").json()["nodes"][0]["rank"] == 1  # unchanged after a failed upload
    assert c.post("/api/admin/dataset", content=b"  ", headers=auth).status_code == 400
    c.post("/api/admin/reload", headers=auth)
    assert c.get("/api/units/BGD").json()["nodes"][0]["rank"] != 1  # reload restores the data on disk


def test_audit_endpoint(client, monkeypatch) -> None:
    import hubindex.audit as A

    def no_such_name(name: str) -> None:
        raise AttributeError(name)

    monkeypatch.delattr(A, "summary", raising=False)
    monkeypatch.setattr(A, "__getattr__", no_such_name)  # the package's lazy names: none any more
    r = client.get("/api/audit")
    assert r.status_code == 404 and "not available" in r.json()["detail"]


def test_audit_endpoint_with_summary(asem_result, monkeypatch) -> None:
    import hubindex.audit as A

    calls = []

    def summary(res, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        return {"rank_intervals": {u: [1, 2] for u in res.units}, "table": pd.DataFrame({"a": [np.float64(1.5)]})}

    monkeypatch.setattr(A, "summary", summary, raising=False)
    c = TestClient(create_app(asem_result))
    js = c.get("/api/audit").json()
    assert js["rank_intervals"]["DEU"] == [1, 2] and js["table"]["data"] == [[1.5]]
    c.get("/api/audit")
    assert calls == [1]  # cached


def test_docs_are_offline(client) -> None:
    html = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert "<script>" not in html  # no inline script: a strict Content-Security-Policy can allow it
    for f in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "LICENSE.txt"):
        assert client.get(f"/static/vendor/swagger-ui/{f}").status_code == 200, f
    # the bundle is Swagger UI 5 (reads OpenAPI 3.1, which FastAPI emits)
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    spec = client.get("/openapi.json").json()
    for path in ("/api/units", "/api/units/{unit}", "/api/indicators", "/api/framework", "/api/scores",
                 "/api/ranks", "/api/ranking", "/api/score", "/api/audit", "/api/admin/reload"):
        assert path in spec["paths"], path
    assert client.get("/redoc").status_code == 404


def test_downloads_without_internal_suffix(fclient) -> None:
    """The shipped spec's "(hubindex default)" is not in downloaded files' name or citation lines."""
    for fmt in ("csv", "json"):
        assert "hubindex default" not in fclient.get(f"/api/ranking?format={fmt}").text, fmt


def test_compression(client) -> None:
    """gzip for pages, JSON and scripts when the browser accepts it; Plotly compressed once and kept in memory."""
    gz = {"Accept-Encoding": "gzip"}
    for path in ("/api/bootstrap", "/static/app.js", "/api/ranking", "/vendor/plotly.min.js",
                 "/static/vendor/swagger-ui/swagger-ui-bundle.js"):
        r = client.get(path, headers=gz)
        assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip", path
        raw = client.get(path, headers={"Accept-Encoding": "identity"})
        assert raw.headers.get("content-encoding") is None and r.content == raw.content, path  # same bytes decoded
    plain = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert int(plain.headers["content-length"]) > 3_000_000
    import gzip as _gz

    with client.stream("GET", "/vendor/plotly.min.js", headers=gz) as s:
        wire = b"".join(s.iter_raw())
    assert len(wire) < 0.35 * len(plain.content) and _gz.decompress(wire) == plain.content


def test_static_assets(client) -> None:
    page = client.get("/").text
    assert "/static/app.js" in page and "http" not in page.replace("http-equiv", "")
    assert client.get("/vendor/plotly.min.js").status_code == 200
    geo = client.get("/static/geo/world_110m.json").json()
    assert geo["type"] == "Topology"
    js = client.get("/static/app.js").text
    assert "https://" not in js and "http://" not in js


def test_create_app_from_spec_path_and_errors(tmp_path, tiny_spec) -> None:
    c = TestClient(create_app(tiny_spec))
    ranking = c.get("/api/ranking").json()
    assert [x["tier"] for x in ranking][:2] == ["Top", "Top"]
    from hubindex.errors import SpecError

    with pytest.raises(SpecError):
        create_app(tmp_path / "missing.yaml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(min_value=0.01, max_value=10), min_size=2, max_size=2),
       st.floats(min_value=0.1, max_value=20))
def test_score_invariants(client, w, c) -> None:
    """Ranks are a permutation-with-ties of 1..n, and scaling all pillar weights by c changes nothing."""
    a = client.post("/api/score", json={"weights": {"Conn": w[0], "Sust": w[1]}}).json()["ranking"]
    b = client.post("/api/score", json={"weights": {"Conn": w[0] * c, "Sust": w[1] * c}}).json()["ranking"]
    ra = {x["unit"]: x["rank"] for x in a}
    assert ra == {x["unit"]: x["rank"] for x in b}
    ranks = sorted(ra.values())
    assert ranks[0] == 1 and all(ranks[i] <= i + 1 for i in range(len(ranks)))
    scores = [x["score"] for x in a]
    assert scores == sorted(scores, reverse=True)
