"""GET /api/audit and the Methodology → Audit section: the served numbers equal direct calls of
hubindex.audit.summary / sensitivity; downloads; the section in headless Chromium (screenshot
/tmp/web-shots/fintech_audit.png)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from hubindex.audit import summary
from hubindex.audit.sensitivity import sensitivity
from hubindex.web import create_app
from hubindex.web.app import AUDIT_SOBOL_BOOT, AUDIT_SOBOL_N, AUDIT_TABLES

SHOTS = Path("/tmp/web-shots")


def _close(a, b, where: str) -> None:  # type: ignore[no-untyped-def]
    """Nested JSON equality, floats to 1e-9 relative."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), where
        for k in b:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(b, float) and not isinstance(a, bool):
        assert a == pytest.approx(b, rel=1e-9), where
    else:
        assert a == b, where


def _check_against_direct(c: TestClient, result) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = c.get("/api/audit")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    js = r.json()
    assert {*AUDIT_TABLES, "counts", "thresholds", "uncertainty", "sensitivity", "citation"} <= set(js)
    # coherence: the same as a direct call
    direct = summary(result).to_dict()
    for key in ("indicators", "correlation_flags", "groups", "units_low_availability", "counts", "thresholds"):
        _close(js[key], direct[key], key)
    # rank intervals: the start-up run's (GET /api/uncertainty), not a second run
    unc = c.get("/api/uncertainty").json()
    by = {x["unit"]: x for x in unc["rows"]}
    assert len(js["rank_intervals"]) == len(result.units) == len(by)
    for x in js["rank_intervals"]:
        assert (x["rank_p05"], x["rank_median"], x["rank_p95"]) == (
            by[x["unit"]]["rank_lo"], by[x["unit"]]["rank_median"], by[x["unit"]]["rank_hi"])
        assert x["rank_width"] == pytest.approx(x["rank_p95"] - x["rank_p05"])
    assert js["uncertainty"]["n"] == unc["replications"] and js["uncertainty"]["notes"] == unc["notes"]
    # Sobol: a fresh, direct sensitivity run with the same uncertain choices and N gives the same indices
    sa = sensitivity(result.spec, config=unc["config"], n=AUDIT_SOBOL_N, n_boot=AUDIT_SOBOL_BOOT)
    got = pd.DataFrame(js["sobol"]).set_index("factor")
    assert list(got.index) == list(sa.factors)
    pd.testing.assert_frame_equal(got, sa.indices, check_names=False, atol=1e-12)
    assert js["sensitivity"]["N"] == AUDIT_SOBOL_N and js["sensitivity"]["runs"] == sa.runs
    assert js["sensitivity"]["elapsed_ms"] > 0 and js["sensitivity_error"] is None
    assert c.get("/api/audit").content == r.content  # cached
    return js


def test_audit_api_asem(client, asem_result) -> None:  # type: ignore[no-untyped-def]
    js = _check_against_direct(client, asem_result)
    assert js["counts"]["skew_kurt"] > 0 and js["counts"]["negative"] > 0
    assert [s["factor"] for s in js["sobol"]] == ["normalise", "aggregate", "weights"]  # documented default design


def test_audit_api_fintech(fclient, fintech_result) -> None:  # type: ignore[no-untyped-def]
    js = _check_against_direct(fclient, fintech_result)
    assert [s["factor"] for s in js["sobol"]] == ["columns", "treat", "normalise", "exclude", "aggregate", "weights"]
    assert js["index"] == fintech_result.index_code and js["n_units"] == len(fintech_result.units)


def test_audit_downloads(client) -> None:  # type: ignore[no-untyped-def]
    js = client.get("/api/audit").json()
    r = client.get("/api/audit?table=indicators&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert not r.text.startswith("#") and "attachment" in r.headers["content-disposition"]  # header row first
    df = pd.read_csv(io.StringIO(r.text))
    assert len(df) == len(js["indicators"])
    first_flagged = next(x for x in js["indicators"] if x["flags"])
    row = df.set_index("indicator").loc[first_flagged["indicator"]]
    assert row["flags"] == "; ".join(first_flagged["flags"]) and row["skew"] == pytest.approx(first_flagged["skew"])
    r = client.get("/api/audit?table=sobol&format=json").json()
    assert r["rows"] == js["sobol"] and r["licence"] == js["licence"]
    book = pd.read_excel(io.BytesIO(client.get("/api/audit?format=xlsx").content), sheet_name=None)
    assert set(book) == {*AUDIT_TABLES, "README"}
    assert len(book["groups"]) == len(js["groups"]) and len(book["rank_intervals"]) == len(js["rank_intervals"])
    assert book["sobol"]["ST"].tolist() == pytest.approx([x["ST"] for x in js["sobol"]])
    bad = client.get("/api/audit?format=csv")
    assert bad.status_code == 422 and "table=" in bad.json()["detail"]
    assert client.get("/api/audit?table=nope").status_code == 422
    assert client.get("/api/audit?format=pdf").status_code == 422


def test_audit_without_intervals(asem_result) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(create_app(asem_result, uncertainty_reps=0, editions=False))
    js = c.get("/api/audit").json()
    assert js["rank_intervals"] is None and js["sobol"] is None and "without rank intervals" in js["sensitivity_error"]
    assert js["indicators"]  # coherence still there
    r = c.get("/api/audit?table=sobol&format=csv")
    assert r.status_code == 404 and "not available" in r.json()["detail"]


@pytest.mark.browser
def test_methodology_audit_section(fpage) -> None:  # type: ignore[no-untyped-def]
    page = fpage
    page.goto(f"{page.base}/#/methodology?section=audit")
    page.wait_for_selector("#audit-sobol .trace.bars")
    js = page.evaluate("fetch('/api/audit').then(r => r.json())")
    # flagged indicators and correlation flags as served
    flagged = [x for x in js["indicators"] if x["flags"]]
    assert page.locator("#audit-flags tbody tr").count() == len(flagged) > 0
    codes = page.eval_on_selector_all("#audit-flags tbody tr", "t => t.map(x => x.dataset.code)")
    assert codes == [x["indicator"] for x in flagged]
    assert page.locator("#audit-corr tbody tr").count() == len(js["correlation_flags"])
    assert page.locator("#audit-groups tbody tr").count() == len(js["groups"])
    # Sobol chart: two bar traces (total, first order) with a bar per factor, error whiskers, text alternative
    assert page.locator("#audit-sobol .trace.bars").count() == 2
    assert page.locator("#audit-sobol .trace.bars .point").count() == 2 * len(js["sobol"])
    assert page.locator("#audit-sobol .errorbar").count() >= len(js["sobol"])
    alt = page.text_content("#audit-sobol-alt")
    names = {"treat": "Outlier treatment", "normalise": "Normalisation", "exclude": "Indicator exclusion",
             "aggregate": "Aggregation", "weights": "Weights",
             "columns": "Modelled vs national values"}
    assert all(names[s["factor"]] in alt for s in js["sobol"]) and page.get_attribute("#audit-sobol", "aria-label") == alt
    top = max(js["sobol"], key=lambda s: s["ST"])
    assert f"{names[top['factor']]}: total {top['ST']:.2f} [{top['ST_low']:.2f}–{top['ST_high']:.2f}]" in alt
    ticks = page.eval_on_selector_all("#audit-sobol .ytick text", "t => t.map(x => x.textContent)")
    assert sorted(ticks) == sorted(names[s["factor"]] for s in js["sobol"])
    assert page.locator('.downloads[data-table="audit_sobol"] button').count() == 3
    assert page.get_attribute('a[href="/api/audit?format=xlsx"]', "download") == "audit.xlsx"
    page.locator("#audit-h").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#audit").screenshot(path=str(SHOTS / "fintech_audit.png"))
    with page.expect_download() as dl:
        page.click('.downloads[data-table="audit_indicators"] button[data-fmt="xlsx"]')
    df = pd.read_excel(dl.value.path(), sheet_name="audit_indicators")
    assert len(df) == len(js["indicators"])
    assert page.errors == [], page.errors
    assert page.outside == [], page.outside
