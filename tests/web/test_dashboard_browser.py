"""Issue 14 (items 1–11): the dashboard as users expect it, in headless Chromium at desktop (1440×900) and phone
(390×844) sizes, over the default fintech index. Screenshots go to /tmp/web-shots/dash_<size>_<what>.png.

Every test also asserts that no script error happened and nothing was requested from outside the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_helpers import SHOTS, watched_page

pytestmark = pytest.mark.browser
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
PAGES = {"ranking": "#/ranking", "city": "#/city/CN-HGH", "london": "#/city/GB-LON", "map": "#/map",
         "compare": "#/compare", "editions": "#/editions", "weights": "#/weights", "methodology": "#/methodology"}
# what each page shows once it is drawn (the page may still load charts afterwards)
READY = {"ranking": "#ranking-table tbody tr", "city": "#targets-list .target", "london": "#history-table tbody tr",
         "map": "#map .scattergeo .point", "compare": "#compare-table", "editions": "#diff-table tbody tr",
         "weights": "#weights-table tbody tr", "methodology": "#audit-kpis"}


@pytest.fixture(params=list(SIZES))
def spage(request, browser, fintech_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A page on the default-index server at one of the two sizes (``page.size`` = "desktop" | "phone")."""
    w, h = SIZES[request.param]
    phone = request.param == "phone"
    with watched_page(browser, fintech_server, timeout_ms=20_000, viewport={"width": w, "height": h},
                      accept_downloads=True, bypass_csp=True, is_mobile=phone, has_touch=phone) as pg:
        pg.size, pg.width = request.param, w
        yield pg


def _clean(page) -> None:  # type: ignore[no-untyped-def]
    assert page.errors == [], page.errors
    assert page.outside == [], f"requests left the server: {page.outside}"


def _open(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{page.base}/{PAGES[name]}")
    page.wait_for_selector(READY[name])


def _shot(page, what: str, full: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(SHOTS / f"dash_{page.size}_{what}.png"), full_page=full)


# -- 1. /docs ---------------------------------------------------------------------------------------------------


def test_api_docs_render_operations(spage) -> None:
    page = spage
    page.goto(f"{page.base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "xs => xs.map(x => x.textContent.replace(/\\u200b/g, ''))")
    for p in ("/api/ranking", "/api/units/{unit}", "/api/score", "/api/indicators"):
        assert p in paths, (p, paths[:10])
    assert "Unable to render" not in page.text_content("body")
    _shot(page, "docs")
    _clean(page)


# -- 2. phone layout --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PAGES))
def test_no_horizontal_overflow(spage, name: str) -> None:
    page = spage
    _open(page, name)
    page.wait_for_timeout(300)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    _shot(page, f"page_{name}", full=page.size == "phone")
    assert width <= page.width, f"{name}: page is {width} px wide at a {page.width} px viewport"
    _clean(page)


def test_no_horizontal_overflow_tablet_widths(browser, fintech_server) -> None:
    """Between phone and desktop too: at 768 and 1024 px no page is wider than the window."""
    ctx = browser.new_context(viewport={"width": 768, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        for w in (768, 1024):
            page.set_viewport_size({"width": w, "height": 900})
            for name in PAGES:
                page.goto(f"{fintech_server}/{PAGES[name]}")
                page.wait_for_selector(READY[name])
                width = page.evaluate("document.scrollingElement.scrollWidth")
                assert width <= w, f"{name}: {width} px at {w} px"
    finally:
        ctx.close()


def test_phone_ranking_columns_pillars_sliders_menu(spage) -> None:
    page = spage
    _open(page, "ranking")
    visible = page.eval_on_selector_all("#ranking-table thead th", "ts => ts.filter(t => t.offsetParent !== null)"
                                        ".map(t => t.textContent)")
    assert visible[0].startswith("Rank") and "City" in visible and any(v.startswith("Score") for v in visible)
    first = page.locator("#ranking-table tbody tr").first
    if page.size == "phone":
        assert len(visible) == 3, visible  # rank, city, score
        first.locator("details summary").click()  # the pillars, one tap away
        txt = first.locator("details").text_content()
        assert "Fintech Industry" in txt and "Consumer Experience" in txt and "Ecosystem" in txt
        _shot(page, "ranking_pillars_open")
    else:
        assert "Fintech Industry" in visible and first.locator("details").is_hidden()
    # the menu wraps without one link overlapping another, every link inside the viewport
    boxes = page.eval_on_selector_all("nav a", "as => as.map(a => { const r = a.getBoundingClientRect(); "
                                      "return [r.left, r.top, r.right, r.bottom]; })")
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[2] <= page.width
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # sliders: a touch target of at least 44 px
    _open(page, "weights")
    h = page.eval_on_selector_all("#sliders input[type=range]", "xs => xs.map(x => x.getBoundingClientRect().height)")
    assert len(h) == 3 and min(h) >= 44
    _shot(page, "weights", full=True)
    _clean(page)


# -- 3. first screen --------------------------------------------------------------------------------------------


def test_first_screen_is_light_and_charts_load_after_the_table(spage) -> None:
    page = spage
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    got: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: got.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    _open(page, "ranking")
    page.wait_for_load_state("networkidle")
    total = sum(got.values())
    loaded = list(urls.values())
    assert not any("plotly" in u for u in loaded), loaded  # no chart on the ranking: no chart library
    assert total < 500_000, f"ranking page transferred {total} bytes"
    # a page with a chart loads Plotly, after its table is on screen
    page.goto(f"{page.base}/#/city/GB-LON")
    page.wait_for_selector("#radar .main-svg")
    t = page.evaluate("""() => { const m = performance.getEntriesByName('hubindex:table')[0];
        const p = performance.getEntriesByType('resource').find(r => r.name.includes('plotly.min.js'));
        return [m ? m.startTime : null, p ? p.startTime : null]; }""")
    assert t[0] is not None and t[1] is not None and t[1] >= t[0], t
    _clean(page)


# -- 4. targets -------------------------------------------------------------------------------------------------


def test_city_targets_card(spage) -> None:
    page = spage
    _open(page, "city")
    card = page.locator("#targets-card")
    card.scroll_into_view_if_needed()
    items = page.locator("#targets-list .target")
    assert items.count() == 4
    text = card.text_content()
    assert "related observations:" not in text and "edition store" not in text  # no developer notes
    assert text.count("mobile_payment") == 0 and text.count("mobile payment") == 0  # no unrelated list
    for i in range(items.count()):  # one plain sentence or a latest value for each, and the source
        it = items.nth(i)
        assert it.locator(".target-plain, .target-latest").count() == 1
        assert "Source:" in it.text_content()
    first = items.first.text_content()
    assert "fintech industrial added value" in first and "financial industry added value 119.7 bn CNY (2018)" in first
    assert "qualitative goal" in items.nth(1).text_content()
    fits = page.evaluate("(() => { const c = document.querySelector('#targets-card'); "
                         "return c.scrollWidth <= c.clientWidth + 1; })()")
    assert fits, "the targets card overflows"
    card.screenshot(path=str(SHOTS / f"dash_{page.size}_targets.png"))
    # where the measure is observed: latest value, gap and a progress bar (rendered from the API's fields)
    html = page.evaluate("""() => targetItem({city: 'X', measure: 'fintech_firms', relation: '>=', target: 100, unit: 'firms',
        deadline: 2030, status: 'on track', latest_value: 40, latest_year: 2024, progress_pct: 40, observed_by: 'edition 2024',
        source: 'a plan', quote: 'q', related_observations: []}).outerHTML""")
    assert "Latest: 40 firms in 2024" in html and "gap to target +60 firms" in html
    assert 'aria-valuenow="40"' in html and "width:40%" in html
    _clean(page)


# -- 5. rank history --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["GB-LON", "CN-HGH"])
def test_rank_history_axis_integers_best_on_top(spage, unit: str) -> None:
    page = spage
    page.goto(f"{page.base}/#/city/{unit}")
    page.wait_for_selector("#history-chart .main-svg .ytick text")
    ticks = page.eval_on_selector_all("#history-chart .ytick text", "ts => ts.map(t => [t.textContent, "
                                      "t.getBoundingClientRect().top])")
    labels = [x[0].replace("\u2212", "-") for x in ticks]
    assert labels and all(re.fullmatch(r"[1-9]\d*", v) for v in labels), labels  # whole numbers from 1, no 0
    by_value = sorted(ticks, key=lambda x: int(x[0]))
    tops = [x[1] for x in by_value]
    assert tops == sorted(tops), "rank 1 (best) must be on top"
    page.locator("#history-card").screenshot(path=str(SHOTS / f"dash_{page.size}_history_{unit}.png"))
    _clean(page)


def test_slope_chart_rank_axis_has_no_zero(spage) -> None:
    page = spage
    page.goto(f"{page.base}/#/editions?a=2024&b=2025")
    page.wait_for_selector("#slope-chart .main-svg .ytick text")
    labels = page.eval_on_selector_all("#slope-chart .ytick text", "ts => ts.map(t => t.textContent)")
    assert labels and all(re.fullmatch(r"[1-9]\d*", v) for v in labels), labels
    _clean(page)


# -- 6. what it takes -------------------------------------------------------------------------------------------


def test_what_it_takes_presentation(spage) -> None:
    page = spage
    # Hangzhou is 19th in 2025; national values included, so the bounded, signed regulatory-quality scale is shown
    page.goto(f"{page.base}/#/city/CN-HGH?goal=rank:16&national=1")
    page.wait_for_selector("#whatif-single tbody tr")
    rows = page.eval_on_selector_all("#whatif-single tbody tr", "rs => rs.map(r => [r.dataset.code, r.dataset.scale, "
                                     "r.cells[1].textContent, r.cells[2].textContent, r.cells[3].textContent])")
    scales = {r[0]: r[1] for r in rows}
    assert scales["fintech_unicorns"] == "count" and scales["regulatory_quality"] == "bounded"
    for code, scale, now, needed, change in rows:
        if scale == "count":  # whole numbers
            assert re.fullmatch(r"\d+", now) and re.fullmatch(r"\d+(beyond observed)?", needed), (code, now, needed)
            assert re.fullmatch(r"[+−]?\d+", change), (code, change)
        if scale in ("count", "bounded", "percent"):
            assert "%" not in change, (code, change)  # no "+322 %" on a bounded or signed scale
        if scale == "percent":
            assert change.endswith("points"), (code, change)
    reg = next(r for r in rows if r[0] == "regulatory_quality")
    api = next(x for x in page.request.get(f"{page.base}/api/units/CN-HGH/what-it-takes?rank=16&include_national=true").json()["single"]
               if x["indicator"] == "regulatory_quality")
    # an absolute change on the −2.5..2.5 scale, in its own units (not a percentage of a value that can be < 0)
    assert reg[4] == f"+{api['required'] - api['current']:.2f}" and api["current"] < 0
    page.locator("#whatif-card").screenshot(path=str(SHOTS / f"dash_{page.size}_whatif.png"))
    # the city already at the goal: said once
    first = next(r["unit"] for r in page.request.get(f"{page.base}/api/ranking").json() if r["rank"] == 1)
    page.goto(f"{page.base}/#/city/{first}?goal=rank:1")
    page.wait_for_selector("#whatif-done")
    out = page.text_content("#whatif-out")
    assert out.count("already there") == 1 and page.locator("#whatif-single").count() == 0 and "0 %" not in out
    _clean(page)


# -- 7. all weights zero ----------------------------------------------------------------------------------------


def test_all_pillar_weights_zero(spage) -> None:
    page = spage
    _open(page, "weights")
    page.click("#server-check")
    page.wait_for_function("document.querySelector('#server-out').textContent.includes('agrees')")
    for code in ("IND", "CON"):
        page.locator(f"#w-{code}").focus()
        page.keyboard.press("Home")
    page.wait_for_function("location.hash.includes('IND:0') && location.hash.includes('CON:0')")
    assert page.text_content("#server-out") == ""  # the old "Server ranking agrees…" is gone
    last_valid = page.eval_on_selector_all("#weights-table tbody tr", "rs => rs.map(r => r.dataset.unit + r.cells[2].textContent)")
    page.locator("#w-ECO").focus()
    page.keyboard.press("Home")
    page.wait_for_selector("#weights-error")
    assert "All pillar weights are zero — set at least one above 0" in page.text_content("#weights-error")
    assert page.locator("#weights-ok").count() == 0  # "No double-counting…" does not claim all is fine
    now = page.eval_on_selector_all("#weights-table tbody tr", "rs => rs.map(r => r.dataset.unit + r.cells[2].textContent)")
    assert now == last_valid and "–" not in now[0]  # the last valid ranking stays, with its scores
    assert page.is_disabled("#server-check")
    _shot(page, "weights_zero", full=False)
    page.locator("#w-ECO").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("!document.querySelector('#weights-error')")
    _clean(page)


# -- 8. words for readers ---------------------------------------------------------------------------------------


def test_words_for_readers(spage) -> None:
    page = spage
    _open(page, "ranking")
    head = page.text_content("header")
    assert "(hubindex default)" not in head and "spec" not in head
    assert "spec " in page.text_content("#spec-details")
    assert "hubindex default" not in page.text_content("footer")
    assert "cn_region" not in page.text_content("#main")
    groups = page.eval_on_selector_all("#f-within optgroup", "gs => gs.map(g => g.label)")
    assert groups == ["Within a country", "Within a region", "Within a region of China"], groups
    opts = page.eval_on_selector_all("#f-within option", "os => os.map(o => o.textContent)")
    assert len(opts) < 40 and not any("Within" in o or "cn_region" in o for o in opts), opts
    page.select_option("#f-within", "cn_region=eastern")
    assert "ranked within Region of China: eastern" in page.text_content("#count")
    with page.expect_download() as dl:
        page.click('.downloads[data-table="ranking_view"] button[data-fmt="csv"]')
    csv = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "hubindex default" not in csv
    header = next(ln for ln in csv.splitlines() if not ln.startswith("#"))
    assert "Fintech Industry [IND]" in header and "Rank in Region of China [rank_in_cn_region]" in header
    _open(page, "london")
    assert page.locator('#main [data-group="cn_region"]').count() == 0 and "cn_region" not in page.text_content("#main")
    flag = page.locator('#profile-table tr[data-code="qs_universities"] .flag[data-flag="winhi"]')
    assert flag.text_content() == "value capped at the outlier limit"
    page.goto(f"{page.base}/#/city/CN-HGH")
    page.wait_for_selector('[data-group="cn_region"]')
    assert page.text_content('[data-group="cn_region"] small') == "Region of China"
    _open(page, "weights")
    page.locator("#w-IND").focus()
    page.keyboard.press("End")
    page.wait_for_function("location.hash.includes('IND:5')")
    assert "Re-ranked" not in page.text_content("#main") and " ms" not in page.text_content("#timing")
    _clean(page)


# -- 9. search and links ----------------------------------------------------------------------------------------


def test_search_aliases_and_name_links(spage) -> None:
    page = spage
    _open(page, "ranking")
    rows = page.locator("#ranking-table tbody tr")
    for q, unit in [("Sao Paulo", "BR-SAO"), ("sao paulo", "BR-SAO"), ("Bogota", "CO-BOG"), ("BOGOTÁ", "CO-BOG"),
                    ("Bangalore", "IN-BLR"), ("Bengaluru", "IN-BLR"), ("hangzhou", "CN-HGH")]:
        page.fill("#q", q)
        units = page.eval_on_selector_all("#ranking-table tbody tr", "rs => rs.map(r => r.dataset.unit)")
        assert unit in units, (q, units)
    page.fill("#q", "zzqx")
    assert page.is_visible("#no-match") and "No city matches — clear filters" in page.text_content("#no-match")
    _shot(page, "no_match")
    page.click("#clear-filters")
    assert rows.count() == 91 and page.input_value("#q") == "" and "q=" not in page.url
    for link, name in [("#/city/hangzhou", "Hangzhou"), ("#/city/sao-paulo", "São Paulo"), ("#/city/cn-hgh", "Hangzhou")]:
        page.goto(f"{page.base}/{link}")
        page.wait_for_selector("#city-name")
        assert page.text_content("#city-name").startswith(name), link
    _clean(page)


# -- 10. methodology --------------------------------------------------------------------------------------------


def test_methodology_definitions(spage, fintech_result) -> None:
    page = spage
    _open(page, "methodology")
    defs = page.eval_on_selector_all("#ind-table td.def", "ts => ts.map(t => t.textContent)")
    assert len(defs) == len(fintech_result.framework.indicators) and all(d.strip() for d in defs)
    _shot(page, "methodology", full=page.size == "phone")
    _clean(page)


# -- 11. keyboard -----------------------------------------------------------------------------------------------


def test_keyboard_skip_to_downloads_and_sticky_header(spage) -> None:
    page = spage
    _open(page, "ranking")
    assert page.evaluate("document.querySelectorAll('[onclick],[onchange],[oninput]').length") == 0  # CSP-friendly
    for _ in range(2):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-downloads"
    page.keyboard.press("Enter")
    assert page.evaluate("!!document.activeElement.closest('.downloads')")  # 3 key presses to the downloads
    # sticky header: after scrolling far down the column headers are still at the top of the viewport
    page.evaluate("window.scrollTo(0, 3000)")
    page.wait_for_timeout(100)
    top = page.evaluate("document.querySelector('#ranking-table thead th').getBoundingClientRect().top")
    assert -1 <= top <= 2, top
    _shot(page, "sticky_header")
    _clean(page)
