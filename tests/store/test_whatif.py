"""What it takes: a hand-checked case (min-max coupling included), fast path = full rebuilds, the LP
combination, and best/worst rank over admissible weights checked by enumeration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from store_sim import year_spec

import hubindex
from hubindex.io import load_data
from hubindex.store import WhatIf, rank_range, rank_range_enumerate
from hubindex.store._whatif import rank_range_matrix, weight_extremes

HAND = """
name: Hand
data: {path: d.csv, unit_code: unit}
framework:
  - {code: IDX}
  - {code: x, parent: IDX, unit: count}
  - {code: y, parent: IDX, unit: USD}
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
"""


@pytest.fixture()
def hand(tmp_path: Path) -> WhatIf:
    # x: A 0, B 5, C 10 ; y: A 10, B 0, C 5  →  A = (0 + 100)/2 = 50, B = (50 + 0)/2 = 25, C = (100 + 50)/2 = 75
    (tmp_path / "d.csv").write_text("unit,x,y\nA,0,10\nB,5,0\nC,10,5\n")
    (tmp_path / "s.yaml").write_text(HAND)
    return WhatIf.from_spec(tmp_path / "s.yaml")


def test_hand_checked_what_it_takes(hand: WhatIf) -> None:
    assert hand.fast
    np.testing.assert_allclose(hand.base.scores["IDX"], [50, 25, 75])
    t = hand.single("B", rank=2).set_index("indicator")
    # x: B's score = 5·x_B while x_B ≤ 10, so rank 2 (tie with A at 50) needs x_B = 10
    assert t.loc["x", "required"] == pytest.approx(10.0, abs=1e-4)
    # y: while y_B ≤ 5 the min moves with it and B stays at 0; above 5, C becomes the min:
    # B = (50 + 100·(y−5)/5)/2 ≥ 50  ⇔  y ≥ 7.5   (a linear guess with the old min would say 5)
    assert t.loc["y", "required"] == pytest.approx(7.5, abs=1e-4)
    assert t["verified"].all() and (t["rank_after"] <= 2).all()
    assert t.loc["y", "unit"] == "USD" and t.loc["x", "change"] == pytest.approx(5.0, abs=1e-4)
    # beat C (75): above the max, B's x is 100 and C's x is 100·10/x, so 50 ≥ 25 + 500/x  ⇔  x ≥ 20
    b = hand.single("B", beat="C").set_index("indicator")
    assert b.loc["x", "required"] == pytest.approx(20.0, abs=1e-3)
    assert bool(b.loc["x", "verified"])


def test_fast_path_equals_full_rebuilds(sim_dir: Path) -> None:
    s = year_spec(sim_dir, 2022)
    w = WhatIf(s, load_data(s)[0])
    assert w.fast, w.fast_reason
    unit = w.base.ranks["IDX"].idxmax()  # the last one
    fast = w.single(unit, rank=3, verify=False)
    full = w.single(unit, rank=3, verify=False, full=True, grid=9, rounds=5)
    ok = fast["reachable"].to_numpy()
    assert (ok == full["reachable"].to_numpy()).all()
    span = np.array([abs(r - c) for r, c in zip(fast["searched_to"], fast["current"], strict=True)])
    np.testing.assert_array_less(np.abs(fast["required"][ok] - full["required"][ok]), 1e-3 * span[ok] + 1e-9)
    # the goal "next tier" and checking in a full rebuild
    t = w.single(unit, tier="next")
    assert t.loc[t["reachable"], "verified"].all()


def test_combination_lp(hand: WhatIf, sim_dir: Path) -> None:
    c = hand.combination("B", rank=2)
    assert c["status"] == "optimal" and c["target_score"] == pytest.approx(50.0)
    # the LP needs Σ e_j δ_j ≥ 25 with e = ½ each and δ ≤ 100 − current: δ = 50 points in total
    assert c["plan"]["gain"].sum() == pytest.approx(50.0, abs=1e-4)
    assert "held fixed" in c["approximation"]
    s = year_spec(sim_dir, 2022)
    w = WhatIf(s, load_data(s)[0])
    unit = w.base.ranks["IDX"].idxmax()
    c = w.combination(unit, rank=5, cost={"b": 1.0})
    assert c["status"] == "optimal"
    assert c["check_score"] >= c["score"]
    assert len(c["plan"]) >= 1 and (c["plan"]["gain"] > 0).all()


def test_weight_extremes_match_linprog() -> None:
    from scipy.optimize import linprog

    rng = np.random.default_rng(3)
    D = rng.normal(size=(20, 4))
    lo, hi = np.array([0.1, 0.1, 0.2, 0.05]), np.array([0.5, 0.4, 0.6, 0.3])
    mn, mx = weight_extremes(D, lo, hi)
    for i in range(len(D)):
        for sign, ref in ((1, mn[i]), (-1, mx[i])):
            r = linprog(sign * D[i], A_eq=np.ones((1, 4)), b_eq=[1], bounds=list(zip(lo, hi, strict=True)))
            assert sign * r.fun == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_worst_rank_equals_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    P = rng.uniform(0, 100, size=(7, 3))
    w0 = np.array([0.5, 0.3, 0.2])
    lo, hi = w0 * 0.4, w0 * 1.6
    best, worst, *_ = rank_range_matrix(P, lo, hi)
    eb, ew = rank_range_enumerate(P, lo, hi)
    np.testing.assert_array_equal(best, eb)
    np.testing.assert_array_equal(worst, ew)
    # random admissible weights never go outside [best, worst]
    W = rng.dirichlet(np.ones(3), size=20000)
    W = W[((W >= lo) & (W <= hi)).all(1)]
    S = W @ P.T
    R = 1 + (S[:, None, :] > S[:, :, None]).sum(-1)
    assert (R.min(0) >= best).all() and (R.max(0) <= worst).all()


def test_rank_range_on_a_build(sim_dir: Path) -> None:
    r = hubindex.build(year_spec(sim_dir, 2021))
    rr = rank_range(r, tol=0.5)
    assert (rr["best_rank"] <= rr["rank"]).all() and (rr["rank"] <= rr["worst_rank"]).all()
    assert rr.attrs["codes"] == ["P1", "P2"]
    assert rr.attrs["lower"]["P1"] == pytest.approx(0.25)
    ri = rank_range(r, level="indicator", tol=0.3)
    assert (ri["best_rank"] <= ri["rank"]).all() and (ri["rank"] <= ri["worst_rank"]).all()
    # weights fixed at nominal: best = worst = rank
    fixed = rank_range(r, tol=0.0)
    np.testing.assert_array_equal(fixed["best_rank"], fixed["rank"])
    np.testing.assert_array_equal(fixed["worst_rank"], fixed["rank"])
