"""Audit of a composite index: statistical coherence (:mod:`~hubindex.audit.coherence`), Monte Carlo rank
intervals (:mod:`~hubindex.audit.uncertainty`), Sobol sensitivity (:mod:`~hubindex.audit.sensitivity`) and their
summary (:func:`summary`, :class:`AuditSummary`).

>>> from hubindex import build
>>> from hubindex.audit import summary
>>> s = summary(build("examples/asem/default.yaml"))   # coherence only; pass uncertainty=/sensitivity= results
>>> s.to_dict()["counts"]["indicators_flagged"] > 0
True
"""

from hubindex.audit.summary import AuditSummary, summary

__all__ = ["AuditSummary", "summary"]
