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
from typer.core import TyperGroup

from hubindex.console import console, err_console  # noqa: F401
from hubindex.errors import HubindexError

try:  # recent Typer vendors its own copy of Click: its exceptions are not click's
    from typer._click.exceptions import ClickException as _TyperClickException
except ImportError:  # pragma: no cover - older Typer raises click's own
    _TyperClickException = click.ClickException  # type: ignore[misc,assignment]

_EXIT = (click.exceptions.Exit, typer.Exit)
_ABORT = (click.exceptions.Abort, typer.Abort)
_USAGE = (click.ClickException, _TyperClickException)


class _LazyGroup(TyperGroup):
    """The root command group, loading each capability package's commands only when one of them runs.

    ``hubindex --help`` lists every command from :data:`_LAZY_COMMANDS` (name, module, help) without importing
    those modules (they pull in pandas, SciPy, FastAPI…); ``hubindex data show`` imports only
    ``hubindex.datasets.cli``. A name not in the table (or a module of :data:`_SUBCOMMANDS` that the table does not
    cover) falls back to mounting every package, as :func:`_mount` does.
    """

    _listing = False  # True while the help screen is rendered: placeholders instead of imports

    def _covered(self) -> bool:
        return {m for m, _, _ in _SUBCOMMANDS} <= {m for m, _ in _LAZY_COMMANDS.values()}

    def list_commands(self, ctx: click.Context) -> list[str]:  # type: ignore[override]
        if not self._covered():
            self._load_all()
        names = list(self.commands)
        return names + [n for n in _LAZY_COMMANDS if n not in self.commands]

    def get_command(self, ctx: click.Context, cmd_name: str):  # type: ignore[no-untyped-def,override]
        cmd = self.commands.get(cmd_name)
        if cmd is not None:
            return cmd
        entry = _LAZY_COMMANDS.get(cmd_name)
        if entry is None:  # unknown (or from a package the table misses): mount everything, then look again
            self._load_all()
            return self.commands.get(cmd_name)
        module, help_text = entry
        if self._listing:
            return typer.core.TyperCommand(name=cmd_name, help=help_text)
        self._load(module)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)  # type: ignore[arg-type]
        finally:
            self._listing = False

    def _load(self, module: str) -> None:
        """Import one capability package's CLI module and add its commands to this group."""
        sub = typer.Typer()
        if not _attach(sub, module):
            return
        group = typer.main.get_group(sub)
        for name, cmd in group.commands.items():
            self.commands.setdefault(name, cmd)

    def _load_all(self) -> None:
        for module, _, _ in _SUBCOMMANDS:
            self._load(module)


app = typer.Typer(
    name="hubindex",
    cls=_LazyGroup,
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
    from rich.table import Table

    from hubindex.publish.tables import display_name

    t = result.ranking()
    pillars = result.pillars()
    table = Table(title=title or display_name(result), title_justify="left")
    table.add_column("Rank", justify="right", min_width=4)
    group_col = next((g for g in ("country", "country_name") if g in t.columns), None)
    # units grouped by country are cities (the shipped index); otherwise the spec's own units (countries, …)
    table.add_column("City" if group_col else "Unit", no_wrap=True, max_width=24, overflow="ellipsis")
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

#: Every top-level command of the packages above, in help order: name -> (module, help shown by ``--help``).
#: ``tests/cli/test_cli_startup.py`` checks it against the commands the modules really define.
_LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "what-it-takes": ("hubindex.store.cli", "What it takes for UNIT to reach a goal with what the city itself can "
                      "change (its city-level values): the\nsmallest change of each indicator alone (raw units, whole "
                      "steps for counts, through the real pipeline,\nchecked by a rebuild), the cheapest combination, "
                      "and — apart — the national context (what would change if\nthe country's values moved)."),
    "rank-range": ("hubindex.store.cli", "Each city's best and worst rank over all admissible weights (LP bounds + "
                   "one MILP per city)."),
    "targets": ("hubindex.store.cli", "City targets and their status against observations over editions (met / "
                "missed / on track / no data),\nthen the cities' observations (reported figures and edition values; "
                "'context' = not a targeted measure)."),
    "report": ("hubindex.publish.cli", "Write a self-contained static HTML report (opens offline from disk) and a "
               "PDF of it to OUT."),
    "export": ("hubindex.publish.cli", "Write the index as an Excel workbook (Ranking, long-format Scores, Framework, "
               "Weights, Notes), CSV and JSON."),
    "serve": ("hubindex.web.cli", "Serve the dashboard (ranking, city profiles, map, compare, build-your-own index, "
              "methodology) and the\nJSON API (docs at /docs) over an index built once at start-up."),
    "compare-published": ("hubindex.audit.published_cli", "Compare our ranking with published fintech-city rankings "
                          "(GFHR, GFCI FinTech, Findexable, StartupBlink):\noverlap, Spearman's rho, and the cities "
                          "with the largest rank gaps with the pillars and indicators behind\nthem. Comparisons are "
                          "reported, never used to choose indicators or weights."),
    "data": ("hubindex.datasets.cli", _SUBCOMMANDS[0][2] or ""),
    "survey": ("hubindex.survey.cli", _SUBCOMMANDS[1][2] or ""),
    "audit": ("hubindex.audit.cli", _SUBCOMMANDS[2][2] or ""),
    "edition": ("hubindex.store.cli", "Editions over time: publish, list, show, diff, explain."),
}
_mounted = False


def _attach(target: typer.Typer, module: str) -> bool:
    """Add one package's commands to ``target`` (its ``register(app)``, or its Typer ``app`` as a sub-group);
    False when the package is not installed."""
    import importlib

    try:
        m = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module:
            return False
        raise
    if hasattr(m, "register"):
        m.register(target)
    else:
        name, help_text = next((n, h) for mod, n, h in _SUBCOMMANDS if mod == module)
        target.add_typer(m.app, name=name, help=help_text)
    return True


def _mount() -> None:
    """Attach every capability package's commands to :data:`app` now (the CLI itself loads them lazily)."""
    global _mounted
    if _mounted:
        return
    for mod, _, _ in _SUBCOMMANDS:
        _attach(app, mod)
    _mounted = True


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the app, turning user errors into a message and an exit code."""
    try:
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
