"""The Methodology page's "How our ranking compares with published rankings" section in headless Chromium:
one row per published list with the API's numbers, the report-never-tune rule, the per-list differences and the
unmatched names. Screenshot: /tmp/web-shots/compare_published.png."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import serve

from hubindex.api import build

SHOTS = Path("/tmp/web-shots")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from hubindex.web import create_app

    with serve(create_app(build(), uncertainty_reps=0, editions=False)) as url:
        yield url


def test_methodology_section(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    api = json.loads(urllib.request.urlopen(f"{server}/api/compare-published?top=3").read())  # noqa: S310
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "blob:", "data:")) else None)
    try:
        page.goto(f"{server}/#/methodology")
        page.wait_for_selector("#published-summary tbody tr")
        assert page.locator("#published-h").text_content() == "How our ranking compares with published rankings"
        assert "never used to choose indicators or weights" in page.locator("#published-rule").text_content()
        rows = page.locator("#published-summary tbody tr")
        assert rows.count() == len(api["lists"])
        for i, c in enumerate(api["lists"]):
            r = rows.nth(i)
            assert r.get_attribute("data-list") == c["list_id"]
            cells = r.locator("td").all_text_contents()
            assert cells[3] == str(c["n_overlap"])
            assert cells[4].startswith("–" if c["spearman"] is None else f"{c['spearman']:.2f}")
            assert r.locator("a").count() == len(c["sources"])
        f20 = page.locator('details[data-list="findexable2020"]')
        f20.locator("summary").click()
        assert "Hamburg (43)" in f20.text_content() and "Calgary (84)" in f20.text_content()
        first = api["lists"][0]["differences"][0]
        g = page.locator(f'details[data-list="{api["lists"][0]["list_id"]}"]')
        g.locator("summary").click()
        tr = g.locator(f'tr[data-unit="{first["unit"]}"]')
        assert tr.locator("td").nth(1).text_content() == str(first["published_rank"])
        assert tr.locator("td").nth(2).text_content() == str(first["our_rank"])
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#published").screenshot(path=str(SHOTS / "compare_published.png"))
        assert errors == [], errors
        assert outside == [], outside
    finally:
        ctx.close()


def test_other_indexes_say_there_is_nothing_to_compare(browser) -> None:  # type: ignore[no-untyped-def]
    from hubindex.web import create_app

    asem = Path(__file__).resolve().parents[2] / "examples" / "asem" / "default.yaml"
    with serve(create_app(build(asem), uncertainty_reps=0, editions=False)) as url:
        ctx = browser.new_context()
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{url}/#/methodology")
            page.wait_for_selector("#published-none", timeout=20_000)
            assert "shares a unit with this index" in page.text_content("#published-none")
            assert page.locator("#published-summary").count() == 0 and errors == []
        finally:
            ctx.close()
