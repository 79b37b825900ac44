"""Rank intervals for the dashboard: a seeded Monte Carlo run at start-up and on demand for the user's weights.

The replications come from :mod:`hubindex.audit` (batched evaluation of :class:`~hubindex.audit.model.AuditModel`).
Which choices are uncertain is the spec's ``uncertainty:`` block when it has one; otherwise
:func:`default_config`: every weight below the index perturbed as w' = w·(1 + u·0.25), u ~ U(−1, 1) (±25 % per
level, fresh noise per replication), normalisation ∈ {min-max onto [1, 100], rank}, and aggregation ∈
{arithmetic, geometric} — the geometric mean only where it is defined, i.e. when every normalised alternative is
> 0 (dropped otherwise, and said so in ``notes``). The interval shown is the 5th–95th percentile of the rank
over the replications (numpy 'linear' percentiles, as :func:`hubindex.audit.uncertainty.summarise`).

For user weights (:meth:`RankIntervals.for_weights`), the same model is re-used with its nominal weight vector
replaced by the user's (noise is applied around the user's weights); only the replications are re-run, so the
cost is bounded by :data:`MAX_REPS` replications (≈ 30 ms per 1,000 for 91 cities × 30 nodes).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from hubindex.errors import HubindexError, SpecError

__all__ = ["default_config", "RankIntervals", "START_REPS", "MAX_REPS"]

START_REPS = 1000  # replications at start-up (and the default for POST /api/uncertainty)
MAX_REPS = 5000  # the most replications one request may ask for
NOISE = 0.25  # default weight noise factor per level


def default_config(spec: Any, levels: list[int], n: int = START_REPS, seed: int = 0
                   ) -> tuple[dict[str, Any], list[str]]:
    """The uncertainty block to use for ``spec`` and notes on what was chosen.

    The spec's own ``uncertainty:`` block wins (its ``n`` capped at ``n``); otherwise weight noise ±25 % at every
    level in ``levels`` (the framework's levels below the root), normalisation {min_max [1, 100], rank} and
    aggregation {arithmetic, geometric}.
    """
    own = getattr(spec, "uncertainty", None)
    cfg: dict[str, Any]
    if own:
        cfg = dict(own)
        cfg["n"] = min(int(cfg.get("n", n)), n)
        cfg.setdefault("seed", seed)
        return cfg, [f"the uncertain choices declared with the index ({cfg['n']} replications, seed {cfg['seed']})"]
    cfg = {"n": n, "seed": seed, "weights": {"noise": {lev: NOISE for lev in levels}}}
    notes = [f"weights ×(1 ± {NOISE:.0%}) uniform noise at levels {levels}"]
    if spec.step("normalise") is not None:
        cfg["normalise"] = [{"method": "min_max", "l": 1, "u": 100}, {"method": "rank"}]
        notes.append("normalisation: min-max onto [1, 100] or rank")
    if spec.step("aggregate") is not None:
        cfg["aggregate"] = [{"method": "arithmetic"}, {"method": "geometric"}]
        notes.append("aggregation: arithmetic or geometric mean")
    return cfg, notes


class RankIntervals:
    """A prepared audit model plus its start-up run; see the module doc."""

    def __init__(self, result: Any, n: int = START_REPS, seed: int = 0) -> None:
        from hubindex.audit.config import parse_uncertainty
        from hubindex.audit.model import AuditModel

        spec = result.spec
        fw = result.framework
        root_level = int(fw.level[fw.index_of(fw.root)])
        levels = sorted({int(x) for x in fw.level if int(x) < root_level})
        cfg, self.notes = default_config(spec, levels, n, seed)
        t0 = time.perf_counter()
        model = AuditModel(spec, parse_uncertainty(cfg))
        if "aggregate" in model.alts and any(a.get("method") == "geometric" for a in model.alts["aggregate"]):
            if min(float(np.nanmin(v)) if np.isfinite(v).any() else 0.0 for v in model.variants.values()) <= 0:
                cfg = {k: v for k, v in cfg.items() if k != "aggregate"}
                self.notes = [x for x in self.notes if not x.startswith("aggregation")]
                self.notes.append("aggregation alternatives dropped: the geometric mean needs values > 0")
                model = AuditModel(spec, parse_uncertainty(cfg)) if len(cfg) > 2 else model
        self.model, self.config = model, cfg
        self.units = [str(u) for u in model.units]
        self.codes = list(model.framework.codes)
        self.n, self.seed = int(cfg["n"]), int(cfg.get("seed", seed))
        self.setup_ms = 1000 * (time.perf_counter() - t0)
        self.published = self.run(None, self.n)

    def run(self, weights: Mapping[str, float] | None, n: int) -> dict[str, Any]:
        """Replicate ``n`` times (≤ :data:`MAX_REPS`) around ``weights`` (node → weight, others nominal; ``None``
        = the spec's) and return per unit rank p05/median/p95 and score p05/p95, with the time taken."""
        from hubindex.audit.uncertainty import uncertainty

        if not 1 <= n <= MAX_REPS:
            raise SpecError(f"uncertainty: n must be between 1 and {MAX_REPS} replications, got {n}")
        t0 = time.perf_counter()
        model = self.model
        if weights:
            unknown = [c for c in weights if c not in self.codes]
            if unknown:
                raise SpecError(f"weights: unknown node code(s) {unknown[:10]}; valid codes are the framework's "
                                "nodes (GET /api/framework)")
            model = copy.copy(self.model)  # shallow: shares the normalised variants, own weight vector
            w = np.array(model.w, dtype=float)
            for c, v in weights.items():
                if not (math.isfinite(v) and v >= 0):
                    raise SpecError(f"weights: weight of '{c}' must be a finite number >= 0, got {v}")
                w[self.codes.index(c)] = float(v)
            fw = model.framework
            for code in fw.aggregates:
                kids = np.flatnonzero(fw.parent == fw.index_of(code))
                if not np.any(w[kids] > 0):
                    raise SpecError(f"weights: all weights under '{code}' are zero; give at least one child a "
                                    "weight > 0")
            model.w = w
            if model.weight_sets is not None:  # pre-drawn sets: redraw around the new weights, same stream
                rng = np.random.default_rng(np.random.SeedSequence([model.config.seed, 0x5E75]))
                noise = rng.uniform(-1, 1, (len(model.weight_sets), model.noisy.size))
                sets = np.broadcast_to(w, (len(noise), w.size)).copy()
                sets[:, model.noisy] = w[model.noisy] * (1 + noise * model.noise_f)
                model.weight_sets = sets
        try:
            res = uncertainty(model=model, n=int(n), seed=self.seed, keep="all")
        except HubindexError:
            raise
        except (ValueError, FloatingPointError) as e:  # pragma: no cover - numeric corner cases
            raise SpecError(f"uncertainty: these weights cannot be evaluated ({e})") from None
        R, S = res.ranks, res.scores
        assert R is not None and S is not None  # keep='all' keeps every replication
        with np.errstate(invalid="ignore"):
            rq: np.ndarray = np.nanquantile(R, [0.05, 0.5, 0.95], axis=0)
            sq = np.nanquantile(S, [0.05, 0.95], axis=0)
        rows = {}
        for j, u in enumerate(self.units):
            rows[u] = {"rank_lo": _r(rq[0, j]), "rank_median": _r(rq[1, j]), "rank_hi": _r(rq[2, j]),
                       "score_lo": _r(sq[0, j], 3), "score_hi": _r(sq[1, j], 3)}
        return {"n": int(res.n), "seed": self.seed, "config": self.config, "notes": self.notes,
                "elapsed_ms": round(1000 * (time.perf_counter() - t0), 2), "units": rows}


def _r(x: float, nd: int = 1) -> float | None:
    return None if not np.isfinite(x) else round(float(x), nd)

