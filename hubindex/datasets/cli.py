"""``hubindex data …``: rebuild, check and inspect the shipped fintech-hubs dataset."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from hubindex.console import console, err_console  # noqa: F401
from hubindex.datasets import DATA_DIR, EDITIONS, LATEST, edition_path, load_edition, unmatched
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
    from hubindex.outdir import check_output_dir

    check_output_dir(out)  # before the build
    with console.status("building the dataset from the raw sources…"):
        tables = write_dataset(raw, out)
    n_unmatched = len(tables["unmatched.csv"])
    console.print(f"wrote {len(tables)} tables for editions {', '.join(map(str, EDITIONS))} to {out} "
                  f"({len(tables['cities.csv'])} cities; {n_unmatched} unmatched source spellings in unmatched.csv)")


@app.command("check")
def check_cmd(raw: Path = typer.Option(..., "--raw", help=RAW_HELP)) -> None:
    """Rebuild into a temporary folder and compare with the shipped tables, file by file."""
    from hubindex.datasets.build import write_dataset
    from hubindex.outdir import MANIFEST

    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(raw, Path(tmp) / "data")
        diffs = []
        for p in sorted((Path(tmp) / "data").iterdir()):
            if p.name == MANIFEST:  # records the hubindex version: not part of the data
                continue
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
    # Read with the csv module, not pandas: this command is a quick look-up and should start instantly.
    wide = _rows(edition_path(edition))
    hit = next((r for r in wide if city.lower() in (r["code"].lower(), r["name"].lower())), None)
    if hit is None:
        raise DataError(f"no city {city!r} in edition {edition}; codes look like CN-HGH (see `hubindex data list`)")
    code = hit["code"]
    t = Table(title=f"{hit['name']} ({code}), edition {edition}")
    for c in ("indicator", "value", "level", "source", "year", "derivation"):
        t.add_column(c, overflow="fold")
    for r in _rows(DATA_DIR / f"provenance_{edition}.csv"):
        if r["unit"] == code:
            v = f"{float(r['value']):,.4g}" if r["value"] else ""
            t.add_row(r["indicator"], v, r.get("value_level") or r["scope"], r["source"], r["source_date"],
                      r["derivation"][:200])
    console.print(t)


def _rows(path: Path) -> list[dict[str, str]]:
    """The rows of a shipped table as dicts of strings (missing values are empty strings)."""
    if not path.exists():
        raise DataError(f"{path}: shipped dataset file is missing; rebuild it with `hubindex data build --raw PATH`")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


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
