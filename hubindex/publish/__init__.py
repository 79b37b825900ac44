"""Publishing a built index: the static HTML/PDF report and the XLSX/CSV/JSON downloads.

>>> from hubindex import build
>>> from hubindex.publish.export import export
>>> from hubindex.publish import write_report
>>> res = build("examples/asem/default.yaml")
>>> export(res, "out")                      # index.xlsx, csv/, index.json, README.md
>>> write_report(res, "out", audit=None)    # report.html (self-contained, offline) and report.pdf

The tables behind both (ranking, long-format scores, framework, weights, notes) are in
:mod:`hubindex.publish.tables`. See docs/publish.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubindex._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover
    from hubindex.publish.export import export_tables
    from hubindex.publish.report import ReportFiles, render_html, write_report

__all__ = ["export_tables", "write_report", "render_html", "ReportFiles"]

# ``export`` (the function) is not re-exported here: it would shadow the ``hubindex.publish.export`` module.
# The names load on first use (PEP 562), so `hubindex report --help` does not import pandas.
_LAZY = {"export_tables": "hubindex.publish.export", "write_report": "hubindex.publish.report",
         "render_html": "hubindex.publish.report", "ReportFiles": "hubindex.publish.report"}


__getattr__ = lazy_getattr(__name__, _LAZY)
