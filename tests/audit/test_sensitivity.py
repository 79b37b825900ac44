"""Sobol estimators on analytic functions, the Saltelli design layout, and the ASEM sensitivity run."""

from __future__ import annotations

import numpy as np
import pytest

from hubindex import load_spec
from hubindex.audit.model import AuditModel
from hubindex.audit.sensitivity import (
    mean_abs_rank_change,
    saltelli_design,
    sensitivity,
    sobol_indices,
    split_design_output,
)


def _run(f, d: int, N: int, lo: float = 0.0, hi: float = 1.0, seed: int = 1):  # type: ignore[no-untyped-def]
    names = [f"x{i}" for i in range(d)]
    U = saltelli_design(names, names, N, seed)
    y = f(lo + (hi - lo) * U)
    return sobol_indices(*split_design_output(y, d), names, n_boot=300, seed=0)


def test_design_layout_is_A_AB_B() -> None:
    U = saltelli_design(["a", "b", "c"], ["a", "b", "c"], 8, 0)
    assert U.shape == (8 * 5, 3)
    blk = U.reshape(8, 5, 3)
    A, B = blk[:, 0], blk[:, -1]
    for i in range(3):
        AB = blk[:, 1 + i]
        np.testing.assert_array_equal(AB[:, i], B[:, i])
        np.testing.assert_array_equal(np.delete(AB, i, 1), np.delete(A, i, 1))
    # grouped columns switch together: 2 groups -> N(2 + 2) rows
    G = saltelli_design(["w0", "w1", "t"], ["w", "w", "t"], 8, 0).reshape(8, 4, 3)
    np.testing.assert_array_equal(G[:, 1, :2], G[:, -1, :2])
    np.testing.assert_array_equal(G[:, 1, 2], G[:, 0, 2])


def test_ishigami_analytic() -> None:
    a, b = 7.0, 0.1

    def ish(X):  # type: ignore[no-untyped-def]
        return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])

    V = a**2 / 8 + b * np.pi**4 / 5 + b**2 * np.pi**8 / 18 + 0.5
    V1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    V2 = a**2 / 8
    VT3 = 8 * b**2 * np.pi**8 / 225
    S_true = np.array([V1, V2, 0]) / V
    ST_true = np.array([V1 + VT3, V2, VT3]) / V
    r = _run(ish, 3, 2**13, -np.pi, np.pi)
    np.testing.assert_allclose(r["S1"], S_true, atol=0.03)
    np.testing.assert_allclose(r["ST"], ST_true, atol=0.03)
    assert ((r["S1_low"] <= r["S1"]) & (r["S1"] <= r["S1_high"])).all()
    # the analytic values lie in (slightly widened) bootstrap intervals
    assert ((r["ST_low"] - 0.01 <= ST_true) & (ST_true <= r["ST_high"] + 0.01)).all()


def test_linear_function_analytic() -> None:
    c = np.array([1.0, 2.0, 3.0, 0.0])
    r = _run(lambda X: X @ c, 4, 2**12)
    expected = c**2 / (c**2).sum()  # additive: S_i = ST_i = c_i^2 Var(x) / sum
    np.testing.assert_allclose(r["S1"], expected, atol=0.02)
    np.testing.assert_allclose(r["ST"], expected, atol=0.01)
    assert r.loc["x3", "ST"] == 0.0


def test_estimators_by_hand_and_constant_output() -> None:
    yA, yB = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    yAB = np.array([[2.0], [2.0]])
    var = np.var([1, 2, 3, 4], ddof=1)
    r = sobol_indices(yA, yB, yAB, ["x"], n_boot=10)
    assert r.loc["x", "S1"] == pytest.approx(np.mean([3 * 1, 4 * 0]) / var)
    assert r.loc["x", "ST"] == pytest.approx((1 + 0) / (2 * 2 * var))
    const = sobol_indices(np.ones(4), np.ones(4), np.ones((4, 2)), n_boot=10)
    assert const[["S1", "ST"]].isna().all().all()


def test_mean_abs_rank_change() -> None:
    R = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [1.0, np.nan, 2.0]])
    np.testing.assert_allclose(mean_abs_rank_change(R, np.array([1.0, 2.0, 3.0])), [0, 4 / 3, 0.5])


def test_asem_sensitivity(asem_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = AuditModel(load_spec(asem_dir / "sensitivity.yaml"))
    r = sensitivity(model=m, n=256, n_boot=200)
    assert r.runs == 256 * (4 + 2) and list(r.indices.index) == ["treat", "normalise", "aggregate", "weights"]
    # y is the mean |rank change| of each design row, recomputed directly
    _, R = m.evaluate(r.design[:12])
    np.testing.assert_allclose(r.y[:12], np.abs(R - m.nominal_rank).mean(1))
    ix = r.indices
    assert (ix["ST"] >= -1e-9).all() and ix["ST"].sum() >= ix["S1"].sum() - 0.1
    # the normalisation choice (min-max vs z-score) dominates on ASEM, as in COINr's vignette
    assert ix["ST"].idxmax() in ("normalise", "aggregate")
    r2 = sensitivity(model=m, n=256, n_boot=200)
    np.testing.assert_array_equal(r.y, r2.y)
    assert sorted([*r.write(tmp_path / "sa"), ".hubindex-manifest.json"]) == sorted(p.name for p in (tmp_path / "sa").iterdir())
