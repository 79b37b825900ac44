"""The engine's fast paths (issue #2) give exactly the values of the plain NumPy/SciPy formulations: median
imputation, ranks, coded treatment flags, and the thread-split weights/importance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import rankdata

from hubindex.engine import _parallel
from hubindex.engine._impute import nanmedian_columns
from hubindex.engine._rank import rank_desc
from hubindex.engine._treat import FLAG_LABELS, _flag_codes, flag_labels, treat_columns, treat_columns_coded
from hubindex.engine._weights import importance, unit_effective_weights
from hubindex.errors import ComputeError

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NA = np.nan
# small integers make ties and equal middle values likely; NaN and ±inf are allowed
cells = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6), st.just(np.nan), st.just(np.inf),
                  st.just(-np.inf))


def mats(max_rows: int = 15, max_cols: int = 5):  # type: ignore[no-untyped-def]
    shape = st.tuples(st.integers(0, max_rows), st.integers(0, max_cols))
    return shape.flatmap(lambda s: arrays(float, s, elements=cells))


def test_nanmedian_columns_by_hand() -> None:
    X = np.array([[1.0, NA, NA], [9, 4, NA], [2, NA, NA], [NA, 10, NA]])
    # col0 (1, 2, 9) → 2 ; col1 (4, 10) → (4 + 10)/2 = 7 ; col2 all missing → NaN
    np.testing.assert_array_equal(nanmedian_columns(X), [2, 7, NA])
    assert nanmedian_columns(np.empty((0, 2))).shape == (2,)


@SETTINGS
@given(mats())
def test_nanmedian_columns_equals_numpy(X: np.ndarray) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanmedian(X, axis=0) if X.shape[0] else np.full(X.shape[1], np.nan)
    np.testing.assert_array_equal(nanmedian_columns(X), want)
    np.testing.assert_array_equal(nanmedian_columns(np.asfortranarray(X)), want)


@SETTINGS
@given(mats(), st.integers(0, 1))
def test_rank_desc_equals_scipy_min_ranks(X: np.ndarray, axis: int) -> None:
    # ranks of −s with method "min" = 1 + #{larger scores}; NaN stays NaN (scipy: nan_policy="omit")
    got = rank_desc(X, axis=axis)
    assert got.shape == X.shape
    if X.size:
        want = rankdata(-X, method="min", axis=axis, nan_policy="omit")
        np.testing.assert_array_equal(got, want)


def test_rank_desc_split_over_threads_is_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    S = np.round(rng.random((400, 37)) * 10)  # many ties
    S[rng.random(S.shape) < 0.1] = NA
    serial = rank_desc(S, axis=0)
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", 0)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 4)
    np.testing.assert_array_equal(rank_desc(S, axis=0), serial)


def test_flag_codes_round_trip_and_unknown() -> None:
    fl = np.array([["", "winhi"], ["log_CT", "winlo"], ["boxcox", ""]], dtype=object)
    codes = _flag_codes(fl)
    assert codes.dtype == np.uint8 and codes.tolist() == [[0, 1], [3, 2], [4, 0]]
    back = flag_labels(codes)
    assert back.dtype == object and back.tolist() == fl.tolist()
    assert flag_labels(np.zeros((2, 2), dtype=np.uint8)).tolist() == [["", ""], ["", ""]]
    with pytest.raises(ComputeError, match="unknown treatment flag 'trim'"):
        _flag_codes(np.array(["trim"], dtype=object))
    with pytest.raises(ComputeError, match="unknown treatment flag code 9"):
        flag_labels(np.array([9], dtype=np.uint8))
    assert FLAG_LABELS[0] == ""


@pytest.mark.parametrize("method", ["coinr", "winsorise", "log", "none"])
def test_treat_columns_coded_matches_labels(method: str) -> None:
    rng = np.random.default_rng(1)
    X = rng.lognormal(0, 1.5, size=(60, 5))
    X[rng.random(X.shape) < 0.1] = NA
    vals, flags, outs = treat_columns(X, method)
    cvals, codes, couts = treat_columns_coded(X, method)
    np.testing.assert_array_equal(cvals, vals)
    assert flag_labels(codes).tolist() == flags.tolist()
    assert [o.method for o in couts] == [o.method for o in outs]
    if method == "coinr":
        assert (codes != 0).any()  # the lognormal columns do get treated


def test_weights_split_over_threads_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    parent = np.array([-1, 0, 0] + [1 + j % 2 for j in range(9)])
    w = rng.random(len(parent)) + 0.1
    A = rng.random((301, len(parent))) > 0.15
    X = rng.lognormal(size=(301, len(parent)))
    X[rng.random(X.shape) < 0.05] = NA
    serial = unit_effective_weights(A, w, parent), importance(X, X[:, 0].copy())
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", 0)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 5)
    E, r2 = unit_effective_weights(A, w, parent), importance(X, X[:, 0].copy())
    np.testing.assert_array_equal(E, serial[0])
    np.testing.assert_array_equal(E.mean(axis=0), serial[0].mean(axis=0))  # same memory layout → same sums
    np.testing.assert_array_equal(r2, serial[1])


def test_over_chunks_covers_every_item_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", 0)
    monkeypatch.setattr(_parallel.os, "cpu_count", lambda: 3)
    hits = np.zeros(10, dtype=int)
    seen: list[slice] = []

    def mark(sl: slice) -> None:
        seen.append(sl)
        hits[sl] += 1

    _parallel.over_chunks(10, mark, size=10)
    assert hits.tolist() == [1] * 10 and len(seen) == 3
    seen.clear()
    _parallel.over_chunks(3, mark, size=3)  # chunks of at least 2 items: one chunk
    assert len(seen) == 1


@SETTINGS
@given(mats(40, 6), st.integers(0, 1))
def test_rank_desc_in_tiny_blocks_equals_scipy(X: np.ndarray, axis: int) -> None:
    # blocks of one row (and copies of a few rows) exercise every block boundary of ``_rank_block``
    from hubindex.engine import _rank

    want = rank_desc(X, axis=axis)
    old = _rank._BLOCK, _rank._IO_BLOCK
    try:
        _rank._BLOCK, _rank._IO_BLOCK = 1, 7
        got = rank_desc(X, axis=axis)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(rank_desc(np.asfortranarray(X), axis=axis), want)
    finally:
        _rank._BLOCK, _rank._IO_BLOCK = old
    if X.size:
        np.testing.assert_array_equal(want, rankdata(-X, method="min", axis=axis, nan_policy="omit"))


def test_rank_desc_batched_3d_equals_row_by_row() -> None:
    rng = np.random.default_rng(5)
    S = np.round(rng.random((3, 4, 30)) * 5)
    S[0, 1, :4] = NA
    got = rank_desc(S, axis=1)
    for i in range(3):
        np.testing.assert_array_equal(got[i], rank_desc(S[i], axis=0))


@SETTINGS
@given(mats(), st.sampled_from(["mean", "median"]))
def test_impute_column_fills_the_column_statistic_and_returns_f_order(X: np.ndarray, stat: str) -> None:
    from hubindex.engine._impute import impute_column

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s = (np.nanmedian(X, axis=0) if stat == "median" else np.nanmean(X, axis=0)) if X.shape[0] \
            else np.full(X.shape[1], np.nan)
    out, mask = impute_column(X, stat)  # type: ignore[arg-type]
    want = np.where(np.isnan(X), s, X)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(mask, np.isnan(X) & ~np.isnan(want))
    assert out.flags.f_contiguous
