"""Open-loop load test of the web server: does one client stall it?

Starts ``hubindex serve``'s app under uvicorn in a child process (one worker, loopback) and drives it with an
**open-loop** generator: request i is sent at t0 + i/rate whatever happened to the earlier ones (asyncio, raw
HTTP/1.1 over loopback sockets, one connection per request in flight; no HTTP library, so the generator costs
little CPU). A request counts as answered when its status line and body arrive; ``--client-timeout`` (default
10 s) ends the wait for one.

Scenarios (``--scenario``, default ``score,whatif,upload``):

* ``score`` — ``POST /api/score`` (random pillar weights) at ``--rate`` per second for ``--seconds``, with
  ``GET /api/health`` probed 20 times a second throughout; then, after the load stops, a health request and a
  score request every 50 ms until both are fast again (health < 100 ms and score answered 200 < 1 s). Goal: every
  score request answered (200, or 429/503) within 1 s; health p99 < 100 ms; recovery < 1 s.
* ``whatif`` — 40 ``GET /api/units/{unit}/what-it-takes?rank=1`` sent at once (different units), health
  probed meanwhile; how long until all are answered and how the probes fared.
* ``upload`` — ``POST /api/admin/dataset`` (the served data re-uploaded) while ``--upload-rate`` score
  requests/s run; health probes during the rebuild show whether the event loop froze.
* ``read`` — the cached read endpoints at ``--rate`` (throughput of the cheap path).
* ``halfopen`` — ``--halfopen`` (3,000) connections that send half a request head and stall: how many are
  still open 12 s later (the header-read deadline closes them), and health before and after.

Same-run baseline: ``--pythonpath DIR`` runs the server from another copy of the package (e.g. ``git archive
main hubindex | tar -x -C /tmp/base``), so before/after are measured back to back on the same loaded machine.
The 1-, 5- and 15-minute load averages are printed with the results (this 2-core machine is shared).

    .venv/bin/python benchmarks/bench_web.py [--scenario score,whatif,upload] [--rate 500] [--seconds 10]
        [--workers 2] [--queue 16] [--pythonpath DIR] [--spec default|PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READ_ENDPOINTS = ["/api/ranking", "/api/units", "/api/units/{unit}", "/api/framework", "/api/scores",
                  "/api/health"]
TOKEN = "bench-token"

SERVER = r"""
import sys, uvicorn
import hubindex; from hubindex.web import create_app; print("server package:", hubindex.__file__, file=sys.stderr)
spec, port, workers, queue = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
http, loop = sys.argv[6], sys.argv[7]
if float(sys.argv[5]) > 0:
    sys.setswitchinterval(float(sys.argv[5]))  # what hubindex serve does (hubindex.web._limits.tune_gil)
kw = {}
try:
    from hubindex.web._limits import ServerLimits, server_config
    kw["limits"] = ServerLimits(workers=workers, queue=queue)
except ImportError:
    server_config = None
app = create_app(None if spec == "default" else spec, token=TOKEN, **kw)
if server_config is not None:
    uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="error", http=http, loop=loop)).run()
else:
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", http=http, loop=loop)
""".replace("TOKEN", repr(TOKEN))


# -- a small raw HTTP/1.1 client ---------------------------------------------------------------------------
@dataclass
class Sample:
    sent: float  # scheduled send time (s since t0)
    latency: float  # s until the full response (or the timeout)
    status: int  # 0 = no answer (timeout or connection error)


@dataclass
class Stats:
    samples: list[Sample] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        lat = sorted(s.latency for s in self.samples)
        codes: dict[int, int] = {}
        for s in self.samples:
            codes[s.status] = codes.get(s.status, 0) + 1

        def q(p: float) -> float:
            return 1e3 * lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")

        return {"n": len(lat), "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": 1e3 * lat[-1] if lat else float("nan"),
                **{f"s{k}": v for k, v in sorted(codes.items())}}


async def request(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                  timeout: float = 10.0) -> tuple[int, bytes]:
    """One request on a fresh loopback connection: (status, body); status 0 on timeout or connection error."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head.encode() + b"\r\n" + body)
            raw_head = await reader.readuntil(b"\r\n\r\n")
            status = int(raw_head.split(b" ", 2)[1])
            length = 0
            for line in raw_head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            data = await reader.readexactly(length) if length else await reader.read()
            return status, data
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        return 0, b""
    finally:
        if writer is not None:
            writer.close()


async def open_loop(port: int, rate: float, seconds: float, make: object, stats: Stats, t0: float,
                    timeout: float) -> None:
    """Send ``make(i)`` = (method, path, body, headers) at t0 + i/rate for i < rate·seconds, never waiting for
    answers; returns when every request is answered or timed out."""
    loop = asyncio.get_running_loop()
    tasks = []
    n = int(rate * seconds)

    async def one(i: int, at: float) -> None:
        method, path, body, hdr = make(i)  # type: ignore[operator]
        st, _ = await request(port, method, path, body, hdr, timeout)
        stats.samples.append(Sample(at, loop.time() - (t0 + at), st))

    for i in range(n):
        at = i / rate
        delay = t0 + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, at)))
    await asyncio.gather(*tasks)


# -- the server ------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(spec: str, workers: int, queue: int, pythonpath: str | None, switch: float = 0.0,
                 http: str = "auto", loop: str = "auto") -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, spec, str(port), str(workers), str(queue), str(switch), http, loop], env=env,
                            cwd=pythonpath or str(ROOT))
    deadline = time.time() + 180
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("server did not start") from None
            time.sleep(0.3)


SERVER_PID = 0


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc; 0 elsewhere)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


class CpuShare:
    """CPU used by the server and by this load generator over a scenario, in cores (CPU s / wall s)."""

    def __enter__(self) -> CpuShare:
        self.t, self.s, self.c = time.perf_counter(), _cpu(SERVER_PID), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.t
        print(f"  CPU over the scenario: server {(_cpu(SERVER_PID) - self.s) / wall:.2f} cores, load generator "
              f"{(time.process_time() - self.c) / wall:.2f} cores (2-core machine; {_load()})")


def _fmt(name: str, s: dict[str, float | int]) -> str:
    codes = " ".join(f"{k[1:]}:{v}" for k, v in s.items() if k.startswith("s"))
    return (f"  {name:<26} n={s['n']:<5} p50 {s['p50_ms']:8.1f} ms  p99 {s['p99_ms']:8.1f} ms  "
            f"max {s['max_ms']:8.1f} ms  status {codes}")


async def recovery(port: int, body: bytes, t_stop: float, limit: float = 60.0) -> float:
    """Seconds from ``t_stop`` until a health request answers 200 in < 100 ms and a score request 200 in < 1 s."""
    loop = asyncio.get_running_loop()
    while loop.time() - t_stop < limit:
        a = loop.time()
        st, _ = await request(port, "GET", "/api/health", timeout=2)
        ok_h = st == 200 and loop.time() - a < 0.1
        b = loop.time()
        st2, _ = await request(port, "POST", "/api/score", body, {"Content-Type": "application/json"}, timeout=2)
        if ok_h and st2 == 200 and loop.time() - b < 1.0:
            return loop.time() - t_stop
        await asyncio.sleep(0.05)
    return float("inf")


async def scenario_score(port: int, pillars: list[str], a: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    rnd = random.Random(0)
    bodies = [json.dumps({"weights": {p: round(rnd.uniform(0.1, 3), 3) for p in pillars}}).encode()
              for _ in range(64)]
    hdr = {"Content-Type": "application/json"}
    score, health = Stats(), Stats()
    t0 = loop.time() + 0.2
    print(f"score: POST /api/score at {a.rate:.0f}/s for {a.seconds:g} s + /api/health 20/s; {_load()}")
    load = asyncio.create_task(open_loop(port, a.rate, a.seconds, lambda i: ("POST", "/api/score", bodies[i % 64],
                                                                             hdr), score, t0, a.client_timeout))
    probe = asyncio.create_task(open_loop(port, 20, a.seconds, lambda i: ("GET", "/api/health", b"", None), health,
                                          t0, a.client_timeout))
    await asyncio.sleep(max(0.0, t0 + a.seconds - loop.time()))
    t_stop = loop.time()
    rec = await recovery(port, bodies[0], t_stop)
    await asyncio.gather(load, probe)
    s = score.summary()
    late = sum(1 for x in score.samples if x.latency > 1.0 or x.status == 0)
    print(_fmt("POST /api/score", s))
    print(_fmt("GET /api/health (during)", health.summary()))
    served = s.get("s200", 0)
    print(f"  served {served} of {s['n']} ({served / a.seconds:.0f}/s), shed (429/503) "
          f"{s.get('s429', 0) + s.get('s503', 0)}, answered later than 1 s or never: {late}; "
          f"recovery after the load: {rec:.2f} s; {_load()}")


async def scenario_whatif(port: int, units: list[str], a: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    n = 40
    us = [units[(i + 1) % len(units)] for i in range(n)]
    health = Stats()
    print(f"whatif: {n} GET /api/units/{{unit}}/what-it-takes?rank=1 at once + /api/health 20/s; {_load()}")
    t0 = loop.time() + 0.1
    out: list[tuple[int, float]] = []

    async def one(u: str) -> None:
        st, _ = await request(port, "GET", f"/api/units/{u}/what-it-takes?rank=1", timeout=120)
        out.append((st, loop.time() - t0))

    await asyncio.sleep(0.1)
    probe = asyncio.create_task(open_loop(port, 20, 60, lambda i: ("GET", "/api/health", b"", None), health, t0,
                                          a.client_timeout))
    await asyncio.gather(*(one(u) for u in us))
    t_all = loop.time() - t0
    probe.cancel()
    codes: dict[int, int] = {}
    for st, _ in out:
        codes[st] = codes.get(st, 0) + 1
    h = Stats([x for x in health.samples if x.sent <= t_all])
    print(f"  all {n} answered after {t_all:.2f} s; status {codes}; slowest {max(t for _, t in out):.2f} s")
    print(_fmt("GET /api/health (during)", h.summary()))
    b = loop.time()
    st, _ = await request(port, "GET", "/api/health", timeout=60)
    print(f"  health right after: {1e3 * (loop.time() - b):.1f} ms (status {st}); {_load()}")


async def scenario_upload(port: int, pillars: list[str], csv: bytes, a: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    body = json.dumps({"weights": {pillars[0]: 2.0}}).encode()
    hdr = {"Content-Type": "application/json"}
    score, health = Stats(), Stats()
    secs = 8.0
    print(f"upload: POST /api/admin/dataset ({len(csv) / 1e3:.0f} kB) at t=1 s during {a.upload_rate:.0f} score/s "
          f"+ /api/health 20/s for {secs:g} s; {_load()}")
    t0 = loop.time() + 0.2
    load = asyncio.create_task(open_loop(port, a.upload_rate, secs, lambda i: ("POST", "/api/score", body, hdr),
                                         score, t0, a.client_timeout))
    probe = asyncio.create_task(open_loop(port, 20, secs, lambda i: ("GET", "/api/health", b"", None), health, t0,
                                          a.client_timeout))
    await asyncio.sleep(max(0.0, t0 + 1 - loop.time()))
    u0 = loop.time()
    st, resp = await request(port, "POST", "/api/admin/dataset", csv,
                             {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"}, timeout=120)
    u1 = loop.time()
    await asyncio.gather(load, probe)
    during = Stats([x for x in health.samples if u0 - t0 <= x.sent <= u1 - t0])
    print(f"  upload answered {st} after {u1 - u0:.2f} s {resp[:80]!r}")
    print(_fmt("GET /api/health (upload)", during.summary()))
    print(_fmt("GET /api/health (whole run)", health.summary()))
    print(_fmt("POST /api/score", score.summary()))
    print(f"  {_load()}")


async def scenario_halfopen(port: int, a: argparse.Namespace) -> None:
    """Open ``--halfopen`` connections that send half a request head and stop; count those still open 12 s
    later, then time a health request."""
    loop = asyncio.get_running_loop()
    n = a.halfopen
    print(f"halfopen: {n} connections each sending half a request head; {_load()}")
    conns = []
    for _ in range(n):
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            break
        w.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        conns.append((r, w))
    t0 = loop.time()
    b = loop.time()
    st, _ = await request(port, "GET", "/api/health", timeout=30)
    print(f"  opened {len(conns)}; health meanwhile: {1e3 * (loop.time() - b):.1f} ms (status {st})")
    await asyncio.sleep(max(0.0, t0 + 12 - loop.time()))

    async def still_open(r: asyncio.StreamReader) -> bool:
        try:
            data = await asyncio.wait_for(r.read(4096), 0.05)
        except TimeoutError:
            return True
        except OSError:
            return False
        return bool(data) and not data.startswith(b"HTTP/1.1 408")

    alive = sum(await asyncio.gather(*(still_open(r) for r, _ in conns)))
    print(f"  still open after 12 s: {alive} of {len(conns)}")
    for _, w in conns:
        w.close()
    b = loop.time()
    st, _ = await request(port, "GET", "/api/health", timeout=30)
    print(f"  health after: {1e3 * (loop.time() - b):.1f} ms (status {st})")


async def scenario_read(port: int, unit: str, a: argparse.Namespace) -> None:
    paths = [p.replace("{unit}", unit) for p in READ_ENDPOINTS]
    st = Stats()
    loop = asyncio.get_running_loop()
    print(f"read: {', '.join(READ_ENDPOINTS)} at {a.rate:.0f}/s for {a.seconds:g} s; {_load()}")
    await open_loop(port, a.rate, a.seconds, lambda i: ("GET", paths[i % len(paths)], b"", None), st,
                    loop.time() + 0.1, a.client_timeout)
    print(_fmt("cached reads", st.summary()))


async def amain(a: argparse.Namespace, port: int) -> None:
    st, raw = await request(port, "GET", "/api/framework", timeout=60)
    pillars = json.loads(raw)["pillars"]
    st, raw = await request(port, "GET", "/api/ranking", timeout=60)
    units = [r["unit"] for r in json.loads(raw)]
    for sc in a.scenario.split(","):
        with CpuShare():
            await _scenario(sc, port, pillars, units, a)
        await asyncio.sleep(2)  # let the server drain before the next scenario


async def _scenario(sc: str, port: int, pillars: list[str], units: list[str], a: argparse.Namespace) -> None:
    if sc == "score":
        await scenario_score(port, pillars, a)
    elif sc == "whatif":
        await scenario_whatif(port, units, a)
    elif sc == "upload":
        await scenario_upload(port, pillars, _served_csv(a.spec), a)
    elif sc == "read":
        await scenario_read(port, units[0], a)
    elif sc == "halfopen":
        await scenario_halfopen(port, a)
    else:
        raise SystemExit(f"unknown scenario {sc!r}")


def _served_csv(spec: str) -> bytes:
    from hubindex.api import as_spec

    s = as_spec(None if spec == "default" else spec)
    return s.resolve(s.data.paths[0]).read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default="default", help="'default' (the shipped fintech index) or a spec path")
    ap.add_argument("--scenario", default="score,whatif,upload")
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--upload-rate", type=float, default=50.0)
    ap.add_argument("--halfopen", type=int, default=3000, help="connections for the halfopen scenario")
    ap.add_argument("--client-timeout", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=16)
    ap.add_argument("--switch-interval", type=float, default=0.0005,
                    help="sys.setswitchinterval in the server (s; hubindex serve's default 0.0005; 0 = leave "
                         "Python's 0.005)")
    ap.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"], help="uvicorn HTTP parser")
    ap.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="uvicorn event loop")
    ap.add_argument("--pythonpath", default=None, help="run the server from this copy of the package (baseline)")
    a = ap.parse_args()
    global SERVER_PID
    proc, port = start_server(a.spec, a.workers, a.queue, a.pythonpath, a.switch_interval, a.http,
                              a.loop)
    SERVER_PID = proc.pid
    print(f"server: {'baseline at ' + a.pythonpath if a.pythonpath else 'this checkout'}, workers {a.workers}, "
          f"queue {a.queue}, switch interval {a.switch_interval or 'default'}, http {a.http}, loop {a.loop}, "
          f"port {port}")
    try:
        asyncio.run(amain(a, port))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
