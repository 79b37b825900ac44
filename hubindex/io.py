"""I/O at the edge: read the data files a spec names into the engine's ``IndexData``, with clear errors.

Every user mistake becomes a :class:`~hubindex.errors.DataError` naming the file, the row (as the line number
a person sees in the file, header = line 1), the column, what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine.data import IndexData
from hubindex.errors import DataError, OutputError, where
from hubindex.spec import IndexSpec

__all__ = ["read_table", "load_data", "file_sha256", "atomic_dir", "atomic_write_text", "check_output_dir",
           "csv_parser_message", "reader_errors"]
__all__ += ["read_table_rows", "parse_numbers", "number_problem", "NA_TOKENS", "csv_record_lines"]

_CSV = {".csv", ".txt", ".tsv"}
_EXCEL = {".xlsx", ".xlsm", ".xls"}
_PARQUET = {".parquet", ".pq"}


#: Cells that mean "no value" in every data file (CSV, XLSX, Parquet text); anything else in a numeric column must
#: be a number (see :func:`parse_numbers`).
NA_TOKENS = ("", "NA", "NaN", "nan", "N/A", "#N/A")


def read_table(path: Path, sheet: str | int | None = None, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV/TSV, XLSX or Parquet file; empty cells and :data:`NA_TOKENS` are missing; ``text_columns`` are
    kept as text. A CSV whose records do not all have as many fields as its header is refused
    (:func:`csv_record_lines`)."""
    return read_table_rows(path, sheet, text_columns)[0]


def read_table_rows(path: Path, sheet: str | int | None = None, text_columns: tuple[str, ...] = (), *,
                    row_name: str = "unit") -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`read_table` and, for each row, its number as a person sees it: the line on which the record starts
    in a CSV (header = line 1, blank lines counted), the sheet row in XLSX (header = row 1), the record number
    (from 1) in Parquet. ``row_name`` says what one row is, for messages ("unit", "indicator", …)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: data file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a CSV, XLSX or Parquet file")
    ext = path.suffix.lower()
    lines: np.ndarray | None = None
    try:
        with reader_errors(path, row_name):
            if ext in _CSV:
                sep = "\t" if ext == ".tsv" else ","
                lines = csv_record_lines(path, sep)
                df = pd.read_csv(path, sep=sep, dtype=dict.fromkeys(text_columns, str), keep_default_na=False,
                                 na_values=list(NA_TOKENS))
            elif ext in _EXCEL:
                df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object,
                                   keep_default_na=False, na_values=list(NA_TOKENS))
                lines = np.arange(len(df)) + 2
            elif ext in _PARQUET:
                df = pd.read_parquet(path)
                lines = np.arange(len(df)) + 1
            else:
                raise DataError(f"{path}: unsupported file type '{ext}'; expected .csv, .tsv, .xlsx or .parquet")
    except DataError:
        raise
    except (ValueError, OSError, KeyError) as e:
        raise DataError(f"{path}: cannot be read ({e})") from None
    except Exception as e:  # noqa: BLE001 - openpyxl/pyarrow raise their own types for corrupt files
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    if df.shape[1] == 0:
        raise DataError(f"{path}: no columns found; expected a header row")
    df.columns = [str(c).strip() for c in df.columns]
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise DataError(f"{path}: column name(s) {dup} appear more than once in the header")
    if lines is None or len(lines) != len(df):  # the csv module and pandas disagree (never seen): count rows
        lines = np.arange(len(df)) + 2
    return df, lines


def csv_record_lines(path: Path, sep: str = ",") -> np.ndarray:
    """Check a CSV's layout; return the line on which each data record starts (header = line 1).

    Refused (:class:`DataError`): UTF-16 text; a one-field header holding ``;`` or tabs (another delimiter); a
    record with more or fewer fields than the header (pandas would silently pad a short record — a file cut in
    the middle of a row — with missing values, and shift a long one). Blank lines are skipped, as pandas does.
    A last record without a final newline is fine when it is complete.
    """
    import csv

    with open(path, "rb") as fb:
        head = fb.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(f"{path}: UTF-16 text; expected UTF-8 (save the file as 'CSV UTF-8')")
    lines: list[int] = []
    n = 0
    start = 1
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=sep)
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):  # a blank line
                    start = reader.line_num + 1
                    continue
                if n == 0:
                    n = len(row)
                    if n == 1:
                        _other_delimiter(path, row[0], sep)
                elif len(row) != n:
                    last = next(reader, None) is None
                    raise DataError(_field_count_message(path, start, n, len(row), sep,
                                                         cut=last and not _ends_with_newline(path)))
                else:
                    lines.append(start)
                start = reader.line_num + 1
        except csv.Error as e:
            raise DataError(f"{where(path, reader.line_num)}malformed CSV ({e})") from None
    return np.asarray(lines, dtype=np.int64)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) in (b"\n", b"\r")


def _other_delimiter(path: Path, header: str, sep: str) -> None:
    for ch, name in ((";", "semicolon"), ("\t", "tab"), (",", "comma")):
        if ch != sep and ch in header:
            want = "tab" if sep == "\t" else "comma"
            raise DataError(f"{where(path, 1)}the header has no {want}s but {header.count(ch)} {name}(s): the file "
                            f"looks {name}-separated; expected a {want}-separated file with '.' as the decimal "
                            "mark (in Excel: save as 'CSV UTF-8 (comma delimited)')")


def _field_count_message(path: Path, row: int, n: int, m: int, sep: str, *, cut: bool) -> str:
    head = f"{where(path, row)}malformed CSV: expected {n} fields, as many as the header, got {m}"
    if cut:
        return head + "; the last line is incomplete: the file looks cut short (copy it again)"
    d = "tab" if sep == "\t" else "comma"
    if m < n:
        return head + f" (a missing value still needs its {d} — an empty field —, or the file was cut short?)"
    return head + (f" (a stray {d}, a decimal comma such as 3,5 — write 3.5 —, or a value with a {d} that "
                   "needs quotes?)")


@contextmanager
def reader_errors(path: Path, rows: str) -> Iterator[None]:
    """Turn a pandas reader's failures into one :class:`DataError` naming the file: an empty file, a malformed CSV
    (line and field counts), text that is not UTF-8. ``rows`` says what one row is ("unit", "respondent", …)."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a header row and one row per {rows}") from None
    except pd.errors.ParserError as e:
        raise DataError(f"{path}: {csv_parser_message(e)}") from None
    except UnicodeDecodeError:
        raise DataError(_not_utf8(path)) from None


def _not_utf8(path: Path) -> str:
    """'data.csv, row 3: not UTF-8 text (byte 0xd6 at character 17); …' — where the first bad byte is."""
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        return (f"{where(path, line)}not UTF-8 text (byte 0x{data[e.start]:02x} at character {col}); expected UTF-8 "
                "(a Latin-1/Windows-1252 file? save it as 'CSV UTF-8')")
    return f"{path}: not UTF-8 text; expected UTF-8"


def csv_parser_message(e: Exception) -> str:
    """pandas' tokenizer message → 'malformed CSV: line 7 has 9 fields; expected 7 (as many as the header)'."""
    import re

    text = str(e).strip()
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if m:
        want, line, saw = m.groups()
        return (f"malformed CSV: line {line} has {saw} fields; expected {want}, as many as the header "
                "(a stray comma, or a value with a comma that needs quotes?)")
    text = re.sub(r"^Error tokenizing data\. C error: ", "", text)
    return f"malformed CSV ({text}); expected comma-separated fields, the same number on every line"


def file_sha256(path: Path) -> str:
    """SHA-256 of an input file (symbolic links followed)."""
    return sha256_file(path, follow_links=True)


# -- numbers ---------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NA_SET = frozenset(NA_TOKENS)
_MINUS = "\u2212"  # MINUS SIGN, as typeset by word processors: read as '-'
_SPACES = " \u00a0\u202f\u2009'\u2019"  # thousands separators in some locales: space, NBSP, thin spaces, apostrophe


def parse_numbers(cells: np.ndarray | pd.Series) -> tuple[np.ndarray, int | None, str]:
    """Read cells (text, numbers, missing) as floats, strictly.

    A cell is missing when empty, NaN/None or one of :data:`NA_TOKENS` (after trimming spaces). Text is a number
    only when, trimmed and with U+2212 (−) read as ``-``, it matches ``[+-]digits[.digits][e[+-]digits]``; it is
    then converted correctly rounded (as Python's ``float``). Everything else is refused, never guessed: a
    decimal comma (``3,5``), thousands separators (``1,234,567``, ``1 234``), a percent sign, currency, ``inf`` or
    a number too large for a double (``1e400``), a yes/no value. Returns the values, the index of the first
    refused cell (``None`` when all are fine) and why it was refused.

    Plain cells (the grammar with ASCII spaces around) are matched and converted in bulk by Arrow (its
    string-to-double cast is correctly rounded: tested against ``float`` in tests/test_io.py); every other
    non-missing cell goes through the cell-by-cell rule below, which also writes the messages.
    """
    n = len(cells)
    out = np.full(n, np.nan)
    todo: np.ndarray | None = None
    bad: list[tuple[int, str]] = []
    fast = _plain_numbers(cells)
    if fast is not None:
        plain, vals, null = fast
        out[plain] = vals[plain]
        inf = np.flatnonzero(plain & np.isinf(out))
        if len(inf):
            i = int(inf[0])
            bad.append((i, f"expected a finite number; got {_cell(cells, i)!r} (too large for a floating-point "
                           "number)"))
            n = i  # nothing after the first refused cell matters
        todo = np.flatnonzero(~plain[:n] & ~null[:n])
    obj = (cells.iloc[todo].to_numpy(dtype=object) if isinstance(cells, pd.Series) else
           np.asarray(cells, dtype=object)[todo]) if todo is not None else np.asarray(cells, dtype=object)
    index = todo if todo is not None else np.arange(len(obj))
    why = _parse_cells(obj, index, out)
    if why is not None:
        bad.append(why)
    if not bad:
        return out, None, ""
    i, reason = min(bad)
    return out, i, reason


def _cell(cells: np.ndarray | pd.Series, i: int) -> object:
    return cells.iloc[i] if isinstance(cells, pd.Series) else cells[i]


_PLAIN = r"^[ \t]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*$"


def _plain_numbers(cells: np.ndarray | pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(plain, values, null) masks/values for a column of text and missing cells, in bulk; None for anything else
    (typed or mixed cells), which then goes cell by cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(cells, pd.Series) and not pd.api.types.is_string_dtype(cells):
        return None
    try:
        arr = pa.array(cells, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    null = arr.is_null().to_numpy(zero_copy_only=False)
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN), False).to_numpy(zero_copy_only=False)
    trimmed = pc.utf8_trim(pc.if_else(pa.array(plain), arr, pa.scalar(None, pa.string())), " \t")
    vals = pc.cast(trimmed, pa.float64()).to_numpy(zero_copy_only=False)
    return plain, np.asarray(vals, dtype=float), null


def _parse_cells(obj: np.ndarray, index: np.ndarray, out: np.ndarray) -> tuple[int, str] | None:
    """The cell-by-cell rule: fill ``out[index[k]]`` from ``obj[k]``; (index, why) of the first refused cell."""
    match, na, inf = _NUMBER.fullmatch, _NA_SET, float("inf")
    for k, x in enumerate(obj):
        i = int(index[k])
        if isinstance(x, str):
            t = x.strip()
            if t in na:
                continue
            if _MINUS in t:
                t = t.replace(_MINUS, "-")
            if not match(t):
                return i, number_problem(x)
            v = float(t)
            if v == inf or v == -inf:
                return i, f"expected a finite number; got {x!r} (too large for a floating-point number)"
            out[i] = v
        elif x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float | np.floating) and np.isnan(x)):
            continue
        elif isinstance(x, bool | np.bool_):
            return i, f"expected a number; got {bool(x)} (a yes/no value)"
        elif isinstance(x, int | float | np.integer | np.floating):
            v = float(x)
            if not np.isfinite(v):
                return i, f"expected a finite number; got {v}"
            out[i] = v
        else:
            return i, f"expected a number or an empty cell; got {x!r} ({type(x).__name__})"
    return None


def number_problem(text: str) -> str:
    """Why a cell that is not a number was refused: ``expected a number; got '3,5' — decimal comma? write 3.5``."""
    t = text.strip().replace(_MINUS, "-")
    got = f"expected a number; got {text!r}"
    sign = r"[+-]?"
    if t.lower().lstrip("+-") in ("inf", "infinity", "∞"):
        return f"expected a finite number; got {text!r}"
    if re.fullmatch(sign + r"[0-9]{1,3}(,[0-9]{3})", t):
        return (f"{got} — a decimal comma ({t.replace(',', '.')}) or a thousands separator ({t.replace(',', '')})? "
                "write the number with '.' as the decimal mark and no separators")
    if re.fullmatch(sign + r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", t):
        return f"{got} — thousands separators? remove them: write {t.replace(',', '')}"
    if re.fullmatch(sign + r"[0-9]{1,3}(\.[0-9]{3})+,[0-9]+", t):
        return f"{got} — decimal comma? write {t.replace('.', '').replace(',', '.')}"
    if re.fullmatch(sign + r"[0-9]*,[0-9]+", t):
        return f"{got} — decimal comma? write {t.replace(',', '.')}"
    if re.fullmatch(sign + r"[0-9]{1,3}([" + _SPACES + r"][0-9]{3})+([.,][0-9]+)?", t):
        plain = re.sub("[" + _SPACES + "]", "", t).replace(",", ".")
        return f"{got} — thousands separators? remove them: write {plain}"
    if t.endswith("%") and _NUMBER.fullmatch(t[:-1].strip()):
        return (f"{got} — a percent sign? write the number alone ({t[:-1].strip()}), in the unit the indicator "
                "is defined in")
    return f"expected a number or an empty cell; got {text!r}"


def _numeric(df: pd.DataFrame, col: str, path: Path, rows: np.ndarray | None = None) -> np.ndarray:
    """Column ``col`` as floats (NaN = missing), strictly (:func:`parse_numbers`); a refused cell raises a
    :class:`DataError` naming the file, the row (``rows[i]``, else ``i + 2``) and the column."""
    s = df[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        # numbers the reader already parsed (pandas' CSV float parser accepts exactly the grammar of
        # parse_numbers, plus inf/Infinity, and rounds correctly: tests/test_io.py); only inf is left to refuse
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        inf = np.flatnonzero(np.isinf(vals))
        i, why = (int(inf[0]), _infinite(path, col, int(inf[0]), vals[inf[0]])) if len(inf) else (None, "")
    else:
        vals, i, why = parse_numbers(s)
    if i is not None:
        row = int(rows[i]) if rows is not None else i + 2
        raise DataError(f"{where(path, row, col)}{why}")
    return vals


def _infinite(path: Path, col: str, i: int, v: float) -> str:
    """'expected a finite number; got '1e400' (too large …)' with the cell's text (CSV: read again, error path)."""
    raw: object = v
    if path.suffix.lower() in _CSV:
        try:
            text = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", usecols=[col], dtype=str,
                               keep_default_na=False, na_values=list(NA_TOKENS))[col]
            raw = text.iloc[i]
        except (ValueError, OSError, KeyError, IndexError):
            pass
    word = str(raw).strip().lower().lstrip("+-")
    size = "" if word in ("inf", "infinity") else " (too large for a floating-point number)"
    return f"expected a finite number; got {raw if isinstance(raw, float) else repr(raw)}{size}"


def load_data(spec: IndexSpec, *, known_sha256: Mapping[str, str] | None = None) -> tuple[IndexData, dict[str, str]]:
    """Read every data file of the spec, join them on the unit code, check columns and types.

    Indicator and denominator cells must be numbers by the rule of :func:`parse_numbers` (a decimal comma, a
    thousands separator, ``inf`` or an overflow is an error naming file, row and column, never a wrong number).
    ``-0`` is read as 0. Returns the engine input (units sorted by code, as COINr does) and ``{file: sha256}``. ``known_sha256``: the
    files' digests when the caller has just computed them (``hubindex.build``'s cache key), so that a file is not
    hashed twice in one build.
    """
    ds = spec.data
    indicators = tuple(n.code for n, leaf in zip(spec.framework, _leaves(spec), strict=True) if leaf)
    wanted = set(ds.denominators) | {n.denominator for n in spec.framework if n.denominator}
    dstep = spec.step("denominate")
    if dstep is not None and dstep.by:
        wanted |= set(dstep.by.values())
    if len(ds.paths) == 1:
        path = spec.resolve(ds.paths[0])
        plain = _load_plain_csv(path, ds, indicators, sorted(wanted), sha256=(known_sha256 or {}).get(str(path)))
        if plain is not None:
            data, sha = plain
            return data, {str(path): sha}
    return _load_data_general(spec, indicators, wanted, known_sha256)


def _load_data_general(spec: IndexSpec, indicators: tuple[str, ...], wanted: set[str],
                       known_sha256: Mapping[str, str] | None) -> tuple[IndexData, dict[str, str]]:
    """:func:`load_data` for every file type and layout, through pandas; every error message comes from here."""
    ds = spec.data
    frames: list[tuple[Path, pd.DataFrame, np.ndarray]] = []
    hashes: dict[str, str] = {}
    for rel in ds.paths:
        path = spec.resolve(rel)
        df, rows = read_table_rows(path, ds.sheet, text_columns=(ds.unit_code,))
        if len(df) == 0:
            raise DataError(f"{path}: no units: the file has a header row but no data rows; expected one row per unit")
        if ds.unit_code not in df.columns:
            raise DataError(
                f"{where(path, None, ds.unit_code)}the unit code column is missing; columns are {list(df.columns)}"
            )
        codes = df[ds.unit_code]
        empty = codes.isna() | (codes.astype("string").str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError(f"{where(path, rows[i], ds.unit_code)}expected a unit code, got an empty cell")
        df[ds.unit_code] = codes.astype(str).str.strip()
        dup = df[ds.unit_code].duplicated(keep="first")
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            code = df[ds.unit_code].iloc[i]
            first = int(np.flatnonzero((df[ds.unit_code] == code).to_numpy())[0])
            raise DataError(
                f"{where(path, rows[i], ds.unit_code)}duplicate unit '{code}' (also on row {rows[first]}); "
                "expected one row per unit"
            )
        frames.append((path, df, rows))
        hashes[str(path)] = (known_sha256 or {}).get(str(path)) or file_sha256(path)

    # which file holds each column (the first one that has it)
    col_file: dict[str, int] = {}
    for k, (path, df, _) in enumerate(frames):
        for c in df.columns:
            if c == ds.unit_code:
                continue
            if c in col_file:
                raise DataError(f"{where(path, None, c)}column also present in {frames[col_file[c]][0]}; "
                                "expected each column in one file only")
            col_file[c] = k
    merged = frames[0][1]
    for _, df, _ in frames[1:]:
        merged = merged.merge(df, on=ds.unit_code, how="outer")
    merged = merged.sort_values(ds.unit_code, kind="stable").reset_index(drop=True)
    files = ", ".join(str(p) for p, _, _ in frames)

    def need(col: str, what: str) -> None:
        if col not in merged.columns:
            raise DataError(f"{files}: {what} '{col}' is not a column; columns are "
                            f"{[c for c in merged.columns]}")

    # position of each merged unit in each file (-1: not in that file)
    at = [pd.Index(df[ds.unit_code]).get_indexer(merged[ds.unit_code]) for _, df, _ in frames]

    def numeric(col: str) -> np.ndarray:
        """Parsed in its own file (so messages name that file's rows), then aligned with the merged units."""
        k = col_file[col]
        path, src, rows = frames[k]
        vals = np.append(_numeric(src, col, path, rows), np.nan)  # index -1 → NaN
        return vals[at[k]]

    dtypes = [dict(df.dtypes.items()) for _, df, _ in frames]

    def numeric_block(cols: tuple[str, ...]) -> np.ndarray:
        """``np.column_stack([numeric(c) for c in cols])``, in one pass per file for the columns the reader already
        parsed as plain numbers (float/int, no ±inf): those can raise no error, so every other column still goes
        through :func:`numeric` in order and the first refused cell is the one the column-by-column loop would
        report. Identical values (the same ``to_numpy(dtype=float)`` conversion)."""
        out = np.empty((len(merged), len(cols)), order="F")  # column by column, as the engine works
        rest: list[int] = []
        by_file: dict[int, list[int]] = {}
        for j, c in enumerate(cols):
            k = col_file[c]
            if dtypes[k][c].kind in "fiu":
                by_file.setdefault(k, []).append(j)
            else:
                rest.append(j)
        for k, js in by_file.items():
            block = frames[k][1][[cols[j] for j in js]].to_numpy(dtype=float)
            if np.isinf(block).any():  # the error path: column by column, for the exact message
                rest.extend(js)
                continue
            pos = at[k]
            missing = pos < 0  # a unit not in this file: NaN
            # the units' rows, laid out column by column (F order; np.take returns a new C array of block.T)
            aligned = np.take(block.T, np.where(missing, 0, pos), axis=1).T
            aligned[missing] = np.nan
            if js == list(range(len(cols))):
                out = aligned
            else:
                out[:, js] = aligned
        for j in sorted(rest):
            out[:, j] = numeric(cols[j])
        return out

    for code in indicators:
        need(code, "indicator")
    X = numeric_block(indicators)  # a new array: -0 → 0 in place (a sign on zero means nothing in the data;
    np.add(X, 0.0, out=X)  # pandas drops it on '-0')
    groups: dict[str, np.ndarray] = {}
    for g in ds.groups:
        need(g, "group column")
        groups[g] = merged[g].astype(object).where(merged[g].notna(), None).to_numpy(dtype=object)
    denoms: dict[str, np.ndarray] = {}
    for d in sorted(wanted):
        need(d, "denominator")
        denoms[d] = numeric(d) + 0.0
    if ds.unit_name is not None:
        need(ds.unit_name, "unit name column")
        names = merged[ds.unit_name].astype(object).where(merged[ds.unit_name].notna(), "").to_numpy(dtype=object)
    else:
        names = merged[ds.unit_code].to_numpy(dtype=object)
    units = merged[ds.unit_code].to_numpy(dtype=object)
    return IndexData(units, names, indicators, X, groups, denoms), hashes


_NUMBER_CHARS = frozenset("0123456789.eE+- \t" + "".join(NA_TOKENS))  # what a plain number or NA cell is made of
_PANDAS_WORDS = frozenset({"inf", "infinity", "nan", "true", "false", "null", "none", "n/a", "na", "#n/a"})


def _load_plain_csv(path: Path, ds: Any, indicators: tuple[str, ...], denominators: list[str], *,
                    sha256: str | None = None) -> tuple[IndexData, str] | None:
    """The common case of :func:`load_data` — one well-formed UTF-8 CSV/TSV of plain numbers — read in one pass
    without pandas; ``(data, sha256 of the file)`` (``sha256`` when the caller has it, else of the bytes read), or ``None`` as soon as anything is unusual (a blank or short
    line, a cell that is not a plain number or missing, a duplicate or empty code, a text column that pandas
    would read as numbers, …): the general reader then reads the file and reports what is wrong.

    Same result as the general reader, value for value (tests/test_io_plain_csv.py checks it on random files):
    numbers go through Python's ``float`` (correctly rounded), but only cells made of digits, ``.``, ``e``,
    signs and spaces, so exactly the grammar of :func:`parse_numbers`; a cell that ``float`` reads as NaN must be
    one of :data:`NA_TOKENS`; units are sorted by code (Python string order, as pandas sorts).
    """
    import csv
    import io as _io

    sep = {".csv": ",", ".txt": ",", ".tsv": "\t"}.get(path.suffix.lower())
    if sep is None:
        return None
    try:
        raw = path.read_bytes()
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return None
        rows = list(csv.reader(_io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=sep, strict=True))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if len(rows) < 2:
        return None
    header = [c.strip() for c in rows[0]]
    n = len(header)
    if n < 2 or len(set(header)) != n or "" in header or any(len(r) != n for r in rows):
        return None
    cols = dict(zip(header, zip(*rows[1:], strict=True), strict=True))
    if ds.unit_code not in cols or any(c not in cols for c in (*indicators, *denominators, *ds.groups)) or (
            ds.unit_name is not None and ds.unit_name not in cols):
        return None
    codes = [c.strip() for c in cols[ds.unit_code]]
    if len(set(codes)) != len(codes) or not _NA_SET.isdisjoint(codes):
        return None
    order = np.array(sorted(range(len(codes)), key=codes.__getitem__), dtype=np.intp)
    numeric = [*indicators, *denominators]
    flat = [cell for c in numeric for cell in cols[c]]
    vals = _plain_floats(flat)
    if vals is None:
        return None
    block = vals.reshape(len(numeric), len(codes))[:, order]  # (columns, units), sorted by code
    X = block[:len(indicators)].T  # F order: one contiguous column per indicator, as the general reader gives
    denoms = {d: block[len(indicators) + k].copy() for k, d in enumerate(denominators)}
    groups: dict[str, np.ndarray] = {}
    for g in ds.groups:
        text = _text_column(cols[g], None)
        if text is None:
            return None
        groups[g] = text[order]
    units = np.array(codes, dtype=object)[order]
    if ds.unit_name is None:
        names = units.copy()
    else:
        text = _text_column(cols[ds.unit_name], "")
        if text is None:
            return None
        names = text[order]
    return IndexData(units, names, indicators, X, groups, denoms), sha256 or hashlib.sha256(raw).hexdigest()


def _plain_floats(cells: list[str]) -> np.ndarray | None:
    """The cells as floats when every one is a plain number (see :func:`parse_numbers`) or one of
    :data:`NA_TOKENS` (NaN); else ``None``."""
    if not _NUMBER_CHARS.issuperset("".join(cells)):
        return None
    try:
        vals = np.array([c or "nan" for c in cells], dtype=float)
    except ValueError:  # a cell such as 'N/A', '1.2.3' or 'e5': one by one
        vals = np.empty(len(cells))
        for i, c in enumerate(cells):
            try:
                vals[i] = float(c)
            except ValueError:
                if c.strip() not in _NA_SET:
                    return None
                vals[i] = np.nan
    for i in np.flatnonzero(np.isnan(vals)).tolist():  # 'nan' is missing, 'NAN' or '-nan' is not a number
        if cells[i].strip() not in _NA_SET:
            return None
    if np.isinf(vals).any():  # 1e400: the general reader says it is too large
        return None
    return vals + 0.0  # -0 → 0, as load_data reads it


def _text_column(cells: tuple[str, ...], missing: object) -> np.ndarray | None:
    """A text column (groups, names) as pandas reads it: cells equal to one of :data:`NA_TOKENS` → ``missing``,
    the others unchanged; ``None`` unless some cell is plainly text (pandas would read an all-number or all-yes/no
    column as numbers or booleans)."""
    present = [c for c in cells if c not in _NA_SET]
    if not any(not _NUMBER_CHARS.issuperset(c) and c.strip().lower().lstrip("+-") not in _PANDAS_WORDS
               for c in present):
        return None
    return np.array([missing if c in _NA_SET else c for c in cells], dtype=object)


def _leaves(spec: IndexSpec) -> list[bool]:
    parents = {n.parent for n in spec.framework if n.parent is not None}
    return [n.code not in parents for n in spec.framework]


# Output folders live in hubindex.outdir (manifest-based ownership); re-exported here for existing imports.
from hubindex.outdir import atomic_dir, check_output_dir, sha256_file  # noqa: E402,F401


def _sidecar(path: Path) -> Path:
    return path.parent / f".{path.name}.hubindex.json"


def _written_by_hubindex(path: Path) -> bool:
    """True when ``path`` is a regular file whose sidecar records exactly its current size and SHA-256."""
    import json

    side = _sidecar(path)
    try:
        if path.is_symlink() or not path.is_file() or side.is_symlink() or not side.is_file():
            return False
        doc = json.loads(side.read_text(encoding="utf-8"))
        return (isinstance(doc, dict) and doc.get("tool") == "hubindex" and doc.get("file") == path.name
                and doc.get("size") == path.stat().st_size and doc.get("sha256") == sha256_file(path))
    except (OSError, ValueError):
        return False


def atomic_write_text(path: Path, text: str) -> None:
    """Write a single output file atomically (temp file in the same folder, fsync, rename).

    Like output folders, an existing file is replaced only when hubindex wrote it and nobody changed it since:
    a hidden sidecar ``.NAME.hubindex.json`` records its size and SHA-256. Any other existing file (the user's,
    or one edited since) is refused with :class:`OutputError` (exit 6); OS errors become ``OutputError`` too and
    leave the file unchanged.
    """
    import json

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; expected a file name to write")
    if (path.exists() or path.is_symlink()) and not _written_by_hubindex(path):
        raise OutputError(f"{path}: the file exists and hubindex did not write it (or it was changed since); "
                          "refusing to replace it (choose another file name, or move the file away)")
    data = text.encode("utf-8")
    side = {"tool": "hubindex", "file": path.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    tmps: list[str] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, payload in ((_sidecar(path), (json.dumps(side, indent=1) + "\n").encode()), (path, data)):
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=path.parent)
            tmps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
        # sidecar first: if we stop between the two renames, the old file no longer matches it and is refused
        # (never deleted) on the next write
        os.replace(tmps[0], _sidecar(path))
        os.replace(tmps[1], path)
    except OSError as e:
        for t in tmps:
            Path(t).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({e.strerror or e}); left unchanged") from None
    except BaseException:
        for t in tmps:
            Path(t).unlink(missing_ok=True)
        raise
