"""``hubindex serve [SPEC]``: the dashboard and HTTP API on a local port."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from hubindex.web._limits import (
    BODY_TIMEOUT,
    DEFAULT_DEADLINE,
    DEFAULT_QUEUE,
    DEFAULT_SLOW_DEADLINE,
    DEFAULT_WORKERS,
    GIL_SWITCH_INTERVAL,
    HEADER_TIMEOUT,
    LIMIT_CONCURRENCY,
)


def _check_store(path: Path) -> None:
    """Refuse a ``--store`` that is missing, a folder, or not a readable hubindex edition store (StoreError)."""
    from hubindex.errors import StoreError
    from hubindex.store import EditionStore

    if path.is_dir():
        raise StoreError(f"{path}: --store is a folder; expected an edition store file (DuckDB, e.g. "
                         f"editions.duckdb)")
    if not path.exists():
        raise StoreError(f"{path}: --store: no edition store here; publish one with `hubindex edition publish "
                         f"SPEC --label LABEL --store {path}`, or leave --store out to use the default editions")
    try:
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
    except Exception:  # noqa: BLE001 - not a DuckDB file (or locked): EditionStore below says which
        pass
    else:
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        finally:
            con.close()
        if "editions" not in tables:
            raise StoreError(f"{path}: a DuckDB database but not a hubindex edition store (it has no 'editions' "
                             f"table); choose another --store path")
    EditionStore(path, read_only=True).verify()  # not a store, or a damaged one (every block read), fails here


def register(app: typer.Typer) -> None:
    """Add the top-level ``serve`` command to the root Typer app."""

    @app.command()
    def serve(
        spec: Annotated[Path | None, typer.Argument(
            help="Index spec (YAML). Default: the shipped Global Fintech Hub Index.", show_default=False)] = None,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
        token: Annotated[str | None, typer.Option(
            help="Bearer token enabling the state-changing /api/admin endpoints (or env HUBINDEX_TOKEN). "
                 "Without one they are disabled.", show_default=False)] = None,
        store: Annotated[Path | None, typer.Option(
            help="Edition store (DuckDB file) for the editions pages. Default: the user's store when it holds "
                 "editions, else the shipped dataset editions built in memory.", show_default=False)] = None,
        uncertainty_reps: Annotated[int, typer.Option(
            help="Monte Carlo replications for the rank intervals computed at start-up (0 = none).",
            min=0, max=50000)] = 1000,
        survey_provenance: Annotated[Path | None, typer.Option(
            help="Survey provenance file from `hubindex survey estimate` (indicator_provenance.csv): the city "
                 "pages show each survey value with its interval and n. Default: one next to a data file.",
            show_default=False)] = None,
        allowed_host: Annotated[list[str] | None, typer.Option(
            "--allowed-host", help="Host name the server answers to, besides 127.0.0.1, localhost, ::1 and --host "
            "(repeatable; or env HUBINDEX_ALLOWED_HOSTS=a,b; '*' = any). Other Host headers get 400 (DNS "
            "rebinding).", show_default=False)] = None,
        workers: Annotated[int, typer.Option(
            help="Worker threads for CPU-heavy requests (re-scoring, what-it-takes, audit, exports…).",
            min=1, max=64)] = DEFAULT_WORKERS,
        queue: Annotated[int, typer.Option(
            help="Heavy requests that may wait for a worker; beyond it they get 503/429 with Retry-After.",
            min=0, max=10000)] = DEFAULT_QUEUE,
        deadline: Annotated[float, typer.Option(
            help="Seconds (queue wait + run) a re-scoring request may take before it answers 503.",
            min=0.01, max=600)] = DEFAULT_DEADLINE,
        slow_deadline: Annotated[float, typer.Option(
            help="Seconds for the other computations (downloads, LPs, Monte Carlo, audit, exports).",
            min=0.01, max=3600)
        ] = DEFAULT_SLOW_DEADLINE,
        header_timeout: Annotated[float, typer.Option(
            help="Seconds a client has to send a complete request head (else 408, connection closed).",
            min=0.1, max=600)] = HEADER_TIMEOUT,
        body_timeout: Annotated[float, typer.Option(
            help="Seconds a request body may stall (else 408).", min=0.1, max=3600)] = BODY_TIMEOUT,
        gil_switch_interval: Annotated[float, typer.Option(
            help="Seconds between GIL hand-overs (sys.setswitchinterval): short keeps the event loop responsive "
                 "while workers compute.", min=0.00001, max=0.1)] = GIL_SWITCH_INTERVAL,
        limit_concurrency: Annotated[int, typer.Option(
            help="Concurrent connections + requests; beyond it the server answers 503.", min=1, max=100000)
        ] = LIMIT_CONCURRENCY,
    ) -> None:
        """Serve the dashboard (ranking, city profiles, map, compare, build-your-own index, methodology) and the
        JSON API (docs at /docs) over an index built once at start-up."""
        import uvicorn
        from rich.console import Console

        from hubindex.api import as_spec, build
        from hubindex.web.app import create_app

        s = as_spec(spec)
        if store is not None:  # an explicit --store must be a readable edition store, checked before the build
            _check_store(store)
        if survey_provenance is not None:  # a bad file fails before the build, with file/row/column
            from hubindex.web._view import read_survey_provenance

            read_survey_provenance(survey_provenance)
        console = Console(stderr=True)
        with console.status("Building the index…"):
            result = build(s)
        tok = token or os.environ.get("HUBINDEX_TOKEN") or None
        from hubindex.web._limits import ServerLimits, server_kwargs, tune_gil
        from hubindex.web._security import allowed_hosts

        hosts = allowed_hosts(host, allowed_host or ())
        limits = ServerLimits(workers=workers, queue=queue, deadline=deadline, slow_deadline=slow_deadline,
                              body_timeout=body_timeout)
        with console.status("Rank intervals and editions…"):
            web = create_app(result, token=tok, store=store, uncertainty_reps=uncertainty_reps,
                             survey_provenance=survey_provenance, limits=limits, allowed_hosts=hosts)
        console.print(f"[bold]{s.name}[/bold]: {len(result.units)} units. Dashboard on http://{host}:{port}/ , "
                      f"API docs on http://{host}:{port}/docs"
                      + ("" if tok else " (read-only: no token given)"))
        tune_gil(gil_switch_interval)
        uvicorn.run(web, host=host, port=port, log_level="warning",
                    **server_kwargs(header_timeout=header_timeout, limit_concurrency=limit_concurrency))
