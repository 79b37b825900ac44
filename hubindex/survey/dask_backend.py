"""Survey estimates on Dask dataframes: respondent files beyond memory, or on an existing Dask cluster.

The in-memory pipeline (:mod:`hubindex.survey.run`) needs only **sums** over respondents; here those sums are
Dask group-by sums over the respondent files (one partition per part file, read lazily by the same reader and
checked by the same checks as in memory), and the small arithmetic after them is the very same NumPy code:

* **Rate and Taylor SE.** Per (domain, stratum, PSU): count, Σw, Σw·y, Σw² (one ``groupby(...).sum()``). The
  PSU scores U_cj = (Σw·y − r_c Σw) / W_c come from :func:`~hubindex.survey.estimate.linearised_scores`, and the
  variance, design effects and intervals from :func:`~hubindex.survey.estimate.finish_domains` and
  :func:`~hubindex.survey.run.domain_table`. Without a PSU column (each respondent its own PSU) the scores are
  computed per respondent in a second pass and summed per (domain, stratum) with ``groupby(...).sum()``.
* **Raking.** The IPF loop is :func:`~hubindex.survey.rake.ipf`, run on a :class:`DaskRakeState`: every margin
  total is a ``groupby(unit × category).sum()`` of the current weights. The weights are never stored: between two
  trimming steps they are w0 × G[cell], with G a table over the joint (unit, raking categories) cells that every
  sweep updates in NumPy, so each partition recomputes its weights from w0 in one vectorised step.

The results equal the in-memory ones up to floating-point summation order (tested to 1e-10). Not checked across
part files here (it would need a shuffle of every id): duplicate respondent ids in *different* parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.errors import ComputeError
from hubindex.survey.estimate import CellSums, finish_domains, linearised_scores
from hubindex.survey.rake import RakeReport, category_keys, ipf, read_margins
from hubindex.survey.run import (
    ESTIMATE_COLUMNS,
    RakePlan,
    SurveyResult,
    _unit_keys,
    domain_table,
    group_levels,
    level_order,
    measure_outcome,
    rake_plan,
    raking_codes,
    weighting_text,
)
from hubindex.survey.spec import SurveySpec, read_part, respondent_files, used_columns

__all__ = ["run_survey_dask", "DaskRakeState", "read_dask"]

MAX_JOINT_CELLS = 20_000_000


@contextmanager
def _client(scheduler: str | None) -> Iterator[None]:
    """Use the cluster at ``scheduler`` (as the default for the block), else Dask's local threaded scheduler."""
    if scheduler is None:
        yield
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise ComputeError("--scheduler needs dask.distributed: pip install 'hubindex[dask]'") from None
    try:
        client = Client(scheduler, timeout=5)
    except OSError as e:
        raise ComputeError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    try:
        yield
    finally:
        client.close()


class _Reader:
    """Read part file ``k`` with the in-memory reader and checks; tags rows with the part number."""

    def __init__(self, spec: SurveySpec, used: list[str], extra: list[str]):
        self.spec, self.used, self.extra = spec, used, extra

    def __call__(self, arg: tuple[int, str]) -> pd.DataFrame:
        k, path = arg
        df, _ = read_part(self.spec, Path(path), self.used, self.extra)
        return df.assign(__part=np.int64(k))


def read_dask(spec: SurveySpec, extra: list[str] | None = None) -> tuple[Any, list[Path], dict[str, dict[Any, str]]]:
    """(Dask dataframe with one partition per respondent part file, the files, the first file's value labels)."""
    try:
        import dask.dataframe as dd
    except ImportError:
        raise ComputeError("the dask backend needs the 'dask' extra: pip install 'hubindex[dask]'") from None
    files = respondent_files(spec)
    used = used_columns(spec, extra)
    first, labels = read_part(spec, files[0], used, extra)
    meta = first.iloc[:0].assign(__part=np.int64(0))
    ddf = dd.from_map(_Reader(spec, used, list(extra or [])), [(k, str(f)) for k, f in enumerate(files)],
                      meta=meta, enforce_metadata=False)
    return ddf, files, labels


# ---------------------------------------------------------------------------------------------------------------
# per-partition functions (pure pandas/NumPy; the same helpers as the in-memory path)
# ---------------------------------------------------------------------------------------------------------------
def _free_groups(s: SurveySpec, labels: dict[str, dict[Any, str]]) -> list[str]:
    """Groups whose levels come from the data (no labels, no bins, no file value labels)."""
    return [g.name for g in s.groups if g.bins is None and g.labels is None and not labels.get(g.column)]


def _scan(part: pd.DataFrame, s: SurveySpec, free: list[str]) -> pd.DataFrame:
    """Distinct unit keys and free-group keys of a partition, and its row count."""
    rows = [("unit", k) for k in _unit_keys(s, part).dropna().unique().tolist()]
    for g in s.groups:
        if g.name in free:
            rows += [(f"g:{g.name}", k) for k in category_keys(part[g.column]).dropna().unique().tolist()]
    k = int(part["__part"].iloc[0]) if len(part) else -1
    rows.append(("rows", f"{k}:{len(part)}"))
    return pd.DataFrame(rows, columns=["what", "key"], dtype=object)


class _Derive:
    """Per partition: unit code, design weight, stratum/PSU keys, raking keys, outcomes and domain codes."""

    def __init__(self, s: SurveySpec, files: list[Path], unit_names: list[str], all_keys: dict[str, list[str]],
                 labels: dict[str, dict[Any, str]], plan: dict[str, RakePlan], levels: list[int],
                 rake_only: bool = False):
        self.s, self.files, self.unit_names, self.all_keys = s, files, unit_names, all_keys
        self.labels, self.plan, self.levels, self.rake_only = labels, plan, levels, rake_only

    def __call__(self, part: pd.DataFrame) -> pd.DataFrame:
        s = self.s
        part = part.reset_index(drop=True)
        unit = pd.Index(self.unit_names).get_indexer(pd.Index(_unit_keys(s, part))).astype(np.int64)
        out: dict[str, Any] = {"u": unit}
        out["w0"] = part[s.data.weight].to_numpy(float) if s.data.weight else np.ones(len(part))
        out["h"] = (_keys(part[s.data.strata]) if s.data.strata
                    else np.full(len(part), "0", dtype=object))
        if s.data.psu:
            out["j"] = _keys(part[s.data.psu])
        path = self.files[int(part["__part"].iloc[0])] if len(part) else self.files[0]
        tab = path.suffix.lower() in {".csv", ".tsv", ".txt"}
        at = (lambda i: (path, i + 2)) if tab else (lambda i: (path, i + 1))
        for i, (v, p) in enumerate(self.plan.items()):
            K = len(p.categories)
            out[f"k{i}"] = raking_codes(s, part, v, p, unit, self.unit_names, at)
            out[f"key{i}"] = unit * K + out[f"k{i}"]
        if self.plan:
            out["joint"] = _joint(pd.DataFrame(out), [len(p.categories) for p in self.plan.values()])
        if self.rake_only:  # the lean frame the raking passes read
            return pd.DataFrame({k: v for k, v in out.items() if k in ("u", "w0", "joint") or k.startswith("key")})
        codes = []
        for gi, g in enumerate(s.groups):
            code, _ = group_levels(g, part, self.labels, self.all_keys.get(g.name))
            codes.append((gi + 1, code))
        for mi, m in enumerate(s.measures):
            y, den = measure_outcome(m, part)
            out[f"y{mi}"] = y
            out[f"c{mi}_0"] = np.where(den, unit, -1)
            for gi, code in codes:
                L = self.levels[gi]
                out[f"c{mi}_{gi}"] = np.where(den & (code >= 0), unit * L + code, -1)
        if s.data.id:
            out["id"] = part[s.data.id].to_numpy()
        out["row"] = np.arange(len(part), dtype=np.int64)
        out["part"] = part["__part"].to_numpy(np.int64)
        return pd.DataFrame(out)


def _keys(col: pd.Series) -> np.ndarray:
    """Design codes as canonical text keys (the same key whatever dtype a part file gave the column)."""
    return category_keys(col).astype(object).to_numpy()


def _joint(df: pd.DataFrame, Ks: list[int]) -> np.ndarray:
    """Joint raking cell: unit, then each variable's category, in mixed radix."""
    j = df["u"].to_numpy(np.int64)
    for i, K in enumerate(Ks):
        j = j * K + df[f"k{i}"].to_numpy(np.int64)
    return j


def _weights(df: pd.DataFrame, ops: list[tuple[Any, ...]], Ks: list[int]) -> pd.Series:
    """w = w0 × G₁[cell], clipped to [lo, hi][unit], × G₂[cell], … (the raking state's operations)."""
    w = df["w0"].to_numpy(float)
    if ops:
        joint = df["joint"].to_numpy(np.int64)
        u = df["u"].to_numpy(np.int64)
        for op in ops:
            w = w * op[1][joint] if op[0] == "G" else np.clip(w, op[1][u], op[2][u])
    return pd.Series(w, index=df.index, name="w")


def _outside(df: pd.DataFrame, ops: list[tuple[Any, ...]], Ks: list[int], lo: np.ndarray, hi: np.ndarray,
             closed: bool) -> pd.Series:
    w = _weights(df, ops, Ks).to_numpy()
    u = df["u"].to_numpy(np.int64)
    bad = (w <= lo[u]) | (w >= hi[u]) if closed else (w < lo[u]) | (w > hi[u])
    return pd.Series(bad.astype(np.int64), index=df.index)


def _scores(df: pd.DataFrame, c: str, y: str, r: np.ndarray, W: np.ndarray) -> pd.DataFrame:
    """Per-respondent linearised scores u and u² of the domains ``df[c]`` (each respondent its own PSU)."""
    cc = df[c].to_numpy(np.int64)
    wv = df["w"].to_numpy(float)
    ok = cc >= 0
    u = linearised_scores(wv[ok] * df[y].to_numpy(float)[ok], wv[ok], r[cc[ok]], W[cc[ok]])
    return pd.DataFrame({"c": cc[ok], "h": df["h"].to_numpy()[ok], "S1": u, "S2": u * u})


# ---------------------------------------------------------------------------------------------------------------
# raking state
# ---------------------------------------------------------------------------------------------------------------
class DaskRakeState:
    """:class:`~hubindex.survey.rake.RakeState` over a Dask frame.

    Until the first trimming step the weights are w0 × G[cell] for the joint (unit, categories) cell, so margin
    totals are Σ_cell B[cell]·G[cell] with B = Σ w0 per cell (one Dask group-by sum, ``base``); after a trimming
    step (which acts on each weight) every total is a Dask group-by sum of the recomputed weights.
    """

    def __init__(self, X: Any, variables: list[str], Ks: list[int], U: int, base: np.ndarray):
        self.X, self.Ks, self.U = X, Ks, U
        self.index = {v: i for i, v in enumerate(variables)}
        J = len(base)
        # key_v of each joint cell: unit * K_v + category_v
        dims = np.unravel_index(np.arange(J), (U, *Ks))
        self.key_of_joint = [dims[0] * K + dims[i + 1] for i, K in enumerate(Ks)]
        self.unit_of_joint = dims[0]
        self.base = base
        self.ops: list[tuple[Any, ...]] = []
        self.G = np.ones(J)
        self._version = 0
        self._unit_totals: tuple[int, np.ndarray] | None = None

    def _ops(self) -> list[tuple[Any, ...]]:
        return [*self.ops, ("G", self.G.copy())]

    def weight_column(self) -> Any:
        return self.X.map_partitions(_weights, self._ops(), self.Ks, meta=("w", "f8"))

    def totals(self, variables: list[str]) -> dict[str, np.ndarray]:
        import dask

        idx = [self.index[v] for v in variables]
        if not self.ops:  # w = w0 × G[cell]: totals from the cell table B = Σ w0 per cell, no pass over the data
            bw = self.base * self.G
            return {v: np.bincount(self.key_of_joint[i], weights=bw, minlength=self.U * self.Ks[i])
                    for v, i in zip(variables, idx, strict=True)}
        Xw = self.X.assign(w=self.weight_column())
        sums = dask.compute(*[Xw.groupby(f"key{i}")["w"].sum() for i in idx])
        return {v: _dense(t, self.U * self.Ks[i]) for v, i, t in zip(variables, idx, sums, strict=True)}

    def scale(self, v: str, f: np.ndarray) -> None:
        self.G = self.G * f[self.key_of_joint[self.index[v]]]
        self._version += 1

    def unit_totals(self) -> np.ndarray:
        if not self.ops:
            return np.bincount(self.unit_of_joint, weights=self.base * self.G, minlength=self.U)
        if self._unit_totals is None or self._unit_totals[0] != self._version:
            t = _dense(self.X.assign(w=self.weight_column()).groupby("u")["w"].sum().compute(), self.U)
            self._unit_totals = (self._version, t)
        return self._unit_totals[1]

    def n_outside(self, lo: np.ndarray, hi: np.ndarray) -> int:
        return int(self.X.map_partitions(_outside, self._ops(), self.Ks, lo, hi, False,
                                         meta=(None, "i8")).sum().compute())

    def clip(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.ops = [*self._ops(), ("clip", lo.copy(), hi.copy())]
        self.G = np.ones_like(self.G)
        self._version += 1

    def final_stats(self, lo: np.ndarray, hi: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        import dask

        w = self.weight_column()
        Xw = self.X[["u"]].assign(w=w, w2=w * w)
        g = Xw.groupby("u")
        at, s1, s2, mx = dask.compute(
            self.X.map_partitions(_outside, self._ops(), self.Ks, lo, hi, True, meta=(None, "i8")).sum(),
            g["w"].sum(), g["w2"].sum(), g["w"].max())
        m = _dense(mx, self.U)
        m[~np.isin(np.arange(self.U), np.asarray(mx.index))] = -np.inf
        return int(at), _dense(s1, self.U), _dense(s2, self.U), m


def _dense(s: pd.Series, size: int) -> np.ndarray:
    """A group-by result indexed by int codes 0..size−1 as a dense array (0 where a code is absent)."""
    out = np.zeros(size)
    if len(s):
        out[np.asarray(s.index, dtype=np.int64)] = s.to_numpy(float)
    return out


# ---------------------------------------------------------------------------------------------------------------
# the pipeline
# ---------------------------------------------------------------------------------------------------------------
def run_survey_dask(s: SurveySpec, scheduler: str | None = None) -> SurveyResult:
    """:func:`hubindex.survey.run.run_survey` on Dask (see the module docstring); same table, same checks."""
    with _client(scheduler):
        return _run(s)


def _run(s: SurveySpec) -> SurveyResult:
    import dask

    margins = read_margins(s.resolve(s.raking.margins)) if s.raking is not None else None
    extra = sorted(set(margins["variable"])) if margins is not None else []
    ddf, files, labels = read_dask(s, extra)
    free = _free_groups(s, labels)
    # pass 0: read and check every part; distinct units and free-group levels; rows per part
    scan = ddf.map_partitions(_scan, s, free, meta={"what": object, "key": object}).compute()
    unit_names = sorted(set(scan.loc[scan["what"] == "unit", "key"]))
    all_keys = {g: level_order(scan.loc[scan["what"] == f"g:{g}", "key"].tolist()) for g in free}
    part_rows: dict[int, int] = {}
    for r in scan.loc[scan["what"] == "rows", "key"]:
        k, n = (int(x) for x in str(r).split(":"))
        part_rows[k] = n
    U = len(unit_names)
    levels = []
    for g in s.groups:
        _, names = group_levels(g, pd.DataFrame({g.column: pd.Series([], dtype=object)}), labels,
                                all_keys.get(g.name))
        levels.append(len(names))
    levels = [1, *levels]
    plan = rake_plan(s, margins, unit_names, np.ones(U)) if margins is not None else {}
    derive = _Derive(s, files, unit_names, all_keys, labels, plan, levels)
    X = ddf.map_partitions(derive, meta=derive(ddf._meta.assign(__part=np.int64(0))))
    rep: RakeReport | None = None
    state: DaskRakeState | None = None
    if margins is not None and s.raking is not None:
        Ks = [len(p.categories) for p in plan.values()]
        J = U * int(np.prod(Ks, dtype=np.float64))
        if J > MAX_JOINT_CELLS:
            raise ComputeError(f"raking on Dask: {J:,} joint (unit × category) cells exceed "
                               f"{MAX_JOINT_CELLS:,}; merge categories or use the in-memory backend")
        g = X.assign(w2=X["w0"] * X["w0"]).groupby("joint")
        cnt, base, q = (_dense(t, J) for t in dask.compute(g["w0"].count(), g["w0"].sum(), g["w2"].sum()))
        dims = np.unravel_index(np.arange(J), (U, *Ks))
        n_u, wtot, w2 = (np.bincount(dims[0], weights=t, minlength=U) for t in (cnt, base, q))
        plan = rake_plan(s, margins, unit_names, wtot)
        have = {v: np.bincount(dims[0] * K + dims[i + 1], weights=cnt, minlength=U * K)
                for i, (v, K) in enumerate(zip(plan, Ks, strict=True))}
        with np.errstate(invalid="ignore", divide="ignore"):
            before = np.where(n_u > 0, n_u * w2 / wtot**2, np.nan)
        lean_derive = _Derive(s, files, unit_names, all_keys, labels, plan, levels, rake_only=True)
        lean = ddf.map_partitions(lean_derive, meta=lean_derive(ddf._meta))
        state = DaskRakeState(lean, list(plan), Ks, U, base)
        trim = s.raking.trim
        rep = ipf(state, {v: p.targets for v, p in plan.items()}, have, n_u, before,
                  max_iter=s.raking.max_iter, tol=s.raking.tol, lower=trim.lower if trim else None,
                  upper=trim.upper if trim else None, unit_names=unit_names,
                  margins_file=s.resolve(s.raking.margins).name)
        state.X = X
        w = state.weight_column()
    else:
        w = X["w0"]
    Xw = X.assign(w=w)
    table = _estimate(s, Xw, unit_names, levels, labels, all_keys, rep)
    # weights.csv, lazily: id (or row number over all parts), unit, design and final weight
    offsets = np.concatenate([[0], np.cumsum([part_rows[k] for k in sorted(part_rows)])])
    idcol = "id" if s.data.id else "row"
    weights = Xw.map_partitions(_weights_frame, idcol, unit_names, offsets,
                                meta={idcol: X._meta["id"].dtype if s.data.id else np.int64, "unit": object,
                                      "design_weight": "f8", "weight": "f8"})
    return SurveyResult(spec=s, estimates=table, weights=weights, rake_report=rep, backend="dask")


def _weights_frame(df: pd.DataFrame, idcol: str, unit_names: list[str], offsets: np.ndarray) -> pd.DataFrame:
    ids = (df["id"].to_numpy() if idcol == "id"
           else offsets[df["part"].to_numpy(np.int64)] + df["row"].to_numpy(np.int64) + 1)
    return pd.DataFrame({idcol: ids, "unit": np.asarray(unit_names, dtype=object)[df["u"].to_numpy(np.int64)],
                         "design_weight": df["w0"].to_numpy(float), "weight": df["w"].to_numpy(float)},
                        index=df.index)


def _estimate(s: SurveySpec, Xw: Any, unit_names: list[str], levels: list[int],
              labels: dict[str, dict[Any, str]], all_keys: dict[str, list[str]],
              rep: RakeReport | None) -> pd.DataFrame:
    """Pass A: sums per (domain, stratum[, PSU]) and the design's PSU counts; pass B (no PSU column): the
    per-respondent scores' sums per (domain, stratum). Then :func:`finish_domains` and :func:`domain_table`."""
    import dask

    U = len(unit_names)
    psu = s.data.psu is not None
    by = ["h", "j"] if psu else ["h"]
    names_of = [["all"]]
    for g in s.groups:
        names_of.append(group_levels(g, pd.DataFrame({g.column: pd.Series([], dtype=object)}), labels,
                                     all_keys.get(g.name))[1])
    combos = [(mi, gi) for mi in range(len(s.measures)) for gi in range(len(levels))]
    lazy = []
    for mi, gi in combos:
        c, y = f"c{mi}_{gi}", f"y{mi}"
        Z = Xw[Xw[c] >= 0]
        Z = Z[[c, *by]].assign(n=1, W=Z["w"], T=Z["w"] * Z[y], Q=Z["w"] * Z["w"])
        lazy.append(Z.groupby([c, *by])[["n", "W", "T", "Q"]].sum())
    design = Xw.groupby(["u", "h", "j"] if psu else ["u", "h"])["w"].count()
    *sums, design_t = dask.compute(*lazy, design)
    # design: PSUs per stratum (n_h) and degrees of freedom per unit (#PSU − #strata)
    if psu:
        nh = design_t.groupby(level=[0, 1]).size()
    else:
        nh = design_t
    nh_tab = nh.astype(float)
    psu_u = _dense(nh_tab.groupby(level=0).sum(), U)
    strata_u = _dense(nh_tab.groupby(level=0).size(), U)
    df_u = psu_u - strata_u
    n_lonely = int((nh_tab < 2).sum())
    cells: list[tuple[int, int, CellSums, pd.DataFrame]] = []
    for (mi, gi), t in zip(combos, sums, strict=True):
        t = t.reset_index()
        c = t.columns[0]
        ncell = U * levels[gi]
        agg = t.groupby(c)[["n", "W", "T", "Q"]].sum()
        cs = CellSums(*(_dense(agg[k], ncell) for k in ("n", "W", "T", "Q")))
        cells.append((mi, gi, cs, t.rename(columns={c: "c"})))
    if not psu:  # pass B: per-respondent scores, summed per (domain, stratum)
        lazy = []
        for mi, gi, cs, _ in cells:
            c = f"c{mi}_{gi}"
            lazy.append(Xw.map_partitions(_scores, c, f"y{mi}", cs.rate, cs.W,
                                          meta={"c": "i8", "h": object, "S1": "f8", "S2": "f8"})
                        .groupby(["c", "h"])[["S1", "S2"]].sum())
        S = dask.compute(*lazy)
    weighting = weighting_text(s, rep)
    parts = []
    for k, (mi, gi, cs, t) in enumerate(cells):
        L = levels[gi]
        if psu:
            r, W = cs.rate, cs.W
            cc = t["c"].to_numpy(np.int64)
            Ucj = linearised_scores(t["T"].to_numpy(float), t["W"].to_numpy(float), r[cc], W[cc])
            q = pd.DataFrame({"c": cc, "h": t["h"].to_numpy(), "S1": Ucj, "S2": Ucj * Ucj})
            q = q.groupby(["c", "h"], sort=False)[["S1", "S2"]].sum().reset_index()
        else:
            q = S[k].reset_index()
        qc = q["c"].to_numpy(np.int64)
        qu = qc // L
        nh_q = nh_tab.reindex(pd.MultiIndex.from_arrays([qu, q["h"].to_numpy()])).to_numpy(float)
        est = finish_domains(cs, qc, q["S1"].to_numpy(float), q["S2"].to_numpy(float), nh_q,
                             df_u[np.arange(U * L) // L], n_lonely, s.lonely_psu)
        parts.append(domain_table(s, s.measures[mi], "all" if gi == 0 else s.groups[gi - 1].name,
                                  names_of[gi], unit_names, est, weighting))
    return pd.concat(parts, ignore_index=True)[ESTIMATE_COLUMNS]
