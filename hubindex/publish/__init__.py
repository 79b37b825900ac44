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

# ``export`` (the function) is not re-exported here: it would shadow the ``hubindex.publish.export`` module.
from hubindex.publish.export import export_tables
from hubindex.publish.report import ReportFiles, render_html, write_report

__all__ = ["export_tables", "write_report", "render_html", "ReportFiles"]
