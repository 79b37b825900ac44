"""Audit speed: Monte Carlo replications per second and the 6,000-run Sobol analysis, against a baseline
measured in the same run — the straightforward loop that re-runs the whole pipeline once per replication (what
COINr's ``get_sensitivity`` does: regenerate the coin with new parameters), on a few replications. The baseline
reads the data file once and reuses the loaded data (``engine.pipeline.run`` on each replication's spec), as a
sensible loop would; only the pipeline is repeated.

Workloads:
* ASEM, COINr's own sensitivity configuration (``examples/asem/sensitivity.yaml``): winmax 1–5 × {min-max [1, 100],
  z-score (10, 2)} × 100 noisy weight sets (±25 % on pillar and sub-index weights) × {arithmetic, geometric}.
  External reference figures, NOT measured by this script (COINr on another machine, quoted for scale only):
  COINr needed 145 s for 1,000 uncertainty runs and 1,174 s for the N = 1,000 Sobol design (6,000 runs).
* The default fintech index (``hubindex/specs/default.yaml``, when present): winmax 1–5 × {min-max [1, 100], rank}
  × {arithmetic, geometric} (z-scores go negative there, which the geometric mean refuses), with
  fresh ±25 % noise on every pillar and sub-pillar weight per replication; 100,000 replications.

Memory: each Monte Carlo size N = 10,000, 100,000 and 1,000,000 on the default fintech index runs in a fresh
process, once with ``keep='summary'`` (bounded per-unit counters) and, up to 100,000, with ``keep='all'`` (every
replication kept, the baseline); the peak resident memory (``getrusage``) before and after the run is reported:
summary mode must stay flat in N.

    .venv/bin/python benchmarks/bench_audit.py [--quick] [--memory-only]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hubindex import load_spec
from hubindex.audit.config import parse_uncertainty
from hubindex.audit.model import AuditModel
from hubindex.audit.sensitivity import sensitivity
from hubindex.audit.uncertainty import uncertainty
from hubindex.engine.pipeline import run

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def baseline_rate(m: AuditModel, reps: int) -> float:
    """Replications/second of the plain path: the whole pipeline once per replication (spec_for + run), on data
    loaded once before the loop (file reading is not part of a replication)."""
    U = np.random.default_rng(0).random((reps, m.ncols))
    data = m.data  # the model's loaded data (read once)
    run(m.spec_for(U[0]), data)  # warm-up
    _, t = timed(lambda: [run(m.spec_for(u), data) for u in U])
    return reps / t


def bench(label: str, m: AuditModel, n_mc: int, n_sobol: int, base_reps: int) -> None:
    print(f"\n== {label}: {m.n_units} units, {len(m.inds)} indicators, factors "
          f"{[f.name for f in m.factors]}")
    base = baseline_rate(m, base_reps)
    print(f"baseline (whole pipeline per replication on loaded data, {base_reps} reps): "
          f"{base:,.1f} replications/s")
    uncertainty(model=m, n=min(n_mc, 2048))  # warm-up
    r, t_mc = timed(lambda: uncertainty(model=m, n=n_mc, seed=0))
    rate = r.n / t_mc
    print(f"uncertainty: {r.n:,} replications in {t_mc:.2f} s = {rate:,.0f} replications/s  "
          f"-> {rate / base:,.0f}x the baseline")
    if n_sobol:
        s, t_sa = timed(lambda: sensitivity(model=m, n=n_sobol, n_boot=1000))
        print(f"sensitivity: N = {n_sobol:,}, {s.runs:,} runs + 1,000 bootstrap resamples in {t_sa:.2f} s = "
              f"{s.runs / t_sa:,.0f} runs/s -> {s.runs / t_sa / base:,.0f}x the baseline "
              f"(baseline would need {s.runs / base:,.0f} s)")
        print(s.indices.round(3).to_string())


DEFAULT_CFG = {
    "seed": 0,
    "treat": {"winmax": [1, 2, 3, 4, 5]},
    "normalise": [{"method": "min_max", "l": 1, "u": 100}, {"method": "rank"}],
    "aggregate": [{"method": "arithmetic"}, {"method": "geometric"}],
    "weights": {"noise": {2: 0.25, 3: 0.25}},
}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(n: int, keep: str) -> None:
    """One Monte Carlo run in this (fresh) process; prints JSON: peak RSS before/after, seconds."""
    m = AuditModel(load_spec(ROOT / "hubindex" / "specs" / "default.yaml"), parse_uncertainty(DEFAULT_CFG))
    uncertainty(model=m, n=256, keep=keep)  # type: ignore[arg-type]  # warm-up (imports, caches)
    before = _rss_mib()
    r, t = timed(lambda: uncertainty(model=m, n=n, seed=0, keep=keep))  # type: ignore[arg-type]
    print(json.dumps({"n": n, "keep": r.keep, "seconds": t, "rss_before": before, "rss_after": _rss_mib(),
                      "units": int(m.n_units), "err": r.score_quantile_error,
                      "state_mib": (r.stream.nbytes if r.stream else r.ranks.nbytes + r.scores.nbytes) / 2**20}))


def traced_peaks() -> None:
    """Peak traced Python memory (tracemalloc) of one uncertainty run on the ASEM model, summary vs keep-all:
    summary mode must stay flat in N (moved here from the test suite, where a busy machine made it flaky)."""
    import tracemalloc

    m = AuditModel(load_spec(ROOT / "examples" / "asem" / "default.yaml"),
                   parse_uncertainty({"chunk": 500, "weights": {"noise": {2: 0.25, 3: 0.25}}}))

    def peak(n: int, keep: str) -> float:
        tracemalloc.start()
        try:
            uncertainty(model=m, n=n, keep=keep)  # type: ignore[arg-type]
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    s2, s20, a20 = peak(2_000, "summary"), peak(20_000, "summary"), peak(20_000, "all")
    print(f"\n== traced peak (tracemalloc), ASEM, weight noise: summary N=2,000 {s2:.1f} MiB, N=20,000 {s20:.1f} MiB "
          f"(ratio {s20 / s2:.2f}); keep-all N=20,000 {a20:.1f} MiB ({a20 / s20:.1f}x summary)")


def memory_scaling(ns: list[int], all_up_to: int) -> None:
    print("\n== memory and time vs N, default fintech index (fresh process per run; peak RSS by getrusage)")
    print(f"{'N':>10} {'keep':>8} {'time s':>8} {'rep/s':>9} {'peak RSS MiB':>13} {'run adds MiB':>13} "
          f"{'kept MiB':>9}")
    rows = [(n, "summary") for n in ns] + [(n, "all") for n in ns if n <= all_up_to]
    err = 0.0
    for n, keep in rows:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), keep], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
        d = json.loads(out)
        print(f"{d['n']:>10,} {d['keep']:>8} {d['seconds']:>8.2f} {d['n'] / d['seconds']:>9,.0f} "
              f"{d['rss_after']:>13,.0f} {d['rss_after'] - d['rss_before']:>13,.0f} {d['state_mib']:>9.1f}")
        err = max(err, d["err"])
    print(f"summary mode: score quantiles within ±{err:.4f} (half a bin of 4,096 on the normalised range); "
          "rank statistics exact")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--memory-only", action="store_true", help="only the memory-vs-N table")
    ap.add_argument("--child", nargs=2, metavar=("N", "KEEP"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(int(a.child[0]), a.child[1])
        return
    q = a.quick
    traced_peaks()
    if (ROOT / "hubindex" / "specs" / "default.yaml").exists():
        memory_scaling([10_000, 100_000] if q else [10_000, 100_000, 1_000_000], 100_000)
    if a.memory_only:
        return
    spec = load_spec(ROOT / "examples" / "asem" / "sensitivity.yaml")
    m, t_prep = timed(lambda: AuditModel(spec))
    print(f"ASEM model preparation (10 normalised variants + nominal build): {t_prep:.2f} s")
    bench("ASEM, COINr's sensitivity configuration", m, 1_000 if q else 100_000, 1_000, 10 if q else 30)
    if not q:
        s, t = timed(lambda: sensitivity(spec, n=1_000))
        print(f"ASEM Sobol N = 1,000 end to end (model preparation included): {t:.2f} s")
        print("  external reference, not measured in this run: COINr's get_sensitivity took 1,174 s for the same "
              "design on another machine (quoted for scale; no ratio is claimed)")

    default = ROOT / "hubindex" / "specs" / "default.yaml"
    if default.exists():
        d = load_spec(default)
        cfg = parse_uncertainty(DEFAULT_CFG)
        md, t_prep = timed(lambda: AuditModel(d, cfg))
        print(f"\ndefault fintech index model preparation: {t_prep:.2f} s")
        bench("default fintech index", md, 10_000 if q else 100_000, 1_000, 10 if q else 30)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {rss:,.0f} MiB (chunk = {m.config.chunk} replications)")


if __name__ == "__main__":
    main()
