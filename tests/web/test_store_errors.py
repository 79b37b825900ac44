"""The web app over a busy or damaged edition store: 503 with Retry-After while a publish holds the store, a clear
500 (the message, no traceback) when the store file is damaged — never a 400 blaming the client."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hubindex.store import EditionStore

HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # a writer holds the file, as a publish does
    print("HELD", flush=True)
    time.sleep(60)
""")


@pytest.fixture()
def store_app(fintech_result, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The app over the default index with one edition in a store of its own (short busy wait)."""
    from fastapi.testclient import TestClient

    from hubindex.web import create_app

    p = tmp_path / "editions.duckdb"
    EditionStore(p).publish(fintech_result, "2025", vintage=2025)
    app = create_app(fintech_result, store=EditionStore(p, read_only=True, timeout=0.3), uncertainty_reps=0)
    return TestClient(app, raise_server_exceptions=False), p


def test_targets_over_a_good_store(store_app) -> None:  # type: ignore[no-untyped-def]
    client, _ = store_app
    r = client.get("/api/units/CN-HGH/targets")
    assert r.status_code == 200 and r.json()["targets"]


def test_busy_store_answers_503_with_retry_after(store_app) -> None:  # type: ignore[no-untyped-def]
    client, p = store_app
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(p)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
        r = client.get("/api/units/CN-HGH/targets")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert "busy" in r.json()["detail"] and str(p) in r.json()["detail"]
    assert client.get("/api/units/CN-HGH/targets").status_code == 200  # and it passes


def test_damaged_store_answers_500_with_the_reason(store_app) -> None:  # type: ignore[no-untyped-def]
    client, p = store_app
    p.write_bytes(p.read_bytes()[:20000])  # the file cut short after the app started
    r = client.get("/api/units/CN-HGH/targets")
    assert r.status_code == 500, r.text
    detail = r.json()["detail"]
    assert str(p) in detail and "damaged" in detail and "Traceback" not in r.text
