"""Design-based estimation of proportions: weighted rate, Taylor-linearised SE, design effects, intervals.

Pure, vectorised functions over respondent arrays; every domain (unit × subgroup level) is computed in one pass
with ``np.bincount``/``np.unique`` group-bys, never a Python loop over respondents or domains.

Notation: respondent *i* with weight w_i, outcome y_i ∈ {0, 1}, domain indicator z_ic (1 when *i* is in domain
*c* and in the measure's denominator), stratum *h*, PSU *j* (nested in *h*), n_h PSUs in stratum *h*.

* Rate (ratio mean):          r_c = Σ_i w_i z_ic y_i / Σ_i w_i z_ic
* Linearised score:           u_ic = w_i z_ic (y_i − r_c) / Σ_i w_i z_ic
* PSU totals:                 U_cj = Σ_{i∈j} u_ic      (zero for PSUs without members of the domain)
* Variance (with replacement): v(r_c) = Σ_h n_h/(n_h−1) Σ_{j∈h} (U_cj − Ū_ch)²,  Ū_ch = Σ_{j∈h} U_cj / n_h

This is R ``survey``'s ``svymean(~y, subset(design, z))`` / ``svyratio`` and Stata's ``svy: mean, subpop()``:
domains keep every PSU of the design (out-of-domain respondents contribute zero), so n_h counts all PSUs of the
stratum. Without a PSU column each respondent is its own PSU. A stratum with a single PSU is handled as R's
``options(survey.lonely.psu=)``: ``fail``, ``remove`` (contributes nothing) or ``adjust`` (its PSU totals are
centred at the design's grand mean of PSU totals instead of the stratum mean, factor 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hubindex.errors import ComputeError

__all__ = [
    "DomainEstimates",
    "domain_rates",
    "kish_deff",
    "effective_n",
    "wilson_interval",
    "korn_graubard_interval",
    "interval",
]


@dataclass(frozen=True)
class DomainEstimates:
    """Per-domain results; arrays of length ``ncell`` (NaN where a domain has no respondents)."""

    rate: np.ndarray
    var: np.ndarray
    n: np.ndarray          # respondents in the domain and the denominator
    sum_w: np.ndarray      # Σ w over them
    deff_kish: np.ndarray  # n Σw² / (Σw)²
    deff: np.ndarray       # design-based: v(r) / (s²_w / n), s²_w = n/(n−1) · r(1−r)
    df: np.ndarray         # design degrees of freedom of the domain's design: #PSU − #strata

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(self.var)


def kish_deff(w: np.ndarray, cell: np.ndarray, ncell: int) -> np.ndarray:
    """Kish's design effect due to unequal weighting per cell: n · Σw² / (Σw)² (≥ 1; = 1 for equal weights)."""
    ok = cell >= 0
    n = np.bincount(cell[ok], minlength=ncell).astype(float)
    s1 = np.bincount(cell[ok], weights=w[ok], minlength=ncell)
    s2 = np.bincount(cell[ok], weights=w[ok] ** 2, minlength=ncell)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, n * s2 / s1**2, np.nan)


def domain_rates(
    y: np.ndarray,
    w: np.ndarray,
    cell: np.ndarray,
    ncell: int,
    stratum: np.ndarray | None = None,
    psu: np.ndarray | None = None,
    design: np.ndarray | None = None,
    lonely_psu: str = "adjust",
) -> DomainEstimates:
    """Weighted rate and Taylor-linearised variance for every domain at once (see the module docstring).

    ``cell``: int domain code per respondent in ``0..ncell−1``, or −1 for respondents outside every domain or
    outside the denominator (they keep their PSU, with zero contribution). ``stratum``/``psu``: any hashable codes
    (PSU codes are taken as nested in strata, and both as nested in ``design``). ``design``: an int code per
    respondent naming independent samples (e.g. the unit), each with its own strata; every domain must lie in
    one design. ``y`` is read only where ``cell >= 0``.
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    cell = np.asarray(cell, dtype=np.int64)
    N = len(w)
    design = np.zeros(N, np.int64) if design is None else np.asarray(design, dtype=np.int64)
    # strata and PSUs as dense global codes, nested in design (and PSU nested in stratum)
    s_raw = np.zeros(N, np.int64) if stratum is None else _codes(stratum)
    h = _codes(design * (int(s_raw.max()) + 1) + s_raw)
    if psu is None:
        j = np.arange(N, dtype=np.int64)
    else:
        p_raw = _codes(psu)
        j = _codes(h * (int(p_raw.max()) + 1) + p_raw)
    npsu = int(j.max()) + 1
    h_of_j = np.zeros(npsu, np.int64)
    h_of_j[j] = h
    nstrata = int(h.max()) + 1
    n_h = np.bincount(h_of_j, minlength=nstrata).astype(float)
    d_of_h = np.zeros(nstrata, np.int64)
    d_of_h[h] = design
    ndesign = int(design.max()) + 1
    d_of_j = np.zeros(npsu, np.int64)
    d_of_j[j] = design
    df_design = (np.bincount(d_of_j, minlength=ndesign) - np.bincount(d_of_h, minlength=ndesign)).astype(float)

    ok = cell >= 0
    c, wi, yi, ji = cell[ok], w[ok], y[ok], j[ok]
    n = np.bincount(c, minlength=ncell).astype(float)
    W = np.bincount(c, weights=wi, minlength=ncell)
    T = np.bincount(c, weights=wi * yi, minlength=ncell)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(W > 0, T / W, np.nan)
        u = wi * (yi - r[c]) / W[c]
    # PSU totals per (domain, PSU), then per (domain, stratum): S1 = Σ_j U, S2 = Σ_j U²
    inv, key = _factorize(c * npsu + ji)
    U = np.bincount(inv, weights=u)
    pc, pj = key // npsu, key % npsu
    ph = h_of_j[pj]
    inv2, key2 = _factorize(pc * nstrata + ph)
    S1 = np.bincount(inv2, weights=U)
    S2 = np.bincount(inv2, weights=U * U)
    qc, qh = key2 // nstrata, key2 % nstrata
    nh = n_h[qh]
    lonely = nh < 2
    if lonely.any() and lonely_psu == "fail":
        raise ComputeError(f"{int(np.sum(n_h < 2))} stratum/strata with a single PSU; set lonely_psu to "
                           f"'adjust' or 'remove' (as R survey's options(survey.lonely.psu=...)), or merge strata")
    with np.errstate(invalid="ignore", divide="ignore"):
        contrib = np.where(lonely, 0.0, nh / (nh - 1) * (S2 - S1 * S1 / nh))
    if lonely.any() and lonely_psu == "adjust":
        # centre at the grand mean of the domain's PSU totals over its design: Σ U / #PSU(design) (= 0 here,
        # because Σ_i u_ic = 0 for a ratio), so a lonely PSU contributes U².
        contrib = np.where(lonely, S2, contrib)
    var = np.bincount(qc, weights=np.maximum(contrib, 0.0), minlength=ncell)
    var = np.where(n > 0, var, np.nan)
    # design of each domain (the caller guarantees one design per domain)
    d_of_c = np.zeros(ncell, np.int64)
    d_of_c[c] = design[ok]
    df = np.where(n > 0, df_design[d_of_c], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(n > 1, n / (n - 1) * r * (1 - r), np.nan)
        deff = np.where(s2 > 0, var / (s2 / n), np.nan)
    return DomainEstimates(rate=r, var=var, n=n.astype(np.int64), sum_w=W, deff_kish=kish_deff(w, cell, ncell),
                           deff=deff, df=df)


def _factorize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) by hashing — O(n), unlike the sort in ``np.unique``."""
    codes, uniq = pd.factorize(x)
    return codes.astype(np.int64), np.asarray(uniq)


def _codes(x: np.ndarray) -> np.ndarray:
    """Dense int codes 0..k−1 of the values (first-appearance order)."""
    x = np.asarray(x)
    if x.dtype.kind not in "iub":
        x = pd.Series(x, dtype=object).astype(str).to_numpy()
    return _factorize(x)[0]


def effective_n(p: np.ndarray, var: np.ndarray, n: np.ndarray, df: np.ndarray | None = None,
                confidence: float = 0.95) -> np.ndarray:
    """Effective sample size for intervals: n_eff = p(1−p)/v(p), capped at n (Korn & Graubard 1998).

    With design degrees of freedom ``df``, n_eff is scaled by (t_{n−1}/t_df)² at the interval's level, as R's
    ``svyciprop(method="beta")``. Where v = 0 (p = 0 or 1) n_eff = n.
    """
    p, var, n = (np.asarray(a, dtype=float) for a in (p, var, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        ne = np.where(var > 0, p * (1 - p) / var, n)
    ne = np.minimum(ne, n)
    if df is not None:
        a = (1 - confidence) / 2
        dfa = np.asarray(df, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            t_n = stats.t.ppf(a, np.maximum(n - 1, 1))
            t_d = stats.t.ppf(a, np.maximum(dfa, 1))
            adj = np.where((dfa >= 1) & (n > 1), (t_n / t_d) ** 2, 1.0)
        ne = ne * adj
    return ne


def wilson_interval(p: np.ndarray, n_eff: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval with the effective sample size:
    (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n), z = Φ⁻¹(1 − α/2)."""
    p, n = np.asarray(p, dtype=float), np.asarray(n_eff, dtype=float)
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = 1 + z * z / n
        mid = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return np.clip(mid - half, 0, 1), np.clip(mid + half, 0, 1)


def korn_graubard_interval(p: np.ndarray, n_eff: np.ndarray,
                           confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Korn–Graubard (Clopper–Pearson with n_eff) interval: with x = p·n_eff,
    low = Beta⁻¹(α/2; x, n_eff − x + 1), high = Beta⁻¹(1 − α/2; x + 1, n_eff − x); low = 0 at x = 0, high = 1
    at x = n_eff."""
    p, n = np.asarray(p, dtype=float), np.asarray(n_eff, dtype=float)
    a = (1 - confidence) / 2
    x = p * n
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(x > 0, stats.beta.ppf(a, np.maximum(x, 1e-300), n - x + 1), 0.0)
        hi = np.where(x < n, stats.beta.ppf(1 - a, x + 1, np.maximum(n - x, 1e-300)), 1.0)
    bad = ~np.isfinite(p) | ~np.isfinite(n) | (n <= 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def interval(method: str, p: np.ndarray, n_eff: np.ndarray,
             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to :func:`wilson_interval` or :func:`korn_graubard_interval`."""
    if method == "wilson":
        return wilson_interval(p, n_eff, confidence)
    if method == "korn_graubard":
        return korn_graubard_interval(p, n_eff, confidence)
    raise ValueError(f"unknown interval method {method!r}; expected 'wilson' or 'korn_graubard'")
