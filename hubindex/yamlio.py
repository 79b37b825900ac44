"""Reading YAML spec files with errors a user can act on (shared by the index, survey and assessment specs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hubindex.errors import SpecError

__all__ = ["read_yaml"]


def read_yaml(path: str | Path, what: str = "spec") -> Any:
    """Parse a YAML file; a missing file, a folder, bad YAML (with line and column) or non-UTF-8 text become one
    :class:`SpecError` naming the file and ``what`` was expected (e.g. "survey spec")."""
    p = Path(path)
    if not p.exists():
        raise SpecError(f"{p}: {what} not found")
    if p.is_dir():
        raise SpecError(f"{p}: is a folder; expected a YAML {what} file")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise SpecError(f"{p}{loc}: not valid YAML ({getattr(e, 'problem', e)})") from None
    except UnicodeDecodeError:
        raise SpecError(f"{p}: not a UTF-8 text file; expected a YAML {what}") from None
