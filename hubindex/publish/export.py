"""Exports of a built index: an Excel workbook in the spirit of the Global Innovation Index's data file, the
same tables as CSV files, and one JSON document — all written atomically.

Layout of ``out_dir``::

    index.xlsx      sheets About (citation, licence, spec hash, build, how to read), Ranking, Scores (long
                    format), Framework, Weights, Columns — readable headers, every digit kept in the cells
                    (shown rounded by the cell format)
    csv/            ranking.csv, scores_long.csv, framework.csv, weights.csv, about.csv, columns.csv — readable
                    headers, values rounded for reading (scores 2 decimals), no comment lines
    index.json      the machine file: column codes, every digit; {"notes": {...}, "columns": [...],
                    "ranking": [...], "scores": [...], "framework": [...], "weights": [...]}
    README.md       citation, licence, what each file and column holds, how to rebuild

One file per table and format: the display files (workbook, CSV) and the machine file (JSON) hold the same rows;
``columns`` (sheet Columns, ``csv/columns.csv``, ``index.json``'s ``columns``) maps each readable header to its
code. The metadata sits beside the data (About sheet, ``about.csv``, README.md), never above a table's header.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine.result import Result
from hubindex.errors import SpecError
from hubindex.publish import tables as T
from hubindex.publish._outdir import publish_dir

__all__ = ["export", "export_tables", "FORMATS", "XLSX_NAME", "JSON_NAME", "CSV_DIR", "parse_formats"]

FORMATS = ("xlsx", "csv", "json")
XLSX_NAME = "index.xlsx"
JSON_NAME = "index.json"
CSV_DIR = "csv"
# sheet name -> csv file name (About = the Notes table: key/value metadata)
_SHEETS = {"About": "about.csv", "Ranking": "ranking.csv", "Scores": "scores_long.csv",
           "Framework": "framework.csv", "Weights": "weights.csv", "Columns": "columns.csv"}
_DATA_SHEETS = ("Ranking", "Scores", "Framework", "Weights")
_JSON_KEYS = {"Ranking": "ranking", "Scores": "scores", "Framework": "framework", "Weights": "weights",
              "Columns": "columns"}


class ExportError(SpecError):
    """An export request is invalid (unknown format)."""


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"xlsx,csv"`` or ``["xlsx", "csv"]`` → ``("xlsx", "csv")``; unknown names raise :class:`ExportError`."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for f in items:
        f = str(f).strip().lower().lstrip(".")
        if not f:
            continue
        if f == "xls":
            f = "xlsx"
        if f not in FORMATS:
            raise ExportError(f"--format: unknown format '{f}'; expected a comma-separated list of {list(FORMATS)}")
        if f not in out:
            out.append(f)
    if not out:
        raise ExportError(f"--format: no format given; expected one or more of {list(FORMATS)}")
    return tuple(out)


def export_tables(result: Result, provenance: pd.DataFrame | None = None,
                  audit: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The tables every export format carries, keyed by sheet name, in their machine form (column codes, every
    digit; see :mod:`hubindex.publish.tables`); ``Columns`` is the dictionary header ↔ code ↔ meaning."""
    data = {
        "Ranking": T.ranking_table(result, audit),
        "Scores": T.scores_long(result, provenance),
        "Framework": T.framework_table(result),
        "Weights": T.weights_table(result),
    }
    return {"About": T.notes_table(result), **data, "Columns": T.column_dictionary(result, data)}


def display_tables(result: Result, tabs: Mapping[str, pd.DataFrame], *, rounded: bool = True
                   ) -> dict[str, pd.DataFrame]:
    """The tables as people read them: readable headers and, when ``rounded``, values rounded for reading."""
    out: dict[str, pd.DataFrame] = {}
    for sheet, df in tabs.items():
        if sheet in _DATA_SHEETS:
            shown = T.display_table(result, sheet, df) if rounded else df.rename(
                columns=T.column_labels(result, sheet, [str(c) for c in df.columns]))
            if not rounded and sheet == "Scores" and "treatment" in df.columns:
                shown[T.column_labels(result, sheet, ["treatment"])["treatment"]] = (
                    df["treatment"].fillna("").astype(str).map(T.treatment_words).to_numpy())
            out[sheet] = shown
        elif sheet == "About":
            out[sheet] = df.rename(columns={"key": "Item", "value": "Value"})
        else:
            out[sheet] = df.rename(columns={"table": "Table", "header": "Header", "code": "Code",
                                            "meaning": "Meaning"})
    return out


def _owned() -> list[str]:
    """Every name an export owns: all are replaced, so no stale file of an earlier export survives."""
    return ["README.md", XLSX_NAME, CSV_DIR, JSON_NAME]


def export(result: Result, out_dir: str | Path, formats: Iterable[str] | str = FORMATS, *,
           provenance: pd.DataFrame | None = None, audit: pd.DataFrame | None = None) -> list[Path]:
    """Write the workbook, CSV files and/or JSON of ``result`` into ``out_dir``; return the written paths.

    ``provenance`` (one row per unit × indicator, or per indicator; see :func:`tables.normalise_provenance`)
    adds data year, source and other provenance columns to the long table. ``audit`` (rank intervals per unit)
    adds ``rank_lo``/``rank_hi``/``rank_median`` to the ranking. The folder is replaced in one rename: on any
    failure it is left exactly as it was. Files of an earlier export there are replaced (a format not asked
    for now is removed, so nothing stale survives); other files (e.g. the report) are kept.
    """
    fmts = parse_formats(formats)
    if provenance is not None and "code" not in provenance.columns:
        provenance = T.normalise_provenance(provenance, unit_code=getattr(result.spec.data, "unit_code", None))
    tabs = export_tables(result, provenance, audit)
    out_dir = Path(out_dir)
    written: list[str] = []
    with publish_dir(out_dir, _owned(), "export") as tmp:
        if "xlsx" in fmts:
            write_xlsx(display_tables(result, tabs, rounded=False), tmp / XLSX_NAME, result)
            written.append(XLSX_NAME)
        if "csv" in fmts:
            (tmp / CSV_DIR).mkdir()
            shown = display_tables(result, tabs)
            for sheet, name in _SHEETS.items():
                T.spreadsheet_safe(shown[sheet]).to_csv(tmp / CSV_DIR / name, index=False)
                written.append(f"{CSV_DIR}/{name}")
        if "json" in fmts:
            (tmp / JSON_NAME).write_text(to_json(tabs), encoding="utf-8")
            written.append(JSON_NAME)
        (tmp / "README.md").write_text(readme(result, tabs, written), encoding="utf-8")
        written.append("README.md")
    return [out_dir / w for w in written]


def to_json(tabs: Mapping[str, pd.DataFrame]) -> str:
    """The machine file: ``notes`` (the About table) as an object, every other table as a list of records keyed
    by column code, every digit kept (NaN → null)."""
    doc: dict[str, Any] = {"notes": dict(zip(tabs["About"]["key"], tabs["About"]["value"], strict=True))}
    for sheet, key in _JSON_KEYS.items():
        doc[key] = _records(tabs[sheet])
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def _plain(v: Any) -> Any:
    """A cell as a JSON value: NaN/NA → None, NumPy scalars → Python (floats keep every digit: repr round-trips)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.floating, float)):
        x = float(v)
        return None if not np.isfinite(x) else x
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [str(c) for c in df.columns]
    return [{c: _plain(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False, name=None)]


def _number_format(header: str) -> str | None:
    """Cell format of a display column (the value keeps every digit; the sheet shows it rounded)."""
    h = header.lower()
    if "weight" in h:
        return "0.0000"
    if h.endswith("score") or h == "score":
        return "0.00"
    if h.startswith("rank interval") or h == "median rank":
        return "0.0"
    if h == "coverage":
        return "0.0%"
    return None


def write_xlsx(tabs: Mapping[str, pd.DataFrame], path: Path, result: Result | None = None) -> None:
    """The workbook: one sheet per table, bold frozen header, auto-filter, readable column widths; scores shown
    with 2 decimals and weights with 4 by the cell format while the cell keeps every digit."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill = PatternFill("solid", fgColor="DDE6F0")
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for sheet, df in tabs.items():
            df = T.spreadsheet_safe(df)  # text that looks like a formula stays text (openpyxl writes '=…' as one)
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            if len(df.columns):
                ws.auto_filter.ref = ws.dimensions
            for j, col in enumerate(df.columns, start=1):
                cell = ws.cell(row=1, column=j)
                cell.font = Font(bold=True)
                cell.fill = header_fill
                sample = df[col].head(200).astype("string").str.len().fillna(0)
                width = max(len(str(col)), int(sample.max()) if len(sample) else 0)
                fmt = _number_format(str(col)) if pd.api.types.is_float_dtype(df[col]) else None
                if fmt:
                    width = min(width, len(str(col)) + 2, 14)
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = fmt
                ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
        wb = xw.book
        if result is not None:
            wb.properties.title = T.display_name(result)
            wb.properties.creator = f"hubindex {result.run_record.get('hubindex_version', '')}".strip()
            wb.properties.description = T.citation(result)
            wb.properties.keywords = f"spec sha256 {result.run_record.get('spec_hash', '')}"


def readme(result: Result, tabs: Mapping[str, pd.DataFrame], files: Iterable[str]) -> str:
    """README.md for a download: title, citation, licence, files, column dictionary, how to rebuild."""
    notes = dict(zip(tabs["About"]["key"], tabs["About"]["value"], strict=True))
    lines = [f"# {notes.get('title', 'Index')} — data download", ""]
    if notes.get("description"):
        lines += [notes["description"], ""]
    lines += [
        f"- **Cite as:** {notes['citation']}",
        f"- **Licence:** {notes['licence']}",
        f"- **Spec SHA-256:** `{notes.get('spec_hash (sha256)', '')}`",
        f"- **Built:** {notes.get('built_at (UTC)', '')} with hubindex {notes.get('hubindex_version', '')}",
        f"- **Units ranked:** {notes.get('units ranked', '')}; screened out: {notes.get('units screened out', '')}",
        "",
        "## Files",
        "",
    ]
    lines += [f"- `{f}`" for f in files]
    lines += ["- `README.md` (this file)", "",
              "The workbook and the CSV files are for reading: readable headers (pillar names, not codes), "
              "scores shown with 2 decimals (the CSV values are rounded; the workbook cells keep every digit), "
              "and no lines above a table's header. `index.json` is the machine file: the same rows keyed by "
              "column code, every digit kept. The table below maps each header to its code.", "",
              "## Columns", "", "| table | header | code | meaning |", "|---|---|---|---|"]
    for _, r in tabs["Columns"].iterrows():
        lines.append(f"| {r['table']} | {r['header']} | `{r['code']}` | {r['meaning']} |")
    lines += ["", "## Rebuild", "",
              "Every number here can be recomputed from the spec and the data files named in the Notes table "
              "(their SHA-256 hashes are listed there): `hubindex build SPEC` then `hubindex export SPEC`.", ""]
    return "\n".join(lines)
