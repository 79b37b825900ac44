"""``hubindex report`` and ``hubindex export`` end to end through hubindex.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hubindex import build
from hubindex.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_export_end_to_end(asem_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exp"
    code, stdout, err = run_cli(["export", str(asem_spec), "--out", str(out), "--format", "csv,json"], capsys)
    assert code == 0, err
    assert (out / "csv" / "scores_long.csv").exists() and (out / "index.json").exists()
    assert not (out / "index.xlsx").exists()
    long = pd.read_csv(out / "csv" / "scores_long.csv")
    assert len(long) == 51 * 60
    assert "3060 rows = 51 units × 60 nodes" in " ".join(stdout.split())
    doc = json.loads((out / "index.json").read_text())
    assert doc["ranking"][0]["name"] == "Germany"


def test_report_end_to_end_with_audit_file(asem_spec: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    res = build(asem_spec)
    rk = res.index_ranks.astype(float)
    audit = tmp_path / "rank_intervals.csv"
    pd.DataFrame({"unit": res.units, "nominal_rank": rk.to_numpy(), "rank_median": rk.to_numpy(),
                  "rank_p05": (rk - 1).clip(lower=1).to_numpy(), "rank_p95": (rk + 2).clip(upper=51).to_numpy()}
                 ).to_csv(audit, index=False)
    out = tmp_path / "rep"
    code, stdout, err = run_cli(["report", str(asem_spec), "--out", str(out), "--no-pdf", "--audit", str(audit)],
                                capsys)
    assert code == 0, err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="audit"' in html and "1–3" in html  # Germany: rank 1, interval 1–3
    assert "with rank intervals" in stdout and not (out / "report.pdf").exists()
    # export into the same folder keeps the report
    code, _, err = run_cli(["export", str(asem_spec), "--out", str(out), "--format", "xlsx"], capsys)
    assert code == 0, err
    assert (out / "report.html").exists() and (out / "index.xlsx").exists()


def test_report_runs_the_uncertainty_analysis(asem_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = run_cli(["report", str(asem_dir / "sensitivity.yaml"), "--out", str(tmp_path / "u"),
                                 "--no-pdf", "--uncertainty", "20"], capsys)
    assert code == 0, err
    html = (tmp_path / "u" / "report.html").read_text(encoding="utf-8")
    assert "Rank intervals (5th percentile to 95th percentile) from the uncertainty analysis" in html
    assert "with rank intervals" in stdout


def test_report_without_pdf_engine_warns_and_succeeds(asem_spec: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import hubindex.publish.pdf as P

    monkeypatch.setenv("HUBINDEX_CHROMIUM", "")
    monkeypatch.setattr(P, "_weasyprint", lambda html, pdf: (False, "weasyprint not installed"))
    code, _, err = run_cli(["report", str(asem_spec), "--out", str(tmp_path / "r")], capsys)
    assert code == 0
    assert "warning" in err and "no PDF engine found" in " ".join(err.split())
    assert (tmp_path / "r" / "report.html").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["export", "{spec}", "--format", "xlsx,pdf"], 2, "unknown format 'pdf'"),
        (["export", "{tmp}/missing.yaml"], 2, "missing.yaml"),
        (["report", "{spec}", "--no-pdf", "--audit", "{tmp}/nope.csv"], 3, "nope.csv: data file not found"),
        (["report", "{spec}", "--no-pdf", "--audit", "{tmp}/bad.csv"], 3, "no rank interval columns"),
        (["export", "{spec}", "--out", "{tmp}/foreign"], 6, "refusing to replace"),
    ],
)
def test_bad_input_gives_one_clear_message(args: list[str], code: int, message: str, asem_spec: Path,
                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.csv").write_text("unit,score\nDEU,1\n")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    argv = [a.format(spec=asem_spec, tmp=tmp_path) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "o")]
    rc, _, err = run_cli(argv, capsys)
    assert rc == code, err
    assert message in " ".join(err.split()) and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in ("report", "export"):
        code, out, _ = run_cli([cmd, "--help"], capsys)
        assert code == 0 and "--out" in out
