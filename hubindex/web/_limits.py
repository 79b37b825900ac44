"""Server robustness: bounded CPU work, request-body limits, header and body read timeouts.

* :class:`WorkPool` runs CPU-heavy endpoint work (re-scoring, what-it-takes, rank ranges, audit, uncertainty,
  exports, dataset rebuilds) off the event loop in a fixed number of worker threads with a bounded queue:

  - admission: a request is refused at once when ``workers + queue`` jobs are already admitted (503) or when
    its client (remote address) already holds ``per_client`` of them (429), both with ``Retry-After``;
  - deadline: a job must *start* before its deadline (queue wait) and *finish* before it (queue wait + run),
    else the request answers 503 instead of waiting longer (a job that overruns keeps its worker until it
    returns — a thread cannot be killed — and admission counts it until then);
  - a job whose client has disconnected while it waited is dropped before it starts.

  Threads, not processes: the served index lives in this process and is swapped on upload; the jobs are short
  NumPy/pandas work that releases the GIL only in part, so the pool is small (default 2) and the event loop —
  health checks, cached read payloads, static files — never waits behind a queued job (it only shares the GIL;
  measured in ``benchmarks/bench_web.py``). The server process also shortens the GIL switch interval
  (:func:`tune_gil`) so the event loop is not starved by busy workers.
* :class:`BodyLimit` (ASGI middleware) checks the bearer token of ``/api/admin/*`` from the headers *before*
  reading a body, bounds each body (413) counted as it arrives, and answers 408 when a body stalls for more than
  ``body_timeout`` seconds.
* :func:`guarded_protocol` is uvicorn's HTTP protocol with a header-read deadline: a connection that has not
  sent a complete request head within ``header_timeout`` seconds of connecting (or of starting its next request)
  gets ``408`` and is closed. uvicorn itself has only an idle keep-alive timeout.
* :func:`server_config` puts it together: uvicorn's ``Config`` with these timeouts and a cap on concurrent
  connections (``limit_concurrency``: beyond it uvicorn answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hmac
import math
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["WorkPool", "PoolStats", "ServerLimits", "Shed", "BodyLimit", "check_token", "guarded_protocol", "server_config",
           "server_kwargs", "tune_gil", "GIL_SWITCH_INTERVAL",
           "DEFAULT_WORKERS", "DEFAULT_QUEUE", "DEFAULT_DEADLINE", "DEFAULT_SLOW_DEADLINE", "HEADER_TIMEOUT",
           "BODY_TIMEOUT", "KEEP_ALIVE", "LIMIT_CONCURRENCY"]

T = TypeVar("T")


def _http_error(status: int, detail: str, retry_after: str | None = None) -> Exception:
    """fastapi's HTTPException (imported here, not at module import: ``hubindex serve --help`` stays fast)."""
    from fastapi import HTTPException

    return HTTPException(status, detail, headers={"Retry-After": retry_after} if retry_after else None)


async def _respond(scope: Any, receive: Any, send: Any, status: int, detail: str,
                   headers: dict[str, str] | None = None) -> None:
    from fastapi.responses import JSONResponse

    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(scope, receive, send)

DEFAULT_WORKERS = 2  # worker threads for CPU-heavy requests
DEFAULT_QUEUE = 16  # jobs that may wait for a worker
DEFAULT_DEADLINE = 1.0  # s, queue wait + run, for re-scoring (POST /api/score)
DEFAULT_SLOW_DEADLINE = 10.0  # s, for everything else: downloads, profiles, LPs, Monte Carlo runs, the audit
HEADER_TIMEOUT = 5.0  # s to send a complete request head
BODY_TIMEOUT = 30.0  # s a request body may stall between chunks
KEEP_ALIVE = 5  # s an idle keep-alive connection is kept
MAX_HEAD = 16 * 1024  # bytes of a request head (431 and closed beyond)
LIMIT_CONCURRENCY = 512  # concurrent connections + requests; beyond it uvicorn answers 503
GIL_SWITCH_INTERVAL = 0.0005  # s, sys.setswitchinterval for the server process (Python's default: 0.005)


def check_token(token: str | None, authorization: str | None) -> tuple[int, str] | None:
    """``None`` when ``authorization`` carries the bearer ``token``; else (403, why) without a token configured,
    (401, why) for a missing or wrong one (constant-time comparison)."""
    if not token:
        return 403, ("state-changing endpoints are disabled: start the server with a token (hubindex serve "
                     "--token …) to enable them")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return 401, "missing or wrong bearer token"
    return None


@dataclass
class PoolStats:
    """Counters of a :class:`WorkPool` (read them in tests and benchmarks)."""

    admitted: int = 0
    completed: int = 0
    rejected_full: int = 0  # 503: queue full
    rejected_client: int = 0  # 429: the client holds its share
    expired_queue: int = 0  # 503: deadline passed while queued
    expired_run: int = 0  # 503: deadline passed while running
    dropped_disconnected: int = 0  # client gone before its job started
    service_s: float = 0.05  # moving average of a job's run time (for Retry-After)
    by_client: dict[str, int] = field(default_factory=dict)


class WorkPool:
    """A bounded pool of worker threads with admission control, per-request deadlines and dropping of work
    whose client is gone (see the module docstring).

    ``workers`` threads run jobs; at most ``queue`` more wait (FIFO). ``per_client`` (default
    ``max(1, (workers + queue) // 2)``) bounds the jobs one remote address may hold, so one client cannot take
    the whole pool. ``deadline`` (seconds, queue wait + run) is the default; ``math.inf`` = none.
    ``Retry-After`` = ceil(jobs ahead × mean run time / workers), at least 1 s.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS, queue: int = DEFAULT_QUEUE,
                 deadline: float = DEFAULT_DEADLINE, per_client: int | None = None, name: str = "hubindex-work"
                 ) -> None:
        if workers < 1 or queue < 0 or not deadline > 0:
            raise ValueError("WorkPool needs workers >= 1, queue >= 0 and deadline > 0")
        self.workers, self.queue, self.deadline = workers, queue, deadline
        self.per_client = per_client if per_client is not None else max(1, (workers + queue) // 2)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._running = 0  # slots held (jobs running, or overrunning their deadline)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._inflight = 0  # admitted and not finished
        self._lock = threading.Lock()
        self.stats = PoolStats()

    # -- slots ----------------------------------------------------------------------------------------
    async def _acquire(self, timeout: float) -> bool:
        """Take a worker slot, waiting up to ``timeout`` s in FIFO order; True when it had to wait."""
        if self._running < self.workers and not self._waiters:
            self._running += 1
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, max(timeout, 0.0))
        except BaseException:
            if fut.done() and not fut.cancelled():  # the slot was handed over as we gave up: pass it on
                self._release()
            else:
                try:
                    self._waiters.remove(fut)
                except ValueError:
                    pass
            raise
        return True

    def _release(self) -> None:
        while self._waiters:
            f = self._waiters.popleft()
            if not f.done():
                f.set_result(None)  # the slot passes to the next waiter; _running unchanged
                return
        self._running -= 1

    def _retry_after(self) -> str:
        ahead = self._inflight
        return str(max(1, min(60, math.ceil(ahead * self.stats.service_s / self.workers))))

    def refusal(self, client: str) -> tuple[int, str] | None:
        """(status, Retry-After) if a job from ``client`` would be refused right now, else ``None`` — the cheap
        pre-check :class:`Shed` makes before a request's body is even read."""
        if self._inflight >= self.workers + self.queue:
            self.stats.rejected_full += 1
            return 503, self._retry_after()
        if self.stats.by_client.get(client, 0) >= self.per_client:
            self.stats.rejected_client += 1
            return 429, self._retry_after()
        return None

    def _admit(self, client: str) -> None:
        st = self.stats
        if self._inflight >= self.workers + self.queue:
            st.rejected_full += 1
            raise _http_error(503, f"server busy: {self._inflight} computations running or queued (the limit "
                                     f"is {self.workers + self.queue}); try again shortly", self._retry_after())
        if st.by_client.get(client, 0) >= self.per_client:
            st.rejected_client += 1
            raise _http_error(429, f"too many computations from this client at once (at most "
                                     f"{self.per_client}); try again shortly", self._retry_after())
        self._inflight += 1
        st.admitted += 1
        st.by_client[client] = st.by_client.get(client, 0) + 1

    def _leave(self, client: str) -> None:
        self._inflight -= 1
        n = self.stats.by_client.get(client, 1) - 1
        if n:
            self.stats.by_client[client] = n
        else:
            self.stats.by_client.pop(client, None)

    @property
    def inflight(self) -> int:
        """Jobs admitted and not finished (running, overrunning or queued)."""
        return self._inflight

    # -- the one entry point ----------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any, request: Any = None, deadline: float | None = None,
                  client: str | None = None) -> T:
        """Run ``fn(*args)`` in a worker thread and return its result, or raise ``HTTPException`` 429/503
        (with ``Retry-After``) when refused, when the deadline passes, or when ``request``'s client is gone
        before the job starts. Exceptions of ``fn`` propagate."""
        loop = asyncio.get_running_loop()
        budget = self.deadline if deadline is None else deadline
        t_end = loop.time() + budget
        if client is None:
            c = getattr(request, "client", None)
            client = str(c.host) if c is not None else "-"
        self._admit(client)
        handed_off = False
        try:
            try:
                waited = await self._acquire(t_end - loop.time())
            except TimeoutError:
                self.stats.expired_queue += 1
                raise _http_error(503, f"server busy: the computation did not start within {budget:g} s; try "
                                         f"again shortly", self._retry_after()) from None
            try:
                # a client can only have left *while its job waited*: a job that got a worker at once skips
                # the check (two reads of the ASGI channel, ~0.05 ms of event-loop time per request)
                if waited and request is not None and await client_gone(request):
                    self.stats.dropped_disconnected += 1
                    raise _http_error(503, "client disconnected; computation dropped")
                start = loop.time()
                ctx = contextvars.copy_context()
                fut = loop.run_in_executor(self._executor, functools.partial(ctx.run, fn, *args))
                try:
                    out = await asyncio.wait_for(asyncio.shield(fut), t_end - loop.time())
                except TimeoutError:
                    self.stats.expired_run += 1
                    handed_off = True

                    def done(f: asyncio.Future[Any], _c: str = client, _t: float = start) -> None:
                        if not f.cancelled():
                            f.exception()  # retrieved: no "never retrieved" warning
                        self._observe(loop.time() - _t)
                        self._release()
                        self._leave(_c)

                    fut.add_done_callback(done)
                    raise _http_error(503, f"the computation did not finish within {budget:g} s; try again "
                                             f"later", self._retry_after()) from None
                self._observe(loop.time() - start)
                self.stats.completed += 1
                return out
            finally:
                if not handed_off:
                    self._release()
        finally:
            if not handed_off:
                self._leave(client)

    def _observe(self, seconds: float) -> None:
        self.stats.service_s = 0.9 * self.stats.service_s + 0.1 * seconds

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


async def client_gone(request: Any) -> bool:
    """True when the client of ``request`` has disconnected. Reads (without waiting) the pending ASGI messages:
    an unread empty ``http.request`` (a GET) comes first, so up to two are looked at."""
    for _ in range(2):
        if await request.is_disconnected():
            return True
        if getattr(request, "_hub_body_seen", False):
            return False
        request._hub_body_seen = True
    return False


class Shed:
    """ASGI middleware: a request for a CPU-heavy path (``heavy(method, path)``) is refused at once — before its
    body is read or parsed, with a pre-encoded response — when ``pool`` would refuse it (503 full / 429 the
    client's share, with ``Retry-After``). Under overload the refusal then costs the event loop as little as
    possible; the pool's own admission check still applies when the job is submitted."""

    def __init__(self, app: Any, *, pool: WorkPool, heavy: Callable[[str, str], bool]) -> None:
        self.app, self.pool, self.heavy = app, pool, heavy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.heavy(scope["method"], scope["path"]):
            c = scope.get("client")
            no = self.pool.refusal(str(c[0]) if c else "-")
            if no is not None:
                status, retry = no
                body = (b'{"detail":"server busy: too many computations running or queued; try again shortly"}'
                        if status == 503 else
                        b'{"detail":"too many computations from this client at once; try again shortly"}')
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()),
                                        (b"retry-after", retry.encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


# -- request bodies ---------------------------------------------------------------------------------------
class BodyLimit:
    """ASGI middleware: the token of ``/api/admin/*`` is checked from the headers before any body is read
    (401/403 at once); bodies are bounded as they arrive (413; ``limits(path)`` gives the bound) and must keep
    arriving (408 when a chunk takes longer than ``body_timeout`` s); at most ``max_uploads`` large uploads are
    buffered at once (429 beyond)."""

    def __init__(self, app: Any, *, limit_for: Callable[[str], int], token: str | None = None,
                 body_timeout: float = BODY_TIMEOUT, upload_paths: tuple[str, ...] = (),
                 max_uploads: int = 2) -> None:
        self.app, self.limit_for, self.token = app, limit_for, token
        self.body_timeout, self.upload_paths, self.max_uploads = body_timeout, upload_paths, max_uploads
        self._uploads = 0

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = dict(scope.get("headers") or [])
        if path.startswith("/api/admin/"):
            auth = headers.get(b"authorization")
            bad = check_token(self.token, auth.decode("latin-1") if auth is not None else None)
            if bad is not None:
                extra = {"WWW-Authenticate": "Bearer"} if bad[0] == 401 else {}
                await _respond(scope, receive, send, bad[0], bad[1], extra)
                return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(path)
        upload = path in self.upload_paths
        if upload:
            if self._uploads >= self.max_uploads:
                await _respond(scope, receive, send, 429, "an upload is already in progress; try again when it is "
                               "done", {"Retry-After": "5"})
                return
            self._uploads += 1
        try:
            cl = headers.get(b"content-length")
            status, detail = 0, ""
            if cl is not None and cl.isdigit() and int(cl) > limit:
                status = 413
            chunks: list[bytes] = []
            total = 0
            while not status:
                try:
                    msg = await asyncio.wait_for(receive(), self.body_timeout)
                except TimeoutError:
                    status, detail = 408, f"request body stalled for more than {self.body_timeout:g} s"
                    break
                if msg["type"] == "http.disconnect":
                    return
                body = msg.get("body", b"")
                total += len(body)
                if total > limit:
                    status = 413
                    break
                chunks.append(body)
                if not msg.get("more_body", False):
                    break
            if status:
                detail = detail or f"request body too large: the limit is {limit} bytes"
                await _respond(scope, receive, send, status, detail, {"Connection": "close"})
                return
            data = b"".join(chunks)
            del chunks
        finally:
            if upload:
                self._uploads -= 1
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# -- connections ------------------------------------------------------------------------------------------
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_HEAD_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def guarded_protocol(header_timeout: float = HEADER_TIMEOUT, http: str = "auto",
                     max_head: int = MAX_HEAD) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class (``http``: "h11", "httptools" or "auto", as uvicorn would pick) with a
    header-read deadline:
    from the moment a connection opens, or a request starts arriving after the previous response, the client
    has ``header_timeout`` seconds to complete the request head; otherwise it gets 408 and is closed; a head over
    ``max_head`` bytes gets 431 and is closed. (Bodies
    are timed by :class:`BodyLimit`; idle keep-alive connections by uvicorn's ``timeout_keep_alive``.)"""
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    base: Any = import_from_string(HTTP_PROTOCOLS[http])  # "auto": httptools when installed, else h11

    class HeaderTimeoutProtocol(base):  # type: ignore[misc, valid-type]
        _hub_timer: asyncio.TimerHandle | None = None
        _hub_cycle: Any = None
        _hub_head = 0  # bytes of the request head received so far

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._hub_arm(None)

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            idle = before is None or before.response_complete
            super().data_received(data)
            if self.cycle is not before:  # a request head was completed
                self._hub_cancel()
            elif idle:
                if self._hub_timer is None:
                    self._hub_arm(before)
                self._hub_head += len(data)
                if self._hub_head > max_head and not self.transport.is_closing():  # httptools has no such bound
                    self._hub_cancel()
                    self.transport.write(_HEAD_TOO_LARGE)
                    self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._hub_cancel()
            super().connection_lost(exc)

        def _hub_arm(self, cycle: Any) -> None:
            self._hub_cycle, self._hub_head = cycle, 0
            self._hub_timer = self.loop.call_later(header_timeout, self._hub_expire)

        def _hub_cancel(self) -> None:
            if self._hub_timer is not None:
                self._hub_timer.cancel()
                self._hub_timer = None

        def _hub_expire(self) -> None:
            self._hub_timer = None
            c = self.cycle
            head_pending = c is self._hub_cycle and (c is None or c.response_complete)  # no new head since
            if head_pending and not self.transport.is_closing():
                with contextlib.suppress(Exception):  # closing anyway
                    self.transport.write(_REQUEST_TIMEOUT)
                self.transport.close()

    HeaderTimeoutProtocol.__name__ = f"HeaderTimeout{base.__name__}"
    return HeaderTimeoutProtocol


def tune_gil(seconds: float = GIL_SWITCH_INTERVAL) -> None:
    """Set the interpreter's GIL switch interval (process-wide; ``hubindex serve`` calls this).

    With the default 5 ms, a worker thread busy in Python holds the GIL for up to 5 ms each time the event-loop
    thread returns from a socket call, so the loop — every accept, read and reply — crawls while the pool works
    (the convoy effect; measured in ``benchmarks/bench_web.py``: at 500 score requests/s most answers took
    > 1 s). At 0.5 ms the loop gets the GIL back ten times sooner, for a little more switching overhead."""
    import sys

    sys.setswitchinterval(seconds)


def server_kwargs(*, header_timeout: float = HEADER_TIMEOUT, keep_alive: int = KEEP_ALIVE,
                  limit_concurrency: int | None = LIMIT_CONCURRENCY, http: str = "auto") -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``: the header-read deadline
    (:func:`guarded_protocol`), the idle keep-alive timeout, a 16 KiB bound on a request head (h11) and the cap on
    concurrent connections + requests (beyond it uvicorn answers 503)."""
    return {"http": guarded_protocol(header_timeout, http), "timeout_keep_alive": keep_alive,
            "limit_concurrency": limit_concurrency, "h11_max_incomplete_event_size": MAX_HEAD}


def server_config(app: Any, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "warning",
                  loop: str = "auto", **kw: Any) -> Any:
    """``uvicorn.Config`` for ``app`` with :func:`server_kwargs` (``kw`` goes to it)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, loop=loop, **server_kwargs(**kw))


@dataclass(frozen=True)
class ServerLimits:
    """The knobs of :func:`hubindex.web.create_app`'s load shedding (see the module docstring)."""

    workers: int = DEFAULT_WORKERS
    queue: int = DEFAULT_QUEUE
    deadline: float = DEFAULT_DEADLINE  # s: re-scoring
    slow_deadline: float = DEFAULT_SLOW_DEADLINE  # s: downloads, profiles, LPs, Monte Carlo, audit, exports
    per_client: int | None = None  # default (workers + queue) // 2
    body_timeout: float = BODY_TIMEOUT
