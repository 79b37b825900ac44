"""``hubindex audit``: coherence statistics, Monte Carlo rank intervals and Sobol indices as CSV files.

``hubindex audit SPEC --out DIR`` runs all three; ``hubindex audit coherence|uncertainty|sensitivity SPEC`` one.
Output folders are replaced atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from hubindex.console import console, err_console  # noqa: F401

__all__ = ["app", "DEFAULT_NOISE"]

# used when a spec has no `uncertainty:` block: ±25 % noise on every aggregate weight below the index
DEFAULT_NOISE = 0.25


class _DefaultToAll(TyperGroup):
    """``hubindex audit SPEC ...`` means ``hubindex audit all SPEC ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click/typer Context
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["all", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(name="audit", cls=_DefaultToAll, add_completion=False, pretty_exceptions_enable=False,
                  help="Audit an index: coherence statistics, uncertainty (rank intervals), Sobol sensitivity.")

SpecArg = Annotated[Path | None, typer.Argument(help="Index spec (YAML). Default: the shipped index.",
                                                show_default=False)]
# option ranges are checked by Click before anything runs: a bad value is a usage error (exit 2) naming the option
NOpt = Annotated[int | None, typer.Option("--n", min=1, help="Replications (uncertainty) / base sample N (Sobol); "
                                          "at least 1.", show_default=False)]
SeedOpt = Annotated[int | None, typer.Option(min=0, help="Random seed, an integer >= 0 (default: the spec's, else 0).",
                                             show_default=False)]


class BackendChoice(StrEnum):
    local = "local"
    dask = "dask"


BackendOpt = Annotated[BackendChoice, typer.Option(
    help="'local' or 'dask' (a local 2-worker cluster unless --scheduler).")]
SchedOpt = Annotated[str | None, typer.Option(help="Address of a running Dask scheduler (implies --backend dask).")]
BootOpt = Annotated[int, typer.Option("--boot", min=1, help="Bootstrap resamples for the Sobol intervals (at least 1).")]


class KeepMode(StrEnum):
    auto = "auto"
    all = "all"
    summary = "summary"


KeepOpt = Annotated[KeepMode | None, typer.Option(
    "--keep", help="Monte Carlo output: 'all' = every replication (ranks.csv, choices.csv; memory grows with N), "
    "'summary' = bounded per-unit counts (exact rank statistics, score quantiles ± half a histogram bin), "
    "'auto' = 'all' up to 10,000 replications. Default: the spec's uncertainty.keep, else auto.",
    show_default=False)]


OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced atomically).")]


@contextmanager
def _bar(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as p:
        task = p.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            p.update(task, completed=done, total=total)

        yield update


def _model(spec: Path | None, n: int | None, seed: int | None) -> Any:
    from hubindex.api import as_spec
    from hubindex.audit.config import parse_uncertainty
    from hubindex.audit.model import AuditModel
    from hubindex.engine.framework import Framework

    s = as_spec(spec)
    over = {k: v for k, v in (("n", n), ("seed", seed)) if v is not None}
    block = s.uncertainty
    if block is None:
        fw = Framework.from_nodes(s.framework)
        levels = sorted({int(x) for x in fw.level[(fw.parent >= 0) & ~fw.is_leaf]})
        block = {"weights": {"noise": dict.fromkeys(levels, DEFAULT_NOISE)}}
        console.print(f"[yellow]The spec has no 'uncertainty' block: using ±{DEFAULT_NOISE:.0%} noise on the "
                      f"weights of levels {levels}.")
    cfg = parse_uncertainty({**block, **over})
    with console.status("Preparing the alternatives…"):
        return AuditModel(s, cfg)


def _run_coherence(spec: Path | None, out: Path, dataset: str, shown: Path | None = None) -> None:
    from hubindex.api import build
    from hubindex.audit.coherence import coherence as run

    with console.status("Building and auditing…"):
        rep = run(build(spec), dataset=dataset)
    files = rep.write(out)
    fl = rep.flags
    console.print(f"{len(rep.stats)} indicators: {int(rep.stats['flag_skew_kurt'].sum())} skewed, "
                  f"{int(rep.stats['flag_availability'].sum())} with low availability; "
                  f"{int(rep.correlations['collinear'].sum())} collinear and "
                  f"{int(rep.correlations['negative'].sum())} negative pairs within groups "
                  f"({len(fl)} flags). Wrote {', '.join(files)} to [bold]{shown or out}[/bold]/")


def _run_uncertainty(spec: Path | None, out: Path, n: int | None, seed: int | None, backend: str,
                     scheduler: str | None, top: int = 15, model: Any = None, shown: Path | None = None,
                     keep: KeepMode | None = None) -> None:
    from hubindex.audit.uncertainty import uncertainty as run

    m = model if model is not None else _model(spec, n, seed)
    with _bar("Monte Carlo") as bar:
        r = run(model=m, backend="dask" if scheduler else str(backend), scheduler=scheduler, progress=bar,  # type: ignore[arg-type]
                keep=None if keep is None else keep.value)  # type: ignore[arg-type]
    files = r.write(out)
    s = r.summary()
    t = Table(title=f"Rank of {r.target} over {r.n} replications", title_justify="left")
    for c in ("Unit", "Nominal", "Median", "5–95 %"):
        t.add_column(c, justify="left" if c == "Unit" else "right")
    for u, row in s.head(top).iterrows():
        t.add_row(str(row["name"] or u), f"{row['nominal_rank']:.0f}", f"{row['rank_median']:.0f}",
                  f"{row['rank_p05']:.0f}–{row['rank_p95']:.0f}")
    console.print(t)
    if r.keep == "summary":
        console.print(f"Summary mode: rank statistics exact; score quantiles within ±{r.score_quantile_error:.3g} "
                      f"(half a histogram bin). Use --keep all for every replication.")
    console.print(f"Wrote {', '.join(files)} to [bold]{shown or out}[/bold]/")


def _num(x: float) -> str:
    """Three decimals, '–' for a missing value (never 'nan')."""
    return "–" if x != x else f"{x:.3f}"


def _interval(lo: float, hi: float) -> str:
    return "–" if lo != lo or hi != hi else f"{lo:.3f}–{hi:.3f}"


def _run_sensitivity(spec: Path | None, out: Path, n: int | None, seed: int | None, boot: int, backend: str,
                     scheduler: str | None, model: Any = None, shown: Path | None = None) -> None:
    from hubindex.audit.sensitivity import sensitivity as run

    m = model if model is not None else _model(spec, n, seed)
    with _bar("Sobol design") as bar:
        r = run(model=m, n_boot=boot, backend="dask" if scheduler else str(backend), scheduler=scheduler,  # type: ignore[arg-type]
                progress=bar)
    files = r.write(out)
    t = Table(title=f"Sobol indices of the mean |rank change| of {r.target} ({r.runs} runs)", title_justify="left")
    for c in ("Factor", "S1", "S1 5–95 %", "ST", "ST 5–95 %"):
        t.add_column(c, justify="left" if c == "Factor" else "right")
    for f, row in r.indices.iterrows():
        t.add_row(str(f), _num(row["S1"]), _interval(row["S1_low"], row["S1_high"]), _num(row["ST"]),
                  _interval(row["ST_low"], row["ST_high"]))
    console.print(t)
    console.print(f"Wrote {', '.join(files)} to [bold]{shown or out}[/bold]/")


def _check_out(out: Path) -> None:
    """Refuse an unusable --out before the (possibly long) audit runs."""
    from hubindex.outdir import check_output_dir

    check_output_dir(out)


@app.command("coherence")
def coherence_cmd(spec: SpecArg = None, out: OutOpt = Path("audit-coherence"),
                  dataset: Annotated[str, typer.Option(help="Dataset for indicator statistics.")] = "Raw") -> None:
    """Indicator statistics and flags, unit availability, correlations, PCA and Cronbach's alpha (CSV)."""
    _check_out(out)
    _run_coherence(spec, out, dataset)


@app.command("uncertainty")
def uncertainty_cmd(spec: SpecArg = None, n: NOpt = None, seed: SeedOpt = None,
                    out: OutOpt = Path("audit-uncertainty"),
                    backend: BackendOpt = BackendChoice.local, scheduler: SchedOpt = None, keep: KeepOpt = None) -> None:
    """Monte Carlo over the spec's uncertain choices: nominal, median and 5–95 % rank of every unit (CSV)."""
    _check_out(out)
    _run_uncertainty(spec, out, n, seed, backend, scheduler, keep=keep)


@app.command("sensitivity")
def sensitivity_cmd(spec: SpecArg = None, n: NOpt = None, seed: SeedOpt = None,
                    out: OutOpt = Path("audit-sensitivity"),
                    boot: BootOpt = 1000, backend: BackendOpt = BackendChoice.local, scheduler: SchedOpt = None) -> None:
    """Saltelli design, first-order and total Sobol indices of the mean absolute rank change (CSV)."""
    _check_out(out)
    _run_sensitivity(spec, out, n, seed, boot, backend, scheduler)


@app.command("all")
def all_cmd(spec: SpecArg = None, n: NOpt = None, seed: SeedOpt = None,
            out: OutOpt = Path("audit"),
            boot: BootOpt = 1000, backend: BackendOpt = BackendChoice.local, scheduler: SchedOpt = None,
            sobol: Annotated[bool, typer.Option(help="Also run the Sobol analysis.")] = True,
            keep: KeepOpt = None) -> None:
    """Everything: OUT/coherence, OUT/uncertainty and OUT/sensitivity (the folder is replaced atomically)."""
    from hubindex.outdir import atomic_dir

    _check_out(out)
    with atomic_dir(out, "audit all") as tmp:
        _run_coherence(spec, tmp / "coherence", "Raw", shown=out / "coherence")
        m = _model(spec, n, seed)
        _run_uncertainty(spec, tmp / "uncertainty", n, seed, backend, scheduler, model=m, shown=out / "uncertainty",
                         keep=keep)
        if sobol:
            _run_sensitivity(spec, tmp / "sensitivity", n, seed, boot, backend, scheduler, model=m,
                             shown=out / "sensitivity")
    console.print(f"Audit written to [bold]{out}[/bold]/")
