"""Shared fixtures: paths to the repo, the ASEM example and the team's raw data (when present)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are reproducible by default (same examples on every run, so CI cannot turn red by chance);
# `HYPOTHESIS_PROFILE=explore pytest` draws fresh random examples to hunt for new counterexamples, and many more:
# each test's own max_examples (its CI budget, set with @settings next to the test) is multiplied by
# HYPOTHESIS_EXPLORE_SCALE (default 10) — see pytest_collection_modifyitems below. Tests without their own budget
# get the profile's 500.
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
EXPLORE_SCALE = int(os.environ.get("HYPOTHESIS_EXPLORE_SCALE", "10"))
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(PROFILE)


def explore_settings(s: settings, scale: int) -> settings:
    """A test's settings for the explore profile: ``scale`` × its own budget, fresh random draws."""
    return settings(s, max_examples=s.max_examples * scale, derandomize=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under the explore profile, scale every @given test's max_examples (a per-test @settings overrides the
    profile, so without this both profiles would run the same number of examples). Hypothesis reads the
    settings from the wrapped test at call time, so replacing them here takes effect."""
    if PROFILE != "explore":
        return
    seen: set[int] = set()
    for item in items:
        fn = getattr(item, "obj", None)
        s = getattr(fn, "_hypothesis_internal_use_settings", None)
        if s is None or not getattr(fn, "is_hypothesis_test", False) or id(fn) in seen:
            continue
        seen.add(id(fn))
        fn._hypothesis_internal_use_settings = explore_settings(s, EXPLORE_SCALE)  # type: ignore[union-attr]

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
