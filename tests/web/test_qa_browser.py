"""QA pass over the default fintech index in headless Chromium (desktop 1440×900 and phone 390×844): presentation
defects seen on screenshots, each with the check that would have caught it. Screenshots go to
/tmp/web-shots/qa_<size>_<what>.png.

- the footer's "Cite as" line carried "spec <hash>", and Methodology printed the full spec hash: the hash belongs
  to the footer's "Details" line only;
- the spec's descriptions (every indicator, pillar and sub-pillar of ``hubindex/specs/default.yaml``) are shown:
  the Definition column and the framework tree (which also named parents by code, "50.0 % of IND_FF");
- a group's raw value ("eastern" for China's region) is shown as a word ("Eastern");
- on a phone, the compare chart's pillar names were rotated and hidden under the legend, and the radar cut
  "Fintech Industry" at the chart's edge;
- the "How our ranking compares with published rankings" section fits a phone's width;
- the ranking's tier badge "Regional hub" wrapped to two lines at 1440 px.
- on a phone, the editions slope chart cut its right-hand labels ("67 Mexico City (▲3") and its tool bar covered
  the top labels;
- "1 cities rank above London" (best and worst attainable rank).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SHOTS = Path("/tmp/web-shots")
pytestmark = pytest.mark.browser
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES))
def qpage(request, browser, fintech_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A page on the default-index server at one of the two sizes (``page.size`` = "desktop" | "phone")."""
    w, h = SIZES[request.param]
    ctx = browser.new_context(viewport={"width": w, "height": h}, bypass_csp=True,
                              is_mobile=request.param == "phone", has_touch=request.param == "phone")
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors, pg.base, pg.size, pg.width = errors, fintech_server, request.param, w  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield pg
    ctx.close()


def _shot(page, what: str, full: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(SHOTS / f"qa_{page.size}_{what}.png"), full_page=full)


def _no_overflow(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width


# JS: boxes of the elements matching a selector, and of a reference element (left, top, right, bottom)
_BOXES = """([sel, ref]) => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, e.textContent]; };
  return { items: [...document.querySelectorAll(sel)].map(box), ref: ref ? box(document.querySelector(ref)) : null };
}"""


def _inside(item: list[Any], ref: list[Any], tol: float = 1.0) -> bool:
    return item[0] >= ref[0] - tol and item[2] <= ref[2] + tol and item[1] >= ref[1] - tol and item[3] <= ref[3] + tol


def _overlap(a: list[Any], b: list[Any]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_citation_and_methodology_show_no_spec_hash(qpage, fintech_result) -> None:
    page = qpage
    page.goto(f"{page.base}/#/methodology")
    page.wait_for_selector("#ind-table tbody tr")
    h = fintech_result.run_record["spec_hash"]
    cite = page.text_content("#cite-as")
    assert cite.startswith("Cite as: Global Fintech Hub Index") and h[:12] not in cite and "spec" not in cite, cite
    assert h[:12] in page.text_content("#spec-details")          # the one place for it
    main = page.text_content("#main")
    assert h[:8] not in main, "the spec hash is printed on the Methodology page"
    assert page.errors == [], page.errors


def test_methodology_shows_the_spec_descriptions(qpage, fintech_result) -> None:
    page = qpage
    page.goto(f"{page.base}/#/methodology")
    page.wait_for_selector("#ind-table tbody tr")
    fw = fintech_result.spec.framework
    inds = {n.code: n.description for n in fw if n.code in fintech_result.framework.indicators}
    assert len(inds) == 18 and all(inds.values()), "every default indicator has a description in the spec"
    rows = page.eval_on_selector_all("#ind-table tbody tr", "rs => rs.map(r => [r.cells[0].textContent, r.querySelector('td.def').textContent])")
    assert dict(rows) == inds
    # pillars and sub-pillars: their description under their name in the framework tree; parents by name
    inner = [n for n in fw if n.code not in inds]
    assert len(inner) == 14 and all(n.description for n in inner)
    for n in inner:
        assert page.text_content(f'#fw-tree li[data-code="{n.code}"] > .node-def') == n.description, n.code
    tree = page.text_content("#fw-tree")
    names = {n.code: n.name for n in fw}
    for n in fw:
        if n.parent:
            assert f"% of {n.parent}," not in tree and f"% of {names[n.parent]}," in tree, n.code
    _no_overflow(page)
    _shot(page, "methodology_top")
    assert page.errors == [], page.errors


def test_published_rankings_section_fits_the_screen(qpage) -> None:
    page = qpage
    page.goto(f"{page.base}/#/methodology")
    page.wait_for_selector("#published table tbody tr")
    page.locator("#published").scroll_into_view_if_needed()
    _no_overflow(page)
    sec = page.evaluate("(() => { const r = document.querySelector('#published').getBoundingClientRect(); return [r.left, r.right]; })()")
    assert sec[0] >= 0 and sec[1] <= page.width
    # the heading and the rule are text that wraps, not cut; wide tables scroll inside their own box
    for sel in ("#published-h", "#published-rule"):
        b = page.evaluate(f"(() => {{ const e = document.querySelector('{sel}'); return [e.scrollWidth, e.clientWidth]; }})()")
        assert b[0] <= b[1] + 1, sel
    assert page.evaluate("[...document.querySelectorAll('#published table')].every(t => t.parentElement.scrollWidth"
                         " <= document.documentElement.clientWidth || getComputedStyle(t.parentElement).overflowX === 'auto')")
    _shot(page, "published")
    assert page.errors == [], page.errors


def test_group_values_read_as_words(qpage) -> None:
    page = qpage
    page.goto(f"{page.base}/#/city/CN-HGH")
    page.wait_for_selector('[data-group="cn_region"]')
    txt = page.text_content('[data-group="cn_region"]')
    assert txt.startswith("Region of China") and "Eastern" in txt and "eastern" not in txt, txt
    page.goto(f"{page.base}/#/ranking")
    page.wait_for_selector("#ranking-table tbody tr")
    opts = page.eval_on_selector_all('#f-within option[value^="cn_region="]', "os => os.map(o => o.textContent)")
    assert opts and all(o[0].isupper() for o in opts), opts
    assert page.errors == [], page.errors


def test_chart_labels_are_not_cut_on_a_phone(qpage) -> None:
    page = qpage
    page.goto(f"{page.base}/#/compare?units=US-NYC,GB-LON,CN-BJS")
    page.wait_for_selector("#cmp-chart .xtick text")
    got = page.evaluate(_BOXES, ["#cmp-chart .xtick text", "#cmp-chart .main-svg"])
    legend = page.evaluate(_BOXES, ["#cmp-chart .legend", None])["items"][0]
    assert len(got["items"]) == 3
    for it in got["items"]:
        assert _inside(it, got["ref"]), f"pillar label outside the chart: {it}"
        assert not _overlap(it, legend), f"pillar label under the legend: {it}"
    assert "".join(it[4] for it in got["items"]).replace(" ", "") == "FintechIndustryConsumerExperienceEcosystem"
    _shot(page, "compare")
    page.goto(f"{page.base}/#/city/CN-HGH")
    page.wait_for_selector("#radar .angularaxistick text")
    got = page.evaluate(_BOXES, ["#radar .angularaxistick text", "#radar .main-svg"])
    assert len(got["items"]) == 3
    for it in got["items"]:
        assert _inside(it, got["ref"]), f"radar label cut at the chart's edge: {it}"
    _no_overflow(page)
    _shot(page, "city_radar")
    assert page.errors == [], page.errors


def test_tier_badges_stay_on_one_line(qpage) -> None:
    page = qpage
    page.goto(f"{page.base}/#/ranking")
    page.wait_for_selector("#ranking-table tbody tr")
    hs = page.eval_on_selector_all("#ranking-table .tier", "ts => ts.filter(t => t.offsetParent).map(t => [t.textContent, t.getBoundingClientRect().height, parseFloat(getComputedStyle(t).lineHeight) || 1.2 * parseFloat(getComputedStyle(t).fontSize)])")
    if page.size == "desktop":
        assert len(hs) == 91
    assert all(h < 1.5 * lh for _, h, lh in hs), [x for x in hs if x[1] >= 1.5 * x[2]][:3]   # "Regional hub" wrapped to two lines
    _no_overflow(page)
    assert page.errors == [], page.errors


def test_slope_chart_labels_inside_and_uncovered(qpage) -> None:
    page = qpage
    page.goto(f"{page.base}/#/editions")
    page.wait_for_selector("#slope-chart .annotation-text")
    got = page.evaluate(_BOXES, ["#slope-chart .annotation-text", "#slope-chart .main-svg"])
    assert len(got["items"]) == 30   # 15 movers, a label on each side
    for it in got["items"]:
        assert _inside(it, got["ref"]), f"slope label cut at the chart's edge: {it}"
    bar = page.evaluate("(() => { const m = document.querySelector('#slope-chart .modebar');"
                        " if (!m || getComputedStyle(m).opacity === '0' || !m.offsetParent) return null;"
                        " const r = m.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })()")
    if bar is not None:   # a tool bar that is shown must not cover a label
        assert not any(_overlap(it, bar) for it in got["items"]), "the chart's tool bar covers a label"
    _shot(page, "slope")
    assert page.errors == [], page.errors


def test_always_above_count_in_words(qpage) -> None:
    page = qpage
    page.goto(f"{page.base}/#/city/GB-LON")
    page.wait_for_selector("#always-above")
    assert page.text_content("#always-above") == "1 city ranks above London under every such weighting."
    page.goto(f"{page.base}/#/city/CN-HGH")
    page.wait_for_function("document.querySelector('#always-above') && document.querySelector('#city-name').textContent.startsWith('Hangzhou')")
    assert page.text_content("#always-above").startswith("6 cities rank above Hangzhou")
    assert page.errors == [], page.errors


def test_phone_charts_have_no_tool_bar_and_no_minus_zero(qpage) -> None:
    """On a phone Plotly's mode bar covered the top of the radar and rank-history charts (tables have downloads,
    so it is hidden there); on a desktop it stays. A change that rounds to zero is "0.0", never "-0.0"."""
    page = qpage
    page.goto(f"{page.base}/#/city/CN-HGH")
    page.wait_for_selector("#history-chart .main-svg")
    page.wait_for_selector("#radar .main-svg")
    bars = page.locator(".js-plotly-plot .modebar-container .modebar").count()
    charts = page.locator(".js-plotly-plot").count()
    assert charts >= 2
    assert (bars == 0) if page.size == "phone" else (bars == charts)
    assert page.evaluate("[fmt(-0.01), fmt(-0.04, 1), fmt(-0.0001, 2), fmt(-0.06), fmt(0)]") == \
        ["0.0", "0.0", "0.00", "-0.1", "0.0"]
    assert page.errors == [], page.errors
