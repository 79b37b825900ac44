"""``hubindex compare-published`` end to end: tables, --json, --list, --out (atomic, never over a user's
folder), exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hubindex.api import build
from hubindex.audit.published import RULE, compare_published, load_published
from hubindex.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_tables_for_every_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["compare-published", "--top", "2"], capsys)
    assert code == 0, err
    for lid in load_published().ids:
        assert lid in out
    assert "Spearman" in out and "largest differences" in out
    assert "Calgary (84)" in out and "Hamburg (43)" in out  # unmatched names are listed
    assert " ".join(RULE.split()[:6]) in " ".join(out.split())


def test_json_matches_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["compare-published", "--list", "gfhr2023", "--list", "findexable2020", "--json"],
                             capsys)
    assert code == 0, err
    d = json.loads(out)
    assert [x["list_id"] for x in d["lists"]] == ["gfhr2023", "findexable2020"]
    ref = compare_published(build(), lists=["gfhr2023", "findexable2020"], top=3)
    for got, want in zip(d["lists"], ref.lists, strict=True):
        assert got["n_overlap"] == want.n_overlap and got["spearman"] == pytest.approx(want.rho)
        assert [c["unit"] for c in got["differences"]] == [c["unit"] for c in want.differences]
        assert got["sources"] and all(u.startswith("http") for u in got["sources"])
    assert d["rule"] == RULE and d["index"]["pillars"]


def test_unknown_list_exits_2_naming_valid_ids(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["compare-published", "--list", "nope"], capsys)
    assert code == 2
    assert "unknown list 'nope'" in err and "gfhr2023" in err and "startupblink2024_fintech" in err


def test_bad_spec_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["compare-published", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and "not found" in err


def test_out_writes_tables_and_replaces_only_its_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    o = tmp_path / "cmp"
    code, _, err = run_cli(["compare-published", "--list", "gfhr2025", "--out", str(o)], capsys)
    assert code == 0, err
    assert {p.name for p in o.iterdir()} == {"summary.csv", "cities.csv", "differences.csv", "unmatched.csv",
                                            "comparison.json", "run.json", ".hubindex-manifest.json"}
    s = pd.read_csv(o / "summary.csv")
    assert s["list_id"].tolist() == ["gfhr2025"] and s["n_overlap"].iloc[0] == 10
    cities = pd.read_csv(o / "cities.csv")
    assert len(cities) == 10 and set(cities["list_id"]) == {"gfhr2025"}
    diffs = pd.read_csv(o / "differences.csv")
    assert set(diffs["level"]) == {"pillar", "indicator"}
    assert json.loads((o / "run.json").read_text())["lists"] == ["gfhr2025"]
    # a second run replaces the folder it wrote
    code, _, err = run_cli(["compare-published", "--list", "gfci37_fintech", "--out", str(o)], capsys)
    assert code == 0, err
    assert pd.read_csv(o / "summary.csv")["list_id"].tolist() == ["gfci37_fintech"]
    # a user's folder is never replaced: exit 6 before any work, the folder untouched
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run_cli(["compare-published", "--out", str(mine)], capsys)
    assert code == 6 and "refusing" in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep me"


def test_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0 and "compare-published" in out
