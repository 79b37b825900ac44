"""``hubindex data list/show/unmatched/build/check`` through the CLI, success paths: what each prints or writes is
compared with the dataset functions' own tables (no city, indicator or rank pinned: the default dataset evolves)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import hubindex.console
from hubindex.cli import main
from hubindex.datasets import DATA_DIR, EDITIONS, LATEST, load_edition, provenance, unmatched


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """One table row per line (no folded cells), so the output can be read back as a table."""
    monkeypatch.setattr(hubindex.console.console, "width", 2000)


def _rows(out: str) -> list[list[str]]:
    """The body rows of a Rich table printed to ``out`` (cells stripped); the header row uses the heavy ┃."""
    lines = [ln for ln in out.splitlines() if "│" in ln and "┃" not in ln]
    return [[c.strip() for c in ln.split("│")[1:-1]] for ln in lines]


def test_data_list_every_city_of_the_edition(capsys: pytest.CaptureFixture[str]) -> None:
    for ed in (LATEST, EDITIONS[0]):
        assert main(["data", "list", "--edition", str(ed)]) == 0
        out = capsys.readouterr().out
        wide = load_edition(ed)
        assert f"{len(wide)} fintech hub cities, edition {ed}" in out
        want = wide[["code", "name", "country", "region"]].astype(str).values.tolist()
        assert _rows(out) == want


def test_data_show_every_value_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    wide = load_edition(LATEST)
    code, name = wide["code"].iloc[len(wide) // 2], wide["name"].iloc[len(wide) // 2]
    assert main(["data", "show", code]) == 0
    out = capsys.readouterr().out
    assert f"{name} ({code}), edition {LATEST}" in out
    prov = provenance(LATEST)
    prov = prov[prov["unit"] == code]
    rows = _rows(out)
    assert len(rows) == len(prov) > 0
    for row, (_, p) in zip(rows, prov.iterrows(), strict=True):
        value = "" if pd.isna(p["value"]) else f"{p['value']:,.4g}"
        assert row[:5] == [p["indicator"], value, p["value_level"], p["source"], str(p["source_date"])]
    # the name works as well as the code, in any case
    assert main(["data", "show", name.upper()]) == 0
    assert _rows(capsys.readouterr().out) == rows


def test_data_unmatched_largest_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "unmatched", "--top", "4"]) == 0
    rows = _rows(capsys.readouterr().out)
    u = unmatched()
    assert len(rows) == 4
    counts = [int(r[4]) for r in rows]
    assert counts == sorted(u["rows"], reverse=True)[:4]
    top = u.sort_values("rows", ascending=False).head(4)
    assert [r[0] for r in rows] == top["source_file"].tolist() and [r[3] for r in rows] == top["reason"].tolist()


def test_data_build_and_check(raw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "data"
    assert main(["data", "build", "--raw", str(raw_dir), "--out", str(out_dir)]) == 0
    msg = capsys.readouterr().out
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == sorted(p.name for p in DATA_DIR.iterdir() if p.is_file())
    for name in written:  # deterministic: the shipped tables, byte for byte
        assert (out_dir / name).read_bytes() == (DATA_DIR / name).read_bytes(), name
    n_cities = len(pd.read_csv(out_dir / "cities.csv"))
    n_unmatched = len(pd.read_csv(out_dir / "unmatched.csv"))
    n_tables = sum(n.endswith(".csv") for n in written)  # + build_info.json
    assert f"wrote {n_tables} tables" in msg and f"({n_cities} cities; {n_unmatched} unmatched" in msg

    assert main(["data", "check", "--raw", str(raw_dir)]) == 0
    assert "the shipped dataset equals a fresh build of the raw sources" in capsys.readouterr().out
    # a shipped table that differs from the fresh build is named, exit 3 (data)
    altered = tmp_path / "shipped"
    shutil.copytree(out_dir, altered)
    (altered / "cities.csv").write_text((altered / "cities.csv").read_text() + "\n")
    monkeypatch.setattr("hubindex.datasets.cli.DATA_DIR", altered)
    assert main(["data", "check", "--raw", str(raw_dir)]) == 3
    err = capsys.readouterr().err
    assert "differs from a fresh build" in err and "cities.csv" in err and "indicators.csv" not in err
