"""Summary mode (keep='summary'): bounded counters give exactly the keep-all rank statistics and score
quantiles within the stated half-bin error, for any N and chunk size, with ties and missing values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubindex import load_spec
from hubindex.audit import uncertainty as unc_mod
from hubindex.audit.config import parse_uncertainty
from hubindex.audit.model import AuditModel
from hubindex.audit.streaming import StreamSummary, quantiles_from_counts, rank_count_matrix, score_histogram
from hubindex.audit.uncertainty import uncertainty
from hubindex.engine._rank import rank_desc

Q = (0.05, 0.5, 0.95)
EXACT = ["nominal_rank", "rank_mean", "rank_median", "rank_p05", "rank_p95", "nominal_score", "score_min",
         "score_max"]


@pytest.fixture(scope="module")
def asem_spec(asem_dir):  # type: ignore[no-untyped-def]
    return load_spec(asem_dir / "sensitivity.yaml")


def _compare(a: pd.DataFrame, b: pd.DataFrame, err: float) -> None:
    """b (summary mode) against a (keep all): same order, exact columns to 1e-12, score quantiles ≤ err."""
    assert list(a.index) == list(b.index) and list(a.columns) == list(b.columns)
    for c in EXACT:
        np.testing.assert_allclose(b[c], a[c], rtol=0, atol=1e-12, equal_nan=True, err_msg=c)
    for c in ("score_mean", "score_sd"):
        np.testing.assert_allclose(b[c], a[c], rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=c)
    for c in ("score_median", "score_p05", "score_p95"):
        d = np.abs(b[c] - a[c]).to_numpy()
        assert np.nanmax(d) <= err * (1 + 1e-9), c


# -- the building blocks -----------------------------------------------------------------------------------
def test_rank_count_matrix_by_hand() -> None:
    R = np.array([[1, 2, 2], [3, 1, 2], [1, np.nan, 1]])
    C = rank_count_matrix(R, 3)
    np.testing.assert_array_equal(C, [[2, 0, 1], [1, 1, 0], [1, 2, 0]])


def test_quantiles_from_counts_by_hand() -> None:
    # sample 1, 1, 2, 4: h = 3q → q=0.5: h=1.5 → 1 + (2 − 1)·0.5 = 1.5; q=0.05: h=0.15 → 1; q=0.95: h=2.85 → 3.7
    got = quantiles_from_counts(np.array([[2, 1, 0, 1], [0, 0, 0, 0]]), np.arange(1.0, 5.0), Q)
    np.testing.assert_allclose(got[:, 0], [1.0, 1.5, 3.7])
    assert np.isnan(got[:, 1]).all()


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 12), st.floats(0, 0.5))
def test_quantiles_from_counts_equal_nanquantile(seed: int, m: int, k: int, p_nan: float) -> None:
    """Integer samples with many ties and missing values: identical to np.nanquantile (numpy 'linear')."""
    rng = np.random.default_rng(seed)
    R = rng.integers(1, k + 1, (m, 7)).astype(float)
    R[rng.random(R.shape) < p_nan] = np.nan
    q = [0.0, 0.05, 0.25, 0.5, 0.95, 1.0, float(rng.random())]
    got = quantiles_from_counts(rank_count_matrix(R, 7) if k <= 7 else _counts(R, k), np.arange(1.0, k + 1), q)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning) if np.isnan(R).all(0).any() else _null():
        want = np.nanquantile(R, q, axis=0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)


def _counts(R: np.ndarray, k: int) -> np.ndarray:
    return np.stack([np.bincount(R[~np.isnan(R[:, j]), j].astype(int) - 1, minlength=k) for j in range(R.shape[1])])


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([16, 64, 1000]), st.integers(1, 300))
def test_histogram_quantiles_within_half_a_bin(seed: int, bins: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    S = np.concatenate([rng.normal(50, 10, (m, 3)), rng.uniform(0, 100, (m, 2))], axis=1).clip(0, 100)
    S[rng.random(S.shape) < 0.1] = np.nan
    s = StreamSummary.from_chunk(S, rank_desc(S), 0.0, 100.0, bins)
    assert s.score_quantile_error == pytest.approx(100 / bins / 2)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning) if np.isnan(S).all(0).any() else _null():
        want = np.nanquantile(S, Q, axis=0)
    got = s.score_quantiles(Q)
    assert np.all(np.isnan(got) == np.isnan(want))
    assert np.nanmax(np.abs(got - want), initial=0.0) <= s.score_quantile_error * (1 + 1e-9)


def test_histogram_error_bound_is_attained_not_vacuous() -> None:
    """Values at the bottom of their bins: the midpoint estimate is off by (almost) exactly half a bin."""
    S = np.array([[0.0], [10.0], [20.0], [30.0], [40.0]]) + 1e-9  # bins of width 10 on [0, 100]
    S = np.vstack([S, [[100.0]]])
    s = StreamSummary.from_chunk(S, rank_desc(S), 0.0, 100.0, 10)
    med = s.score_quantiles([0.5])[0, 0]
    assert med == pytest.approx(25.0 + 5.0)  # exact median 25 (+1e-9): bins 20 and 30 → midpoints 25 and 35
    assert abs(med - np.median(S)) == pytest.approx(s.score_quantile_error, rel=1e-6)
    np.testing.assert_array_equal(score_histogram(S, 0.0, 100.0, 10)[0], [1, 1, 1, 1, 1, 0, 0, 0, 0, 1])


def test_merge_equals_one_chunk() -> None:
    rng = np.random.default_rng(1)
    S = rng.uniform(0, 10, (500, 6))
    S[rng.random(S.shape) < 0.2] = np.nan
    S[:, 5] = np.nan  # a unit never scored
    R = rank_desc(np.round(S))  # rounding creates ties
    ch = rng.integers(0, 3, 500)
    one = StreamSummary.from_chunk(S, R, 0, 10, 128, {"f": (ch, 3)})
    parts = [StreamSummary.from_chunk(S[i:i + 77], R[i:i + 77], 0, 10, 128, {"f": (ch[i:i + 77], 3)})
             for i in range(0, 500, 77)]
    acc = parts[0]
    for p in parts[1:]:
        acc.merge(p)
    assert acc.n == 500
    for f in ("rank_counts", "score_hist", "score_count"):
        np.testing.assert_array_equal(getattr(acc, f), getattr(one, f))
    np.testing.assert_array_equal(acc.choice_counts["f"], one.choice_counts["f"])
    np.testing.assert_allclose(acc.score_mean()[:5], np.nanmean(S[:, :5], 0), rtol=1e-13)
    np.testing.assert_allclose(acc.score_sd()[:5], np.nanstd(S[:, :5], 0, ddof=1), rtol=1e-12)
    assert np.isnan(acc.score_sd()[5]) and np.isnan(acc.score_mean()[5]) and np.isnan(acc.score_min[5])
    np.testing.assert_array_equal(acc.score_min, np.fmin.reduce(S, 0))
    with pytest.raises(ValueError, match="grid"):
        acc.merge(StreamSummary.from_chunk(S, R, 0, 10, 64))


# -- the whole analysis ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "chunk"), [(1, 2048), (300, 64), (777, 100), (1500, 2048)])
def test_summary_mode_equals_keep_all(asem_spec, n: int, chunk: int) -> None:  # type: ignore[no-untyped-def]
    m = AuditModel(asem_spec, parse_uncertainty({**asem_spec.uncertainty, "chunk": chunk}))
    a = uncertainty(model=m, n=n, seed=3, keep="all")
    b = uncertainty(model=m, n=n, seed=3, keep="summary")
    assert (a.keep, b.keep) == ("all", "summary") and b.n == n and b.ranks is None and b.design is None
    _compare(a.summary(), b.summary(), b.score_quantile_error)
    assert a.score_quantile_error == 0 and b.score_quantile_error == pytest.approx(99 / 4096 / 2, rel=1e-6)
    assert a.rank_counts().equals(b.rank_counts()) and a.choice_counts().equals(b.choice_counts())
    assert int(b.rank_counts().to_numpy().sum()) == n * len(m.units)


def test_ties_and_missing_scores(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    """Two identical units (always tied) and a unit without a score when its only available child is excluded."""
    data = tiny_spec.parent / "data.csv"
    data.write_text(data.read_text() + "U6,Six,West,5,50,1,0.1\nU7,Seven,West,,,3,\n")
    s = load_spec(tiny_spec)
    cfg = parse_uncertainty({"chunk": 37, "weights": {"noise": {1: 0.5, 2: 0.5}}, "exclude": ["c"],
                             "normalise": [{"method": "min_max", "l": 1, "u": 100}, {"method": "rank"}]})
    m = AuditModel(s, cfg)
    a = uncertainty(model=m, n=400, seed=0, keep="all")
    b = uncertainty(model=m, n=400, seed=0, keep="summary", bins=64)
    i5, i6, i7 = (list(m.units).index(u) for u in ("U5", "U6", "U7"))
    np.testing.assert_array_equal(a.ranks[:, i5], a.ranks[:, i6])  # ties really occur
    assert np.isnan(a.ranks[:, i7]).any() and not np.isnan(a.ranks[:, i7]).all()  # and missing ranks
    _compare(a.summary(), b.summary(), b.score_quantile_error)
    assert b.score_quantile_error == pytest.approx((100 - 1) / 64 / 2, rel=1e-6)


def test_score_bounds_contain_every_score(asem_spec, tiny_spec) -> None:  # type: ignore[no-untyped-def]
    m = AuditModel(asem_spec)
    S, _ = m.evaluate(np.random.default_rng(0).random((500, m.ncols)))
    lo, hi = m.score_bounds()
    assert (lo, hi) == (1.0, 100.0) and np.nanmin(S) >= lo and np.nanmax(S) <= hi
    t = load_spec(tiny_spec)
    mc = AuditModel(t, parse_uncertainty({"weights": {"noise": {2: 0.5}},
                                          "aggregate": [{"method": "arithmetic"}, {"method": "copeland"}]}))
    lo, hi = mc.score_bounds()
    assert (lo, hi) == (-4.0, 100.0)  # Copeland scores of 5 units lie in [−4, 4]
    S, _ = mc.evaluate(np.random.default_rng(1).random((200, mc.ncols)))
    assert np.nanmin(S) >= lo and np.nanmax(S) <= hi and np.nanmin(S) < 0


def test_auto_switches_above_the_threshold(asem_spec, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    m = AuditModel(asem_spec)
    monkeypatch.setattr(unc_mod, "AUTO_KEEP_ALL_MAX_N", 100)
    assert uncertainty(model=m, n=100).keep == "all"
    r = uncertainty(model=m, n=101)
    assert r.keep == "summary" and r.ranks is None and r.n == 101
    assert uncertainty(model=m, n=101, keep="all").keep == "all"
    from hubindex.errors import SpecError

    with pytest.raises(SpecError, match="uncertainty.keep"):
        parse_uncertainty({"keep": "some"})


def test_summary_mode_write_and_audit_summary(asem_dir, asem_spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hubindex import build
    from hubindex.audit import summary

    m = AuditModel(asem_spec)
    seen: list[int] = []
    r = uncertainty(model=m, n=500, seed=0, keep="summary", progress=lambda d, t: seen.append(d))
    assert seen[-1] == 500
    files = r.write(tmp_path / "u")
    assert sorted([*files, ".hubindex-manifest.json"]) == sorted(p.name for p in (tmp_path / "u").iterdir())
    assert "ranks.csv" not in files
    cfg = json.loads((tmp_path / "u" / "config.json").read_text())
    assert cfg["keep"] == "summary" and cfg["n"] == 500 and cfg["score_quantile_error"] == r.score_quantile_error
    rc = pd.read_csv(tmp_path / "u" / "rank_counts.csv", index_col=0)
    assert rc.shape == (51, 51) and (rc.sum(axis=1) == 500).all()
    cc = pd.read_csv(tmp_path / "u" / "choice_counts.csv")
    assert cc.groupby("factor")["count"].sum().eq(500).all()
    s = summary(build(asem_dir / "default.yaml"), uncertainty=r)
    assert s.uncertainty_info["keep"] == "summary" and len(s.rank_intervals) == 51


def test_summary_state_does_not_grow_with_n(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    """Summary mode keeps a fixed-size state: the same bytes for 2,000 and 20,000 replications, while keep-all
    holds every replication (n × units for scores and ranks). Deterministic sizes, not a memory measurement:
    the measured peak memory against N is in benchmarks/bench_audit.py (memory table, fresh process per N)."""
    m = AuditModel(load_spec(tiny_spec), parse_uncertainty({"chunk": 500, "weights": {"noise": {1: 0.5, 2: 0.5}}}))
    small, big = uncertainty(model=m, n=2_000, keep="summary"), uncertainty(model=m, n=20_000, keep="summary")
    assert small.stream is not None and big.stream is not None and small.ranks is None and big.ranks is None
    assert big.stream.nbytes == small.stream.nbytes
    full = uncertainty(model=m, n=20_000, keep="all")
    assert full.ranks is not None and full.scores is not None and full.ranks.shape == (20_000, len(m.units))
    assert full.ranks.nbytes + full.scores.nbytes > 5 * big.stream.nbytes
