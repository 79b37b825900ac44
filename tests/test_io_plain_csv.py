"""The one-pass CSV reader (``hubindex.io._load_plain_csv``) against the general pandas reader.

``load_data`` reads one well-formed CSV of plain numbers without pandas and hands everything else to the general
reader. The two must agree: on any file, the fast reader either declines (``None``) or returns exactly what the
general reader returns (same units in the same order, names, groups, denominators, the same bits in every
value); and it never accepts a file the general reader refuses.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubindex import io as hio
from hubindex.engine.data import IndexData
from hubindex.errors import DataError
from hubindex.spec import spec_from_dict

ROOT = Path(__file__).resolve().parents[1]

NUMBER_CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.sampled_from(["", "NA", "nan", "NaN", "N/A", "#N/A", " 1.5 ", "\t2", "1,5", "1,234", "inf", "-inf", "1e400",
                     "1e-400", "-nan", "NAN", "1.2.3", "e5", ".5", "5.", "+3", "\u22122", "\u00a01", "3%", "yes",
                     " NA", "0.1000000000000000055511151231257827", "12345678901234567890.123", "1E5", "-0",
                     "  ", "N", "A", "#", "/"]),
    st.text(alphabet="0123456789.eE+-, NAna/#", max_size=6),
)
TEXT_CELLS = st.one_of(st.sampled_from(["Europe", "Asia", "L", "XL", "", "NA", " NA", "nan", "N/A", "1", "2.5",
                                        "True", "false", "x y", "Côte d'Ivoire", "a,b", 'say "hi"', "inf"]),
                       st.text(max_size=5))
CLEAN_NUMBERS = st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr), st.integers(-10**6, 10**6).map(str),
                          st.sampled_from(["", "NA", " 2.5", "1e-3", "-0", "-0.0", "7.", ".25"]))
CLEAN_TEXT = st.sampled_from(["Europe", "Asia", "", "NA", "x y", "Côte d'Ivoire", "a,b", "1", "True"])
CODE_CELLS = st.one_of(st.sampled_from(["AUT", "BEL", "CHN", "", "NA", " DEU ", "aut", "Z", "10", "2"]),
                       st.text(alphabet="ABCxyz019 ", min_size=0, max_size=4))


def _spec(folder: Path, name: str, n_ind: int, groups: list[str], denoms: list[str], unit_name: str | None):
    fw = [{"code": "Index"}] + [{"code": f"i{j}", "parent": "Index"} for j in range(n_ind)]
    return spec_from_dict({"name": "T", "data": {"path": name, "unit_code": "code", "unit_name": unit_name,
                                                 "groups": groups, "denominators": denoms},
                           "framework": fw,
                           "pipeline": [{"step": "normalise", "method": "min_max"}, {"step": "aggregate"}]},
                          base_dir=folder)


def _general(spec) -> IndexData:  # type: ignore[no-untyped-def]
    ds = spec.data
    inds = tuple(n.code for n, leaf in zip(spec.framework, hio._leaves(spec), strict=True) if leaf)
    return hio._load_data_general(spec, inds, set(ds.denominators), None)[0]


def _fast(spec) -> IndexData | None:  # type: ignore[no-untyped-def]
    ds = spec.data
    inds = tuple(n.code for n, leaf in zip(spec.framework, hio._leaves(spec), strict=True) if leaf)
    out = hio._load_plain_csv(spec.resolve(ds.paths[0]), ds, inds, sorted(ds.denominators))
    return None if out is None else out[0]


def assert_same(a: IndexData, b: IndexData) -> None:
    assert a.units.dtype == b.units.dtype == object
    assert list(a.units) == list(b.units)
    assert list(a.names) == list(b.names)
    assert [type(x) for x in a.names] == [type(x) for x in b.names]
    assert a.indicators == b.indicators
    assert a.X.shape == b.X.shape and a.X.dtype == b.X.dtype
    assert np.array_equal(np.isnan(a.X), np.isnan(b.X))
    assert np.array_equal(np.nan_to_num(a.X).view(np.int64), np.nan_to_num(b.X).view(np.int64)), "not the same bits"
    assert a.groups.keys() == b.groups.keys()
    for g in a.groups:
        assert list(a.groups[g]) == list(b.groups[g]), g
        assert [type(x) for x in a.groups[g]] == [type(x) for x in b.groups[g]], g
    assert a.denominators.keys() == b.denominators.keys()
    for d in a.denominators:
        assert np.array_equal(a.denominators[d], b.denominators[d], equal_nan=True), d


@pytest.mark.parametrize("spec_path", ["examples/asem/default.yaml", "hubindex/specs/default.yaml"])
def test_the_shipped_files_take_the_fast_path_and_read_the_same(spec_path: str) -> None:
    import hubindex

    spec = hubindex.load_spec(ROOT / spec_path)
    ds = spec.data
    inds = tuple(n.code for n, leaf in zip(spec.framework, hio._leaves(spec), strict=True) if leaf)
    wanted = set(ds.denominators) | {n.denominator for n in spec.framework if n.denominator}
    fast = hio._load_plain_csv(spec.resolve(ds.paths[0]), ds, inds, sorted(wanted))
    assert fast is not None, "the shipped data should not need the general reader"
    general, hashes = hio._load_data_general(spec, inds, wanted, None)
    assert_same(fast[0], general)
    assert {str(spec.resolve(ds.paths[0])): fast[1]} == hashes
    data, h = hio.load_data(spec)
    assert_same(data, general)
    assert h == hashes


ACCEPTED: list[int] = []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_rows=st.integers(1, 6), n_ind=st.integers(1, 3), data=st.data(),
       with_groups=st.booleans(), with_denom=st.booleans(), with_name=st.booleans(),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), sep=st.sampled_from([",", "\t"]),
       damage=st.sampled_from(["none", "none", "none", "blank line", "short row", "bom", "crlf", "cut"]),
       clean=st.booleans())
def test_fast_reader_agrees_with_the_general_reader_or_declines(n_rows, n_ind, data, with_groups, with_denom,
                                                                with_name, quoting, sep, damage, clean) -> None:
    """``clean``: cells drawn from well-formed values (the fast reader's case); otherwise from anything."""
    numbers, texts = (CLEAN_NUMBERS, CLEAN_TEXT) if clean else (NUMBER_CELLS, TEXT_CELLS)
    cols = ["code"] + [f"i{j}" for j in range(n_ind)]
    groups = ["grp"] if with_groups else []
    denoms = ["den"] if with_denom else []
    cols += groups + denoms + (["label"] if with_name else []) + ["extra"]
    rows = []
    for i in range(n_rows):
        row = [f"U{n_rows - i}" if clean else data.draw(CODE_CELLS)] + [data.draw(numbers) for _ in range(n_ind)]
        row += [data.draw(texts) for _ in groups] + [data.draw(numbers) for _ in denoms]
        row += [data.draw(texts)] if with_name else []
        row += [data.draw(texts)]
        rows.append(row)
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        name = "d.csv" if sep == "," else "d.tsv"
        path = folder / name
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter=sep, quoting=quoting, lineterminator="\r\n" if damage == "crlf" else "\n")
            w.writerow(cols)
            w.writerows(rows)
        raw = path.read_bytes()
        if damage == "blank line":
            raw = raw.replace(b"\n", b"\n\n", 1)
        elif damage == "short row":
            raw = raw.rstrip(b"\n").rsplit(sep.encode(), 1)[0] + b"\n"
        elif damage == "bom":
            raw = b"\xef\xbb\xbf" + raw
        elif damage == "cut":
            raw = raw[: max(1, len(raw) - 3)]
        path.write_bytes(raw)
        spec = _spec(folder, name, n_ind, groups, denoms, "label" if with_name else None)
        fast = _fast(spec)
        try:
            general = _general(spec)
        except DataError:
            assert fast is None, "the fast reader accepted a file the general reader refuses"
            return
        if fast is not None:
            assert_same(fast, general)
            ACCEPTED.append(1)
        assert_same(hio.load_data(spec)[0], general)


def test_the_random_files_exercised_the_fast_path() -> None:
    """The property above is not vacuous: the fast reader accepted (and matched) a good share of the files."""
    if not ACCEPTED:
        test_fast_reader_agrees_with_the_general_reader_or_declines()
    assert len(ACCEPTED) >= 40


def test_fast_reader_declines_what_needs_a_message() -> None:
    """Every refusal still comes from the general reader, with file, row and column."""
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        (folder / "d.csv").write_text("code,i0\nA,1\nB,\"3,5\"\nC,2\n", encoding="utf-8")
        spec = _spec(folder, "d.csv", 1, [], [], None)
        assert _fast(spec) is None
        with pytest.raises(DataError, match=r"d\.csv, row 3, column 'i0'.*decimal comma"):
            hio.load_data(spec)
        (folder / "d.csv").write_text("code,i0\nA,1\nB,1e400\n", encoding="utf-8")
        assert _fast(spec) is None
        with pytest.raises(DataError, match=r"row 3.*finite"):
            hio.load_data(spec)
        (folder / "d.csv").write_text("code,i0\nA,1\nA,2\n", encoding="utf-8")
        with pytest.raises(DataError, match="duplicate unit 'A'"):
            hio.load_data(spec)


def test_fast_reader_sorts_units_and_reads_missing_cells() -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        (folder / "d.csv").write_text("code,i0,i1,grp,label\nB,1.5,NA,Asia,Bee\nA,,2e3,,Ay\nC,N/A,-.5,NA,NA\n",
                                      encoding="utf-8")
        spec = _spec(folder, "d.csv", 2, ["grp"], [], "label")
        fast = _fast(spec)
        assert fast is not None
        assert list(fast.units) == ["A", "B", "C"]
        assert list(fast.names) == ["Ay", "Bee", ""]
        assert list(fast.groups["grp"]) == [None, "Asia", None]
        np.testing.assert_array_equal(fast.X, [[np.nan, 2000.0], [1.5, np.nan], [np.nan, -0.5]])
