"""``hubindex edition …`` (publish, list, show, diff, explain, history, backcast, log, init) and the
``hubindex what-it-takes``, ``hubindex rank-range`` and ``hubindex targets`` commands."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hubindex.console import console, err_console  # noqa: F401
from hubindex.errors import HubindexError, SpecError

edition_app = typer.Typer(help="Editions over time: publish, list, show, diff, explain a change, history.",
                          no_args_is_help=True, pretty_exceptions_enable=False)

StoreOpt = Annotated[Path | None, typer.Option("--store", help="Edition store file (default: $HUBINDEX_STORE, "
                                                                "else editions.duckdb in your data folder).")]


def _fmt(x: Any, nd: int = 1, signed: bool = False) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    if math.isnan(v):
        return "–"
    if round(v, nd) == 0:
        v = 0.0  # no '-0'
    return f"{v:+.{nd}f}" if signed else f"{v:.{nd}f}"


def _print_frame(df: Any, title: str | None = None, index: bool = False, nd: int = 2) -> None:
    """A DataFrame as a Rich table: rank-like columns as integers, other numbers with ``nd`` decimals, '–' for
    missing values (never pandas' '16.0' / 'NaN')."""
    import pandas as pd

    if index:
        df = df.reset_index()
    table = Table(title=title, title_justify="left")
    for c in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        table.add_column(str(c), justify="right" if numeric else "left", overflow="fold")
    intlike = {c for c in df.columns if ("rank" in str(c) and not str(c).startswith("mean"))
               or str(c).startswith(("n_", "units")) or str(c) == "n"}
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row, strict=True):
            if isinstance(v, float | int) and not isinstance(v, bool):
                cells.append(_fmt(v, 0 if c in intlike else nd, signed="change" in str(c)))
            else:
                cells.append("–" if v is None or (isinstance(v, float) and v != v) else str(v))
        table.add_row(*cells)
    console.print(table)


def _open(store: Path | None, init: bool = True) -> Any:
    from hubindex.store.editions import open_store

    return open_store(store, init=init, progress=lambda m: err_console.print(m, highlight=False))


@edition_app.command("publish")
def publish(
    spec: Annotated[Path | None, typer.Argument(help="Index spec (default: the shipped index).")] = None,
    label: Annotated[str, typer.Option("--label", "-l", help="Edition label, e.g. 2025.")] = "",
    vintage: Annotated[int | None, typer.Option(help="Dataset vintage year of the data.")] = None,
    note: Annotated[str | None, typer.Option(help="A note kept with the edition.")] = None,
    supersede: Annotated[bool, typer.Option("--supersede", help="Add a new revision of an existing label.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --supersede; logged).")] = None,
    store: StoreOpt = None,
) -> None:
    """Build SPEC and publish it as an immutable edition (one transaction)."""
    from hubindex.store._store import EditionStore
    from hubindex.store.editions import build_with_inputs

    if not label:
        raise SpecError("edition publish: give --label (e.g. --label 2025)")
    result, data = build_with_inputs(spec)
    st = EditionStore(store) if store is not None else _open(None)
    e = st.publish(result, label, data=data, vintage=vintage, note=note, supersede=supersede, reason=reason)
    console.print(f"published edition [bold]{e.ref}[/bold]: {len(e.units)} units, spec {e.meta['spec_hash'][:12]}, "
                  f"data {e.meta['data_hash'][:12]} → {st.path}")


@edition_app.command("init")
def init(store: StoreOpt = None) -> None:
    """Build and publish the real editions (one per dataset vintage) that are not yet in the store."""
    from hubindex.store._store import EditionStore
    from hubindex.store.editions import build_editions

    st = EditionStore(store)
    done = build_editions(st, progress=lambda m: console.print(m))
    console.print(f"{len(done)} edition(s) published; the store has {len(st)}.")


@edition_app.command("list")
def list_(store: StoreOpt = None,
          all_revisions: Annotated[bool, typer.Option("--all", help="Show superseded revisions too.")] = False
          ) -> None:
    """List the editions (built from the shipped dataset vintages on first use)."""
    st = _open(store)
    t = st.list(all_revisions=all_revisions)
    table = Table(title=f"Editions in {st.path}", title_justify="left")
    kinds = bool((t["kind"] != "edition").any())
    revs = bool(all_revisions or (t["revision"] > 1).any())
    for c in ("label", *(("rev",) if revs else ()), *(("kind",) if kinds else ()), "vintage", "units",
              "published", "spec/data"):
        table.add_column(c, no_wrap=True)
    table.add_column("note", overflow="fold", ratio=1)
    for _, r in t.iterrows():
        table.add_row(str(r["label"]),
                      *((str(r["revision"]) + (" (superseded)" if r["superseded"] else ""),) if revs else ()),
                      *((str(r["kind"]),) if kinds else ()), _fmt(r["vintage"], 0), str(r["n_units"]),
                      str(r["published_at"])[:10], f"{str(r['spec_hash'])[:6]}/{str(r['data_hash'])[:6]}",
                      str(r["note"] or ""))
    console.print(table)
    if t.empty:
        console.print("no editions yet: publish one with `hubindex edition publish SPEC --label LABEL`")


@edition_app.command("show")
def show(label: str, store: StoreOpt = None, top: Annotated[int, typer.Option(min=0, help="Rows to print.")] = 20) -> None:
    """Show one edition: hashes, audit summary and the top of its ranking (LABEL or LABEL@REVISION)."""
    st = _open(store)
    info = st.show(label)
    a = info["audit"] or {}
    console.print(f"[bold]{info['label']}@{info['revision']}[/bold] ({info['kind']}), vintage {info['vintage']}, "
                  f"published {info['published_at'][:19]} UTC, hubindex {info['hubindex_version']}")
    console.print(f"spec {info['spec_name']} {info['spec_hash']}\ndata {info['data_hash']} {info['data_files']}")
    if a:
        console.print(f"{a.get('n_units')} units, {a.get('n_indicators')} indicators, missing "
                      f"{100 * a.get('missing_share', 0):.1f} %, imputed cells {a.get('imputed_cells')}, treated "
                      f"cells {a.get('treated_cells')}")
    t = info["ranking"]
    table = Table(title_justify="left")
    cols = [c for c in ("rank", "unit", "name", "country", "region", "score", "tier") if c in t.columns]
    for c in cols:
        table.add_column(c)
    for _, r in t.head(top).iterrows():
        table.add_row(*[_fmt(r[c], 0 if c == "rank" else 1) if c in ("rank", "score") else str(r[c]) for c in cols])
    console.print(table)


@edition_app.command("diff")
def diff_cmd(a: str, b: str, store: StoreOpt = None,
             top: Annotated[int, typer.Option(min=0, help="Rows to print.")] = 25,
             out: Annotated[Path | None, typer.Option("--out", help="Write the full table as CSV.")] = None) -> None:
    """Compare two editions: rank and score change per city, entries/exits, counts, gap 1–10, group averages."""
    from hubindex.io import atomic_write_text
    from hubindex.store._compare import diff_editions, diff_summary

    st = _open(store)
    ea, eb = st.get(a), st.get(b)
    d = diff_editions(ea, eb)
    s = diff_summary(ea, eb, d)
    table = Table(title=f"{ea.ref} → {eb.ref}", title_justify="left")
    for c in ("rank", "Δrank", "unit", "name", "score", "Δscore", "tier", "status"):
        table.add_column(c)
    for _, r in d.head(top).iterrows():
        table.add_row(_fmt(r["rank_b"], 0), _fmt(r["rank_change"], 0, signed=True), str(r["unit"]), str(r["name"]),
                      _fmt(r["score_b"]), _fmt(r["score_change"], 2, signed=True), str(r["tier_b"] or ""),
                      str(r["status"]))
    console.print(table)
    console.print(f"up {s['up']}, unchanged {s['unchanged']}, down {s['down']}; entries {s['entries'] or '–'}; "
                  f"exits {s['exits'] or '–'}; gap rank 1 – rank 10: {_fmt(s['gap_1_10_a'], 2)} → "
                  f"{_fmt(s['gap_1_10_b'], 2)}")
    if len(s["by_group"]):
        _print_frame(s["by_group"][["n_b", "score_a", "score_b", "score_change", "mean_rank_change"]],
                     f"by {s['group']}", index=True)
    if len(s["by_tier"]):
        _print_frame(s["by_tier"][["n_b", "score_a", "score_b", "score_change"]], "by tier (in the newer edition)",
                     index=True)
    if out is not None:
        atomic_write_text(out, d.to_csv(index=False))
        console.print(f"wrote {out}")


class ExplainGroups(StrEnum):
    """``--groups`` of ``hubindex edition explain`` (checked by Click: a typo is a usage error, exit 2)."""

    auto = "auto"
    indicator = "indicator"
    pillar = "pillar"


@edition_app.command("explain")
def explain_cmd(a: str, b: str, unit: str, store: StoreOpt = None,
                groups: Annotated[ExplainGroups, typer.Option(
                    help="Factor groups: 'auto' (indicators, or the finest tree level with few enough groups), "
                         "'indicator' or 'pillar'.")] = ExplainGroups.auto,
                orders: Annotated[int, typer.Option(help="Sampled orders when there are many factors.")] = 64,
                top: Annotated[int, typer.Option(min=0, help="Contributions to print.")] = 10) -> None:
    """Explain UNIT's change from A to B: Shapley contributions of each data change and the method change, and
    who overtook it or fell behind and why."""
    from hubindex.store._explain import explain

    st = _open(store)
    ex = explain(a, b, store=st, groups=groups.value, n_orders=orders)
    u = unit
    if u not in ex.score.index:
        hits = [k for k, n in ex.names.items() if str(n).lower() == unit.lower()]
        if not hits:
            raise SpecError(f"explain: unit '{unit}' is not in both editions")
        u = str(hits[0])
    s = ex.score.loc[u]
    r = ex.rank.loc[u]
    console.print(f"[bold]{ex.names[u]}[/bold] ({u}) {ex.a} → {ex.b}: score {_fmt(s['total'], 3, True)}, rank "
                  f"{_fmt(r['total'], 0, True)} ({ex.method}, {ex.n_builds} rebuilds, {ex.seconds:.1f} s; "
                  f"residual {abs(s['residual']):.1e})")
    t = ex.for_unit(u, top=top)
    table = Table(title_justify="left")
    for c in ("factor", "Δscore", "± se", "Δrank", "indicators"):
        table.add_column(c)
    for _, row in t.iterrows():
        table.add_row(str(row["factor"]), _fmt(row["score"], 3, True), _fmt(row["score_se"], 3),
                      _fmt(row["rank"], 2, True), str(row["indicators"])[:60])
    console.print(table)
    ov = ex.overtakes(u)
    if len(ov):
        console.print("moved past it / fell behind it:")
        for _, row in ov.iterrows():
            console.print(f"  {row['name']} ({row['unit']}) {row['how']}: rank {_fmt(row['rank_a'], 0)} → "
                          f"{_fmt(row['rank_b'], 0)}, gap change {_fmt(row['gap_change'], 2, True)}, mainly "
                          f"{row['main_factor']}")


@edition_app.command("history")
def history_cmd(unit: str, store: StoreOpt = None) -> None:
    """A city's rank, score and tier in every edition."""
    st = _open(store)
    h = st.history(unit)
    cols = [c for c in ("label", "rank", "rank_change", "score", "score_change", "tier", "n_units") if c in h.columns]
    _print_frame(h[cols], f"{unit} in every edition")


@edition_app.command("backcast")
def backcast_cmd(label: str, spec: Annotated[Path | None, typer.Argument(help="Method spec (default: the "
                                                                                  "shipped index).")] = None,
                 store: StoreOpt = None,
                 publish: Annotated[bool, typer.Option("--publish", help="Publish as LABEL-backcast.")] = False
                 ) -> None:
    """Re-run an old edition's data with the current method (tells method changes from data changes)."""
    from hubindex.store.editions import backcast

    st = _open(store)
    out = backcast(st, label, spec, publish=publish)
    if publish:
        console.print(f"published {out.ref} (based on {label})")
        return
    e = st.get(label)
    t = e.units[["name", "rank", "score"]].copy()
    t["rank_backcast"] = out.ranks[out.index_code].reindex(t.index)
    t["score_backcast"] = out.scores[out.index_code].reindex(t.index)
    t = t.sort_values("rank_backcast")
    _print_frame(t.head(25), f"edition {e.ref} under the current method (sorted by the backcast rank)", index=True)


@edition_app.command("log")
def log_cmd(store: StoreOpt = None) -> None:
    """The store log: every publish and supersede."""
    st = _open(store, init=False)
    console.print(st.log().to_string(index=False))


def what_it_takes_cmd(
    unit: str,
    rank: Annotated[int | None, typer.Option(help="Goal: rank k or better.")] = None,
    tier: Annotated[str | None, typer.Option(help="Goal: 'next' or a tier name.")] = None,
    beat: Annotated[str | None, typer.Option(help="Goal: the score of this unit.")] = None,
    spec: Annotated[Path | None, typer.Option(help="Index spec (default: the shipped index).")] = None,
    edition: Annotated[str | None, typer.Option(help="Use a stored edition instead of building.")] = None,
    store: StoreOpt = None,
    combination: Annotated[bool, typer.Option("--combination/--no-combination",
                                              help="Also the cheapest combination (a small MILP).")] = True,
    include_national: Annotated[bool, typer.Option(
        "--include-national", help="Let national values (country proxies, modelled values: provenance scope other "
                                   "than 'city') into the table and the plan, as if the country moved.")] = False,
) -> None:
    """What it takes for UNIT to reach a goal with what the city itself can change (its city-level values): the
    smallest change of each indicator alone (raw units, whole steps for counts, through the real pipeline,
    checked by a rebuild), the cheapest combination, and — apart — the national context (what would change if
    the country's values moved)."""
    from hubindex.store._whatif import WhatIf

    if sum(x is not None for x in (rank, tier, beat)) != 1:
        raise typer.BadParameter("give exactly one goal: --rank K, --tier next (or a tier name), or --beat UNIT")
    w = WhatIf.from_edition(_open(store).get(edition)) if edition else WhatIf.from_spec(spec)
    t = w.single(unit, rank=rank, tier=tier, beat=beat)
    c = t.attrs["unit"]
    console.print(f"[bold]{w.base.unit_names.iloc[w.upos[c]]}[/bold] ({c}), rank "
                  f"{int(w.base.ranks[w.root].iloc[w.upos[c]])}: to reach {t.attrs['goal']}")
    console.print(f"[dim]{t.attrs['scope_note']}[/dim]")
    t = t.assign(_k=t["change_pct"].abs().fillna(float("inf"))).sort_values(["reachable", "_k"], ascending=[False, True])
    mine = t[t["lever"].astype(bool) | include_national]
    _print_single(mine, "one indicator at a time" + (" (national values included)" if include_national
                                                        else ": the city's own levers"))
    no = mine[~mine["reachable"].astype(bool)]
    if len(no):
        nt = Table(title="not reachable with one indicator alone", title_justify="left")
        for col in ("indicator", "unit", "current", "why"):
            nt.add_column(col, overflow="fold")
        for _, r in no.iterrows():
            nt.add_row(str(r["name"]), str(r["unit"] or ""), _fmt(r["current"], 3), str(r["note"]))
        console.print(nt)
    nat = t[~t["lever"].astype(bool)]
    if len(nat) and not include_national:
        _print_single(nat, "national context: what would change if the country's value moved — for every city "
                           "sharing it (not a city lever; --include-national to plan with them)", why=True)
    if combination:
        try:
            plan = w.combination(unit, rank=rank, tier=tier, beat=beat, include_national=include_national)
        except HubindexError as e:  # the plan is an extra; say why it is not available
            console.print(f"cheapest combination: not available ({e})")
            return
        console.print(f"cheapest combination ({plan['status']})" +
                      (f": {plan['approximation']}" if plan.get("approximation") else ""))
        if len(plan["plan"]):
            p = plan["plan"]
            pt = Table(title="plan", title_justify="left")
            for col in ("indicator", "unit", "scope", "current", "required", "change", "gain (points)"):
                pt.add_column(col)
            for _, r in p.iterrows():
                nd = 0 if r["whole_steps"] else 3
                pt.add_row(str(r["name"]), str(r["unit"] or ""), str(r["scope"]), _fmt(r["current"], nd),
                           _fmt(r["required"], nd), _fmt(r["change"], nd, True), _fmt(r["gain"], 2))
            console.print(pt)
            console.print(f"full rebuild: rank {plan['check_rank']}, goal met: {plan['check_met']}")
        best = plan.get("best_reachable")
        if best and best.get("rank") is not None:
            with_what = "all indicators" if include_national else "the city's own levers"
            console.print(f"best reachable rank with {with_what} at the ends of their ranges: {best['rank']}"
                          + ("" if best.get("met") is None else f" (goal {'met' if best['met'] else 'not met'})"))


def _print_single(t: Any, title: str, why: bool = False) -> None:
    """The single-indicator rows that reach the goal: whole numbers for counts, absolute changes on bounded or
    signed scales (% only on open ratio scales)."""
    table = Table(title=title, title_justify="left")
    for col in ("indicator", "unit", "current", "required", "change", "change %", "rank after", "checked",
                *(("note",) if why else ())):
        table.add_column(col, overflow="fold")
    for _, r in t.iterrows():
        if not r["reachable"]:
            if why:
                table.add_row(str(r["name"]), str(r["unit"] or ""), _fmt(r["current"], 3), "–", "–", "–", "–", "–",
                              _context_note(str(r["note"])))
            continue
        nd = 0 if r["whole_steps"] else 3
        table.add_row(str(r["name"]), str(r["unit"] or ""), _fmt(r["current"], nd), _fmt(r["required"], nd),
                      _fmt(r["change"], nd, True), _fmt(r["change_pct"], 1, True), _fmt(r["rank_after"], 0),
                      "yes" if r.get("verified") else "no", *((_context_note(str(r["note"])),) if why else ()))
    console.print(table)


def _context_note(note: str) -> str:
    """A national-context note without its 'national context (…): moves for N cities' head, said once above."""
    head, sep, rest = note.partition("; ")
    return (rest or "–") if head.startswith("national context") and sep else ("" if head.startswith(
        "national context") else note)


def rank_range_cmd(
    spec: Annotated[Path | None, typer.Argument(help="Index spec (default: the shipped index).")] = None,
    level: Annotated[str, typer.Option(help="pillar or indicator weights")] = "pillar",
    tol: Annotated[float, typer.Option(help="Weights within nominal × (1 ± tol).")] = 0.5,
    top: Annotated[int, typer.Option(min=0, help="Rows to print.")] = 30,
) -> None:
    """Each city's best and worst rank over all admissible weights (LP bounds + one MILP per city)."""
    import hubindex
    from hubindex.store._whatif import rank_range

    rr = rank_range(hubindex.build(spec), level=level, tol=tol).sort_values("rank")
    _print_frame(rr[["rank", "unit", "name", "best_rank", "worst_rank"]].head(top),
                 f"best and worst rank, {level} weights within nominal × (1 ± {tol:g})")


def targets_cmd(
    city: Annotated[str | None, typer.Argument(help="Only this city.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Targets CSV (default: the shipped one).")] = None,
    store: StoreOpt = None,
) -> None:
    """City targets and their status against observations over editions (met / missed / on track / no data),
    then the cities' observations (reported figures and edition values; 'context' = not a targeted measure)."""
    from hubindex.store._targets import load_targets, observations, target_status

    tt = load_targets(file)
    st = _open(store)
    t = target_status(tt, st, city=city)
    if city is not None and t.empty and not (tt["city"].str.lower() == city.lower()).any():
        raise SpecError(f"targets: no targets or observations for '{city}' in {tt.attrs.get('path')}; cities are "
                        f"{sorted(set(tt['city']))}")
    table = Table(title="City targets", title_justify="left")
    for c in ("city", "measure", "target", "deadline", "latest", "progress", "status", "note", "source"):
        table.add_column(c, no_wrap=c in ("status", "deadline"), overflow="fold")
    for _, r in t.iterrows():
        latest = "" if r["latest_year"] is None or r["latest_year"] != r["latest_year"] else \
            f"{_fmt(r['latest_value'], 1)} ({int(r['latest_year'])})"
        prog = _fmt(r["progress_pct"], 0)
        table.add_row(str(r["city"]), str(r["measure"]), f"{r['relation']} {_fmt(r['target'], 0)} {r['unit']}",
                      str(r["deadline"]), latest, "" if prog == "–" else f"{prog} %", str(r["status"]),
                      _short_note(str(r["note"])), str(r["source"]))
    console.print(table)
    o = observations(tt, st, city=city)
    if len(o):
        ot = Table(title="Observations", title_justify="left")
        for c in ("city", "measure", "value", "unit", "year", "use", "source"):
            ot.add_column(c, overflow="fold", no_wrap=c in ("year", "value"))
        words = {">": "> ", ">=": "≥ ", "<": "< ", "<=": "≤ ", "~": "≈ "}
        for _, r in o.iterrows():
            ot.add_row(str(r["city"]), str(r["measure"]), f"{words.get(str(r['relation']), '')}{float(r['value']):g}",
                       str(r["unit"] or ""), _fmt(r["year"], 0), "target" if r["targeted"] else "context",
                       str(r["source"]))
        console.print(ot)


def _short_note(note: str) -> str:
    """The note without its list of related observations (they are in the second table)."""
    head, sep, _ = note.partition("; related observations: ")
    return head + ("; related observations: see Observations below (context only)" if sep else "")


def register(app: typer.Typer) -> None:
    """Mount ``edition`` and the top-level ``what-it-takes``, ``rank-range`` and ``targets`` commands."""
    app.add_typer(edition_app, name="edition", help="Editions over time: publish, list, show, diff, explain.")
    app.command("what-it-takes")(what_it_takes_cmd)
    app.command("rank-range")(rank_range_cmd)
    app.command("targets")(targets_cmd)
