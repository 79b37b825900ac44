"""Exports of a built index: an Excel workbook in the spirit of the Global Innovation Index's data file, the
same tables as CSV files, and one JSON document — all written atomically.

Layout of ``out_dir``::

    index.xlsx      sheets Ranking, Scores (long format), Framework, Weights, Notes, Columns
    csv/            ranking.csv, scores_long.csv, framework.csv, weights.csv, notes.csv, columns.csv
    index.json      {"notes": {...}, "columns": [...], "ranking": [...], "scores": [...], "framework": [...],
                     "weights": [...]}
    README.md       citation, licence, what each file and column holds, how to rebuild
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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
# sheet name -> csv file name
_SHEETS = {"Ranking": "ranking.csv", "Scores": "scores_long.csv", "Framework": "framework.csv",
           "Weights": "weights.csv", "Notes": "notes.csv", "Columns": "columns.csv"}
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
    """The tables every export format carries, keyed by sheet name (see :mod:`hubindex.publish.tables`)."""
    return {
        "Ranking": T.ranking_table(result, audit),
        "Scores": T.scores_long(result, provenance),
        "Framework": T.framework_table(result),
        "Weights": T.weights_table(result),
        "Notes": T.notes_table(result),
        "Columns": T.columns_table(),
    }


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
            write_xlsx(tabs, tmp / XLSX_NAME, result)
            written.append(XLSX_NAME)
        if "csv" in fmts:
            (tmp / CSV_DIR).mkdir()
            for sheet, name in _SHEETS.items():
                tabs[sheet].to_csv(tmp / CSV_DIR / name, index=False)
                written.append(f"{CSV_DIR}/{name}")
        if "json" in fmts:
            (tmp / JSON_NAME).write_text(to_json(tabs), encoding="utf-8")
            written.append(JSON_NAME)
        (tmp / "README.md").write_text(readme(result, tabs, written), encoding="utf-8")
        written.append("README.md")
    return [out_dir / w for w in written]


def to_json(tabs: Mapping[str, pd.DataFrame]) -> str:
    """One JSON document: ``notes`` as an object, every other table as a list of records (NaN → null)."""
    doc: dict[str, Any] = {"notes": dict(zip(tabs["Notes"]["key"], tabs["Notes"]["value"], strict=True))}
    for sheet, key in _JSON_KEYS.items():
        doc[key] = json.loads(tabs[sheet].to_json(orient="records", force_ascii=False))
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def write_xlsx(tabs: Mapping[str, pd.DataFrame], path: Path, result: Result | None = None) -> None:
    """The workbook: one sheet per table, bold frozen header, auto-filter, readable column widths."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill = PatternFill("solid", fgColor="DDE6F0")
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for sheet, df in tabs.items():
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
                ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
        wb = xw.book
        if result is not None:
            wb.properties.title = str(getattr(result.spec, "name", "Composite index"))
            wb.properties.creator = f"hubindex {result.run_record.get('hubindex_version', '')}".strip()
            wb.properties.description = T.citation(result)
            wb.properties.keywords = f"spec sha256 {result.run_record.get('spec_hash', '')}"


def readme(result: Result, tabs: Mapping[str, pd.DataFrame], files: Iterable[str]) -> str:
    """README.md for a download: title, citation, licence, files, column dictionary, how to rebuild."""
    notes = dict(zip(tabs["Notes"]["key"], tabs["Notes"]["value"], strict=True))
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
    lines += ["- `README.md` (this file)", "", "## Columns", "", "| table | column | meaning |", "|---|---|---|"]
    for _, r in tabs["Columns"].iterrows():
        lines.append(f"| {r['sheet']} | `{r['column']}` | {r['meaning']} |")
    lines += ["", "## Rebuild", "",
              "Every number here can be recomputed from the spec and the data files named in the Notes table "
              "(their SHA-256 hashes are listed there): `hubindex build SPEC` then `hubindex export SPEC`.", ""]
    return "\n".join(lines)
