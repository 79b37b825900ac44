"""Which weights drove each move (hubindex.web._drivers): the split of every unit's score change into one
contribution per changed weight — by hand, against full rebuilds of the spec, Shapley by brute force over all
orders, the not-decomposable case, and POST /api/score."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubindex.api import build
from hubindex.web._drivers import MAX_EXACT, N_PERMUTATIONS, decompose
from hubindex.web._view import IndexView


def _rebuild(result, weights, method=None):  # type: ignore[no-untyped-def]
    """The engine's own index scores for a spec carrying these weights (and aggregation method)."""
    spec = result.spec
    d = spec.model_dump()
    d["framework"] = [{**n, "weight": weights.get(n["code"], n["weight"])} for n in d["framework"]]
    s = type(spec).model_validate(d)
    if method is not None:
        s = s.with_step("aggregate", method=method)
    return build(s).index_scores


def _inputs(result, method="arithmetic"):  # type: ignore[no-untyped-def]
    fw = result.framework
    norm = result.datasets["Normalised"].reindex(index=result.units)
    w0 = result.weights["weight"].reindex(list(fw.codes)).to_numpy(float)
    return fw, {c: norm[c].to_numpy(float) for c in fw.indicators}, w0, {c: method for c in fw.aggregates}


def test_hand_computed_tiny(tiny_spec) -> None:
    """IDX = (1·P1 + 3·P2)/4, P1 = mean(a, b), P2 = mean(c, d). Weights P1 1→3 and c 1→3.
    U2: a = b = 25, c = 25, d = 75 → P2 50 → 37.5; IDX 43.75 → (3·25 + 3·37.5)/6 = 31.25, Δ = −12.5;
    c_P1 = 1·2·(25 − 43.75)/6 = −6.25; c_c = (3/6)·2·(25 − 50)/4 = −6.25.
    U4 (b missing): a = 75, c = 75, d = 25; IDX 56.25 → 68.75; c_P1 = 2·(75 − 56.25)/6 = 6.25, c_c = 6.25."""
    v = IndexView.from_result(build(tiny_spec))
    js = v.rescore({"P1": 3, "c": 3})
    assert js["drivers"]["method"] == "exact" and js["drivers"]["changed"] == ["P1", "c"]
    assert js["drivers"]["published_weights"] == {"P1": 1.0, "c": 1.0}
    by = {x["unit"]: x for x in js["ranking"]}
    assert by["U2"]["score_change"] == pytest.approx(-12.5, abs=1e-12)
    assert by["U2"]["drivers"] == pytest.approx({"P1": -6.25, "c": -6.25}, abs=1e-12)
    assert by["U4"]["score_change"] == pytest.approx(12.5, abs=1e-12)
    assert by["U4"]["drivers"] == pytest.approx({"P1": 6.25, "c": 6.25}, abs=1e-12)
    # no change: no drivers, zero change
    same = v.rescore({"P1": 1})
    assert same["drivers"]["changed"] == [] and all(x["drivers"] == {} and x["score_change"] == 0 for x in same["ranking"])


def test_not_decomposable_when_a_node_loses_all_weighted_data(tiny_spec) -> None:
    """U4 has no 'b': weight a = 0 leaves its P1 without weighted data (missing), so the index re-weights over P2
    alone — no split by weight exists for U4; the others are still exact."""
    v = IndexView.from_result(build(tiny_spec))
    js = v.rescore({"a": 0})
    by = {x["unit"]: x for x in js["ranking"]}
    assert by["U4"]["drivers"] is None and by["U4"]["score_change"] is not None
    for u in ("U1", "U2", "U3", "U5"):
        assert sum(by[u]["drivers"].values()) == pytest.approx(by[u]["score_change"], abs=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["IND", "CON", "ECO", "IND_FF", "IND_FM", "CON_USE", "ECO_TAL", "qs_top200",
                                         "mobile_instore_pay", "gdp_per_capita", "ECO_INS", "unicorns_all"]),
                       st.floats(0.05, 5), min_size=1, max_size=8))
def test_exact_sums_to_rebuild_change(fintech_result, weights) -> None:
    """Σ contributions = score change to 1e-9, and the change equals a full rebuild's (default fintech index)."""
    fw, norm, w0, methods = _inputs(fintech_result)
    w1 = w0.copy()
    for c, x in weights.items():
        w1[fw.index_of(c)] = x
    dec = decompose(fw, norm, w0, w1, methods, None)
    assert dec.method == "exact"
    ref = _rebuild(fintech_result, weights).reindex(fintech_result.units).to_numpy(float)
    pub = fintech_result.index_scores.reindex(fintech_result.units).to_numpy(float)
    np.testing.assert_allclose(dec.delta, ref - pub, atol=1e-9)
    np.testing.assert_allclose(dec.contributions.sum(axis=1), dec.delta, atol=1e-9)
    # one changed weight: its contribution is the whole change
    if len(dec.changed) == 1:
        np.testing.assert_allclose(dec.contributions[:, 0], dec.delta, atol=1e-12)


def test_shapley_equals_brute_force_over_all_orders(fintech_result) -> None:
    """Median aggregation (non-linear): exact Shapley values = the mean over all 3! orders of the marginal
    contributions, each marginal computed by a full rebuild of the spec."""
    weights = {"IND": 2.5, "CON_USE": 0.3, "ECO": 1.7}
    fw, norm, w0, methods = _inputs(fintech_result, "median")
    w1 = w0.copy()
    for c, x in weights.items():
        w1[fw.index_of(c)] = x
    dec = decompose(fw, norm, w0, w1, methods, None)
    assert dec.method == "shapley"
    units = fintech_result.units
    v = {S: _rebuild(fintech_result, {c: weights[c] for c in S}, "median").reindex(units).to_numpy(float)
         for k in range(4) for S in itertools.combinations(dec.changed, k)}
    phi = np.zeros((len(units), 3))
    for order in itertools.permutations(range(3)):
        S: tuple[str, ...] = ()
        for j in order:
            T = tuple(c for c in dec.changed if c in S or c == dec.changed[j])
            phi[:, j] += v[T] - v[S]
            S = T
    phi /= math.factorial(3)
    np.testing.assert_allclose(dec.contributions, phi, atol=1e-9)
    np.testing.assert_allclose(dec.contributions.sum(axis=1), v[tuple(dec.changed)] - v[()], atol=1e-9)


def test_sampled_shapley_beyond_exact_still_sums(fintech_result) -> None:
    fw, norm, w0, methods = _inputs(fintech_result, "median")
    codes = [c for c in fw.codes if fw.parent_of(c) is not None][: MAX_EXACT + 2]
    w1 = w0.copy()
    for k, c in enumerate(codes):
        w1[fw.index_of(c)] = 0.5 + 0.3 * k
    dec = decompose(fw, norm, w0, w1, methods, None)
    assert dec.method == "shapley-sampled" and len(dec.changed) == MAX_EXACT + 2
    assert str(N_PERMUTATIONS) in dec.note()
    ok = ~np.isnan(dec.contributions).any(axis=1)
    assert ok.mean() > 0.9
    np.testing.assert_allclose(dec.contributions[ok].sum(axis=1), dec.delta[ok], atol=1e-9)
    again = decompose(fw, norm, w0, w1, methods, None)  # seeded: the same split every time
    np.testing.assert_array_equal(np.nan_to_num(again.contributions), np.nan_to_num(dec.contributions))


def test_api_score_carries_drivers(fclient, fintech_result) -> None:
    js = fclient.post("/api/score", json={"weights": {"IND": 3, "qs_top200": 0.2}}).json()
    assert js["drivers"]["method"] == "exact" and js["drivers"]["changed"] == ["IND", "qs_top200"]
    pub = fintech_result.index_scores
    for x in js["ranking"]:
        assert x["score_change"] == pytest.approx(x["score"] - pub[x["unit"]], abs=1e-9)
        assert sum(x["drivers"].values()) == pytest.approx(x["score_change"], abs=1e-9)
    # cities strong in the Fintech Industry pillar relative to their own average gain from a higher IND weight
    top = max(js["ranking"], key=lambda x: x["drivers"]["IND"])
    assert fintech_result.scores.at[top["unit"], "IND"] > fintech_result.index_scores[top["unit"]]
