"""Exports: workbook sheets/columns/values round-trip against the Result, CSV/JSON carry the same content,
hand-checked values on the tiny index, provenance merge, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubindex import build
from hubindex.engine.result import Result
from hubindex.errors import DataError, HubindexError
from hubindex.publish import tables as T
from hubindex.publish.export import ExportError, export, parse_formats

SHEETS = ["About", "Ranking", "Scores", "Framework", "Weights", "Columns"]
CSV_FILES = {"About": "about.csv", "Ranking": "ranking.csv", "Scores": "scores_long.csv",
             "Framework": "framework.csv", "Weights": "weights.csv", "Columns": "columns.csv"}


def _strict_json(text: str) -> object:
    def bad(tok: str) -> None:
        raise ValueError(f"non-standard JSON token {tok}")

    return json.loads(text, parse_constant=bad)


@pytest.fixture(scope="module")
def asem_export(asem: Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "out"
    export(asem, out)
    return out


@pytest.fixture(scope="module")
def asem_wb(asem_export: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(asem_export / "index.xlsx", sheet_name=None)


@pytest.fixture(scope="module")
def asem_json(asem_export: Path) -> dict[str, object]:
    doc = _strict_json((asem_export / "index.json").read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _name(asem: Result, code: str) -> str:
    return asem.framework.names[asem.framework.index_of(code)]


def test_workbook_sheets_and_readable_headers(asem: Result, asem_wb: dict[str, pd.DataFrame]) -> None:
    wb = asem_wb
    assert list(wb) == SHEETS  # About first: the metadata sits beside the tables, not above them
    rk = wb["Ranking"]
    pillars = asem.pillars()
    assert list(rk.columns[:3]) == ["Rank", "Code", "Name"]
    for col in ["Score", *(f"{_name(asem, p)} score" for p in pillars), *(f"{_name(asem, p)} rank" for p in pillars),
                "Rank in EurAsia group", "Rank in GDP group", "EurAsia group"]:
        assert col in rk.columns, col
    assert not any(p in rk.columns for p in pillars)  # no bare codes as headers
    sc = wb["Scores"]
    assert list(sc.columns[:12]) == ["Code", "Name", "Node code", "Node", "Level", "Kind", "Parent code", "Path",
                                     "Raw value", "Score", "Rank", "Imputed"]
    for col in ("Outlier treatment", "Treated", "Data year", "Source", "Effective weight", "Direction"):
        assert col in sc.columns
    assert {"Code", "Name", "Level", "Parent", "Weight", "Effective weight", "Direction", "Unit of measure", "Source",
            "Coverage"} <= set(wb["Framework"].columns)
    about = dict(zip(wb["About"]["Item"], wb["About"]["Value"], strict=True))
    assert about["spec_hash (sha256)"] == asem.run_record["spec_hash"]
    assert about["hubindex_version"] == asem.run_record["hubindex_version"]
    assert "citation" in about and "licence" in about and "built_at (UTC)" in about
    assert "(hubindex default)" not in about["title"] + about["citation"] and "(COINr default)" in about["title"]
    # the dictionary maps every header of every table to its machine code
    cols = wb["Columns"]
    for sheet in ("Ranking", "Scores", "Framework", "Weights"):
        assert cols.loc[cols["Table"] == sheet, "Header"].tolist() == list(wb[sheet].columns), sheet
    code_of = dict(zip(cols.loc[cols["Table"] == "Ranking", "Header"], cols.loc[cols["Table"] == "Ranking", "Code"],
                       strict=True))
    assert code_of[f"{_name(asem, pillars[0])} score"] == pillars[0] and code_of["Code"] == "unit"


def test_workbook_keeps_every_digit_and_shows_two(asem: Result, asem_export: Path,
                                                  asem_wb: dict[str, pd.DataFrame]) -> None:
    from openpyxl import load_workbook

    rk = asem_wb["Ranking"].set_index("Code")
    assert len(rk) == len(asem.units)
    # full precision (Excel keeps 15-17 significant digits), not the 2 decimals the cell format shows
    np.testing.assert_allclose(rk["Score"].reindex(asem.units).to_numpy(), asem.index_scores.to_numpy(), rtol=1e-14)
    assert (rk["Rank"].reindex(asem.units).to_numpy() == asem.index_ranks.to_numpy()).all()
    for p in asem.pillars():
        np.testing.assert_allclose(rk[f"{_name(asem, p)} score"].reindex(asem.units), asem.scores[p].to_numpy(),
                                   rtol=1e-14)
        assert (rk[f"{_name(asem, p)} rank"].reindex(asem.units).to_numpy() == asem.ranks[p].to_numpy()).all()
    for g in asem.subranks.columns:
        assert (rk[f"Rank in {g.removeprefix('rank_in_').replace('_', ' ')}"].reindex(asem.units).to_numpy()
                == asem.subranks[g].to_numpy()).all()
    assert rk["Rank"].is_monotonic_increasing  # sorted by rank
    ws = load_workbook(asem_export / "index.xlsx")["Ranking"]
    heads = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=heads.index("Score") + 1).number_format == "0.00"


def test_csv_is_rounded_for_reading_and_json_is_the_machine_file(asem: Result, asem_export: Path,
                                                                  asem_wb: dict[str, pd.DataFrame],
                                                                  asem_json: dict[str, object]) -> None:
    for sheet, name in CSV_FILES.items():
        text = (asem_export / "csv" / name).read_text(encoding="utf-8")
        assert not text.startswith("#"), name  # no comment lines above the header
        csv = pd.read_csv(asem_export / "csv" / name)
        assert list(csv.columns) == list(asem_wb[sheet].columns), sheet
        assert len(csv) == len(asem_wb[sheet]), sheet
    rk = pd.read_csv(asem_export / "csv" / "ranking.csv").set_index("Code").reindex(asem.units)
    np.testing.assert_array_equal(rk["Score"].to_numpy(), asem.index_scores.round(2).to_numpy())
    p = asem.pillars()[0]
    np.testing.assert_array_equal(rk[f"{_name(asem, p)} score"].to_numpy(), asem.scores[p].round(2).to_numpy())
    longest = max(len(x.split(".")[-1]) for x in rk["Score"].astype(str))
    assert longest <= 2  # e.g. 88.23, never 88.2290319154079
    doc = asem_json
    assert set(doc) == {"notes", "columns", "ranking", "scores", "framework", "weights"}
    assert len(doc["scores"]) == len(asem.units) * len(asem.framework.codes)  # type: ignore[arg-type]
    assert doc["notes"]["spec_hash (sha256)"] == asem.run_record["spec_hash"]  # type: ignore[index]
    ranking = pd.DataFrame(doc["ranking"]).set_index("unit").reindex(asem.units)
    assert ranking.iloc[:, :0].index[0] == asem.units[0] and ranking["rank"].min() == 1
    np.testing.assert_array_equal(ranking["score"].to_numpy(), asem.index_scores.to_numpy())  # every digit
    np.testing.assert_array_equal(ranking[p].to_numpy(), asem.scores[p].to_numpy())
    cols = pd.DataFrame(doc["columns"])
    assert {"table", "header", "code", "meaning"} <= set(cols.columns)
    assert (cols["meaning"].astype(str).str.len() > 0).all(), cols[cols["meaning"] == ""]
    readme = (asem_export / "README.md").read_text()
    assert "Cite as" in readme and "Licence" in readme and "index.xlsx" in readme and "machine file" in readme


def test_long_format_round_trips(asem: Result, asem_json: dict[str, object]) -> None:
    sc = pd.DataFrame(asem_json["scores"])
    n_nodes = len(asem.framework.codes)
    assert len(sc) == len(asem.units) * n_nodes
    assert not sc.duplicated(["unit", "code"]).any()
    score = sc.pivot(index="unit", columns="code", values="score").reindex(index=asem.units,
                                                                           columns=list(asem.framework.codes))
    np.testing.assert_allclose(score.to_numpy(), asem.scores[list(asem.framework.codes)].to_numpy(), rtol=0,
                               atol=0)
    rank = sc.pivot(index="unit", columns="code", values="rank").reindex(index=asem.units,
                                                                         columns=list(asem.framework.codes))
    np.testing.assert_array_equal(rank.to_numpy(dtype=float), asem.ranks[list(asem.framework.codes)].to_numpy(float))
    inds = list(asem.framework.indicators)
    raw = sc.pivot(index="unit", columns="code", values="raw_value").reindex(index=asem.units, columns=inds)
    np.testing.assert_allclose(raw.to_numpy(dtype=float), asem.datasets["Raw"].reindex(asem.units)[inds].to_numpy())
    treat = sc.pivot(index="unit", columns="code", values="treatment").reindex(index=asem.units, columns=inds)
    want = asem.treat_flags.reindex(asem.units)[inds].fillna("").astype(str).to_numpy()
    assert (treat.fillna("").astype(str).to_numpy() == want).all()
    assert sc["treated"].sum() == (want != "").sum() == 30
    # hierarchy: path ends in the code and starts at the index; aggregates have no raw value
    assert (sc["path"].str.split("/").str[-1] == sc["code"]).all()
    assert (sc["path"].str.split("/").str[0] == asem.index_code).all()
    assert sc.loc[sc["kind"] == "aggregate", "raw_value"].isna().all()
    lpi = sc[sc["code"] == "LPI"].iloc[0]
    assert lpi["parent"] == "Physical" and lpi["path"] == "Index/Conn/Physical/LPI" and lpi["level"] == 1
    assert lpi["indicator_unit"] == "Score 1-5"


def test_display_words_for_outlier_flags(asem: Result, asem_wb: dict[str, pd.DataFrame]) -> None:
    shown = set(asem_wb["Scores"]["Outlier treatment"].dropna().astype(str)) - {""}
    assert shown and not shown & {"winhi", "winlo"}
    assert shown <= {"value capped at the outlier limit", "value raised to the outlier limit",
                     "log-transformed (skewed indicator)"}


def test_tiny_index_hand_values(tiny: Result) -> None:
    """Hand-computed: min-max per indicator (c reversed), P1 = mean(a, b available), P2 = mean(c, d) = 50,
    IDX = (1·P1 + 3·P2)/4."""
    rk = T.ranking_table(tiny)
    assert rk["unit"].tolist() == ["U5", "U4", "U3", "U2", "U1"]
    np.testing.assert_allclose(rk["score"], [62.5, 56.25, 50.0, 43.75, 37.5])
    assert rk["tier"].tolist() == ["Top", "Top", "Rest", "Rest", "Rest"]
    assert rk["P2_rank"].tolist() == [1] * 5  # all tied at 50
    assert rk["rank_in_region"].tolist() == [1, 2, 3, 1, 2]
    long = T.scores_long(tiny)
    assert len(long) == 5 * 7
    cell = long.set_index(["unit", "code"])
    assert cell.loc[("U1", "c"), "raw_value"] == 5 and cell.loc[("U1", "c"), "score"] == 0.0
    assert cell.loc[("U1", "c"), "direction"] == -1
    assert np.isnan(cell.loc[("U4", "b"), "score"]) and pd.isna(cell.loc[("U4", "b"), "rank"])
    assert cell.loc[("U4", "P1"), "score"] == 75.0
    assert cell.loc[("U2", "d"), "rank"] == 2
    assert cell.loc[("U1", "a"), "path"] == "IDX/P1/a"
    np.testing.assert_allclose(cell.loc[("U1", "c"), "weight"], 0.375)  # 3/4 · 1/2
    fw = T.framework_table(tiny).set_index("code")
    assert fw.loc["b", "coverage"] == pytest.approx(0.8)
    np.testing.assert_allclose(fw.loc[["P1", "P2"], "effective_weight"], [0.25, 0.75])


def test_provenance_adds_year_and_source(tiny: Result, tmp_path: Path) -> None:
    prov = tmp_path / "prov.csv"
    prov.write_text("unit,indicator,value,source,source_date,scope\n"
                    "U1,a,1,Agency A,2023-06-30,city\n"
                    "U2,a,2,Agency A,2024-01-01,country\n"
                    "U1,b,10,Bureau B,2022,city\n")
    p = T.read_provenance(prov)
    long = T.scores_long(tiny, p).set_index(["unit", "code"])
    assert long.loc[("U1", "a"), "data_year"] == 2023 and long.loc[("U1", "a"), "source"] == "Agency A"
    assert long.loc[("U2", "a"), "data_year"] == 2024 and long.loc[("U2", "a"), "scope"] == "country"
    assert long.loc[("U1", "b"), "source"] == "Bureau B"
    assert pd.isna(long.loc[("U3", "a"), "source"])
    assert long.loc[("U1", "a"), "source_value"] == 1
    assert len(long) == 35  # the merge adds columns, never rows


def test_provenance_errors_name_file_and_row(tmp_path: Path) -> None:
    prov = tmp_path / "prov.csv"
    prov.write_text("unit,indicator,source\nU1,a,x\nU2,a,y\nU1,a,z\n")
    with pytest.raises(DataError, match=r"prov\.csv, row 4: duplicate provenance row for unit='U1', code='a'"):
        T.read_provenance(prov)
    prov.write_text("unit,source\nU1,x\n")
    with pytest.raises(DataError, match="no indicator code column"):
        T.read_provenance(prov)


def test_parse_formats() -> None:
    assert parse_formats("xlsx, CSV,json") == ("xlsx", "csv", "json")
    assert parse_formats(["json", "json"]) == ("json",)
    with pytest.raises(ExportError, match="unknown format 'pdf'"):
        parse_formats("xlsx,pdf")
    with pytest.raises(ExportError, match="no format"):
        parse_formats(" , ")


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_failure_mid_write_leaves_output_unchanged(tiny: Result, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "w"
    out = base / "out"
    export(tiny, out, ("csv",))
    before = _snapshot(out)
    import hubindex.publish.export as E

    def boom(*a: object, **k: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(E, "to_json", boom)  # xlsx and csv are already written in the temp folder by then
    with pytest.raises(RuntimeError, match="disk full"):
        export(tiny, out, ("xlsx", "csv", "json"))
    assert _snapshot(out) == before
    assert sorted(os.listdir(base)) == ["out"]  # no temp folder left behind
    fresh = base / "fresh"
    with pytest.raises(RuntimeError):
        export(tiny, fresh)
    assert not fresh.exists() and sorted(os.listdir(base)) == ["out"]


def test_export_keeps_other_outputs_and_refuses_foreign_folders(tiny: Result, tmp_path: Path) -> None:
    out = tmp_path / "out"
    from hubindex.publish.report import write_report

    export(tiny, out, ("json",))
    write_report(tiny, out, pdf=False)
    export(tiny, out, ("csv",))
    names = sorted(p.name for p in out.iterdir())
    assert "report.html" in names and "csv" in names and "index.json" not in names  # json not requested now
    (out / "notes.txt").write_text("mine")  # a file hubindex did not write: the folder is the user's now
    with pytest.raises(HubindexError, match="notes.txt"):
        export(tiny, out, ("csv",))
    assert (out / "notes.txt").read_text() == "mine" and (out / "report.html").exists()
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(HubindexError, match="refusing to replace"):
        export(tiny, foreign)
    assert (foreign / "thesis.docx").read_text() == "precious" and len(list(foreign.iterdir())) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 9), data=st.data())
def test_long_table_invariants(n: int, data: st.DataObject, tmp_path: Path) -> None:
    """For any data: rows = units × nodes, each (unit, node) once, score/rank pivots back to the Result."""
    vals = data.draw(st.lists(st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3, allow_nan=False)),
                                       min_size=3, max_size=3), min_size=n, max_size=n))
    X = np.array([[np.nan if v is None else v for v in row] for row in vals], dtype=float)
    X[0] = [1.0, 2.0, 3.0]  # every indicator has two distinct values so min-max is defined
    X[1] = [4.0, 5.0, 7.0]
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    df = pd.DataFrame(X, columns=["x", "y", "z"])
    df.insert(0, "u", [f"C{i:02d}" for i in range(n)])
    df.to_csv(folder / "d.csv", index=False)
    spec = {"name": "H", "data": {"path": str(folder / "d.csv"), "unit_code": "u"},
            "framework": [{"code": "I"}, {"code": "A", "parent": "I"}, {"code": "x", "parent": "A"},
                          {"code": "y", "parent": "A", "direction": -1}, {"code": "z", "parent": "I", "weight": 2}],
            "pipeline": [{"step": "normalise", "method": "min_max"}, {"step": "aggregate", "method": "arithmetic"}]}
    res = build(spec)
    long = T.scores_long(res)
    assert len(long) == n * 5 and not long.duplicated(["unit", "code"]).any()
    piv = long.pivot(index="unit", columns="code", values="score").reindex(index=res.units,
                                                                           columns=list(res.framework.codes))
    np.testing.assert_allclose(piv.to_numpy(), res.scores[list(res.framework.codes)].to_numpy())
    rk = T.ranking_table(res)
    assert rk["unit"].tolist() == long.drop_duplicates("unit")["unit"].tolist()  # same (ranking) order
    r = rk["rank"].dropna().to_numpy()
    assert (np.diff(r) >= 0).all()


def test_formula_looking_names_are_text_in_csv_and_xlsx_not_formulas(tiny_spec: Path, tmp_path: Path) -> None:
    """A unit name in a user's data that a spreadsheet would run (``=HYPERLINK(…)``, ``@SUM``, ``+cmd``) is
    exported with a leading ``'`` in the CSV files and as a text cell in the workbook (openpyxl would write a
    string starting with ``=`` as a formula); plain numbers written as text (``-2``) and the JSON keep the name."""
    from openpyxl import load_workbook

    data = tiny_spec.parent / "data.csv"
    text = data.read_text()
    evil = {"One": '"=HYPERLINK(""http://evil.example"",""x"")"', "Two": "@SUM(A1:A9)", "Three": "+1+cmd",
            "Four": "-2"}
    for name, bad in evil.items():
        text = text.replace(f",{name},", f",{bad},")
    data.write_text(text)
    r = build(tiny_spec, cache=False)
    out = tmp_path / "out"
    export(r, out, "xlsx,csv,json")
    ranking = pd.read_csv(out / "csv" / "ranking.csv", dtype=str, keep_default_na=False)
    names = set(ranking.iloc[:, [i for i, c in enumerate(ranking.columns) if "name" in c.lower() or c == "City"
                                 or c == "Unit"][0]])
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in names
    assert "'@SUM(A1:A9)" in names and "'+1+cmd" in names and "-2" in names
    wb = load_workbook(out / "index.xlsx")
    cells = [c for row in wb["Ranking"].iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells), "a formula in the workbook"
    values = {c.value for c in cells}
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in values and "'@SUM(A1:A9)" in values
    doc = json.loads((out / "index.json").read_text())
    assert any(row.get("name") == "=HYPERLINK(\"http://evil.example\",\"x\")" or
               "=HYPERLINK(\"http://evil.example\",\"x\")" in row.values() for row in doc["ranking"])
