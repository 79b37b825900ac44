"""The web app: a JSON API under ``/api`` and the static dashboard pages, over one index built at start-up.

Read-only by default. Endpoints that change state (``/api/admin/*``: reload from disk, upload a dataset) need a
bearer token given at start-up (``create_app(..., token=...)`` / ``hubindex serve --token``); without one they
answer 403. Request bodies are bounded (:data:`MAX_BODY`, :data:`MAX_UPLOAD`). Nothing is fetched from the
network: the Swagger UI of ``/docs`` is vendored in ``hubindex/web/static/vendor/swagger-ui`` (swagger-ui-dist 5, reads
OpenAPI 3.1), Plotly comes from the ``plotly`` package and the world map from a TopoJSON file shipped in
``hubindex/web/static/geo``. Responses are gzip-compressed when the browser accepts it (JSON and small files on the
fly; Plotly and the Swagger UI bundle compressed once and kept in memory; ``POST /api/score`` compresses its own
body in the worker thread, at level 1). Every response carries ``Server-Timing: app;dur=<ms>``
(:class:`ServerTiming`).
"""

from __future__ import annotations

import functools
import gzip
import inspect
import io
import json
import math
import re
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi import Path as Path_
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.middleware.gzip import GZipMiddleware

from hubindex.engine.result import Result
from hubindex.errors import HubindexError
from hubindex.publish.tables import spreadsheet_safe
from hubindex.web._editions import EditionHistory
from hubindex.web._limits import BodyLimit, ServerLimits, Shed, WorkPool, check_token
from hubindex.web._security import HostGuard, allowed_hosts, one_line
from hubindex.web._uncertainty import MAX_REPS, START_REPS, RankIntervals
from hubindex.web._view import IndexView, jsonable

__all__ = ["create_app", "MAX_BODY", "MAX_UPLOAD", "MAX_WEIGHTS", "ServerLimits"]

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024  # bytes, JSON requests
MAX_UPLOAD = 20 * 1024 * 1024  # bytes, dataset uploads
MAX_WEIGHTS = 5000  # entries in a weights mapping
MIN_WEIGHT = 1e-12  # smallest non-zero weight accepted by POST /api/score and /api/uncertainty
MAX_EXPORT = 4 * 1024 * 1024  # bytes, POST /api/export (a browser table sent back as a file)
MAX_EXPORT_ROWS = 20000
UPLOAD_PATH = "/api/admin/dataset"  # the one path with the MAX_UPLOAD body limit
AUDIT_SOBOL_N = 500  # Saltelli base sample of the dashboard's Sobol indices: N(d + 2) runs
AUDIT_SOBOL_BOOT = 1000  # bootstrap resamples for their intervals
AUDIT_TABLES = ("indicators", "correlation_flags", "groups", "units_low_availability", "rank_intervals", "sobol")
AuditTable = Literal["indicators", "correlation_flags", "groups", "units_low_availability", "rank_intervals",
                     "sobol"]


class WeightsRequest(BaseModel):
    """Weights to score the index with: node code → weight ≥ 0 (nodes not named keep their weight)."""

    model_config = ConfigDict(extra="forbid")
    weights: dict[Annotated[str, Field(min_length=1, max_length=200)],
                  Annotated[float, Field(ge=0, le=1e6)]] = Field(max_length=MAX_WEIGHTS)

    @field_validator("weights")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        return _valid_weights(v)


def _valid_weights(v: dict[str, float]) -> dict[str, float]:
    """Weights must be finite, ≥ 0, and either 0 or ≥ :data:`MIN_WEIGHT`. Weights are relative among siblings,
    so a weight below 1e-12 next to one of order 1 is 0 to double precision (1 + 1e-16 == 1), and tiny weights
    (subnormal ones, 0 < w < 2.2e-308, above all) make the per-weight split of a score change, δ·(x − y)/S,
    overflow to infinity; such a weight is refused with this message rather than answered with a 500."""
    bad = [k for k, w in v.items() if not math.isfinite(w)]
    if bad:
        raise ValueError(f"weights must be finite numbers, not for {bad[:5]}")
    neg = [k for k, w in v.items() if w < 0]
    if neg:
        raise ValueError(f"weights must be >= 0, not for {neg[:5]}")
    tiny = [k for k, w in v.items() if 0 < w < MIN_WEIGHT]
    if tiny:
        raise ValueError(f"weights {tiny[:5]} are too small to compute with (0 < w < {MIN_WEIGHT:g}"
                         + (", subnormal" if any(0 < v[k] < sys.float_info.min for k in tiny) else "")
                         + f"): use 0 to drop a node, or a weight >= {MIN_WEIGHT:g} (weights are relative to "
                         f"their siblings)")
    return v


def _check_weight_sums(view: IndexView, weights: Mapping[str, float]) -> None:
    """422 when the given weights leave an aggregate whose children's weights sum to 0 (unnamed nodes keep
    their published weight)."""
    zero = view.all_zero_group(weights)
    if zero is not None:
        code, kids = zero
        raise HTTPException(422, f"weights: all weights under '{code}' are zero (they sum to 0); give at "
                                 f"least one of {list(kids)[:10]} a weight > 0")


_HEAVY = re.compile(r"/api/(score|uncertainty|export|audit|compare-published|editions/diff|"
                    r"units/[^/]+/(what-it-takes|rank-range|targets))")


def _heavy(method: str, path: str) -> bool:
    """Paths whose requests compute in the worker pool (refused early by :class:`Shed` when it is full)."""
    return _HEAVY.fullmatch(path) is not None and not (method == "GET" and path == "/api/uncertainty")


def _body_limit(path: str) -> int:
    """The request-body limit for ``path``: 20 MiB for the dataset upload, 4 MiB for exports, else 64 KiB."""
    return MAX_UPLOAD if path.rstrip("/") == UPLOAD_PATH else MAX_EXPORT if path == "/api/export" else MAX_BODY


def allowed_hosts_default() -> frozenset[str]:
    """``create_app``'s default Host names: loopback, ``$HUBINDEX_ALLOWED_HOSTS`` and ``testserver`` (what
    Starlette's TestClient sends; not a name DNS resolves, so no rebinding target)."""
    return allowed_hosts(extra=["testserver"])


def _offloaded(fn: Callable[..., Any], *, pool: WorkPool, deadline: float | None) -> Callable[..., Any]:
    """``fn`` (a plain endpoint function) as an async endpoint that runs it in ``pool`` — same parameters plus
    the ``Request`` (for the client address and the disconnect check), so FastAPI validates them as before."""
    sig = inspect.signature(fn)
    takes_request = "request" in sig.parameters

    @functools.wraps(fn)
    async def endpoint(request: Request, **kw: Any) -> Any:
        if takes_request:
            kw["request"] = request
        return await pool.run(functools.partial(fn, **kw), request=request, deadline=deadline)

    params = list(sig.parameters.values())
    if not takes_request:
        params.insert(0, inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request))
    endpoint.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    del endpoint.__wrapped__  # FastAPI must see the new signature
    return endpoint


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


GZIP_MIN = 1024  # bytes: smaller responses are sent as they are (GZipMiddleware's minimum_size)
SCORE_GZIP_LEVEL = 1  # POST /api/score compresses its own body in the worker (see _json_response)


def _accepts_gzip(request: Request) -> bool:
    """The request accepts a gzip body (the test GZipMiddleware makes: "gzip" in Accept-Encoding)."""
    return "gzip" in request.headers.get("accept-encoding", "")


def _json_response(body: bytes, *, gzip_level: int | None = None) -> Response:
    """JSON ``body`` as a response; with ``gzip_level`` and a body of at least :data:`GZIP_MIN` bytes,
    gzip-compressed here (``Content-Encoding: gzip``, which GZipMiddleware passes through untouched) — so a
    worker thread, not the event loop, pays for the compression, at the level the endpoint chooses."""
    if gzip_level is None or len(body) < GZIP_MIN:
        return Response(body, media_type="application/json")
    return Response(gzip.compress(body, compresslevel=gzip_level, mtime=0), media_type="application/json",
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})


class ServerTiming:
    """ASGI middleware: every HTTP response carries ``Server-Timing: app;dur=<ms>`` — the time from this
    middleware receiving the request until the response head is sent (routing, the request body, validation,
    the worker-pool hop, the computation, JSON encoding and compression: a response's body is complete before
    its head is sent). Browsers show it in the developer tools' network timing; it excludes the network and
    the HTTP server's parsing and writing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def send_timed(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                dur = (time.perf_counter() - t0) * 1e3
                msg["headers"] = [*(msg.get("headers") or []), (b"server-timing", f"app;dur={dur:.3f}".encode())]
            await send(msg)

        await self.app(scope, receive, send_timed)


class _Gen:
    """Everything derived from one build (the view, pre-serialised payloads, rank intervals, editions and the
    per-build caches: profiles, what-it-takes model, rank ranges, audit). A reload or upload replaces the whole
    object in one assignment, so a request that read ``state.gen`` once computes and caches against one build
    only: nothing computed from an old build can land in a new build's cache."""

    def __init__(self, version: int, view: IndexView, cache: dict[str, bytes], intervals: RankIntervals | None,
                 editions: EditionHistory | None) -> None:
        self.version, self.view, self.cache, self.intervals, self.editions = version, view, cache, intervals, editions
        self.audit: dict[str, Any] | None = None
        self.profiles: dict[tuple[str, int], bytes] = {}
        self.whatif: Any = None
        self.rank_ranges: dict[tuple[float, str], dict[str, Any]] = {}
        self.lock = threading.Lock()


class _State:
    """The served index (:class:`_Gen`, swapped atomically on reload/upload) and how to rebuild it.

    At start-up (and on every swap) it also computes the rank intervals (:class:`RankIntervals`, a seeded
    Monte Carlo run of :data:`START_REPS` replications) and reads the editions (:class:`EditionHistory`), whose
    results become the ranking's ``rank_lo``/``rank_median``/``rank_hi`` and ``change``/``prev_rank`` columns.
    The editions are looked up for the spec served at start-up (``origin_spec``), so an uploaded dataset of a
    shipped edition keeps its editions (the upload standing in for its year).
    """

    def __init__(self, result: Result, citation: str | None, licence: str | None, *, store: Any = None,
                 uncertainty_reps: int = START_REPS, editions: bool = True,
                 survey_provenance: str | Path | None = None) -> None:
        self.citation, self.licence = citation, licence
        self.survey_provenance = survey_provenance
        self.store_arg, self.uncertainty_reps, self.want_editions = store, uncertainty_reps, editions
        self.origin_spec = result.spec
        self.upload_dir: Path | None = None  # made on the first upload; holds the served upload's file
        self.lock = threading.Lock()
        self.version = 0
        self.gen = self.prepare(result)

    # the current build's parts (read ``state.gen`` once where several must belong to the same build)
    view = property(lambda self: self.gen.view)
    cache = property(lambda self: self.gen.cache)
    intervals = property(lambda self: self.gen.intervals)
    editions = property(lambda self: self.gen.editions)

    def set(self, result: Result) -> None:
        """Prepare ``result`` (outside the lock: the served build keeps serving meanwhile), then swap it in."""
        gen = self.prepare(result)
        with self.lock:
            self.version += 1
            gen.version = self.version
            self.gen = gen

    def prepare(self, result: Result) -> _Gen:
        view = IndexView.from_result(result, citation=self.citation, licence=self.licence,
                                     survey_provenance=self.survey_provenance)
        try:
            view.rescorer()  # POST /api/score's per-index constants, now rather than on the first request
        except HubindexError:
            pass  # an index that cannot be re-scored still serves everything else; /api/score reports why
        intervals, interval_error = None, None
        if self.uncertainty_reps > 0:
            try:
                intervals = RankIntervals(result, n=self.uncertainty_reps)
            except HubindexError as e:  # e.g. PCA weights: the dashboard still works, without intervals
                interval_error = str(e)
        editions, editions_error = None, None
        if self.want_editions:
            try:
                editions = EditionHistory.auto(result, self.store_arg, spec=self.origin_spec)
                if editions is not None:
                    editions.labels()  # load now: a broken store shows at start-up, not on a request
            except HubindexError as e:
                editions, editions_error = None, str(e)
        extra: dict[str, dict[str, Any]] = {u: {} for u in result.units}
        if intervals is not None:
            for u, rec in intervals.published["units"].items():
                extra[u].update({k: rec[k] for k in ("rank_lo", "rank_median", "rank_hi")})
        changes = editions.changes(result.ranks[result.index_code]) if editions is not None else None
        if changes and changes["previous"] is not None:
            for u in extra:
                extra[u]["change"] = changes["change"].get(u)
                extra[u]["prev_rank"] = changes["prev_rank"].get(u)
        view.extra = extra
        meta = dict(view.meta)
        meta["uncertainty"] = None if intervals is None else {
            "n": intervals.published["n"], "seed": intervals.seed, "notes": intervals.notes,
            "elapsed_ms": intervals.published["elapsed_ms"], "max_reps": MAX_REPS}
        meta["uncertainty_error"] = interval_error
        meta["editions"] = None if editions is None else {
            "labels": editions.labels(), "current": editions.current, "previous": editions.previous,
            "source": editions.source}
        meta["editions_error"] = editions_error
        view.meta = meta
        cache = {
            "meta": _json_bytes(view.meta),
            "units": _json_bytes(view.units()),
            "indicators": _json_bytes(view.indicators()),
            "framework": _json_bytes({"index": result.index_code, "pillars": result.pillars(),
                                      "aggregation": view.aggregation(), "tiers": view.tiers_spec(),
                                      "nodes": view.framework()}),
            "scores": _json_bytes(view.table("scores")),
            "ranks": _json_bytes(view.table("ranks")),
            "ranking": _json_bytes(view.ranking()),
            "bootstrap": _json_bytes(view.bootstrap()),
        }
        return _Gen(self.version, view, cache, intervals, editions)


def _load(result_or_spec: Any) -> Result:
    if isinstance(result_or_spec, Result):
        return result_or_spec
    from hubindex.api import build

    return build(result_or_spec)


def _plotly_js() -> Path | None:
    """plotly.min.js from the installed ``plotly`` package (or a copy under static/vendor)."""
    local = STATIC / "vendor" / "plotly.min.js"
    if local.exists():
        return local
    try:
        import plotly

        p = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
        return p if p.exists() else None
    except ImportError:
        return None


class _Precompressed:
    """Large static files (Plotly, the Swagger UI bundle) gzip-compressed once, on first request, and kept in
    memory; served compressed when the request accepts gzip, else as the plain file."""

    def __init__(self) -> None:
        self._gz: dict[Path, bytes] = {}
        self._lock = threading.Lock()

    def response(self, path: Path, media_type: str, request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
        if "gzip" not in request.headers.get("accept-encoding", "").lower():
            return FileResponse(path, media_type=media_type, headers=headers)
        with self._lock:
            body = self._gz.get(path)
            if body is None:
                body = self._gz[path] = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        return Response(body, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})


def _table_response(rows: list[dict[str, Any]], fmt: str, name: str, meta: Mapping[str, Any],
                    columns: list[str] | None = None, about: Mapping[str, Any] | None = None) -> Response:
    """A table as JSON (rows + citation/licence), CSV (the table only: header row first, no comment lines that
    spreadsheets would show as junk rows) or XLSX (the table + a README sheet with citation, licence, spec hash:
    the metadata beside the data)."""
    about = dict(about or {})
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80] or "table"
    if fmt == "json":
        return Response(_json_bytes({"citation": meta["citation"], "licence": meta["licence"],
                                     "spec_hash": meta["spec_hash"], **about, "rows": rows}),
                        media_type="application/json",
                        headers={"Content-Disposition": f'inline; filename="{safe}.json"'})
    df = pd.DataFrame(rows, columns=columns) if columns else pd.DataFrame(rows)
    # spreadsheet-safe: formula-looking text gets a leading ' (numbers stay numbers), header lines stay lines
    df = spreadsheet_safe(df)
    extra = [one_line(f"{k}: {v}") for k, v in about.items()]
    if fmt == "csv":
        return Response(df.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'})
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name=safe[:31], index=False)
        pd.DataFrame({"about": [meta["name"], f"citation: {meta['citation']}", f"licence: {meta['licence']}",
                                f"spec hash: {meta['spec_hash']}", *extra]}).to_excel(
            xw, sheet_name="README", index=False)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.xlsx"'})


def _frame_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame → JSON-ready records (NaN → null, NumPy scalars → Python, dicts/lists kept)."""
    cols = [str(c) for c in df.columns]
    return [{c: (v if isinstance(v, (dict, list)) else jsonable(v)) for c, v in zip(cols, row, strict=True)}
            for row in df.itertuples(index=False, name=None)]


Format = Literal["json", "csv", "xlsx"]


class ExportRequest(BaseModel):
    """A table shown in the browser, to be returned as a file with the citation and licence."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")
    format: Format
    columns: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=500)
    rows: list[dict[str, Any]] = Field(max_length=MAX_EXPORT_ROWS)
    view: str | None = Field(default=None, max_length=2000)


class UncertaintyRequest(BaseModel):
    """Rank intervals for these weights (node code → weight ≥ 0; unnamed nodes keep theirs)."""

    model_config = ConfigDict(extra="forbid")
    weights: dict[Annotated[str, Field(min_length=1, max_length=200)],
                  Annotated[float, Field(ge=0, le=1e6)]] = Field(default_factory=dict, max_length=MAX_WEIGHTS)
    n: int = Field(default=START_REPS, ge=1, le=MAX_REPS, description=f"replications (at most {MAX_REPS})")

    @field_validator("weights")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        return _valid_weights(v)


def create_app(result_or_spec: Any = None, token: str | None = None, *, citation: str | None = None,
               licence: str | None = None, store: Any = None, uncertainty_reps: int = START_REPS,
               editions: bool = True, survey_provenance: str | Path | None = None,
               limits: ServerLimits | None = None, allowed_hosts: Iterable[str] | None = None) -> FastAPI:
    """The FastAPI app over one index: a built :class:`~hubindex.engine.result.Result`, or a spec (path,
    mapping, IndexSpec; ``None`` = the shipped default) that is built once here.

    ``token``: bearer token that enables the state-changing ``/api/admin/*`` endpoints (disabled without one).
    ``store``: an :class:`hubindex.store.EditionStore` or its path for the editions (default: the user's store
    when it holds editions, else the shipped dataset editions built in memory; none for other indexes).
    ``uncertainty_reps``: Monte Carlo replications for the start-up rank intervals (0 = none).
    ``survey_provenance``: a ``hubindex survey estimate`` ``indicator_provenance.csv`` whose estimates, intervals
    and n the city pages show (default: such a file next to a data file, if any).
    ``limits``: worker pool, queue, deadlines and body timeout of the load shedding (:class:`ServerLimits`).
    ``allowed_hosts``: the ``Host`` names answered (default: loopback names, ``$HUBINDEX_ALLOWED_HOSTS`` and
    ``testserver``, the name Starlette's TestClient sends; ``"*"`` = any); others get 400.
    """
    if not 0 <= uncertainty_reps <= MAX_REPS * 10:
        raise ValueError(f"uncertainty_reps must be in [0, {MAX_REPS * 10}]")
    result = _load(result_or_spec)
    orig_spec = result.spec
    state = _State(result, citation, licence, store=store, uncertainty_reps=uncertainty_reps, editions=editions,
                   survey_provenance=survey_provenance)
    busy = threading.BoundedSemaphore(2)  # at most two Monte Carlo runs at a time
    app = FastAPI(
        title=f"hubindex API — {state.view.meta['name']}",
        description="Read-only JSON API over a built hubindex composite index. State-changing endpoints "
                    "(/api/admin/*) need `Authorization: Bearer <token>` and are disabled unless the server was "
                    "started with a token.",
        version=str(state.view.meta.get("hubindex_version") or "0"),
        docs_url=None, redoc_url=None,
    )
    app.state.index = state
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)  # JSON, pages, app.js, CSV
    # load shedding and hardening (hubindex/web/_limits.py, _security.py): CPU-heavy work runs in a bounded
    # pool, admin rebuilds one at a time in their own thread; the admin token is checked before a body is read
    lim = limits or ServerLimits()
    work = WorkPool(lim.workers, lim.queue, lim.deadline, lim.per_client)
    admin_work = WorkPool(1, 0, math.inf, name="hubindex-admin")
    app.state.work, app.state.admin_work = work, admin_work
    app.add_middleware(BodyLimit, limit_for=_body_limit, token=token, body_timeout=lim.body_timeout,
                       upload_paths=(UPLOAD_PATH,))
    app.add_middleware(Shed, pool=work, heavy=_heavy)
    app.add_middleware(HostGuard, hosts=(allowed_hosts_default() if allowed_hosts is None else allowed_hosts))
    app.add_middleware(ServerTiming)  # outermost of ours: times everything the app does for a request

    async def quick(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the worker pool, answered within :attr:`ServerLimits.deadline`."""
        return await work.run(fn, *args, request=request)

    async def slow(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the worker pool, answered within :attr:`ServerLimits.slow_deadline`."""
        return await work.run(fn, *args, request=request, deadline=lim.slow_deadline)

    def offload(deadline: float | None = None, pool: WorkPool = work) -> Callable[[Callable[..., Any]], Any]:
        """Decorator: a plain endpoint function becomes an async endpoint that runs it in ``pool``."""
        return functools.partial(_offloaded, pool=pool, deadline=deadline)

    # -- errors ---------------------------------------------------------------------------------------
    @app.exception_handler(HubindexError)
    async def _user_error(_req: Request, exc: HubindexError) -> JSONResponse:
        from hubindex.errors import StoreBusyError, StoreDamagedError

        if isinstance(exc, StoreBusyError):  # a publish holds the store: not the client's fault, and it passes
            return JSONResponse({"detail": str(exc)}, status_code=503,
                                headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, StoreDamagedError):  # the server's own store file is damaged: a clear 500, no traceback
            return JSONResponse({"detail": str(exc)}, status_code=500)
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        msgs = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            msgs.append(f"{loc}: {e.get('msg', '').removeprefix('Value error, ')}" if loc else e.get("msg", ""))
        return JSONResponse({"detail": "invalid request: " + "; ".join(msgs), "errors": jsonable_errors(exc)},
                            status_code=422)

    def cached(key: str) -> Response:
        return Response(state.cache[key], media_type="application/json")

    def require_token(request: Request) -> None:  # BodyLimit checked it already; kept as a second line
        bad = check_token(token, request.headers.get("authorization"))
        if bad is not None:
            raise HTTPException(bad[0], bad[1], headers={"WWW-Authenticate": "Bearer"} if bad[0] == 401 else None)

    # -- read endpoints -------------------------------------------------------------------------------
    @app.get("/api/health", tags=["meta"])
    async def health() -> dict[str, Any]:
        """Liveness: the index name and number of units."""
        return {"status": "ok", "index": state.view.meta["name"], "n_units": state.view.meta["n_units"]}

    @app.get("/api/meta", tags=["meta"])
    async def meta() -> Response:
        """Name, version, spec hash, citation and licence of the served index."""
        return cached("meta")

    @app.get("/api/units", tags=["data"])
    async def units() -> Response:
        """Every ranked unit: code, name, groups (country, region, …) and coordinates when the data has them."""
        return cached("units")

    @app.get("/api/units/{unit}", tags=["data"])
    async def unit_profile(request: Request, unit: str, k: Annotated[int, Query(ge=1, le=50)] = 5) -> Response:
        """A unit's profile: score/rank per node, raw values, imputed/treated flags, sources, strengths and
        weaknesses (the k best/worst-ranked indicators), group positions, neighbours and similar units."""
        g = state.gen
        key = (unit, k)
        body = g.profiles.get(key)
        if body is None:
            if unit not in g.view.result.scores.index:
                raise HTTPException(404, f"unknown unit '{unit}'; see GET /api/units for the codes")
            body = await slow(request, lambda: _json_bytes(g.view.profile(unit, k=k)))  # once per unit and k
            g.profiles[key] = body  # bounded: units × k ≤ 50, per build
        return Response(body, media_type="application/json")

    @app.get("/api/indicators", tags=["data"])
    async def indicators(request: Request, format: Format = "json") -> Response:  # noqa: A002
        """Indicators with name, parent, direction, weights, unit, source, definition and coverage
        (``format=csv|xlsx`` downloads them with the citation and licence)."""
        if format == "json":
            return cached("indicators")
        view = state.view

        def make() -> Response:
            rows = [{k: v for k, v in n.items() if k != "children"} for n in view.indicators()]
            return _table_response(rows, format, "indicators", view.meta)

        return await slow(request, make)

    @app.get("/api/framework", tags=["data"])
    async def framework() -> Response:
        """The framework tree (every node with parent, level, weight, rescaled and effective weight) and the
        aggregation rule."""
        return cached("framework")

    @app.get("/api/scores", tags=["data"])
    async def scores() -> Response:
        """Scores: one column per framework node (normalised value for indicators, aggregate otherwise)."""
        return cached("scores")

    @app.get("/api/ranks", tags=["data"])
    async def ranks() -> Response:
        """Ranks of every unit in every node (1 = best, ties share the lowest rank)."""
        return cached("ranks")

    @app.get("/api/ranking", tags=["data"])
    async def ranking(request: Request, format: Literal["json", "csv", "xlsx"] = "json") -> Response:  # noqa: A002
        """The published ranking: rank, unit, groups, score, tier, pillar scores and ranks, sub-ranks.
        ``format=csv|xlsx`` downloads it with the citation and licence."""
        if format == "json":
            return cached("ranking")
        # the canonical ranking file: the same table, headers and rounding as `hubindex export`'s ranking.csv
        view, iv = state.view, state.intervals

        def canonical() -> Response:
            from hubindex.publish import tables as T

            res = view.result
            df = T.display_table(res, "Ranking", T.ranking_table(res, _published_intervals(iv) if iv else None))
            return _table_response(_frame_rows(df), format, "ranking", view.meta, columns=list(df.columns))

        return await slow(request, canonical)

    @app.get("/api/bootstrap", tags=["meta"], include_in_schema=False)
    async def bootstrap() -> Response:
        return cached("bootstrap")

    @app.post("/api/score", tags=["compute"])
    async def score(request: Request,
                    req: WeightsRequest = Body(..., examples=[{"weights": {"Conn": 2, "Sust": 1}}])) -> Response:
        """Score the index with other weights (node code → weight ≥ 0; unnamed nodes keep theirs) and return
        the re-computed ranking with each unit's move against the published one. Does not change the server."""
        view = state.view
        level = SCORE_GZIP_LEVEL if _accepts_gzip(request) else None

        def job() -> Response:
            _check_weight_sums(view, req.weights)
            return _json_response(view.rescore_json(req.weights), gzip_level=level)

        return await quick(request, job)

    audit_lock = threading.Lock()

    def audit_summary() -> dict[str, Any]:
        """The audit summary of the served index, computed on first use and cached until the index changes:
        coherence (ms), the start-up rank intervals (re-used, not re-run) and Sobol indices on the start-up
        audit model with N = :data:`AUDIT_SOBOL_N` (N(d + 2) runs: ≈ 0.2–0.4 s for 5 factors × 91 units)."""
        import importlib

        try:
            fn = getattr(importlib.import_module("hubindex.audit"), "summary", None)
        except ImportError:
            fn = None
        if fn is None:
            raise HTTPException(404, "audit results are not available: hubindex.audit provides no summary()")
        g = state.gen
        with audit_lock:
            view, iv, hit = g.view, g.intervals, g.audit
            if hit is not None:
                return hit
            t0 = time.perf_counter()
            sens, sens_error, sens_ms = None, None, None
            if iv is None:
                sens_error = "no audit model: " + (view.meta.get("uncertainty_error") or "the server was started "
                                                   "without rank intervals")
            else:
                from hubindex.audit.sensitivity import sensitivity

                t1 = time.perf_counter()
                try:
                    sens = sensitivity(model=iv.model, n=AUDIT_SOBOL_N, n_boot=AUDIT_SOBOL_BOOT)
                except HubindexError as e:  # e.g. fewer than two uncertain choices
                    sens_error = str(e)
                sens_ms = round(1000 * (time.perf_counter() - t1), 1)
            s = fn(view.result, uncertainty=None if iv is None else _published_intervals(iv), sensitivity=sens)
            js = s.to_dict() if hasattr(s, "to_dict") else s
            if js.get("uncertainty") is not None:
                js["uncertainty"]["notes"] = iv.notes if iv is not None else []
            if js.get("sensitivity") is not None:
                js["sensitivity"]["elapsed_ms"] = sens_ms
            js["sensitivity_error"] = sens_error
            js["uncertainty_error"] = None if iv is not None else view.meta.get("uncertainty_error")
            js["elapsed_ms"] = round(1000 * (time.perf_counter() - t0), 1)
            js["citation"], js["licence"] = view.meta["citation"], view.meta["licence"]
            out = {"summary": s, "json": _json_bytes(json.loads(json.dumps(js, default=jsonable_default))),
                   "sensitivity_error": sens_error, "uncertainty_error": js["uncertainty_error"]}
            g.audit = out  # this build's cache (a reload meanwhile made a new build with an empty one)
            return out

    @app.get("/api/audit", tags=["audit"])
    async def audit(request: Request, format: Format = "json",  # noqa: A002
                    table: Annotated[AuditTable | None, Query(description="one table of the summary")] = None
                    ) -> Response:
        """The audit summary (``hubindex.audit.summary``): flagged indicators (skewness/kurtosis, availability,
        zeros, unique values), collinear (r > 0.9) and negative sibling pairs, PC1 variance explained and
        Cronbach's α per group, units with low data availability, the start-up rank intervals (5th/50th/95th
        percentile) and first/total-order Sobol indices with 5–95 % bootstrap intervals (computed on the first
        request, N = 500, then cached).

        ``table=indicators|correlation_flags|groups|units_low_availability|rank_intervals|sobol`` with
        ``format=csv|xlsx|json`` downloads one table with the citation and licence; ``format=xlsx`` without a
        table gives every table in one workbook."""
        hit = state.gen.audit
        if hit is not None and table is None and format == "json":
            return Response(hit["json"], media_type="application/json")
        return await slow(request, audit_response, format, table)

    def audit_response(format: str, table: str | None) -> Response:  # noqa: A002
        hit = audit_summary()
        if table is None and format == "json":
            return Response(hit["json"], media_type="application/json")
        s = hit["summary"]
        meta = state.view.meta
        about = {"audit": "hubindex.audit.summary", "sobol_N": AUDIT_SOBOL_N}
        if table is not None:
            df = s.table(table)
            if df is None:
                why = hit["sensitivity_error" if table == "sobol" else "uncertainty_error"]
                raise HTTPException(404, f"audit table '{table}' is not available: {why or 'not computed'}")
            return _table_response(_frame_rows(_flat(df)), format, f"audit_{table}", meta,
                                   columns=[str(c) for c in df.columns], about=about)
        if format == "csv":
            raise HTTPException(422, "format=csv needs one table: add table=" + "|".join(AUDIT_TABLES)
                                + " (format=xlsx gives them all in one workbook)")
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="openpyxl") as xw:
            for name in AUDIT_TABLES:
                df = s.table(name)
                if df is not None:
                    _flat(df).to_excel(xw, sheet_name=name[:31], index=False)
            pd.DataFrame({"about": [meta["name"], f"citation: {meta['citation']}", f"licence: {meta['licence']}",
                                    f"spec hash: {meta['spec_hash']}", *[f"{k}: {v}" for k, v in about.items()]]}
                         ).to_excel(xw, sheet_name="README", index=False)
        return Response(buf.getvalue(),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="audit.xlsx"'})

    # -- rank intervals -------------------------------------------------------------------------------
    @app.get("/api/uncertainty", tags=["audit"])
    async def uncertainty_get(request: Request, format: Format = "json") -> Response:  # noqa: A002
        """The start-up rank intervals: per unit the 5th, 50th and 95th percentile of its rank (and score) over
        a seeded Monte Carlo run (the spec's ``uncertainty:`` block, or the documented default: weights ±25 %
        per level, normalisation min-max/rank, aggregation arithmetic/geometric)."""
        iv = state.intervals
        if iv is None:
            raise HTTPException(404, "no rank intervals: " + (state.view.meta.get("uncertainty_error")
                                                            or "the server was started without them"))
        return await slow(request, _uncertainty_table, iv.published, format, "rank_intervals")

    @app.post("/api/uncertainty", tags=["audit"])
    async def uncertainty_post(request: Request, req: UncertaintyRequest) -> Response:
        """Rank intervals for the user's weights: the same uncertain choices, with the weight noise around the
        given weights; ``n`` ≤ 5000 replications (default 1000). Returns the intervals and the time taken."""
        iv = state.intervals
        if iv is None:
            raise HTTPException(404, "no rank intervals: " + (state.view.meta.get("uncertainty_error")
                                                            or "the server was started without them"))
        _check_weight_sums(state.view, req.weights)
        if not busy.acquire(blocking=False):
            raise HTTPException(429, "two uncertainty runs are in progress; try again in a moment",
                                headers={"Retry-After": "1"})

        started = False

        def run() -> Response:
            nonlocal started
            started = True
            try:
                out = iv.run(req.weights, req.n)
            finally:
                busy.release()
            return _uncertainty_table(out, "json", "rank_intervals")

        try:
            return await slow(request, run)
        except HTTPException:
            if not started:  # refused or dropped before it ran
                busy.release()
            raise

    def _uncertainty_table(out: Mapping[str, Any], fmt: str, name: str) -> Response:
        names = state.view.result.unit_names
        ranks = state.view.result.ranks[state.view.result.index_code]
        rows = [{"unit": u, "name": jsonable(names.get(u)) or u, "rank": jsonable(ranks.get(u)), **rec}
                for u, rec in out["units"].items()]
        rows.sort(key=lambda x: (x["rank"] is None, x["rank"] or 0, x["unit"]))
        about = {"replications": out["n"], "seed": out["seed"], "choices": "; ".join(out["notes"]),
                 "elapsed_ms": out["elapsed_ms"]}
        if fmt == "json":
            return Response(_json_bytes({**about, "notes": out["notes"], "config": out["config"],
                                         "citation": state.view.meta["citation"],
                                         "licence": state.view.meta["licence"], "rows": rows}),
                            media_type="application/json")
        return _table_response(rows, fmt, name, state.view.meta, about=about)

    # -- compare with published rankings (hubindex.audit.published; self-contained block) ----------------
    published_cache: dict[tuple[str | None, int], tuple[Any, bytes]] = {}  # (list, top) -> (view, JSON)

    @app.get("/api/compare-published", tags=["audit"])
    @offload(lim.slow_deadline)
    def compare_published_api(
            list_id: Annotated[str | None, Query(alias="list", max_length=100,
                                                 description="one published list id (default: all)")] = None,
            top: Annotated[int, Query(ge=0, le=20, description="cities with the largest gaps explained")] = 5,
    ) -> Response:
        """Our ranking against published fintech-city rankings (GFHR, GFCI FinTech, Findexable, StartupBlink):
        per list its source URLs and edition, the cities in both, their published ranks and ours, Spearman's rho
        on the overlap (with n and a note when n is small), and the cities with the largest rank gaps explained
        by pillar and indicator contributions. Reported, never used to choose indicators or weights."""
        from hubindex.audit.published import compare_published, load_published

        view = state.view
        hit = published_cache.get((list_id, top))
        if hit is not None and hit[0] is view:
            return Response(hit[1], media_type="application/json")
        pub = load_published()
        if list_id is not None and list_id not in pub.ids:
            raise HTTPException(404, f"unknown published list '{list_id}'; valid ids: {', '.join(pub.ids)}")
        cmp = compare_published(view.result, pub, lists=[list_id] if list_id else None, top=top)
        body = _json_bytes(cmp.to_dict())
        if len(published_cache) >= 64:  # bounded: (lists + 1) × 21 values of top at most
            published_cache.clear()
        published_cache[(list_id, top)] = (view, body)
        return Response(body, media_type="application/json")

    # -- editions ---------------------------------------------------------------------------------------
    def editions_or_404() -> EditionHistory:
        e = state.editions
        if e is None:
            raise HTTPException(404, "this index has no editions: " + (
                state.view.meta.get("editions_error") or "it is not one of the shipped dataset editions and no "
                "edition store was given (hubindex serve --store PATH)"))
        return e

    @app.get("/api/editions", tags=["editions"])
    def editions_list() -> dict[str, Any]:
        """The editions (label, vintage, number of units, top unit), which one is served and where they come
        from (an edition store, or built in memory from the shipped dataset editions)."""
        e = editions_or_404()
        return {"current": e.current, "previous": e.previous, "source": e.source,
                "editions": [{k: jsonable(v) for k, v in x.items()} for x in e.listing()]}

    @app.get("/api/editions/diff", tags=["editions"])
    @offload(lim.slow_deadline)
    def editions_diff(a: Annotated[str, Query(max_length=64)], b: Annotated[str, Query(max_length=64)],
                      format: Format = "json") -> Response:  # noqa: A002
        """Per-unit change from edition ``a`` to ``b``: rank_a, rank_b, rank_change (positive = up), score
        change (absolute and % of score a), tiers, status (up/down/unchanged/entry/exit), pillar changes; JSON
        adds the summary (counts, entries, exits, gap between ranks 1 and 10, averages by region and tier)."""
        e = editions_or_404()
        try:
            d = e.diff(a, b)
        except HubindexError as err:
            raise HTTPException(404, str(err)) from None
        rows = _frame_rows(d)
        if format != "json":
            return _table_response(rows, format, f"editions_{a}_{b}", state.view.meta,
                                   about={"editions": f"{a} -> {b}", "source": e.source})
        sm = e.summary(a, b)
        summ = {k: (_frame_rows(v.reset_index()) if isinstance(v, pd.DataFrame) else jsonable(v)
                    if not isinstance(v, list) else v) for k, v in sm.items()}
        return Response(_json_bytes({"a": a, "b": b, "source": e.source, "summary": summ,
                                     "citation": state.view.meta["citation"],
                                     "licence": state.view.meta["licence"], "rows": rows}),
                        media_type="application/json")

    @app.get("/api/editions/{label}", tags=["editions"])
    @offload(lim.slow_deadline)
    def edition_ranking(label: Annotated[str, Path_(max_length=64)], format: Format = "json") -> Response:  # noqa: A002
        """One edition's ranking: rank, unit, name, groups, score, tier, pillar scores."""
        e = editions_or_404()
        try:
            snap = e.get(label)
        except HubindexError as err:
            raise HTTPException(404, str(err)) from None
        t = snap.units.reset_index().sort_values(["rank", "unit"], na_position="last", kind="stable")
        return _table_response(_frame_rows(t), format, f"edition_{label}", state.view.meta,
                               about={"edition": label, "source": e.source})

    @app.get("/api/units/{unit}/history", tags=["editions"])
    @offload(lim.slow_deadline)
    def unit_history(unit: str, format: Format = "json") -> Response:  # noqa: A002
        """The unit's rank, score and tier in every edition, with the rank change from the edition before."""
        e = editions_or_404()
        try:
            rows = e.history(unit)
        except KeyError:
            raise HTTPException(404, f"unit '{unit}' is in none of the editions {e.labels()}") from None
        return _table_response(rows, format, f"history_{unit}", state.view.meta, about={"unit": unit})

    # -- city extras (issue #8): targets, what it takes, best/worst rank --------------------------------
    def known(unit: str) -> str:
        if unit not in state.view.result.scores.index:
            raise HTTPException(404, f"unknown unit '{unit}'; see GET /api/units for the codes")
        return unit

    @app.get("/api/units/{unit}/targets", tags=["city"])
    @offload(lim.slow_deadline)
    def unit_targets(unit: str) -> dict[str, Any]:
        """The city's own published targets (hubindex.store's targets table) and their status against the
        observations in the editions: met / missed / on track / off track / no data, with the evidence."""
        known(unit)
        try:
            from hubindex.store import load_targets, target_status
        except ImportError:
            raise HTTPException(404, "targets need hubindex.store") from None
        name = str(state.view.result.unit_names.get(unit) or unit)
        t = load_targets()
        store = _store_object(state)
        mine = t[t["city"].astype(str).str.lower().isin({name.lower(), unit.lower()})]
        if mine.empty:
            return {"unit": unit, "name": name, "targets": [], "note": f"no published targets for {name} in the "
                    "targets table"}
        st = target_status(mine, store)
        return {"unit": unit, "name": name, "targets": _frame_rows(st),
                "note": None if store is not None else "observations come from the edition store; without one "
                "every target shows 'no data'"}

    @app.get("/api/units/{unit}/what-it-takes", tags=["city"])
    @offload(lim.slow_deadline)
    def what_it_takes(unit: str, rank: Annotated[int | None, Query(ge=1, le=100000)] = None,
                      tier: Annotated[str | None, Query(max_length=100)] = None,
                      beat: Annotated[str | None, Query(max_length=100)] = None,
                      include_national: bool = False) -> Response:
        """What it would take for the city to reach a goal (``rank=k``, ``tier=next`` or a tier name, or
        ``beat=UNIT``) under the current weights, with what the city itself can change (values whose provenance
        scope is ``city``): for each indicator alone, the smallest change in its own unit (whole steps for counts,
        through the real treatment and normalisation), and the cheapest combination (a small MILP, HiGHS, with the
        best rank reachable with those levers), checked by a full rebuild. National values (country proxies,
        modelled values) come apart as ``national_context`` (what would change if the country's value moved, for
        every city sharing it); ``include_national=true`` brings them into ``single`` and the plan."""
        known(unit)
        if sum(x is not None for x in (rank, tier, beat)) != 1:
            raise HTTPException(422, "give exactly one goal: rank=k, tier=next (or a tier name), or beat=UNIT")
        from hubindex.store import WhatIf

        t0 = time.perf_counter()
        g = state.gen
        with g.lock:
            if g.whatif is None:
                g.whatif = WhatIf(g.view.result.spec, _index_data(g.view.result))
            wi = g.whatif
        table = wi.single(unit, rank=rank, tier=tier, beat=beat)  # what-it-takes (issue 17): levers vs national
        lever = table["lever"].astype(bool) if len(table) else pd.Series([], dtype=bool)
        single = table if include_national else table[lever]
        national = table.iloc[0:0] if include_national else table[~lever]
        try:
            comb = wi.combination(unit, rank=rank, tier=tier, beat=beat, include_national=include_national)
            plan = comb.pop("plan")
            comb = {k: jsonable(v) for k, v in comb.items()}
            comb["plan"] = _frame_rows(plan) if isinstance(plan, pd.DataFrame) else []
        except HubindexError as err:
            comb = {"status": f"not available: {err}", "plan": []}
        return Response(_json_bytes({"unit": unit, "goal": {"rank": rank, "tier": tier, "beat": beat},
                                     "include_national": include_national, "scope_note": wi.scope_note,
                                     "single": _frame_rows(single), "national_context": _frame_rows(national),
                                     "combination": comb,
                                     "elapsed_ms": round(1000 * (time.perf_counter() - t0), 1)}),
                        media_type="application/json")

    @app.get("/api/units/{unit}/rank-range", tags=["city"])
    @offload(lim.slow_deadline)
    def rank_range(unit: str, tol: Annotated[float, Query(gt=0, le=1)] = 0.5) -> dict[str, Any]:
        """Best and worst attainable rank of the city over all admissible pillar weights (each within
        nominal × (1 ± ``tol``), summing to 1; an LP per city), with the weights that reach them."""
        known(unit)
        from hubindex.store import rank_range as _rr

        key = round(float(tol), 4)
        t0 = time.perf_counter()
        g = state.gen
        hit = g.rank_ranges.get((key, unit))
        if hit is None:
            tab = _rr(g.view.result, tol=key, units=[unit])
            hit = {**_frame_rows(tab)[0], "tol": key, "level": tab.attrs.get("level"),
                   "lower": {k: jsonable(v) for k, v in tab.attrs.get("lower", {}).items()},
                   "upper": {k: jsonable(v) for k, v in tab.attrs.get("upper", {}).items()}}
            if len(g.rank_ranges) < 10000:
                g.rank_ranges[(key, unit)] = hit
        return {**hit, "elapsed_ms": round(1000 * (time.perf_counter() - t0), 1)}

    # -- downloads of any table shown in the browser ------------------------------------------------------
    @app.post("/api/export", tags=["data"])
    @offload(lim.slow_deadline)
    def export(req: ExportRequest) -> Response:
        """Return a table the browser shows (``columns`` + ``rows``) as CSV, XLSX or JSON, with the index's
        citation and licence (and the view's permalink). At most 20,000 rows / 4 MB."""
        rows = [{c: r.get(c) for c in req.columns} for r in req.rows]
        about = {"view": req.view} if req.view else {}
        return _table_response(rows, req.format, req.name, state.view.meta, columns=req.columns, about=about)

    # -- state-changing endpoints (token) ---------------------------------------------------------------
    @app.post("/api/admin/reload", tags=["admin"])
    @offload(pool=admin_work)
    def reload(request: Request) -> dict[str, Any]:
        """Rebuild the index from its spec and data on disk and serve the new build. Needs the bearer token."""
        require_token(request)
        new = _load(orig_spec)
        state.set(new)
        return {"status": "reloaded", "spec_hash": state.view.meta["spec_hash"], "n_units": len(new.units)}

    @app.post("/api/admin/dataset", tags=["admin"])
    async def upload_dataset(request: Request) -> dict[str, Any]:
        """Replace the data with an uploaded CSV (same columns as the spec's data file; body = the CSV text,
        at most 20 MB), rebuild and serve it. A file that fails validation is rejected with 400 and the
        served index is unchanged. Needs the bearer token."""
        require_token(request)
        spec = state.view.result.spec
        if len(spec.data.paths) != 1:
            raise HTTPException(400, "dataset upload needs a spec with a single data file")
        body = await request.body()  # bounded (20 MiB) and read only after the token was checked (BodyLimit)
        if not body.strip():
            raise HTTPException(400, "empty upload: send the CSV as the request body")
        new = await admin_work.run(_rebuild_from_upload, state, body, request=request)
        return {"status": "replaced", "n_units": len(new.units)}

    # -- docs, static pages -----------------------------------------------------------------------------
    swagger = STATIC / "vendor" / "swagger-ui"
    pre = _Precompressed()

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        """The vendored Swagger UI (reads OpenAPI 3.1; no inline script, nothing fetched from outside)."""
        return FileResponse(swagger / "docs.html", media_type="text/html")

    @app.get("/static/vendor/swagger-ui/swagger-ui-bundle.js", include_in_schema=False)
    def swagger_bundle(request: Request) -> Response:
        return pre.response(swagger / "swagger-ui-bundle.js", "text/javascript", request)

    plotly_js = _plotly_js()

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_min(request: Request) -> Response:
        if plotly_js is None:
            raise HTTPException(404, "plotly is not installed (pip install plotly); charts are unavailable")
        return pre.response(plotly_js, "text/javascript", request)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app


def _rebuild_from_upload(state: _State, body: bytes) -> Result:
    """Build the served spec over the uploaded CSV ``body`` and swap it in (runs in the admin worker thread).

    The file is kept, for the life of that build, in a folder this server made (what-it-takes re-reads the
    data); the file of the build it replaces is removed then. Validation errors → 400, the served build
    unchanged."""
    from hubindex.spec import IndexSpec

    if state.upload_dir is None:
        state.upload_dir = Path(tempfile.mkdtemp(prefix="hubindex-upload-"))
        weakref.finalize(state, shutil.rmtree, state.upload_dir, True)  # our folder: removed with the server
    path = state.upload_dir / f"upload-{state.version + 1}-{time.monotonic_ns()}.csv"
    path.write_bytes(body)
    d = state.view.result.spec.model_dump()
    d["data"] = {**d["data"], "path": str(path), "sheet": None}
    try:
        new = _load(IndexSpec.model_validate(d))
    except HubindexError as e:
        path.unlink(missing_ok=True)
        raise HTTPException(400, f"uploaded dataset rejected: {e}") from None
    state.set(new)
    for old in state.upload_dir.glob("upload-*.csv"):
        if old != path:
            old.unlink(missing_ok=True)
    return new


def _store_object(state: _State) -> Any:
    """The EditionStore behind the editions, if they come from one (for target observations)."""
    arg = state.store_arg
    if arg is None and state.editions is not None and state.editions.source.startswith("edition store "):
        arg = state.editions.source.removeprefix("edition store ")
    if arg is None:
        return None
    from hubindex.store import EditionStore

    return arg if isinstance(arg, EditionStore) else EditionStore(Path(arg), read_only=True)


def _published_intervals(iv: RankIntervals) -> pd.DataFrame:
    """The start-up rank intervals (:attr:`RankIntervals.published`, percentiles rounded to 0.1) as the table
    :func:`hubindex.audit.summary` takes, with the nominal rank and score of the audit's target."""
    pub = iv.published
    m = iv.model
    t = pd.DataFrame.from_dict(pub["units"], orient="index").rename(columns={
        "rank_lo": "rank_p05", "rank_hi": "rank_p95", "score_lo": "score_p05", "score_hi": "score_p95"})
    nominal = pd.DataFrame({"nominal_rank": m.nominal_rank, "nominal_score": m.nominal_score},
                           index=[str(u) for u in m.units])
    t = nominal.join(t.astype(float))
    t.index.name = "unit"
    t.attrs = {"n": pub["n"], "seed": pub["seed"], "target": m.target, "elapsed_ms": pub["elapsed_ms"],
               "percentiles": "5th, 50th, 95th (rounded to 0.1)"}
    return t


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Lists in cells (e.g. an indicator's flags) joined with '; ' for CSV/XLSX."""
    return df.apply(lambda c: c.map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
                    if c.dtype == object else c)


def _index_data(result: Result) -> Any:
    """The engine input of the served build (re-read from its data files)."""
    from hubindex.io import load_data

    return load_data(result.spec)[0]


def jsonable_default(o: Any) -> Any:
    """``json.dumps`` fallback for NumPy/pandas values and DataFrames."""
    if isinstance(o, pd.DataFrame):
        return json.loads(o.to_json(orient="split"))
    if isinstance(o, pd.Series):
        return json.loads(o.to_json())
    if hasattr(o, "tolist"):
        return o.tolist()
    return jsonable(o)


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Validation errors without the raw input objects (which may not be JSON-serialisable)."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()]
