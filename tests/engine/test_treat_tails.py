"""COINr's winsorisation on long columns (``_winsorise_tails``: core + tail windows, every decision certified
against rounding) gives exactly what the plain loop of full passes (``_winsorise_full``) gives, column by column,
whatever the layout, blocks or threads; columns it cannot certify go to that loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_asem_parity import ref_treat

from hubindex.engine import _parallel, _treat
from hubindex.engine._stats import skew_kurt
from hubindex.engine._treat import _coinr_arrays, _winsorise_tails

NA = np.nan
FIELDS = ("method", "n_winsorised", "skew_before", "kurt_before", "skew_after", "kurt_after", "passed_before",
          "passed_after", "note")


@pytest.fixture(autouse=True)
def _tails_on_short_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tails path on every column long enough for its windows (by default only from 256 values)."""
    monkeypatch.setattr(_treat, "_TAILS_MIN_N", 0)


def _exact_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every column through the plain loop: the tails path certifies nothing."""
    def nothing(X, winmax, skew_thresh, kurt_thresh, up0):  # type: ignore[no-untyped-def]
        c, M = X.shape[1], winmax + 2
        z = np.zeros(c, dtype=np.int64)
        return np.zeros(c, dtype=np.int8), z, z, np.full((M, c), NA), np.full((M, c), NA)
    monkeypatch.setattr(_treat, "_winsorise_tails", nothing)


def _same(a: tuple, b: tuple) -> None:  # type: ignore[type-arg]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    for j, (o, p) in enumerate(zip(a[2], b[2], strict=True)):
        for f in FIELDS:
            x, y = getattr(o, f), getattr(p, f)
            assert x == y or (x != x and y != y), (j, f, x, y)


def test_extreme_outlier_moves_one_point_as_the_plain_loop() -> None:
    # 0..29 and one point at 1e9: G1 ≈ 5.5, G2 ≈ 31 → fails; the 1e9 goes to 29 (the next value below), and then
    # 0..29, 29 passes (|G1| ≈ 0.03): one point moved. Power sums about the original mean, corrected by
    # subtracting (1e9 − c)^4 ≈ 1e36, would lose every digit of the rest (≈ 1e6): the core + window sums do not.
    x = np.r_[np.arange(30.0), 1e9]
    o = _coinr_arrays(x[:, None], 5)[2][0]
    assert o.method == "winsorise" and o.n_winsorised == 1 and o.passed_after
    np.testing.assert_array_equal(_coinr_arrays(x[:, None], 5)[0][:, 0], np.r_[np.arange(30.0), 29])
    np.testing.assert_array_equal(ref_treat(x, 5), np.r_[np.arange(30.0), 29])


def test_windows_and_levels_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    # 30 values: 1..26, then 50, 50 (a tie) and 90 at the top, −40 at the bottom: G1 = 1.11, G2 = 6.18.
    # winmax 5 → windows of M = 7: top 90, 50, 50, 26, 25, 24, 23 → levels 90 > 50 > 26 > 25 > 24 > 23;
    # bottom −40, 1, …, 6 → 7 levels
    x = np.r_[np.arange(1.0, 27), 50, 50, 90, -40]
    status, h, lv, dvh, dvl = _winsorise_tails(x[:, None], 5, 0.5, 1.0, np.array([True]))
    np.testing.assert_array_equal(dvh[:, 0], [90, 50, 26, 25, 24, 23, NA])
    np.testing.assert_array_equal(dvl[:, 0], [-40, 1, 2, 3, 4, 5, 6])
    # thresholds 0.5 / 1.0: one step on the high side (90 → 50, level h = 1), then |G1| < 0.5: passes
    assert (status[0], h[0], lv[0]) == (1, 1, 0)
    o = _coinr_arrays(x[:, None], 5, 0.5, 1.0)
    np.testing.assert_array_equal(o[0][:, 0], np.r_[np.arange(1.0, 27), 50, 50, 50, -40])
    assert o[2][0].n_winsorised == 1 and abs(skew_kurt(o[0])[0][0]) < 0.5
    # thresholds 0.3 / 0: the two 50s and the 90 go to 26 (h = 2: three points) and −40 to 1 (l = 1): four moved
    status, h, lv, _, _ = _winsorise_tails(x[:, None], 5, 0.3, 0.0, np.array([True]))
    assert (status[0], h[0], lv[0]) == (1, 2, 1)
    o = _coinr_arrays(x[:, None], 5, 0.3, 0.0)
    np.testing.assert_array_equal(o[0][:, 0], np.r_[np.arange(1.0, 27), 26, 26, 26, 1])
    assert o[2][0].n_winsorised == 4 and o[2][0].method == "winsorise"
    assert o[1][:, 0].tolist()[-4:] == ["winhi", "winhi", "winhi", "winlo"]
    _exact_only(monkeypatch)
    _same(o, _coinr_arrays(x[:, None], 5, 0.3, 0.0))


def test_decision_at_the_threshold_is_left_to_the_exact_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # kurtosis after one step set as the threshold exactly: the exact rule (G2 ≥ threshold fails) keeps going;
    # the estimate is within its rounding bound of the threshold, so the tails path must not decide (status 0)
    rng = np.random.default_rng(4)
    x = np.r_[rng.normal(size=60), 12.0]
    one = x.copy()
    one[-1] = np.sort(x)[-2]
    s1, k1 = skew_kurt(one[:, None])
    ts, tk = float(abs(s1[0])) / 2, float(k1[0])  # the skewness fails either way: the kurtosis decides
    status = _winsorise_tails(x[:, None], 5, ts, tk, np.array([True]))[0]
    assert status[0] == 0
    got = _coinr_arrays(x[:, None], 5, ts, tk)
    assert got[2][0].n_winsorised > 1  # the exact rule stepped on past the first point
    _exact_only(monkeypatch)
    _same(got, _coinr_arrays(x[:, None], 5, ts, tk))


cell = st.one_of(st.integers(-3, 3).map(float), st.floats(-10, 10), st.sampled_from([NA, 1e4, -1e6, 3e8, 1e12]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.integers(0, 8), st.integers(28, 90).flatmap(
    lambda n: st.lists(st.lists(cell, min_size=n, max_size=n), min_size=1, max_size=4)))
def test_tails_path_equals_the_plain_loop(monkeypatch: pytest.MonkeyPatch, winmax: int, cols: list) -> None:  # type: ignore[type-arg]
    X = np.array(cols, dtype=float).T
    got = _coinr_arrays(X, winmax)
    with monkeypatch.context() as m:
        _exact_only(m)
        want = _coinr_arrays(X, winmax)
    _same(got, want)
    for j in range(X.shape[1]):  # and the independent loop-and-sets reference, where it has a rule
        x = X[:, j]
        if got[2][j].method in ("untreated",):
            continue
        try:
            ref = ref_treat(x, winmax)
        except ValueError:  # the reference cannot step when winsorising made the column constant
            continue
        np.testing.assert_allclose(got[0][:, j], ref, rtol=1e-12, atol=0)


def test_layout_blocks_and_threads_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_treat, "_TAILS_MIN_N", 256)  # the default: 400 values take the tails path
    rng = np.random.default_rng(7)
    X = np.column_stack([rng.lognormal(0, s, 400) for s in np.linspace(0.2, 2.0, 12)]
                        + [np.round(rng.gamma(0.4, 3, 400)) for _ in range(4)] + [rng.normal(size=400)])
    X[rng.random(X.shape) < 0.05] = NA
    X[:3, 5] = [1e9, -1e7, 5e8]
    seen: list[np.ndarray] = []

    def spy(*a):  # type: ignore[no-untyped-def]
        out = _winsorise_tails(*a)
        seen.append(out[0])
        return out
    with monkeypatch.context() as m:
        m.setattr(_treat, "_winsorise_tails", spy)
        base = _coinr_arrays(X, 5)
    assert {o.method for o in base[2]} >= {"none", "winsorise", "log"}
    assert set(np.concatenate(seen).tolist()) >= {1, 2}  # the tails path decided columns both ways
    _same(base, _coinr_arrays(np.asfortranarray(X), 5))
    monkeypatch.setattr(_treat, "_BLOCK", 900)  # blocks of 2 columns
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", 0)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 3)
    _same(base, _coinr_arrays(X, 5))
    with monkeypatch.context() as m:
        _exact_only(m)
        _same(base, _coinr_arrays(X, 5))


@pytest.mark.parametrize("winmax", [0, 1, 200])
def test_edge_columns_and_winmax(monkeypatch: pytest.MonkeyPatch, winmax: int) -> None:
    # constant, all-missing, two-valued and heavy-tailed columns; winmax 0 (straight to the log), 1, and beyond
    # the tails path's bound (200: every column takes the plain loop)
    rng = np.random.default_rng(winmax)
    n = 300
    X = np.column_stack([np.full(n, 3.0), np.full(n, NA), np.r_[np.zeros(n - 3), np.ones(3)],
                         rng.lognormal(0, 1.5, n), -rng.lognormal(0, 1.5, n), rng.normal(size=n)])
    X[:4, 3] = NA
    got = _coinr_arrays(X, winmax)
    assert [o.method for o in got[2][:2]] == ["untreated", "untreated"]
    np.testing.assert_array_equal(got[0][:, :2], X[:, :2])
    assert got[2][5].method == "none"
    if winmax == 0:  # nothing may move: a failing column goes straight to the log
        assert got[2][3].method == "log" and got[2][3].n_winsorised == 0
    with monkeypatch.context() as m:
        _exact_only(m)
        _same(got, _coinr_arrays(X, winmax))
    for j in (2, 3, 4):
        try:
            ref = ref_treat(X[:, j], winmax)
        except ValueError:
            continue
        np.testing.assert_allclose(got[0][:, j], ref, rtol=1e-12, atol=0)


def test_ties_reaching_past_the_window_go_to_the_exact_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # winmax 5 → top window of 7: 100, 90, 80, 70, 70, 70, 70 (and a fifth 70 outside it). Thresholds that keep
    # the column failing: three steps move 100, 90, 80 down to 70 (3 points); the fourth would move every 70,
    # a level whose count and next value lie beyond the window: not certified, the exact loop does it
    x = np.r_[np.linspace(0.0, 10.0, 53), 100, 90, 80, 70, 70, 70, 70, 70]
    status, h, lv, dvh, _ = _winsorise_tails(x[:, None], 5, 0.01, -10.0, np.array([True]))
    np.testing.assert_array_equal(dvh[:4, 0], [100, 90, 80, 70])
    assert status[0] == 0 and h[0] == 3
    got = _coinr_arrays(x[:, None], 5, 0.01, -10.0)
    o = got[2][0]
    assert o.method == "log"  # the exact loop's fourth step moves the five 70s and the three moved: 8 ≥ 5, failing
    _exact_only(monkeypatch)
    _same(got, _coinr_arrays(x[:, None], 5, 0.01, -10.0))
