"""The dashboard and the API docs page render in Chromium under the server's Content-Security-Policy, with no
policy violation (the policy is on every response: tests/web/test_security.py)."""

from __future__ import annotations

import pytest
from web_helpers import watched_page

from hubindex.web._security import CSP

VIEWS = [
    ("#/ranking", "#ranking-table tbody tr"),
    ("#/city/DEU", "#radar .main-svg"),
    ("#/map", "#map .scattergeo .point"),
    ("#/compare?units=DEU,FRA,CHN", "#cmp-chart .main-svg"),
    ("#/weights", "#weights-table tbody tr"),
    ("#/methodology", "#main h1"),
]


@pytest.fixture()
def page(browser, live_server):  # type: ignore[no-untyped-def]
    """A page under the server's real CSP (conftest's ``page`` bypasses it for Playwright's eval'd helpers)."""
    with watched_page(browser, live_server, timeout_ms=15_000, viewport={"width": 1300, "height": 900}) as pg:
        yield pg


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + "
                         "e.blockedURI))")
    return seen


@pytest.mark.parametrize(("hash_", "selector"), VIEWS)
def test_pages_render_under_the_csp(page, hash_: str, selector: str) -> None:  # type: ignore[no-untyped-def]
    violations = _watch(page)
    resp = page.goto(f"{page.base}/{hash_}")
    assert resp is not None and resp.headers["content-security-policy"] == CSP
    page.wait_for_selector(selector)
    page.wait_for_timeout(300)
    assert violations == [], violations
    assert page.errors == [] and page.outside == []


def test_skip_link_and_docs_page_under_the_csp(page) -> None:  # type: ignore[no-untyped-def]
    violations = _watch(page)
    page.goto(f"{page.base}/#/ranking")
    page.wait_for_selector("#ranking-table tbody tr")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link's inline handler moves focus to #main
    assert page.evaluate("document.activeElement && document.activeElement.id") == "main"
    page.goto(f"{page.base}/docs")
    page.wait_for_selector("#swagger-ui .swagger-ui")  # the inline script ran SwaggerUIBundle
    assert page.evaluate("typeof SwaggerUIBundle") == "function"
    page.wait_for_timeout(500)
    assert violations == [], violations
