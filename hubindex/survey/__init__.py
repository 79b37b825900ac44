"""Surveys: consumer fintech adoption from respondent-level data (design-based estimates with intervals) and
GFCI-style expert assessments of centres. The engine never imports this package; its outputs enter an index as
ordinary indicator columns (:func:`as_indicator`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubindex._lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _LAZY)
