"""``hubindex report`` and ``hubindex export``: the static report and the data downloads of a built index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # pandas loads inside the commands: `hubindex --help` stays fast
    import pandas as pd

__all__ = ["register"]

_SpecArg = Annotated[
    Path | None,
    typer.Argument(help="Index spec (YAML). Default: the shipped Global Fintech Hub Index.", show_default=False),
]
_Provenance = Annotated[
    Path | None,
    typer.Option("--provenance", help="Per-value provenance table (unit, indicator, source, year…). "
                 "Default: provenance_*.csv beside the spec's data, when present.", show_default=False),
]
_Audit = Annotated[
    Path | None,
    typer.Option("--audit", help="Rank intervals per unit (CSV/XLSX, e.g. rank_intervals.csv from "
                 "`hubindex audit`).", show_default=False),
]
_Uncertainty = Annotated[
    int | None,
    typer.Option("--uncertainty", min=0, help="Run the spec's uncertainty analysis with this many replications "
                 "and include the rank intervals (0 = off; default: the spec's own n when it declares an "
                 "'uncertainty:' block, else off).", show_default=False),
]


def _load(spec: Path | None, provenance: Path | None, audit: Path | None,  # type: ignore[no-untyped-def]
          uncertainty: int | None):
    from hubindex.api import as_spec, default_spec_path
    from hubindex.api import build as build_index
    from hubindex.cli import console
    from hubindex.errors import DataError, SpecError
    from hubindex.publish.tables import find_provenance, read_provenance

    s = as_spec(spec)
    src = spec if spec is not None else default_spec_path()
    if uncertainty is None:  # default: the rank intervals the spec itself declares
        uncertainty = int((s.uncertainty or {}).get("n", 1000)) if s.uncertainty else 0
    if audit is None and uncertainty and s.uncertainty is None:  # before the build, naming the spec file
        raise SpecError(f"{src}: --uncertainty {uncertainty} needs the spec's 'uncertainty:' block (which choices "
                        "are uncertain), and this spec has none; add one (e.g. `uncertainty: {weights: {noise: "
                        "{2: 0.25}}}`), or run `hubindex audit uncertainty SPEC` (it assumes ±25 % weight noise) "
                        "and pass its rank_intervals.csv with --audit")
    with console.status("Building…") as status:
        result = build_index(s, progress=lambda step: status.update(f"Building: {step}…"))
        prov_path = provenance or find_provenance(s)
        prov = read_provenance(prov_path) if prov_path is not None else None
        audit_df = None
        if audit is not None:
            audit_df = _read_audit(audit)
            _check_audit_units(audit, audit_df, result)
        elif uncertainty:
            try:
                from hubindex.audit.uncertainty import uncertainty as run_uncertainty
            except ImportError as e:  # pragma: no cover - the audit package ships with hubindex
                raise DataError(f"--uncertainty: the audit package is not available ({e})") from None
            status.update(f"Uncertainty analysis: {uncertainty} replications…")
            try:
                audit_df = run_uncertainty(s, n=uncertainty).summary()
            except SpecError as e:  # the block's own mistakes: say which spec file they are in
                msg = str(e).removeprefix("spec: ")
                raise SpecError(msg if str(src) in msg else f"{src}: {msg}") from None
    return result, prov, audit_df, prov_path


def _read_audit(path: Path) -> pd.DataFrame:
    from hubindex.errors import DataError
    from hubindex.io import read_table
    from hubindex.publish.report import rank_interval_columns

    df = read_table(path, text_columns=("unit",))
    key = "unit" if "unit" in df.columns else df.columns[0]
    df = df.set_index(key)
    df.index = df.index.astype(str)
    lo, _, hi = rank_interval_columns(df)
    if lo is None or hi is None:
        raise DataError(f"{path}: no rank interval columns found; expected lower and upper rank columns such as "
                        f"rank_p05/rank_p95 or Q5/Q95, columns are {list(df.columns)}")
    return df


def _check_audit_units(path: Path, audit_df: pd.DataFrame, result) -> None:  # type: ignore[no-untyped-def]
    """The rank-interval table must be about this index's units: none in common is an error, some missing a
    warning (their interval cells stay empty)."""
    from hubindex.cli import err_console
    from hubindex.errors import DataError

    units = [str(u) for u in result.units]
    have = set(audit_df.index)
    missing = [u for u in units if u not in have]
    if len(missing) == len(units):
        raise DataError(f"{path}: none of its units ({', '.join(list(audit_df.index[:3]))}, …) is a unit of "
                        f"this index ({', '.join(units[:3])}, …); expected the rank intervals of the same index "
                        "(e.g. `hubindex audit SPEC` for the same SPEC)")
    if missing:
        err_console.print(f"[yellow]warning:[/yellow] {path}: no rank interval for {len(missing)} of "
                          f"{len(units)} units (e.g. {', '.join(missing[:3])}); left empty", highlight=False,
                          soft_wrap=True)


def report(
    spec: _SpecArg = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")] = Path(
        "hubindex-report"),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print the report to PDF (needs chromium or "
                                      "weasyprint).")] = True,
    audit: _Audit = None,
    uncertainty: _Uncertainty = None,
    provenance: _Provenance = None,
) -> None:
    """Write a self-contained static HTML report (opens offline from disk) and a PDF of it to OUT."""
    from hubindex.cli import console, err_console
    from hubindex.outdir import check_output_dir
    from hubindex.publish.report import write_report

    check_output_dir(out)  # before building
    result, prov, audit_df, prov_path = _load(spec, provenance, audit, uncertainty)
    with console.status("Writing the report…"):
        files = write_report(result, out, audit_df, pdf=pdf, provenance=prov)
    console.print(f"Wrote [bold]{files.html}[/bold] ({len(result.units)} units"
                  f"{', provenance ' + str(prov_path) if prov_path else ''}"
                  f"{', with rank intervals' if audit_df is not None else ''}).")
    if files.pdf is not None:
        console.print(f"Wrote [bold]{files.pdf}[/bold] ({files.pdf_message}).")
    elif pdf:
        err_console.print(f"[yellow]warning:[/yellow] {files.pdf_message}", highlight=False, soft_wrap=True)


def export(
    spec: _SpecArg = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")] = Path(
        "hubindex-export"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="Comma-separated: xlsx, csv, json.")] = "xlsx,csv,json",
    audit: _Audit = None,
    uncertainty: _Uncertainty = None,
    provenance: _Provenance = None,
) -> None:
    """Write the index as an Excel workbook (Ranking, long-format Scores, Framework, Weights, Notes), CSV and JSON."""
    from hubindex.cli import console
    from hubindex.outdir import check_output_dir
    from hubindex.publish.export import export as do_export
    from hubindex.publish.export import parse_formats

    formats = parse_formats(fmt)  # check before building
    check_output_dir(out)
    result, prov, audit_df, _ = _load(spec, provenance, audit, uncertainty)
    with console.status("Writing the exports…"):
        paths = do_export(result, out, formats, provenance=prov, audit=audit_df)
    n_rows = len(result.units) * len(result.framework.codes)
    console.print(f"Wrote {len(paths)} files to [bold]{out}[/bold]/ ({', '.join(formats)}; long table "
                  f"{n_rows} rows = {len(result.units)} units × {len(result.framework.codes)} nodes).")


def register(app: typer.Typer) -> None:
    """Add the top-level ``report`` and ``export`` commands to the root app."""
    app.command("report")(report)
    app.command("export")(export)
