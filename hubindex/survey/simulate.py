"""SIMULATED surveys with known true rates — for tests and demos only, never for the default index.

Each simulated survey (one per unit) is a stratified two-stage cluster sample: ``H`` strata with population
shares ``N_h/N``, ``m`` PSUs per stratum drawn with replacement, ``k`` respondents per PSU. A PSU's adoption rate
is drawn from Beta(p_h·φ, (1−p_h)·φ) (mean p_h; smaller φ = stronger clustering = larger design effect), so the
true population rate is Σ_h (N_h/N)·p_h. Design weights are (N_h/N) / (sample share of h) × a noise factor
independent of the outcome. Respondents also carry ``sex`` and ``age`` categories whose population margins are
known; ``biased=True`` over-samples men and the young (by subsampling) so that raking has something to correct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SimulatedSurvey", "simulate_surveys"]


@dataclass(frozen=True)
class SimulatedSurvey:
    """Respondents (all units stacked), the true rate per unit, and the population margins (shares)."""

    frame: pd.DataFrame
    true_rate: pd.Series
    margins: pd.DataFrame
    label: str = "SIMULATED — not real survey data"


def simulate_surveys(
    n_units: int = 10,
    strata: int = 4,
    psu_per_stratum: int = 6,
    per_psu: int = 15,
    phi: float = 20.0,
    weight_noise: float = 0.3,
    seed: int = 0,
) -> SimulatedSurvey:
    """Simulate ``n_units`` independent surveys (vectorised over units, strata, PSUs and respondents)."""
    rng = np.random.default_rng(seed)
    H, m, k = strata, psu_per_stratum, per_psu
    share = rng.dirichlet(np.full(H, 4.0), size=n_units)                     # N_h / N per unit
    p_h = rng.uniform(0.1, 0.9, size=(n_units, H))                           # true stratum rates
    a, b = p_h * phi, (1 - p_h) * phi
    p_psu = rng.beta(np.repeat(a[:, :, None], m, 2), np.repeat(b[:, :, None], m, 2))  # U × H × m
    U = n_units
    unit = np.repeat(np.arange(U), H * m * k)
    h = np.tile(np.repeat(np.arange(H), m * k), U)
    psu = np.repeat(np.arange(U * H * m), k)
    y = (rng.random(U * H * m * k) < np.repeat(p_psu.reshape(-1), k)).astype(int)
    # design weight: population share / sample share (equal allocation) × outcome-independent noise
    w = (share[unit, h] * H) * np.exp(rng.normal(0, weight_noise, len(y)) - weight_noise**2 / 2)
    sex = rng.integers(0, 2, len(y))
    age = rng.integers(0, 3, len(y))
    frame = pd.DataFrame({
        "unit": np.char.add("U", unit.astype(str)), "stratum": h, "psu": psu, "weight": w,
        "item": np.where(y == 1, 1, 2), "sex": np.where(sex == 1, "female", "male"),
        "age": np.array(["15-29", "30-49", "50+"])[age],
    })
    truth = pd.Series((share * p_h).sum(axis=1), index=[f"U{i}" for i in range(U)], name="true_rate")
    margins = pd.DataFrame({"variable": ["sex", "sex", "age", "age", "age"],
                            "category": ["female", "male", "15-29", "30-49", "50+"],
                            "target": [0.5, 0.5, 0.3, 0.4, 0.3]})
    return SimulatedSurvey(frame=frame, true_rate=truth, margins=margins)
