"""Surveys: consumer fintech adoption from respondent-level data (design-based estimates with intervals) and
GFCI-style expert assessments of centres. The engine never imports this package; its outputs enter an index as
ordinary indicator columns (:func:`as_indicator`)."""

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
