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
    # on ASEM the aggregation choice (arithmetic vs geometric) dominates: ST ≈ 0.8 at N = 256 and N = 1,000, and its
    # bootstrap interval lies above every other factor's, so the order is decided, not a coin flip. The analytic
    # check of which factor is largest is test_sensitivity_analytic_only_one_factor_matters below.
    assert ix["ST"].idxmax() == "aggregate"
    assert ix.loc["aggregate", "ST_low"] > ix.drop(index="aggregate")["ST_high"].max()
    r2 = sensitivity(model=m, n=256, n_boot=200)
    np.testing.assert_array_equal(r.y, r2.y)
    assert sorted([*r.write(tmp_path / "sa"), ".hubindex-manifest.json"]) == sorted(p.name for p in (tmp_path / "sa").iterdir())


def test_sensitivity_analytic_only_one_factor_matters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """End to end through sensitivity(), a case with a known answer. Data without outliers (uniform), so every
    winmax leaves it untreated; min-max to [0, 100] or [1, 100] is an affine map s -> 1 + 0.99 s of every normalised
    value and so of every arithmetic mean: the same ranks. Only the pillar-weight noise can move a rank. So y depends
    on the weights alone: analytically S1 = ST = 1 for weights and exactly 0 for treat and normalise (y_ABi = y_A
    for them, every term of the Jansen and Saltelli sums is 0)."""
    from hubindex import spec_from_dict

    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (40, 4))
    lines = ["code," + ",".join("abcd")] + [f"U{i:02d}," + ",".join(f"{v:.6f}" for v in row) for i, row in enumerate(X)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    spec = spec_from_dict({
        "name": "one factor", "data": {"path": "d.csv", "unit_code": "code"},
        "framework": [{"code": "I"}, {"code": "P1", "parent": "I"}, {"code": "P2", "parent": "I"},
                      {"code": "a", "parent": "P1"}, {"code": "b", "parent": "P1"},
                      {"code": "c", "parent": "P2"}, {"code": "d", "parent": "P2"}],
        "pipeline": [{"step": "treat", "method": "coinr", "winmax": 5},
                     {"step": "normalise", "method": "min_max", "l": 0, "u": 100},
                     {"step": "aggregate", "method": "arithmetic"}],
        "uncertainty": {"n": 512, "seed": 0, "treat": {"winmax": [1, 2, 3, 4, 5]},
                        "normalise": [{"method": "min_max", "l": 0, "u": 100}, {"method": "min_max", "l": 1, "u": 100}],
                        "weights": {"noise": {2: 0.9}}},
    }, base_dir=tmp_path)
    ix = sensitivity(spec, n_boot=300).indices
    assert set(ix.index) == {"treat", "normalise", "weights"}
    assert ix.loc["treat", "ST"] == 0.0 and ix.loc["normalise", "ST"] == 0.0
    assert ix.loc["treat", "S1"] == 0.0 and ix.loc["normalise", "S1"] == 0.0
    assert ix["ST"].idxmax() == "weights"
    assert ix.loc["weights", "ST"] == pytest.approx(1.0, abs=0.1)
    assert ix.loc["weights", "S1"] == pytest.approx(1.0, abs=0.1)


def test_bootstrap_interval_is_the_5th_to_95th_percentile() -> None:
    """The S1/ST intervals against an independent percentile bootstrap written here (plain loop, own generator):
    resample the N blocks with replacement, Var(y) held fixed, 5th and 95th percentiles. The two bootstraps use
    different random draws, so they agree to Monte Carlo error (a few %), while a 25th–75th percentile interval
    would be about 2.4 times narrower. conf = 0.5 gives the 25th–75th."""
    rng = np.random.default_rng(11)
    N, d = 4000, 2
    A, B = rng.random((N, d)), rng.random((N, d))

    def f(X):  # type: ignore[no-untyped-def]
        return X[:, 0] + 2 * X[:, 1] + X[:, 0] * X[:, 1]

    yA, yB = f(A), f(B)
    yAB = np.column_stack([f(np.where(np.arange(d) == i, B, A)) for i in range(d)])
    var = np.var(np.concatenate([yA, yB]), ddof=1)
    boot = np.empty((2000, 2, d))
    g = np.random.default_rng(99)
    for b in range(len(boot)):
        i = g.integers(0, N, N)
        boot[b, 0] = (yB[i, None] * (yAB[i] - yA[i, None])).mean(0) / var
        boot[b, 1] = ((yA[i, None] - yAB[i]) ** 2).sum(0) / (2 * N * var)
    for conf, (lo_q, hi_q) in [(0.90, (5, 95)), (0.50, (25, 75))]:
        r = sobol_indices(yA, yB, yAB, ["x0", "x1"], n_boot=2000, conf=conf, seed=0)
        for k, est in enumerate(("S1", "ST")):
            lo, hi = np.percentile(boot[:, k], [lo_q, hi_q], axis=0)
            tol = 0.15 * (hi - lo)  # Monte Carlo error of two independent bootstraps is ~3-5 % of the width
            assert (np.abs(r[f"{est}_low"].to_numpy() - lo) <= tol).all(), (est, conf)
            assert (np.abs(r[f"{est}_high"].to_numpy() - hi) <= tol).all(), (est, conf)
            np.testing.assert_allclose(r[f"{est}_high"] - r[f"{est}_low"], hi - lo, rtol=0.2)
    # conf defaults to 0.90
    cols = ["S1_low", "S1_high", "ST_low", "ST_high"]
    default = sobol_indices(yA, yB, yAB, ["x0", "x1"], n_boot=2000, seed=0)[cols].to_numpy()
    np.testing.assert_array_equal(default, sobol_indices(yA, yB, yAB, ["x0", "x1"], n_boot=2000, conf=0.90,
                                                         seed=0)[cols].to_numpy())
