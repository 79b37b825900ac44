"""Engine speed: a full ASEM build, and a synthetic 10,000 units × 500 indicators build (labelled synthetic).

Prints absolute times and the ratio against a baseline measured in the same run: a straightforward pandas
implementation of the same pipeline (column loops for normalisation, a Python loop over units for the weighted
mean with missing-value renormalisation), the way a first spreadsheet-to-Python port would do it.

    .venv/bin/python benchmarks/bench_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import hubindex
from hubindex.engine.pipeline import run
from hubindex.io import load_data

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def baseline_build(spec, data) -> pd.Series:  # type: ignore[no-untyped-def]
    """The straightforward version: min-max per column, then per-unit Python loops up the tree."""
    fw = {n.code: n for n in spec.framework}
    X = pd.DataFrame(data.X, index=data.units, columns=list(data.indicators))
    scores = {}
    for c in X.columns:
        x = X[c] * fw[c].direction
        scores[c] = (x - x.min()) / (x.max() - x.min()) * 100
    parents: dict[str, list[str]] = {}
    for n in spec.framework:
        if n.parent:
            parents.setdefault(n.parent, []).append(n.code)
    done = set(scores)
    while len(done) < len(fw):
        for p, kids in parents.items():
            if p in done or not all(k in done for k in kids):
                continue
            vals = []
            for u in X.index:
                num = den = 0.0
                for k in kids:
                    v = scores[k][u]
                    if not np.isnan(v):
                        num += fw[k].weight * v
                        den += fw[k].weight
                vals.append(num / den if den else np.nan)
            scores[p] = pd.Series(vals, index=X.index)
            done.add(p)
    root = next(n.code for n in spec.framework if n.parent is None)
    return scores[root]


def synthetic_spec(tmp: Path, n_units: int, n_ind: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """SYNTHETIC data: lognormal indicators with 5% missing; 500 → 50 sub-pillars → 5 pillars → index."""
    rng = np.random.default_rng(seed)
    X = rng.lognormal(0, 1, size=(n_units, n_ind))
    X[rng.random(X.shape) < 0.05] = np.nan
    df = pd.DataFrame(X, columns=[f"i{j}" for j in range(n_ind)])
    df.insert(0, "unit", [f"U{i:05d}" for i in range(n_units)])
    df.to_parquet(tmp / "synthetic.parquet", index=False)
    n_sub, n_pil = max(1, n_ind // 10), 5
    fw: list[dict[str, object]] = [{"code": "Index"}]
    fw += [{"code": f"P{p}", "parent": "Index"} for p in range(n_pil)]
    fw += [{"code": f"S{s}", "parent": f"P{s % n_pil}"} for s in range(n_sub)]
    fw += [{"code": f"i{j}", "parent": f"S{j % n_sub}", "direction": 1 if j % 7 else -1} for j in range(n_ind)]
    return hubindex.spec_from_dict({
        "name": "SYNTHETIC benchmark index",
        "data": {"path": "synthetic.parquet", "unit_code": "unit"},
        "framework": fw,
        "pipeline": [{"step": "impute", "method": "median"}, {"step": "treat", "method": "coinr", "winmax": 5},
                     {"step": "normalise", "method": "min_max"}, {"step": "aggregate", "method": "arithmetic"}],
    }, base_dir=tmp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller synthetic size (2,000 × 200)")
    a = ap.parse_args()

    spec = hubindex.load_spec(ROOT / "examples/asem/default.yaml")
    plain = hubindex.load_spec(ROOT / "examples/asem/default.yaml").model_copy(
        update={"pipeline": [s for s in spec.pipeline if s.step != "treat"]})
    data, _ = load_data(plain)
    t_full = best_of(lambda: hubindex.build(spec), 20)
    t_pipe = best_of(lambda: run(plain, data), 20)
    t_base = best_of(lambda: baseline_build(plain, data), 3)
    print("ASEM (51 units × 49 indicators, real data)")
    print(f"  full build incl. file read, COINr treatment: {t_full * 1e3:8.1f} ms   (target < 50 ms)")
    print(f"  min-max + arithmetic, in memory:            {t_pipe * 1e3:8.1f} ms")
    print(f"  baseline (pandas + per-unit loops), same:   {t_base * 1e3:8.1f} ms   ratio {t_base / t_pipe:6.1f}×")

    n_units, n_ind = (2_000, 200) if a.quick else (10_000, 500)
    with tempfile.TemporaryDirectory() as d:
        sspec = synthetic_spec(Path(d), n_units, n_ind)
        t_build = best_of(lambda: hubindex.build(sspec), 3)
        sdata, _ = load_data(sspec)
        t_run = best_of(lambda: run(sspec, sdata), 3)
        small = sspec.model_copy(update={"pipeline": [s for s in sspec.pipeline if s.step in ("normalise", "aggregate")]})
        t_small = best_of(lambda: run(small, sdata), 3)
        sub = 500
        sub_data = sdata.subset_units(np.arange(sdata.n_units) < sub)
        t_b = best_of(lambda: baseline_build(small, sub_data), 1) * (sdata.n_units / sub)
    print(f"SYNTHETIC ({n_units:,} units × {n_ind} indicators; 5% missing; 4 levels)")
    print(f"  full build from Parquet (impute, COINr treat, min-max, mean): {t_build:6.2f} s   (target < 2 s)")
    print(f"  same pipeline in memory:                                      {t_run:6.2f} s")
    print(f"  min-max + arithmetic in memory:                               {t_small:6.3f} s")
    print(f"  baseline min-max + arithmetic (timed on {sub} units, scaled):  {t_b:6.2f} s   ratio {t_b / t_small:6.1f}×")


if __name__ == "__main__":
    main()
