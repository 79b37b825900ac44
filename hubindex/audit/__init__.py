"""Audit of a composite index: statistical coherence (:mod:`~hubindex.audit.coherence`), Monte Carlo rank
intervals (:mod:`~hubindex.audit.uncertainty`), Sobol sensitivity (:mod:`~hubindex.audit.sensitivity`) and their
summary (:func:`summary`, :class:`AuditSummary`).

>>> from hubindex import build
>>> from hubindex.audit import summary
>>> s = summary(build("examples/asem/default.yaml"))   # coherence only; pass uncertainty=/sensitivity= results
>>> s.to_dict()["counts"]["indicators_flagged"] > 0
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubindex._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover
    from hubindex.audit._summary import AuditSummary, summary

__all__ = ["AuditSummary", "summary"]

# Loaded on first use (PEP 562), so `hubindex audit --help` imports neither pandas nor SciPy. The summary lives in
# ``_summary``: a submodule named ``summary`` would be bound over the function of the same name when imported.
__getattr__ = lazy_getattr(__name__, {"AuditSummary": "hubindex.audit._summary", "summary": "hubindex.audit._summary"})
