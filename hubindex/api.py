"""The Python entry points: ``build(spec)`` and friends."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from hubindex.engine._cache import IdentityMemo, digest
from hubindex.engine.data import IndexData
from hubindex.engine.pipeline import Pipeline, default_pipeline, run
from hubindex.engine.result import Result
from hubindex.errors import SpecError
from hubindex.io import file_sha256, load_data
from hubindex.spec import IndexSpec, load_spec, spec_from_dict

__all__ = ["build", "as_spec", "default_spec_path", "Pipeline", "default_pipeline"]


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
          progress: Callable[[str], None] | None = None, cache: bool | Pipeline = True) -> Result:
    """Build an index from its spec: read the data it names, run the pipeline, return the immutable Result.

    Deterministic: the same spec and data give identical tables. The result's ``run_record`` carries the spec,
    the SHA-256 of every data file, the package version and every step's parameters.

    ``cache``: ``True`` (default) reuses the process's default :class:`~hubindex.engine.pipeline.Pipeline`: the
    parsed data (keyed by the files' SHA-256) and the output of every step whose inputs and parameters did not
    change, so a rebuild after a change re-runs only the steps from the first changed one; ``False`` builds cold;
    a ``Pipeline`` uses its own cache. Results are identical either way (see docs/engine.md).
    """
    s = as_spec(spec)
    pipe = default_pipeline() if cache is True else (cache if isinstance(cache, Pipeline) else None)
    if pipe is None:
        data, hashes = load_data(s)
        return run(s, data, data_hashes=_relative(s, hashes), progress=progress)
    cdata, chashes, key = _load_cached(pipe, s)
    return pipe.run(s, cdata, data_key=key, data_hashes=_relative(s, chashes), progress=progress)


def _relative(s: IndexSpec, hashes: Mapping[str, str]) -> dict[str, str]:
    """``{file: sha256}`` with each file named relative to the spec's folder (as the run record shows it)."""
    return dict(_relative_items(s.base_dir, tuple(hashes.items())))


@lru_cache(maxsize=256)
def _relative_items(base_dir: str | None, items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    base = Path(base_dir) if base_dir else None
    rel = {}
    for p, h in items:
        try:
            rel[str(Path(p).relative_to(base)) if base else p] = h
        except ValueError:
            rel[Path(p).name] = h
    return tuple(rel.items())


_SPEC_PARTS = IdentityMemo(64)


def _data_key(s: IndexSpec, hashes: Mapping[str, str]) -> str:
    """What ``load_data(s)`` depends on: the data section, the framework's leaves and denominators, the
    denominate step's mapping and the content (SHA-256) of every file. The spec's part is computed once per
    spec object (its frozen parts: :class:`~hubindex.engine._cache.IdentityMemo`)."""
    den = s.step("denominate")
    head = _SPEC_PARTS.get((s.data, den, *s.framework), lambda: digest(
        "data", s.data.model_dump_json(),
        "\x1f".join(f"{n.code}\x1e{n.parent}\x1e{n.denominator}" for n in s.framework),
        json.dumps(den.by if den is not None else None, sort_keys=True)))
    return digest(head, str(s.base_dir), "\x1f".join(f"{p}\x1e{h}" for p, h in sorted(hashes.items())))


def _load_cached(pipe: Pipeline, s: IndexSpec) -> tuple[IndexData, Mapping[str, str], str]:
    """The spec's data through the pipeline's cache, keyed by the files' content (read and hashed every time)."""
    try:
        now = {str(path): file_sha256(path) for path in map(s.resolve, s.data.paths)}
    except OSError:
        now = None  # let load_data report the missing/unreadable file
    if now is not None:
        key = _data_key(s, now)
        hit = pipe.cache.get(key)
        if hit is not None:
            return hit[0], hit[1], key
    data, hashes = load_data(s, known_sha256=now)  # each file hashed once per build
    key = _data_key(s, hashes)
    pipe.cache.put(key, (data, dict(hashes)))
    return data, hashes, key
