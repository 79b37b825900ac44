"""``hubindex compare-published``: our ranking against published fintech-city rankings (report, never tune).

Light at import (the CLI's ``--help`` must stay fast): everything heavy is imported inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register", "compare_published_cmd"]


def _f(x: Any, nd: int = 2) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if v != v else f"{v:.{nd}f}"


def compare_published_cmd(
    spec: Annotated[Path | None, typer.Argument(
        help="Index spec (YAML). Default: the shipped Global Fintech Hub Index.", show_default=False)] = None,
    list_ids: Annotated[list[str] | None, typer.Option(
        "--list", "-l", help="Only this published list (repeat for several); default: all.",
        show_default=False)] = None,
    top: Annotated[int, typer.Option(min=0, max=50, help="Cities with the largest rank gaps explained per list.")
                   ] = 3,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write summary.csv, cities.csv, differences.csv, unmatched.csv, comparison.json and "
        "run.json to this folder (replaced atomically).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON instead of tables.")] = False,
) -> None:
    """Compare our ranking with published fintech-city rankings (GFHR, GFCI FinTech, Findexable, StartupBlink):
    overlap, Spearman's rho, and the cities with the largest rank gaps with the pillars and indicators behind
    them. Comparisons are reported, never used to choose indicators or weights."""
    import json

    from hubindex.api import as_spec
    from hubindex.api import build as build_index
    from hubindex.audit.published import RULE, compare_published, load_published
    from hubindex.console import console

    pub = load_published()
    if list_ids:
        bad = [i for i in list_ids if i not in pub.ids]
        if bad:
            raise typer.BadParameter(f"unknown list {', '.join(repr(b) for b in bad)}; valid ids: "
                                     f"{', '.join(pub.ids)}", param_hint="'--list'")
    if out is not None:
        from hubindex.io import check_output_dir

        check_output_dir(out)  # fail before building, not after
    s = as_spec(spec)
    result = build_index(s)
    cmp = compare_published(result, pub, lists=list_ids or None, top=top)
    if out is not None:
        _write(cmp, pub.select(list_ids or None), result, out)
    if as_json:
        typer.echo(json.dumps(cmp.to_dict(), ensure_ascii=False, indent=1, allow_nan=False))
        return
    _print(cmp, console)
    console.print(f"[dim]{RULE} Sources and method: docs/compare.md.[/dim]")
    if out is not None:
        console.print(f"Wrote the comparison to [bold]{out}[/bold]/")


def _print(cmp: Any, console: Any) -> None:
    from rich.table import Table

    idx = cmp.index
    t = Table(title=f"{idx['name']} (edition {idx['version']}, {idx['n_units']} units) vs published rankings",
              title_justify="left")
    for c, kw in (("List", {"no_wrap": True}), ("Edition", {}), ("Coverage", {"max_width": 28}),
                  ("n overlap", {"justify": "right"}), ("Spearman ρ", {"justify": "right"}),
                  ("In our top N", {"justify": "right"}), ("Note", {"max_width": 40})):
        t.add_column(c, **kw)
    for c in cmp.lists:
        note = ("n < 10: rho very uncertain" if 3 <= c.n_overlap < 10
                else c.note.split(";")[0] if c.n_overlap < 3 else "")
        t.add_row(c.list_id, c.meta["edition"], c.meta["coverage"], str(c.n_overlap), _f(c.rho),
                  f"{c.in_our_top}/{c.n_overlap} (N={c.max_published_rank})", note)
    console.print(t)
    for c in cmp.lists:
        if not c.differences and not c.unmatched and not c.not_ranked:
            continue
        d = Table(title=f"{c.list_id}: largest differences ({c.meta['list_name']})", title_justify="left")
        for col, kw in (("City", {"no_wrap": True}), ("Published", {"justify": "right"}),
                        ("Ours", {"justify": "right"}), ("Gap in overlap", {"justify": "right"}),
                        ("Ordered the other way than", {"max_width": 30}),
                        ("Pillars (Δ points vs them)", {}), ("Indicators (Δ points)", {})):
            d.add_column(col, **kw)
        for x in c.differences:
            key = "delta_swapped" if x["swapped_with"] else "delta"
            pil = ", ".join(f"{p['name']} {p[key]:+.1f}" for p in x["pillars"] if p[key] is not None)
            ind = ", ".join(f"{i['name']} {i[key]:+.1f}" + (" (missing)" if i["missing"] else "")
                            for i in x["indicators"] if i[key] is not None)
            d.add_row(x["name"], str(x["published_rank"]), str(x["our_rank"]), f"{x['gap']:+.1f}",
                      _names(x["swapped_with_names"]), pil, ind)
        if c.differences:
            console.print(d)
        if c.unmatched:
            console.print(f"  {c.list_id}: not in our city registry: "
                          + ", ".join(f"{u['name']} ({u['published_rank']})" for u in c.unmatched))
        if c.not_ranked:
            console.print(f"  {c.list_id}: in our registry but not ranked: "
                          + ", ".join(f"{u['name']} ({u['why']})" for u in c.not_ranked))


def _names(names: list[str], k: int = 5) -> str:
    if not names:
        return "(overlap mean)"
    return ", ".join(names[:k]) + (f" +{len(names) - k} more" if len(names) > k else "")


def _write(cmp: Any, pub: Any, result: Any, out: Path) -> None:
    import json

    import pandas as pd

    from hubindex.io import atomic_dir

    cities = pd.concat([c.cities.assign(list_id=c.list_id) for c in cmp.lists], ignore_index=True) \
        if cmp.lists else pd.DataFrame()
    rows = []
    for c in cmp.lists:
        for x in c.differences:
            base = {"list_id": c.list_id, "unit": x["unit"], "name": x["name"], "published_rank": x["published_rank"],
                    "our_rank": x["our_rank"], "gap": x["gap"]}
            base["swapped_with"] = " ".join(x["swapped_with"])
            rows += [{**base, "level": "pillar", "code": p["code"], "node": p["name"], "pillar": p["code"],
                      "delta": p["delta"], "delta_swapped": p["delta_swapped"]} for p in x["pillars"]]
            rows += [{**base, "level": "indicator", "code": i["code"], "node": i["name"], "pillar": i["pillar"],
                      "delta": i["delta"], "delta_swapped": i["delta_swapped"]} for i in x["indicators"]]
    run = {"command": "compare-published", "spec_name": result.spec.name,
           "spec_hash": result.run_record.get("spec_hash"), "hubindex_version":
           result.run_record.get("hubindex_version"), "lists": [c.list_id for c in cmp.lists],
           "published_table": str(pub.path)}
    with atomic_dir(out, command="compare-published") as tmp:
        cmp.summary().to_csv(tmp / "summary.csv", index=False)
        cities.to_csv(tmp / "cities.csv", index=False)
        pd.DataFrame(rows).to_csv(tmp / "differences.csv", index=False)
        pub.unmatched().to_csv(tmp / "unmatched.csv", index=False)
        (tmp / "comparison.json").write_text(json.dumps(cmp.to_dict(), ensure_ascii=False, indent=1,
                                                        allow_nan=False), encoding="utf-8")
        (tmp / "run.json").write_text(json.dumps(run, indent=1), encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Attach ``compare-published`` to the root CLI."""
    app.command("compare-published")(compare_published_cmd)
