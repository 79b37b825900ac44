"""Survey speed: raking + estimation for 1,000,000 SIMULATED respondents × 100 cities (target < 5 s, 2 cores).

Prints absolute times and the ratio against a baseline measured in the same run: the straightforward version —
a Python loop over cities, pandas group-bys per city for raking, and a per-city, per-domain Taylor variance —
the way a first port of a one-survey script to many cities would do it. The two must agree to 1e-9.

Then the whole pipeline (``run_survey``: read, check, rake, estimate every domain) on the same data written as
8 Parquet part files, in memory and on Dask (``backend="dask"``, local threaded scheduler, out of core: one
partition per part file); the two tables must agree to 1e-10.

    .venv/bin/python benchmarks/bench_survey.py [--quick] [--no-dask]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hubindex.survey.estimate import domain_rates
from hubindex.survey.rake import rake


def make(n: int, U: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.sort(rng.integers(0, U, n))
    return pd.DataFrame({"unit": unit, "stratum": rng.integers(0, 5, n), "psu": rng.integers(0, 40, n),
                         "w": rng.gamma(3.0, 1.0, n) + 0.1, "sex": rng.integers(0, 2, n),
                         "age": rng.integers(0, 4, n), "y": (rng.random(n) < 0.4).astype(float)})


def ours(df: pd.DataFrame, U: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    unit = df["unit"].to_numpy()
    sex, age = df["sex"].to_numpy(), df["age"].to_numpy()
    tot = np.bincount(unit, weights=df["w"].to_numpy(), minlength=U)
    targets = {"sex": tot[:, None] * [0.5, 0.5], "age": tot[:, None] * [0.2, 0.3, 0.3, 0.2]}
    w, _ = rake(df["w"].to_numpy(), unit, {"sex": sex, "age": age}, targets, tol=1e-10)
    st_, psu = df["stratum"].to_numpy(), df["psu"].to_numpy()
    e = domain_rates(df["y"].to_numpy(), w, unit * 2 + sex, U * 2, st_, psu, design=unit)
    return w, e.rate, e.se


def baseline(df: pd.DataFrame, U: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w_out = np.empty(len(df))
    rates, ses = np.full(U * 2, np.nan), np.full(U * 2, np.nan)
    for u, g in df.groupby("unit", sort=True):
        g = g.copy()
        tot = g["w"].sum()
        t = {"sex": pd.Series([0.5, 0.5]) * tot, "age": pd.Series([0.2, 0.3, 0.3, 0.2]) * tot}
        for _ in range(1000):
            for v in ("sex", "age"):
                g["w"] = g["w"] * g[v].map(t[v] / g.groupby(v)["w"].sum())
            err = max((g.groupby(v)["w"].sum() / t[v] - 1).abs().max() for v in ("sex", "age"))
            if err < 1e-10:
                break
        w_out[g.index] = g["w"].to_numpy()
        nh = g.groupby("stratum")["psu"].nunique()
        for s in (0, 1):
            z = (g["sex"] == s).to_numpy()
            r = (g["w"] * g["y"] * z).sum() / (g["w"] * z).sum()
            g["u"] = g["w"] * z * (g["y"] - r) / (g["w"] * z).sum()
            U_ = g.groupby(["stratum", "psu"])["u"].sum()
            v = 0.0
            for h, Uh in U_.groupby(level=0):
                v += nh[h] / (nh[h] - 1) * ((Uh - Uh.sum() / nh[h]) ** 2).sum()
            rates[2 * u + s], ses[2 * u + s] = r, np.sqrt(v)
    return w_out, rates, ses


def pipeline(df: pd.DataFrame, tmp: Path) -> tuple[float, float, int]:
    """Time ``run_survey`` in memory and on Dask over the same 8 Parquet parts; check they agree."""
    import yaml

    from hubindex.survey import run_survey

    (tmp / "parts").mkdir()
    for k, idx in enumerate(np.array_split(np.arange(len(df)), 8)):
        df.iloc[idx].to_parquet(tmp / "parts" / f"part{k}.parquet", index=False)
    pd.DataFrame({"variable": ["sex"] * 2 + ["age"] * 4, "category": [0, 1, 0, 1, 2, 3],
                  "target": [0.5, 0.5, 0.2, 0.3, 0.3, 0.2]}).to_csv(tmp / "margins.csv", index=False)
    spec = {"name": "SIMULATED benchmark", "data": {"path": "parts", "weight": "w", "unit": "unit",
                                                   "strata": "stratum", "psu": "psu"},
            "measures": [{"code": "y", "items": ["y"], "denominator": {"label": "all"}}],
            "groups": [{"name": "sex", "column": "sex", "labels": {0: "male", 1: "female"}}],
            "raking": {"margins": "margins.csv", "tol": 1e-10}}
    (tmp / "survey.yaml").write_text(yaml.safe_dump(spec))
    t0 = time.perf_counter()
    a = run_survey(tmp / "survey.yaml")
    t_mem = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = run_survey(tmp / "survey.yaml", backend="dask")
    t_dask = time.perf_counter() - t0
    num = ["estimate", "se", "ci_low", "ci_high", "deff", "deff_kish"]
    np.testing.assert_allclose(b.estimates[num].to_numpy(float), a.estimates[num].to_numpy(float), rtol=1e-10,
                               atol=1e-13)
    assert a.rake_report is not None and b.rake_report is not None
    return t_mem, t_dask, a.rake_report.iterations


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100,000 respondents × 20 cities")
    ap.add_argument("--no-dask", action="store_true", help="skip the run_survey memory-vs-Dask timing")
    a = ap.parse_args()
    n, U = (100_000, 20) if a.quick else (1_000_000, 100)
    df = make(n, U)
    t0 = time.perf_counter()
    w1, r1, s1 = ours(df, U)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    w2, r2, s2 = baseline(df, U)
    t_base = time.perf_counter() - t0
    np.testing.assert_allclose(w1, w2, rtol=1e-8)
    np.testing.assert_allclose(r1, r2, rtol=1e-9)
    np.testing.assert_allclose(s1, s2, rtol=1e-8)
    print(f"{n:,} simulated respondents × {U} cities, raking (sex × age) + rate/SE by sex as domains")
    print(f"  hubindex.survey: {t_ours:6.2f} s   (target < 5 s)")
    print(f"  baseline loop:   {t_base:6.2f} s   ratio baseline/ours = {t_base / t_ours:.1f}×")
    if not a.no_dask:
        with tempfile.TemporaryDirectory() as d:
            t_mem, t_dask, it = pipeline(df, Path(d))
        print(f"whole pipeline (read 8 Parquet parts, check, rake {it} sweeps, estimate) — equal to 1e-10:")
        print(f"  run_survey in memory: {t_mem:6.2f} s")
        print(f"  run_survey on Dask:   {t_dask:6.2f} s   ratio dask/memory = {t_dask / t_mem:.1f}× "
              f"(out of core: one part in memory per thread)")


if __name__ == "__main__":
    main()
