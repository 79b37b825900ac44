"""Helpers for the web tests: a free loopback port, a uvicorn server running an app in a thread, and a watched
browser page."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SHOTS = Path("/tmp/web-shots")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yield its base URL, then stop it."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        th.join(timeout=10)


@contextmanager
def watched_page(browser: Any, base: str, *, timeout_ms: int, **context: Any) -> Iterator[Any]:
    """A page in a browser context of its own (``context``: Playwright's ``new_context`` options) that records
    the page's script errors (``pg.errors``) and every request that leaves ``base`` (``pg.outside``: nothing may be
    fetched from outside); ``pg.base`` = ``base``. The context is closed afterwards."""
    ctx = browser.new_context(**context)
    pg = ctx.new_page()
    pg.set_default_timeout(timeout_ms)
    pg.errors, pg.outside, pg.base = [], [], base
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("request", lambda r: pg.outside.append(r.url) if not r.url.startswith((base, "blob:", "data:")) else None)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield pg
    finally:
        ctx.close()
