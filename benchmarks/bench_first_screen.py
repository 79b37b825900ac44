"""First screen of the dashboard: time to the first ranking row and bytes transferred, before vs after, same run.

*Before* is another git revision of this repository (default ``main``): its files are exported with
``git archive REF`` into a temporary folder (the repository is not touched) and served from there (that folder
first on ``PYTHONPATH``, so its ``hubindex`` package is imported instead of this worktree's). *After* is this
worktree. Both servers run the shipped default index (91 cities, editions built in memory, no user store) in
child processes on free loopback ports, started the same way.

Headless Chromium (Playwright, Debian's ``/usr/bin/chromium``) opens ``/#/ranking`` in a fresh browser context
(empty cache) ``--runs`` times per server and condition, alternating before/after:

* **loopback**: no throttling;
* **throttled**: Chrome DevTools ``Network.emulateNetworkConditions`` with 40 ms latency and 10 Mbit/s down
  and up (1.25 MB/s), as in issue 14.

Measured per load: *first row* = ``performance.now()`` (ms since navigation start) when the first
``#ranking-table tbody tr`` appears (a ``MutationObserver`` injected before any page script, so both revisions
are timed the same way); *transferred* = Σ ``encodedDataLength`` of every response (bytes on the wire, after
compression) until the network is idle; whether Plotly was fetched. Prints medians and the after/before ratios.
Absolute times are noisy on a shared machine; compare the ratios of one run.

    .venv/bin/python benchmarks/bench_first_screen.py [--before main] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
THROTTLE = {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 10e6 / 8}
FIRST_ROW = """(() => { const seen = () => document.querySelector('#ranking-table tbody tr');
  const obs = new MutationObserver(() => { if (seen() && window.__firstRow === undefined) {
    window.__firstRow = performance.now(); obs.disconnect(); } });
  obs.observe(document, { childList: true, subtree: true }); })();"""
SERVER = """import sys, uvicorn
sys.path.insert(0, sys.argv[1]) if sys.argv[1] else None
from hubindex.web import create_app
uvicorn.run(create_app(None), host="127.0.0.1", port=int(sys.argv[2]), log_level="error")"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _export(ref: str, dest: Path) -> None:
    """``git archive ref`` unpacked into ``dest`` (read-only use of the repository)."""
    tar = dest / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(tar), ref], check=True)
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data")
    tar.unlink()


def _start(src: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "HUBINDEX_STORE": str(tmp / "absent.duckdb")}  # editions in memory, never a user store
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, src, str(port)], env=env, cwd=src or str(ROOT))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/api/health", timeout=2).read()  # noqa: S310 - loopback
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"server for {src or 'this worktree'} exited with {proc.returncode}") from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start within 180 s")


def _load(browser: Any, url: str, throttled: bool) -> dict[str, Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.add_init_script(FIRST_ROW)
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttled:
        cdp.send("Network.emulateNetworkConditions", THROTTLE)
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url + "/#/ranking", timeout=120_000)
    page.wait_for_function("window.__firstRow !== undefined", timeout=120_000)
    first = float(page.evaluate("window.__firstRow"))
    page.wait_for_load_state("networkidle", timeout=120_000)
    out = {"first_row_ms": first, "bytes": sum(sizes.values()),
           "plotly": any("plotly" in u for u in urls.values())}
    ctx.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="main", help="git revision served as the baseline (default: main)")
    ap.add_argument("--runs", type=int, default=5, help="page loads per server and condition (default 5)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hubindex-bench-") as tmpd:
        tmp = Path(tmpd)
        src = tmp / "before"
        src.mkdir()
        _export(args.before, src)
        procs = []
        try:
            p_before, u_before = _start(str(src), tmp)
            procs.append(p_before)
            p_after, u_after = _start("", tmp)
            procs.append(p_after)
            res: dict[tuple[str, str], list[dict[str, Any]]] = {}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                for cond in ("loopback", "throttled"):
                    for url in (u_before, u_after):
                        _load(browser, url, cond == "throttled")  # warm the server (first-request caches)
                    for _ in range(args.runs):
                        for label, url in [("before", u_before), ("after", u_after)]:
                            res.setdefault((cond, label), []).append(_load(browser, url, cond == "throttled"))
                browser.close()
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=20)
    print(f"first screen of /#/ranking, default index, median of {args.runs} cold loads "
          f"(before = {args.before}, after = this worktree; Chromium 1440x900)")
    print(f"{'condition':<11}{'version':<8}{'first row ms':>14}{'transferred KB':>16}  plotly fetched")
    for cond in ("loopback", "throttled"):
        med = {}
        for label in ("before", "after"):
            xs = res[(cond, label)]
            med[label] = (statistics.median(x["first_row_ms"] for x in xs), statistics.median(x["bytes"] for x in xs))
            print(f"{cond:<11}{label:<8}{med[label][0]:>14.0f}{med[label][1] / 1024:>16.0f}  "
                  f"{all(x['plotly'] for x in xs)}")
        print(f"{cond:<11}{'ratio':<8}{med['after'][0] / med['before'][0]:>14.2f}"
              f"{med['after'][1] / med['before'][1]:>16.3f}  (after / before)")
    print("throttled = CDP Network.emulateNetworkConditions: 40 ms latency, 10 Mbit/s down and up")


if __name__ == "__main__":
    main()
