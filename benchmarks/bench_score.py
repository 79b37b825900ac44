"""``POST /api/score`` server time on the shipped default index (Global Fintech Hub Index, 91 cities × 18
indicators: ``hubindex.build()`` with no spec), issue #16's target: ≤ 2 ms.

Server time = from the moment the ASGI app receives the request until the last body byte is handed to the server,
so neither an HTTP client nor the HTTP server's parsing and socket writes count. Measured here by calling the app
directly with an ASGI scope/receive/send (no TestClient, no uvicorn): the whole app path — the middlewares
(host check, load shedding, body limit, gzip), routing, JSON body parsing and pydantic validation, the hop to
the worker pool (``hubindex/web/_limits.py``) and back, the re-scoring, JSON encoding and compression. Each
request changes a pillar weight to a new value (nothing is cached between requests). Printed, best and median
over ``--reps`` requests:

- compute: ``IndexView.rescore`` (the dict) and, where present, ``IndexView.rescore_json`` (the response bytes);
- app server time, ASGI direct, for a browser's request (``Accept-Encoding: gzip, deflate, br, zstd``: the body
  is gzip-compressed) and for a client that takes no compression (``identity``), with the response size;
- the app's own ``Server-Timing: app;dur=…`` header where it sets one (the same path, up to the response head);
- where the time goes, from a separate pass with timestamps around the worker pool: the app up to the pool, the
  hop to a worker thread, the job there, the hop back, the response on its way out;
- a ``TestClient`` round trip (adds httpx and the in-process transport: a client-side number);
- the CPU time of this process per request and the load average (this 2-core machine is shared: absolute times
  are noisy; compare checkouts back to back, in the same minute).

Runs against any checkout: ``PYTHONPATH=/path/to/checkout .venv/bin/python benchmarks/bench_score.py`` (e.g.
``git archive main hubindex | tar -x -C /tmp/base``) for a before/after.

    .venv/bin/python benchmarks/bench_score.py [--reps 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hubindex

BROWSER = b"gzip, deflate, br, zstd"


def stats(xs: list[float]) -> tuple[float, float]:
    """(best, median) in milliseconds."""
    return min(xs) * 1e3, statistics.median(xs) * 1e3


def timed(fn: Callable[[int], Any], reps: int) -> list[float]:
    out = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


async def asgi_request(app: Any, body: bytes, accept_encoding: bytes) -> tuple[float, dict[str, Any], bytes]:
    """One ``POST /api/score`` through the ASGI app: (seconds from the call until the last body message was
    handed to ``send``, the response head, the body as sent)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/score", "raw_path": b"/api/score", "root_path": "",
             "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                         (b"accept-encoding", accept_encoding), (b"content-length", str(len(body)).encode())]}
    delivered = False
    idle = asyncio.Event()  # never set: after the body, receive() waits as a connected client's would

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await idle.wait()
        return {"type": "http.disconnect"}

    head: dict[str, Any] = {}
    chunks: list[bytes] = []
    t_end = 0.0

    async def send(msg: dict[str, Any]) -> None:
        nonlocal t_end
        if msg["type"] == "http.response.start":
            head.update(msg)
        elif msg["type"] == "http.response.body":
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body", False):
                t_end = time.perf_counter()

    t0 = time.perf_counter()
    await app(scope, receive, send)
    return t_end - t0, head, b"".join(chunks)


def asgi_times(app: Any, pillar: str, reps: int, accept_encoding: bytes) -> dict[str, Any]:
    """Server time of ``reps`` requests (each a new weight), the Server-Timing values and the CPU time."""

    async def run() -> dict[str, Any]:
        for i in range(20):  # warm up: the pool's threads, the view's per-index constants
            await asgi_request(app, json.dumps({"weights": {pillar: 3.0 + i / 11}}).encode(), accept_encoding)
        wall, header, size = [], [], 0
        cpu = time.process_time()
        for i in range(reps):
            body = json.dumps({"weights": {pillar: 2.0 + i / 7}}).encode()
            dt, head, out = await asgi_request(app, body, accept_encoding)
            assert head["status"] == 200, (head["status"], out[:200])
            wall.append(dt)
            size = len(out)
            h = dict(head.get("headers") or [])
            st = h.get(b"server-timing", b"").decode()
            if "dur=" in st:
                header.append(float(st.split("dur=")[1].split(";")[0].split(",")[0]) / 1e3)
            enc = h.get(b"content-encoding", b"identity").decode()
        return {"wall": wall, "header": header, "size": size, "encoding": enc,
                "cpu_ms": (time.process_time() - cpu) / reps * 1e3}

    return asyncio.run(run())


def breakdown(app: Any, pillar: str, reps: int, accept_encoding: bytes) -> dict[str, list[float]]:
    """Where the server time goes, from a separate pass with ``WorkPool.run`` wrapped in timestamps: the app up to
    the pool (middlewares, routing, body, validation), the hop to a worker thread, the job there (weight checks,
    re-scoring, JSON, compression), the hop back to the event loop, and the response on its way out."""
    from hubindex.web import _limits

    marks: dict[str, float] = {}
    real = _limits.WorkPool.run

    async def run(self: Any, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        marks["enter"] = time.perf_counter()

        def job(*a: Any) -> Any:
            marks["start"] = time.perf_counter()
            try:
                return fn(*a)
            finally:
                marks["end"] = time.perf_counter()

        try:
            return await real(self, job, *args, **kw)
        finally:
            marks["resume"] = time.perf_counter()

    parts: dict[str, list[float]] = {k: [] for k in ("app → pool", "hop to the worker", "job in the worker",
                                                      "hop back", "response out")}

    async def go() -> None:
        for i in range(reps + 20):
            body = json.dumps({"weights": {pillar: 2.0 + i / 7}}).encode()
            t0 = time.perf_counter()
            dt, _, _ = await asgi_request(app, body, accept_encoding)
            if i < 20:
                continue
            m = marks
            for k, v in zip(parts, (m["enter"] - t0, m["start"] - m["enter"], m["end"] - m["start"],
                                    m["resume"] - m["end"], t0 + dt - m["resume"]), strict=True):
                parts[k].append(v)

    _limits.WorkPool.run = run  # type: ignore[method-assign]
    try:
        asyncio.run(go())
    finally:
        _limits.WorkPool.run = real  # type: ignore[method-assign]
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--switch-interval", type=float, default=0.0005,
                    help="sys.setswitchinterval, as hubindex serve sets it (s; 0 = leave Python's 0.005)")
    a = ap.parse_args()
    if a.switch_interval > 0:
        sys.setswitchinterval(a.switch_interval)  # hubindex.web._limits.tune_gil, what `hubindex serve` does
    from fastapi.testclient import TestClient

    from hubindex.web._view import IndexView
    from hubindex.web.app import create_app

    print(f"hubindex from {Path(hubindex.__file__).parent}; GIL switch interval {sys.getswitchinterval() * 1e3:g} ms; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    r = hubindex.build()
    pillar = r.pillars()[0]
    print(f"index: {r.spec.name} — {len(r.units)} units × {len(r.framework.indicators)} indicators, "
          f"{len(r.framework.codes)} nodes; each request sets the weight of pillar {pillar}")
    view = IndexView.from_result(r)
    view.rescore({pillar: 3.0})
    line = "  {:<62} best {:7.3f} ms   median {:7.3f} ms{}"
    print(line.format("compute: IndexView.rescore (dict)", *stats(timed(
        lambda i: view.rescore({pillar: 2.0 + i / 7}), a.reps)), ""))
    if hasattr(view, "rescore_json"):
        print(line.format("compute: IndexView.rescore_json (the response bytes)", *stats(timed(
            lambda i: view.rescore_json({pillar: 2.0 + i / 7}), a.reps)), ""))
    app = create_app(r, uncertainty_reps=0, editions=False)
    for label, enc in (("browser, Accept-Encoding gzip", BROWSER), ("Accept-Encoding identity", b"identity")):
        m = asgi_times(app, pillar, a.reps, enc)
        print(line.format(f"app server time, ASGI direct ({label})", *stats(m["wall"]),
                          f"   {m['size']:,} bytes {m['encoding']}; CPU {m['cpu_ms']:.3f} ms/request"))
        if m["header"]:
            print(line.format("  … its Server-Timing: app;dur header", *stats(m["header"]), ""))
    print("  where the browser request's time goes (a separate pass, timestamps around the worker pool):")
    for k, xs in breakdown(app, pillar, a.reps, BROWSER).items():
        print(line.format(f"  {k}", *stats(xs), ""))
    client = TestClient(app)
    client.post("/api/score", json={"weights": {pillar: 3.0}})
    print(line.format("TestClient round trip (client side, gzip)", *stats(timed(
        lambda i: client.post("/api/score", json={"weights": {pillar: 2.0 + i / 7}}), a.reps)), ""))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
