"""The ``uncertainty:`` block of a spec: which modelling choices are uncertain, and how to sample them.

Example (COINr's sensitivity vignette on ASEM, ``examples/asem/sensitivity.yaml``)::

    uncertainty:
      n: 1000                # Monte Carlo replications (uncertainty) / base sample N (sensitivity)
      seed: 0
      target: Index          # node whose rank is analysed (default: the root)
      keep: auto             # all | summary | auto (summary above 10,000 replications)
      treat: {winmax: [1, 2, 3, 4, 5]}          # dict of lists = every combination
      normalise:                                # list of dicts = one alternative each
        - {method: min_max, l: 1, u: 100}
        - {method: z_score, m: 10, s: 2}
      aggregate: [{method: arithmetic}, {method: geometric}]
      weights: {noise: {2: 0.25, 3: 0.25}, sets: 100}   # w·(1 + u·f), u ~ U(−1, 1), per node level
      exclude: [Flights, LPI]   # alternatives: keep all, drop Flights, drop LPI (or a list of lists)
      columns:                  # alternative data columns: as declared, or each mapping {indicator: column}
        - {Flights: Flights_2019}

Each alternative is a set of parameter overrides of that pipeline step (validated like the step itself).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hubindex.errors import SpecError

__all__ = ["WeightNoise", "UncertaintyConfig", "STEP_FACTORS", "parse_uncertainty"]

STEP_FACTORS = ("impute", "treat", "normalise", "aggregate")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeightNoise(_Model):
    """Multiplicative uniform noise on weights: w' = w·(1 + u·f), u ~ U(−1, 1), f per node level.

    ``sets``: draw that many noisy weight sets once (COINr's ``get_noisy_weights``) and let each replication pick
    one; ``None``: every replication draws fresh noise (one uniform per noisy node).
    """

    noise: dict[int, float] = Field(description="{node level: f}; level 1 = indicators, 2 = pillars, ...")
    sets: int | None = Field(default=None, ge=1)

    @field_validator("noise")
    @classmethod
    def _f_range(cls, v: dict[int, float]) -> dict[int, float]:
        for lev, f in v.items():
            if not 0 <= f <= 1:
                raise ValueError(f"noise factor for level {lev} must be in [0, 1] (weights stay >= 0), got {f}")
        return v


Alternatives = list[dict[str, Any]] | dict[str, list[Any]]


class UncertaintyConfig(_Model):
    """The parsed ``uncertainty`` block."""

    n: int = Field(default=1000, ge=1)
    seed: int = Field(default=0, ge=0)
    target: str | None = None
    chunk: int = Field(default=2048, ge=1, description="Replications evaluated together (bounds memory).")
    keep: Literal["auto", "all", "summary"] = Field(
        default="auto", description="Monte Carlo output: 'all' keeps every replication's ranks and scores "
        "(N × units), 'summary' only bounded per-unit counters, 'auto' = 'all' up to AUTO_KEEP_ALL_MAX_N.")
    score_bins: int = Field(default=4096, ge=16, le=1_000_000,
                            description="Histogram bins per unit for the score quantiles in summary mode.")
    impute: Alternatives | None = None
    treat: Alternatives | None = None
    normalise: Alternatives | None = None
    aggregate: Alternatives | None = None
    weights: WeightNoise | None = None
    exclude: list[list[str]] | list[str] | None = None
    columns: list[dict[str, str]] | dict[str, str] | None = Field(
        default=None, description="Alternative data columns: the nominal data plus, per mapping, the data with "
        "each named indicator read from another column of the data file ({indicator: column}).")

    def alternatives(self, step: str) -> list[dict[str, Any]] | None:
        """The step's alternatives as a list of override dicts (a dict of lists expands to its product)."""
        a = getattr(self, step)
        if a is None:
            return None
        if isinstance(a, dict):
            keys = list(a)
            vals = [v if isinstance(v, list) else [v] for v in a.values()]
            return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*vals)]
        return [dict(x) for x in a]

    def column_alternatives(self) -> list[dict[str, str]] | None:
        """Data-column alternatives: ``{}`` (the columns as declared) plus one ``{indicator: column}`` each."""
        c = self.columns
        if c is None:
            return None
        maps = [c] if isinstance(c, dict) else list(c)
        return [{}, *[dict(m) for m in maps]]

    def exclusions(self) -> list[list[str]] | None:
        """Exclusion alternatives: a list of names means 'keep all' plus one alternative per name."""
        e = self.exclude
        if e is None:
            return None
        if all(isinstance(x, str) for x in e):
            return [[], *[[x] for x in e]]  # type: ignore[list-item]
        return [list(x) for x in e]  # type: ignore[arg-type]


def parse_uncertainty(d: Mapping[str, Any] | None, source: str = "spec") -> UncertaintyConfig:
    """Validate a spec's ``uncertainty`` mapping; errors name the offending key."""
    try:
        return UncertaintyConfig.model_validate(dict(d or {}))
    except ValidationError as err:
        lines = [f"{source}: the 'uncertainty' block is invalid:"]
        for e in err.errors():
            loc = ".".join(str(x) for x in e["loc"] if not str(x).startswith(("list[", "dict[")))
            lines.append(f"  - at 'uncertainty.{loc}': {e['msg'].removeprefix('Value error, ')}")
        raise SpecError("\n".join(lines)) from None
