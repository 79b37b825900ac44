"""The spec: validation messages, COINr iMeta loading, hashing, one-parameter changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hubindex
from hubindex.errors import SpecError
from hubindex.spec import load_spec, spec_from_dict

BASE = {
    "name": "t",
    "data": {"path": "d.csv", "unit_code": "u"},
    "framework": [{"code": "I"}, {"code": "a", "parent": "I"}, {"code": "b", "parent": "I"}],
    "pipeline": [{"step": "normalise"}, {"step": "aggregate"}],
}


def with_(**kw):  # type: ignore[no-untyped-def]
    return {**BASE, **kw}


def test_valid_minimal() -> None:
    s = spec_from_dict(BASE)
    assert [n.code for n in s.framework] == ["I", "a", "b"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"framework": [{"code": "I"}, {"code": "a", "parent": "X"}]}, "orphan"),
        ({"framework": [{"code": "I"}, {"code": "a", "parent": "b"}, {"code": "b", "parent": "a"}]}, "cycle"),
        ({"framework": [{"code": "I"}, {"code": "a", "parent": "b"}, {"code": "b", "parent": "c"},
                        {"code": "c", "parent": "a"}, {"code": "d", "parent": "I"}]}, "cycle"),
        ({"framework": [{"code": "I"}, {"code": "a", "parent": "I", "weight": -1}]}, "weight"),
        ({"framework": [{"code": "I"}, {"code": "a", "parent": "I"}, {"code": "a", "parent": "I"}]}, "more than once"),
        ({"pipeline": [{"step": "aggregate"}]}, "normalise"),
        ({"pipeline": [{"step": "aggregate"}, {"step": "normalise"}]}, "last"),
        ({"pipeline": [{"step": "normalise", "method": "nope"}, {"step": "aggregate"}]}, "pipeline step 1"),
        ({"pipeline": [{"step": "impute", "method": "group_mean"}, {"step": "normalise"}, {"step": "aggregate"}]},
         "group"),
        ({"pipeline": [{"step": "normalise", "method": "min_max", "l": 5, "u": 1}, {"step": "aggregate"}]}, "u > l"),
        ({"tiers": {"cutoffs": [8, 40], "labels": ["a", "b"]}}, "label"),
        ({"weights": {"use": "mine"}}, "mine"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_specs_name_the_problem(change: dict, needle: str) -> None:
    with pytest.raises(SpecError) as e:
        spec_from_dict(with_(**change), source="my.yaml")
    assert "my.yaml" in str(e.value)
    assert needle in str(e.value)


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ndata: {path: [a.csv\n")
    with pytest.raises(SpecError, match=r"bad.yaml, line \d+, column \d+"):
        load_spec(p)


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.yaml")


def test_coinr_imeta_loads_as_is(asem_dir: Path) -> None:
    s = load_spec(asem_dir / "default.yaml")
    meta = pd.read_csv(asem_dir / "iMeta.csv")
    nodes = meta[meta["Type"].isin(["Indicator", "Aggregate"])]
    assert len(s.framework) == 49 + 11 == len(nodes)
    want = {r.iCode: (r.Parent if isinstance(r.Parent, str) else None, int(r.Level), float(r.Weight))
            for r in nodes.itertuples()}
    assert {n.code: (n.parent, n.level, n.weight) for n in s.framework} == want
    assert s.data.groups == ["GDP_group", "GDPpc_group", "Pop_group", "EurAsia_group"]
    assert s.data.denominators == ["Area", "Energy", "GDP", "Population"]
    flights = next(n for n in s.framework if n.code == "Flights")
    assert (flights.denominator, flights.parent, flights.level, flights.direction) == ("Population", "Physical", 1, 1)
    cost = next(n for n in s.framework if n.code == "CostImpEx")
    assert cost.direction == -1


def test_from_coinr_python_api(asem_dir: Path) -> None:
    s = hubindex.from_coinr(asem_dir / "iData.csv", asem_dir / "iMeta.csv")
    r = hubindex.build(s)
    # COINr's default pipeline: every column equals COINr's own Aggregated data set (tests/data/coinr_reference)
    ref = pd.read_csv(Path(__file__).resolve().parent / "data" / "coinr_reference" / "simple_amean_aggregated.csv",
                      index_col="uCode").drop(columns="uName")
    assert list(r.scores.index) == list(ref.index) and set(r.scores.columns) == set(ref.columns)
    np.testing.assert_allclose(r.scores[ref.columns].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)


def test_hash_changes_with_one_parameter(asem_dir: Path) -> None:
    s = load_spec(asem_dir / "default.yaml")
    s2 = s.with_step("normalise", u=50)
    assert s.spec_hash() != s2.spec_hash()
    assert s.spec_hash() == load_spec(asem_dir / "default.yaml").spec_hash()
