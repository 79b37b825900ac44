"""JSON-ready values for the API and the audit summary: NumPy/pandas scalars → Python, NaN/inf/NA → ``None``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable"]


def jsonable(x: Any) -> Any:
    """One JSON value: bools, ints and finite floats as Python scalars; NaN, ±inf, NA and NaT → ``None``; lists and
    tuples element by element; strings and dicts as they are; anything else (dates, …) as its ``str``."""
    if x is None or isinstance(x, str | dict):
        return x
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        f = float(x)
        return f if math.isfinite(f) else None
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return str(x)
