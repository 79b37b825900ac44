"""Fixtures for engine tests (helpers live in engine_helpers.py)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import X5 as _X5


@pytest.fixture()
def X5() -> np.ndarray:
    """5 units × 4 indicators (a, b, c, d), one missing value (b of U4)."""
    return _X5.copy()
