"""The batched Monte Carlo equals the slow path (one full build per replication), and is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hubindex import build, load_spec
from hubindex.audit.config import parse_uncertainty
from hubindex.audit.model import AuditModel
from hubindex.audit.uncertainty import summarise, uncertainty
from hubindex.errors import SpecError
from hubindex.spec import spec_from_dict


@pytest.fixture(scope="module")
def asem_model(asem_dir):  # type: ignore[no-untyped-def]
    return AuditModel(load_spec(asem_dir / "sensitivity.yaml"))


def test_config_parsing_and_errors() -> None:
    c = parse_uncertainty({"treat": {"winmax": [1, 2], "skew_thresh": [2, 3]}, "exclude": ["a", "b"]})
    assert c.alternatives("treat") == [{"winmax": 1, "skew_thresh": 2}, {"winmax": 1, "skew_thresh": 3},
                                       {"winmax": 2, "skew_thresh": 2}, {"winmax": 2, "skew_thresh": 3}]
    assert c.exclusions() == [[], ["a"], ["b"]]
    assert parse_uncertainty({"exclude": [["a", "b"], []]}).exclusions() == [["a", "b"], []]
    with pytest.raises(SpecError, match="uncertainty.weights"):
        parse_uncertainty({"weights": {"noise": {2: 1.5}}})
    with pytest.raises(SpecError, match="uncertainty.nn"):
        parse_uncertainty({"nn": 3})


def test_model_errors_name_the_key(asem_dir) -> None:  # type: ignore[no-untyped-def]
    s = load_spec(asem_dir / "default.yaml")
    with pytest.raises(SpecError, match="uncertainty.normalise: alternative"):
        AuditModel(s, parse_uncertainty({"normalise": [{"method": "min_max", "l": 5, "u": 1}]}))
    with pytest.raises(SpecError, match="no 'impute' step"):
        AuditModel(s, parse_uncertainty({"impute": [{"method": "mean"}]}))
    with pytest.raises(SpecError, match="not indicators"):
        AuditModel(s, parse_uncertainty({"exclude": ["NOPE"]}))
    with pytest.raises(SpecError, match="target"):
        AuditModel(s, parse_uncertainty({"target": "LPI", "exclude": ["LPI"]}))
    with pytest.raises(SpecError, match="nothing is uncertain"):
        AuditModel(s, parse_uncertainty({}))
    with pytest.raises(SpecError, match="level"):
        AuditModel(s, parse_uncertainty({"weights": {"noise": {9: 0.1}}}))


def test_fast_path_equals_full_builds(asem_model) -> None:  # type: ignore[no-untyped-def]
    m = asem_model
    U = np.random.default_rng(3).random((64, m.ncols))
    nodes = list(m.order)
    fast = m.scores(U, nodes)
    S, R = m.evaluate(U)
    choices = m.choice_table(U)
    assert choices["aggregate"].nunique() == 2 and choices["treat"].nunique() == 5  # every factor is exercised
    for i in [0, 1, 7, 20, 33, 63]:
        res = build(m.spec_for(U[i]))
        for c in nodes:
            np.testing.assert_allclose(fast[c][i], res.scores[c].to_numpy(), rtol=0, atol=1e-9)
        np.testing.assert_array_equal(R[i], res.ranks["Index"].to_numpy())


def test_continuous_noise_and_exclusion_equal_full_builds(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    s = load_spec(tiny_spec)
    cfg = parse_uncertainty({"weights": {"noise": {1: 0.5, 2: 0.3}}, "exclude": ["a", "d"],
                             "normalise": [{"method": "min_max", "l": 1, "u": 100}, {"method": "rank"}],
                             "aggregate": [{"method": "arithmetic"}, {"method": "geometric"}]})
    m = AuditModel(s, cfg)
    assert [f.name for f in m.factors] == ["normalise", "exclude", "aggregate", "weights"]
    assert m.ncols == 3 + 6  # one column per noisy node: 4 indicators + 2 pillars
    U = np.random.default_rng(0).random((40, m.ncols))
    fast = m.scores(U, ["IDX", "P1", "P2"])
    W = m.weights(U)
    f = np.where(m.framework.level[m.noisy] == 1, 0.5, 0.3)
    dev = np.abs(W / m.w - 1)[:, m.noisy]
    assert np.all(dev <= f + 1e-12) and np.all(dev.max(0) > 0.8 * f)  # w(1 + u f), u ~ U(-1, 1)
    np.testing.assert_array_equal(W[:, 0], m.w[0])  # the root's weight is never perturbed
    for i in range(0, 40, 5):
        res = build(m.spec_for(U[i]))
        for c in ["IDX", "P1", "P2"]:
            np.testing.assert_allclose(fast[c][i], res.scores[c].to_numpy(), rtol=0, atol=1e-9)


def test_excluding_every_child_of_an_aggregate_equals_full_builds(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    """Excluding c and d leaves pillar P2 without children: the fast path gives P2 no score (the index averages P1
    alone), and spec_for must drop P2 too so that build(spec_for(u)) recomputes the same (it used to fail with
    'indicator P2 is not a column')."""
    m = AuditModel(load_spec(tiny_spec), parse_uncertainty({"exclude": [[], ["c", "d"]],
                                                            "normalise": [{"method": "min_max"}, {"method": "rank"}]}))
    U = np.random.default_rng(1).random((16, m.ncols))
    choice = m.choice_table(U)["exclude"]
    assert choice.nunique() == 2  # both alternatives (keep all, drop c and d) are drawn
    fast = m.scores(U, ["IDX", "P1", "P2"])
    for i in range(len(U)):
        spec = m.spec_for(U[i])
        res = build(spec)
        dropped = "P2" not in res.scores.columns
        assert dropped == bool(np.isnan(fast["P2"][i]).all())
        np.testing.assert_allclose(fast["IDX"][i], res.scores["IDX"].to_numpy(), rtol=0, atol=1e-9)
        if dropped:
            np.testing.assert_allclose(fast["IDX"][i], fast["P1"][i], rtol=0, atol=1e-9)


def test_deterministic_and_chunk_independent_of_backend_order(asem_dir, asem_model) -> None:  # type: ignore[no-untyped-def]
    a = uncertainty(model=asem_model, n=300, seed=0)
    b = uncertainty(model=asem_model, n=300, seed=0)
    np.testing.assert_array_equal(a.ranks, b.ranks)
    c = uncertainty(model=asem_model, n=300, seed=1)
    assert not np.array_equal(a.ranks, c.ranks)
    assert a.scores.shape == (300, 51) and a.design.shape == (300, asem_model.ncols)
    # each replication is the model evaluated at its design row
    S, R = asem_model.evaluate(a.design[:10])
    np.testing.assert_array_equal(R, a.ranks[:10])


def test_summary_matches_numpy(asem_model) -> None:  # type: ignore[no-untyped-def]
    r = uncertainty(model=asem_model, n=200, seed=5)
    s = r.summary()
    j = list(r.units).index("DEU")
    assert s.loc["DEU", "rank_median"] == np.median(r.ranks[:, j])
    assert s.loc["DEU", "rank_p05"] == pytest.approx(np.percentile(r.ranks[:, j], 5))
    assert s.loc["DEU", "rank_p95"] == pytest.approx(np.percentile(r.ranks[:, j], 95))
    assert s.loc["DEU", "score_mean"] == pytest.approx(r.scores[:, j].mean())
    assert s.loc["DEU", "nominal_rank"] == 1
    assert (s["rank_p05"] <= s["rank_median"]).all() and (s["rank_median"] <= s["rank_p95"]).all()


def test_summarise_ignores_missing() -> None:
    S = np.array([[1.0, np.nan], [3.0, 2.0]])
    R = np.array([[1.0, np.nan], [1.0, 2.0]])
    df = summarise(np.array(["a", "b"]), np.array(["A", "B"]), np.array([1.0, 2.0]), np.array([1.0, 2.0]), S, R)
    assert df.loc["b", "score_mean"] == 2.0 and df.loc["a", "score_median"] == 2.0


def test_seed_zero_and_write(asem_model, tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = uncertainty(model=asem_model, n=50, seed=0)
    files = r.write(tmp_path / "ua")
    assert sorted([*files, ".hubindex-manifest.json"]) == sorted(p.name for p in (tmp_path / "ua").iterdir())
    import pandas as pd

    back = pd.read_csv(tmp_path / "ua" / "rank_intervals.csv", index_col=0)
    assert back.shape[0] == 51 and "rank_p95" in back.columns


def test_uncertainty_from_spec_dict(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    d = yaml.safe_load(tiny_spec.read_text())
    d["uncertainty"] = {"n": 20, "seed": 0, "weights": {"noise": {2: 0.2}}}
    s = spec_from_dict(d, base_dir=tiny_spec.parent)
    r = uncertainty(s)
    assert r.n == 20 and r.ranks.shape == (20, 5)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["arithmetic", "geometric", "harmonic"]),
       st.sampled_from([None, 0.5, 0.9]), st.booleans())
def test_batched_aggregation_equals_engine(seed: int, method: str, thresh: float | None, shared: bool) -> None:
    """Matrix-product aggregation = the engine's aggregator replication by replication (NaN, zero weights)."""
    from hubindex.audit.model import aggregate_batched
    from hubindex.engine._aggregate import aggregate

    rng = np.random.default_rng(seed)
    r, n, k = 4, 6, 3
    C = rng.uniform(0.5, 100, (n, k) if shared else (r, n, k))
    C[rng.random(C.shape) < 0.25] = np.nan
    W = rng.uniform(0, 2, (r, k))
    W[rng.random(W.shape) < 0.2] = 0.0
    got = aggregate_batched(C, W, method, thresh)
    for i in range(r):
        want = aggregate(C if shared else C[i], W[i], method, min_availability=thresh)
        np.testing.assert_allclose(got[i], want, rtol=1e-12, atol=1e-12, equal_nan=True)
