"""Lazy public names of a package (PEP 562): the package's ``__getattr__`` imports a name's module on first access,
so ``import hubindex`` or ``hubindex serve --help`` does not import pandas, SciPy or FastAPI."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str], submodules: Collection[str] = ()
                 ) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps a public name to the module defining it; the value
    is cached in the package's namespace on first access. ``submodules`` (short names) resolve to
    ``package.<name>`` without being listed in ``names``."""

    def __getattr__(name: str) -> Any:
        mod = names.get(name)
        if mod is None:
            if name in submodules:
                return importlib.import_module(f"{package}.{name}")
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(mod), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
