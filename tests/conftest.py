"""Shared fixtures: paths to the repo, the ASEM example and the team's raw data (when present)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hyp_profiles import EXPLORE_SCALE, PROFILE, explore_settings, load_profiles

# Hypothesis profiles ('default': fixed examples; 'explore': fresh draws, each test's budget scaled): hyp_profiles.py
load_profiles()


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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright, one for the whole session (the web tests and the report's
    layout test share it: a second sync Playwright cannot start while one runs); skips with the reason when it is
    not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package (apt-get install -y chromium)")
    pw_mod = pytest.importorskip("playwright.sync_api")
    pw = pw_mod.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
    except Exception as e:  # noqa: BLE001
        pw.stop()
        pytest.skip(f"Chromium at {CHROMIUM} could not be launched: {e}")
    yield b
    b.close()
    pw.stop()


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
