"""I/O at the edge: read the data files a spec names into the engine's ``IndexData``, with clear errors.

Every user mistake becomes a :class:`~hubindex.errors.DataError` naming the file, the row (as the line number
a person sees in the file, header = line 1), the column, what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from hubindex.engine.data import IndexData
from hubindex.errors import DataError, OutputError, where
from hubindex.spec import IndexSpec

__all__ = ["read_table", "load_data", "file_sha256", "atomic_dir", "atomic_write_text", "check_output_dir",
           "csv_parser_message", "reader_errors"]

_CSV = {".csv", ".txt", ".tsv"}
_EXCEL = {".xlsx", ".xlsm", ".xls"}
_PARQUET = {".parquet", ".pq"}


def read_table(path: Path, sheet: str | int | None = None, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV/TSV, XLSX or Parquet file; empty cells are missing; ``text_columns`` are kept as text."""
    if not path.exists():
        raise DataError(f"{path}: data file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a CSV, XLSX or Parquet file")
    ext = path.suffix.lower()
    try:
        with reader_errors(path, "unit"):
            if ext in _CSV:
                df = pd.read_csv(path, sep="\t" if ext == ".tsv" else ",", dtype=dict.fromkeys(text_columns, str),
                                 keep_default_na=False, na_values=["", "NA", "NaN", "nan", "N/A", "#N/A"])
            elif ext in _EXCEL:
                df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
            elif ext in _PARQUET:
                df = pd.read_parquet(path)
            else:
                raise DataError(f"{path}: unsupported file type '{ext}'; expected .csv, .tsv, .xlsx or .parquet")
    except DataError:
        raise
    except (ValueError, OSError, KeyError) as e:
        raise DataError(f"{path}: cannot be read ({e})") from None
    if df.shape[1] == 0:
        raise DataError(f"{path}: no columns found; expected a header row")
    df.columns = [str(c).strip() for c in df.columns]
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise DataError(f"{path}: column name(s) {dup} appear more than once in the header")
    return df


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
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start}); expected a UTF-8 CSV") from None


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
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _numeric(df: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    vals = pd.to_numeric(s.astype("string").str.strip().str.replace(",", "", regex=False), errors="coerce")
    bad = vals.isna() & s.notna() & (s.astype("string").str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where(path, i + 2, col)}expected a number or an empty cell, got {s.iloc[i]!r}")
    return vals.to_numpy(dtype=float, na_value=np.nan)


def load_data(spec: IndexSpec) -> tuple[IndexData, dict[str, str]]:
    """Read every data file of the spec, join them on the unit code, check columns and types.

    Returns the engine input (units sorted by code, as COINr does) and ``{file: sha256}``.
    """
    ds = spec.data
    frames: list[tuple[Path, pd.DataFrame]] = []
    hashes: dict[str, str] = {}
    for rel in ds.paths:
        path = spec.resolve(rel)
        df = read_table(path, ds.sheet, text_columns=(ds.unit_code,))
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
            raise DataError(f"{where(path, i + 2, ds.unit_code)}expected a unit code, got an empty cell")
        df[ds.unit_code] = codes.astype(str).str.strip()
        dup = df[ds.unit_code].duplicated(keep="first")
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            code = df[ds.unit_code].iloc[i]
            first = int(np.flatnonzero((df[ds.unit_code] == code).to_numpy())[0])
            raise DataError(
                f"{where(path, i + 2, ds.unit_code)}duplicate unit '{code}' (also on row {first + 2}); "
                "expected one row per unit"
            )
        frames.append((path, df))
        hashes[str(path)] = file_sha256(path)

    # which file holds each column (the first one that has it)
    col_file: dict[str, Path] = {}
    for path, df in frames:
        for c in df.columns:
            if c == ds.unit_code:
                continue
            if c in col_file:
                raise DataError(f"{where(path, None, c)}column also present in {col_file[c]}; "
                                "expected each column in one file only")
            col_file[c] = path
    merged = frames[0][1]
    for _, df in frames[1:]:
        merged = merged.merge(df, on=ds.unit_code, how="outer")
    merged = merged.sort_values(ds.unit_code, kind="stable").reset_index(drop=True)
    files = ", ".join(str(p) for p, _ in frames)

    def need(col: str, what: str) -> None:
        if col not in merged.columns:
            raise DataError(f"{files}: {what} '{col}' is not a column; columns are "
                            f"{[c for c in merged.columns]}")

    # numeric checks are done per source file so rows/lines refer to that file
    def numeric(col: str) -> np.ndarray:
        path = col_file[col]
        src = next(df for p, df in frames if p == path)
        _numeric(src, col, path)  # raises with the file's own row number
        return _numeric(merged, col, path)

    indicators = tuple(n.code for n, leaf in zip(spec.framework, _leaves(spec), strict=True) if leaf)
    for code in indicators:
        need(code, "indicator")
    X = np.column_stack([numeric(c) for c in indicators]) if indicators else np.empty((len(merged), 0))
    groups: dict[str, np.ndarray] = {}
    for g in ds.groups:
        need(g, "group column")
        groups[g] = merged[g].astype(object).where(merged[g].notna(), None).to_numpy(dtype=object)
    denoms: dict[str, np.ndarray] = {}
    wanted = set(ds.denominators) | {n.denominator for n in spec.framework if n.denominator}
    dstep = spec.step("denominate")
    if dstep is not None and dstep.by:
        wanted |= set(dstep.by.values())
    for d in sorted(wanted):
        need(d, "denominator")
        denoms[d] = numeric(d)
    if ds.unit_name is not None:
        need(ds.unit_name, "unit name column")
        names = merged[ds.unit_name].astype(object).where(merged[ds.unit_name].notna(), "").to_numpy(dtype=object)
    else:
        names = merged[ds.unit_code].to_numpy(dtype=object)
    units = merged[ds.unit_code].to_numpy(dtype=object)
    return IndexData(units, names, indicators, X, groups, denoms), hashes


def _leaves(spec: IndexSpec) -> list[bool]:
    parents = {n.parent for n in spec.framework if n.parent is not None}
    return [n.code not in parents for n in spec.framework]


# Output folders live in hubindex.outdir (manifest-based ownership); re-exported here for existing imports.
from hubindex.outdir import atomic_dir, check_output_dir  # noqa: E402,F401


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temp file in the same folder, fsync, rename); OS errors → OutputError."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; expected a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        raise OutputError(f"{path}: cannot be written ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({e.strerror or e}); left unchanged") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
