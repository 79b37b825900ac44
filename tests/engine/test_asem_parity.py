"""COINr's log fallback (winmax = 1) on ASEM, against a deliberately plain re-implementation of COINr's rules.

Parity with COINr itself, at every level of four pipelines, is in ``test_coinr_reference.py`` (COINr's own output
files). COINr's files never reach the log step (every flagged ASEM indicator passes after winsorising), so this
re-implementation of ``shared/data/asem/COINR_DEFAULTS.md`` (loops and pandas, no code shared with
``hubindex.engine``; the rules were checked against COINr for winmax = 1 by the team) covers that branch.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

import hubindex


def _skew(v: np.ndarray) -> float:
    n = len(v)
    d = v - v.mean()
    m2 = (d**2).mean()
    if n < 3 or m2 == 0:
        return math.nan
    return float((d**3).mean() / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2))


def _kurt(v: np.ndarray) -> float:
    n = len(v)
    d = v - v.mean()
    m2 = (d**2).mean()
    if n < 4 or m2 == 0:
        return math.nan
    r = (d**4).mean() / m2**2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


def _fails(v: np.ndarray) -> bool:
    return not (abs(_skew(v)) < 2 or _kurt(v) < 3.5)


def ref_treat(x: np.ndarray, winmax: int) -> np.ndarray:
    ok = ~np.isnan(x)
    v = x[ok].copy()
    if not _fails(v):
        return x.copy()
    hi: set[int] = set()
    lo: set[int] = set()
    while _fails(v) and len(hi) + len(lo) < winmax:
        if _skew(v) >= 0:
            top = v.max()
            idx = [i for i in range(len(v)) if v[i] == top]
            v[idx] = max(u for u in v if u < top)
            hi |= set(idx)
        else:
            bot = v.min()
            idx = [i for i in range(len(v)) if v[i] == bot]
            v[idx] = min(u for u in v if u > bot)
            lo |= set(idx)
    if _fails(v):
        orig = x[ok]
        v = np.log(orig - orig.min() + 0.01 * (orig.max() - orig.min()))
    out = x.copy()
    out[ok] = v
    return out


def ref_build(asem: Path, *, winmax: int) -> pd.DataFrame:
    """COINr's default pipeline (treat -> min-max 0-100 -> arithmetic mean over available children), plainly."""
    data = pd.read_csv(asem / "iData.csv").sort_values("uCode").set_index("uCode")
    meta = pd.read_csv(asem / "iMeta.csv")
    ind = meta[meta.Type == "Indicator"]
    X = data[list(ind.iCode)].astype(float).copy()
    for c in X.columns:
        X[c] = ref_treat(X[c].to_numpy(), winmax)
    scores = pd.DataFrame(index=X.index)
    for _, r in ind.iterrows():
        x = X[r.iCode] * r.Direction
        scores[r.iCode] = (x - x.min()) / (x.max() - x.min()) * 100
    for _, r in meta[meta.Type == "Aggregate"].sort_values("Level").iterrows():
        kids = meta[meta.Parent == r.iCode]
        C = scores[list(kids.iCode)]
        w = kids.Weight.to_numpy(dtype=float)
        out = []
        for _, row in C.iterrows():
            ok = row.notna().to_numpy()
            out.append((row.to_numpy(dtype=float)[ok] * w[ok]).sum() / w[ok].sum())
        scores[r.iCode] = out
    return scores


def test_asem_winmax1_uses_log_fallback(asem_dir: Path) -> None:
    spec = hubindex.load_spec(asem_dir / "default.yaml").with_step("treat", winmax=1)
    res = hubindex.build(spec)
    ref = ref_build(asem_dir, winmax=1)
    assert (res.reports["treat"]["applied"] == "log").any()
    np.testing.assert_allclose(res.scores[ref.columns].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-9)
