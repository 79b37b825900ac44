"""Fixtures for the edition store tests (a SIMULATED panel: random numbers, not real data; tests only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_sim import SPEC, publish_years, simulated_panel

from hubindex.store import EditionStore


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("simulated")
    for y, f in simulated_panel().items():
        f.to_csv(d / f"y{y}.csv", index=False)
    (d / "spec.yaml").write_text(SPEC)
    return d


@pytest.fixture(scope="session")
def sim_store(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> EditionStore:
    st = EditionStore(tmp_path_factory.mktemp("store") / "editions.duckdb")
    publish_years(st, sim_dir)
    return st
