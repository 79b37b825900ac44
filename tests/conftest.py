"""Shared fixtures: paths to the repo, the ASEM example and the team's raw data (when present)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are reproducible by default (same examples on every run, so CI cannot turn red by chance);
# `HYPOTHESIS_PROFILE=explore pytest` draws fresh random examples to hunt for new counterexamples.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

REPO = Path(__file__).resolve().parents[1]
ASEM = REPO / "examples" / "asem"
SHARED = REPO.parent / "shared"
RAW = SHARED / "data" / "raw"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def asem_dir() -> Path:
    return ASEM


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    if not RAW.exists():
        pytest.skip(f"raw sources not present at {RAW}")
    return RAW


@pytest.fixture()
def tiny_spec(tmp_path: Path) -> Path:
    """A 5-unit, 4-indicator, 2-pillar index with hand-checkable numbers."""
    (tmp_path / "data.csv").write_text(
        "code,name,region,a,b,c,d\n"
        "U1,One,East,1,10,5,0.5\n"
        "U2,Two,East,2,20,4,0.4\n"
        "U3,Three,West,3,30,3,0.3\n"
        "U4,Four,West,4,,2,0.2\n"
        "U5,Five,West,5,50,1,0.1\n"
    )
    (tmp_path / "spec.yaml").write_text(
        """
name: Tiny
data: {path: data.csv, unit_code: code, unit_name: name, groups: [region]}
framework:
  - {code: IDX, name: Tiny index}
  - {code: P1, parent: IDX, weight: 1}
  - {code: P2, parent: IDX, weight: 3}
  - {code: a, parent: P1}
  - {code: b, parent: P1}
  - {code: c, parent: P2, direction: -1}
  - {code: d, parent: P2}
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
tiers: {by: rank, cutoffs: [2], labels: [Top, Rest]}
subrankings: [region]
"""
    )
    return tmp_path / "spec.yaml"
