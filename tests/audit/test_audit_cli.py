"""`hubindex audit …` writes its CSV files and turns user mistakes into one message and an exit code."""

from __future__ import annotations

import pandas as pd

from hubindex.cli import main


def test_audit_commands(asem_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = str(asem_dir / "sensitivity.yaml")
    assert main(["audit", "coherence", spec, "--out", str(tmp_path / "coh")]) == 0
    assert (tmp_path / "coh" / "stats.csv").exists() and (tmp_path / "coh" / "pca.csv").exists()
    assert main(["audit", "uncertainty", spec, "--n", "64", "--seed", "0", "--out", str(tmp_path / "ua")]) == 0
    ri = pd.read_csv(tmp_path / "ua" / "rank_intervals.csv", index_col=0)
    assert ri.shape[0] == 51 and ri.loc["DEU", "nominal_rank"] == 1
    assert main(["audit", "sensitivity", spec, "--n", "16", "--boot", "20", "--out", str(tmp_path / "sa")]) == 0
    si = pd.read_csv(tmp_path / "sa" / "sobol_indices.csv", index_col=0)
    assert list(si.index) == ["treat", "normalise", "aggregate", "weights"]
    # `hubindex audit SPEC` runs everything into one folder
    assert main(["audit", spec, "--n", "16", "--boot", "10", "--out", str(tmp_path / "all")]) == 0
    assert {p.name for p in (tmp_path / "all").iterdir()} == {"coherence", "uncertainty", "sensitivity", ".hubindex-manifest.json"}
    out = capsys.readouterr().out
    assert "Germany" in out and "Sobol" in out


def test_audit_without_block_uses_weight_noise(tiny_spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert main(["audit", "uncertainty", str(tiny_spec), "--n", "30", "--out", str(tmp_path / "u")]) == 0
    assert pd.read_csv(tmp_path / "u" / "ranks.csv").shape == (30, 6)


def test_audit_errors(tiny_spec, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["audit", "uncertainty", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "x")]) == 2
    assert "spec file not found" in capsys.readouterr().err
    # one uncertain factor cannot be split by a Saltelli design
    assert main(["audit", "sensitivity", str(tiny_spec), "--n", "8", "--out", str(tmp_path / "s")]) == 4
    assert "at least two uncertain factors" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_audit_keep_summary(asem_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = str(asem_dir / "sensitivity.yaml")
    assert main(["audit", "uncertainty", spec, "--n", "64", "--keep", "summary", "--out", str(tmp_path / "s")]) == 0
    files = {p.name for p in (tmp_path / "s").iterdir()}
    assert files == {"rank_intervals.csv", "rank_counts.csv", "choice_counts.csv", "config.json", ".hubindex-manifest.json"}
    assert "score quantiles within" in capsys.readouterr().out
    assert main(["audit", "uncertainty", spec, "--n", "64", "--keep", "all", "--out", str(tmp_path / "a")]) == 0
    a = pd.read_csv(tmp_path / "a" / "rank_intervals.csv", index_col=0)
    s = pd.read_csv(tmp_path / "s" / "rank_intervals.csv", index_col=0)
    pd.testing.assert_frame_equal(a[["rank_median", "rank_p05", "rank_p95"]], s[["rank_median", "rank_p05", "rank_p95"]])
    assert main(["audit", "uncertainty", spec, "--keep", "some", "--out", str(tmp_path / "x")]) == 2
