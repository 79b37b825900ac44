"""The fast paths of issue 16 item 4 give the same results as the slow ones: the batched Shapley explanation of a
rank change equals rebuilding every coalition (on the shipped editions, and on a simulated pair where it must fall
back), and best/worst rank with the vertex shortcut equals the MILP for every city."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hubindex
from hubindex.store import EditionStore, explain, rank_range

wi = importlib.import_module("hubindex.store._whatif")  # the module (hubindex.store._whatif is also a function name)


@pytest.fixture(scope="module")
def shipped() -> EditionStore:
    from hubindex.store.editions import build_editions, vintages

    try:
        vintages()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no shipped dataset vintages: {e}")
    st = EditionStore(Path(tempfile.mkdtemp()) / "real.duckdb")
    build_editions(st)
    return st


@pytest.mark.parametrize(("a", "b"), [("2022", "2023"), ("2024", "2025")])
def test_explain_batched_equals_rebuilds_on_shipped_editions(shipped: EditionStore, a: str, b: str) -> None:
    ea, eb = shipped.get(a), shipped.get(b)
    fast = explain(ea, eb)
    slow = explain(ea, eb, fast=False)
    assert fast.n_builds == 2 < slow.n_builds  # batched: only the two checking rebuilds
    assert fast.factors == slow.factors and fast.method == slow.method == "exact"
    pd.testing.assert_frame_equal(fast.score, slow.score, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(fast.rank, slow.rank, rtol=0, atol=0)
    u = str(fast.rank["total"].abs().idxmax())
    pd.testing.assert_frame_equal(fast.for_unit(u), slow.for_unit(u), rtol=0, atol=1e-12)


def test_explain_falls_back_when_coverage_changes(sim_store: EditionStore) -> None:
    # the simulated pairs have entries / exits (a coverage factor): every coalition is rebuilt, as before
    fast = explain("2021", "2022", store=sim_store)
    slow = explain("2021", "2022", store=sim_store, fast=False)
    assert "coverage" in fast.factors and fast.n_builds == slow.n_builds == 2 ** len(fast.factors)
    pd.testing.assert_frame_equal(fast.score, slow.score, rtol=0, atol=0)


def test_rank_range_vertex_shortcut_changes_no_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    r = hubindex.build()
    fast = rank_range(r, level="pillar", tol=0.5)
    monkeypatch.setattr(wi, "_box_simplex_vertices", lambda lo, hi, max_dim=10: np.zeros((0, len(lo))))
    slow = rank_range(r, level="pillar", tol=0.5)
    np.testing.assert_array_equal(fast[["best_rank", "worst_rank"]], slow[["best_rank", "worst_rank"]])
    # the weights shown (rounded to 6 decimals) reach the ranks they are shown for, up to near-ties (1e-3 points)
    codes = fast.attrs["codes"]
    P = r.scores[codes].to_numpy(dtype=float)
    for c, row in fast.iterrows():
        for col, rank_col in (("weights_best", "best_rank"), ("weights_worst", "worst_rank")):
            w = np.array([row[col][k] for k in codes])
            s = P @ w
            assert abs(w.sum() - 1) < 1e-5
            lo_r, hi_r = 1 + int((s > s[c] + 1e-3).sum()), 1 + int((s > s[c] - 1e-3).sum()) - 1
            assert lo_r <= row[rank_col] <= hi_r


def test_box_simplex_vertices() -> None:
    lo, hi = np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.5, 0.6])
    V = wi._box_simplex_vertices(lo, hi)
    assert len(V) and np.allclose(V.sum(1), 1) and (V >= lo - 1e-12).all() and (V <= hi + 1e-12).all()
    # every vertex of the polygon: for a 2-D face, each vertex has at least two weights at a bound
    at = np.isclose(V, lo) | np.isclose(V, hi)
    assert (at.sum(1) >= 2).all()
