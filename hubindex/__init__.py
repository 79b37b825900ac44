"""hubindex: open, reproducible composite indices of global fintech hubs.

>>> import hubindex
>>> result = hubindex.build()                 # the shipped Global Fintech Hub Index
>>> result.ranking().head()                   # rank, city, country, score, tier, pillar scores
>>> result = hubindex.build("spec.yaml")      # any index spec (YAML); COINr's iData + iMeta load as is
>>> result = hubindex.build(spec.with_step("normalise", l=1))  # re-runs only normalise → aggregate (cached)
"""

from hubindex.api import Pipeline, as_spec, build, default_pipeline, default_spec_path
from hubindex.engine.result import Result
from hubindex.errors import ComputeError, DataError, HubindexError, SpecError, StoreError
from hubindex.spec import IndexSpec, from_coinr, load_spec, spec_from_dict

__all__ = [
    "build",
    "Pipeline",
    "default_pipeline",
    "as_spec",
    "default_spec_path",
    "load_spec",
    "spec_from_dict",
    "from_coinr",
    "IndexSpec",
    "Result",
    "HubindexError",
    "SpecError",
    "DataError",
    "ComputeError",
    "StoreError",
]
