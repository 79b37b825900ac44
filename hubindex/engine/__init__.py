"""The composite-indicator engine: pure, array-based step functions and the pipeline that sequences them.

Every step is usable on its own (NumPy arrays in, arrays out; NaN = missing)::

    screen → denominate → impute → treat → normalise → weights → aggregate → rank

``run(spec, data)`` executes a validated spec's pipeline and returns an immutable ``Result``.
"""

from hubindex.engine._aggregate import (
    AGGREGATORS,
    aggregate,
    arithmetic_mean,
    copeland,
    geometric_mean,
    harmonic_mean,
    outranking,
    weighted_median,
)
from hubindex.engine._denominate import denominate
from hubindex.engine._impute import impute, impute_column, impute_group, impute_iterative, impute_row_mean
from hubindex.engine._normalise import (
    NORMALISERS,
    borda,
    dist_to_max,
    dist_to_ref,
    dist_to_target,
    frac_max,
    goalposts,
    min_max,
    normalise,
    percentile_rank,
    rank,
    scaled,
    z_score,
)
from hubindex.engine._rank import group_ranks, rank_desc, tiers_by_rank, tiers_by_score
from hubindex.engine._screen import ScreenOutcome, screen_units
from hubindex.engine._stats import kurtosis, skew_kurt, skewness
from hubindex.engine._treat import (
    TreatOutcome,
    box_cox,
    coinr_default_treat,
    coinr_treat_matrix,
    log_transform,
    passes_outlier_check,
    treat_columns,
    winsorise,
)
from hubindex.engine._weights import (
    effective_weights,
    equal_weights,
    importance,
    pca_weights,
    rescale_within_parents,
    unit_effective_weights,
)
from hubindex.engine.data import IndexData
from hubindex.engine.framework import Framework
from hubindex.engine.pipeline import Pipeline, choose_weights, data_fingerprint, default_pipeline, run
from hubindex.engine.result import Result

__all__ = [
    # types
    "Framework", "IndexData", "Result", "ScreenOutcome", "TreatOutcome",
    # pipeline
    "run", "Pipeline", "default_pipeline", "data_fingerprint", "choose_weights",
    # screening, denomination, imputation
    "screen_units", "denominate",
    "impute", "impute_column", "impute_group", "impute_row_mean", "impute_iterative",
    # outlier treatment
    "skewness", "kurtosis", "skew_kurt", "passes_outlier_check", "coinr_default_treat", "coinr_treat_matrix",
    "winsorise", "log_transform", "box_cox",
    "treat_columns",
    # normalisation
    "normalise", "NORMALISERS", "min_max", "z_score", "scaled", "dist_to_max", "dist_to_ref", "dist_to_target",
    "frac_max", "percentile_rank", "rank", "borda", "goalposts",
    # weights
    "rescale_within_parents", "equal_weights", "effective_weights", "unit_effective_weights", "pca_weights",
    "importance",
    # aggregation
    "aggregate", "AGGREGATORS", "arithmetic_mean", "geometric_mean", "harmonic_mean", "weighted_median", "copeland",
    "outranking",
    # ranks, tiers, sub-rankings
    "rank_desc", "tiers_by_rank", "tiers_by_score", "group_ranks",
]
