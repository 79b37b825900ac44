"""Surveys: consumer fintech adoption from respondent-level data (design-based estimates with intervals) and
GFCI-style expert assessments of centres. The engine never imports this package; its outputs enter an index as
ordinary indicator columns (:func:`as_indicator`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from hubindex.survey.run import (
        ESTIMATE_COLUMNS,
        PROVENANCE_COLUMNS,
        SurveyResult,
        as_indicator,
        indicator_tables,
        run_survey,
        write_survey_outputs,
    )
    from hubindex.survey.spec import SurveySpec, load_survey_spec, survey_spec_from_dict

__all__ = ["SurveySpec", "load_survey_spec", "survey_spec_from_dict", "run_survey", "SurveyResult",
           "write_survey_outputs", "as_indicator", "indicator_tables", "ESTIMATE_COLUMNS", "PROVENANCE_COLUMNS"]

# The names load on first use (PEP 562), so `hubindex survey --help` does not import pandas.
_LAZY = {n: "hubindex.survey.spec" for n in ("SurveySpec", "load_survey_spec", "survey_spec_from_dict")}
_LAZY.update({n: "hubindex.survey.run" for n in __all__ if n not in _LAZY})


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'hubindex.survey' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value
