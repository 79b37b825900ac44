"""Issue 12 item 2 through the CLI: `hubindex build SPEC` on a COINr-style spec (iData.csv + iMeta.csv) whose
files hold a bad number, a cut row or a framework mistake → exit 3, one message naming the file, row and column,
no traceback, no output folder."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from hubindex.cli import main

ASEM = Path(__file__).resolve().parents[2] / "examples" / "asem"


def coinr(d: Path) -> Path:
    """A copy of COINr's ASEM example (iData.csv, iMeta.csv, default.yaml) in ``d``; returns the spec."""
    for f in ("iData.csv", "iMeta.csv", "default.yaml"):
        shutil.copy(ASEM / f, d / f)
    return d / "default.yaml"


def edit_idata(unit: str, column: str, new: str) -> Callable[[Path], None]:
    """Replace one cell of iData.csv (as written, quotes and all)."""
    def go(d: Path) -> None:
        p = d / "iData.csv"
        lines = p.read_text().split("\n")
        header = [h.strip('"') for h in lines[0].split(",")]
        j = header.index(column)
        for k, line in enumerate(lines):
            cells = line.split(",")
            if len(cells) > j and cells[1].strip('"') == unit:
                cells[j] = new
                lines[k] = ",".join(cells)
                break
        p.write_text("\n".join(lines))
    return go


def edit_imeta(code: str, column: str, new: str) -> Callable[[Path], None]:
    def go(d: Path) -> None:
        p = d / "iMeta.csv"
        lines = p.read_text().split("\n")
        header = [h.strip('"') for h in lines[0].split(",")]
        j = header.index(column)
        for k, line in enumerate(lines):
            cells = line.split(",")
            if len(cells) > 1 and cells[1].strip('"') == code:
                cells[j] = new
                lines[k] = ",".join(cells)
                break
        p.write_text("\n".join(lines))
    return go


def cut_mid_row(d: Path) -> None:
    p = d / "iData.csv"
    text = p.read_text()
    end_of_row_6 = [m.end() for m in re.finditer("\n", text)][5]
    p.write_text(text[: end_of_row_6 + 60])  # row 7 cut 60 characters in


def as_semicolons(d: Path) -> None:
    p = d / "iData.csv"
    df = pd.read_csv(p)
    df.to_csv(p, sep=";", decimal=",", index=False)


def as_utf16(d: Path) -> None:
    p = d / "iData.csv"
    p.write_bytes(p.read_text().encode("utf-16"))


# AUT is row 2 of iData.csv (header = row 1); LPI is an indicator, Flights the first with a denominator
CASES = [
    ("decimal-comma-quoted", edit_idata("AUT", "LPI", '"3,5"'),
     ("iData.csv, row 2, column 'LPI'", "expected a number; got '3,5'", "decimal comma")),
    ("decimal-comma-unquoted", edit_idata("AUT", "LPI", "3,5"),
     ("iData.csv, row 2", "malformed CSV", "expected 60 fields", "got 61", "decimal comma")),
    ("thousands-separators", edit_idata("AUT", "LPI", '"1,234,567"'),
     ("iData.csv, row 2, column 'LPI'", "thousands separators", "1234567")),
    ("thousands-ambiguous", edit_idata("AUT", "LPI", '"3,500"'),
     ("iData.csv, row 2, column 'LPI'", "decimal comma", "thousands separator")),
    ("percent", edit_idata("AUT", "LPI", '"45%"'), ("iData.csv, row 2, column 'LPI'", "percent")),
    ("inf", edit_idata("AUT", "LPI", "inf"), ("iData.csv, row 2, column 'LPI'", "expected a finite number")),
    ("minus-inf", edit_idata("AUT", "LPI", "-inf"), ("iData.csv, row 2, column 'LPI'", "finite")),
    ("Infinity", edit_idata("AUT", "LPI", "Infinity"), ("iData.csv, row 2, column 'LPI'", "finite")),
    ("overflow", edit_idata("AUT", "LPI", "1e400"), ("iData.csv, row 2, column 'LPI'", "finite", "1e400")),
    ("denominator-inf", edit_idata("AUT", "Population", "inf"),
     ("iData.csv, row 2, column 'Population'", "finite")),
    ("cut-mid-row", cut_mid_row, ("iData.csv, row 7", "expected 60 fields", "got", "cut short")),
    ("semicolons", as_semicolons, ("iData.csv", "semicolon")),
    ("utf-16", as_utf16, ("iData.csv", "UTF-16", "UTF-8")),
    ("imeta-unknown-parent", edit_imeta("LPI", "Parent", '"Physicalx"'),
     ("iMeta.csv, row 2, column 'Parent'", "unknown parent 'Physicalx'")),
    ("imeta-cycle", edit_imeta("Conn", "Parent", '"Physical"'),
     ("iMeta.csv, row 59, column 'Parent'", "cycle Physical -> Conn -> Physical")),
    ("imeta-negative-weight", edit_imeta("Flights", "Weight", "-1"),
     ("iMeta.csv, row 3, column 'Weight'", "expected a weight >= 0, got -1")),
    ("imeta-direction-2", edit_imeta("LPI", "Direction", "2"),
     ("iMeta.csv, row 2, column 'Direction'", "expected 1", "or -1", "got 2")),
    ("imeta-unknown-type", edit_imeta("LPI", "Type", '"Indicatorr"'),
     ("iMeta.csv, row 2, column 'Type'", "'Indicatorr'")),
    ("imeta-decimal-comma-weight", edit_imeta("LPI", "Weight", '"0,5"'),
     ("iMeta.csv, row 2, column 'Weight'", "decimal comma")),
    ("imeta-level-not-above", edit_imeta("Physical", "Level", "1"),
     ("iMeta.csv", "column 'Level'", "level")),
]


@pytest.mark.parametrize(("setup", "needles"), [pytest.param(c[1], c[2], id=c[0]) for c in CASES])
def test_build_refuses_bad_coinr_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, needles
                                       ) -> None:  # type: ignore[no-untyped-def]
    spec = coinr(tmp_path)
    setup(tmp_path)
    code = main(["build", str(spec), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    err = " ".join(err.split())
    assert "Traceback" not in out + err, err
    assert code == 3, f"exit {code}: {err}"
    assert err.lower().count("error:") == 1, err
    for n in needles:
        assert n in err, f"{n!r} not in: {err}"
    assert not (tmp_path / "out").exists()


def test_the_unchanged_example_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The copy itself is valid, so each failure above comes from the one edit it makes."""
    spec = coinr(tmp_path)
    assert main(["build", str(spec), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "scores.csv").exists()


def test_complete_last_row_without_newline_builds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = coinr(tmp_path)
    p = tmp_path / "iData.csv"
    p.write_text(p.read_text().rstrip("\n"))
    assert main(["build", str(spec), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(("ext", "bad", "needles"), [
    ("parquet", float("inf"), ("iData.parquet, row 1, column 'LPI'", "finite")),
    ("parquet", "inf", ("iData.parquet, row 1, column 'LPI'", "finite")),
    ("parquet", "3,5", ("iData.parquet, row 1, column 'LPI'", "decimal comma")),
    ("xlsx", "Infinity", ("iData.xlsx, row 2, column 'LPI'", "finite")),
    ("xlsx", "3,5", ("iData.xlsx, row 2, column 'LPI'", "decimal comma")),
    ("xlsx", True, ("iData.xlsx, row 2, column 'LPI'", "yes/no")),
])
def test_build_refuses_bad_numbers_in_excel_and_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        ext: str, bad: object, needles: tuple[str, ...]) -> None:
    spec = coinr(tmp_path)
    df = pd.read_csv(tmp_path / "iData.csv")
    col = df["LPI"].astype(object)
    col.iloc[0] = bad
    df["LPI"] = col.astype(float) if isinstance(bad, float) else col.astype(str) if ext == "parquet" else col
    p = tmp_path / f"iData.{ext}"
    df.to_parquet(p) if ext == "parquet" else df.to_excel(p, index=False)
    spec.write_text(spec.read_text().replace("iData.csv", p.name))
    code = main(["build", str(spec), "--out", str(tmp_path / "out")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3 and "Traceback" not in err, err
    for n in needles:
        assert n in err, f"{n!r} not in: {err}"
