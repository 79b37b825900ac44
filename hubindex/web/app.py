"""The web app: a JSON API under ``/api`` and the static dashboard pages, over one index built at start-up.

Read-only by default. Endpoints that change state (``/api/admin/*``: reload from disk, upload a dataset) need a
bearer token given at start-up (``create_app(..., token=...)`` / ``hubindex serve --token``); without one they
answer 403. Request bodies are bounded (:data:`MAX_BODY`, :data:`MAX_UPLOAD`). Nothing is fetched from the
network: the Swagger UI of ``/docs`` comes from the ``swagger-ui-bundle`` package, Plotly from the ``plotly``
package and the world map from a TopoJSON file shipped in ``hubindex/web/static/geo``.
"""

from __future__ import annotations

import hmac
import io
import json
import math
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hubindex.engine.result import Result
from hubindex.errors import HubindexError
from hubindex.web._view import IndexView, jsonable

__all__ = ["create_app", "MAX_BODY", "MAX_UPLOAD", "MAX_WEIGHTS"]

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024  # bytes, JSON requests
MAX_UPLOAD = 20 * 1024 * 1024  # bytes, dataset uploads
MAX_WEIGHTS = 5000  # entries in a weights mapping


class WeightsRequest(BaseModel):
    """Weights to score the index with: node code → weight ≥ 0 (nodes not named keep their weight)."""

    model_config = ConfigDict(extra="forbid")
    weights: dict[Annotated[str, Field(min_length=1, max_length=200)],
                  Annotated[float, Field(ge=0, le=1e6)]] = Field(max_length=MAX_WEIGHTS)

    @field_validator("weights")
    @classmethod
    def _finite(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, w in v.items() if not math.isfinite(w)]
        if bad:
            raise ValueError(f"weights must be finite numbers, not for {bad[:5]}")
        return v


class _BodyLimit:
    """ASGI middleware: answer 413 when a request body exceeds its limit (counted as it arrives, so a missing
    or false Content-Length does not get around it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = MAX_UPLOAD if scope["path"].startswith("/api/admin/dataset") else MAX_BODY
        headers = dict(scope.get("headers") or [])
        cl = headers.get(b"content-length")
        too_big = cl is not None and cl.isdigit() and int(cl) > limit
        chunks: list[bytes] = []
        total = 0
        if not too_big:
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    return
                body = msg.get("body", b"")
                total += len(body)
                if total > limit:
                    too_big = True
                    break
                chunks.append(body)
                if not msg.get("more_body", False):
                    break
        if too_big:
            resp = JSONResponse({"detail": f"request body too large: the limit is {limit} bytes"}, status_code=413)
            await resp(scope, receive, send)
            return
        data = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class _State:
    """The served index and its pre-serialised read payloads; swapped atomically on reload/upload."""

    def __init__(self, result: Result, citation: str | None, licence: str | None) -> None:
        self.citation, self.licence = citation, licence
        self.lock = threading.Lock()
        self.audit: dict[str, Any] | None = None
        self.set(result)

    def set(self, result: Result) -> None:
        view = IndexView.from_result(result, citation=self.citation, licence=self.licence)
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
        self.view, self.cache, self.audit = view, cache, None
        self.profiles: dict[tuple[str, int], bytes] = {}


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


def _swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle

        return Path(swagger_ui_bundle.swagger_ui_path)
    except ImportError:
        return None


def _table_response(rows: list[dict[str, Any]], fmt: str, name: str, meta: Mapping[str, Any]) -> Response:
    """A table as JSON (rows + citation/licence), CSV (with ``#`` citation/licence lines) or XLSX (+ README)."""
    if fmt == "json":
        return Response(_json_bytes({"citation": meta["citation"], "licence": meta["licence"],
                                     "spec_hash": meta["spec_hash"], "rows": rows}), media_type="application/json")
    df = pd.DataFrame(rows)
    head = f"# {meta['name']}\n# citation: {meta['citation']}\n# licence: {meta['licence']}\n"
    if fmt == "csv":
        return Response(head + df.to_csv(index=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, sheet_name=name[:31], index=False)
        pd.DataFrame({"about": [meta["name"], f"citation: {meta['citation']}", f"licence: {meta['licence']}",
                                f"spec hash: {meta['spec_hash']}"]}).to_excel(xw, sheet_name="README", index=False)
    return Response(buf.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def create_app(result_or_spec: Any = None, token: str | None = None, *, citation: str | None = None,
               licence: str | None = None) -> FastAPI:
    """The FastAPI app over one index: a built :class:`~hubindex.engine.result.Result`, or a spec (path,
    mapping, IndexSpec; ``None`` = the shipped default) that is built once here.

    ``token``: bearer token that enables the state-changing ``/api/admin/*`` endpoints (disabled without one).
    """
    result = _load(result_or_spec)
    orig_spec = result.spec
    state = _State(result, citation, licence)
    app = FastAPI(
        title=f"hubindex API — {state.view.meta['name']}",
        description="Read-only JSON API over a built hubindex composite index. State-changing endpoints "
                    "(/api/admin/*) need `Authorization: Bearer <token>` and are disabled unless the server was "
                    "started with a token.",
        version=str(state.view.meta.get("hubindex_version") or "0"),
        docs_url=None, redoc_url=None,
    )
    app.state.index = state
    app.add_middleware(_BodyLimit)

    # -- errors ---------------------------------------------------------------------------------------
    @app.exception_handler(HubindexError)
    async def _user_error(_req: Request, exc: HubindexError) -> JSONResponse:
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

    def require_token(request: Request) -> None:
        if not token:
            raise HTTPException(403, "state-changing endpoints are disabled: start the server with a token "
                                     "(hubindex serve --token …) to enable them")
        auth = request.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    # -- read endpoints -------------------------------------------------------------------------------
    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        """Liveness: the index name and number of units."""
        return {"status": "ok", "index": state.view.meta["name"], "n_units": state.view.meta["n_units"]}

    @app.get("/api/meta", tags=["meta"])
    def meta() -> Response:
        """Name, version, spec hash, citation and licence of the served index."""
        return cached("meta")

    @app.get("/api/units", tags=["data"])
    def units() -> Response:
        """Every ranked unit: code, name, groups (country, region, …) and coordinates when the data has them."""
        return cached("units")

    @app.get("/api/units/{unit}", tags=["data"])
    def unit_profile(unit: str, k: Annotated[int, Query(ge=1, le=50)] = 5) -> Response:
        """A unit's profile: score/rank per node, raw values, imputed/treated flags, sources, strengths and
        weaknesses (the k best/worst-ranked indicators), group positions, neighbours and similar units."""
        key = (unit, k)
        body = state.profiles.get(key)
        if body is None:
            try:
                body = _json_bytes(state.view.profile(unit, k=k))
            except KeyError:
                raise HTTPException(404, f"unknown unit '{unit}'; see GET /api/units for the codes") from None
            state.profiles[key] = body  # bounded: units × k ≤ 50
        return Response(body, media_type="application/json")

    @app.get("/api/indicators", tags=["data"])
    def indicators() -> Response:
        """Indicators with name, parent, direction, weights, unit, source, definition and coverage."""
        return cached("indicators")

    @app.get("/api/framework", tags=["data"])
    def framework() -> Response:
        """The framework tree (every node with parent, level, weight, rescaled and effective weight) and the
        aggregation rule."""
        return cached("framework")

    @app.get("/api/scores", tags=["data"])
    def scores() -> Response:
        """Scores: one column per framework node (normalised value for indicators, aggregate otherwise)."""
        return cached("scores")

    @app.get("/api/ranks", tags=["data"])
    def ranks() -> Response:
        """Ranks of every unit in every node (1 = best, ties share the lowest rank)."""
        return cached("ranks")

    @app.get("/api/ranking", tags=["data"])
    def ranking(format: Literal["json", "csv", "xlsx"] = "json") -> Response:  # noqa: A002
        """The published ranking: rank, unit, groups, score, tier, pillar scores and ranks, sub-ranks.
        ``format=csv|xlsx`` downloads it with the citation and licence."""
        if format == "json":
            return cached("ranking")
        return _table_response(state.view.ranking(), format, "ranking", state.view.meta)

    @app.get("/api/bootstrap", tags=["meta"], include_in_schema=False)
    def bootstrap() -> Response:
        return cached("bootstrap")

    @app.post("/api/score", tags=["compute"])
    def score(req: WeightsRequest = Body(..., examples=[{"weights": {"Conn": 2, "Sust": 1}}])) -> JSONResponse:
        """Score the index with other weights (node code → weight ≥ 0; unnamed nodes keep theirs) and return
        the re-computed ranking with each unit's move against the published one. Does not change the server."""
        return JSONResponse(state.view.rescore(req.weights))

    @app.get("/api/audit", tags=["audit"])
    def audit() -> JSONResponse:
        """Audit results (uncertainty/sensitivity, rank intervals) from ``hubindex.audit.summary(result)``;
        404 when that module is not installed."""
        import importlib

        try:
            fn = getattr(importlib.import_module("hubindex.audit"), "summary", None)
        except ImportError:
            fn = None
        if fn is None:
            raise HTTPException(404, "audit results are not available: hubindex.audit provides no summary()")
        with state.lock:
            if state.audit is None:
                out = fn(state.view.result)
                out = out.to_dict() if hasattr(out, "to_dict") and not isinstance(out, dict) else out
                state.audit = json.loads(json.dumps(out, default=jsonable_default))
        return JSONResponse(state.audit)

    # -- state-changing endpoints (token) ---------------------------------------------------------------
    @app.post("/api/admin/reload", tags=["admin"])
    def reload(request: Request) -> dict[str, Any]:
        """Rebuild the index from its spec and data on disk and serve the new build. Needs the bearer token."""
        require_token(request)
        new = _load(orig_spec)
        with state.lock:
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
        body = await request.body()
        if not body.strip():
            raise HTTPException(400, "empty upload: send the CSV as the request body")
        with tempfile.TemporaryDirectory(prefix="hubindex-upload-") as tmp:
            path = Path(tmp) / "upload.csv"
            path.write_bytes(body)
            d = spec.model_dump()
            d["data"] = {**d["data"], "path": str(path), "sheet": None}
            from hubindex.spec import IndexSpec

            new_spec = IndexSpec.model_validate(d)
            try:
                new = _load(new_spec)
            except HubindexError as e:
                raise HTTPException(400, f"uploaded dataset rejected: {e}") from None
            with state.lock:
                state.set(new)
        return {"status": "replaced", "n_units": len(new.units)}

    # -- docs, static pages -----------------------------------------------------------------------------
    sw = _swagger_dir()

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if sw is None:
            return HTMLResponse("<p>Swagger UI is not installed (pip install swagger-ui-bundle); the OpenAPI "
                                "schema is at <a href='/openapi.json'>/openapi.json</a>.</p>")
        return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title,
                                   swagger_js_url="/_swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/_swagger/swagger-ui.css",
                                   swagger_favicon_url="/_swagger/favicon-32x32.png")

    if sw is not None:
        app.mount("/_swagger", StaticFiles(directory=sw), name="swagger")

    plotly_js = _plotly_js()

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_min() -> FileResponse:
        if plotly_js is None:
            raise HTTPException(404, "plotly is not installed (pip install plotly); charts are unavailable")
        return FileResponse(plotly_js, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app


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
