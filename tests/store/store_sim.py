"""Helpers for the edition store tests: a small SIMULATED panel of cities over three years (random numbers,
not real data; tests only), written as one CSV per year with one spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hubindex
from hubindex.engine.pipeline import run
from hubindex.io import load_data
from hubindex.store import EditionStore
from hubindex.store.editions import with_data_path

SPEC = """
name: Simulated hubs (tests only)
data: {path: y2021.csv, unit_code: unit, unit_name: name, groups: [region]}
framework:
  - {code: IDX, name: Simulated index}
  - {code: P1, name: Pillar one, parent: IDX, weight: 1}
  - {code: P2, name: Pillar two, parent: IDX, weight: 1}
  - {code: a, parent: P1, unit: count}
  - {code: b, parent: P1, unit: USD}
  - {code: c, parent: P2, direction: -1, unit: days}
  - {code: d, parent: P2, unit: percent}
pipeline:
  - {step: impute, method: mean}
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
tiers: {by: rank, cutoffs: [3, 7], labels: [Global, Regional, Emerging]}
subrankings: [region]
"""

YEARS = (2021, 2022, 2023)


def simulated_panel(seed: int = 7) -> dict[int, pd.DataFrame]:
    """12 simulated cities, 4 indicators, 3 years; city L12 enters in 2022 and L11 leaves in 2023."""
    rng = np.random.default_rng(seed)
    n = 12
    base = pd.DataFrame({
        "unit": [f"L{i:02d}" for i in range(1, n + 1)],
        "name": [f"City {i}" for i in range(1, n + 1)],
        "region": ["North", "South", "East"] * 4,
        "a": rng.uniform(10, 100, n), "b": rng.uniform(1e3, 5e4, n), "c": rng.uniform(1, 30, n),
        "d": rng.uniform(20, 95, n),
    })
    out = {}
    cur = base.copy()
    for y in YEARS:
        if y > YEARS[0]:
            for col, sd in (("a", 6.0), ("b", 3e3), ("c", 2.0), ("d", 4.0)):
                cur[col] = cur[col] + rng.normal(0, sd, n)
        f = cur.copy()
        if y == 2021:
            f = f[f["unit"] != "L12"]
        if y == 2023:
            f = f[f["unit"] != "L11"]
        f = f.reset_index(drop=True)
        if y == 2022:
            f.loc[3, "d"] = np.nan  # a gap for the panel imputation
        out[y] = f
    return out


def year_spec(sim_dir: Path, year: int):  # type: ignore[no-untyped-def]
    return with_data_path(hubindex.load_spec(sim_dir / "spec.yaml"), sim_dir / f"y{year}.csv")


def publish_years(store: EditionStore, sim_dir: Path, years=YEARS) -> None:  # type: ignore[no-untyped-def]
    for y in years:
        s = year_spec(sim_dir, y)
        data, hashes = load_data(s)
        store.publish(run(s, data, data_hashes={Path(p).name: h for p, h in hashes.items()}), str(y), data=data,
                      vintage=y)


ROOT = Path(__file__).resolve().parents[2]
ASEM_PANEL = ROOT.parent / "shared" / "data" / "asem" / "iData_panel_artificial.csv"
ASEM_SHIFT = 3  # COINr's artificial panel has Time 2018–2022; shown here as 2021–2025


def asem_simulated_editions(folder: Path) -> tuple[tuple[int, ...], Any]:
    """Stand-ins for ``hubindex.datasets.EDITIONS`` / ``edition_spec`` built on COINr's ASEM panel, which is
    SIMULATED ("artificially-generated" noise over the ASEM data): one CSV per year, 2018–2022 relabelled
    2021–2025, and COINr's default ASEM method with mean imputation (the panel has gaps). Tests only."""
    p = pd.read_csv(ASEM_PANEL)
    base = hubindex.load_spec(ROOT / "examples" / "asem" / "default.yaml")
    base = base.model_copy(update={
        "name": "ASEM — SIMULATED panel (tests only)",
        "pipeline": [hubindex.spec.ImputeStep(method="mean"), *base.pipeline]})
    years = []
    for t, g in p.groupby("Time"):
        y = int(t) + ASEM_SHIFT
        g.drop(columns="Time").to_csv(folder / f"asem_simulated_{y}.csv", index=False)
        years.append(y)

    def edition_spec(year: int) -> Any:
        return with_data_path(base, folder / f"asem_simulated_{int(year)}.csv")

    return tuple(years), edition_spec


def fake_datasets(monkeypatch: Any, editions: tuple[int, ...], edition_spec: Any) -> None:
    """Install ``EDITIONS``, ``edition_spec`` and ``provenance`` on ``hubindex.datasets`` for one test."""
    import hubindex.datasets as ds

    monkeypatch.setattr(ds, "EDITIONS", tuple(editions), raising=False)
    monkeypatch.setattr(ds, "edition_spec", edition_spec, raising=False)
    monkeypatch.setattr(ds, "provenance", lambda y: pd.DataFrame(
        {"unit": ["*"], "indicator": ["*"], "source": [f"SIMULATED test data, vintage {y}"]}), raising=False)
