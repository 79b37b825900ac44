"""Fixtures for the web tests: the ASEM example built once, a TestClient, and a live uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import serve, watched_page

from hubindex.api import build

REPO = Path(__file__).resolve().parents[2]
ASEM_SPEC = REPO / "examples" / "asem" / "default.yaml"


@pytest.fixture(scope="session")
def asem_result():  # type: ignore[no-untyped-def]
    return build(ASEM_SPEC)


@pytest.fixture(scope="session")
def client(asem_result):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from hubindex.web import create_app

    return TestClient(create_app(asem_result))


@pytest.fixture(scope="session")
def live_server(asem_result) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real uvicorn server on a free loopback port, in a thread; yields its base URL."""
    from hubindex.web import create_app

    with serve(create_app(asem_result)) as url:
        yield url


# ``browser`` (headless Chromium) is in tests/conftest.py: one Playwright instance for the whole test session (a
# second sync Playwright started while the first runs fails), shared with the report's layout test.


@pytest.fixture()
def page(browser, live_server):  # type: ignore[no-untyped-def]
    # bypass_csp: Playwright's string predicates (wait_for_function) are eval'd in the page, which the server's
    # CSP forbids; tests/web/test_csp_browser.py renders the pages under the real policy
    with watched_page(browser, live_server, timeout_ms=10_000, viewport={"width": 1300, "height": 900},
                      bypass_csp=True) as pg:
        yield pg


# -- the default fintech index (91 cities, editions 2021–2025) -------------------------------------------------


@pytest.fixture(scope="session")
def fintech_result():  # type: ignore[no-untyped-def]
    return build(None)  # the shipped default spec: hubindex/specs/default.yaml over the 2025 dataset edition


def _fintech_app(result):  # type: ignore[no-untyped-def]
    """The app over the default index with editions built in memory (never the developer's own store)."""
    import os
    import tempfile

    from hubindex.web import create_app

    old = os.environ.get("HUBINDEX_STORE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HUBINDEX_STORE"] = str(Path(tmp) / "absent.duckdb")
        try:
            return create_app(result)
        finally:
            if old is None:
                os.environ.pop("HUBINDEX_STORE", None)
            else:
                os.environ["HUBINDEX_STORE"] = old


@pytest.fixture(scope="session")
def fintech_app(fintech_result):  # type: ignore[no-untyped-def]
    return _fintech_app(fintech_result)


@pytest.fixture(scope="session")
def fclient(fintech_app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    return TestClient(fintech_app)


@pytest.fixture(scope="session")
def fintech_server(fintech_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(fintech_app) as url:
        yield url


@pytest.fixture()
def fpage(browser, fintech_server):  # type: ignore[no-untyped-def]
    """A page on the default-index server (same checks as ``page``)."""
    with watched_page(browser, fintech_server, timeout_ms=15_000, viewport={"width": 1300, "height": 900},
                      accept_downloads=True, bypass_csp=True) as pg:
        yield pg
