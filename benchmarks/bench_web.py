"""Loopback load test of the read API: requests/s and p50/p99 latency at a fixed offered rate, zero errors.

Starts ``hubindex serve``'s app under uvicorn on a free port in a child process (one worker), then sends requests
at ``--rate`` per second for ``--seconds`` (bounded: at most rate × seconds requests) from a thread pool, spread
over the main read endpoints. Baseline in the same run: ``/api/health`` (the cheapest possible endpoint), so the
ratio p99(endpoint) / p99(health) shows what the index payloads cost over bare HTTP.

    .venv/bin/python benchmarks/bench_web.py [--spec examples/asem/default.yaml] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = ["/api/ranking", "/api/units", "/api/units/{unit}", "/api/framework", "/api/scores"]


def _serve(spec: str, port: int) -> None:
    import uvicorn

    from hubindex.web import create_app

    uvicorn.run(create_app(spec), host="127.0.0.1", port=port, log_level="error")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_local = threading.local()


def _get(port: int, path: str) -> tuple[float, int]:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    t = time.perf_counter()
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except (OSError, http.client.HTTPException):
        _local.conn = None
        status = 0
    return time.perf_counter() - t, status


def run_load(port: int, paths: list[str], rate: float, seconds: float, workers: int = 16) -> dict[str, object]:
    """Open-loop load: request i is sent at t0 + i/rate (or as soon as a worker is free)."""
    n = int(rate * seconds)
    t0 = time.perf_counter() + 0.1
    out: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        path = paths[i % len(paths)]
        dt, status = _get(port, path)
        with lock:
            out.append((path, dt, status))

    with ThreadPoolExecutor(workers) as ex:
        list(ex.map(one, range(n)))
    wall = time.perf_counter() - t0
    lat = sorted(d for _, d, _ in out)
    errors = sum(1 for _, _, s in out if s != 200)
    return {"n": n, "rps": n / wall, "p50_ms": 1e3 * statistics.median(lat),
            "p99_ms": 1e3 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=str(ROOT / "examples" / "asem" / "default.yaml"))
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    port = _free_port()
    proc = mp.get_context("spawn").Process(target=_serve, args=(a.spec, port), daemon=True)
    proc.start()
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.time() > deadline or not proc.is_alive():
                    raise SystemExit("server did not start") from None
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/api/ranking")
        import json

        unit = json.loads(conn.getresponse().read())[0]["unit"]
        paths = [p.replace("{unit}", unit) for p in ENDPOINTS]
        base = run_load(port, ["/api/health"], a.rate, min(a.seconds, 3))
        print(f"baseline /api/health: {base['rps']:.0f} req/s, p50 {base['p50_ms']:.2f} ms, "
              f"p99 {base['p99_ms']:.2f} ms, errors {base['errors']}")
        res = run_load(port, paths, a.rate, a.seconds)
        print(f"read endpoints {', '.join(ENDPOINTS)}: {res['n']} requests at {a.rate:.0f}/s offered → "
              f"{res['rps']:.0f} req/s, p50 {res['p50_ms']:.2f} ms, p99 {res['p99_ms']:.2f} ms, "
              f"errors {res['errors']}; p99 ratio vs health {res['p99_ms'] / base['p99_ms']:.2f}×")
        for p in paths:
            r = run_load(port, [p], a.rate, min(a.seconds, 2))
            print(f"  {p:<22} p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
    finally:
        proc.terminate()
        proc.join(5)


if __name__ == "__main__":
    main()
