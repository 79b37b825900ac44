"""The ``hubindex`` command line: thin commands over the library.

User mistakes (any :class:`~hubindex.errors.HubindexError`) end in one clear message on stderr and a non-zero
exit code, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.table import Table

from hubindex.console import console, err_console  # noqa: F401
from hubindex.errors import HubindexError

try:  # recent Typer vendors its own copy of Click: its exceptions are not click's
    from typer._click.exceptions import ClickException as _TyperClickException
except ImportError:  # pragma: no cover - older Typer raises click's own
    _TyperClickException = click.ClickException  # type: ignore[misc,assignment]

_EXIT = (click.exceptions.Exit, typer.Exit)
_ABORT = (click.exceptions.Abort, typer.Abort)
_USAGE = (click.ClickException, _TyperClickException)

app = typer.Typer(
    name="hubindex",
    help="Build, audit and publish transparent, reproducible composite indices of fintech hubs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SpecArg = Annotated[
    Path | None,
    typer.Argument(help="Index spec (YAML). Default: the shipped Global Fintech Hub Index.", show_default=False),
]


@app.callback()
def _root() -> None:
    """Build, audit and publish transparent, reproducible composite indices of fintech hubs."""


def _fmt(x: object, nd: int = 1) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    return "–" if v != v else f"{v:.{nd}f}"


def print_ranking(result, top: int, title: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Rich table: rank, unit, country/group, score, tier and the pillar scores."""
    t = result.ranking()
    pillars = result.pillars()
    table = Table(title=title or result.spec.name, title_justify="left")
    table.add_column("Rank", justify="right", min_width=4)
    table.add_column("Unit", no_wrap=True, max_width=24, overflow="ellipsis")
    group_col = next((g for g in ("country", "country_name") if g in t.columns), None)
    if group_col:
        table.add_column(group_col.replace("_", " ").title(), no_wrap=True, max_width=16, overflow="ellipsis")
    table.add_column("Score", justify="right", min_width=5)
    if "tier" in t.columns:
        table.add_column("Tier", no_wrap=True, max_width=14, overflow="ellipsis")
    for p in pillars:
        table.add_column(result.framework.names[result.framework.index_of(p)], justify="right", min_width=6)
    for _, r in (t if top <= 0 else t.head(top)).iterrows():
        row = [_fmt(r["rank"], 0), str(r["name"] or r["unit"])]
        if group_col:
            row.append(str(r[group_col]))
        row.append(_fmt(r["score"]))
        if "tier" in t.columns:
            row.append(str(r["tier"]))
        row += [_fmt(r[p]) for p in pillars]
        table.add_row(*row)
    console.print(table)


@app.command()
def build(
    spec: SpecArg = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (replaced atomically).")] = Path(
        "hubindex-out"),
    top: Annotated[int, typer.Option(min=0, help="Rows of the ranking to print (0 = all).")] = 20,
) -> None:
    """Build an index from SPEC and write scores.csv, ranks.csv, ranking.csv, run.json and step reports to OUT."""
    from hubindex.api import as_spec
    from hubindex.api import build as build_index
    from hubindex.outdir import check_output_dir
    from hubindex.outputs import write_build_outputs

    check_output_dir(out)  # fail before building, not after
    s = as_spec(spec)
    with console.status("Building…") as status:
        result = build_index(s, progress=lambda step: status.update(f"Building: {step}…"))
    extra = _provenance_files(s)
    files = write_build_outputs(result, out, extra)
    print_ranking(result, top)
    n = len(result.units)
    console.print(f"{n} units ranked{f', {len(result.excluded)} screened out' if result.excluded else ''}. "
                  f"Wrote {len(files)} files to [bold]{out}[/bold]/ (scores.csv, ranks.csv, ranking.csv, run.json, …)")


def _provenance_files(spec) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Copy the dataset's provenance table next to the outputs when the data file has one beside it."""
    extra: dict[str, Path] = {}
    for rel in spec.data.paths:
        p = spec.resolve(rel)
        stem = p.stem
        if stem.startswith("fintech_hubs_"):
            prov = p.with_name(f"provenance_{stem.removeprefix('fintech_hubs_')}.csv")
            if prov.exists():
                extra["provenance.csv"] = prov
    return extra


_SUBCOMMANDS = (
    ("hubindex.datasets.cli", "data", "The shipped fintech-hubs dataset: rebuild from the raw sources, check, inspect."),
    ("hubindex.survey.cli", "survey", "Consumer adoption surveys and GFCI-style expert assessments."),
    ("hubindex.audit.cli", "audit", "Audit an index: coherence statistics, uncertainty (rank intervals), Sobol sensitivity."),
    ("hubindex.store.cli", "edition", None),
    ("hubindex.publish.cli", "publish", None),
    ("hubindex.web.cli", "serve", None),
    ("hubindex.audit.published_cli", "compare-published", None),
)
_mounted = False


def _mount() -> None:
    """Attach the capability packages' commands (a module with ``register(app)`` or a Typer ``app``)."""
    global _mounted
    if _mounted:
        return
    import importlib

    for mod, name, help_text in _SUBCOMMANDS:
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod:
                continue
            raise
        if hasattr(m, "register"):
            m.register(app)
        else:
            app.add_typer(m.app, name=name, help=help_text)
    _mounted = True


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning user errors into a message and an exit code."""
    try:
        _mount()
        app(args=argv, standalone_mode=False, prog_name="hubindex")
    except HubindexError as e:
        err_console.print(f"[bold red]error:[/bold red] {e}", highlight=False, soft_wrap=True)
        return e.exit_code
    except _EXIT as e:
        return e.exit_code
    except _ABORT:
        err_console.print("aborted")
        return 130
    except _USAGE as e:
        e.show()
        return e.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
