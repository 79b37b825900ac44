"""The audit at a glance: what a reader of a ranking needs from the coherence, uncertainty and sensitivity audits.

:func:`summary` condenses the three analyses into small tables (the dashboard's Methodology → Audit section, the
report's audit chapter, ``GET /api/audit``):

- ``indicators``: per indicator the raw-data statistics and flags of :func:`~hubindex.audit.coherence.
  indicator_stats` (COINr ``get_stats``: |skew| > 2 and kurtosis > 3.5, availability < 0.65, zero share > 0.5,
  unique share < 0.5), with a list of the flags raised;
- ``correlation_flags``: pairs of siblings (same parent) with Pearson r > 0.9 (collinear) or r < 0 (negative), as
  COINr's ``get_corr_flags`` on the normalised indicators and aggregate scores;
- ``groups``: per aggregate the share of variance explained by the first principal component of its children
  (λ₁/Σλ, correlation-matrix PCA) and Cronbach's α = k/(k − 1)·(1 − Σ s²ᵢ / s²_T), flagged when α < 0.7
  (Nunnally's rule of thumb);
- ``units_low_availability``: units whose raw-data availability is below the threshold;
- ``rank_intervals`` (when an uncertainty result is given): per unit the nominal rank and the 5th, 50th and 95th
  percentile of its rank over the Monte Carlo replications, and the interval width p95 − p05;
- ``sobol`` (when a sensitivity result is given): first-order S_i and total ST_i Sobol indices per uncertain
  choice with their bootstrap intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hubindex._json import jsonable
from hubindex.audit.coherence import Thresholds, coherence
from hubindex.errors import SpecError

__all__ = ["AuditSummary", "summary", "ALPHA_MIN", "FLAG_LABELS", "TABLES"]

ALPHA_MIN = 0.7  # Cronbach's α below this: the group's children do not measure one thing (Nunnally 1978)

FLAG_LABELS = {"skew_kurt": "skewed and heavy-tailed", "availability": "low availability",
               "zeros": "many zeros", "unique": "few distinct values", "collinear": "collinear",
               "negative": "negative correlation", "alpha": "low Cronbach's alpha"}

TABLES = ("indicators", "correlation_flags", "groups", "units_low_availability", "rank_intervals", "sobol")

_IND_COLS = ["indicator", "name", "parent", "n", "availability", "min", "max", "mean", "median", "sd", "skew",
             "kurtosis", "zero_share", "n_unique", "unique_share", "flag_skew_kurt", "flag_availability",
             "flag_zeros", "flag_unique", "flags"]
_CORR_COLS = ["group", "var1", "var2", "level", "n", "pearson", "spearman", "flag"]
_GROUP_COLS = ["group", "name", "level", "k", "n", "pc1_var_explained", "cronbach_alpha", "flag_alpha"]
_UNIT_COLS = ["unit", "name", "n_available", "availability"]
_IVL_COLS = ["unit", "name", "nominal_rank", "rank_median", "rank_p05", "rank_p95", "rank_width",
             "nominal_score", "score_p05", "score_p95"]
_SOBOL_COLS = ["factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if df is None:
        return None
    cols = [str(c) for c in df.columns]
    return [{c: jsonable(v) for c, v in zip(cols, row, strict=True)} for row in df.itertuples(index=False)]


@dataclass(frozen=True)
class AuditSummary:
    """The audit's highlights as tables (one row per indicator / flagged pair / group / unit / factor) plus what
    produced them. ``rank_intervals`` and ``sobol`` are ``None`` when no uncertainty / sensitivity result was
    given. :meth:`to_dict` is the JSON form (NaN → null)."""

    index: str
    n_units: int
    thresholds: Thresholds
    indicators: pd.DataFrame
    correlation_flags: pd.DataFrame
    groups: pd.DataFrame
    units_low_availability: pd.DataFrame
    rank_intervals: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None
    uncertainty_info: dict[str, Any] = field(default_factory=dict)
    sensitivity_info: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged_indicators(self) -> pd.DataFrame:
        """The rows of ``indicators`` with at least one flag."""
        return self.indicators[self.indicators["flags"].map(len) > 0]

    def counts(self) -> dict[str, int]:
        """How many items raise each flag (indicator flags, pair flags, groups with low α, units)."""
        out = {f: int(self.indicators[f"flag_{f}"].sum()) for f in ("skew_kurt", "availability", "zeros", "unique")}
        out["indicators_flagged"] = len(self.flagged_indicators)
        out["collinear"] = int((self.correlation_flags["flag"] == "collinear").sum())
        out["negative"] = int((self.correlation_flags["flag"] == "negative").sum())
        out["low_alpha"] = int(self.groups["flag_alpha"].sum())
        out["units_low_availability"] = len(self.units_low_availability)
        return out

    def table(self, name: str) -> pd.DataFrame | None:
        """One of :data:`TABLES` by name."""
        if name not in TABLES:
            raise SpecError(f"audit summary: unknown table '{name}'; choose one of {list(TABLES)}")
        return getattr(self, name)  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: thresholds, flag counts and labels, every table as a list of records, and the settings of
        the uncertainty and sensitivity runs."""
        th = {k: jsonable(v) for k, v in self.thresholds.__dict__.items()}
        th["alpha"] = ALPHA_MIN
        return {
            "index": self.index, "n_units": self.n_units, "thresholds": th, "counts": self.counts(),
            "flag_labels": dict(FLAG_LABELS),
            **{name: _records(getattr(self, name)) for name in TABLES},
            "uncertainty": {k: jsonable(v) for k, v in self.uncertainty_info.items()} or None,
            "sensitivity": {k: jsonable(v) for k, v in self.sensitivity_info.items()} or None,
        }


def _intervals(unc: Any, names: pd.Series) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank intervals from an UncertaintyResult (its :meth:`summary`) or an equivalent table indexed by unit."""
    from hubindex.audit.uncertainty import UncertaintyResult

    if isinstance(unc, UncertaintyResult):
        t, info = unc.summary(), {"n": unc.n, "seed": unc.config.seed, "target": unc.target, "keep": unc.keep,
                                  "score_quantile_error": unc.score_quantile_error}
    elif isinstance(unc, pd.DataFrame):
        t, info = unc.copy(), {str(k): v for k, v in unc.attrs.items()}
    else:
        raise SpecError(f"audit summary: uncertainty must be an UncertaintyResult or a table of rank intervals, "
                        f"not {type(unc).__name__}")
    need = {"nominal_rank", "rank_median", "rank_p05", "rank_p95"}
    if not need <= set(t.columns):
        raise SpecError(f"audit summary: the rank-interval table lacks the column(s) {sorted(need - set(t.columns))}")
    t.index = t.index.map(str)
    t.index.name = "unit"
    if "name" not in t.columns:
        t["name"] = names.reindex(t.index).to_numpy()
    t["rank_width"] = t["rank_p95"] - t["rank_p05"]
    t = t.reset_index()
    t = t.sort_values(["nominal_rank", "unit"], kind="stable", na_position="last")
    return t[[c for c in _IVL_COLS if c in t.columns]].reset_index(drop=True), info


def summary(result: Any, uncertainty: Any = None, sensitivity: Any = None, *,
            thresholds: Thresholds = Thresholds(), alpha_min: float = ALPHA_MIN) -> AuditSummary:
    """Summarise the audit of a built :class:`~hubindex.engine.result.Result`.

    Coherence is computed here (:func:`~hubindex.audit.coherence.coherence`: statistics on the raw data,
    correlations, PCA and α on the scores). ``uncertainty``: an :class:`~hubindex.audit.uncertainty.
    UncertaintyResult` (or a table with ``nominal_rank``, ``rank_median``, ``rank_p05``, ``rank_p95`` indexed by
    unit; its ``attrs`` describe the run). ``sensitivity``: a :class:`~hubindex.audit.sensitivity.
    SensitivityResult`. See the module doc for the tables.
    """
    fw = result.framework
    names_of = dict(zip(fw.codes, fw.names, strict=True))
    rep = coherence(result, "Raw", thresholds)

    st = rep.stats.copy()
    st.index = st.index.map(str)
    st.insert(0, "name", [names_of.get(c, c) for c in st.index])
    st.insert(1, "parent", [fw.parent_of(c) if c in fw.codes else None for c in st.index])
    kinds = ("skew_kurt", "availability", "zeros", "unique")
    flag_cols = st[[f"flag_{k}" for k in kinds]].to_numpy(dtype=bool)
    st["flags"] = [[k for k, on in zip(kinds, row, strict=True) if on] for row in flag_cols]
    indicators = st.rename_axis("indicator").reset_index()[_IND_COLS]

    c = rep.correlations
    c = c[c["same_group"] & (c["collinear"] | c["negative"])].copy()
    c["flag"] = np.where(c["collinear"], "collinear", "negative")
    c["level"] = c["level1"]
    corr_flags = c.sort_values(["flag", "pearson"], ascending=[True, False], kind="stable")[_CORR_COLS]
    corr_flags = corr_flags.reset_index(drop=True)

    g = rep.pca[["n", "k", "pc1_var_explained"]].join(rep.alpha)
    g.insert(0, "name", [names_of.get(x, x) for x in g.index])
    g.insert(1, "level", [int(fw.level_of(x)) for x in g.index])
    g["flag_alpha"] = g["cronbach_alpha"] < alpha_min  # NaN (one child, no variance) → no flag
    groups = g.rename_axis("group").reset_index()[_GROUP_COLS]

    ua = rep.unit_availability
    ua = ua[ua["flag_availability"]].copy()
    ua.index = ua.index.map(str)
    ua.insert(0, "name", result.unit_names.reindex(ua.index).to_numpy())
    low_units = ua.rename_axis("unit").reset_index()[_UNIT_COLS].sort_values("availability", kind="stable")

    intervals, u_info = (None, {}) if uncertainty is None else _intervals(uncertainty, result.unit_names)

    sobol, s_info = None, {}
    if sensitivity is not None:
        sobol = sensitivity.indices.rename_axis("factor").reset_index()[_SOBOL_COLS]
        s_info = {"N": sensitivity.N, "runs": sensitivity.runs, "target": sensitivity.target,
                  "seed": sensitivity.config.seed, "output": "mean absolute rank change vs the nominal ranking",
                  "interval": "5th-95th percentile bootstrap"}
    return AuditSummary(str(result.index_code), int(len(result.scores)), thresholds, indicators, corr_flags,
                        groups, low_units.reset_index(drop=True), intervals, sobol, u_info, s_info)
