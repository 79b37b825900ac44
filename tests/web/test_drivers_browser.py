"""In headless Chromium over the default fintech index: the "Driven by" column of Build your own index (the
in-browser split of each score change by weight equals the Python one and sums to the change), and the slope chart's
de-overlapped labels. Screenshots: /tmp/web-shots/fintech_weights_drivers.png, fintech_editions_labels.png."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from hubindex.web._drivers import decompose

SHOTS = Path("/tmp/web-shots")
pytestmark = pytest.mark.browser


def _post(page, path: str, body: dict):  # type: ignore[no-untyped-def]
    req = urllib.request.Request(f"{page.base}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())  # noqa: S310 - loopback test server


def _clean(page) -> None:  # type: ignore[no-untyped-def]
    assert page.errors == [], page.errors
    assert page.outside == [], f"requests left the server: {page.outside}"


def _python_split(result, weights, method):  # type: ignore[no-untyped-def]
    fw = result.framework
    norm = result.datasets["Normalised"].reindex(index=result.units)
    w0 = result.weights["weight"].reindex(list(fw.codes)).to_numpy(float)
    w1 = w0.copy()
    for c, x in weights.items():
        w1[fw.index_of(c)] = x
    return decompose(fw, {c: norm[c].to_numpy(float) for c in fw.indicators}, w0, w1,
                     {c: method for c in fw.aggregates}, None)


JS_SPLIT = """w => { const d = window.hubindex.decomposeDrivers(w);
  return {changed: d.changed, method: d.method, delta: Array.from(d.delta),
          contrib: d.contrib.map(c => Array.from(c, x => Number.isNaN(x) ? null : x))}; }"""


def test_weights_driven_by_column(fpage, fintech_result) -> None:
    page = fpage
    weights = {"IND": 3.0, "qs_top200": 0.2, "CON_USE": 1.5}
    page.goto(f"{page.base}/#/weights?w=IND:3,qs_top200:0.2,CON_USE:1.5")
    page.wait_for_selector("#weights-table tbody tr td.drv details")
    api = _post(page, "/api/score", {"weights": weights})
    by = {x["unit"]: x for x in api["ranking"]}
    names = {c: c for c in weights}
    # every row's label names its largest contribution, as the server computes it
    rows = page.eval_on_selector_all("#weights-table > tbody > tr", """rs => rs.map(r => [r.dataset.unit,
        r.querySelector('td.drv summary') ? r.querySelector('td.drv summary').textContent : null])""")
    assert len(rows) == 91
    for u, label in rows:
        d = by[u]["drivers"]
        code, c = max(d.items(), key=lambda kv: abs(kv[1]))
        if abs(c) < 1e-12:
            continue
        arrow = "↑" if weights[code] > 1 else "↓"
        assert label == f"{names[code]} weight {arrow} {'+' if c >= 0 else '−'}{abs(c):.1f}", (u, label, d)
    # the detail popover of the biggest mover lists every changed weight and the total
    mover = max(api["ranking"], key=lambda x: abs(x["move"] or 0))
    row = page.locator(f'#weights-table > tbody > tr[data-unit="{mover["unit"]}"]')
    row.locator("td.drv summary").click()
    pop = row.locator(".drv-pop")
    pop.locator("tfoot").wait_for()
    assert pop.is_visible()
    assert pop.locator("tbody tr").count() == 3
    total = pop.locator("tfoot td.num").text_content()
    want = mover["score_change"]
    assert total == f"{'+' if want >= 0 else '−'}{abs(want):.2f}"
    assert "Exact decomposition" in page.text_content("#drivers-note")
    page.screenshot(path=str(SHOTS / "fintech_weights_drivers.png"), full_page=False)
    row.locator("td.drv summary").click()

    # JS split == Python split (exact, arithmetic), and sums to the change to 1e-9
    js = page.evaluate(JS_SPLIT, weights)
    py = _python_split(fintech_result, weights, "arithmetic")
    assert js["method"] == py.method == "exact" and js["changed"] == py.changed
    C = np.array(js["contrib"], dtype=float).T
    np.testing.assert_allclose(C, py.contributions, atol=1e-9)
    np.testing.assert_allclose(C.sum(axis=1), np.array(js["delta"]), atol=1e-9)
    np.testing.assert_allclose(np.array(js["delta"]), py.delta, atol=1e-9)

    # non-linear aggregation (median at every level): JS Shapley values == Python's, exact and sampled
    for w in ({"IND": 2.5, "CON_USE": 0.3, "ECO": 1.7},
              {c: 0.5 + 0.3 * k for k, c in enumerate(["IND", "CON", "ECO", "IND_FF", "IND_FM", "CON_USE",
                                                       "IND_FL", "ECO_TAL", "ECO_ECO", "ECO_INS"])}):
        js = page.evaluate("""w => { const saved = JSON.stringify(D.aggregation); D.aggregation.method = "median";
            D.aggregation.by_level = {}; IX.baseVals = null;
            try { const d = window.hubindex.decomposeDrivers(w);
              return {changed: d.changed, method: d.method, delta: Array.from(d.delta),
                      contrib: d.contrib.map(c => Array.from(c, x => Number.isNaN(x) ? null : x))}; }
            finally { D.aggregation = JSON.parse(saved); IX.baseVals = null; } }""", w)
        py = _python_split(fintech_result, w, "median")
        assert js["method"] == py.method and js["changed"] == py.changed
        C = np.array(js["contrib"], dtype=float).T
        ok = ~np.isnan(C).any(axis=1)
        assert ok.all() == (~np.isnan(py.contributions).any(axis=1)).all()
        np.testing.assert_allclose(C[ok].sum(axis=1), np.array(js["delta"])[ok], atol=1e-9)
        if py.method == "shapley":  # the sampled split depends on the random orders (different generators)
            np.testing.assert_allclose(C, py.contributions, atol=1e-9)

    # timing: ranking + split on a slider move, median of 100
    ms = page.evaluate("""() => { const t = []; for (let i = 0; i < 100; i++) { const a = performance.now();
        const w = {IND: 1 + i / 50, CON_USE: 2}; const v = window.hubindex.computeScores(w);
        window.hubindex.computeRanking(w, v); window.hubindex.decomposeDrivers(w, v); t.push(performance.now() - a); }
        t.sort((x, y) => x - y); return t[50]; }""")
    print(f"in-browser re-rank + split by weight: median {ms:.3f} ms (91 cities)")
    assert ms < 16
    _clean(page)


def test_slope_chart_labels_do_not_overlap(fpage) -> None:
    """Scores of many movers crowd together: the labels on each side are pushed apart (no two boxes overlap)
    and the ones that moved are tied to their point by a leader line."""
    page = fpage
    page.goto(f"{page.base}/#/editions?a=2021&b=2025&metric=score&n=30")
    page.wait_for_selector("#slope-chart .main-svg")
    page.wait_for_selector("#slope-chart .annotation")
    boxes = page.eval_on_selector_all("#slope-chart g.annotation", """gs => gs.map(g => {
        const r = g.querySelector('.annotation-text-g').getBoundingClientRect();
        return {l: r.left, r: r.right, t: r.top, b: r.bottom, txt: g.textContent}; })""")
    assert len(boxes) == 60
    mid = (min(b["l"] for b in boxes) + max(b["r"] for b in boxes)) / 2
    for side in (True, False):
        bs = sorted((b for b in boxes if (b["r"] < mid) == side), key=lambda b: b["t"])
        assert len(bs) == 30
        for a, b in zip(bs, bs[1:], strict=False):
            assert b["t"] >= a["b"] - 1.5, f"labels overlap: {a['txt']!r} and {b['txt']!r}"
    # the de-overlap itself: order kept, minimum gap, bounds, and points with room stay put
    out = page.evaluate("() => window.relaxLabels([10, 11, 12, 100, 101, 300], 14, 0, 400)")
    # 10, 11, 12 relax around their mean (−3, 11, 25), then the lower bound 0 pushes them up: 0, 14, 28
    assert out == pytest.approx([0, 14, 28, 93.5, 107.5, 300], abs=1e-3)
    assert all(b - a >= 14 - 1e-6 for a, b in zip(sorted(out), sorted(out)[1:], strict=False))
    assert out[5] == 300 and out[0] >= 0 and sorted(range(6), key=lambda i: out[i]) == [0, 1, 2, 3, 4, 5]
    assert page.evaluate("() => window.relaxLabels([5, 5, 5], 14, 0, 20)") == pytest.approx([0, 10, 20])
    page.locator("#slope-chart").screenshot(path=str(SHOTS / "fintech_editions_labels.png"))
    _clean(page)
