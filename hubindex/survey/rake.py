"""Calibration of design weights to population margins by raking (iterative proportional fitting).

Raking (Deming & Stephan 1940) multiplies the weights, one margin variable at a time, by target / current total of
the respondent's category, and sweeps until every margin is met:

    w_i ← w_i · T_{u,v,k} / Σ_{i' ∈ (u, k)} w_i'      for each variable v, with k = category of i, u = unit of i

Every unit (city) is raked to its own margins in the same vectorised sweep: the group totals are one
``np.bincount`` over (unit, category) codes, so 1,000,000 respondents × 100 units cost a few bincounts per sweep.

Trimming (capping) alternates with raking (the "trim and rake" scheme): once the margins are met, weights outside
[lower, upper] × the unit's mean weight are clipped to the bound, then raking resumes; it stops when the margins are
met and no weight is outside the bounds (within ``tol``), or at ``max_iter`` sweeps in all.

Why not a library: samplics (archived upstream) rakes through a dense n × categories calibration matrix one sample
at a time; weightipy and balance also weight one sample per call (a Python loop over the 100 units), and balance
pins older numpy/pandas/scipy than this project uses. The algorithm is a few lines; tests check it against
samplics' raking where samplics is installed, and against a hand-computed 2 × 2 case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from hubindex.errors import ComputeError, DataError, where
from hubindex.survey.estimate import kish_deff

__all__ = ["RakeReport", "RakeState", "ArrayState", "rake", "ipf", "read_margins", "category_keys"]


@dataclass(frozen=True)
class RakeReport:
    """What raking did: sweeps, convergence, largest margin error, trimming and the design effect before/after."""

    iterations: int
    converged: bool
    max_rel_error: float                  # max over units, variables, categories of |Σw − T| / T
    max_rel_error_by_variable: dict[str, float]
    trimmed: int                          # weights at a bound after the last sweep
    max_weight_ratio: float               # max over units of max(w) / mean(w)
    deff_kish_before: dict[str, float]    # per unit
    deff_kish_after: dict[str, float]
    margins_file: str = ""
    variables: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        status = "converged" if self.converged else "NOT converged"
        deff = max(self.deff_kish_after.values()) if self.deff_kish_after else float("nan")
        return (f"raking to {', '.join(self.variables)} ({self.margins_file}): {status} after {self.iterations} "
                f"sweep(s), max margin error {self.max_rel_error:.2e}, {self.trimmed} weight(s) at a trim bound, "
                f"max Kish deff {deff:.2f}")


def category_keys(values: pd.Series) -> pd.Series:
    """Canonical text key of a category: integral numbers as ``'1'`` (not ``'1.0'``), text stripped; NA stays NA."""
    num = pd.to_numeric(values, errors="coerce")
    is_num = num.notna() & values.notna()
    out = values.astype("string").str.strip()
    if is_num.any():
        nv = num[is_num]
        txt = np.where(np.isclose(nv % 1, 0), nv.round().astype("Int64").astype("string"), nv.astype("string"))
        out = out.copy()
        out[is_num] = txt
    return out


def read_margins(path: Path, variables_in_data: list[str] | None = None) -> pd.DataFrame:
    """Read a margins table: columns ``variable, category, target`` and optionally ``unit``.

    Targets are population counts or shares (≥ 0). Within a unit every variable's targets must sum to the same
    total (shares: 1); otherwise a :class:`DataError` names the file, variable and the sums found.
    """
    if not path.exists():
        raise DataError(f"{path}: margins table not found")
    try:
        m = pd.read_csv(path, dtype={"variable": str, "category": str, "unit": str}, keep_default_na=False,
                        na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise DataError(f"{path}: not a readable CSV ({e})") from None
    m.columns = [str(c).strip() for c in m.columns]
    need = ["variable", "category", "target"]
    miss = [c for c in need if c not in m.columns]
    if miss:
        raise DataError(f"{path}: missing column(s) {miss}; a margins table needs variable, category, target "
                        f"(and optionally unit)")
    extra = [c for c in m.columns if c not in need + ["unit"]]
    if extra:
        raise DataError(f"{path}: unexpected column(s) {extra}; expected variable, category, target[, unit]")
    if len(m) == 0:
        raise DataError(f"{path}: no margins (header only)")
    for col in m.columns:
        if col != "target" and m[col].isna().any():
            i = int(np.flatnonzero(m[col].isna().to_numpy())[0])
            raise DataError(f"{where(path, i + 2, col)}empty cell")
    t = pd.to_numeric(m["target"], errors="coerce")
    bad = t.isna() | (t < 0) | ~np.isfinite(t.fillna(0))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where(path, i + 2, 'target')}target {m['target'].iloc[i]!r} is not a number ≥ 0")
    m["target"] = t.astype(float)
    m["variable"] = m["variable"].str.strip()
    m["category"] = category_keys(m["category"])
    if "unit" not in m.columns:
        m["unit"] = "*"
    m["unit"] = m["unit"].astype(str).str.strip()
    dup = m.duplicated(["unit", "variable", "category"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{where(path, i + 2, 'category')}category {m['category'].iloc[i]!r} of variable "
                        f"{m['variable'].iloc[i]!r} listed twice")
    if variables_in_data is not None:
        unknown = sorted(set(m["variable"]) - set(variables_in_data))
        if unknown:
            i = int(np.flatnonzero(m["variable"].isin(unknown).to_numpy())[0])
            raise DataError(f"{where(path, i + 2, 'variable')}variable(s) {unknown} are not columns of the "
                            f"respondent file")
    sums = m.groupby(["unit", "variable"], sort=False)["target"].sum()
    for u, s in sums.groupby(level=0, sort=False):
        vals = s.to_numpy()
        if not np.allclose(vals, vals[0], rtol=1e-6, atol=0):
            detail = ", ".join(f"{v} = {x:g}" for v, x in zip(s.index.get_level_values(1), s.to_numpy(), strict=True))
            raise DataError(f"{path}: margins do not sum to the same total{'' if u == '*' else f' for unit {u!r}'}"
                            f" ({detail}); every variable's targets must add up to the same population "
                            f"(or to 1 for shares)")
        if vals[0] <= 0:
            raise DataError(f"{path}: margins{'' if u == '*' else f' for unit {u!r}'} sum to 0")
    return m


class RakeState(Protocol):
    """The weights being raked, wherever they live (a NumPy array here, a Dask column in ``dask_backend``).

    Keys: ``key(v)`` is unit × K_v + category of variable v per respondent; every method returns NumPy arrays.
    """

    def totals(self, variables: list[str]) -> dict[str, np.ndarray]:
        """Σ w per (unit, category) of each variable (length U·K_v), with the current weights."""
        ...

    def scale(self, v: str, f: np.ndarray) -> None:
        """w_i ← w_i · f[key_v(i)]."""
        ...

    def unit_totals(self) -> np.ndarray:
        """Σ w per unit (length U)."""
        ...

    def n_outside(self, lo: np.ndarray, hi: np.ndarray) -> int:
        """Respondents with w_i < lo[unit] or w_i > hi[unit]."""
        ...

    def clip(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """w_i ← min(max(w_i, lo[unit]), hi[unit])."""
        ...

    def final_stats(self, lo: np.ndarray, hi: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(#weights at a bound: w ≤ lo[unit] or w ≥ hi[unit]; per unit Σw, Σw², max w)."""
        ...


class ArrayState:
    """:class:`RakeState` over in-memory arrays (one ``np.bincount`` per total)."""

    def __init__(self, w: np.ndarray, unit: np.ndarray, keys: dict[str, tuple[np.ndarray, int]], U: int):
        self.w, self.unit, self.keys, self.U = np.asarray(w, dtype=float).copy(), unit, keys, U

    def totals(self, variables: list[str]) -> dict[str, np.ndarray]:
        return {v: np.bincount(self.keys[v][0], weights=self.w, minlength=self.keys[v][1]) for v in variables}

    def scale(self, v: str, f: np.ndarray) -> None:
        self.w = self.w * f[self.keys[v][0]]

    def unit_totals(self) -> np.ndarray:
        return np.bincount(self.unit, weights=self.w, minlength=self.U)

    def n_outside(self, lo: np.ndarray, hi: np.ndarray) -> int:
        return int(np.sum((self.w < lo[self.unit]) | (self.w > hi[self.unit])))

    def clip(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.w = np.clip(self.w, lo[self.unit], hi[self.unit])

    def final_stats(self, lo: np.ndarray, hi: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        at = int(np.sum((self.w <= lo[self.unit]) | (self.w >= hi[self.unit])))
        return (at, self.unit_totals(), np.bincount(self.unit, weights=self.w**2, minlength=self.U),
                _group_max(self.w, self.unit, self.U))


def rake(
    w: np.ndarray,
    unit: np.ndarray,
    codes: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    max_iter: int = 100,
    tol: float = 1e-8,
    lower: float | None = None,
    upper: float | None = None,
    unit_names: list[str] | None = None,
    margins_file: str = "",
) -> tuple[np.ndarray, RakeReport]:
    """Rake weights ``w`` so that, within every unit, the weighted count of each category meets its target.

    ``unit``: int code 0..U−1 per respondent. ``codes[v]``: int category code 0..K_v−1 per respondent.
    ``targets[v]``: array U × K_v of target totals (each row of each variable summing to the same unit total).
    ``lower``/``upper``: optional bounds on w / mean(w) within the unit (trimming). Returns the new weights and
    a :class:`RakeReport`.
    """
    w0 = np.asarray(w, dtype=float)
    unit = np.asarray(unit, dtype=np.int64)
    U = int(unit.max()) + 1 if len(unit) else 0
    keys = {}
    have = {}
    for v, k in codes.items():
        K = targets[v].shape[1]
        kv = unit * K + np.asarray(k, dtype=np.int64)
        keys[v] = (kv, U * K)
        have[v] = np.bincount(kv, minlength=U * K)
    n_u = np.bincount(unit, minlength=U).astype(float)
    before = kish_deff(w0, unit, U)
    st = ArrayState(w0, unit, keys, U)
    rep = ipf(st, targets, have, n_u, before, max_iter, tol, lower, upper, unit_names, margins_file)
    return st.w, rep


def ipf(st: RakeState, targets: dict[str, np.ndarray], have: dict[str, np.ndarray], n_u: np.ndarray,
        deff_before: np.ndarray, max_iter: int = 100, tol: float = 1e-8, lower: float | None = None,
        upper: float | None = None, unit_names: list[str] | None = None, margins_file: str = "") -> RakeReport:
    """The raking loop on any :class:`RakeState` (see the module docstring for the sweep and trimming rules).

    ``have[v]``: respondents per (unit, category) of variable v (a category with a target but nobody in it is an
    error); ``n_u``: respondents per unit; ``deff_before``: Kish deff per unit of the design weights.
    """
    U = len(n_u)
    names = unit_names or [str(i) for i in range(U)]
    T = {v: t.reshape(-1) for v, t in targets.items()}
    for v, hv in have.items():
        K = targets[v].shape[1]
        empty = (hv == 0) & (T[v] > 0)
        if empty.any():
            e = int(np.flatnonzero(empty)[0])
            raise ComputeError(f"raking: variable '{v}' category #{e % K} of unit {names[e // K]!r} has a target "
                               f"of {T[v][e]:g} but no respondents; merge categories in the margins")
    variables = list(T)
    it = 0
    converged = False
    inf = np.full(U, np.inf)

    def _errors() -> dict[str, float]:
        cur = st.totals(variables)
        out = {}
        for v in variables:
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where(T[v] > 0, np.abs(cur[v] - T[v]) / T[v], 0.0)
            out[v] = float(rel.max()) if rel.size else 0.0
        return out

    def _bounds(slack: float) -> tuple[np.ndarray, np.ndarray]:
        mean = st.unit_totals() / n_u
        lo = -inf if lower is None else lower * (1 - slack) * mean
        hi = inf if upper is None else upper * (1 + slack) * mean
        return lo, hi

    while it < max_iter:
        for v in variables:
            cur = st.totals([v])[v]
            with np.errstate(invalid="ignore", divide="ignore"):
                st.scale(v, np.where(cur > 0, T[v] / cur, 1.0))
        it += 1
        errs = _errors()
        if max(errs.values(), default=0.0) < tol:
            if lower is None and upper is None:
                converged = True
                break
            if st.n_outside(*_bounds(tol)) == 0:
                converged = True
                break
            st.clip(*_bounds(0.0))
    errs = _errors()
    mean = st.unit_totals() / n_u
    lo = -inf if lower is None else lower * (1 + 1e-6) * mean
    hi = inf if upper is None else upper * (1 - 1e-6) * mean
    at_bound, s1, s2, wmax = st.final_stats(lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        after = np.where(n_u > 0, n_u * s2 / s1**2, np.nan)
        max_ratio = float(np.nanmax(wmax / (s1 / n_u))) if U else float("nan")
    return RakeReport(iterations=it, converged=converged, max_rel_error=max(errs.values(), default=0.0),
                      max_rel_error_by_variable=errs, trimmed=at_bound, max_weight_ratio=max_ratio,
                      deff_kish_before=dict(zip(names, deff_before.tolist(), strict=True)),
                      deff_kish_after=dict(zip(names, after.tolist(), strict=True)), margins_file=margins_file,
                      variables=tuple(variables))


def _group_max(x: np.ndarray, g: np.ndarray, G: int) -> np.ndarray:
    out = np.full(G, -np.inf)
    np.maximum.at(out, g, x)
    return out
