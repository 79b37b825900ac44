"""CLI start-up time: ``hubindex --help``, ``hubindex data show CN-HGH``, ``hubindex build --help`` and
``hubindex serve --help``, this tree against a baseline commit (default: ``main``), measured in the same run.

Each command runs in a fresh interpreter (the same Python for both trees, ``PYTHONPATH`` pointing at the tree, a
neutral working folder), the two trees alternating so that machine load hits both alike; the table shows the
median wall time and CPU time (user + system) of N runs and the ratios baseline / this tree. The baseline tree is a ``git archive`` export of
the commit into a temporary folder (the repository itself is not touched). Absolute times vary with machine load;
the ratios are the result.

    .venv/bin/python benchmarks/bench_cli.py [--runs 7] [--base main]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: list[list[str]] = [["--help"], ["data", "show", "CN-HGH"], ["build", "--help"], ["serve", "--help"]]
GOAL_S = 0.3


def export_tree(commit: str, dest: Path) -> str:
    """Write the files of ``commit`` to ``dest``; the full commit id."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], capture_output=True, text=True,
                         check=True).stdout.strip()
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", sha], capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(dest, filter="data")
    return sha


def time_once(tree: Path, argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one ``hubindex ARGV`` in a fresh interpreter importing hubindex
    from ``tree``. CPU time is less sensitive than wall time to other processes sharing the machine."""
    code = f"import sys\nfrom hubindex.cli import main\nsys.exit(main({argv!r}))"
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "120"}
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"hubindex {' '.join(argv)} failed in {tree} (exit {p.returncode}):\n{p.stderr[-2000:]}")
    return dt, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def which_hubindex(tree: Path, cwd: Path) -> str:
    """The hubindex package a fresh interpreter imports with PYTHONPATH=tree (checks the set-up)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", "import hubindex, os; print(os.path.dirname(hubindex.__file__))"],
                          env=env, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="runs per command and tree (median reported)")
    ap.add_argument("--base", default="main", help="baseline commit or branch (default: main)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        sha = export_tree(args.base, base)
        work = Path(tmp) / "cwd"
        work.mkdir()
        trees = {"baseline": base, "this tree": ROOT}
        for label, tree in trees.items():
            found = which_hubindex(tree, work)
            if Path(found).resolve() != (tree / "hubindex").resolve():
                raise SystemExit(f"{label}: PYTHONPATH={tree} imports hubindex from {found}; cannot compare")
        print(f"python {sys.version.split()[0]}; baseline {args.base} = {sha[:12]}; this tree {ROOT}; "
              f"{args.runs} runs each, alternating; median wall time of a fresh process")
        print(f"{'command':<28}{'wall: base s':>13}{'this s':>8}{'ratio':>8}   {'CPU: base s':>12}{'this s':>8}"
              f"{'ratio':>8}   wall < {GOAL_S} s")
        for argv in COMMANDS:
            wall: dict[str, list[float]] = {k: [] for k in trees}
            cpu: dict[str, list[float]] = {k: [] for k in trees}
            for _ in range(args.runs):
                for label, tree in trees.items():
                    w, c = time_once(tree, argv, work)
                    wall[label].append(w)
                    cpu[label].append(c)
            b, n = statistics.median(wall["baseline"]), statistics.median(wall["this tree"])
            cb, cn = statistics.median(cpu["baseline"]), statistics.median(cpu["this tree"])
            ok = "met" if n < GOAL_S else "not met (load?)"
            print(f"{'hubindex ' + ' '.join(argv):<28}{b:>13.3f}{n:>8.3f}{b / n:>7.1f}x   {cb:>12.3f}{cn:>8.3f}"
                  f"{cb / max(cn, 1e-9):>7.1f}x   {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
