"""CLI end to end: hubindex build, outputs, bad input → one clear message, non-zero exit, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hubindex.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_build_writes_outputs(asem_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["build", str(asem_dir / "default.yaml"), "--out", str(tmp_path / "o"), "--top", "5"],
                             capsys)
    assert code == 0, err
    o = tmp_path / "o"
    scores = pd.read_csv(o / "scores.csv")
    ranks = pd.read_csv(o / "ranks.csv")
    assert list(scores.columns[:2]) == ["unit", "LPI"] and "Index" in scores.columns
    assert scores.shape == (51, 61) and ranks.shape == (51, 61)
    assert sorted(ranks["Index"]) == list(range(1, 52))
    # the written Index is COINr's (qTreat -> min-max 0-100 -> a_amean; tests/data/coinr_reference)
    coinr = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "coinr_reference" / "simple_amean_aggregated.csv")
    assert scores["unit"].tolist() == coinr["uCode"].tolist()
    assert (scores["Index"] - coinr["Index"]).abs().max() < 1e-9
    run = json.loads((o / "run.json").read_text())
    assert run["steps"][0]["step"] == "treat" and run["steps"][0]["winmax"] == 5
    assert (o / "reports" / "treat.csv").exists()
    assert "Rank" in out and "Sustainable Connectivity" in out
    assert "Unit" in out and "City" not in out  # ASEM ranks countries: no "City" header


def test_default_build_prints_cities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command: the shipped index prints rank, city, country, score, tier and the pillars."""
    code, out, err = run_cli(["build", "--out", str(tmp_path / "o"), "--top", "3"], capsys)
    assert code == 0, err
    head = next(ln for ln in out.splitlines() if "Rank" in ln)
    cols = [c.strip() for c in head.strip("┃ ").split("┃")]
    assert cols == ["Rank", "City", "Country", "Score", "Tier", "Fintech Industry", "Consumer Experience", "Ecosystem"]
    assert "91 units ranked" in out


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--help"], ["build", "--help"]):
        code, out, _ = run_cli(args, capsys)
        assert code == 0 and "Usage" in out


@pytest.mark.parametrize(
    ("setup", "needle", "exit_code"),
    [
        (lambda d: d / "missing.yaml", "spec file not found", 2),
        (lambda d: (d / "s.yaml").write_text("name: [x\n") and d / "s.yaml", "not valid YAML", 2),
        (lambda d: (d / "s.yaml").write_text(
            "name: x\ndata: {path: nope.csv, unit_code: u}\nframework: [{code: I}, {code: a, parent: I}]\n"
            "pipeline: [{step: normalise}, {step: aggregate}]\n") and d / "s.yaml", "nope.csv: data file not found", 3),
        (lambda d: (d / "s.yaml").write_text(
            "name: x\ndata: {path: d.csv, unit_code: u}\nframework: [{code: I}, {code: a, parent: I, weight: -2}]\n"
            "pipeline: [{step: normalise}, {step: aggregate}]\n") and d / "s.yaml", "weight", 2),
    ],
)
def test_bad_input_is_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, needle: str,
                                        exit_code: int) -> None:  # type: ignore[no-untyped-def]
    spec = setup(tmp_path)
    out_dir = tmp_path / "out"
    code, out, err = run_cli(["build", str(spec), "--out", str(out_dir)], capsys)
    assert code == exit_code  # 2 spec or command line, 3 data
    assert needle in err.replace("\n", " ")
    assert "Traceback" not in err + out
    assert not out_dir.exists()


def test_failed_build_keeps_previous_outputs(tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    out_dir = tmp_path / "out"
    assert run_cli(["build", str(tiny_spec), "--out", str(out_dir)], capsys)[0] == 0
    before = (out_dir / "scores.csv").read_bytes()
    (tiny_spec.parent / "data.csv").write_text("code,name,region,a,b,c,d\nU1,One,East,x,1,1,1\n")
    code, _, err = run_cli(["build", str(tiny_spec), "--out", str(out_dir)], capsys)
    assert code == 3 and "column 'a'" in err
    assert (out_dir / "scores.csv").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_console_script_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("hubindex")
    if not exe.exists():
        pytest.skip("console script not installed")
    p = subprocess.run([str(exe), "build", str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert p.returncode == 2
    assert "spec file not found" in p.stderr and "Traceback" not in p.stderr
