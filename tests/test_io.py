"""Property tests of every loader (index data CSV/XLSX/Parquet, COINr iMeta, survey respondents, expert factors,
city targets): whatever the bytes, encoding, delimiter or number format, a loader returns the right values or
raises a DataError naming the file (and the row and column where one applies) — never another exception type,
never a silently wrong number.

Examples are fixed by default (the derandomized profile in tests/conftest.py); ``HYPOTHESIS_PROFILE=explore``
draws fresh ones.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubindex.errors import DataError
from hubindex.io import NA_TOKENS, load_data, number_problem, parse_numbers, read_table_rows
from hubindex.spec import read_framework_table, spec_from_dict

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False)
#: the strict grammar of a number cell (after trimming, with U+2212 read as '-')
GRAMMAR = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def parse_one(text: object) -> tuple[float, str | None]:
    vals, bad, why = parse_numbers(np.array([text], dtype=object))
    return float(vals[0]), (why if bad is not None else None)


# ------------------------------------------------------------------------------------------------------------
# one cell
# ------------------------------------------------------------------------------------------------------------
@SETTINGS
@given(st.text(max_size=30))
def test_any_text_is_its_number_or_refused(text: str) -> None:
    """The only texts accepted are those of the strict grammar, and they are read as Python's float reads them."""
    v, why = parse_one(text)
    t = text.strip().replace("\u2212", "-")
    if why is None:
        if t in NA_TOKENS:
            assert np.isnan(v)
        else:
            assert GRAMMAR.fullmatch(t), text
            assert v == float(t) and np.isfinite(v)
    else:
        assert "expected a" in why and repr(text) in why


@SETTINGS
@given(finite, st.sampled_from(["{!r}", "{:.6g}", "{:e}", "{:.3f}", "{:+.10g}"]),
       st.sampled_from(["", " ", "\t", "\u00a0", "  "]), st.sampled_from(["", " ", "\u00a0", "\t"]),
       st.booleans())
def test_well_formed_numbers_are_read_exactly(x: float, fmt: str, lead: str, trail: str, typeset_minus: bool
                                              ) -> None:
    text = fmt.format(x)
    want = float(text)
    if typeset_minus:
        text = text.replace("-", "\u2212", 1) if text.startswith("-") else text
    v, why = parse_one(lead + text + trail)
    if np.isfinite(want):
        assert why is None and v == want
    else:  # rounding to fewer digits overflowed (1.7976931345e+308 → inf): refused, not read as infinity
        assert why is not None and "finite" in why


@SETTINGS
@given(st.integers(0, 999), st.integers(0, 10**6))
def test_decimal_comma_is_refused_with_a_hint(a: int, b: int) -> None:
    text = f"{a},{b}"
    _, why = parse_one(text)
    assert why is not None and ("decimal comma" in why or "thousands separator" in why), why


@SETTINGS
@given(st.integers(1000, 10**12), st.sampled_from([",", "\u00a0", " ", "\u202f", "'"]))
def test_thousands_separators_are_refused_with_a_hint(n: int, sep: str) -> None:
    text = f"{n:,}".replace(",", sep)
    _, why = parse_one(text)
    assert why is not None and "thousands" in why and repr(text) in why


@SETTINGS
@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_percent_sign_is_refused(x: float) -> None:
    _, why = parse_one(f"{x:g}%")
    assert why is not None and "percent" in why


@pytest.mark.parametrize("text", ["inf", "-inf", "+inf", "Infinity", "-Infinity", "INF", "1e400", "-1e309",
                                  "9" * 400, "∞"])
def test_infinite_values_are_refused(text: str) -> None:
    _, why = parse_one(text)
    assert why is not None and "finite" in why


@pytest.mark.parametrize(("cell", "ok"), [
    (3.5, 3.5), (np.float32(0.25), 0.25), (np.int64(7), 7.0), (None, np.nan), (np.nan, np.nan),
    (float("inf"), None), (np.float64("-inf"), None), (True, None), (np.bool_(False), None),
    (pd.Timestamp("2024-01-01"), None), ("#DIV/0!", None),
])
def test_typed_cells_from_excel_and_parquet(cell: object, ok: float | None) -> None:
    v, why = parse_one(cell)
    if ok is None:
        assert why is not None and "expected a" in why
    elif np.isnan(ok):
        assert why is None and np.isnan(v)
    else:
        assert why is None and v == ok


def test_messages_name_the_likely_mistake() -> None:
    assert number_problem("3,5") == "expected a number; got '3,5' — decimal comma? write 3.5"
    assert "write 1234567" in number_problem("1,234,567")
    assert "3.5" in number_problem("3,500") and "3500" in number_problem("3,500")
    assert "write 1234.5" in number_problem("1.234,5")
    assert "percent" in number_problem("45%")
    assert number_problem("thirty") == "expected a number or an empty cell; got 'thirty'"


# ------------------------------------------------------------------------------------------------------------
# index data files (CSV), through load_data
# ------------------------------------------------------------------------------------------------------------
INDICATORS = ("a", "b", "c")


def spec_for(d: Path, data: str = "data.csv") -> object:
    return spec_from_dict({
        "name": "T", "data": {"path": data, "unit_code": "code", "unit_name": "name"},
        "framework": [{"code": "IDX"}, *({"code": c, "parent": "IDX"} for c in INDICATORS)],
        "pipeline": [{"step": "normalise"}, {"step": "aggregate"}],
    }, base_dir=d)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], np.ndarray]:
    n = draw(st.integers(1, 8))
    units = [f"U{i}" for i in range(n)]
    cells = st.one_of(finite, st.just(np.nan))
    X = np.array([[draw(cells) for _ in INDICATORS] for _ in range(n)], dtype=float)
    return units, X


def csv_text(units: list[str], X: np.ndarray, *, eol: str = "\n", quote: bool = False, final_eol: bool = True,
             blank_lines: bool = False, sep: str = ",") -> str:
    def cell(v: float) -> str:
        s = "" if np.isnan(v) else repr(float(v))
        return f'"{s}"' if quote else s

    lines = [sep.join(["code", "name", *INDICATORS])]
    for u, row in zip(units, X, strict=True):
        lines.append(sep.join([u, f"Name é {u}", *(cell(v) for v in row)]))
        if blank_lines:
            lines.append("")
    return eol.join(lines) + (eol if final_eol else "")


def load_text(d: Path, body: bytes | str, name: str = "data.csv") -> tuple[list[str], np.ndarray]:
    p = d / name
    p.write_bytes(body.encode() if isinstance(body, str) else body)
    data, _ = load_data(spec_for(d, name))  # type: ignore[arg-type]
    return list(data.units), data.X


def assert_names_file(e: DataError, file: str = "data.csv") -> None:
    assert file in str(e), str(e)


@SETTINGS
@given(tables(), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_valid_csv_is_read_exactly(t: tuple[list[str], np.ndarray], eol: str, quote: bool, final_eol: bool,
                                   blank: bool, bom: bool) -> None:
    units, X = t
    text = csv_text(units, X, eol=eol, quote=quote, final_eol=final_eol, blank_lines=blank)
    with folder() as d:
        got_units, got = load_text(d, ("\ufeff" if bom else "") + text)
    order = np.argsort(units, kind="stable")
    assert got_units == [units[i] for i in order]
    np.testing.assert_array_equal(got, X[order])  # bit for bit, NaN where empty


HARD = r"[+-]?[0-9]{1,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,3})?"


@SETTINGS
@given(st.lists(st.from_regex(HARD, fullmatch=True), min_size=1, max_size=20))
def test_long_decimals_are_read_correctly_rounded(texts: list[str]) -> None:
    """Numbers pandas' CSV parser reads itself (unquoted, a numeric column) equal Python's float, bit for bit."""
    body = "code,name,a,b,c\n" + "".join(f"U{k:02d},n,{t},1,2\n" for k, t in enumerate(texts))
    want = np.array([float(t) for t in texts])
    with folder() as d:
        try:
            _, got = load_text(d, body)
        except DataError as e:
            assert not np.isfinite(want).all() and "finite" in str(e) and "column 'a'" in str(e), str(e)
            return
    np.testing.assert_array_equal(got[:, 0], want)


def test_pandas_float_parser_is_correctly_rounded() -> None:
    """The claim behind reading numeric CSV columns with pandas: 20,000 hard decimal strings (up to 40 digits,
    extreme exponents, subnormals) read exactly as Python's correctly rounded float reads them."""
    rng = np.random.default_rng(12)
    texts = []
    for _ in range(20000):
        digits = "".join(rng.choice(list("0123456789"), rng.integers(1, 40)))
        point = int(rng.integers(0, len(digits) + 1))
        texts.append(f"{digits[:point]}.{digits[point:]}e{int(rng.integers(-330, 300))}")
    with folder() as d:
        (d / "x.csv").write_text("v\n" + "\n".join(texts) + "\n")
        df, _ = read_table_rows(d / "x.csv")
    got = df["v"].to_numpy(dtype=float)
    want = np.array([float(t) for t in texts])
    np.testing.assert_array_equal(got, want)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_are_read_or_refused_naming_the_file(raw: bytes) -> None:
    with folder() as d:
        try:
            load_text(d, raw)
        except DataError as e:
            assert_names_file(e)


@SETTINGS
@given(tables(), st.data())
def test_truncated_csv_is_refused_or_a_prefix_of_the_rows(t: tuple[list[str], np.ndarray], data: st.DataObject
                                                          ) -> None:
    """A file cut at any byte: refused (naming the file and the row), or read as the rows it still holds. The one
    cut that cannot be told from a complete file is one inside the last field of the last line (a final newline
    is not required): that field then holds a prefix of its text — documented in docs/spec.md."""
    units, X = t
    text = csv_text(units, X)
    cut = data.draw(st.integers(0, len(text) - 1))
    part = text[:cut]
    with folder() as d:
        try:
            got_units, got = load_text(d, part)
        except DataError as e:
            assert_names_file(e)
            return
    k = len(got_units)
    assert k >= 1
    full = dict(zip(units, X, strict=True))
    lines = part.split("\n")
    last_cut = not part.endswith("\n") and lines[-1].split(",")[0] in got_units
    for u, row in zip(got_units, got, strict=True):
        want = full[u]
        if last_cut and u == lines[-1].split(",")[0]:
            np.testing.assert_array_equal(row[:-1], want[:-1])
            shown = lines[-1].split(",")[-1]
            assert repr(float(want[-1])).startswith(shown) if shown else np.isnan(row[-1])
        else:
            np.testing.assert_array_equal(row, want)


@FEW
@given(tables(), st.sampled_from([";", "\t"]))
def test_other_delimiters_are_refused_naming_the_file(t: tuple[list[str], np.ndarray], sep: str) -> None:
    units, X = t
    with folder() as d, pytest.raises(DataError) as ei:
        load_text(d, csv_text(units, X, sep=sep))
    assert_names_file(ei.value)
    assert ("semicolon" if sep == ";" else "tab") in str(ei.value)


@FEW
@given(tables(), st.sampled_from(["latin-1", "utf-16", "utf-16-le", "cp1252"]))
def test_other_encodings_are_refused_naming_the_file(t: tuple[list[str], np.ndarray], enc: str) -> None:
    units, X = t
    body = csv_text(units, X).encode(enc) if enc != "utf-16-le" else b"\xff\xfe" + csv_text(units, X).encode(enc)
    with folder() as d, pytest.raises(DataError) as ei:
        load_text(d, body)
    assert_names_file(ei.value)
    assert "UTF-8" in str(ei.value)


NUMBER_FORMS = st.one_of(
    st.builds(lambda a, b: f"{a},{b}", st.integers(0, 999), st.integers(0, 999)),
    st.builds(lambda n: f"{n:,}", st.integers(1000, 10**9)),
    st.builds(lambda x: f"{x:g}%", st.floats(0, 100)),
    st.builds(lambda x: f"\u2212{x!r}", st.floats(0, 1e6)),
    st.builds(lambda x, s: f"{s}{x!r}{s}", finite, st.sampled_from([" ", "\u00a0", "\t"])),
    st.sampled_from(["inf", "-inf", "Infinity", "1e400", "NaN", "N/A", "", "TRUE", "1_000", "0x10", "1.2.3"]),
)


@SETTINGS
@given(tables(), NUMBER_FORMS, st.data())
def test_number_formats_in_a_quoted_cell(t: tuple[list[str], np.ndarray], form: str, data: st.DataObject) -> None:
    """A cell in any of these forms: read as its number, or a DataError naming file, row and column."""
    units, X = t
    i = data.draw(st.integers(0, len(units) - 1))
    j = data.draw(st.integers(0, len(INDICATORS) - 1))
    lines = csv_text(units, X).split("\n")
    cells = lines[i + 1].split(",")
    cells[2 + j] = '"' + form.replace('"', '""') + '"'
    lines[i + 1] = ",".join(cells)
    with folder() as d:
        try:
            got_units, got = load_text(d, "\n".join(lines))
        except DataError as e:
            msg = str(e)
            assert f"data.csv, row {i + 2}, column '{INDICATORS[j]}'" in msg, msg
            return
    v = got[got_units.index(units[i]), j]
    t_ = form.strip().replace("\u2212", "-")
    if t_ in NA_TOKENS:
        assert np.isnan(v)
    else:
        assert GRAMMAR.fullmatch(t_) and v == float(t_)


@SETTINGS
@given(tables(), st.data())
def test_rows_with_a_wrong_field_count_are_refused(t: tuple[list[str], np.ndarray], data: st.DataObject) -> None:
    units, X = t
    lines = csv_text(units, X).split("\n")
    i = data.draw(st.integers(0, len(units) - 1))
    delta = data.draw(st.sampled_from([-2, -1, 1, 2]))
    cells = lines[i + 1].split(",")
    cells = cells[:delta] if delta < 0 else cells + ["9"] * delta
    lines[i + 1] = ",".join(cells)
    with folder() as d, pytest.raises(DataError) as ei:
        load_text(d, "\n".join(lines))
    msg = str(ei.value)
    assert f"data.csv, row {i + 2}: " in msg and f"expected {2 + len(INDICATORS)} fields" in msg
    assert f"got {len(cells)}" in msg


def test_row_numbers_count_blank_lines_and_multiline_cells() -> None:
    text = 'code,name,a,b,c\nU1,"two\nlines",1,2,3\n\nU2,x,1,"3,5",3\n'
    with folder() as d, pytest.raises(DataError, match=r"data\.csv, row 5, column 'b': .*decimal comma"):
        load_text(d, text)


# ------------------------------------------------------------------------------------------------------------
# XLSX and Parquet
# ------------------------------------------------------------------------------------------------------------
BAD_TYPED = [("inf", "finite"), ("3,5", "decimal comma"), (True, "yes/no"), (float("inf"), "finite"),
             ("1e400", "finite"), ("Infinity", "finite")]


@pytest.mark.parametrize(("bad", "why"), BAD_TYPED)
@pytest.mark.parametrize("ext", ["parquet", "xlsx"])
def test_excel_and_parquet_refuse_bad_numbers(bad: object, why: str, ext: str) -> None:
    if ext == "xlsx" and isinstance(bad, float):
        pytest.skip("an XLSX cell cannot hold an infinite number")
    df = pd.DataFrame({"code": ["U1", "U2", "U3"], "name": ["x", "y", "z"], "a": [1.0, 2.0, 3.0],
                       "b": pd.Series([1.5, bad, 2.5], dtype=object), "c": [0.1, 0.2, 0.3]})
    with folder() as d:
        p = d / f"data.{ext}"
        if ext == "parquet":
            if isinstance(bad, float):
                df["b"] = df["b"].astype(float)
            elif isinstance(bad, bool):  # a boolean column (a mixed one is written as numbers by pyarrow)
                df["b"] = pd.Series([np.nan, bad, np.nan], dtype=object).astype("boolean")
            else:
                df["b"] = df["b"].astype(str)
            df.to_parquet(p)
        else:
            df.to_excel(p, index=False)
        with pytest.raises(DataError) as ei:
            load_data(spec_for(d, p.name))  # type: ignore[arg-type]
    msg = str(ei.value)
    row = 3 if ext == "xlsx" else 2  # the sheet row (header = row 1); the record number in Parquet
    assert f"data.{ext}, row {row}, column 'b'" in msg and why in msg, msg


@pytest.mark.parametrize("ext", ["parquet", "xlsx"])
def test_excel_and_parquet_good_numbers(ext: str) -> None:
    df = pd.DataFrame({"code": ["U1", "U2"], "name": ["x", "y"], "a": [1.25, np.nan], "b": ["1.5", "2"],
                       "c": [0.1, 1e300]})
    with folder() as d:
        p = d / f"data.{ext}"
        df.to_parquet(p) if ext == "parquet" else df.to_excel(p, index=False)
        data, _ = load_data(spec_for(d, p.name))  # type: ignore[arg-type]
    np.testing.assert_array_equal(data.X, [[1.25, 1.5, 0.1], [np.nan, 2.0, 1e300]])


@FEW
@given(st.binary(max_size=400), st.sampled_from(["xlsx", "parquet"]))
def test_random_bytes_as_excel_or_parquet(raw: bytes, ext: str) -> None:
    with folder() as d:
        try:
            load_text(d, raw, f"data.{ext}")
        except DataError as e:
            assert_names_file(e, f"data.{ext}")


# ------------------------------------------------------------------------------------------------------------
# COINr iMeta
# ------------------------------------------------------------------------------------------------------------
IMETA = """Level,iCode,iName,Direction,Weight,Unit,Target,Denominator,Parent,Type
1,a,A,1,1,u,,,P1,Indicator
1,b,B,-1,2,u,,,P1,Indicator
1,c,C,1,1,u,,,P2,Indicator
2,P1,Pillar 1,1,1,,,,IDX,Aggregate
2,P2,Pillar 2,1,1,,,,IDX,Aggregate
3,IDX,Index,1,1,,,,,Aggregate
,region,Region,,,,,,,Group
"""
IMETA_COLS = IMETA.splitlines()[0].split(",")


@SETTINGS
@given(st.integers(1, 6), st.sampled_from(IMETA_COLS),
       st.one_of(st.sampled_from(["", "2", "-1", "0", "1.5", "x", "P1", "a", "IDX", "region", "Q", "inf", "1,5",
                                  "Indicator", "Aggregate", "Other", "Group", "-0.5", "1e400"]),
                 st.text(max_size=6).filter(lambda s: not set(s) & set(',"\r\n'))))
def test_imeta_mutations_are_valid_or_name_imeta_row_column(row: int, col: str, value: str) -> None:
    lines = IMETA.splitlines()
    cells = lines[row].split(",")
    cells[IMETA_COLS.index(col)] = value
    lines[row] = ",".join(cells)
    with folder() as d:
        (d / "iMeta.csv").write_text("\n".join(lines) + "\n")
        try:
            nodes, _, _ = read_framework_table(d / "iMeta.csv")
        except DataError as e:
            msg = str(e)
            assert "iMeta.csv" in msg, msg
            if "row" not in msg:  # a whole-table problem (no root) or the tree as a whole
                assert "Parent" in msg or "root" in msg, msg
            return
        # accepted: the spec built from it validates (no SpecError later blaming spec.yaml)
        spec_from_dict({"name": "T", "data": {"path": "d.csv", "unit_code": "code"}, "framework": "iMeta.csv",
                        "pipeline": [{"step": "normalise"}, {"step": "aggregate"}]}, base_dir=d)
        assert all(n.get("direction", 1) in (1, -1) and n.get("weight", 1) >= 0 for n in nodes)


@pytest.mark.parametrize(("row", "col", "value", "needles"), [
    (1, "Parent", "Nope", ("row 2", "'Parent'", "unknown parent 'Nope'")),
    (4, "Parent", "a", ("row 5", "'Parent'", "Indicator")),
    (6, "Parent", "P1", ("row 7", "'Parent'", "cycle P1 -> IDX -> P1")),
    (2, "Weight", "-1", ("row 3", "'Weight'", ">= 0")),
    (2, "Direction", "2", ("row 3", "'Direction'", "1", "-1")),
    (3, "Type", "Indicatr", ("row 4", "'Type'", "Indicatr")),
    (1, "Weight", '"0,5"', ("row 2", "'Weight'", "decimal comma")),
    (1, "Level", "1.5", ("row 2", "'Level'", "whole number")),
    (1, "iCode", "b", ("row 3", "'iCode'", "also on row 2")),
    (1, "Parent", "region", ("row 2", "'Parent'", "a Group row (row 8)")),
    (5, "Parent", "", ("'Parent'", "exactly one root", "'P2'")),
])
def test_imeta_errors_name_row_and_column(row: int, col: str, value: str, needles: tuple[str, ...]) -> None:
    lines = IMETA.splitlines()
    cells = lines[row].split(",")
    cells[IMETA_COLS.index(col)] = value
    lines[row] = ",".join(cells)
    with folder() as d:
        (d / "iMeta.csv").write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError) as ei:
            read_framework_table(d / "iMeta.csv")
    msg = str(ei.value)
    assert "iMeta.csv" in msg and ei.value.exit_code == 3
    for n in needles:
        assert n in msg, (n, msg)


# ------------------------------------------------------------------------------------------------------------
# survey respondents, expert factors, city targets
# ------------------------------------------------------------------------------------------------------------
SURVEY = """name: T
data: {path: resp.csv, id: id, weight: wgt, unit: city}
measures:
  - {code: m1, items: [q1], yes: [1], denominator: {label: all}}
min_n: 1
"""
RESP = "id,wgt,city,q1\n" + "".join(f"r{i},{1 + i % 3},{'AA' if i % 2 else 'BB'},{1 + i % 2}\n" for i in range(8))


def read_resp(d: Path, body: bytes | str) -> pd.DataFrame:
    from hubindex.survey.spec import load_survey_spec, read_respondents

    (d / "resp.csv").write_bytes(body.encode() if isinstance(body, str) else body)
    (d / "survey.yaml").write_text(SURVEY)
    return read_respondents(load_survey_spec(d / "survey.yaml"))[0]


@SETTINGS
@given(st.one_of(st.binary(max_size=200), st.integers(0, len(RESP) - 1).map(lambda k: RESP[:k].encode())))
def test_respondents_random_or_truncated(raw: bytes) -> None:
    with folder() as d:
        try:
            df = read_resp(d, raw)
        except DataError as e:
            assert "resp.csv" in str(e), str(e)
            return
        assert (df["wgt"] > 0).all() and np.isfinite(df["wgt"]).all()


@SETTINGS
@given(NUMBER_FORMS, st.integers(0, 7))
def test_respondent_weights_are_numbers_or_refused(form: str, i: int) -> None:
    lines = RESP.splitlines()
    cells = lines[i + 1].split(",")
    cells[1] = '"' + form + '"'
    lines[i + 1] = ",".join(cells)
    with folder() as d:
        try:
            df = read_resp(d, "\n".join(lines) + "\n")
        except DataError as e:
            assert f"resp.csv, row {i + 2}, column 'wgt'" in str(e), str(e)
            return
    t_ = form.strip().replace("\u2212", "-")
    assert GRAMMAR.fullmatch(t_) and df["wgt"].iloc[i] == float(t_) > 0


def test_respondent_file_cut_mid_row_is_refused() -> None:
    with folder() as d, pytest.raises(DataError, match=r"resp\.csv, row 9: .*expected 4 fields, .*got 2.*cut short"):
        read_resp(d, RESP[: RESP.rindex("\n", 0, len(RESP) - 1) + 4])


FACTORS = "centre,f1,f2\nC0,1,2\nC1,2,3\nC2,3,1\n"


def _with_cell(csv_text: str, row: int, col: int, form: str) -> str:
    """``csv_text`` (a simple CSV) with data row ``row``'s column ``col`` replaced by ``form``, quoted."""
    lines = csv_text.splitlines()
    cells = lines[row + 1].split(",")
    cells[col] = '"' + form + '"'
    lines[row + 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


@SETTINGS
@given(NUMBER_FORMS, st.integers(0, 2))
def test_expert_factors_are_numbers_or_refused(form: str, i: int) -> None:
    from hubindex.survey.expert import read_factors

    with folder() as d:
        (d / "factors.csv").write_text(_with_cell(FACTORS, i, 1, form))
        try:
            f = read_factors(d / "factors.csv")
        except DataError as e:
            assert "factors.csv" in str(e), str(e)
            return
    t_ = form.strip().replace("\u2212", "-")
    v = f["f1"].iloc[i]
    assert (np.isnan(v) and t_ in NA_TOKENS) or (GRAMMAR.fullmatch(t_) and v == float(t_))


TARGETS = ("kind,city,measure,relation,value,unit,deadline,year\n"
           "target,Hangzhou,m,>=,100,bn,2030,\nobservation,Hangzhou,m,=,80,bn,,2024\n")


@SETTINGS
@given(NUMBER_FORMS, st.integers(0, 1))
def test_target_values_are_numbers_or_refused(form: str, i: int) -> None:
    from hubindex.store import load_targets

    with folder() as d:
        (d / "t.csv").write_text(_with_cell(TARGETS, i, 4, form))
        try:
            t = load_targets(d / "t.csv")
        except DataError as e:
            assert f"t.csv, row {i + 2}, column 'value'" in str(e), str(e)
            return
    t_ = form.strip().replace("\u2212", "-")
    assert GRAMMAR.fullmatch(t_) and t["value"].iloc[i] == float(t_)


@SETTINGS
@given(st.one_of(st.binary(max_size=200), st.integers(0, len(TARGETS) - 1).map(lambda k: TARGETS[:k].encode())))
def test_targets_random_or_truncated(raw: bytes) -> None:
    from hubindex.store import load_targets

    with folder() as d:
        (d / "t.csv").write_bytes(raw)
        try:
            t = load_targets(d / "t.csv")
        except DataError as e:
            assert "t.csv" in str(e), str(e)
            return
    assert len(t) <= 2


def test_read_table_rows_line_numbers() -> None:
    with folder() as d:
        (d / "x.csv").write_text('a,b\n1,2\n\n"x\ny",3\n4,5')
        df, rows = read_table_rows(d / "x.csv")
    assert list(rows) == [2, 4, 6] and len(df) == 3


# -- several data files: the per-file block read of parsed numeric columns (load_data's fast path) --------------


def _two_file_spec(d: Path, a: str, b: str):  # type: ignore[no-untyped-def]
    (d / "a.csv").write_text(a, encoding="utf-8")
    (d / "b.csv").write_text(b, encoding="utf-8")
    fw = [{"code": "Index"}, *({"code": c, "parent": "Index"} for c in ("i3", "i1", "i4", "i2"))]
    return spec_from_dict({"name": "T", "data": {"path": ["a.csv", "b.csv"], "unit_code": "u"}, "framework": fw,
                           "pipeline": [{"step": "normalise"}, {"step": "aggregate"}]}, base_dir=d)


def test_two_files_are_joined_column_by_column_values() -> None:
    """Units missing from one file get NaN in its columns; numeric (float, int) and text-parsed columns of both
    files (i2 holds a U+2212 minus, so pandas leaves it as text) land in the framework's indicator order, units
    sorted by code — values written out by hand."""
    with folder() as d:
        spec = _two_file_spec(d, "u,i1,i2\nC,3.5,NA\nA,1.25,\u22127\n",
                              "u,i3,i4\nB,10,-2.5e1\nC,20,4\nD,,8\n")
        data, hashes = load_data(spec)
        assert list(data.units) == ["A", "B", "C", "D"] and data.indicators == ("i3", "i1", "i4", "i2")
        nan = np.nan
        expected = np.array([[nan, 1.25, nan, -7.0], [10.0, nan, -25.0, nan], [20.0, 3.5, 4.0, nan],
                             [nan, nan, 8.0, nan]])
        assert np.array_equal(data.X, expected, equal_nan=True)
        assert sorted(Path(p).name for p in hashes) == ["a.csv", "b.csv"]


def test_two_files_first_refused_cell_in_indicator_order() -> None:
    """An overflow in b.csv's numeric column (i3, first indicator) is reported before a decimal comma in a.csv's
    text column (i2, last): the error names the same cell as a column-by-column read."""
    with folder() as d:
        spec = _two_file_spec(d, 'u,i1,i2\nA,1,"3,5"\n', "u,i3,i4\nA,1e400,2\n")
        with pytest.raises(DataError, match=r"b\.csv.*row 2.*i3.*finite number"):
            load_data(spec)
        spec = _two_file_spec(d, 'u,i1,i2\nA,1,"3,5"\n', "u,i3,i4\nA,5,2\n")
        with pytest.raises(DataError, match=r"a\.csv.*row 2.*i2.*decimal comma"):
            load_data(spec)
