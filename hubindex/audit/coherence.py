"""Statistical coherence audit of a built index (COINr ``get_stats``, ``get_corr``, ``get_corr_flags``,
``get_PCA``, ``get_cronbach``; OECD/JRC Handbook (2008) §1.7 and step 4 "Multivariate analysis").

Everything works on the result's tables: raw indicator statistics on ``datasets['Raw']`` (or any dataset), and
correlations, PCA and Cronbach's alpha on ``scores`` (normalised indicators and aggregate scores).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubindex.engine._stats import kurtosis, skewness
from hubindex.errors import SpecError
from hubindex.outdir import atomic_dir

__all__ = ["Thresholds", "indicator_stats", "unit_availability", "correlations", "pca_by_group",
           "cronbach_alpha", "CoherenceReport", "coherence"]


@dataclass(frozen=True)
class Thresholds:
    """Flag thresholds (COINr ``get_stats`` defaults, plus ``get_corr_flags``' collinearity threshold)."""

    skew: float = 2.0
    kurt: float = 3.5
    availability: float = 0.65
    zeros: float = 0.5
    unique: float = 0.5
    collinear: float = 0.9
    negative: float = 0.0


def indicator_stats(X: pd.DataFrame, th: Thresholds = Thresholds()) -> pd.DataFrame:
    """One row per column: n, availability = n/N, min, max, mean, median, sd (n − 1), skew (type-2 G1), kurtosis
    (type-2 excess G2), share of zeros (over available values), unique values and their share of n; flags:
    ``flag_skew_kurt`` = |skew| > skew AND kurt > kurt (COINr's outlier flag), ``flag_availability`` =
    availability < threshold, ``flag_zeros`` = zero share > threshold, ``flag_unique`` = unique share < threshold.
    """
    A = X.to_numpy(dtype=float)
    ok = ~np.isnan(A)
    n = ok.sum(0)
    N = A.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = pd.DataFrame({
                "n": n,
                "availability": n / N if N else np.full(A.shape[1], np.nan),
                "min": np.nanmin(A, 0) if N else np.nan,
                "max": np.nanmax(A, 0) if N else np.nan,
                "mean": np.nanmean(A, 0),
                "median": np.nanmedian(A, 0),
                "sd": np.nanstd(A, 0, ddof=1),
                "skew": skewness(A, axis=0),
                "kurtosis": kurtosis(A, axis=0),
                "zero_share": (A == 0).sum(0) / n,
                "n_unique": X.nunique(dropna=True).to_numpy(),
            }, index=pd.Index(X.columns, name="indicator"))
            out["unique_share"] = out["n_unique"] / n
    out.loc[out["n"] < 2, "sd"] = np.nan
    out["flag_skew_kurt"] = (out["skew"].abs() > th.skew) & (out["kurtosis"] > th.kurt)
    out["flag_availability"] = out["availability"] < th.availability
    out["flag_zeros"] = out["zero_share"] > th.zeros
    out["flag_unique"] = out["unique_share"] < th.unique
    return out


def unit_availability(X: pd.DataFrame, th: Thresholds = Thresholds()) -> pd.DataFrame:
    """Per unit: available indicators, availability = available / indicators, share of zeros, and a flag when
    availability < threshold."""
    A = X.to_numpy(dtype=float)
    ok = ~np.isnan(A)
    n = ok.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({"n_available": n, "availability": n / A.shape[1],
                            "zero_share": (A == 0).sum(1) / n}, index=X.index)
    out["flag_availability"] = out["availability"] < th.availability
    return out


def _corr(values: pd.DataFrame, method: str) -> pd.DataFrame:
    """Pairwise-complete correlation matrix (pandas ``DataFrame.corr``); zero-variance columns give NaN."""
    return values.corr(method=method, min_periods=3)  # type: ignore[arg-type]


def correlations(scores: pd.DataFrame, framework, th: Thresholds = Thresholds()) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Pearson r and Spearman ρ between framework nodes, pairwise complete, in long form.

    Pairs: every two nodes of the same level (``kind='within'``; ``same_group`` when they share a parent) and
    every node with each of its ancestors (``kind='across'``). Flags: ``collinear`` when r > collinear threshold
    for two siblings or a node and its ancestor; ``negative`` when r < negative threshold for two siblings.
    """
    codes = [c for c in framework.codes if c in scores.columns]
    pear = _corr(scores[codes], "pearson")
    spear = _corr(scores[codes], "spearman")
    ok = scores[codes].notna().astype(float)
    npair = ok.T @ ok
    rows = []
    level = {c: int(framework.level_of(c)) for c in codes}
    parent = {c: framework.parent_of(c) for c in codes}
    for a_i, a in enumerate(codes):
        for b in codes[a_i + 1:]:
            if level[a] == level[b]:
                rows.append((a, b, "within", parent[a] is not None and parent[a] == parent[b]))
        for anc in framework.ancestors(a):
            if anc in scores.columns:
                rows.append((a, anc, "across", False))
    df = pd.DataFrame(rows, columns=["var1", "var2", "kind", "same_group"])
    df["level1"] = df["var1"].map(level)
    df["level2"] = df["var2"].map(level)
    df["group"] = np.where(df["same_group"], df["var1"].map(parent), None)  # type: ignore[call-overload]
    df["n"] = [int(npair.loc[a, b]) for a, b in zip(df["var1"], df["var2"], strict=True)]
    df["pearson"] = [pear.loc[a, b] for a, b in zip(df["var1"], df["var2"], strict=True)]
    df["spearman"] = [spear.loc[a, b] for a, b in zip(df["var1"], df["var2"], strict=True)]
    related = df["same_group"] | (df["kind"] == "across")
    df["collinear"] = related & (df["pearson"] > th.collinear)
    df["negative"] = df["same_group"] & (df["pearson"] < th.negative)
    return df


def pca_by_group(scores: pd.DataFrame, framework) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """PCA of each aggregate's children on complete cases, standardised (correlation-matrix PCA, as COINr's
    ``get_PCA`` with ``prcomp(scale. = TRUE)``), via scikit-learn. Returns (per group: n, k, variance explained by
    PC1 = λ₁/Σλ; per child: PC1 loading = eigenvector entry, sign chosen so the loadings sum ≥ 0)."""
    from sklearn.decomposition import PCA

    summary, loads = [], []
    for g in framework.aggregates:
        kids = [k for k in framework.children(g) if k in scores.columns]
        C = scores[kids].dropna()
        sd = C.std(ddof=1)
        if len(kids) < 2 or len(C) < 3 or (sd <= 0).any():
            summary.append({"group": g, "n": len(C), "k": len(kids), "pc1_var_explained": np.nan})
            continue
        Z = (C - C.mean()) / sd
        p = PCA().fit(Z.to_numpy())
        v = p.components_[0]
        v = -v if v.sum() < 0 else v
        summary.append({"group": g, "n": len(C), "k": len(kids),
                        "pc1_var_explained": float(p.explained_variance_ratio_[0])})
        loads += [{"group": g, "child": k, "pc1_loading": float(x)} for k, x in zip(kids, v, strict=True)]
    return (pd.DataFrame(summary).set_index("group"),
            pd.DataFrame(loads, columns=["group", "child", "pc1_loading"]))


def cronbach_alpha(C: pd.DataFrame | np.ndarray) -> float:
    """Cronbach's α = k/(k − 1)·(1 − Σᵢ s²ᵢ / s²_T) on complete cases, s² with n − 1, s²_T the variance of the row
    sums. NaN when k < 2, fewer than 2 complete rows or zero total variance."""
    A = np.asarray(C, dtype=float)
    A = A[~np.isnan(A).any(axis=1)]
    n, k = A.shape
    if k < 2 or n < 2:
        return float("nan")
    tot = A.sum(1).var(ddof=1)
    if tot <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - A.var(axis=0, ddof=1).sum() / tot))


@dataclass(frozen=True)
class CoherenceReport:
    """The coherence audit's tables."""

    stats: pd.DataFrame
    unit_availability: pd.DataFrame
    correlations: pd.DataFrame
    pca: pd.DataFrame
    pca_loadings: pd.DataFrame
    alpha: pd.Series
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def flags(self) -> pd.DataFrame:
        """Flagged indicators and correlation pairs in one long table (what, item, flag)."""
        rows = []
        for col in ("flag_skew_kurt", "flag_availability", "flag_zeros", "flag_unique"):
            rows += [("indicator", i, col.removeprefix("flag_")) for i in self.stats.index[self.stats[col]]]
        for col in ("collinear", "negative"):
            sel = self.correlations[self.correlations[col]]
            rows += [("pair", f"{a} ~ {b}", col) for a, b in zip(sel["var1"], sel["var2"], strict=True)]
        return pd.DataFrame(rows, columns=["what", "item", "flag"])

    def write(self, out: Path) -> list[str]:
        """Write the tables as CSV into ``out`` (replaced atomically); returns the file names."""
        files = {"stats.csv": self.stats, "unit_availability.csv": self.unit_availability,
                 "correlations.csv": self.correlations, "pca.csv": self.pca, "pca_loadings.csv": self.pca_loadings,
                 "cronbach_alpha.csv": self.alpha.to_frame(), "flags.csv": self.flags}
        with atomic_dir(Path(out), "audit coherence") as tmp:
            for name, df in files.items():
                df.to_csv(tmp / name, index=not isinstance(df.index, pd.RangeIndex))
        return list(files)


def coherence(result, dataset: str = "Raw", thresholds: Thresholds = Thresholds()) -> CoherenceReport:  # type: ignore[no-untyped-def]
    """Audit a built :class:`~hubindex.engine.result.Result`: indicator statistics and unit availability on
    ``dataset`` (default the raw data), correlations, PCA and Cronbach's α on the scores."""
    if dataset not in result.datasets:
        raise SpecError(f"coherence: dataset '{dataset}' is not one of {list(result.datasets)}")
    X = result.datasets[dataset]
    fw = result.framework
    pca, loads = pca_by_group(result.scores, fw)
    alpha = pd.Series({g: cronbach_alpha(result.scores[list(fw.children(g))]) for g in fw.aggregates},
                      name="cronbach_alpha")
    alpha.index.name = "group"
    return CoherenceReport(indicator_stats(X, thresholds), unit_availability(X, thresholds),
                           correlations(result.scores, fw, thresholds), pca, loads, alpha, thresholds)
