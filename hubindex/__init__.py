"""hubindex: open, reproducible composite indices of global fintech hubs.

>>> import hubindex
>>> result = hubindex.build()                 # the shipped Global Fintech Hub Index
>>> result.ranking().head()                   # rank, city, country, score, tier, pillar scores
>>> result = hubindex.build("spec.yaml")      # any index spec (YAML); COINr's iData + iMeta load as is
>>> result = hubindex.build(spec.with_step("normalise", l=1))  # re-runs only normalise → aggregate (cached)

The names below load on first use (PEP 562 module ``__getattr__``): ``import hubindex`` alone does not import the
engine, pandas or SciPy, so the command line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubindex._lazy import lazy_getattr
from hubindex.errors import ComputeError, DataError, HubindexError, SpecError, StoreError

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from hubindex.api import Pipeline, as_spec, build, default_pipeline, default_spec_path
    from hubindex.engine.result import Result
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

#: public name -> module that defines it (imported on first access)
_LAZY = {
    "build": "hubindex.api",
    "Pipeline": "hubindex.api",
    "default_pipeline": "hubindex.api",
    "as_spec": "hubindex.api",
    "default_spec_path": "hubindex.api",
    "load_spec": "hubindex.spec",
    "spec_from_dict": "hubindex.spec",
    "from_coinr": "hubindex.spec",
    "IndexSpec": "hubindex.spec",
    "Result": "hubindex.engine.result",
}

#: submodules that ``import hubindex`` loaded before the names above became lazy
_SUBMODULES = frozenset({"api", "engine", "spec", "io", "yamlio"})


__getattr__ = lazy_getattr(__name__, _LAZY, _SUBMODULES)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
