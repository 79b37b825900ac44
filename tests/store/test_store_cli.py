"""hubindex edition … and what-it-takes / rank-range / targets from the command line, on a tmp store."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_sim import fake_datasets, year_spec

from hubindex.cli import main


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_dir: Path) -> Path:
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "home" / "editions.duckdb"))
    # the dataset vintages of this test are the simulated years
    fake_datasets(monkeypatch, (2021, 2022, 2023), lambda y: year_spec(sim_dir, y))
    return tmp_path / "home"


def test_first_use_builds_editions_then_diff_explain(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edition", "list"]) == 0
    out, err = capsys.readouterr()
    assert "building the editions [2021, 2022, 2023]" in err and "published edition 2023" in err
    assert "2021" in out and "2023" in out and (home / "editions.duckdb").exists()
    assert main(["edition", "list"]) == 0  # second time: nothing built
    out, err = capsys.readouterr()
    assert "building" not in err
    assert main(["edition", "diff", "2022", "2023", "--out", str(home / "d.csv")]) == 0
    out, _ = capsys.readouterr()
    assert "exits ['L11']" in out and "gap rank 1 – rank 10" in out and (home / "d.csv").exists()
    # the file hubindex wrote may be rewritten; a user's file of that name never is (exit 6, bytes unchanged)
    assert main(["edition", "diff", "2022", "2023", "--out", str(home / "d.csv")]) == 0
    (home / "mine.csv").write_text("my notes\n")
    assert main(["edition", "diff", "2022", "2023", "--out", str(home / "mine.csv")]) == 6
    _, err = capsys.readouterr()
    assert "hubindex did not write it" in err and (home / "mine.csv").read_text() == "my notes\n"
    assert main(["edition", "explain", "2022", "2023", "L01"]) == 0
    out, _ = capsys.readouterr()
    assert "exact" in out and "coverage" in out
    assert main(["edition", "show", "2021", "--top", "3"]) == 0
    assert main(["edition", "history", "L01"]) == 0
    assert main(["edition", "backcast", "2021", str(home.parent / "nonexistent.yaml")]) == 2  # a spec error
    _, err = capsys.readouterr()
    assert "spec file not found" in err
    assert main(["edition", "show", "1999"]) == 5
    _, err = capsys.readouterr()
    assert "no edition '1999'" in err


def test_publish_supersede_and_tools(home: Path, sim_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "p.duckdb")
    spec = str(sim_dir / "spec.yaml")
    assert main(["edition", "publish", spec, "--label", "x", "--store", store]) == 0
    assert main(["edition", "publish", spec, "--label", "x", "--store", store]) == 5
    _, err = capsys.readouterr()
    assert "never overwritten" in err
    assert main(["edition", "publish", spec, "--label", "x", "--store", store, "--supersede", "--reason",
                 "typo"]) == 0
    assert main(["edition", "log", "--store", store]) == 0
    out, _ = capsys.readouterr()
    assert "supersede" in out and "typo" in out
    assert main(["what-it-takes", "L05", "--rank", "1", "--spec", spec]) == 0
    out, _ = capsys.readouterr()
    assert "one indicator at a time" in out and "cheapest combination" in out
    assert main(["rank-range", spec]) == 0
    out, _ = capsys.readouterr()
    assert "best_rank" in out
    assert main(["targets", "Hangzhou"]) == 0
    out, _ = capsys.readouterr()
    assert "no data" in out
