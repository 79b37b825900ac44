"""HTTP hardening (issue 12 item 4, web parts): Host check, security headers, spreadsheet-safe exports, weight
validation (subnormal / zero-sum → 422), caches and editions after a dataset upload."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from hubindex.web import create_app
from hubindex.web._security import CSP, allowed_hosts, host_name, one_line, safe_cell


# -- Host header / DNS rebinding ----------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "name"), [("127.0.0.1:8000", "127.0.0.1"), ("[::1]:8000", "::1"), ("[::1]", "::1"),
                                           ("LocalHost", "localhost"), ("hub.example.org.", "hub.example.org"),
                                           ("::1", "::1")])
def test_host_name(raw: str, name: str) -> None:
    assert host_name(raw) == name


def test_allowed_hosts(monkeypatch) -> None:
    monkeypatch.setenv("HUBINDEX_ALLOWED_HOSTS", "a.example, B.example:80")
    h = allowed_hosts("10.0.0.5", ["hub.example.org"])
    assert {"127.0.0.1", "localhost", "::1", "10.0.0.5", "hub.example.org", "a.example", "b.example"} <= h
    assert "0.0.0.0" not in allowed_hosts("0.0.0.0")  # noqa: S104 - a wildcard bind adds no name


def test_unknown_host_is_400_with_security_headers(client) -> None:
    r = client.get("/api/health", headers={"Host": "attacker.example"})
    assert r.status_code == 400 and "attacker.example" in r.json()["detail"]
    assert r.headers["x-frame-options"] == "DENY"
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "testserver"):
        assert client.get("/api/health", headers={"Host": host}).status_code == 200, host


def test_any_host_when_allowed(asem_result) -> None:
    c = TestClient(create_app(asem_result, uncertainty_reps=0, editions=False, allowed_hosts=["*"]))
    assert c.get("/api/health", headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/ranking", "/static/app.js", "/api/units/NOPE",
                                  "/api/ranking?format=csv", "/openapi.json", "/docs"])
def test_security_headers_on_every_response(client, path: str) -> None:
    r = client.get(path)
    h = r.headers
    assert h["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "default-src 'self'" in CSP
    assert "http" not in CSP  # no external origin
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"


# -- exports: CSV / formula injection ------------------------------------------------------------------------
@pytest.mark.parametrize(("v", "out"), [
    ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("-1.5", "-1.5"), ("+3", "+3"), ("-.5e3", "-.5e3"), ("Berlin", "Berlin"), (-2.5, -2.5),
    (3, 3), (None, None), ("-", "'-"), ("", "")])
def test_safe_cell(v, out) -> None:
    assert safe_cell(v) == out


@given(st.text(max_size=40))
def test_safe_cell_never_leaves_a_formula_start(s: str) -> None:
    out = safe_cell(s)
    if s[:1] in ("=", "+", "-", "@", "\t", "\r") and not out.startswith("'"):
        float(s)  # only a plain number is left as it was
    assert out == s or out == "'" + s
    assert "\n" not in one_line(s) and "\r" not in one_line(s)


def test_export_csv_injection_is_neutralised(client) -> None:
    rows = [{"city": "=HYPERLINK(\"http://evil\",\"x\")", "score": -2.5, "note": "-1.5", "cmd": "@SUM(1)",
             "tab": "\tx"},
            {"city": "Berlin", "score": 3, "note": "+1+1", "cmd": "ok", "tab": "-"}]
    body = {"name": "t", "format": "csv", "columns": ["city", "score", "note", "cmd", "tab"], "rows": rows,
            "view": "#/ranking\nuCode,evil\n=1+1,2"}
    r = client.post("/api/export", json=body)
    assert r.status_code == 200, r.text
    text = r.text
    lines = text.splitlines()
    # the CSV is the table only (header row first; the view link travels in the XLSX README sheet and the JSON):
    # the newline in `view` cannot add lines
    assert len(lines) == 3 and lines[0] == "city,score,note,cmd,tab" and "uCode" not in text
    df = pd.read_csv(io.StringIO(text))
    assert df["city"].tolist() == ["'=HYPERLINK(\"http://evil\",\"x\")", "Berlin"]
    assert df["score"].tolist() == [-2.5, 3.0]  # numbers stay numbers
    assert df["note"].tolist() == [-1.5, "'+1+1"] or df["note"].astype(str).tolist() == ["-1.5", "'+1+1"]
    assert df["cmd"].tolist() == ["'@SUM(1)", "ok"]


def test_export_xlsx_has_no_formulas(client) -> None:
    import openpyxl

    body = {"name": "t", "format": "xlsx", "columns": ["=cmd()", "v", "n"],
            "rows": [{"=cmd()": "=1+1", "v": -3, "n": "-4"}], "view": "x\ny"}
    r = client.post("/api/export", json=body)
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    vals = [c.value for c in cells]
    assert "'=cmd()" in vals and "'=1+1" in vals and -3 in vals


# -- weights ---------------------------------------------------------------------------------------------------
def test_subnormal_weight_is_422_not_500(client) -> None:
    r = client.post("/api/score", json={"weights": {"Conn": 1e-310, "Sust": 1e-310}})
    assert r.status_code == 422, r.text
    assert "subnormal" in r.json()["detail"] and "Conn" in r.json()["detail"]


@pytest.mark.parametrize("w", [(1e-12, 1e-12), (1e-12, 1e6), (1e6, 1e6), (1e-6, 0)])
def test_small_and_large_weights_score_finitely(client, w: tuple[float, float]) -> None:
    r = client.post("/api/score", json={"weights": {"Conn": w[0], "Sust": w[1]}})
    assert r.status_code == 200, r.text
    rows = r.json()["ranking"]
    assert all(x["score"] is None or math.isfinite(x["score"]) for x in rows)
    assert all(math.isfinite(c) for x in rows for c in (x["drivers"] or {}).values())


@pytest.mark.parametrize("w", [1e-13, 1e-300, 2.3e-308])
def test_weights_below_the_floor_are_422(client, w: float) -> None:
    r = client.post("/api/score", json={"weights": {"Conn": w, "Sust": w}})
    assert r.status_code == 422 and "too small" in r.json()["detail"], r.text


@pytest.mark.parametrize(("body", "needle"), [
    ({"weights": {"Conn": 0, "Sust": 0}}, "sum to 0"),
    ({"weights": {"Conn": -1}}, "greater than or equal to 0"),
    ({"weights": {"Conn": 5e-324}}, "subnormal")])
def test_bad_weights_are_422(client, body, needle) -> None:
    r = client.post("/api/score", json=body)
    assert r.status_code == 422 and needle in r.json()["detail"], r.text
    r = client.post("/api/uncertainty", json={**body, "n": 10})
    assert r.status_code in (404, 422), r.text  # 404 only where the app has no rank intervals


# -- caches and editions follow the served build ----------------------------------------------------------------
def test_upload_invalidates_profile_rank_range_and_what_it_takes(asem_result) -> None:
    c = TestClient(create_app(asem_result, token="t", uncertainty_reps=0, editions=False))
    auth = {"Authorization": "Bearer t"}
    before = c.get("/api/units/AUT").json()
    rr_before = c.get("/api/units/AUT/rank-range").json()
    src = asem_result.spec.resolve(asem_result.spec.data.paths[0])
    df = pd.read_csv(src)
    code = asem_result.spec.data.unit_code
    for col in ("LPI", "Flights", "Ship", "Bord"):
        df.loc[df[code] == "AUT", col] = df[col].max() * 2  # AUT becomes the best on physical connectivity
    assert c.post("/api/admin/dataset", content=df.to_csv(index=False).encode(), headers=auth).status_code == 200
    after = c.get("/api/units/AUT").json()
    assert after["score"] != before["score"]
    assert after["score"] == pytest.approx(next(x["score"] for x in c.get("/api/ranking").json()
                                                if x["unit"] == "AUT"))
    rr_after = c.get("/api/units/AUT/rank-range").json()
    assert rr_after["rank"] == after["rank"] and rr_after != rr_before
    w = c.get("/api/units/AUT/what-it-takes?rank=1")
    assert w.status_code == 200, w.text  # the uploaded data is still readable after the upload returned


def test_editions_survive_an_upload(fintech_result, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "absent.duckdb"))
    c = TestClient(create_app(fintech_result, token="t", uncertainty_reps=0))
    ed = c.get("/api/editions")
    assert ed.status_code == 200
    src = fintech_result.spec.resolve(fintech_result.spec.data.paths[0])
    r = c.post("/api/admin/dataset", content=src.read_bytes(), headers={"Authorization": "Bearer t"})
    assert r.status_code == 200, r.text
    ed2 = c.get("/api/editions")
    assert ed2.status_code == 200, ed2.text
    assert ed2.json()["current"] == ed.json()["current"]
    assert [e["label"] for e in ed2.json()["editions"]] == [e["label"] for e in ed.json()["editions"]]
    assert c.get("/api/meta").json()["editions"] is not None
