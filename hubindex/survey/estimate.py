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
    "CellSums",
    "cell_sums",
    "linearised_scores",
    "finish_domains",
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
    cs = cell_sums(cell[ok], w[ok], np.zeros(int(ok.sum())), ncell)
    return _kish(cs.n, cs.W, cs.Q)


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
    cs = cell_sums(c, wi, yi, ncell)
    r = cs.rate
    u = linearised_scores(wi * yi, wi, r[c], cs.W[c])
    # PSU totals per (domain, PSU), then per (domain, stratum): S1 = Σ_j U, S2 = Σ_j U²
    inv, key = _factorize(c * npsu + ji)
    U = np.bincount(inv, weights=u)
    pc, pj = key // npsu, key % npsu
    ph = h_of_j[pj]
    inv2, key2 = _factorize(pc * nstrata + ph)
    S1 = np.bincount(inv2, weights=U)
    S2 = np.bincount(inv2, weights=U * U)
    qc, qh = key2 // nstrata, key2 % nstrata
    # design of each domain (the caller guarantees one design per domain)
    d_of_c = np.zeros(ncell, np.int64)
    d_of_c[c] = design[ok]
    return finish_domains(cs, qc, S1, S2, n_h[qh], df_design[d_of_c], int(np.sum(n_h < 2)), lonely_psu)


@dataclass(frozen=True)
class CellSums:
    """Per-domain sums over respondents in the domain and the denominator: count, Σw, Σw·y, Σw²."""

    n: np.ndarray
    W: np.ndarray
    T: np.ndarray
    Q: np.ndarray

    @property
    def rate(self) -> np.ndarray:
        """r_c = T_c / W_c (NaN where W_c = 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.W > 0, self.T / self.W, np.nan)


def cell_sums(c: np.ndarray, w: np.ndarray, y: np.ndarray, ncell: int) -> CellSums:
    """:class:`CellSums` by ``np.bincount`` over in-domain respondents (``c`` ≥ 0 only)."""
    return CellSums(n=np.bincount(c, minlength=ncell).astype(float),
                    W=np.bincount(c, weights=w, minlength=ncell),
                    T=np.bincount(c, weights=w * y, minlength=ncell),
                    Q=np.bincount(c, weights=w * w, minlength=ncell))


def linearised_scores(wy: np.ndarray, w: np.ndarray, r: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Linearised score of a ratio mean, u = (Σ w·y − r·Σ w) / W_c, for a respondent (wy = w_i·y_i, w = w_i) or
    for a PSU's totals (wy = T_cj, w = W_cj) — the same number either way, U_cj = Σ_{i∈j} u_ic."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (wy - r * w) / W


def finish_domains(cs: CellSums, qc: np.ndarray, S1: np.ndarray, S2: np.ndarray, nh: np.ndarray,
                   df: np.ndarray, n_lonely: int, lonely_psu: str = "adjust") -> DomainEstimates:
    """Rates, Taylor variances and design effects from sums (the arithmetic shared by every backend).

    ``cs``: per-domain sums. One entry per (domain, stratum) pair that has domain members: ``qc`` the domain,
    ``S1`` = Σ_j U_cj and ``S2`` = Σ_j U_cj² over the stratum's PSUs, ``nh`` the stratum's PSU count (over the
    whole design). ``df``: design degrees of freedom per domain. ``n_lonely``: strata of the design with one PSU.
    v(r_c) = Σ_h n_h/(n_h − 1) (S2 − S1²/n_h); a lonely stratum contributes 0 (``remove``) or S2 (``adjust``).
    """
    ncell = len(cs.n)
    n, r = cs.n, cs.rate
    lonely = nh < 2
    if lonely.any() and lonely_psu == "fail":
        raise ComputeError(f"{n_lonely} stratum/strata with a single PSU; set lonely_psu to "
                           f"'adjust' or 'remove' (as R survey's options(survey.lonely.psu=...)), or merge strata")
    with np.errstate(invalid="ignore", divide="ignore"):
        contrib = np.where(lonely, 0.0, nh / (nh - 1) * (S2 - S1 * S1 / nh))
    if lonely.any() and lonely_psu == "adjust":
        # centre at the grand mean of the domain's PSU totals over its design: Σ U / #PSU(design) (= 0 here,
        # because Σ_i u_ic = 0 for a ratio), so a lonely PSU contributes U².
        contrib = np.where(lonely, S2, contrib)
    var = np.bincount(qc, weights=np.maximum(contrib, 0.0), minlength=ncell)
    var = np.where(n > 0, var, np.nan)
    df = np.where(n > 0, np.asarray(df, dtype=float), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(n > 1, n / (n - 1) * r * (1 - r), np.nan)
        deff = np.where(s2 > 0, var / (s2 / n), np.nan)
    return DomainEstimates(rate=r, var=var, n=n.astype(np.int64), sum_w=cs.W, deff_kish=_kish(n, cs.W, cs.Q),
                           deff=deff, df=df)


def _kish(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, n * s2 / s1**2, np.nan)


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
