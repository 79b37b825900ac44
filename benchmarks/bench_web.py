"""Loopback load test of the read API: requests/s and p50/p99 latency at a fixed offered rate, zero errors.

Starts ``hubindex serve``'s app under uvicorn on a free port in a child process (one worker), then sends requests
at ``--rate`` per second for ``--seconds`` (bounded: at most rate × seconds requests) from a thread pool, spread
over the main read endpoints. Baseline in the same run: ``/api/health`` (the cheapest possible endpoint), so the
ratio p99(endpoint) / p99(health) shows what the index payloads cost over bare HTTP.

Also timed: ``POST /api/uncertainty`` (rank intervals for user weights, 1,000 and 5,000 replications) against
``POST /api/score`` (a plain re-weighting) as its baseline, and — with Chromium present — the in-browser slider
re-rank (``window.hubindex.computeRanking``, median of 200).

    .venv/bin/python benchmarks/bench_web.py [--spec default|PATH] [--rate 200] [--seconds 10] [--no-browser]
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
ENDPOINTS = ["/api/ranking", "/api/units", "/api/units/{unit}", "/api/framework", "/api/scores", "/api/editions",
             "/api/units/{unit}/history"]


def _serve(spec: str, port: int) -> None:
    import uvicorn

    from hubindex.web import create_app

    uvicorn.run(create_app(None if spec == "default" else spec), host="127.0.0.1", port=port, log_level="error")


def _post_ms(port: int, path: str, body: dict, reps: int) -> tuple[float, int]:
    """Median wall time (ms) of ``reps`` POSTs and the last status."""
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ts, status = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        status = r.status
        ts.append(time.perf_counter() - t)
    return 1e3 * statistics.median(ts), status


def _browser_ms(port: int) -> float | None:
    """Median in-browser re-rank time over 200 runs in headless Chromium, or None without it."""
    import shutil

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        pg = b.new_page()
        pg.goto(f"http://127.0.0.1:{port}/#/weights")
        pg.wait_for_selector("#weights-table tbody tr")
        ms = pg.evaluate("""() => { const root = Object.keys(window.hubindex.computeScores({})).pop();
            const fw = window.hubindex; const t = []; const first = document.querySelector('#sliders input').dataset.code;
            for (let i = 0; i < 200; i++) { const a = performance.now(); fw.computeRanking({[first]: 1 + i / 100});
              t.push(performance.now() - a); } t.sort((x, y) => x - y); return t[100]; }""")
        b.close()
    return float(ms)


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
    ap.add_argument("--spec", default="default", help="'default' (the shipped fintech index) or a spec path")
    ap.add_argument("--no-browser", action="store_true")
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
            print(f"  {p:<28} p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/api/framework")
        pillars = json.loads(conn.getresponse().read())["pillars"]
        w = {pillars[0]: 3.0}
        base_ms, st = _post_ms(port, "/api/score", {"weights": w}, 10)
        print(f"POST /api/score (baseline re-weighting): median {base_ms:.1f} ms (status {st})")
        for n in (1000, 5000):
            ms, st = _post_ms(port, "/api/uncertainty", {"weights": w, "n": n}, 5)
            print(f"POST /api/uncertainty n={n}: median {ms:.1f} ms (status {st}), {ms / base_ms:.1f}× /api/score")
        if not a.no_browser:
            bm = _browser_ms(port)
            print("in-browser slider re-rank: " + ("Chromium not available" if bm is None else
                                                    f"median {bm:.3f} ms (budget 16 ms)"))
    finally:
        proc.terminate()
        proc.join(5)


if __name__ == "__main__":
    main()
