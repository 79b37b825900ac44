"""The dashboard over the default fintech index in headless Chromium: change and interval columns, the city page's
provenance, history, best/worst rank, what it takes and targets, the editions slope chart, rank intervals for
the user's weights, XLSX downloads. Screenshots go to /tmp/web-shots/fintech_*.png."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import hubindex.datasets as ds

SHOTS = Path("/tmp/web-shots")
pytestmark = pytest.mark.browser


def _get(page, path: str):  # type: ignore[no-untyped-def]
    return json.loads(urllib.request.urlopen(f"{page.base}{path}").read())  # noqa: S310 - loopback test server


def _clean(page) -> None:  # type: ignore[no-untyped-def]
    assert page.errors == [], page.errors
    assert page.outside == [], f"requests left the server: {page.outside}"


def test_ranking_change_and_interval_columns(fpage) -> None:
    page = fpage
    page.goto(f"{page.base}/#/ranking")
    page.wait_for_selector("#ranking-table tbody tr")
    assert page.locator("#ranking-table tbody tr").count() == 91
    heads = page.eval_on_selector_all("#ranking-table thead th", "t => t.map(x => x.textContent)")
    assert heads[1].startswith("Change vs 2024") and heads[2].startswith("Rank 5–95 %")
    api = {r["unit"]: r for r in _get(page, "/api/ranking")}
    first = page.locator("#ranking-table tbody tr").first
    u = first.get_attribute("data-unit")
    assert first.locator(".ivl-txt").text_content() == f"{round(api[u]['rank_lo'])}–{round(api[u]['rank_hi'])}"
    page.screenshot(path=str(SHOTS / "fintech_ranking.png"))
    page.click('button[data-col="change"]')  # biggest risers first
    top = page.locator("#ranking-table tbody tr").first.get_attribute("data-unit")
    assert api[top]["change"] == max(r["change"] for r in api.values())
    assert "sort=change" in page.url
    page.screenshot(path=str(SHOTS / "fintech_ranking_by_change.png"))
    with page.expect_download() as dl:
        page.click('.downloads[data-table="ranking_view"] button[data-fmt="xlsx"]')
    df = pd.read_excel(dl.value.path(), sheet_name="ranking_view")
    assert len(df) == 91 and {"change", "rank_lo", "rank_hi"} <= set(df.columns)
    _clean(page)


def test_city_page_provenance_history_whatif(fpage) -> None:
    page = fpage
    page.goto(f"{page.base}/#/city/CN-HGH")
    page.wait_for_selector("#profile-table")
    prof = _get(page, "/api/units/CN-HGH")
    assert page.text_content("#city-interval .stat") == f"{round(prof['rank_lo'])}–{round(prof['rank_hi'])}"
    # provenance: source and year, city/country flag, derivation behind a disclosure
    row = page.locator('#profile-table tr[data-code="regulatory_quality"]')
    assert row.locator(".flag-country").count() == 1
    assert "2023" in row.locator("td.prov summary").text_content()
    row.locator("td.prov summary").click()
    assert row.locator("td.prov dl").is_visible() and "As published" in row.locator("td.prov dl").text_content()
    assert page.locator('#profile-table tr[data-code="fintech_unicorns"] .flag-city').count() == 1
    # a national survey figure spread over Chinese cities by the city covariate is shown as modelled, not as city
    prov = next(n for n in prof["nodes"] if n["code"] == "mobile_instore_pay")["provenance"]
    assert prov["value_level"] == "modelled"
    flag = page.locator('#profile-table tr[data-code="mobile_instore_pay"] .flag-modelled')
    assert flag.count() == 1 and flag.text_content() == "modelled" and "city-level covariate" in flag.get_attribute("title")
    # rank history (chart + table) and best / worst attainable rank
    page.wait_for_selector("#history-chart .main-svg")
    hist = _get(page, "/api/units/CN-HGH/history")["rows"]
    assert page.locator("#history-table tbody tr").count() == len(hist) == 5
    page.wait_for_selector("#best-rank")
    rr = _get(page, "/api/units/CN-HGH/rank-range")
    assert page.text_content("#best-rank") == str(rr["best_rank"]) and page.text_content("#worst-rank") == str(rr["worst_rank"])
    page.wait_for_selector("#targets-list .target")
    # what it takes: rank 10 (Hangzhou is 19th in 2025)
    page.select_option("#goal-kind", "rank")
    page.fill("#goal-rank", "10")
    page.click("#goal-go")
    page.wait_for_selector("#whatif-single tbody tr")
    assert "goal=rank:10" in page.url
    assert page.locator("#whatif-plan tbody tr").count() >= 1
    # national values apart (issue 17): a national-context table, none of them in the plan; the switch adds them
    page.wait_for_selector("#whatif-national-table tbody tr")
    wi = _get(page, "/api/units/CN-HGH/what-it-takes?rank=10")
    nat = {x["indicator"] for x in wi["national_context"]}
    shown = {page.locator("#whatif-national-table tbody tr").nth(i).get_attribute("data-code")
             for i in range(page.locator("#whatif-national-table tbody tr").count())}
    assert shown == nat and nat
    single = {page.locator("#whatif-single tbody tr").nth(i).get_attribute("data-code")
              for i in range(page.locator("#whatif-single tbody tr").count())}
    assert not single & nat
    assert "Best reachable rank" in page.text_content("#whatif-best")
    page.check("#whatif-national")
    page.click("#goal-go")
    page.wait_for_function("() => !document.querySelector('#whatif-national-table') && "
                           "document.querySelector('#whatif-single tbody tr')")
    both = _get(page, "/api/units/CN-HGH/what-it-takes?rank=10&include_national=true")
    assert both["national_context"] == [] and both["include_national"] is True
    page.uncheck("#whatif-national")
    page.locator('#profile-table tr[data-code="regulatory_quality"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "fintech_city.png"), full_page=True)
    # the goal is in the permalink: reopening recomputes it
    url = page.url
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_selector("#whatif-single tbody tr")
    _clean(page)


def test_editions_slope_chart(fpage) -> None:
    page = fpage
    page.goto(f"{page.base}/#/editions?a=2021&b=2025&n=10")
    page.wait_for_selector("#slope-chart .main-svg")
    assert page.locator("#slope-chart .scatterlayer .trace").count() == 10
    d = _get(page, "/api/editions/diff?a=2021&b=2025")
    assert page.text_content("#ed-up") == str(d["summary"]["up"])
    first = page.locator("#diff-table tbody tr").first.get_attribute("data-unit")
    big = max(d["rows"], key=lambda r: abs(r["rank_change"]))
    assert abs(next(r for r in d["rows"] if r["unit"] == first)["rank_change"]) == abs(big["rank_change"])
    assert "Slope chart, rank in 2021 (left) and 2025 (right)" in page.text_content("#slope-alt")
    page.screenshot(path=str(SHOTS / "fintech_editions.png"), full_page=True)
    # relative score change, then chosen cities
    page.select_option("#ed-metric", "score")
    page.select_option("#ed-sort", "rel")
    page.wait_for_selector('#diff-table[data-view="2021-2025-score-rel-"]')
    page.wait_for_selector("#slope-chart .main-svg")
    first = page.locator("#diff-table tbody tr").first.get_attribute("data-unit")
    rel = max(d["rows"], key=lambda r: abs(r["rel_score_change"] or 0))
    assert abs(next(r for r in d["rows"] if r["unit"] == first)["rel_score_change"]) == pytest.approx(
        abs(rel["rel_score_change"]))
    page.select_option("#ed-add", "CN-HGH")
    page.wait_for_selector('#diff-table[data-view="2021-2025-score-rel-CN-HGH"]')
    page.select_option("#ed-add", "CN-SHA")
    page.wait_for_selector('#diff-table[data-view="2021-2025-score-rel-CN-HGH+CN-SHA"]')
    page.wait_for_selector("#slope-chart .main-svg")
    assert page.locator("#slope-chart .scatterlayer .trace").count() == 2
    page.screenshot(path=str(SHOTS / "fintech_editions_chosen.png"), full_page=True)
    with page.expect_download() as dl:
        page.click('.downloads[data-table="editions_2021_2025"] button[data-fmt="xlsx"]')
    book = pd.read_excel(dl.value.path(), sheet_name=None)
    assert len(book["editions_2021_2025"]) == 91 and "README" in book
    _clean(page)


def test_weights_rank_intervals_button_and_recompute_time(fpage) -> None:
    page = fpage
    page.goto(f"{page.base}/#/weights?w=IND:3")
    page.wait_for_selector("#weights-table tbody tr")
    page.click("#iv-btn")
    page.wait_for_selector("#weights-table .ivl-txt")
    req = urllib.request.Request(f"{page.base}/api/uncertainty", data=json.dumps({"weights": {"IND": 3}}).encode(),
                                 headers={"Content-Type": "application/json"})
    api = {r["unit"]: r for r in json.loads(urllib.request.urlopen(req).read())["rows"]}  # noqa: S310
    first = page.locator("#weights-table tbody tr").first
    u = first.get_attribute("data-unit")
    assert first.locator(".ivl-txt").text_content() == f"{round(api[u]['rank_lo'])}–{round(api[u]['rank_hi'])}"
    assert "replications computed in" in page.text_content("#iv-out")
    page.screenshot(path=str(SHOTS / "fintech_weights_intervals.png"), full_page=True)
    # moving a slider makes the intervals stale: they disappear until recomputed
    page.locator("#w-CON").focus()
    page.keyboard.press("End")
    page.wait_for_function("!document.querySelector('#weights-table .ivl-txt')")
    ms = page.evaluate("""() => { const t = []; for (let i = 0; i < 200; i++) { const a = performance.now();
        window.hubindex.computeRanking({IND: 1 + i / 100}); t.push(performance.now() - a); }
        t.sort((x, y) => x - y); return t[100]; }""")
    print(f"in-browser recompute, default index: median {ms:.3f} ms per re-rank (91 cities)")
    assert ms < 16
    _clean(page)


def test_map_uses_coordinates(fpage) -> None:
    page = fpage
    page.goto(f"{page.base}/#/map?color=tier")
    page.wait_for_selector("#map .scattergeo .point")
    assert page.locator("#map .scattergeo .point").count() == 91
    page.screenshot(path=str(SHOTS / "fintech_map.png"))
    _clean(page)


def test_profile_table_downloads_with_provenance(fpage) -> None:
    page = fpage
    page.goto(f"{page.base}/#/city/GB-LON")
    page.wait_for_selector("#profile-table")
    with page.expect_download() as dl:
        page.click('.downloads[data-table="profile_GB-LON"] button[data-fmt="csv"]')
    df = pd.read_csv(io.StringIO(Path(dl.value.path()).read_text()), comment="#")
    ind = df[df["code"] == "online_bill_pay"].iloc[0]
    prov = ds.provenance(2025)
    want = prov[(prov["unit"] == "GB-LON") & (prov["indicator"] == "online_bill_pay")].iloc[0]
    assert ind["scope"] == want["scope"] == "country" and ind["source"] == want["source"]
    assert ind["derivation"] == want["derivation"] and str(int(ind["year"])) in str(want["source_date"])
    _clean(page)
