"""diff / summary / history identities, and the Shapley decomposition: contributions add up to every change,
a hand case, the subset formula equals the average over orders, method change vs data change."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from store_sim import SPEC, year_spec

import hubindex
from hubindex.engine.pipeline import run
from hubindex.io import load_data
from hubindex.store import EditionStore, diff, explain, history, method_vs_data, summary
from hubindex.store._explain import shapley_exact
from hubindex.store.editions import backcast


def test_diff_identities(sim_store: EditionStore) -> None:
    d = diff("2021", "2022", store=sim_store)
    both = d[d["status"].isin(["up", "down", "unchanged"])]
    np.testing.assert_allclose(both["rank_change"], both["rank_a"] - both["rank_b"])
    np.testing.assert_allclose(both["score_change"], both["score_b"] - both["score_a"])
    assert (d.loc[d["status"] == "up", "rank_change"] > 0).all()
    assert d.loc[d["status"] == "entry", "unit"].tolist() == ["L12"]
    s = summary("2021", "2022", store=sim_store)
    assert s["up"] + s["down"] + s["unchanged"] == len(both) == s["n_a"] - len(s["exits"])
    assert s["entries"] == ["L12"] and s["exits"] == []
    assert summary("2022", "2023", store=sim_store)["exits"] == ["L11"]
    e = sim_store.get("2022")
    top = e.units.sort_values("rank")["score"].to_numpy()
    assert s["gap_1_10_b"] == pytest.approx(top[0] - top[9])
    g = s["by_group"]
    assert s["group"] == "region" and set(g.index) == {"North", "South", "East"}
    assert g["n_b"].sum() == s["n_b"]
    assert set(s["by_tier"].index) == {"Global", "Regional", "Emerging"}
    h = history(sim_store, "L12")
    assert list(h["present"]) == [False, True, True]
    h = sim_store.history("L01")
    assert list(h["label"]) == ["2021", "2022", "2023"]
    assert h["rank_change"].iloc[1] == h["rank"].iloc[0] - h["rank"].iloc[1]


@pytest.mark.parametrize(("a", "b"), [("2021", "2022"), ("2022", "2023")])
def test_shapley_adds_up_exactly(sim_store: EditionStore, a: str, b: str) -> None:
    ex = explain(a, b, store=sim_store)
    assert ex.method == "exact"
    assert set(ex.factors) == {"a", "b", "c", "d", "coverage"}  # entries / exits in both pairs
    assert ex.reproduction_error < 1e-9
    assert np.abs(ex.score["residual"]).max() < 1e-9
    assert np.abs(ex.rank["residual"]).max() < 1e-9
    assert (ex.stderr.to_numpy() == 0).all()
    da, db = sim_store.get(a), sim_store.get(b)
    common = ex.score.index
    np.testing.assert_allclose(ex.score["total"], db.units["score"].reindex(common) - da.units["score"].reindex(common))


def test_sampled_orders_still_add_up(sim_store: EditionStore) -> None:
    ex = explain("2021", "2022", store=sim_store, groups="indicator", max_exact=2, n_orders=8, seed=1)
    assert ex.method.startswith("sampled")
    assert np.abs(ex.score["residual"]).max() < 1e-9
    assert (ex.stderr.to_numpy() >= 0).all() and np.isfinite(ex.stderr.to_numpy()).all()
    exact = explain("2021", "2022", store=sim_store)
    diffz = (ex.score[exact.factors] - exact.score[exact.factors]).abs()
    assert (diffz.to_numpy() <= 6 * ex.stderr[exact.factors].to_numpy() + 1e-9).all()


def test_pillar_groups(sim_store: EditionStore) -> None:
    ex = explain("2021", "2022", store=sim_store, groups="pillar")
    assert set(ex.factors) == {"P1", "P2", "coverage"}
    assert ex.factor_indicators["P1"] == ["a", "b"]
    assert np.abs(ex.score["residual"]).max() < 1e-9


def test_subset_formula_equals_average_over_orders() -> None:
    rng = np.random.default_rng(0)
    n = 4
    v = rng.normal(size=(1 << n, 3))
    phi = shapley_exact(v)
    avg = np.zeros((n, 3))
    for order in itertools.permutations(range(n)):
        m = 0
        for i in order:
            avg[i] += v[m | 1 << i] - v[m]
            m |= 1 << i
    np.testing.assert_allclose(phi, avg / math.factorial(n), atol=1e-12)
    np.testing.assert_allclose(phi.sum(0), v[-1] - v[0], atol=1e-12)


HAND = """
name: Hand
data: {path: A.csv, unit_code: unit}
framework:
  - {code: IDX}
  - {code: x, parent: IDX}
  - {code: y, parent: IDX}
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
"""


def test_hand_case(tmp_path: Path) -> None:
    # A: x = 0, 5, 10 ; y = 0, 10, 20  ->  U2 = (50 + 50)/2 = 50
    # B: x changes for U2 only (5 -> 10, new max shared with U3); y changes for U3 only (20 -> 40)
    (tmp_path / "A.csv").write_text("unit,x,y\nU1,0,0\nU2,5,10\nU3,10,20\n")
    (tmp_path / "B.csv").write_text("unit,x,y\nU1,0,0\nU2,10,10\nU3,10,40\n")
    (tmp_path / "s.yaml").write_text(HAND)
    spec = hubindex.load_spec(tmp_path / "s.yaml")
    st = EditionStore(tmp_path / "e.duckdb")
    for lab in ("A", "B"):
        s = spec.model_copy(update={"data": spec.data.model_copy(update={"path": str(tmp_path / f"{lab}.csv")})})
        data, _ = load_data(s)
        st.publish(run(s, data), lab, data=data)
    # U2: v(∅) = 50 ; v({x}) = (100 + 50)/2 = 75 ; v({y}) = (50 + 25)/2 = 37.5 ; v({x,y}) = (100 + 25)/2 = 62.5
    # φ_x = ½(75 − 50) + ½(62.5 − 37.5) = 25 ; φ_y = ½(37.5 − 50) + ½(62.5 − 75) = −12.5 ; total 12.5
    ex = explain("A", "B", store=st)
    assert ex.factors == ["x", "y"]
    assert ex.score.loc["U2", "x"] == pytest.approx(25.0, abs=1e-12)
    assert ex.score.loc["U2", "y"] == pytest.approx(-12.5, abs=1e-12)
    assert ex.score.loc["U2", "total"] == pytest.approx(12.5, abs=1e-12)
    # U3: v(∅)=100, v({x})=(100+100)/2=100, v({y})=100, v(N)=100 -> no change at all
    assert ex.score.loc["U3", ["x", "y"]].abs().max() < 1e-12
    # ranks: A: U3 1, U2 2, U1 3 ; B: U2 62.5, U3 100 -> unchanged order
    assert (ex.rank["total"] == 0).all()
    t = ex.for_unit("U2")
    assert list(t["factor"]) == ["x", "y"]


def test_method_change_and_backcast(sim_dir: Path, tmp_path: Path) -> None:
    st = EditionStore(tmp_path / "m.duckdb")
    s1 = year_spec(sim_dir, 2021)
    d1, _ = load_data(s1)
    st.publish(run(s1, d1), "old", data=d1)
    # the new edition: new data and a new method (pillar two weighs 3)
    (tmp_path / "spec2.yaml").write_text(SPEC.replace("{code: P2, name: Pillar two, parent: IDX, weight: 1}",
                                                      "{code: P2, name: Pillar two, parent: IDX, weight: 3}"))
    s2 = hubindex.load_spec(tmp_path / "spec2.yaml")
    s2 = s2.model_copy(update={"data": s2.data.model_copy(update={"path": str(sim_dir / "y2021.csv")})})
    d2, _ = load_data(year_spec(sim_dir, 2021))
    st.publish(run(s2, d2), "new-method", data=d2)
    ex = explain("old", "new-method", store=st)
    assert ex.factors == ["method"]  # same data: all of the change is the method
    np.testing.assert_allclose(ex.score["method"], ex.score["total"], atol=1e-12)
    mv = method_vs_data(st, "old", "new-method")
    np.testing.assert_allclose(mv["method_effect"] + mv["data_effect"], mv["total"], atol=1e-12)
    np.testing.assert_allclose(mv["data_effect"], 0, atol=1e-12)
    bc = backcast(st, "old", s2, publish=True)
    assert bc.kind == "backcast" and bc.meta["based_on"] == "old@1" and bc.label == "old-backcast"
    np.testing.assert_allclose(bc.units["score"].to_numpy(),
                               st.get("new-method").units["score"].reindex(bc.units.index).to_numpy(), atol=1e-12)
    ex2 = explain("2021" if "2021" in st else "old", "new-method", store=st)
    ov = ex2.overtakes(ex2.score.index[0])
    assert {"how", "main_factor"} <= set(ov.columns) or ov.empty
