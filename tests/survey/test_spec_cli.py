"""Survey spec validation, file formats, bad input → one clear error, raking via the spec, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hubindex.cli import main
from hubindex.errors import DataError, SpecError
from hubindex.survey import load_survey_spec, run_survey, survey_spec_from_dict

ROWS = """id,w,sex,age,item1,item2,net,city
1,1.0,1,20,1,2,1,A
2,2.0,2,40,2,2,1,A
3,1.5,1,60,1,1,2,A
4,0.5,2,30,2,1,1,B
5,1.0,1,50,1,2,1,B
6,3.0,2,25,,2,2,B
"""


def _spec(tmp_path: Path, rows: str = ROWS, **over) -> Path:
    (tmp_path / "resp.csv").write_text(rows)
    raw = {
        "name": "tiny", "source": "hand-made test data",
        "data": {"path": "resp.csv", "id": "id", "weight": "w", "unit": "city"},
        "measures": [
            {"code": "any", "items": ["item1", "item2"], "yes": [1], "at_least": 1,
             "denominator": {"label": "all adults"}},
            {"code": "both", "items": ["item1", "item2"], "yes": [1], "at_least": 2,
             "denominator": {"label": "internet users", "where": {"net": [1]}}},
        ],
        "groups": [{"name": "sex", "column": "sex", "labels": {1: "f", 2: "m"}}],
        "min_n": 2,
    }
    raw.update(over)
    p = tmp_path / "survey.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    return p


def test_tiny_by_hand(tmp_path):
    t = run_survey(_spec(tmp_path)).estimates
    a = t[(t.unit == "A") & (t.measure == "any") & (t.group == "all")].iloc[0]
    # unit A: adopters 1 and 3 (w 1, 1.5) of w total 4.5
    assert a["estimate"] == pytest.approx(2.5 / 4.5) and a["n"] == 3
    b = t[(t.unit == "B") & (t.measure == "both") & (t.group == "all")].iloc[0]
    # unit B, internet users 4 and 5: nobody said yes to both → 0, interval still sensible
    assert b["estimate"] == 0 and b["n"] == 2 and b["ci_low"] == 0 and 0 < b["ci_high"] < 1
    assert b["denominator"] == "internet users"
    f = t[(t.unit == "B") & (t.measure == "any") & (t.group == "sex")]
    assert f["level"].tolist() == ["f", "m"]
    assert f["suppressed"].tolist() == [True, False]  # 1 woman in B < min_n 2
    assert np.isnan(f["estimate"].iloc[0]) and f["n"].iloc[0] == 1


def test_missing_exclude(tmp_path):
    p = _spec(tmp_path)
    raw = yaml.safe_load(p.read_text())
    raw["measures"][0]["missing"] = "exclude"
    p.write_text(yaml.safe_dump(raw))
    t = run_survey(p).estimates
    assert t[(t.unit == "B") & (t.measure == "any") & (t.group == "all")]["n"].iloc[0] == 2


@pytest.mark.parametrize("fmt", ["parquet", "sav", "dta"])
def test_file_formats_equal_csv(tmp_path, fmt):
    csv = run_survey(_spec(tmp_path)).estimates
    df = pd.read_csv(tmp_path / "resp.csv")
    df["city"] = df["city"].astype(str)
    out = tmp_path / f"resp.{fmt}"
    if fmt == "parquet":
        df.to_parquet(out)
    else:
        import pyreadstat

        (pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta)(df, str(out))
    p = _spec(tmp_path, data={"path": out.name, "id": "id", "weight": "w", "unit": "city"})  # type: ignore[arg-type]
    other = run_survey(p).estimates
    pd.testing.assert_frame_equal(csv.drop(columns="provenance"), other.drop(columns="provenance"))


def test_value_labels_from_sav(tmp_path):
    import io

    import pyreadstat

    df = pd.read_csv(io.StringIO(ROWS))
    df["city"] = df["city"].astype(str)
    pyreadstat.write_sav(df, str(tmp_path / "r.sav"), variable_value_labels={"sex": {1: "Female", 2: "Male"}})
    p = _spec(tmp_path, data={"path": "r.sav", "weight": "w", "unit": "city"},
              groups=[{"name": "sex", "column": "sex"}])
    t = run_survey(p).estimates
    assert set(t[t.group == "sex"]["level"]) == {"Female", "Male"}


@pytest.mark.parametrize(("edit", "match"), [
    ({"measures": [{"code": "x", "items": ["item1"]}]}, r"measures\.0\.denominator: Field required"),
    ({"measures": [{"code": "x", "items": ["item1"], "at_least": 2, "denominator": {"label": "a"}}]},
     "at_least = 2 but only 1"),
    ({"data": {"path": "resp.csv", "unit": "city", "unit_value": "X"}}, "exactly one of 'unit'"),
    ({"ci": "wald"}, r"ci: Input should be 'wilson' or 'korn_graubard'"),
    ({"groups": [{"name": "all", "column": "sex"}]}, "'all' is reserved"),
])
def test_bad_spec_is_a_clear_spec_error(tmp_path, edit, match):
    with pytest.raises(SpecError, match=match):
        load_survey_spec(_spec(tmp_path, **edit))


@pytest.mark.parametrize(("data", "match"), [
    (ROWS.replace("2,2.0,2,40", "2,0,2,40"), r"resp\.csv, row 3, column 'w': weight is 0"),
    (ROWS.replace("2,2.0,2,40", "2,,2,40"), r"row 3, column 'w': weight is missing"),
    (ROWS.replace("\n2,2.0", "\n1,2.0"), r"row 3, column 'id': respondent id '1' appears more than once"),
    (ROWS.replace("item2", "itemX"), r"column\(s\) not found: 'item2' \(used by measure \['any', 'both'\]\)"),
])
def test_bad_data_is_a_clear_data_error(tmp_path, data, match):
    with pytest.raises(DataError, match=match):
        run_survey(_spec(tmp_path, rows=data))


def test_raking_through_the_spec(tmp_path):
    (tmp_path / "m.csv").write_text("variable,category,target\nsex,1,0.5\nsex,2,0.5\n")
    t = run_survey(p := _spec(tmp_path, raking={"margins": "m.csv"}))
    w = t.weights
    for u in ("A", "B"):
        wu = w[w.unit == u]
        df = pd.read_csv(tmp_path / "resp.csv")
        sexes = df.loc[df.city == u, "sex"].to_numpy()
        assert wu["weight"][sexes == 1].sum() == pytest.approx(wu["weight"].sum() / 2)
        assert wu["weight"].sum() == pytest.approx(wu["design_weight"].sum())
    assert t.rake_report.converged and "raked to m.csv" in t.estimates["provenance"].iloc[0]
    del p
    (tmp_path / "m.csv").write_text("variable,category,target\nsex,1,0.5\n")
    with pytest.raises(DataError, match=r"resp\.csv, row 3, column 'sex': category '2' is not in the margins"):
        run_survey(_spec(tmp_path, raking={"margins": "m.csv"}))


def test_cli_estimate_writes_outputs(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["survey", "estimate", str(_spec(tmp_path)), "--out", str(out)]) == 0
    t = pd.read_csv(out / "estimates.csv")
    for c in ("measure", "group", "level", "estimate", "se", "ci_low", "ci_high", "n", "deff"):
        assert c in t.columns
    assert ((t.group == "all") & (t.level == "all")).any()
    assert (out / "weights.csv").exists() and (out / "run.json").exists()
    assert "estimates" in capsys.readouterr().out


def test_cli_bad_input_one_message_nothing_written(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["survey", "estimate", str(_spec(tmp_path, rows=ROWS.replace("2,2.0", "2,-1"))),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3 and "weight is -1" in err and "Traceback" not in err
    assert not out.exists()


def test_dict_api(tmp_path):
    s = survey_spec_from_dict(yaml.safe_load(_spec(tmp_path).read_text()), base_dir=tmp_path)
    assert run_survey(s).estimates["unit"].unique().tolist() == ["A", "B"]
