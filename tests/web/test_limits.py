"""Load shedding and timeouts (issue 12 items 3 and 4): the bounded worker pool (admission 503/429 with
Retry-After, deadlines, work of disconnected clients dropped), cheap endpoints never behind heavy work, the admin
token checked before a body is read, body and header read timeouts, the connection cap."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from web_helpers import free_port

from hubindex.web import create_app
from hubindex.web._limits import BodyLimit, ServerLimits, WorkPool, server_config
from hubindex.web.app import MAX_BODY, MAX_UPLOAD, _body_limit


class _Req:
    """A stand-in request: a client address and a disconnect flag."""

    def __init__(self, host: str = "1.2.3.4", gone: bool = False) -> None:
        self.client = type("C", (), {"host": host})()
        self.gone = gone

    async def is_disconnected(self) -> bool:
        return self.gone


def _arun(coro: Any) -> Any:
    """``asyncio.run(coro)`` in a fresh thread (a session-wide Playwright fixture may hold this thread's loop)."""
    out: dict[str, Any] = {}

    def go() -> None:
        try:
            out["v"] = asyncio.run(coro)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            out["e"] = e

    t = threading.Thread(target=go)
    t.start()
    t.join()
    if "e" in out:
        raise out["e"]
    return out["v"]


def _status(exc: BaseException) -> tuple[int, dict[str, str]]:
    return exc.status_code, dict(exc.headers or {})  # type: ignore[attr-defined]


# -- WorkPool -------------------------------------------------------------------------------------------------
def test_pool_queue_full_is_503_with_retry_after() -> None:
    async def go() -> list[Any]:
        pool = WorkPool(workers=1, queue=1, deadline=5, per_client=10)
        jobs = [asyncio.create_task(pool.run(time.sleep, 0.3, request=_Req())) for _ in range(3)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    out = _arun(go())
    errors = [e for e in out if isinstance(e, Exception)]
    assert len(errors) == 1  # one runs, one waits, the third is refused at once
    status, headers = _status(errors[0])
    assert status == 503 and int(headers["Retry-After"]) >= 1


def test_pool_per_client_share_is_429_and_other_clients_still_get_in() -> None:
    async def go() -> tuple[list[Any], WorkPool]:
        pool = WorkPool(workers=1, queue=4, deadline=5, per_client=2)
        a = [asyncio.create_task(pool.run(time.sleep, 0.2, request=_Req("10.0.0.1"))) for _ in range(3)]
        b = [asyncio.create_task(pool.run(lambda: "b", request=_Req("10.0.0.2")))]
        return await asyncio.gather(*a, *b, return_exceptions=True), pool

    out, pool = _arun(go())
    assert [_status(e)[0] for e in out if isinstance(e, Exception)] == [429]
    assert out[-1] == "b" and pool.stats.rejected_client == 1 and pool.inflight == 0


def test_pool_deadline_in_queue_and_while_running() -> None:
    async def go() -> tuple[list[Any], float, WorkPool]:
        pool = WorkPool(workers=1, queue=4, deadline=0.25, per_client=10)
        t = time.perf_counter()
        out = await asyncio.gather(pool.run(time.sleep, 0.6, request=_Req()), pool.run(lambda: 1, request=_Req()),
                                   return_exceptions=True)
        took = time.perf_counter() - t
        # the overrunning job keeps its worker (a thread cannot be killed) and counts until it returns
        assert pool.inflight == 1
        await asyncio.sleep(0.5)
        assert pool.inflight == 0
        assert await pool.run(lambda: "free again", request=_Req()) == "free again"
        return out, took, pool

    out, took, pool = _arun(go())
    assert [_status(e)[0] for e in out] == [503, 503]
    assert "did not finish" in out[0].detail and "did not start" in out[1].detail
    assert took < 0.5  # answered at the deadline, not when the work ended
    assert pool.stats.expired_run == 1 and pool.stats.expired_queue == 1


def test_pool_drops_work_of_a_disconnected_client() -> None:
    ran: list[str] = []

    async def go() -> tuple[list[Any], WorkPool]:
        pool = WorkPool(workers=1, queue=4, deadline=5)
        gone = _Req(gone=False)
        first = asyncio.create_task(pool.run(time.sleep, 0.2, request=_Req("9.9.9.9")))
        second = asyncio.create_task(pool.run(ran.append, "ran", request=gone))
        await asyncio.sleep(0.05)
        gone.gone = True  # the client leaves while its job waits
        return await asyncio.gather(first, second, return_exceptions=True), pool

    out, pool = _arun(go())
    assert ran == [] and pool.stats.dropped_disconnected == 1
    assert _status(out[1])[0] == 503


def test_pool_keeps_the_event_loop_free() -> None:
    """While both workers are busy, the loop keeps ticking (heavy work never runs on it)."""

    async def go() -> float:
        pool = WorkPool(workers=2, queue=2, deadline=5)
        jobs = [asyncio.create_task(pool.run(time.sleep, 0.4, request=_Req(str(i)))) for i in range(4)]
        worst, last = 0.0, time.perf_counter()
        while not all(j.done() for j in jobs):
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            worst, last = max(worst, now - last), now
        await asyncio.gather(*jobs)
        return worst

    assert _arun(go()) < 0.2


# -- the app --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _live(app: Any, **kw: Any) -> Iterator[int]:
    """``app`` under uvicorn with :func:`server_config` (header timeout, connection cap) in a thread; the port."""
    import sys

    import uvicorn

    from hubindex.web._limits import GIL_SWITCH_INTERVAL

    old = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # as hubindex serve runs
    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, **kw))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    deadline = time.time() + 20
    while not server.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        th.join(timeout=10)
        sys.setswitchinterval(old)


def _http(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
          timeout: float = 10) -> tuple[int, dict[str, str], bytes, float]:
    import http.client

    t = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body, {"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.perf_counter() - t


def _slow_rescoring(app: Any, seconds: float) -> list[Any]:
    """Make the app's re-scoring (what POST /api/score computes with) take ``seconds`` more; returns the list that
    records each call's weights."""
    view = app.state.index.gen.view
    real = view.rescore_json
    calls: list[Any] = []

    def slow_rescore(w: Any) -> Any:
        calls.append(w)
        time.sleep(seconds)
        return real(w)

    view.rescore_json = slow_rescore  # type: ignore[method-assign]
    return calls


def test_heavy_endpoints_are_shed_and_health_stays_fast(asem_result) -> None:
    """Re-scoring slowed to 0.5 s per request: with one worker and a queue of one, of 6 concurrent requests 2
    are served and 4 refused at once with Retry-After; /api/health answers fast meanwhile."""
    app = create_app(asem_result, uncertainty_reps=0, editions=False,
                     limits=ServerLimits(workers=1, queue=1, deadline=3, per_client=100))
    calls = _slow_rescoring(app, 0.5)
    with _live(app) as port:
        results: list[Any] = []
        threads = [threading.Thread(target=lambda: results.append(
            _http(port, "POST", "/api/score", b'{"weights": {"Conn": 2}}'))) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        health = [_http(port, "GET", "/api/health")[3] for _ in range(5)]
        for t in threads:
            t.join()
    codes = sorted(r[0] for r in results)
    assert codes == [200, 200, 503, 503, 503, 503], codes
    refused = [r for r in results if r[0] == 503]
    assert all("retry-after" in r[1] and r[3] < 0.4 for r in refused)  # at once, not after the work
    assert max(health) < 0.3, health  # answered on the event loop, not behind the 0.5 s jobs
    assert len(calls) == 2


def test_disconnected_clients_work_is_dropped(asem_result) -> None:
    app = create_app(asem_result, uncertainty_reps=0, editions=False,
                     limits=ServerLimits(workers=1, queue=4, deadline=5, per_client=100))
    calls = _slow_rescoring(app, 0.6)
    body = b'{"weights": {"Conn": 3}}'
    with _live(app) as port:
        first = threading.Thread(target=_http, args=(port, "POST", "/api/score", body))
        first.start()
        time.sleep(0.15)
        s = socket.create_connection(("127.0.0.1", port))  # queued behind the first, then gone
        s.sendall(b"POST /api/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(0.15)
        s.close()
        first.join()
        time.sleep(0.3)
        assert _http(port, "GET", "/api/health")[0] == 200
    assert len(calls) == 1
    assert app.state.work.stats.dropped_disconnected == 1


def test_admin_token_is_checked_before_the_body_is_read() -> None:
    """80 unauthenticated 20 MiB uploads must not be buffered: the middleware answers 401/403 from the headers
    without calling receive() once."""
    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:  # never reached
        seen.append("app")

    async def go(token: str | None, auth: bytes | None) -> tuple[int, int]:
        mw = BodyLimit(inner, limit_for=_body_limit, token=token, upload_paths=("/api/admin/dataset",))
        reads = 0

        async def receive() -> dict[str, Any]:
            nonlocal reads
            reads += 1
            return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

        sent: list[dict[str, Any]] = []

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)

        headers = [(b"content-length", str(MAX_UPLOAD).encode())]
        if auth is not None:
            headers.append((b"authorization", auth))
        await mw({"type": "http", "method": "POST", "path": "/api/admin/dataset", "headers": headers},
                 receive, send)
        return sent[0]["status"], reads

    assert _arun(go("s3cret", None)) == (401, 0)
    assert _arun(go("s3cret", b"Bearer wrong")) == (401, 0)
    assert _arun(go(None, b"Bearer s3cret")) == (403, 0)
    assert seen == []


def test_only_the_upload_path_gets_the_upload_limit(asem_result) -> None:
    assert _body_limit("/api/admin/dataset") == MAX_UPLOAD
    assert _body_limit("/api/admin/datasetX") == _body_limit("/api/admin/dataset/../x") == MAX_BODY
    c = TestClient(create_app(asem_result, token="t", uncertainty_reps=0, editions=False))
    r = c.post("/api/admin/dataset-other", content=b"x" * (MAX_BODY + 1), headers={"Authorization": "Bearer t"})
    assert r.status_code == 413
    r = c.post("/api/admin/dataset-other", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 401  # and without the token, 401 before anything is read


def test_a_stalled_body_gets_408() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not reached")

    async def go() -> int:
        mw = BodyLimit(inner, limit_for=lambda p: 1000, body_timeout=0.2)
        n = 0

        async def receive() -> dict[str, Any]:
            nonlocal n
            n += 1
            if n > 1:
                await asyncio.sleep(60)
            return {"type": "http.request", "body": b"{", "more_body": True}

        sent: list[dict[str, Any]] = []

        async def send(msg: dict[str, Any]) -> None:
            sent.append(msg)

        t = time.perf_counter()
        await mw({"type": "http", "method": "POST", "path": "/api/score", "headers": []}, receive, send)
        assert time.perf_counter() - t < 2
        return int(sent[0]["status"])

    assert _arun(go()) == 408


def _recv_all(s: socket.socket, limit: float) -> tuple[bytes, float]:
    """Read until the server closes (or ``limit`` s pass); (bytes, seconds)."""
    t = time.perf_counter()
    s.settimeout(limit)
    out = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except TimeoutError:
        pass
    return out, time.perf_counter() - t


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_half_sent_requests_are_closed_after_the_header_timeout(asem_result, http: str) -> None:
    if http == "httptools":
        pytest.importorskip("httptools")
    app = create_app(asem_result, uncertainty_reps=0, editions=False)
    with _live(app, header_timeout=0.5, http=http) as port:
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        silent = socket.create_connection(("127.0.0.1", port))
        # a slow-loris that keeps sending a byte at a time does not extend its deadline
        loris = socket.create_connection(("127.0.0.1", port))
        t = time.perf_counter()
        with contextlib.suppress(OSError):
            for b in b"GET /api/health HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                loris.sendall(bytes([b]))
                time.sleep(0.05)
        assert time.perf_counter() - t < 2  # cut off, not served byte by byte for 6 s
        got, took = _recv_all(half, 5)
        assert got.startswith(b"HTTP/1.1 408") and took < 2, (got, took)
        got2, took2 = _recv_all(silent, 5)
        assert took2 < 2 and (got2 == b"" or got2.startswith(b"HTTP/1.1 408"))
        # a complete request on a keep-alive connection is unaffected, and so is the next one on it
        ok = socket.create_connection(("127.0.0.1", port))
        for _ in range(2):
            ok.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            time.sleep(0.7)  # longer than the header timeout, between complete requests
            assert ok.recv(4096).startswith(b"HTTP/1.1 200")
        for s in (half, silent, loris, ok):  # noqa: B007
            s.close()


def test_connection_cap_answers_503(asem_result) -> None:
    app = create_app(asem_result, uncertainty_reps=0, editions=False)
    with _live(app, limit_concurrency=3, header_timeout=30) as port:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.2)
        assert _http(port, "GET", "/api/health")[0] == 503
        for s in idle:
            s.close()
        time.sleep(0.2)
        assert _http(port, "GET", "/api/health")[0] == 200


def test_upload_rebuilds_off_the_event_loop(asem_result, monkeypatch) -> None:
    """A dataset rebuild (slowed to 1.5 s) runs in the admin thread: health stays fast meanwhile, a second
    upload during it is refused with 503 at once, and the new build is served afterwards."""
    import hubindex.web.app as A

    real = A._load

    def slow_load(x: Any) -> Any:
        time.sleep(1.5)
        return real(x)

    monkeypatch.setattr(A, "_load", slow_load)
    app = create_app(asem_result, token="t", uncertainty_reps=0, editions=False)
    src = asem_result.spec.resolve(asem_result.spec.data.paths[0])
    df = pd.read_csv(src)
    df.loc[df[asem_result.spec.data.unit_code] == "AUT", "LPI"] = 1e6
    csv = df.to_csv(index=False).encode()
    auth = {"Authorization": "Bearer t", "Content-Type": "text/csv"}
    with _live(app) as port:
        out: list[Any] = []
        th = threading.Thread(target=lambda: out.append(_http(port, "POST", "/api/admin/dataset", csv, auth)))
        th.start()
        time.sleep(0.4)
        health = [_http(port, "GET", "/api/health")[3] for _ in range(5)]
        second = _http(port, "POST", "/api/admin/dataset", csv, auth)
        th.join()
        prof = json.loads(_http(port, "GET", "/api/units/AUT")[2])
    assert out[0][0] == 200, out[0][2]
    assert max(health) < 0.5, health  # the rebuild (>= 1.5 s) does not block the event loop
    assert second[0] == 503 and second[3] < 0.5 and "retry-after" in second[1]
    assert next(n for n in prof["nodes"] if n["code"] == "LPI")["rank"] == 1


def test_concurrent_uploads_are_bounded() -> None:
    """At most ``max_uploads`` upload bodies are buffered at once (authenticated ones; 429 beyond)."""

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def go() -> list[int]:
        mw = BodyLimit(inner, limit_for=lambda p: MAX_UPLOAD, token="t", upload_paths=("/api/admin/dataset",),
                       max_uploads=2)
        gate = asyncio.Event()

        async def one() -> int:
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                await gate.wait()
                return {"type": "http.request", "body": b"a,b\n", "more_body": False}

            async def send(msg: dict[str, Any]) -> None:
                sent.append(msg)

            await mw({"type": "http", "method": "POST", "path": "/api/admin/dataset",
                      "headers": [(b"authorization", b"Bearer t")]}, receive, send)
            return int(sent[0]["status"])

        tasks = [asyncio.create_task(one()) for _ in range(3)]
        await asyncio.sleep(0.1)
        gate.set()
        return sorted(await asyncio.gather(*tasks))

    assert _arun(go()) == [200, 200, 429]


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_oversized_request_head_is_refused(asem_result, http: str) -> None:
    """A request head over 16 KiB is refused and the connection closed at once (h11: 400 from its own bound;
    httptools, which has none: 431 from the guard)."""
    if http == "httptools":
        pytest.importorskip("httptools")
    app = create_app(asem_result, uncertainty_reps=0, editions=False)
    with _live(app, header_timeout=30, http=http) as port:
        s = socket.create_connection(("127.0.0.1", port))
        with contextlib.suppress(OSError):
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Big: " + b"a" * 40_000)
        got, took = _recv_all(s, 10)
        s.close()
        assert took < 5 and got.split(b"\r\n", 1)[0] in (b"HTTP/1.1 431 Request Header Fields Too Large",
                                                        b"HTTP/1.1 400 Bad Request"), got[:100]
        assert _http(port, "GET", "/api/health")[0] == 200


def test_a_profile_computed_during_an_upload_does_not_outlive_it(asem_result) -> None:
    """A profile request that started on the old build and finishes after an upload swapped the new one in must
    not leave the old profile in the new build's cache (the stale-profile bug)."""
    app = create_app(asem_result, token="t", uncertainty_reps=0, editions=False)
    old_view = app.state.index.gen.view
    real = old_view.profile

    def slow_profile(unit: str, k: int = 5) -> Any:
        out = real(unit, k=k)
        time.sleep(1.0)  # the upload lands meanwhile
        return out

    old_view.profile = slow_profile
    src = asem_result.spec.resolve(asem_result.spec.data.paths[0])
    df = pd.read_csv(src)
    df.loc[df[asem_result.spec.data.unit_code] == "AUT", ["LPI", "Flights", "Ship", "Bord"]] = 1e6
    with _live(app) as port:
        th = threading.Thread(target=_http, args=(port, "GET", "/api/units/AUT"))
        th.start()
        time.sleep(0.2)
        up = _http(port, "POST", "/api/admin/dataset", df.to_csv(index=False).encode(),
                   {"Authorization": "Bearer t", "Content-Type": "text/csv"})
        th.join()
        assert up[0] == 200, up[2]
        prof = json.loads(_http(port, "GET", "/api/units/AUT")[2])
        ranking = json.loads(_http(port, "GET", "/api/ranking")[2])
    assert prof["score"] == next(r["score"] for r in ranking if r["unit"] == "AUT")
    assert next(n for n in prof["nodes"] if n["code"] == "LPI")["rank"] == 1
