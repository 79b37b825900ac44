"""The hubindex error tree.

Every user mistake ends in one of these, carrying a message that names the file, row, column, what was expected
and what was found. The CLI prints the message and exits non-zero, without a traceback.

::

    HubindexError
    ├── SpecError      the index/survey spec is invalid (YAML, schema, framework tree, weights)
    ├── DataError      a data file is missing, malformed or inconsistent with the spec
    ├── ComputeError   a method cannot be applied to the data (geometric mean of zeros, zero variance, ...)
    ├── StoreError     the edition store refuses an operation (overwrite, unknown label, schema version)
    │   ├── StoreBusyError     another process holds the store (a publish): try again in a moment
    │   └── StoreDamagedError  the store file is damaged (truncated, a corrupt block) or a write failed
    └── OutputError    an output folder cannot be used (it holds files hubindex did not write)
"""

from __future__ import annotations

__all__ = ["HubindexError", "SpecError", "DataError", "ComputeError", "StoreError", "OutputError", "where",
           "StoreBusyError", "StoreDamagedError"]


class HubindexError(Exception):
    """Base class of every error hubindex raises on purpose."""

    exit_code = 1


class SpecError(HubindexError):
    """The spec is invalid: bad YAML, a schema violation, a cycle/orphan in the tree, negative weights."""

    exit_code = 2


class DataError(HubindexError):
    """A data file is missing, malformed, or does not match the spec."""

    exit_code = 3


class ComputeError(HubindexError):
    """A method cannot be applied to these values (e.g. geometric mean over zeros, zero variance)."""

    exit_code = 4


class StoreError(HubindexError):
    """The edition store refused an operation."""

    exit_code = 5


class StoreBusyError(StoreError):
    """Another process holds the edition store (a publish in progress) longer than the wait allowed."""

    retry_after = 2  # seconds: a publish takes well under a second


class StoreDamagedError(StoreError):
    """The edition store file cannot be read or written: truncated, a corrupt block, the disk full."""


class OutputError(HubindexError):
    """An output folder cannot be used (it holds files hubindex did not write)."""

    exit_code = 6


def where(file: object | None = None, row: object | None = None, column: object | None = None) -> str:
    """Format a location prefix such as ``data.csv, row 7, column 'GDP': `` (row numbers as a user sees them)."""
    parts = []
    if file is not None:
        parts.append(str(file))
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column '{column}'")
    return (", ".join(parts) + ": ") if parts else ""
