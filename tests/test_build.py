"""build(): hand-checked tiny index, determinism, one changed parameter, run record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hubindex
from hubindex.errors import ComputeError, DataError
from hubindex.outputs import write_build_outputs


def test_tiny_index_by_hand(tiny_spec: Path) -> None:
    r = hubindex.build(tiny_spec)
    # a: 1..5 -> 0,25,50,75,100 ; b: 10,20,30,NA,50 -> 0,25,50,NA,100
    # c (direction -1): 5..1 -> 0,25,50,75,100 ; d: .5...1 -> 100,75,50,25,0
    np.testing.assert_allclose(r.scores["a"], [0, 25, 50, 75, 100])
    np.testing.assert_allclose(r.scores["b"], [0, 25, 50, np.nan, 100])
    np.testing.assert_allclose(r.scores["c"], [0, 25, 50, 75, 100])
    # P1 renormalises over available children: U4 -> a only = 75
    np.testing.assert_allclose(r.scores["P1"], [0, 25, 50, 75, 100])
    np.testing.assert_allclose(r.scores["P2"], [50, 50, 50, 50, 50])
    # IDX = (1*P1 + 3*P2)/4
    np.testing.assert_allclose(r.scores["IDX"], [37.5, 43.75, 50, 56.25, 62.5])
    assert list(r.ranks["IDX"]) == [5, 4, 3, 2, 1]
    assert list(r.ranks["P2"]) == [1, 1, 1, 1, 1]  # ties share the lowest rank
    assert list(r.tiers) == ["Rest", "Rest", "Rest", "Top", "Top"]
    # within region: East = U1, U2 ; West = U3, U4, U5
    assert list(r.subranks["rank_in_region"]) == [2, 1, 3, 2, 1]
    w = r.weights
    assert w.loc["P2", "effective"] == pytest.approx(0.75)
    assert w.loc["a", "effective"] == pytest.approx(0.125)
    assert w.loc[list(r.framework.indicators), "effective"].sum() == pytest.approx(1.0)


def test_build_is_deterministic_and_records_run(asem_dir: Path, tmp_path: Path) -> None:
    r1 = hubindex.build(asem_dir / "example_coin.yaml")
    r2 = hubindex.build(asem_dir / "example_coin.yaml")
    pd.testing.assert_frame_equal(r1.scores, r2.scores)
    write_build_outputs(r1, tmp_path / "a")
    write_build_outputs(r2, tmp_path / "b")
    for name in ("scores.csv", "ranks.csv", "run.json", "ranking.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rec = json.loads((tmp_path / "a" / "run.json").read_text())
    assert rec["data_files"].keys() == {"iData.csv"}
    assert [s["step"] for s in rec["steps"]] == ["denominate", "impute", "screen", "treat", "normalise", "aggregate"]
    assert rec["spec_hash"] == r1.spec.spec_hash()


def test_one_changed_parameter_changes_only_what_depends_on_it(asem_dir: Path) -> None:
    s = hubindex.load_spec(asem_dir / "example_coin.yaml")
    a = hubindex.build(s)
    b = hubindex.build(s.with_step("normalise", l=1))
    for d in ("Raw", "Denominated", "Imputed", "Screened", "Treated"):
        pd.testing.assert_frame_equal(a.datasets[d], b.datasets[d])
    assert not np.allclose(a.datasets["Normalised"], b.datasets["Normalised"], equal_nan=True)


def test_geometric_over_zero_is_a_clear_error(asem_dir: Path) -> None:
    s = hubindex.load_spec(asem_dir / "geometric.yaml").with_step("normalise", l=0)
    with pytest.raises(ComputeError, match=r"geometric mean of '\w+' needs values > 0.*unit '\w+'"):
        hubindex.build(s)


def test_zero_variance_indicator_is_a_clear_error(tiny_spec: Path) -> None:
    d = tiny_spec.parent / "data.csv"
    d.write_text(d.read_text().replace(",0.5\n", ",7\n").replace(",0.4\n", ",7\n").replace(",0.3\n", ",7\n")
                 .replace(",0.2\n", ",7\n").replace(",0.1\n", ",7\n"))
    with pytest.raises(ComputeError, match="indicator 'd' has zero variance"):
        hubindex.build(tiny_spec)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda t: t.replace("U2,Two", "U1,Two"), r"data.csv, row 3, column 'code': duplicate unit 'U1' \(also on row 2\)"),
        (lambda t: t.replace(",20,", ",twenty,"), r"data.csv, row 3, column 'b': expected a number.*'twenty'"),
        (lambda t: t.replace("code,name,region,a,", "code,name,region,A,"), r"indicator 'a' is not a column"),
        (lambda t: t.replace("U3,Three,West,3,30,3,0.3", "U3,Three,West,3,30,3,0.3,9,9"), "malformed CSV"),
        (lambda t: "", "empty"),
    ],
)
def test_bad_data_names_file_row_column(tiny_spec: Path, mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    d = tiny_spec.parent / "data.csv"
    d.write_text(mutate(d.read_text()))
    with pytest.raises(DataError, match=needle):
        hubindex.build(tiny_spec)


def test_xlsx_and_parquet_inputs_give_the_same_result(tiny_spec: Path) -> None:
    base = hubindex.build(tiny_spec)
    df = pd.read_csv(tiny_spec.parent / "data.csv")
    for ext, writer in (("xlsx", df.to_excel), ("parquet", df.to_parquet)):
        writer(tiny_spec.parent / f"data.{ext}", index=False)
        spec = hubindex.load_spec(tiny_spec)
        spec = spec.model_copy(update={"data": spec.data.model_copy(update={"path": f"data.{ext}"})})
        pd.testing.assert_frame_equal(hubindex.build(spec).scores, base.scores)


def test_several_data_files_join_on_unit(tiny_spec: Path) -> None:
    d = tiny_spec.parent
    df = pd.read_csv(d / "data.csv")
    df.drop(columns=["c", "d"]).to_csv(d / "one.csv", index=False)
    df[["code", "c", "d"]].to_csv(d / "two.csv", index=False)
    spec = hubindex.load_spec(tiny_spec)
    spec = spec.model_copy(update={"data": spec.data.model_copy(update={"path": ["one.csv", "two.csv"]})})
    pd.testing.assert_frame_equal(hubindex.build(spec).scores, hubindex.build(tiny_spec).scores)
