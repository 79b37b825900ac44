"""Editions, explanations, "what it takes" and best/worst rank: timings for all cities, with baselines measured in
the same run.

- editions: build + publish one edition per dataset vintage into a temporary store; ``diff`` and the Shapley
  explanation of the last two editions, with the biggest movers and their top contributions;
- what it takes (goal: one place up, every city, every indicator alone): the batched column re-evaluation vs a
  straightforward baseline — a full engine rebuild per candidate value with plain bisection (measured on a
  sample of cities and scaled to all, as stated in the output);
- best/worst rank over admissible weights (pillar weights within ±50 %, and indicator weights within ±50 %):
  pairwise LP bounds + one MILP per city vs a baseline of 20,000 random admissible weight vectors (which only
  finds an inner bound of the range).

Uses the shipped fintech dataset vintages when they exist; otherwise COINr's ASEM panel, which is SIMULATED
(``--asem-panel PATH``, labelled as such in the output).

    .venv/bin/python benchmarks/bench_store.py [--quick] [--asem-panel ../shared/data/asem/iData_panel_artificial.csv]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hubindex
from hubindex.engine.pipeline import run
from hubindex.io import load_data
from hubindex.store import EditionStore, WhatIf, diff_editions, diff_summary, explain, rank_range
from hubindex.store._whatif import _ranks_of
from hubindex.store.editions import build_editions, vintages, with_data_path

ROOT = Path(__file__).resolve().parents[1]


def editions_from_shipped(store: EditionStore) -> tuple[list[str], str]:
    t = time.perf_counter()
    labels = build_editions(store)
    dt = time.perf_counter() - t
    print(f"built and published {len(labels)} editions {labels} in {dt:.2f} s ({dt / max(len(labels), 1):.2f} s each)")
    return labels, "fintech hubs (shipped dataset vintages)"


def editions_from_asem(store: EditionStore, panel: Path) -> tuple[list[str], str]:
    p = pd.read_csv(panel)
    spec = hubindex.load_spec(ROOT / "examples" / "asem" / "default.yaml")
    spec = spec.model_copy(update={"pipeline": [hubindex.spec.ImputeStep(method="mean"), *spec.pipeline]})
    tmp = Path(tempfile.mkdtemp())
    labels = []
    t = time.perf_counter()
    for y, g in p.groupby("Time"):
        f = tmp / f"asem_{y}.csv"
        g.drop(columns="Time").to_csv(f, index=False)
        s = with_data_path(spec, f)
        data, _ = load_data(s)
        store.publish(run(s, data), str(y), data=data, vintage=int(y), note="SIMULATED ASEM panel")
        labels.append(str(y))
    print(f"built and published {len(labels)} editions in {time.perf_counter() - t:.2f} s")
    return labels, "ASEM panel — SIMULATED data (COINr's artificial panel), for timing only"


def movers(store: EditionStore, a: str, b: str, top: int = 5) -> None:
    ea, eb = store.get(a), store.get(b)
    d = diff_editions(ea, eb)
    s = diff_summary(ea, eb, d)
    print(f"\n{a} → {b}: up {s['up']}, unchanged {s['unchanged']}, down {s['down']}, entries {s['entries']}, "
          f"exits {s['exits']}, gap 1–10 {s['gap_1_10_a']:.2f} → {s['gap_1_10_b']:.2f}")
    t = time.perf_counter()
    ex = explain(ea, eb)
    print(f"explain: {ex.method}, {len(ex.factors)} factors {ex.factors}, {ex.n_builds} rebuilds, "
          f"{time.perf_counter() - t:.2f} s; max |residual| {ex.score['residual'].abs().max():.1e}, "
          f"reproduction error {ex.reproduction_error:.1e}")
    both = d[d["status"].isin(["up", "down", "unchanged"])].copy()
    both["_k"] = both["rank_change"].abs()
    for _, r in both.sort_values(["_k", "score_change"], ascending=False).head(top).iterrows():
        u = r["unit"]
        fu = ex.for_unit(u, top=3)
        parts = ", ".join(f"{f} {v:+.2f}" for f, v in zip(fu["factor"], fu["score"], strict=True))
        print(f"  {r['name']} ({u}): rank {int(r['rank_a'])} → {int(r['rank_b'])}, score "
              f"{r['score_change']:+.2f} = {parts}, …")
        ov = ex.overtakes(u)
        if len(ov):
            o = ov.iloc[0]
            print(f"      e.g. {o['name']} {o['how']} (mainly {o['main_factor']})")


def bench_whatif(store: EditionStore, label: str, quick: bool) -> None:
    e = store.get(label)
    w = WhatIf.from_edition(e)
    print(f"\nwhat it takes on edition {label}: column fast path {'on' if w.fast else 'off: ' + w.fast_reason}")
    ranks = w.base.ranks[w.root]
    units = [u for u in w.units if ranks[u] > 1]
    t = time.perf_counter()
    n_reach = n_bound = 0
    for u in units:
        out = w.single(u, rank=int(ranks[u]) - 1, verify=False)
        n_reach += int(out["reachable"].sum())
        n_bound += int((~out["reachable"].astype(bool) & (out["limited_by"] != "")).sum())
    fast = time.perf_counter() - t
    n_pairs = len(units) * len(w.inds)
    print(f"  all {len(units)} cities × {len(w.inds)} indicators (goal: one place up): {fast:.2f} s "
          f"({1e3 * fast / n_pairs:.2f} ms per city-indicator); {n_reach} of {n_pairs} reachable alone, "
          f"{n_bound} not within the indicator's natural bounds")
    # baseline: full rebuild per candidate, plain bisection to the same resolution (≈ range/32^4 → 20 steps)
    sample = units[: (2 if quick else 4)]
    inds = w.inds[: (3 if quick else 6)]
    t = time.perf_counter()
    for u in sample:
        c = w.upos[u]
        k = int(ranks[u]) - 1
        for code in inds:
            j = w.inds.index(code)
            a, b = w.search_range(j, c)
            if not _ranks_of(w._eval(j, c, np.array([b]), full=True), c)[0] <= k:
                continue
            for _ in range(20):
                m = 0.5 * (a + b)
                if _ranks_of(w._eval(j, c, np.array([m]), full=True), c)[0] <= k:
                    b = m
                else:
                    a = m
    base = (time.perf_counter() - t) / (len(sample) * len(inds))
    print(f"  baseline (full rebuild + bisection): {1e3 * base:.1f} ms per city-indicator, measured on "
          f"{len(sample)}×{len(inds)} pairs; scaled to all: {base * n_pairs:.1f} s → speed-up "
          f"{base * n_pairs / fast:.0f}×")
    c = units[len(units) // 2]
    t = time.perf_counter()
    plan = w.combination(c, rank=max(1, int(ranks[c]) - 3))
    print(f"  cheapest combination for {c} (3 places up): {plan['status']}, {len(plan['plan'])} indicators, "
          f"full-rebuild check rank {plan.get('check_rank')}, goal met {plan.get('check_met')} ({time.perf_counter() - t:.2f} s)")


def bench_rank_range(store: EditionStore, label: str, quick: bool) -> None:
    e = store.get(label)
    r = e.rebuild()
    for level in ("pillar", "indicator"):
        try:
            t = time.perf_counter()
            rr = rank_range(r, level=level, tol=0.5)
            dt = time.perf_counter() - t
        except Exception as ex:  # noqa: BLE001 - report why a level is not available
            print(f"\nrank range ({level}): not available ({ex})")
            continue
        codes = rr.attrs["codes"]
        lo, hi = np.array([rr.attrs["lower"][c] for c in codes]), np.array([rr.attrs["upper"][c] for c in codes])
        P = r.scores[codes].to_numpy(dtype=float)
        n = 5000 if quick else 20000
        rng = np.random.default_rng(0)
        t = time.perf_counter()
        # baseline: random admissible weights (rejection from a Dirichlet around the nominal weights)
        got = np.empty((0, len(codes)))
        w0 = np.array([rr.attrs["nominal"][c] for c in codes])
        while len(got) < n:
            W = rng.dirichlet(w0 * len(codes) * 4 + 0.1, size=n)
            got = np.vstack([got, W[((W >= lo) & (W <= hi)).all(1)]])
        W = got[:n]
        best = np.full(len(P), len(P))
        worst = np.zeros(len(P), dtype=int)
        for chunk in np.array_split(W, max(1, n // 500)):
            S = chunk @ P.T
            R = 1 + (S[:, None, :] > S[:, :, None]).sum(-1)
            best = np.minimum(best, R.min(0))
            worst = np.maximum(worst, R.max(0))
        base = time.perf_counter() - t
        missed = int(((best > rr["best_rank"].to_numpy()) | (worst < rr["worst_rank"].to_numpy())).sum())
        first = rr.loc[rr["best_rank"] == 1, "unit"].tolist()
        print(f"\nrank range over {level} weights (±50 %), {len(rr)} cities: {dt:.2f} s exact (LP bounds + MILP); "
              f"baseline {n} random weight vectors: {base:.2f} s, misses the true best/worst for {missed} cities. "
              f"First under some weights: {first}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--asem-panel", type=Path, default=None)
    args = ap.parse_args()
    store = EditionStore(Path(tempfile.mkdtemp()) / "bench.duckdb")
    try:
        if args.asem_panel is not None:
            raise RuntimeError("ASEM panel requested")
        vintages()
        labels, what = editions_from_shipped(store)
    except Exception as e:  # noqa: BLE001 - fall back to the simulated panel, and say so
        panel = args.asem_panel or ROOT.parent / "shared" / "data" / "asem" / "iData_panel_artificial.csv"
        if not panel.exists():
            print(f"no dataset vintages ({e}) and no ASEM panel at {panel}", file=sys.stderr)
            return 1
        labels, what = editions_from_asem(store, panel)
    print(f"data: {what}")
    movers(store, labels[-2], labels[-1])
    bench_whatif(store, labels[-1], args.quick)
    bench_rank_range(store, labels[-1], args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
