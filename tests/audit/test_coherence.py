"""Coherence statistics against hand values and independent computations (scipy, pandas, numpy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from hubindex import build
from hubindex.audit.coherence import (
    Thresholds,
    coherence,
    correlations,
    cronbach_alpha,
    indicator_stats,
    pca_by_group,
    unit_availability,
)


def test_indicator_stats_hand_values() -> None:
    X = pd.DataFrame({"a": [0.0, 0.0, 1.0, 2.0, np.nan], "b": [1.0, 2.0, 3.0, 4.0, 100.0],
                      "c": [5.0, 5.0, 5.0, 5.0, 5.0]})
    s = indicator_stats(X)
    a = s.loc["a"]
    assert a["n"] == 4 and a["availability"] == pytest.approx(0.8)
    assert (a["min"], a["max"], a["mean"], a["median"]) == (0, 2, 0.75, 0.5)
    assert a["sd"] == pytest.approx(np.std([0, 0, 1, 2], ddof=1))
    assert a["zero_share"] == 0.5 and a["n_unique"] == 3 and a["unique_share"] == 0.75
    assert not a["flag_zeros"]  # 0.5 is not > 0.5
    b = s.loc["b"]
    assert b["skew"] == pytest.approx(sps.skew([1, 2, 3, 4, 100], bias=False))
    assert b["kurtosis"] == pytest.approx(sps.kurtosis([1, 2, 3, 4, 100], bias=False))
    assert b["skew"] > 2 and b["kurtosis"] > 3.5 and b["flag_skew_kurt"]
    c = s.loc["c"]  # zero variance: moments undefined, one unique value
    assert np.isnan(c["skew"]) and np.isnan(c["kurtosis"]) and c["sd"] == 0
    assert c["flag_unique"] and not c["flag_skew_kurt"]
    s2 = indicator_stats(X, Thresholds(availability=0.9, zeros=0.4))
    assert s2.loc["a", "flag_availability"] and s2.loc["a", "flag_zeros"] and not s2.loc["b", "flag_availability"]


def test_skew_kurt_flag_boundary_is_strict_as_coinr_get_stats() -> None:
    """COINr's get_stats (R/stats.R): Flag.SkewKurt = "OUT" iff (abs(sk) > t_skew) & (kt > t_kurt), both strict.
    (Treat's check_SkewKurt fails at >=, a different COINr function: the engine follows that one, see
    tests/engine/test_treat.py.) With the thresholds set to the column's own skew and kurtosis, the flag is off;
    one ulp lower on either, still off (the other is equal); one ulp lower on both, on."""
    x = pd.DataFrame({"b": [1.0, 2.0, 3.0, 4.0, 100.0], "n": [-100.0, 1.0, 2.0, 3.0, 4.0]})
    s0 = indicator_stats(x)
    for col in ("b", "n"):  # positive and negative skew
        sk, ku = abs(float(s0.loc[col, "skew"])), float(s0.loc[col, "kurtosis"])
        below_s, below_k = np.nextafter(sk, 0), np.nextafter(ku, 0)
        flag = {(ts, tk): bool(indicator_stats(x, Thresholds(skew=ts, kurt=tk)).loc[col, "flag_skew_kurt"])
                for ts in (sk, below_s) for tk in (ku, below_k)}
        assert flag == {(sk, ku): False, (below_s, ku): False, (sk, below_k): False, (below_s, below_k): True}


def test_indicator_stats_equal_coinr_get_stats_on_asem() -> None:
    """COINr's own get_stats(coin, dset = "Raw", nsignif = NULL) table (tests/data/coinr_reference): every statistic
    and every flag of indicator_stats on the raw ASEM data."""
    from pathlib import Path

    ref = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "coinr_reference" / "simple_raw_stats.csv",
                      keep_default_na=False).set_index("iCode")
    raw = build(Path(__file__).resolve().parents[2] / "examples" / "asem" / "default.yaml").datasets["Raw"]
    s = indicator_stats(raw).loc[ref.index]
    for theirs, ours in [("Min", "min"), ("Max", "max"), ("Mean", "mean"), ("Median", "median"), ("Std", "sd"),
                         ("Skew", "skew"), ("Kurt", "kurtosis"), ("N.Avail", "n"), ("Frc.Avail", "availability"),
                         ("N.Unique", "n_unique"), ("Frc.Unique", "unique_share")]:
        np.testing.assert_allclose(s[ours].to_numpy(float), ref[theirs].to_numpy(float), rtol=1e-12, atol=1e-12,
                                   err_msg=theirs)
    np.testing.assert_allclose(1 - s["zero_share"].to_numpy(float), ref["Frc.NonZero"].to_numpy(float), atol=1e-12)
    for theirs, ours, bad in [("Flag.Avail", "flag_availability", "LOW"), ("Flag.NonZero", "flag_zeros", "LOW"),
                              ("Flag.Unique", "flag_unique", "LOW"), ("Flag.SkewKurt", "flag_skew_kurt", "OUT")]:
        np.testing.assert_array_equal(s[ours].to_numpy(bool), (ref[theirs] == bad).to_numpy(), err_msg=theirs)
    assert (ref["Flag.SkewKurt"] == "OUT").sum() == 18 and (ref["Flag.Unique"] == "LOW").sum() == 5


def test_unit_availability() -> None:
    X = pd.DataFrame({"a": [1.0, np.nan, 0.0], "b": [2.0, np.nan, 0.0], "c": [np.nan, 1.0, 3.0]},
                     index=["u1", "u2", "u3"])
    u = unit_availability(X)
    assert u["n_available"].tolist() == [2, 1, 3]
    assert u["availability"].tolist() == pytest.approx([2 / 3, 1 / 3, 1.0])
    assert u.loc["u3", "zero_share"] == pytest.approx(2 / 3)
    assert u["flag_availability"].tolist() == [False, True, False]


def test_cronbach_alpha_hand_and_matrix_form() -> None:
    # hand: items (1,2,3), (1,3,2), (2,3,4): item variances 1, 1, 1; totals 4, 8, 9 -> var 7
    C = np.array([[1, 1, 2], [2, 3, 3], [3, 2, 4]], dtype=float)
    assert cronbach_alpha(C) == pytest.approx(1.5 * (1 - 3 / 7))
    rng = np.random.default_rng(1)
    D = rng.normal(size=(40, 5)) + rng.normal(size=(40, 1))
    S = np.cov(D, rowvar=False)
    assert cronbach_alpha(D) == pytest.approx(5 / 4 * (1 - np.trace(S) / S.sum()))
    D[3, 2] = np.nan  # complete cases only
    S = np.cov(np.delete(D, 3, axis=0), rowvar=False)
    assert cronbach_alpha(D) == pytest.approx(5 / 4 * (1 - np.trace(S) / S.sum()))
    assert np.isnan(cronbach_alpha(D[:, :1])) and np.isnan(cronbach_alpha(np.ones((5, 3))))


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(0, 10_000))
def test_alpha_at_most_one_and_one_for_identical_items(k: int, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=(12, 1))
    assert cronbach_alpha(np.repeat(x, k, axis=1)) == pytest.approx(1.0)
    D = np.random.default_rng(seed).normal(size=(12, k))
    assert cronbach_alpha(D) <= 1.0 + 1e-12


@pytest.fixture(scope="module")
def asem(asem_dir):  # type: ignore[no-untyped-def]
    return build(asem_dir / "default.yaml")


def test_correlations_match_pandas_and_scipy(asem) -> None:  # type: ignore[no-untyped-def]
    fw, sc = asem.framework, asem.scores
    df = correlations(sc, fw)
    row = df[(df.var1 == "LPI") & (df.var2 == "Flights")].iloc[0] if ((df.var1 == "LPI") & (df.var2 == "Flights")).any() \
        else df[(df.var1 == "Flights") & (df.var2 == "LPI")].iloc[0]
    ok = sc[["LPI", "Flights"]].dropna()
    assert row["pearson"] == pytest.approx(sps.pearsonr(ok["LPI"], ok["Flights"])[0])
    assert row["spearman"] == pytest.approx(sps.spearmanr(ok["LPI"], ok["Flights"])[0])
    assert row["n"] == len(ok) and row["kind"] == "within"
    # every indicator is paired with each ancestor, e.g. LPI with its pillar, sub-index and Index
    anc = df[(df.var1 == "LPI") & (df.kind == "across")]["var2"].tolist()
    assert anc == list(fw.ancestors("LPI"))
    # flags follow the definitions
    assert (df["collinear"] == ((df["same_group"] | (df["kind"] == "across")) & (df["pearson"] > 0.9))).all()
    assert (df["negative"] == (df["same_group"] & (df["pearson"] < 0))).all()
    assert df["negative"].any()  # ASEM has negatively correlated siblings


def test_correlation_flags_on_constructed_tree() -> None:
    from types import SimpleNamespace

    from hubindex.engine.framework import Framework

    nodes = [SimpleNamespace(code=c, name=c, parent=p, level=None, weight=1.0, direction=1) for c, p in
             [("I", None), ("P", "I"), ("a", "P"), ("b", "P"), ("c", "P")]]
    fw = Framework.from_nodes(nodes)
    x = np.arange(10.0)
    sc = pd.DataFrame({"I": x, "P": x, "a": x, "b": x + np.sin(x) * 0.01, "c": -x})
    df = correlations(sc, fw).set_index(["var1", "var2"])
    assert df.loc[("a", "b"), "collinear"] and df.loc[("a", "c"), "negative"]
    assert not df.loc[("a", "c"), "collinear"] and df.loc[("a", "c"), "group"] == "P"
    # a pair is listed once, descendant first: (P, I) is there, (I, P) is not
    assert ("I", "P") not in df.index
    assert df.loc[("P", "I"), "kind"] == "across" and df.loc[("P", "I"), "collinear"]


def test_pca_matches_eigendecomposition(asem) -> None:  # type: ignore[no-untyped-def]
    fw, sc = asem.framework, asem.scores
    summary, loads = pca_by_group(sc, fw)
    for g in ["ConEcFin", "Conn"]:
        C = sc[list(fw.children(g))].dropna()
        lam, vec = np.linalg.eigh(np.corrcoef(C.to_numpy(), rowvar=False))
        assert summary.loc[g, "pc1_var_explained"] == pytest.approx(lam[-1] / lam.sum())
        v = vec[:, -1] * np.sign(vec[:, -1].sum())
        got = loads[loads.group == g]["pc1_loading"].to_numpy()
        assert got == pytest.approx(v, abs=1e-8)


def test_pca_sign_rule_with_mixed_loadings() -> None:
    """Loadings are signed so that they sum to >= 0, also when that sum is below 1: children a, b = −a and c ≈ a, whose
    PC1 is ±(1, −1, 1)/√3 (sum ±0.577; scikit-learn's own sign gives +0.577 here, so a rule that flipped sums
    below 1 instead of below 0 would be caught)."""
    from types import SimpleNamespace

    from hubindex.engine.framework import Framework

    nodes = [SimpleNamespace(code=c, name=c, parent=p, level=None, weight=1.0, direction=1) for c, p in
             [("I", None), ("a", "I"), ("b", "I"), ("c", "I")]]
    x = np.sin(np.arange(30.0))
    sc = pd.DataFrame({"I": x, "a": x, "b": -x, "c": x + 0.01 * np.cos(np.arange(30.0))})
    _, loads = pca_by_group(sc, Framework.from_nodes(nodes))
    v = loads.set_index("child")["pc1_loading"]
    assert 0 < v.sum() < 1
    assert v.to_numpy() == pytest.approx(np.array([1, -1, 1]) / np.sqrt(3), abs=1e-3)


def test_cronbach_alpha_edges() -> None:
    # two complete rows are enough: items (1, 2), (2, 4): variances 0.5, 2; totals 3, 6 -> var 4.5
    assert cronbach_alpha(np.array([[1.0, 2.0], [2.0, 4.0]])) == pytest.approx(2 * (1 - 2.5 / 4.5))
    assert np.isnan(cronbach_alpha(np.array([[1.0, 2.0]])))  # one row
    # zero variance of the totals (items that cancel): undefined, NaN (not ±inf)
    assert np.isnan(cronbach_alpha(np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])))


def test_coherence_report_and_write(asem, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rep = coherence(asem)
    assert rep.stats.shape[0] == 49 and rep.unit_availability.shape[0] == 51
    # COINr flags 18 of the 49 raw ASEM indicators for skew and kurtosis (its default treatment report)
    assert int(rep.stats["flag_skew_kurt"].sum()) == 18
    g = "ConEcFin"
    assert rep.alpha[g] == pytest.approx(cronbach_alpha(asem.scores[list(asem.framework.children(g))]))
    files = rep.write(tmp_path / "coh")
    assert sorted(p.name for p in (tmp_path / "coh").iterdir()) == sorted([*files, ".hubindex-manifest.json"])
    back = pd.read_csv(tmp_path / "coh" / "stats.csv", index_col=0)
    assert back.loc["LPI", "mean"] == pytest.approx(rep.stats.loc["LPI", "mean"])
    assert set(rep.flags["flag"]) >= {"skew_kurt", "negative"}
