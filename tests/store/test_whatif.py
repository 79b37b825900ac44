"""What it takes: a hand-checked case (min-max coupling included), fast path = full rebuilds, the LP
combination, and best/worst rank over admissible weights checked by enumeration."""

from __future__ import annotations

import os
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


BOUNDED = HAND.replace("{code: x, parent: IDX, unit: count}", "{code: x, parent: IDX, unit: count, bounds: [0, 8]}")


@pytest.fixture()
def bounded(tmp_path: Path) -> WhatIf:
    # the hand case, with x's natural range [0, 8] (data 0, 5, 10 – C is above it, as dirty data can be)
    (tmp_path / "d.csv").write_text("unit,x,y\nA,0,10\nB,5,0\nC,10,5\n")
    (tmp_path / "s.yaml").write_text(BOUNDED)
    return WhatIf.from_spec(tmp_path / "s.yaml")


def test_single_respects_natural_bounds(bounded: WhatIf) -> None:
    # unbounded, B reaches rank 2 with x = 10 (see the hand case); 10 > 8, so x alone cannot do it
    free = bounded.single("B", rank=2, natural_bounds=False).set_index("indicator")
    assert free.loc["x", "required"] == pytest.approx(10.0, abs=1e-4)
    t = bounded.single("B", rank=2).set_index("indicator")
    assert not t.loc["x", "reachable"] and np.isnan(t.loc["x", "required"])
    assert t.loc["x", "limited_by"] == "upper bound" and t.loc["x", "bound"] == 8.0
    assert t.loc["x", "required_unbounded"] == pytest.approx(10.0, abs=1e-4)
    assert "above its upper bound 8" in t.loc["x", "note"] and "10" in t.loc["x", "note"]
    assert t.loc["x", "searched_to"] == 8.0
    # y (open range) is unaffected: 7.5; an explicit bound exactly at 7.5 still reaches it (closed range) …
    assert t.loc["y", "required"] == pytest.approx(7.5, abs=1e-4) and t.loc["y", "limited_by"] == ""
    e = bounded.single("B", rank=2, bounds={"y": (None, 7.5)}).set_index("indicator")
    assert e.loc["y", "required"] == pytest.approx(7.5, abs=1e-4) and bool(e.loc["y", "verified"])
    # … one below it does not, and says which bound
    e = bounded.single("B", rank=2, bounds={"y": (0, 7.0)}).set_index("indicator")
    assert not e.loc["y", "reachable"] and "upper bound 7" in e.loc["y", "note"]
    assert e.loc["y", "required_unbounded"] == pytest.approx(7.5, abs=1e-4)
    # a goal unreachable even beyond the bound: beat C with x alone needs x ≥ 20 (hand case), bound 8 → not even
    # at the bound, and the search beyond it (up to 20 = 10 + 2 ranges) reaches 20 only at its very end
    b = bounded.single("B", beat="C").set_index("indicator")
    assert not b.loc["x", "reachable"] and b.loc["x", "limited_by"] == "upper bound"


def test_current_value_beyond_bound_and_lower_bounds(tmp_path: Path) -> None:
    # 'lower is better' x with natural range [2, ∞): normalised x = 100·(10 − x)/10 → A 100, B 50, C 0;
    # y → A 100, B 0, C 50; scores A 100, B 25, C 25. B at its bound x = 2 gets 80 → (80 + 0)/2 = 40 < 100.
    spec = HAND.replace("{code: x, parent: IDX, unit: count}",
                        "{code: x, parent: IDX, unit: count, direction: -1, bounds: [2, null]}")
    (tmp_path / "d.csv").write_text("unit,x,y\nA,0,10\nB,5,0\nC,10,5\n")
    (tmp_path / "s.yaml").write_text(spec)
    w = WhatIf.from_spec(tmp_path / "s.yaml")
    np.testing.assert_allclose(w.base.scores["IDX"], [100, 25, 25])
    t = w.single("B", rank=1, indicators=["x"]).set_index("indicator")
    assert not t.loc["x", "reachable"] and t.loc["x", "limited_by"] == "lower bound"
    assert t.loc["x", "searched_to"] == 2.0 and "not even at its lower bound 2" in t.loc["x", "note"]
    # rank 2: B ties C at 25 and ties share the better place
    assert w.single("B", rank=2, indicators=["x"])["note"].iloc[0] == "already met"
    # a current value already beyond the bound (dirty data: x_A = 0 < 2) offers no admissible improvement
    (tmp_path / "d.csv").write_text("unit,x,y\nA,5,10\nB,1,0\nC,10,5\n")
    w = WhatIf.from_spec(tmp_path / "s.yaml")
    t = w.single("B", rank=1, indicators=["x"]).set_index("indicator")
    assert not t.loc["x", "reachable"] and "already at its lower bound 2" in t.loc["x", "note"]
    c = w.combination("B", rank=1, indicators=["x", "y"])
    assert "x" not in set(c["plan"].get("indicator", []))  # no gain admissible from x


def test_bounds_errors(bounded: WhatIf) -> None:
    from hubindex.errors import SpecError

    with pytest.raises(SpecError, match="not indicators"):
        bounded.single("B", rank=2, bounds={"nope": (0, 1)})
    with pytest.raises(SpecError, match="empty"):
        bounded.single("B", rank=2, bounds={"x": (9, None)})  # [9, ∞) ∩ [0, 8]
    assert bounded.value_bounds()["y"] == (-np.inf, np.inf)
    assert bounded.value_bounds({"y": (None, 3)})["y"] == (-np.inf, 3.0)


def test_combination_respects_bounds(bounded: WhatIf) -> None:
    # need Σ ½ δ ≥ 25: δ_x ≤ N_x(8) − 50 = 80 − 50 = 30, δ_y ≤ 100 − 0
    c = bounded.combination("B", rank=2)
    assert c["status"] == "optimal" and c["check_met"]
    p = c["plan"].set_index("indicator")
    assert "x" not in p.index or p.loc["x", "required"] <= 8 + 1e-9
    assert p["gain"].sum() == pytest.approx(50.0, abs=1e-4)
    # y ≤ 4 keeps B the minimum of y (normalised 0): no gain from y, x gives at most 30 < 50 → infeasible
    c = bounded.combination("B", rank=2, bounds={"y": (0, 4)})
    assert c["status"].startswith("not reachable with these indicators alone: best reachable rank 3")
    assert c["best_reachable"]["rank"] == 3 and c["best_reachable"]["met"] is False and not c["reachable"]
    # y ≤ 8: δ_y ≤ 100·(8 − 5)/5 = 60; make x cheap so the LP takes x to its bound first
    c = bounded.combination("B", rank=2, bounds={"y": (0, 8)}, cost={"x": 0.001})
    p = c["plan"].set_index("indicator")
    assert p.loc["x", "required"] == pytest.approx(8.0, abs=1e-6) and bool(p.loc["x", "at_bound"])
    assert p.loc["x", "gain"] == pytest.approx(30.0, abs=1e-6)
    assert p.loc["y", "required"] == pytest.approx(6.0, abs=1e-4)  # δ_y = 20 ⇒ y = 5 + 20·5/100
    assert c["check_met"]


from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PCT = """
name: Pct
data: {path: d.csv, unit_code: unit}
framework:
  - {code: IDX}
  - {code: a, parent: IDX, bounds: [0, 100]}
  - {code: b, parent: IDX, bounds: [0, 100], weight: 2}
  - {code: c, parent: IDX, bounds: [-2.5, 2.5]}
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
"""


@settings(max_examples=int(os.environ.get('HYP_EXAMPLES', 25)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(-2.5, 2.5)), min_size=4,
                     max_size=6, unique_by=lambda r: r[0]),
       caps=st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(-2.5, 2.5)),
       goal=st.integers(1, 3))
def test_plans_never_leave_bounds(tmp_path_factory: pytest.TempPathFactory, data: list[tuple[float, float, float]],
                                  caps: tuple[float, float, float], goal: int) -> None:
    assume(all(len({r[k] for r in data}) > 1 for k in range(3)))  # min-max needs a spread
    d = tmp_path_factory.mktemp("pct")
    rows = "\n".join(f"U{i},{a!r},{b!r},{c!r}" for i, (a, b, c) in enumerate(data))
    (d / "d.csv").write_text("unit,a,b,c\n" + rows + "\n")
    (d / "s.yaml").write_text(PCT)
    w = WhatIf.from_spec(d / "s.yaml")
    last = str(w.base.ranks["IDX"].idxmax())
    extra = {"a": (None, caps[0]), "b": (0, caps[1]), "c": (None, caps[2])}
    for bounds in (None, extra):
        lims = w.value_bounds(bounds)
        t = w.single(last, rank=goal, bounds=bounds, verify=False, grid=9, rounds=2)
        for _, r in t[t["reachable"].astype(bool)].iterrows():
            lo, hi = lims[r["indicator"]]
            assert lo - 1e-9 <= r["required"] <= hi + 1e-9 or r["note"] == "already met"
        plan = w.combination(last, rank=goal, bounds=bounds)
        for _, r in plan["plan"].iterrows():
            lo, hi = lims[r["indicator"]]
            assert lo - 1e-9 <= r["required"] <= hi + 1e-9


# -- city levers, national context, whole steps (issue 17) -------------------------------------------------------

LEVERS = """
name: Levers
data: {path: d.csv, unit_code: unit, groups: [country]}
framework:
  - {code: IDX}
  - {code: x, parent: IDX, unit: count, bounds: [0, 8]}
  - {code: y, parent: IDX, unit: "% of GDP", bounds: [0, null]}
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
"""


def _levers(tmp_path: Path, rows: str, prov: str | None) -> WhatIf:
    (tmp_path / "d.csv").write_text("unit,country,x,y\n" + rows)
    (tmp_path / "s.yaml").write_text(LEVERS)
    if prov is not None:
        (tmp_path / "provenance.csv").write_text("unit,indicator,value,scope\n" + prov)
    return WhatIf.from_spec(tmp_path / "s.yaml")


HAND_ROWS = "A,KA,0,10\nB,KB,5,0\nC,KC,10,5\n"
HAND_PROV = "".join(f"{u},x,0,city\n{u},y,0,country\n" for u in "ABC")


def test_only_path_through_a_national_indicator(tmp_path: Path) -> None:
    # the hand case (A 50, B 25, C 75) with x a city count bounded by 8 and y a national value. B wants rank 2
    # (score ≥ 50): x at its bound 8 gives (80 + 0)/2 = 40 → not with its own levers; y alone needs 7.5 (see above)
    w = _levers(tmp_path, HAND_ROWS, HAND_PROV)
    assert w.has_provenance and w.levers("B") == {"x": True, "y": False}
    t = w.single("B", rank=2).set_index("indicator")
    assert bool(t.loc["x", "lever"]) and not t.loc["x", "reachable"] and t.loc["x", "limited_by"] == "upper bound"
    assert not t.loc["y", "lever"] and t.loc["y", "scope"] == "country"
    assert t.loc["y", "required"] == pytest.approx(7.5, abs=1e-4) and bool(t.loc["y", "verified"])
    assert t.loc["y", "note"].startswith("national context (country)")
    assert list(w.single("B", rank=2, include_national=False)["indicator"]) == ["x"]
    c = w.combination("B", rank=2)
    assert c["moved"] == ["x"] and c["national_context"] == ["y"]
    assert c["status"].startswith("not reachable with the city's own levers alone: best reachable rank 3")
    assert not c["reachable"] and c["plan"].empty
    # best reachable: x = 8 → A (0 + 100)/2 = 50, B (80 + 0)/2 = 40, C (100 + 50)/2 = 75: rank 3 (a full rebuild)
    assert c["best_reachable"]["rank"] == 3 and c["best_reachable"]["score"] == pytest.approx(40.0)
    assert c["best_reachable"]["values"] == {"x": 8.0} and c["best_reachable"]["met"] is False
    n = w.combination("B", rank=2, include_national=True)
    assert n["status"] == "optimal" and n["check_met"] and "y" in set(n["plan"]["indicator"])
    assert n["best_reachable"]["met"] is True


def test_national_value_moves_for_every_city_sharing_it(tmp_path: Path) -> None:
    # B and C share country K and its y = 5 (a national proxy); A is alone. Moving "the country" moves C too
    rows = "A,KA,0,10\nB,K,5,5\nC,K,10,5\nD,KD,3,0\n"
    prov = "".join(f"{u},x,0,city\n{u},y,0,country\n" for u in "ABCD")
    w = _levers(tmp_path, rows, prov)
    b = w.upos["B"]
    assert sorted(w.units[i] for i in w.movers(w.inds.index("y"), b)) == ["B", "C"]
    assert [w.units[i] for i in w.movers(w.inds.index("x"), b)] == ["B"]
    s, _ = w._full_scores({"y": 10.0}, "B")
    # y: A 10, B 10, C 10, D 0 → all three at 100; x: 0, 50, 100, 30 → B (50 + 100)/2, C (100 + 100)/2
    np.testing.assert_allclose(s, [50.0, 75.0, 100.0, 15.0])
    t = w.single("B", beat="A").set_index("indicator")
    assert "moves with the 2 cities of its country that share the national value" in t.loc["y", "note"]
    # a modelled value (national × a city covariate): C's 2.5 is half of B's 5, and stays half when the country moves
    w = _levers(tmp_path, "A,KA,0,10\nB,K,5,5\nC,K,10,2.5\nD,KD,3,0\n", prov.replace("C,y,0,country", "C,y,0,modelled"))
    rows, vals = w.moved_values(w.inds.index("y"), w.upos["B"], np.array([8.0, 10.0]))
    assert [w.units[i] for i in rows] == ["B", "C"]
    np.testing.assert_allclose(vals, [[8.0, 10.0], [4.0, 5.0]])
    s, _ = w._full_scores({"y": 10.0}, "B")  # y: A 10, B 10, C 5, D 0 → 100, 100, 50, 0
    np.testing.assert_allclose(s, [50.0, 75.0, 75.0, 15.0])


def test_no_provenance_every_indicator_is_a_lever(tmp_path: Path) -> None:
    w = _levers(tmp_path, HAND_ROWS, None)
    assert not w.has_provenance and "every indicator is treated as a city lever" in w.scope_note
    assert all(w.levers("B").values())
    t = w.single("B", rank=2)
    assert t["lever"].all() and (t["scope"] == "city").all() and t.attrs["scope_note"] == w.scope_note
    # a cell missing from a provenance table is not claimed city-level: not a lever
    w = _levers(tmp_path, HAND_ROWS, "A,x,0,city\n")
    assert w.levers("A") == {"x": True, "y": False} and w.levers("B") == {"x": False, "y": False}
    assert w.scope[w.upos["B"], 0] == "unknown"


def test_whole_steps_and_absolute_changes(tmp_path: Path) -> None:
    # y becomes a count: B's rank 2 needs y ≥ 7.5 → 8 whole units, verified, and 7 is not enough (full rebuild)
    (tmp_path / "d.csv").write_text("unit,country,x,y\n" + HAND_ROWS)
    (tmp_path / "s.yaml").write_text(LEVERS.replace('unit: "% of GDP"', "unit: count"))
    w = WhatIf.from_spec(tmp_path / "s.yaml")
    assert w.counts == {"x": True, "y": True}
    t = w.single("B", rank=2, natural_bounds=False).set_index("indicator")
    assert t.loc["y", "required"] == 8.0 and bool(t.loc["y", "whole_steps"]) and bool(t.loc["y", "verified"])
    _, met = w.goal("B", rank=2)
    assert not met(w._full_scores({"y": 7.0}, "B")[0][None])[0]
    assert t.loc["x", "required"] == 10.0  # the hand case's threshold is a whole number already
    # the plan moves counts in whole steps: need Σ ½ δ ≥ 25; x gives 10 points a step (5 → 10 at most: 50),
    # y 20 points a step (0 → 5 keeps C the max): cheapest whole plan reaches exactly 50 points
    c = w.combination("B", rank=2)
    assert c["status"] == "optimal" and c["check_met"]
    p = c["plan"]
    assert p["whole_steps"].all() and np.allclose(p["required"], np.round(p["required"]))
    assert p["gain"].sum() >= 50 - 1e-9
    # change_pct only on open ratio scales; bounded / signed scales change in absolute terms
    d = tmp_path / "pct"
    d.mkdir()
    (d / "d.csv").write_text("unit,a,b,c\nU0,10,20,-1\nU1,50,40,0.5\nU2,90,60,2\nU3,30,80,-2\n")
    (d / "s.yaml").write_text(PCT)
    t = WhatIf.from_spec(d / "s.yaml").single("U3", rank=1, verify=False).set_index("indicator")
    assert (t["change_kind"] == "absolute").all() and t["change_pct"].isna().all()


def test_count_rule() -> None:
    from types import SimpleNamespace as N

    from hubindex.store._whatif import is_count, is_ratio_scale

    assert is_count(N(unit="count", bounds=None)) and is_count(N(unit="Number of firms", bounds=None))
    ints = np.array([0.0, 3, 17])
    assert is_count(N(unit="destinations", bounds=(0, None)), ints)
    assert not is_count(N(unit="destinations", bounds=(0, None)), ints + 0.5)  # not whole numbers
    assert not is_count(N(unit="destinations", bounds=(0, 100)), ints)  # bounded above: a scale, not a count
    for u in ("% of GDP", "US$ bn", "estimate (-2.5..2.5)", "current US$", None):
        assert not is_count(N(unit=u, bounds=(0, None)), ints)
    assert is_ratio_scale(N(), (0.0, np.inf)) and not is_ratio_scale(N(), (0.0, 100.0))
    assert not is_ratio_scale(N(), (-2.5, 2.5)) and not is_ratio_scale(N(), (-np.inf, np.inf))


@pytest.fixture(scope="module")
def default_whatif() -> WhatIf:
    return WhatIf.from_spec(None)


def test_default_index_chengdu_levers(default_whatif: WhatIf) -> None:
    import pandas as pd

    from hubindex.store._whatif import SCOPE_COLUMN, load_scopes

    w = default_whatif
    assert w.has_provenance
    country = {x for x, v in w.levers("CN-CTU").items() if not v}
    prov = pd.read_csv(load_scopes(w.spec).attrs["path"])  # read independently of WhatIf
    mine = prov[(prov["unit"] == "CN-CTU") & prov["indicator"].isin(w.inds)]
    assert country == set(mine.loc[mine[SCOPE_COLUMN] != "city", "indicator"]) and country
    goal = max(1, int(w.base.ranks[w.root]["CN-CTU"]) - 30)
    c = w.combination("CN-CTU", rank=goal)
    assert set(c["moved"]).isdisjoint(country) and set(c["national_context"]) == country
    assert c["status"] == "optimal" and c["check_met"]
    assert set(c["plan"]["indicator"]).isdisjoint(country) and (c["plan"]["scope"] == "city").all()
    # whole steps for the counts in the plan
    whole = c["plan"][c["plan"]["whole_steps"].astype(bool)]
    assert len(whole) and np.allclose(whole["required"], np.round(whole["required"]))
    n = w.combination("CN-CTU", rank=goal, include_national=True)
    assert n["status"] == "optimal" and n["check_met"] and set(n["moved"]) >= country
    assert n["best_reachable"]["rank"] <= c["best_reachable"]["rank"]
    t = w.single("CN-CTU", rank=int(w.base.ranks[w.root]["CN-CTU"]) - 4)
    assert set(t.loc[~t["lever"].astype(bool), "indicator"]) == country
    assert (t.loc[t["whole_steps"].astype(bool) & t["reachable"].astype(bool), "required"] % 1 == 0).all()
    assert t.loc[t["reachable"].astype(bool), "verified"].all()


def test_single_many_equals_single(default_whatif: WhatIf) -> None:
    w = default_whatif
    ranks = w.base.ranks[w.root]
    units = [u for u in w.units if ranks[u] > 1][::15]
    many = w.single_many(units, rank=[int(ranks[u]) - 1 for u in units], verify=False)
    for u in units:
        one = w.single(u, rank=int(ranks[u]) - 1, verify=False)
        a, b = many[u], one
        assert list(a["indicator"]) == list(b["indicator"])
        np.testing.assert_allclose(a["required"].to_numpy(float), b["required"].to_numpy(float), equal_nan=True)
        # every threshold found is met in a full rebuild, and for a count one step less is not
        _, met = w.goal(u, rank=int(ranks[u]) - 1)
        for _, r in a[a["reachable"].astype(bool) & (a["change"] != 0)].iterrows():
            s, _ = w._full_scores({r["indicator"]: r["required"]}, u)
            assert met(s[None])[0], (u, r["indicator"])
            if r["whole_steps"]:
                s, _ = w._full_scores({r["indicator"]: r["required"] - r["direction"]}, u)
                assert not met(s[None])[0], (u, r["indicator"])


def test_cli_levers_and_national_context(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hubindex.cli import main

    _levers(tmp_path, HAND_ROWS, HAND_PROV)
    spec = str(tmp_path / "s.yaml")
    assert main(["what-it-takes", "B", "--rank", "2", "--spec", spec]) == 0
    out = " ".join(capsys.readouterr()[0].split())  # Rich wraps long lines
    assert "the city's own levers" in out and "national context" in out
    assert "not reachable with the city's own levers alone: best reachable rank 3" in out
    assert "best reachable rank with the city's own levers at the ends of their ranges: 3 (goal not met)" in out
    assert main(["what-it-takes", "B", "--rank", "2", "--spec", spec, "--include-national"]) == 0
    out = " ".join(capsys.readouterr()[0].split())
    assert "national values included" in out and "cheapest combination (optimal)" in out
    assert "goal met: True" in out


COUNTS = """
name: Counts
data: {path: d.csv, unit_code: unit}
framework:
  - {code: IDX}
  - {code: a, parent: IDX, unit: count, bounds: [0, null]}
  - {code: b, parent: IDX, unit: count, bounds: [0, 40], weight: 2}
  - {code: c, parent: IDX, bounds: [0, 100]}
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
"""


@settings(max_examples=int(os.environ.get('HYP_EXAMPLES', 15)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.floats(0, 100)), min_size=4, max_size=6),
       goal=st.integers(1, 3))
def test_counts_move_in_whole_steps(tmp_path_factory: pytest.TempPathFactory, data: list[tuple[int, int, float]],
                                    goal: int) -> None:
    """Invariant: a count's answer is a whole number that meets the goal in a full rebuild while the whole number
    before it does not; the plan's counts are whole numbers within their bounds."""
    assume(all(len({r[k] for r in data}) > 1 for k in range(3)))
    d = tmp_path_factory.mktemp("counts")
    (d / "d.csv").write_text("unit,a,b,c\n" + "\n".join(f"U{i},{a},{b},{c!r}" for i, (a, b, c) in enumerate(data)))
    (d / "s.yaml").write_text(COUNTS)
    w = WhatIf.from_spec(d / "s.yaml")
    assert w.counts == {"a": True, "b": True, "c": False}
    last = str(w.base.ranks["IDX"].idxmax())
    _, met = w.goal(last, rank=goal)
    t = w.single(last, rank=goal, verify=False)
    for _, r in t[t["reachable"].astype(bool) & t["whole_steps"].astype(bool)].iterrows():
        assert r["required"] == round(r["required"])
        assert met(w._full_scores({r["indicator"]: r["required"]}, last)[0][None])[0]
        if r["change"] != 0:  # (a value the engine cannot build, e.g. a constant column, reaches nothing)
            assert not met(w._full_or_nan({r["indicator"]: r["required"] - 1}, w.upos[last])[None])[0]
    plan = w.combination(last, rank=goal)
    for _, r in plan["plan"].iterrows():
        if r["whole_steps"]:
            assert r["required"] == round(r["required"]) and 0 <= r["required"] <= (40 if r["indicator"] == "b"
                                                                                   else np.inf)
