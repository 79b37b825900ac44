"""Rebuild speed: full builds, and rebuilds after one change, against a vectorised pandas/NumPy baseline.

For ASEM (51 × 49, real), the default Global Fintech Hub Index (real) and a SYNTHETIC 10,000 × 500 index read
from Parquet (``bench_engine.synthetic_spec``'s generator), in one run:

- hubindex cold build (``cache=False``: file read, parse, every step) and the first build through a fresh
  ``Pipeline`` (empty cache);
- rebuild after a change to the weights, to the aggregation, to the normalisation (through a warm pipeline; every
  repetition uses a new value, so every timed rebuild really recomputes from the changed step on);
- the baseline: the same pipeline as a competent engineer would write it with pandas/NumPy (vectorised screen,
  median imputation, min-max, level-by-level weighted means as one matrix product, ranks/tiers/sub-ranks with
  pandas: every aggregate's rank, as a hubindex build computes them — the indicators' ranks are lazy there;
  COINr's outlier treatment delegated to ``hubindex.engine.treat_columns`` — the baseline does not reimplement
  it, so both sides pay the same for it), keeping its intermediate frames so that a rebuild redoes only what
  changed, as by hand. Its index scores are checked equal to hubindex's to 1e-9 and its ranks (every node)
  identical.
- ``POST /api/score`` server time, in process (``TestClient``) and for the compute function alone.

Runs against any checkout (``PYTHONPATH=/path/to/checkout``, run from outside the repo): without
``hubindex.Pipeline`` (the code before incremental rebuilds) a rebuild is a full build. Absolute times are noisy on
a shared machine: compare ratios measured in the same run; the load average is printed.

    .venv/bin/python benchmarks/bench_rebuild.py [--quick] [--no-large]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hubindex
from hubindex.engine import treat_columns
from hubindex.spec import WeightsSpec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_engine import synthetic_spec  # noqa: E402  (the synthetic generator, reused as is)

HAS_CACHE = hasattr(hubindex, "Pipeline")


def best(fn: Callable[[int], Any], repeat: int) -> float:
    """Minimum wall time of ``fn(i)`` over ``repeat`` calls (seconds)."""
    out = []
    for i in range(repeat):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return min(out)


# -- the baseline: vectorised pandas/NumPy ------------------------------------------------------------------------


class Baseline:
    """The spec's pipeline (screen, median impute, COINr treat, min-max, arithmetic means) in pandas/NumPy."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        fw = spec.framework
        self.parent = {n.code: n.parent for n in fw}
        parents = set(self.parent.values())
        self.inds = [n.code for n in fw if n.code not in parents]
        self.direction = pd.Series({n.code: n.direction for n in fw})[self.inds]
        self.root = next(n.code for n in fw if n.parent is None)
        level: dict[str, int] = {c: 1 for c in self.inds}
        for _ in fw:  # parent level = 1 + max child level
            for c, p in self.parent.items():
                if p is not None and c in level:
                    level[p] = max(level.get(p, 0), level[c] + 1)
        self.level = level

    def load(self) -> pd.DataFrame:
        s = self.spec
        path = s.resolve(s.data.paths[0])
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        self.frame = df.set_index(s.data.unit_code).sort_index()
        return self.frame

    def upstream(self) -> pd.DataFrame:
        """Screen → impute → treat: the frame normalisation starts from."""
        X = self.frame[self.inds].astype(float)
        for st in self.spec.pipeline:
            if st.step == "screen" and st.min_availability is not None:
                X = X[X.notna().mean(axis=1) >= st.min_availability]
            elif st.step == "impute":
                assert st.method == "median"
                X = X.fillna(X.median())
            elif st.step == "treat":
                vals, _, _ = treat_columns(X.to_numpy(), "coinr", winmax=st.winmax)
                X = pd.DataFrame(vals, index=X.index, columns=X.columns)
        self.treated = X
        return X

    def normalise(self, l: float, u: float) -> pd.DataFrame:  # noqa: E741
        X = self.treated * self.direction
        self.norm = l + (X - X.min()) / (X.max() - X.min()) * (u - l)
        return self.norm

    def aggregate(self, weights: dict[str, float], min_share: float | None = None) -> pd.DataFrame:
        """Per level, every parent at once: y = (V·W) / (avail(V)·W), W the children × parents weight matrix."""
        vals = self.norm
        for lv in range(2, max(self.level.values()) + 1):
            kids = [c for c in vals.columns if self.parent.get(c) is not None and self.level[self.parent[c]] == lv]
            ps = list(dict.fromkeys(self.parent[c] for c in kids))
            W = np.zeros((len(kids), len(ps)))
            col = {p: j for j, p in enumerate(ps)}
            for i, c in enumerate(kids):
                W[i, col[self.parent[c]]] = weights.get(c, 1.0)
            V = vals[kids].to_numpy()
            ok = ~np.isnan(V)
            den = ok @ W
            with np.errstate(invalid="ignore", divide="ignore"):
                Y = np.nan_to_num(V) @ W / den
            if min_share is not None:
                Y[(ok @ (W > 0)) / (W > 0).sum(axis=0) < min_share] = np.nan
            vals = pd.concat([vals, pd.DataFrame(Y, index=vals.index, columns=ps)], axis=1)
        self.scores = vals
        return vals

    def rank(self) -> pd.DataFrame:
        s = self.scores.round(10)
        out = pd.DataFrame({"score": self.scores[self.root],
                            "rank": s[self.root].rank(ascending=False, method="min")})
        t = self.spec.tiers
        if t is not None:
            out["tier"] = pd.cut(out["rank"], [0, *t.cutoffs, np.inf], labels=t.labels)
        for g in self.spec.subrankings:
            out[f"rank_in_{g}"] = s[self.root].groupby(self.frame.loc[s.index, g]).rank(ascending=False,
                                                                                       method="min")
        # every aggregate's rank (as hubindex computes on a build; indicator ranks are compared in check_equal)
        self.ranks = s[[c for c in s.columns if c not in self.inds]].rank(ascending=False, method="min")
        return out

    def full(self, weights: dict[str, float], l: float = 0.0, u: float = 100.0) -> pd.DataFrame:  # noqa: E741
        self.load()
        self.upstream()
        self.normalise(l, u)
        self.aggregate(weights)
        return self.rank()


def spec_weights(spec: Any) -> dict[str, float]:
    return {n.code: float(n.weight) for n in spec.framework}


def check_equal(r: Any, base: Baseline, what: str) -> None:
    idx = r.index_code
    a = r.index_scores
    b = base.scores[idx].reindex(a.index)
    assert np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=0, atol=1e-9, equal_nan=True), what
    rb = base.scores.round(10).rank(ascending=False, method="min")  # every node, indicators included
    ra = r.ranks.reindex(columns=list(rb.columns))
    rb = rb.reindex(ra.index)
    assert np.array_equal(ra.to_numpy(float), rb.to_numpy(float), equal_nan=True), f"{what}: ranks differ"


# -- hubindex timings ---------------------------------------------------------------------------------------------


def bench_index(label: str, spec: Any, reps: int, out: dict[str, float]) -> None:
    pillar = next(iter(n.code for n in spec.framework if n.parent is not None
                       and next(m for m in spec.framework if m.code == n.parent).parent is None))
    step_l = spec.step("normalise").l
    # one new value per repetition: every timed rebuild recomputes from the changed step on
    w_specs = [spec.model_copy(update={"weights": WeightsSpec(use="b", sets={"b": {pillar: 2.0 + i / 7}})})
               for i in range(reps + 1)]
    a_specs = [spec.with_step("aggregate", min_availability=0.3 + i / (10 * reps)) for i in range(reps + 1)]
    n_specs = [spec.with_step("normalise", l=step_l + 1 + i / 7, u=100 + 1 + i / 7) for i in range(reps + 1)]
    if HAS_CACHE:
        cold = best(lambda i: hubindex.build(spec, cache=False), reps)
        first = best(lambda i: hubindex.build(spec, cache=hubindex.Pipeline()), reps)
        pipe = hubindex.Pipeline()
        hubindex.build(spec, cache=pipe)
        tw = best(lambda i: hubindex.build(w_specs[i], cache=pipe), reps)
        ta = best(lambda i: hubindex.build(a_specs[i], cache=pipe), reps)
        tn = best(lambda i: hubindex.build(n_specs[i], cache=pipe), reps)
        r_w = hubindex.build(w_specs[0], cache=pipe)
    else:
        cold = first = best(lambda i: hubindex.build(spec), reps)
        tw = best(lambda i: hubindex.build(w_specs[i]), reps)
        ta = best(lambda i: hubindex.build(a_specs[i]), reps)
        tn = best(lambda i: hubindex.build(n_specs[i]), reps)
        r_w = hubindex.build(w_specs[0])
    t_with = best(lambda i: spec.with_step("normalise", l=step_l + 1 + i), reps)

    base = Baseline(spec)
    w0 = spec_weights(spec)
    b_full = best(lambda i: base.full(w0), max(3, reps // 4))
    check_equal(hubindex.build(spec) if not HAS_CACHE else hubindex.build(spec, cache=False), base, label)
    b_w = best(lambda i: (base.aggregate({**w0, pillar: 2.0 + i / 7}), base.rank()), reps)
    base.aggregate({**w0, pillar: 2.0}), base.rank()
    check_equal(r_w, base, label + " (weights changed)")
    b_a = best(lambda i: (base.aggregate(w0, 0.3 + i / (10 * reps)), base.rank()), reps)
    b_n = best(lambda i: (base.normalise(step_l + 1 + i / 7, 100 + 1 + i / 7), base.aggregate(w0), base.rank()),
               reps)
    ms = 1e3
    print(f"{label}")
    print(f"  full build, cold (file read → ranks):   hubindex {cold * ms:8.2f} ms   first through a fresh "
          f"Pipeline {first * ms:8.2f} ms   baseline {b_full * ms:8.2f} ms   ratio {b_full / first:5.2f}×")
    for name, t, b in (("weights", tw, b_w), ("aggregation", ta, b_a), ("normalisation", tn, b_n)):
        print(f"  rebuild after a {name + ' change:':<22} hubindex {t * ms:8.3f} ms   baseline (redo from the "
              f"changed step) {b * ms:8.3f} ms   ratio {b / t:5.2f}×")
    print(f"  (spec.with_step itself, the user's edit: {t_with * ms:.3f} ms; not in the rebuild times)")
    out.update({f"{label}:cold": cold, f"{label}:first": first, f"{label}:weights": tw, f"{label}:aggregation": ta,
                f"{label}:normalisation": tn, f"{label}:baseline_full": b_full})


def bench_score(spec: Any, reps: int) -> None:
    from fastapi.testclient import TestClient

    from hubindex.web._view import IndexView
    from hubindex.web.app import create_app

    r = hubindex.build(spec)
    pillars = r.pillars()
    view = IndexView.from_result(r)
    view.rescore({pillars[0]: 3.0})
    t_view = best(lambda i: view.rescore({pillars[0]: 2.0 + i / 7}), reps)
    app = create_app(r)
    client = TestClient(app)
    client.post("/api/score", json={"weights": {pillars[0]: 3.0}})
    t_req = best(lambda i: client.post("/api/score", json={"weights": {pillars[0]: 2.0 + i / 7}}), reps)
    from bench_score import BROWSER, asgi_times  # server time: the ASGI app called directly (bench_score.py)

    t_app = min(asgi_times(app, pillars[0], reps, BROWSER)["wall"])
    print(f"POST /api/score ({spec.name}): compute (IndexView.rescore) {t_view * 1e3:.2f} ms; server time (the "
          f"app called directly, a browser's gzip request) {t_app * 1e3:.2f} ms; in-process request (TestClient, "
          f"client side) {t_req * 1e3:.2f} ms")


def bench_large(n_units: int, n_ind: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        spec = synthetic_spec(Path(d), n_units, n_ind)
        if HAS_CACHE:
            first = best(lambda i: hubindex.build(spec, cache=hubindex.Pipeline()), 2)
            cold = best(lambda i: hubindex.build(spec, cache=False), 2)
            pipe = hubindex.Pipeline(max_bytes=2**30)
            hubindex.build(spec, cache=pipe)
            w = {n.code: n.weight for n in spec.framework}
            tw = best(lambda i: hubindex.build(spec.model_copy(update={"weights": WeightsSpec(
                use="b", sets={"b": {"P0": 2.0 + i}})}), cache=pipe), 2)
        else:
            first = cold = best(lambda i: hubindex.build(spec), 2)
            tw = float("nan")
        base = Baseline(spec)
        w = spec_weights(spec)
        b_full = best(lambda i: base.full(w), 2)
        check_equal(hubindex.build(spec), base, "synthetic")
        # the same without the outlier treatment: both sides then run only their own code
        plain = spec.model_copy(update={"pipeline": [s for s in spec.pipeline if s.step != "treat"]})
        p_cold = best(lambda i: (hubindex.build(plain, cache=False) if HAS_CACHE else hubindex.build(plain)), 2)
        pbase = Baseline(plain)
        p_base = best(lambda i: pbase.full(w), 2)
        check_equal(hubindex.build(plain), pbase, "synthetic without treatment")
    la = os.getloadavg()
    print(f"SYNTHETIC ({n_units:,} units × {n_ind} indicators from Parquet; impute, COINr treat, min-max, mean)")
    print(f"  full build: hubindex cold {cold:6.3f} s, first through a fresh Pipeline {first:6.3f} s; "
          f"baseline {b_full:6.3f} s; ratio {b_full / min(cold, first):5.2f}×   (load average {la[0]:.1f} {la[1]:.1f})")
    print(f"  without the treatment (impute, min-max, mean): hubindex cold {p_cold:6.3f} s; baseline {p_base:6.3f} s; "
          f"ratio {p_base / p_cold:5.2f}×")
    print(f"  rebuild after a weights change: {tw * 1e3:8.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="synthetic 2,000 × 200 instead of 10,000 × 500")
    ap.add_argument("--no-large", action="store_true", help="skip the synthetic index")
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    print(f"hubindex from {Path(hubindex.__file__).parent} ({'incremental Pipeline' if HAS_CACHE else 'no cache'});"
          f" load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    out: dict[str, float] = {}
    asem = hubindex.load_spec(ROOT / "examples/asem/default.yaml")
    bench_index("ASEM (51 × 49, real data; COINr treat → min-max → arithmetic)", asem, a.reps, out)
    gfhi = hubindex.load_spec(ROOT / "hubindex/specs/default.yaml")
    bench_index("Default index (GFHI; screen → COINr treat → min-max → arithmetic; tiers, 3 sub-rankings)", gfhi,
                a.reps, out)
    bench_score(gfhi, a.reps)
    if not a.no_large:
        bench_large(*((2_000, 200) if a.quick else (10_000, 500)))


if __name__ == "__main__":
    main()
