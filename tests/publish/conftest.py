"""Fixtures for the publishing tests: one ASEM build shared by the module, and the tiny hand-checkable index."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubindex import build
from hubindex.engine.result import Result

REPO = Path(__file__).resolve().parents[2]
ASEM_SPEC = REPO / "examples" / "asem" / "default.yaml"


@pytest.fixture(scope="session")
def asem_spec() -> Path:
    return ASEM_SPEC


@pytest.fixture(scope="session")
def asem() -> Result:
    return build(ASEM_SPEC)


@pytest.fixture()
def tiny(tiny_spec: Path) -> Result:
    return build(tiny_spec)
