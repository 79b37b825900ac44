"""The Python entry points: ``build(spec)`` and friends."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hubindex.engine.pipeline import run
from hubindex.engine.result import Result
from hubindex.errors import SpecError
from hubindex.io import load_data
from hubindex.spec import IndexSpec, load_spec, spec_from_dict

__all__ = ["build", "as_spec", "default_spec_path"]


def default_spec_path() -> Path:
    """The shipped default Global Fintech Hub Index spec."""
    return Path(__file__).resolve().parent / "specs" / "default.yaml"


def as_spec(spec: str | Path | IndexSpec | Mapping[str, Any] | None) -> IndexSpec:
    """Accept a path, a mapping or a spec object; ``None`` means the shipped default spec."""
    if spec is None:
        return load_spec(default_spec_path())
    if isinstance(spec, IndexSpec):
        return spec
    if isinstance(spec, str | Path):
        return load_spec(spec)
    if isinstance(spec, Mapping):
        return spec_from_dict(spec)
    raise SpecError(f"expected a spec path, mapping or IndexSpec, got {type(spec).__name__}")


def build(spec: str | Path | IndexSpec | Mapping[str, Any] | None = None, *,
          progress: Callable[[str], None] | None = None) -> Result:
    """Build an index from its spec: read the data it names, run the pipeline, return the immutable Result.

    Deterministic: the same spec and data give identical tables. The result's ``run_record`` carries the spec,
    the SHA-256 of every data file, the package version and every step's parameters.
    """
    s = as_spec(spec)
    data, hashes = load_data(s)
    base = Path(s.base_dir) if s.base_dir else None
    rel = {}
    for p, h in hashes.items():
        try:
            rel[str(Path(p).relative_to(base)) if base else p] = h
        except ValueError:
            rel[Path(p).name] = h
    return run(s, data, data_hashes=rel, progress=progress)
