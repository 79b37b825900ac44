"""``hubindex data …``: rebuild, check and inspect the shipped fintech-hubs dataset."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from hubindex.console import console, err_console  # noqa: F401
from hubindex.datasets import DATA_DIR, EDITIONS, LATEST, load_edition, provenance, unmatched
from hubindex.errors import DataError

app = typer.Typer(help="The shipped fintech-hubs dataset: rebuild from the raw sources, check, inspect.",
                  no_args_is_help=True)

RAW_HELP = "The raw sources folder (the team's shared/data/raw, with SOURCES.md)."


@app.command("build")
def build_cmd(raw: Path = typer.Option(..., "--raw", help=RAW_HELP),
              out: Path = typer.Option(DATA_DIR, "--out", help="Where to write the tables (replaced atomically).")
              ) -> None:
    """Regenerate the dataset tables from the raw sources (deterministic)."""
    from hubindex.datasets.build import write_dataset

    with console.status("building the dataset from the raw sources…"):
        tables = write_dataset(raw, out)
    n_unmatched = len(tables["unmatched.csv"])
    console.print(f"wrote {len(tables)} tables for editions {', '.join(map(str, EDITIONS))} to {out} "
                  f"({len(tables['cities.csv'])} cities; {n_unmatched} unmatched source spellings in unmatched.csv)")


@app.command("check")
def check_cmd(raw: Path = typer.Option(..., "--raw", help=RAW_HELP)) -> None:
    """Rebuild into a temporary folder and compare with the shipped tables, file by file."""
    from hubindex.datasets.build import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(raw, Path(tmp) / "data")
        diffs = []
        for p in sorted((Path(tmp) / "data").iterdir()):
            shipped = DATA_DIR / p.name
            if not shipped.exists() or shipped.read_bytes() != p.read_bytes():
                diffs.append(p.name)
    if diffs:
        raise DataError(f"the shipped dataset differs from a fresh build of {raw}: {', '.join(diffs)}")
    console.print("the shipped dataset equals a fresh build of the raw sources")


@app.command("show")
def show_cmd(city: str = typer.Argument(..., help="City code (e.g. CN-HGH) or name."),
             edition: int = typer.Option(LATEST, help="Dataset edition.")) -> None:
    """Every value of one city with its source, year and derivation."""
    wide = load_edition(edition)
    hit = wide[(wide.code.str.lower() == city.lower()) | (wide.name.str.lower() == city.lower())]
    if hit.empty:
        raise DataError(f"no city {city!r} in edition {edition}; codes look like CN-HGH (see `hubindex data list`)")
    code = hit.code.iloc[0]
    prov = provenance(edition)
    t = Table(title=f"{hit.name.iloc[0]} ({code}), edition {edition}")
    for c in ("indicator", "value", "level", "source", "year", "derivation"):
        t.add_column(c, overflow="fold")
    for _, r in prov[prov.unit == code].iterrows():
        v = "" if pd.isna(r.value) else f"{r.value:,.4g}"
        level = str(r.value_level) if "value_level" in prov.columns else str(r.scope)
        t.add_row(r.indicator, v, level, r.source, str(r.source_date), str(r.derivation)[:200])
    console.print(t)


@app.command("list")
def list_cmd(edition: int = typer.Option(LATEST, help="Dataset edition.")) -> None:
    """The cities of an edition with their country and region."""
    wide = load_edition(edition)
    t = Table(title=f"{len(wide)} fintech hub cities, edition {edition}")
    for c in ("code", "name", "country", "region"):
        t.add_column(c)
    for _, r in wide.iterrows():
        t.add_row(r.code, r["name"], r.country, r.region)
    console.print(t)


@app.command("unmatched")
def unmatched_cmd(top: int = typer.Option(30, min=0, help="How many rows to show.")) -> None:
    """Source spellings that did not resolve to a hub (the full list is in unmatched.csv)."""
    u = unmatched().sort_values("rows", ascending=False).head(top)
    t = Table(title="unmatched source spellings (largest first)")
    for c in ("source_file", "country", "city", "reason", "rows"):
        t.add_column(c)
    for _, r in u.iterrows():
        t.add_row(r.source_file, str(r.country), str(r.city), r.reason, str(r.rows))
    console.print(t)
