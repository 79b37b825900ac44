"""The engine benchmark's baseline (benchmarks/bench_engine.py) computes what hubindex computes: its speed ratios
compare like with like. Checked here on a small synthetic index and on ASEM, as the benchmark does at full size."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import hubindex
from hubindex.engine.pipeline import run
from hubindex.io import load_data

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_engine.py"


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _same(res: hubindex.Result, S, R) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_allclose(S.to_numpy(), res.scores[S.columns].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(R.to_numpy(), res.ranks[R.columns].to_numpy())


def test_baseline_equals_hubindex_synthetic(bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = bench.synthetic_spec(tmp_path, 300, 60, seed=3)
    data, _ = load_data(spec)
    res = run(spec, data)
    assert (res.reports["treat"]["applied"] == "log").any() and (res.reports["treat"]["n_winsorised"] > 0).any()
    tree = bench.tree_of(res)
    _same(res, *bench.baseline_build(res.datasets["Raw"], tree))
    small = bench.steps_only(spec, ("normalise", "aggregate"))
    _same(run(small, data), *bench.baseline_build(res.datasets["Raw"], tree, impute=False, treat=False))


def test_baseline_equals_hubindex_asem(bench, asem_dir: Path) -> None:  # type: ignore[no-untyped-def]
    res = hubindex.build(asem_dir / "default.yaml")
    assert (res.reports["treat"]["applied"] == "winsorise").sum() == 18
    _same(res, *bench.baseline_build(res.datasets["Raw"], bench.tree_of(res), impute=False))
