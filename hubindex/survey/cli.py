"""``hubindex survey …``: survey estimates (and, from another module, expert assessments) on the command line.

Mounted by :mod:`hubindex.cli` as the ``survey`` sub-app. Commands stay thin: they call the library and print a
Rich table; user mistakes surface as :class:`~hubindex.errors.HubindexError` (one message, no traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hubindex.console import console

app = typer.Typer(
    help="Consumer adoption surveys and GFCI-style expert assessments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _num(x: float, nd: int = 2) -> str:
    """A design effect etc. with ``nd`` decimals; '–' when missing (suppressed cells)."""
    return "–" if x is None or x != x else f"{x:.{nd}f}"


def _pct(x: float, nd: int = 1) -> str:
    return "–" if x != x else f"{100 * x:.{nd}f}"


@app.command()
def estimate(
    spec: Annotated[Path, typer.Argument(help="Survey spec (YAML).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced atomically).")] = Path(
        "survey-out"),
    top: Annotated[int, typer.Option(min=0, help="Rows of the estimates table to print (0 = all).")] = 40,
    backend: Annotated[str, typer.Option(help="'memory', or 'dask' for respondent files beyond memory (out of "
                                              "core, one partition per part file).")] = "memory",
    scheduler: Annotated[str | None, typer.Option(help="Address of a running Dask scheduler (implies --backend "
                                                       "dask).")] = None,
) -> None:
    """Estimate the spec's measures (overall and by subgroup).

    Writes OUT/estimates.csv, OUT/indicators.csv (one row per unit, one percent column per measure: an index
    spec's data file), OUT/indicator_provenance.csv, OUT/weights.csv and OUT/run.json.
    """
    from hubindex.errors import SpecError
    from hubindex.survey.run import run_survey, write_survey_outputs

    if scheduler is not None:
        backend = "dask"
    if backend not in ("memory", "dask"):
        raise SpecError(f"--backend {backend!r}: expected 'memory' or 'dask'")
    from hubindex.outdir import check_output_dir

    check_output_dir(out)  # before the (possibly long) estimation
    with console.status(f"Reading respondents, weighting, estimating ({backend})…"):
        res = run_survey(spec, backend=backend, scheduler=scheduler)  # type: ignore[arg-type]
        files = write_survey_outputs(res, out)
    t = res.estimates
    table = Table(title=f"{res.spec.name} — {res.spec.ci.upper()} {round(100 * res.spec.confidence)}% intervals, "
                        f"percent of the denominator", title_justify="left")
    for c, j in (("Unit", "left"), ("Measure", "left"), ("Denominator", "left"), ("Group", "left"),
                 ("Level", "left"), ("Rate %", "right"), ("SE", "right"), ("CI %", "right"), ("n", "right"),
                 ("Deff", "right"), ("Kish", "right")):
        table.add_column(c, justify=j)  # type: ignore[arg-type]
    rows = t if top <= 0 else t.head(top)
    for r in rows.to_dict("records"):
        ci = "suppressed" if r["suppressed"] else f"{_pct(r['ci_low'])}–{_pct(r['ci_high'])}"
        table.add_row(str(r["unit"]), str(r["measure"]), str(r["denominator"]), str(r["group"]), str(r["level"]),
                      _pct(r["estimate"]), _pct(r["se"], 2), ci, str(r["n"]), _num(r["deff"]),
                      _num(r["deff_kish"]))
    console.print(table)
    if res.rake_report is not None:
        console.print(res.rake_report.summary())
    more = f" (showing {top} of {len(t)})" if 0 < top < len(t) else ""
    console.print(f"{len(t)} estimates{more}. Wrote {', '.join(p.name for p in files)} to [bold]{out}[/bold]/")


# ---------------------------------------------------------------------------------------------------------------
# `hubindex survey assess`: GFCI-style expert-assessment ratings (hubindex/survey/expert.py).
# ---------------------------------------------------------------------------------------------------------------
@app.command("assess")
def assess(
    spec: Annotated[Path, typer.Argument(help="Assessment spec (YAML): assessments, factors, config.",
                                         show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced atomically).")] = Path(
        "expert-out"),
    top: Annotated[int, typer.Option(min=0, help="Rows of the ratings table to print (0 = all).")] = 30,
) -> None:
    """Rate centres from expert assessments and instrumental factors (an open GFCI reconstruction).

    Writes OUT/ratings.csv, OUT/sub_ratings.csv, OUT/indicator.csv and OUT/run.json.
    """
    import pandas as pd
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hubindex.outdir import check_output_dir
    from hubindex.survey.expert import run_assess, write_expert_outputs

    check_output_dir(out)  # before the assessment runs
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as prog:
        task = prog.add_task("Expert assessments…")
        s, res = run_assess(spec, progress=lambda msg: prog.update(task, description=f"Expert assessments: {msg}…"))
        files = write_expert_outputs(res, out, s)
    t = res.ratings
    sim = " [bold yellow](SIMULATED assessments)[/bold yellow]" if res.metrics.get("simulated_input") else ""
    table = Table(title=f"{s.name}{sim} — window ending {res.reference_date.date()}", title_justify="left")
    for c, j in (("Rank", "right"), ("Centre", "left"), ("Rating", "right"), ("Status", "left"),
                 ("Assessments", "right"), ("Respondents", "right"), ("Mean", "right"), ("SD", "right"),
                 ("Rep. adv.", "right"), ("Home excl.", "right")):
        table.add_column(c, justify=j)  # type: ignore[arg-type]
    for centre, r in (t if top <= 0 else t.head(top)).iterrows():
        table.add_row("–" if pd.isna(r["rank"]) else str(r["rank"]), str(centre),
                      f"{r['rating']:.0f}", str(r["status"]), str(r["n_assessments"]), str(r["n_respondents"]),
                      "–" if r["mean_assessment"] != r["mean_assessment"] else f"{r['mean_assessment']:.2f}",
                      "–" if r["sd_assessment"] != r["sd_assessment"] else f"{r['sd_assessment']:.2f}",
                      "–" if r["reputational_advantage"] != r["reputational_advantage"]
                      else f"{r['reputational_advantage']:+.0f}", str(r["n_home_excluded"]))
    console.print(table)
    m = res.metrics
    cv = (f", CV ({res.config.cv_by}s held out) R² {m['cv_r2']:.3f}, RMSE {m['cv_rmse']:.3f}, centre-level R² "
          f"{m['cv_r2_centre']:.3f}" if "cv_r2" in m else "")
    console.print(f"{m['n_assessments']} assessments by {m['n_respondents']} respondents; {m['n_rated']} centres "
                  f"rated, {m['n_associate']} associate; SVR ({m['kernel']}) training R² {m['r2_train']:.3f}{cv}.")
    console.print(f"Wrote {', '.join(p.name for p in files)} to [bold]{out}[/bold]/")


# the command's earlier name, kept working but not listed
app.command("expert", hidden=True, help="Alias of 'assess'.")(assess)
