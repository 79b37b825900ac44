"""Panels: several years of the same index, made comparable when the user asks for it.

- :func:`impute_panel` — time-aware imputation per unit and indicator: ``locf`` carries the latest earlier value
  forward and flags the year it comes from (``locf:2023``); ``linear`` interpolates between the surrounding
  years (``interp:2022-2024``); ``linear_locf`` does both (interpolate inside, carry forward at the end).
- :func:`global_goalposts` and :func:`comparable_spec` — normalisation across years: every year is normalised
  with the same bounds (the min and max over *all* years of the values that enter normalisation, or
  goalposts given by the user), so a score of 60 means the same in 2021 and 2025. Per-year min-max, the default
  of a single edition, rescales each year to its own best and worst city.
- :func:`build_panel` — one Result per year with either or both applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from hubindex.engine.data import IndexData
from hubindex.engine.pipeline import run
from hubindex.errors import SpecError

__all__ = ["impute_panel", "panel_from_editions", "global_goalposts", "comparable_spec", "build_panel",
           "panel_from_data"]

Method = Literal["locf", "linear", "linear_locf"]


def impute_panel(panel: pd.DataFrame, *, unit: str = "unit", time: str = "year",
                 indicators: Sequence[str] | None = None, method: Method = "locf",
                 max_age: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill gaps along time within each unit; returns (filled panel, source flags of the same shape).

    Flags: ``""`` observed, ``"locf:<year>"`` carried forward from that year, ``"interp:<y0>-<y1>"``
    interpolated, ``"missing"`` still missing. ``max_age``: carry a value at most this many years forward.
    """
    if method not in ("locf", "linear", "linear_locf"):
        raise SpecError(f"impute_panel: method must be 'locf', 'linear' or 'linear_locf', got {method!r}")
    inds = list(indicators) if indicators is not None else [
        c for c in panel.columns if c not in (unit, time) and pd.api.types.is_numeric_dtype(panel[c])]
    df = panel.sort_values([unit, time], kind="stable").reset_index(drop=True)
    out = df.copy()
    flags = pd.DataFrame("", index=df.index, columns=inds, dtype=object)
    years_all = df[time].to_numpy(dtype=float)
    for _u, idx in df.groupby(unit, sort=False).groups.items():
        ii = np.asarray(idx)
        yrs = years_all[ii]
        for c in inds:
            v = df.loc[ii, c].to_numpy(dtype=float)
            obs = ~np.isnan(v)
            if obs.all() or not obs.any():
                if not obs.any():
                    flags.loc[ii, c] = "missing"
                continue
            new = v.copy()
            fl = np.array([""] * len(v), dtype=object)
            oy, ov = yrs[obs], v[obs]
            for k in np.flatnonzero(~obs):
                y = yrs[k]
                before = oy < y
                after = oy > y
                if method in ("linear", "linear_locf") and before.any() and after.any():
                    y0, y1 = oy[before].max(), oy[after].min()
                    v0, v1 = ov[oy == y0][0], ov[oy == y1][0]
                    new[k] = v0 + (v1 - v0) * (y - y0) / (y1 - y0)
                    fl[k] = f"interp:{int(y0)}-{int(y1)}"
                elif method in ("locf", "linear_locf") and before.any():
                    y0 = oy[before].max()
                    if max_age is None or y - y0 <= max_age:
                        new[k] = ov[oy == y0][0]
                        fl[k] = f"locf:{int(y0)}"
                    else:
                        fl[k] = "missing"
                else:
                    fl[k] = "missing"
            out.loc[ii, c] = new
            flags.loc[ii, c] = fl
    flags.insert(0, time, df[time].to_numpy())
    flags.insert(0, unit, df[unit].to_numpy())
    return out, flags


def panel_from_data(by_year: Mapping[int, IndexData]) -> pd.DataFrame:
    """A long panel (unit, year, name, groups…, indicators…) from engine inputs per year."""
    frames = []
    for y, d in by_year.items():
        f = pd.DataFrame(d.X, columns=list(d.indicators))
        f.insert(0, "year", int(y))
        f.insert(0, "unit", [str(u) for u in d.units])
        f["__name"] = list(d.names)
        for g, v in d.groups.items():
            f[f"__g_{g}"] = list(v)
        for k, v in d.denominators.items():
            f[f"__d_{k}"] = list(v)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def _data_from_panel(panel: pd.DataFrame, year: int, indicators: Sequence[str]) -> IndexData:
    f = panel[panel["year"] == year].sort_values("unit", kind="stable")
    groups = {c[4:]: f[c].to_numpy(dtype=object) for c in f.columns if c.startswith("__g_")}
    dens = {c[4:]: f[c].to_numpy(dtype=float) for c in f.columns if c.startswith("__d_")}
    names = f["__name"].to_numpy(dtype=object) if "__name" in f.columns else f["unit"].to_numpy(dtype=object)
    return IndexData(f["unit"].to_numpy(dtype=object), names, tuple(indicators),
                     f[list(indicators)].to_numpy(dtype=float), groups, dens)


def panel_from_editions(store: Any, labels: Sequence[str] | None = None) -> tuple[pd.DataFrame, dict[int, Any]]:
    """The engine inputs of editions (by vintage) as a long panel, and each year's spec."""
    labels = list(labels) if labels is not None else [
        str(x) for x in store.list().query("kind == 'edition'")["label"]]
    by_year, specs = {}, {}
    for lab in labels:
        e = store.get(lab)
        y = e.vintage if e.vintage is not None else int(lab)
        by_year[y] = e.index_data()
        specs[y] = e.spec
    return panel_from_data(by_year), specs


def _pre_normalisation(result: Any) -> pd.DataFrame:
    keys = list(result.datasets)
    return result.datasets[keys[keys.index("Normalised") - 1]]


def global_goalposts(frames: Sequence[pd.DataFrame], indicators: Sequence[str]) -> dict[str, tuple[float, float]]:
    """(min, max) of each indicator over all frames (years)."""
    allv = pd.concat([f[list(indicators)] for f in frames], ignore_index=True)
    gp = {}
    for c in indicators:
        lo, hi = float(allv[c].min()), float(allv[c].max())
        if not hi > lo:
            hi = lo + 1.0
        gp[c] = (lo, hi)
    return gp


def comparable_spec(spec: Any, goalposts: Mapping[str, tuple[float, float]], *, scale: float | None = None
                    ) -> Any:
    """``spec`` with goalposts normalisation: every indicator's node gets its (lower, upper) bounds; the scale
    is the spec's min-max range (``u − l``, 100 by default)."""
    norm = spec.step("normalise")
    sc = scale if scale is not None else float(getattr(norm, "u", 100.0) - getattr(norm, "l", 0.0))
    nodes = []
    for n in spec.framework:
        if n.code in goalposts:
            lo, hi = goalposts[n.code]
            n = n.model_copy(update={"goalposts": (float(lo), float(hi))})
        nodes.append(n)
    steps = []
    for s in spec.pipeline:
        if s.step == "normalise":
            s = type(s).model_validate({**s.model_dump(), "method": "goalposts", "scale": sc, "trunc": False})
        steps.append(s)
    return spec.model_copy(update={"framework": nodes, "pipeline": steps})


def build_panel(spec: Any, by_year: Mapping[int, IndexData], *, impute: Method | None = None,
                normalise: Literal["per_year", "global", "goalposts"] = "per_year",
                goalposts: Mapping[str, tuple[float, float]] | None = None, max_age: int | None = None
                ) -> dict[int, Any]:
    """One Result per year. ``impute``: fill gaps along time first (flags in ``result.run_record``);
    ``normalise="global"``: min-max over all years (goalposts = global min/max of the values entering
    normalisation); ``"goalposts"``: the given ``goalposts``; ``"per_year"``: each year on its own."""
    inds = [n.code for n in spec.framework if n.code not in {m.parent for m in spec.framework}]
    years = sorted(by_year)
    flags = None
    if impute is not None:
        panel = panel_from_data(by_year)
        filled, flags = impute_panel(panel, indicators=inds, method=impute, max_age=max_age)
        by_year = {y: _data_from_panel(filled, y, inds) for y in years}
    s = spec
    if normalise == "global":
        pre = [_pre_normalisation(run(spec, by_year[y])) for y in years]
        s = comparable_spec(spec, global_goalposts(pre, inds))
    elif normalise == "goalposts":
        if not goalposts:
            raise SpecError("build_panel: normalise='goalposts' needs goalposts={indicator: (lower, upper)}")
        s = comparable_spec(spec, goalposts)
    elif normalise != "per_year":
        raise SpecError(f"build_panel: normalise must be 'per_year', 'global' or 'goalposts', got {normalise!r}")
    out = {}
    for y in years:
        r = run(s, by_year[y])
        if flags is not None:
            f = flags[flags["year"] == y].set_index("unit")[inds]
            object.__setattr__(r, "run_record", {**r.run_record, "panel_imputation": {
                "method": impute, "flags": {u: {c: v for c, v in row.items() if v}
                                            for u, row in f.iterrows() if any(row.to_numpy() != "")}}})
        out[y] = r
    return out
