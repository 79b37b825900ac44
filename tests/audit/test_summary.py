"""hubindex.audit.summary against the underlying analyses and independent computations (numpy, scipy), on ASEM,
the default fintech index and a hand-made tiny index."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from hubindex import build
from hubindex.audit import AuditSummary, summary
from hubindex.audit.coherence import Thresholds, indicator_stats
from hubindex.audit.sensitivity import sensitivity
from hubindex.audit.uncertainty import uncertainty
from hubindex.errors import SpecError


def _alpha(C: np.ndarray) -> float:
    """Cronbach's α in its covariance-matrix form k/(k − 1)·(1 − tr Σ / 1ᵀΣ1), complete cases."""
    C = C[~np.isnan(C).any(1)]
    S = np.cov(C, rowvar=False)
    k = C.shape[1]
    return float(k / (k - 1) * (1 - np.trace(S) / S.sum()))


def _pc1(C: np.ndarray) -> float:
    """λ₁/Σλ of the correlation matrix of the complete cases."""
    C = C[~np.isnan(C).any(1)]
    ev = np.linalg.eigvalsh(np.corrcoef(C, rowvar=False))
    return float(ev[-1] / ev.sum())


def check_coherence(res, s: AuditSummary) -> None:  # type: ignore[no-untyped-def]
    """Every coherence highlight recomputed independently from the result's tables."""
    fw, raw, sc = res.framework, res.datasets["Raw"], res.scores
    ind = s.indicators.set_index("indicator")
    assert list(ind.index) == list(raw.columns)
    for code in raw.columns:
        x = raw[code].dropna().to_numpy(float)
        r = ind.loc[code]
        assert r["n"] == len(x) and r["availability"] == pytest.approx(len(x) / len(raw))
        assert r["parent"] == fw.parent_of(code)
        if np.ptp(x) > 0 and len(x) > 3:
            sk, ku = sps.skew(x, bias=False), sps.kurtosis(x, bias=False)
            assert r["skew"] == pytest.approx(sk) and r["kurtosis"] == pytest.approx(ku)
            # strict, as COINr's get_stats (R/stats.R: (abs(sk) > t_skew) & (kt > t_kurt)); the exact boundary is
            # pinned in test_coherence.py (Treat's check_SkewKurt, a different function, treats at >=)
            assert r["flag_skew_kurt"] == (abs(sk) > 2 and ku > 3.5)
        assert r["flag_zeros"] == (np.mean(x == 0) > 0.5)
        assert r["flag_availability"] == (len(x) / len(raw) < 0.65)
        expect = [f for f in ("skew_kurt", "availability", "zeros", "unique") if r[f"flag_{f}"]]
        assert r["flags"] == expect
    assert set(s.flagged_indicators["indicator"]) == {c for c in ind.index if ind.loc[c, "flags"]}

    # correlation flags: every sibling pair, Pearson on pairwise-complete cases (scipy)
    want = set()
    for g in fw.aggregates:
        kids = [k for k in fw.children(g) if k in sc.columns]
        for i, a in enumerate(kids):
            for b in kids[i + 1:]:
                ok = sc[[a, b]].dropna()
                if len(ok) < 3 or ok[a].std() == 0 or ok[b].std() == 0:
                    continue
                r = sps.pearsonr(ok[a], ok[b])[0]
                if r > 0.9:
                    want.add((g, a, b, "collinear"))
                elif r < 0:
                    want.add((g, a, b, "negative"))
    got = {(r.group, r.var1, r.var2, r.flag) for r in s.correlation_flags.itertuples()}
    assert got == want
    for r in s.correlation_flags.itertuples():
        ok = sc[[r.var1, r.var2]].dropna()
        assert r.pearson == pytest.approx(sps.pearsonr(ok[r.var1], ok[r.var2])[0])
        assert r.spearman == pytest.approx(sps.spearmanr(ok[r.var1], ok[r.var2])[0])

    # PC1 and alpha per aggregate
    gr = s.groups.set_index("group")
    assert list(gr.index) == list(fw.aggregates)
    for g in fw.aggregates:
        C = sc[list(fw.children(g))].to_numpy(float)
        if C.shape[1] < 2:
            assert math.isnan(gr.loc[g, "cronbach_alpha"]) and math.isnan(gr.loc[g, "pc1_var_explained"])
            assert not gr.loc[g, "flag_alpha"]
            continue
        a = _alpha(C)
        assert gr.loc[g, "cronbach_alpha"] == pytest.approx(a)
        assert gr.loc[g, "pc1_var_explained"] == pytest.approx(_pc1(C))
        assert gr.loc[g, "flag_alpha"] == (a < 0.7)
    c = s.counts()
    assert c["collinear"] + c["negative"] == len(s.correlation_flags)
    assert c["low_alpha"] == int(gr["flag_alpha"].sum())


def check_json(s: AuditSummary) -> dict:  # type: ignore[type-arg]
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)  # NaN → null, NumPy → Python
    back = json.loads(text)
    assert back["counts"] == s.counts()
    assert len(back["indicators"]) == len(s.indicators)
    for rec, (_, row) in zip(back["indicators"], s.indicators.iterrows(), strict=True):
        assert rec["indicator"] == row["indicator"] and rec["flags"] == row["flags"]
        assert rec["skew"] is None if pd.isna(row["skew"]) else rec["skew"] == pytest.approx(row["skew"])
    return back


@pytest.fixture(scope="module")
def asem(asem_dir):  # type: ignore[no-untyped-def]
    return build(asem_dir / "default.yaml")


@pytest.fixture(scope="module")
def asem_sa_spec(asem_dir):  # type: ignore[no-untyped-def]
    return asem_dir / "sensitivity.yaml"


def test_asem_coherence_only(asem) -> None:  # type: ignore[no-untyped-def]
    s = summary(asem)
    assert s.rank_intervals is None and s.sobol is None
    check_coherence(asem, s)
    d = check_json(s)
    assert d["rank_intervals"] is None and d["sobol"] is None and d["uncertainty"] is None
    # ASEM has skewed indicators and negatively correlated siblings (the COINr vignette's findings)
    assert s.counts()["skew_kurt"] > 0 and s.counts()["negative"] > 0
    assert d["thresholds"] == {"skew": 2.0, "kurt": 3.5, "availability": 0.65, "zeros": 0.5, "unique": 0.5,
                               "collinear": 0.9, "negative": 0.0, "alpha": 0.7}


def test_asem_with_uncertainty_and_sobol(asem_dir) -> None:  # type: ignore[no-untyped-def]
    res = build(asem_dir / "sensitivity.yaml")
    u = uncertainty(res.spec, n=200, seed=3)
    sa = sensitivity(res.spec, n=64, seed=1, n_boot=200)
    s = summary(res, u, sa)
    check_coherence(res, s)
    ri = s.rank_intervals.set_index("unit")
    direct = u.summary()
    assert set(ri.index) == set(direct.index)
    for col in ("nominal_rank", "rank_median", "rank_p05", "rank_p95", "score_p05", "score_p95"):
        assert ri[col].to_numpy() == pytest.approx(direct.loc[ri.index, col].to_numpy(), nan_ok=True)
    # independent: percentiles of the replication ranks (numpy linear = R type 7)
    j = list(u.units).index(ri.index[0])
    assert ri.iloc[0]["rank_p95"] == pytest.approx(np.percentile(u.ranks[:, j], 95))
    assert (ri["rank_width"] == ri["rank_p95"] - ri["rank_p05"]).all() and (ri["rank_width"] >= 0).all()
    assert ri["nominal_rank"].is_monotonic_increasing
    sob = s.sobol.set_index("factor")
    pd.testing.assert_frame_equal(sob, sa.indices, check_names=False)
    assert list(sob.index) == ["treat", "normalise", "aggregate", "weights"]
    d = check_json(s)
    assert d["uncertainty"] == {"n": 200, "seed": 3, "target": "Index", "keep": "all", "score_quantile_error": 0.0}
    assert d["sensitivity"]["N"] == 64 and d["sensitivity"]["runs"] == 64 * 6
    assert d["sobol"][0]["ST"] == pytest.approx(sa.indices["ST"].iloc[0])


def test_default_fintech_index() -> None:
    res = build(None)
    u = uncertainty(res.spec, n=100, seed=0)
    sa = sensitivity(res.spec, n=32, seed=0, n_boot=100)
    s = summary(res, uncertainty=u, sensitivity=sa)
    check_coherence(res, s)
    d = check_json(s)
    assert len(d["rank_intervals"]) == len(res.units) and d["uncertainty"]["target"] == res.index_code
    assert [r["factor"] for r in d["sobol"]] == list(sa.factors)
    one_child = [g for g in res.framework.aggregates if len(res.framework.children(g)) == 1]
    by = {g["group"]: g for g in d["groups"]}
    assert all(by[g]["cronbach_alpha"] is None and by[g]["pc1_var_explained"] is None for g in one_child)


def test_tiny_index_hand_values(tmp_path: Path) -> None:
    """A hand-made index: b = 10·a (collinear siblings), d falls as c rises (negative siblings), e is mostly
    zeros, a pillar with one child (no PCA/α), and unit U6 has 2 of 5 indicators (availability 0.4 < 0.65)."""
    (tmp_path / "d.csv").write_text(
        "code,name,a,b,c,d,e\n"
        "U1,One,1,10,1,9,0\n"
        "U2,Two,2,20,3,8,0\n"
        "U3,Three,3,30,2,6,0\n"
        "U4,Four,4,40,5,5,0\n"
        "U5,Five,5,50,4,1,7\n"
        "U6,Six,6,,,,1\n")
    (tmp_path / "s.yaml").write_text(
        "name: T\ndata: {path: d.csv, unit_code: code, unit_name: name}\n"
        "framework:\n  - {code: I}\n  - {code: P1, parent: I}\n  - {code: P2, parent: I}\n"
        "  - {code: P3, parent: I}\n  - {code: a, parent: P1}\n  - {code: b, parent: P1}\n"
        "  - {code: c, parent: P2}\n  - {code: d, parent: P2}\n  - {code: e, parent: P3}\n"
        "pipeline:\n  - {step: normalise, method: min_max, l: 0, u: 100}\n  - {step: aggregate, method: arithmetic}\n")
    res = build(tmp_path / "s.yaml")
    s = summary(res)
    check_coherence(res, s)
    flags = {(r.var1, r.var2): r.flag for r in s.correlation_flags.itertuples() if r.group != "I"}
    assert flags == {("a", "b"): "collinear", ("c", "d"): "negative"}
    cd = s.correlation_flags.set_index(["var1", "var2"]).loc[("c", "d")]
    assert cd["n"] == 5 and cd["pearson"] == pytest.approx(np.corrcoef([1, 3, 2, 5, 4], [9, 8, 6, 5, 1])[0, 1])
    ind = s.indicators.set_index("indicator")
    assert ind.loc["e", "zero_share"] == pytest.approx(4 / 6) and "zeros" in ind.loc["e", "flags"]
    assert ind.loc["b", "availability"] == pytest.approx(5 / 6) and ind.loc["b", "flags"] == []
    assert s.units_low_availability["unit"].tolist() == ["U6"]
    assert s.units_low_availability["availability"].iloc[0] == pytest.approx(0.4)
    g = s.groups.set_index("group")
    # on U1–U5 the normalised b is 1.25 × the normalised a (a is scaled over six units, b over five):
    # α = 2·(1 − (1 + 1.25²)/(1 + 1.25)²)
    assert g.loc["P1", "cronbach_alpha"] == pytest.approx(2 * (1 - (1 + 1.25**2) / 2.25**2))
    assert g.loc["P1", "pc1_var_explained"] == pytest.approx(1.0) and not g.loc["P1", "flag_alpha"]
    assert math.isnan(g.loc["P3", "cronbach_alpha"]) and not g.loc["P3", "flag_alpha"]
    d = check_json(s)
    assert {x["group"]: x["cronbach_alpha"] for x in d["groups"]}["P3"] is None
    s2 = summary(res, thresholds=Thresholds(availability=0.3, zeros=0.7), alpha_min=1.5)
    assert s2.units_low_availability.empty and "zeros" not in s2.indicators.set_index("indicator").loc["e", "flags"]
    assert s2.groups["flag_alpha"].sum() == s2.groups["cronbach_alpha"].notna().sum()  # α ≤ 1 < 1.5
    # zero variance: moments undefined (null in JSON), never flagged skewed
    assert math.isnan(indicator_stats(pd.DataFrame({"z": [3.0] * 5})).loc["z", "skew"])


def test_interval_table_and_errors(asem) -> None:  # type: ignore[no-untyped-def]
    units = [str(u) for u in asem.scores.index[:3]]
    t = pd.DataFrame({"nominal_rank": [2.0, 1.0, 3.0], "rank_median": [2.0, 1.0, 3.0], "rank_p05": [1.0, 1.0, 2.0],
                      "rank_p95": [4.0, 1.0, 3.5]}, index=units)
    t.attrs = {"n": 7, "seed": 1}
    s = summary(asem, uncertainty=t)
    assert s.rank_intervals["unit"].tolist() == [units[1], units[0], units[2]]  # by nominal rank
    assert s.rank_intervals["rank_width"].tolist() == [0.0, 3.0, 1.5]
    assert s.rank_intervals["name"].tolist() == asem.unit_names.reindex([units[1], units[0], units[2]]).tolist()
    assert s.uncertainty_info == {"n": 7, "seed": 1}
    with pytest.raises(SpecError, match="rank_p95"):
        summary(asem, uncertainty=t.drop(columns="rank_p95"))
    with pytest.raises(SpecError, match="UncertaintyResult"):
        summary(asem, uncertainty=[1, 2])
    with pytest.raises(SpecError, match="unknown table 'foo'"):
        s.table("foo")
    assert s.table("sobol") is None and s.table("rank_intervals") is s.rank_intervals


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.floats(0, 10), st.floats(0, 10)), min_size=1, max_size=12))
def test_interval_width_and_order_property(rows) -> None:  # type: ignore[no-untyped-def]
    """For any interval table: width = p95 − p05 ≥ 0 and rows come out ordered by nominal rank."""
    from hubindex.audit._summary import _intervals

    lo = [min(a, b) for _, a, b in rows]
    hi = [max(a, b) for _, a, b in rows]
    t = pd.DataFrame({"nominal_rank": [float(r) for r, _, _ in rows], "rank_median": lo, "rank_p05": lo,
                      "rank_p95": hi}, index=[f"u{i}" for i in range(len(rows))])
    out, _ = _intervals(t, pd.Series(dtype=object))
    assert (out["rank_width"] >= 0).all()
    assert out["rank_width"].to_numpy() == pytest.approx(out["rank_p95"].to_numpy() - out["rank_p05"].to_numpy())
    assert out["nominal_rank"].is_monotonic_increasing and len(out) == len(rows)
