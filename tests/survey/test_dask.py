"""Dask backend = in-memory backend on the same SIMULATED data split in several part files (CSV and Parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hubindex.errors import DataError
from hubindex.survey import run_survey
from hubindex.survey.simulate import simulate_surveys

pytest.importorskip("dask.dataframe")

NUM = ["estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "deff_kish"]


def _parts(tmp: Path, n_units: int = 5, seed: int = 3) -> pd.DataFrame:
    """SIMULATED respondents, shuffled, written as 4 part files (2 CSV, 2 Parquet) under tmp/parts/."""
    sim = simulate_surveys(n_units=n_units, seed=seed)
    f = sim.frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    f["id"] = np.arange(len(f)) + 101
    f["net"] = np.where(rng.random(len(f)) < 0.7, 1, 2)
    f["item2"] = np.where(rng.random(len(f)) < 0.35, 1, 2)
    f["years"] = rng.integers(15, 80, len(f))
    (tmp / "parts").mkdir()
    for k, idx in enumerate(np.array_split(np.arange(len(f)), 4)):
        part = f.iloc[idx]
        if k % 2:
            part.to_parquet(tmp / "parts" / f"part{k}.parquet", index=False)
        else:
            part.to_csv(tmp / "parts" / f"part{k}.csv", index=False)
    sim.margins.to_csv(tmp / "margins.csv", index=False)
    return f


def _spec(tmp: Path, psu: bool = True, strata: bool = True, raking: dict | None = None) -> Path:
    data = {"path": "parts", "id": "id", "weight": "weight", "unit": "unit"}
    if strata:
        data["strata"] = "stratum"
    if psu:
        data["psu"] = "psu"
    raw = {
        "name": "simulated", "source": "SIMULATED survey (tests only)", "data": data,
        "measures": [
            {"code": "item", "items": ["item"], "denominator": {"label": "all adults"}},
            {"code": "both", "items": ["item", "item2"], "at_least": 2,
             "denominator": {"label": "internet users", "where": {"net": [1]}}},
        ],
        "groups": [{"name": "sex", "column": "sex"},                               # levels from the data
                   {"name": "age", "column": "age", "labels": {"15-29": "young", "30-49": "middle"}},
                   {"name": "years", "column": "years", "bins": [15, 40, 80]}],
        "min_n": 10,
    }
    if raking is not None:
        raw["raking"] = {"margins": "margins.csv", **raking}
    p = tmp / "survey.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    return p


def _equal(a, b) -> None:
    ea, eb = a.estimates, b.estimates
    key = ["unit", "measure", "group", "level", "n", "suppressed", "denominator"]
    pd.testing.assert_frame_equal(ea[key], eb[key])
    np.testing.assert_allclose(eb[NUM].to_numpy(float), ea[NUM].to_numpy(float), rtol=1e-10, atol=1e-12)
    wb = b.weights.compute()
    np.testing.assert_array_equal(wb["id"].to_numpy(), a.weights["id"].to_numpy())
    assert wb["unit"].tolist() == a.weights["unit"].tolist()
    np.testing.assert_allclose(wb["weight"].to_numpy(), a.weights["weight"].to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("design", ["strata+psu", "strata only", "none"])
def test_dask_equals_memory(tmp_path, design):
    _parts(tmp_path)
    p = _spec(tmp_path, psu=design == "strata+psu", strata=design != "none")
    a, b = run_survey(p), run_survey(p, backend="dask")
    assert b.backend == "dask" and len(a.estimates) == 5 * 2 * (1 + 2 + 2 + 2)
    _equal(a, b)
    # an estimate that is not trivially equal: clustered design → deff ≠ 1
    assert a.estimates["deff"].notna().sum() > 40


def test_dask_raking_equals_memory(tmp_path):
    _parts(tmp_path)
    p = _spec(tmp_path, raking={"tol": 1e-10})
    a, b = run_survey(p), run_survey(p, backend="dask")
    _equal(a, b)
    ra, rb = a.rake_report, b.rake_report
    assert ra is not None and rb is not None and ra.converged and rb.converged
    assert ra.iterations == rb.iterations and ra.variables == rb.variables
    assert rb.max_rel_error < 1e-10
    for u in ra.deff_kish_after:
        assert rb.deff_kish_after[u] == pytest.approx(ra.deff_kish_after[u], rel=1e-10)
        assert rb.deff_kish_before[u] == pytest.approx(ra.deff_kish_before[u], rel=1e-10)


def test_dask_trimmed_raking_equals_memory(tmp_path):
    _parts(tmp_path, n_units=2, seed=1)   # trimming needs a Dask pass per total: keep the sweeps few (13)
    p = _spec(tmp_path, raking={"tol": 1e-6, "trim": {"lower": 0.5, "upper": 2.5}})
    a, b = run_survey(p), run_survey(p, backend="dask")
    assert a.rake_report is not None and a.rake_report.trimmed > 0      # the bounds were hit
    assert b.rake_report is not None and b.rake_report.trimmed == a.rake_report.trimmed
    assert b.rake_report.iterations == a.rake_report.iterations
    _equal(a, b)


def test_dask_bad_weight_names_part_file_and_row(tmp_path):
    _parts(tmp_path)
    bad = pd.read_parquet(tmp_path / "parts" / "part3.parquet")
    bad.loc[bad.index[4], "weight"] = -1.0
    bad.to_parquet(tmp_path / "parts" / "part3.parquet", index=False)
    p = _spec(tmp_path)
    for backend in ("memory", "dask"):
        with pytest.raises(DataError, match=r"part3\.parquet, row 5, column 'weight'.*weight is -1"):
            run_survey(p, backend=backend)  # type: ignore[arg-type]


def test_cli_dask_backend_and_scheduler(tmp_path):
    from dask.distributed import LocalCluster

    from hubindex.cli import main

    _parts(tmp_path, n_units=3)
    p = _spec(tmp_path)
    assert main(["survey", "estimate", str(p), "--out", str(tmp_path / "mem"), "--top", "3"]) == 0
    assert main(["survey", "estimate", str(p), "--out", str(tmp_path / "dk"), "--backend", "dask",
                 "--top", "3"]) == 0
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        assert main(["survey", "estimate", str(p), "--out", str(tmp_path / "cl"), "--scheduler",
                     cluster.scheduler_address, "--top", "0"]) == 0
    m = pd.read_csv(tmp_path / "mem" / "estimates.csv")
    for d in ("dk", "cl"):
        e = pd.read_csv(tmp_path / d / "estimates.csv")
        np.testing.assert_allclose(e[NUM].to_numpy(float), m[NUM].to_numpy(float), rtol=1e-9, atol=1e-12)
        w = pd.read_csv(tmp_path / d / "weights.csv")
        assert len(w) == len(pd.read_csv(tmp_path / "mem" / "weights.csv"))
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / d / "indicators.csv"),
                                      pd.read_csv(tmp_path / "mem" / "indicators.csv"), rtol=1e-9)


def test_cli_unknown_backend(tmp_path, capsys):
    from hubindex.cli import main

    _parts(tmp_path, n_units=2)
    rc = main(["survey", "estimate", str(_spec(tmp_path)), "--out", str(tmp_path / "o"), "--backend", "spark"])
    assert rc != 0 and "expected 'memory' or 'dask'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
