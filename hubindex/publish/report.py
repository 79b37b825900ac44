"""The static report: ONE self-contained HTML file (CSS, JS and SVG charts inline; opens offline from disk)
and, when a PDF engine is present, a PDF of it.

Sections: summary, ranking (sortable, searchable), rank intervals (when an audit table is given), pillar
rankings, tiers, sub-rankings, city profiles (one compact card per unit with strengths and weaknesses),
methodology (pipeline, framework tree with weights, indicator definitions, sources, coverage) and notes
(citation, licence, spec hash, data files). Every chart has a text alternative and a table beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubindex.engine.result import Result
from hubindex.publish import _svg
from hubindex.publish import tables as T
from hubindex.publish._outdir import publish_dir

__all__ = ["write_report", "render_html", "rank_interval_columns", "strengths_weaknesses", "ReportFiles",
           "HTML_NAME", "PDF_NAME"]

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"

_LO = re.compile(r"(^|_)(q0?5|p0?5|q0?05|lo|lower|low|rank_lo|min)($|_)", re.I)
_HI = re.compile(r"(^|_)(q95|p95|q0?95|hi|upper|high|rank_hi|max)($|_)", re.I)
_MED = re.compile(r"median|(^|_)q50($|_)|(^|_)p50($|_)", re.I)
_NOM = re.compile(r"nominal|^rank$", re.I)


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote: the HTML path, the PDF path (None when skipped) and a message."""

    html: Path
    pdf: Path | None
    pdf_message: str


# -- helpers --------------------------------------------------------------------------------------------
def _f(x: Any, nd: int = 1) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None or x is pd.NA else escape(str(x))
    return "–" if not np.isfinite(v) else f"{v:.{nd}f}"


def _g(x: Any) -> str:
    """A raw value for people: thousands separators, about four significant digits."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return _text(x)
    if not np.isfinite(v):
        return "–"
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:,.4g}"


def _i(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if not np.isfinite(v) else str(int(round(v)))


def _sort_head(i: int, label: str) -> str:
    """A sortable column header: a button on screen, plain text in print (Chromium drops form controls from the
    table header it repeats on each printed page)."""
    return (f'<button type="button" class="screen-only" data-col="{i}">{escape(label)}</button>'
            f'<span class="print-only">{escape(label)}</span>')


_treatment_words = T.treatment_words


def _anchor(code: str) -> str:
    return "unit-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(code))


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA else escape(str(x))


def rank_interval_columns(audit: pd.DataFrame) -> tuple[str | None, str | None, str | None]:
    """Find the lower, median and upper rank columns of an audit table (COINr-style ``Q5``/``Median``/``Q95``,
    or ``rank_q05``/``rank_median``/``rank_q95``, ``lo``/``hi``…). Missing ones are None."""
    cols = [str(c) for c in audit.columns]
    cols = [c for c in cols if "rank" in c.lower()] + [c for c in cols if "rank" not in c.lower()]
    lo = next((c for c in cols if _LO.search(c)), None)
    hi = next((c for c in cols if _HI.search(c)), None)
    med = next((c for c in cols if _MED.search(c)), None)
    return lo, med, hi


def _nominal_column(audit: pd.DataFrame) -> str | None:
    return next((str(c) for c in audit.columns if _NOM.search(str(c))), None)


def strengths_weaknesses(result: Result, k: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per unit, the ``k`` indicators where it ranks best (strengths) and worst (weaknesses).

    Returns two (units × k) tables of indicator codes; ties keep tree order; missing ranks never count.
    Vectorised: one stable argsort of the (units × indicators) rank matrix, NaN pushed to the end.
    """
    inds = list(result.framework.indicators)
    R = result.ranks.reindex(columns=inds).to_numpy(dtype=float, na_value=np.nan)
    k = min(k, len(inds))
    best = np.argsort(np.where(np.isnan(R), np.inf, R), axis=1, kind="stable")[:, :k]
    worst = np.argsort(np.where(np.isnan(R), np.inf, -R), axis=1, kind="stable")[:, :k]
    codes = np.asarray(inds, dtype=object)

    def frame(idx: np.ndarray, bad: np.ndarray) -> pd.DataFrame:
        c = codes[idx].astype(object)
        c[bad] = None
        return pd.DataFrame(c, index=result.ranks.index)

    nan_b = np.take_along_axis(np.isnan(R), best, axis=1)
    nan_w = np.take_along_axis(np.isnan(R), worst, axis=1)
    return frame(best, nan_b), frame(worst, nan_w)


_CSS = """
:root{--fg:#1b1b1b;--muted:#5a5a5a;--line:#d8d8d8;--accent:#0072B2;--bg2:#f6f7f9}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);margin:0;background:#fff}
header.top{padding:24px 32px 8px;border-bottom:3px solid var(--accent)}h1{margin:0 0 4px;font-size:26px}
.sub{color:var(--muted)}main{padding:0 32px 40px;max-width:1400px}nav.toc{padding:8px 32px;background:var(--bg2);
position:sticky;top:0;z-index:2;border-bottom:1px solid var(--line)}nav.toc a{margin-right:14px;color:var(--accent)}
h2{margin-top:36px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{margin:18px 0 6px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 12px}th,td{padding:3px 7px;border-bottom:1px solid var(--line);
text-align:left;vertical-align:top}th{background:var(--bg2)}td.n,th.n{text-align:right;white-space:nowrap;
font-variant-numeric:tabular-nums}th button{all:unset;cursor:pointer;font-weight:600}th button:focus{outline:2px solid var(--accent)}
th button::after{content:" \\2195";color:#999;font-size:10px}.scroll{overflow-x:auto}
.bar{display:inline-block;height:9px;background:var(--accent);margin-right:6px;vertical-align:middle}
.tier{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:11.5px;white-space:nowrap}td.u{white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px 18px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;break-inside:avoid;page-break-inside:avoid}
.card h4{margin:2px 0 6px}ol.rl{margin:0;padding-left:2.6em;font-size:12.5px}
.profile{border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:14px 0;break-inside:avoid;
page-break-inside:avoid}.profile h3{margin-top:0}.facts{color:var(--muted);font-size:12.5px}
.two{display:grid;grid-template-columns:minmax(280px,600px) 1fr;gap:14px}.sw{font-size:12.5px}
.sw h5{margin:6px 0 2px;font-size:12.5px}.sw ul{margin:0;padding-left:1.2em}.flag{color:#a34700;font-size:11px}
svg.chart{max-width:760px;height:auto;display:block}svg.small{max-width:600px}
svg text{font:11px system-ui,Arial,sans-serif;fill:#222}svg text.val{fill:#444}svg line.grid{stroke:#e3e3e3}
.note{background:#fff8e1;border-left:4px solid #E69F00;padding:6px 10px;margin:8px 0}
ul.tree{list-style:none;padding-left:1.1em;margin:2px 0}ul.tree li{margin:1px 0}code{font-size:12px}
.muted{color:var(--muted)}input[type=search]{padding:4px 8px;width:280px;margin:6px 0}
.sr{position:absolute;left:-9999px}
.print-only{display:none}figure.chart-fig{margin:0}table.notes td,ul.files li{overflow-wrap:anywhere}
@media (max-width:1800px){#ranking-table .wide{display:none}}
@media (max-width:700px){.two,.grid{grid-template-columns:minmax(0,1fr)}main,nav.toc,header.top{padding-left:12px;padding-right:12px}
input[type=search]{width:100%}nav.toc{position:static}}
nav.toc a{white-space:nowrap;display:inline-block}
@media print{nav.toc,.screen-only,input[type=search]{display:none!important}p.print-only{display:block}
span.print-only{display:inline}#ranking-table th{white-space:normal;vertical-align:bottom}
td.src{overflow-wrap:anywhere}.tier{font-size:7.5pt;padding:0 1.2mm}table.inds{font-size:7.5pt}
#ranking-table{font-size:8pt}#ranking-table td{overflow-wrap:normal}#ranking-table td.u{white-space:normal}
figure.tall{break-inside:avoid}figure.tall svg.chart{height:222mm;width:100%;max-width:100%}figure.newpage{break-before:page}
#ranking-table td.u .muted{white-space:nowrap}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font-size:10pt}main{max-width:none;padding:0}header.top{padding:0 0 2mm}h1{font-size:20pt}
h2{break-before:page;margin-top:0;font-size:15pt}h2.first{break-before:auto}h3{break-after:avoid}
table{font-size:8.5pt;margin:2mm 0}th,td{padding:1mm 1.2mm}thead{display:table-header-group}
tr{break-inside:avoid}.scroll{overflow:visible}th button::after{content:none}
#ranking-table .xp{display:none}#ranking-table{width:100%}#ranking-table td.u .muted{font-size:7.5pt}
.bar{display:none}svg.chart{max-width:100%}
#summary-page{break-after:page}
.profile{break-before:page;border:0;padding:0;margin:0}#profiles+p+.profile{break-before:auto}
.two{grid-template-columns:1fr 1fr}.grid{grid-template-columns:repeat(3,1fr)}
a{color:inherit;text-decoration:none}}
"""

_JS = """
(function(){
  function key(td){var v=td.getAttribute('data-v');if(v===null)v=td.textContent.trim();var n=parseFloat(v);
    return (v!==''&&!isNaN(n)&&isFinite(v))?n:v.toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th button').forEach(function(b,i){
      var col=parseInt(b.getAttribute('data-col'),10);
      b.addEventListener('click',function(){
        var asc=b.getAttribute('aria-sort')!=='ascending';
        t.querySelectorAll('th button').forEach(function(o){o.removeAttribute('aria-sort');});
        b.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,c){var x=key(a.cells[col]),y=key(c.cells[col]);
          if(x===''||x==='–')return 1;if(y===''||y==='–')return -1;
          if(typeof x!==typeof y){x=String(x);y=String(y);}
          return (x<y?-1:x>y?1:0)*(asc?1:-1);});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  var s=document.getElementById('rank-search');
  if(s){s.addEventListener('input',function(){var q=s.value.toLowerCase();
    document.querySelectorAll('#ranking-table tbody tr').forEach(function(r){
      r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});});}
})();
"""


class _Ctx:
    """Precomputed lookups shared by the sections."""

    def __init__(self, result: Result, audit: pd.DataFrame | None, provenance: pd.DataFrame | None) -> None:
        self.r = result
        fw = result.framework
        self.fw = fw
        self.names = dict(zip(fw.codes, fw.names, strict=True))
        self.meta = {n.code: n for n in getattr(result.spec, "framework", [])}
        self.unit_name = {u: (str(n) if n not in (None, "") else str(u)) for u, n in result.unit_names.items()}
        self.ranking = T.ranking_table(result, audit)
        self.pillars = result.pillars()
        self.n = len(result.units)
        self.tier_colour: dict[str, str] = {}
        if result.tiers is not None:
            labels = list(getattr(getattr(result.spec, "tiers", None), "labels", []) or [])
            labels += [t for t in pd.unique(result.tiers.dropna()) if t not in labels]
            self.tier_colour = {t: _svg.PALETTE[i % len(_svg.PALETTE)] for i, t in enumerate(labels)}
        self.audit = audit
        self.prov = None
        if provenance is not None and len(provenance):
            long = T.scores_long(result, provenance)
            self.prov = long[long["kind"] == "indicator"].set_index(["unit", "code"])
        self.group_cols = [c for c in result.groups.columns]

    def uname(self, u: Any) -> str:
        return self.unit_name.get(u, str(u))

    def tier_badge(self, t: Any) -> str:
        if t is None or t is pd.NA or (isinstance(t, float) and np.isnan(t)):
            return ""
        col = self.tier_colour.get(t, "#666")
        fg = "#111" if col in ("#F0E442", "#E69F00", "#56B4E9") else "#fff"
        return f'<span class="tier" style="background:{col};color:{fg}">{escape(str(t))}</span>'


# -- sections -------------------------------------------------------------------------------------------
def _summary(c: _Ctx) -> str:
    r, t = c.r, c.ranking
    s = t["score"].to_numpy(dtype=float)
    fin = s[np.isfinite(s)]
    top = [f"{escape(c.uname(u))} ({_f(v)})" for u, v in zip(t["unit"].head(3), t["score"].head(3), strict=False)]
    lead = f"{top[0]} leads" if top else "No unit is ranked"
    rest = f", followed by {' and '.join(top[1:])}" if len(top) > 1 else ""
    lines = [f"{c.n} units ranked. {lead}{rest}."]
    if fin.size:
        lines.append(f"Index scores range from {_f(fin.min())} to {_f(fin.max())} (median {_f(np.median(fin))}).")
    if r.excluded:
        lines.append(f"{len(r.excluded)} units were screened out for lack of data: "
                     f"{escape(', '.join(map(str, r.excluded)))}.")
    if r.tiers is not None:
        counts = r.tiers.value_counts()
        lines.append("Tiers: " + ", ".join(f"{escape(str(k))} {int(counts.get(k, 0))}" for k in c.tier_colour) + ".")
    return "<p>" + " ".join(lines) + "</p>"


_group_label = T.group_label


_group_lower = T.group_in_sentence


def _method_lines(c: _Ctx) -> list[str]:
    """The method in two sentences: what is aggregated, then how (from the run record's pipeline steps)."""
    r = c.r
    wts: Any = r.weights
    pill = ", ".join(f"{escape(c.names[p])} {100 * float(wts.loc[p, 'effective']):.0f} %"
                     if "effective" in r.weights.columns else escape(c.names[p]) for p in c.pillars)
    first = (f"{len(c.fw.indicators)} indicators in {len(c.pillars)} pillars (weights: {pill}); {c.n} units "
             f"ranked{f', {len(r.excluded)} screened out for lack of data' if r.excluded else ''}.")
    how = []
    for st in r.run_record.get("steps") or []:
        kind, m = st.get("step"), str(st.get("method") or "").replace("_", "-")
        if kind == "screen" and st.get("min_availability"):
            how.append(f"units with under {100 * float(st['min_availability']):.0f} % of the data are screened out")
        elif kind == "impute":
            how.append(f"missing values are imputed ({escape(m)})")
        elif kind == "treat":
            how.append("outliers are capped or log-transformed" + (" (COINr rule)" if m == "coinr" else ""))
        elif kind == "normalise":
            rng = (f" to {_f(st.get('l'), 0)}–{_f(st.get('u'), 0)}" if m == "min-max" and st.get("u") is not None
                   else "")
            how.append(f"indicators are {escape(m)} normalised{rng}")
        elif kind == "aggregate":
            how.append(f"scores are aggregated by weighted {escape(m)} mean up the framework")
    second = (how[0][:1].upper() + how[0][1:] + ("; " + "; ".join(how[1:]) if len(how) > 1 else "") + "."
              if how else "")
    return [first, second] if second else [first]


def _summary_section(c: _Ctx, top: int = 10) -> str:
    """One page: method in two lines, the generated summary, the top of the ranking, the pillar leaders."""
    r, t = c.r, c.ranking
    g0 = c.group_cols[0] if c.group_cols else None
    head = ("<th scope='col' class='n'>Rank</th><th scope='col'>Unit</th>"
            + (f"<th scope='col'>{escape(_group_label(g0))}</th>" if g0 else "")
            + "<th scope='col' class='n'>Score</th>" + ("<th scope='col'>Tier</th>" if r.tiers is not None else ""))
    rows = []
    for _, row in t.head(top).iterrows():
        rows.append(f"<tr><td class='n'>{_i(row['rank'])}</td><td>{escape(c.uname(row['unit']))}</td>"
                    + (f"<td>{_text(row[g0])}</td>" if g0 else "")
                    + f"<td class='n'>{_f(row['score'])}</td>"
                    + (f"<td>{c.tier_badge(row.get('tier'))}</td>" if r.tiers is not None else "") + "</tr>")
    k = min(3, c.n)
    lead_head = "<th scope='col'>Pillar</th>" + "".join(f"<th scope='col'>{j + 1}.</th>" for j in range(k))
    lead_rows = []
    for p in c.pillars:
        order = r.scores[p].sort_values(ascending=False, kind="stable", na_position="last")
        cells = "".join(f"<td>{escape(c.uname(u))} <span class='muted'>{_f(v)}</span></td>"
                        for u, v in list(order.items())[:k])
        lead_rows.append(f"<tr><th scope='row'>{escape(c.names[p])}</th>{cells}</tr>")
    method = "".join(f"<p class='method'>{x}</p>" for x in _method_lines(c))
    return (
        '<section id="summary-page"><h2 id="summary" class="first">Summary</h2>'
        + f"<h3>Method</h3>{method}<h3>Results</h3>{_summary(c)}"
        + f"<h3>Top {min(top, c.n)}</h3><div class='scroll'><table class='top'><thead><tr>{head}</tr></thead>"
          f"<tbody>{''.join(rows)}</tbody></table></div>"
        + f"<h3>Pillar leaders</h3><div class='scroll'><table class='leaders'><thead><tr>{lead_head}</tr>"
          f"</thead><tbody>{''.join(lead_rows)}</tbody></table></div>"
        + '<p class="screen-only muted">The full ranking follows; every unit has a profile below.</p></section>'
    )


def _ranking_section(c: _Ctx) -> str:
    r, t = c.r, c.ranking
    has_iv = "rank_lo" in t.columns and "rank_hi" in t.columns
    # (header, numeric, css class): "xp" = left out in print, "wide" = only on wide screens
    heads: list[tuple[str, bool, str]] = [("Rank", True, "")]
    if has_iv:
        heads.append(("Rank interval", True, ""))
    heads += [("Unit", False, "")]
    heads += [(_group_label(g), False, "" if k == 0 else "xp wide") for k, g in enumerate(c.group_cols)]
    heads += [("Score", True, "")]
    if r.tiers is not None:
        heads.append(("Tier", False, ""))
    heads += [(c.names[p], True, "") for p in c.pillars]
    sub_cols = [col for col in t.columns if str(col).startswith("rank_in_")]
    heads += [(T.column_labels(c.r, "Ranking", [col])[col], True, "xp wide") for col in sub_cols]
    th = "".join(f'<th scope="col" class="{" ".join(x for x in ("n" if num else "", cls) if x)}">'
                 f"{_sort_head(i, h)}</th>"
                 for i, (h, num, cls) in enumerate(heads))
    smax = float(np.nanmax(t["score"].to_numpy(dtype=float))) if c.n else 1.0
    ranges = {p: (np.nanmin(t[p].to_numpy(dtype=float)), np.nanmax(t[p].to_numpy(dtype=float))) for p in c.pillars}
    rows = []
    for _, row in t.iterrows():
        u = row["unit"]
        cells = [f'<td class="n">{_i(row["rank"])}</td>']
        if has_iv:
            cells.append(f'<td class="n" data-v="{_f(row["rank_hi"] - row["rank_lo"], 0)}">'
                         f'{_i(row["rank_lo"])}–{_i(row["rank_hi"])}</td>')
        cells.append(f'<td class="u" data-v="{escape(c.uname(u))}"><a href="#{_anchor(u)}">{escape(c.uname(u))}</a>'
                     f' <span class="muted">{escape(str(u))}</span></td>')
        cells += [("<td>" if k == 0 else '<td class="xp wide">') + f"{_text(row[g])}</td>"
                  for k, g in enumerate(c.group_cols)]
        sc = float(row["score"]) if pd.notna(row["score"]) else np.nan
        w = 0 if not np.isfinite(sc) or smax <= 0 else max(sc, 0) / smax * 60
        cells.append(f'<td class="n" data-v="{_f(sc, 4)}"><span class="bar" style="width:{w:.0f}px"></span>'
                     f"{_f(sc)}</td>")
        if r.tiers is not None:
            cells.append(f"<td>{c.tier_badge(row.get('tier'))}</td>")
        for p in c.pillars:
            bg, fg = _svg.heat_colour(float(row[p]) if pd.notna(row[p]) else np.nan, *ranges[p])
            cells.append(f'<td class="n" style="background:{bg};color:{fg}" data-v="{_f(row[p], 4)}" '
                         f'title="rank {_i(row[f"{p}_rank"])}">{_f(row[p])}</td>')
        cells += [f'<td class="n xp wide">{_i(row[col])}</td>' for col in sub_cols]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    order = t["unit"].tolist()
    colours = [c.tier_colour.get(str(x), _svg.PALETTE[0]) for x in (t["tier"] if r.tiers is not None else [None] * c.n)]
    desc = (f"Bar chart of the index score of all {c.n} units in rank order. "
            + "; ".join(f"{k + 1}. {c.uname(u)} {_f(v)}" for k, (u, v) in enumerate(
                zip(order, t["score"], strict=True)) if k < 10)
            + ("; the full list is in the ranking table." if c.n > 10 else "."))
    chart = _svg.bar_chart([c.uname(u) for u in order], t["score"].to_numpy(dtype=float),
                           title=f"{r.spec.name}: index scores", desc=desc, colours=colours,
                           legend=list(c.tier_colour.items()))
    return (
        '<h2 id="ranking">Ranking</h2>'
        + '<label for="rank-search" class="sr screen-only">Search units</label>'
          '<input id="rank-search" type="search" placeholder="Search units, groups, tiers…">'
        + '<p class="muted screen-only">Click a column header to sort. Pillar cells are shaded from the lowest '
          "(light) to the highest (dark) score on that pillar; hover for the pillar rank.</p>"
        + '<p class="muted print-only">Pillar scores are shaded from the lowest (light) to the highest (dark) '
          "score on that pillar; every unit has a profile page under City profiles.</p>"
        + f'<div class="scroll"><table id="ranking-table" class="sortable"><caption class="sr">Ranking of '
          f"{c.n} units</caption><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        + f'<figure class="chart-fig newpage{" tall" if c.n > 30 else ""}"><h3>Index scores</h3>{chart}</figure>'
    )


def _ranked_list_table(c: _Ctx, codes: list[str], caption: str) -> str:
    """Rows = rank positions; one column per node: 'unit (score)' in that node's rank order."""
    r = c.r
    cols = []
    for p in codes:
        order = r.scores[p].sort_values(ascending=False, kind="stable", na_position="last")
        cols.append([(u, r.ranks.at[u, p], v) for u, v in order.items()])
    head = "".join(f'<th scope="col">{escape(c.names[p])} <span class="muted">{escape(p)}</span></th>' for p in codes)
    body = []
    for i in range(c.n):
        cells = []
        for col in cols:
            u, rk, v = col[i]
            cells.append(f'<td><span class="muted">{_i(rk)}.</span> {escape(c.uname(u))} '
                         f'<span class="muted">{_f(v)}</span></td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table><caption class="sr">{escape(caption)}</caption><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table></div>")


def _pillars_section(c: _Ctx) -> str:
    out = ['<h2 id="pillars">Pillar rankings</h2>',
           "<p>Each column ranks all units on one pillar (rank. unit score).</p>"]
    for i in range(0, len(c.pillars), 5):
        out.append(_ranked_list_table(c, c.pillars[i:i + 5], "Pillar rankings"))
    for p in c.pillars:
        subs = [s for s in c.fw.children(p) if not c.fw.is_leaf[c.fw.index_of(s)]]
        if subs:
            out.append(f"<h3>Within {escape(c.names[p])}</h3>")
            for i in range(0, len(subs), 5):
                out.append(_ranked_list_table(c, subs[i:i + 5], f"Rankings within {c.names[p]}"))
    return "".join(out)


def _tiers_section(c: _Ctx) -> str:
    r = c.r
    out = ['<h2 id="tiers">Tiers</h2>']
    if r.tiers is None:
        return out[0] + "<p>This index defines no tiers (add <code>tiers:</code> to the spec).</p>"
    ts = getattr(r.spec, "tiers", None)
    if ts is not None:
        by = "rank cut-offs" if ts.by == "rank" else "score thresholds"
        out.append(f"<p>Tiers by {by} {escape(', '.join(_f(x, 0 if ts.by == 'rank' else 1) for x in ts.cutoffs))}."
                   "</p>")
    out.append('<div class="grid">')
    t = c.ranking
    for label in c.tier_colour:
        members = t[t["tier"] == label]
        sc = members["score"].to_numpy(dtype=float)
        rng = f"scores {_f(np.nanmin(sc))}–{_f(np.nanmax(sc))}" if len(sc) and np.isfinite(sc).any() else ""
        items = "".join(f'<li value="{_i(x.rank)}">{escape(c.uname(x.unit))} <span class="muted">{_f(x.score)}'
                        "</span></li>" for x in members.itertuples())
        out.append(f'<div class="card"><h4>{c.tier_badge(label)} {len(members)} units '
                   f'<span class="muted">{rng}</span></h4><ol class="rl">{items}</ol></div>')
    out.append("</div>")
    return "".join(out)


def _subrank_section(c: _Ctx) -> str:
    r = c.r
    out = ['<h2 id="subrankings">Sub-rankings</h2>']
    if r.subranks is None or r.subranks.shape[1] == 0:
        return out[0] + "<p>This index defines no sub-rankings (add <code>subrankings:</code> to the spec).</p>"
    for col in r.subranks.columns:
        g = str(col).removeprefix("rank_in_")
        out.append(f"<h3>Rank within {escape(_group_lower(g))}</h3>")
        if g not in r.groups.columns:
            continue
        df = pd.DataFrame({"unit": r.scores.index, "group": r.groups[g].reindex(r.scores.index).to_numpy(),
                           "sub": r.subranks[col].to_numpy(dtype=float), "score": r.index_scores.to_numpy()})
        out.append('<div class="grid">')
        singles = []
        for gv, members in df.groupby("group", sort=True, dropna=True):
            members = members.sort_values(["sub", "unit"], na_position="last", kind="stable")
            if len(members) == 1:
                singles.append(f"{escape(str(gv))} ({escape(c.uname(members['unit'].iloc[0]))})")
                continue
            items = "".join(f'<li value="{_i(x.sub)}">{escape(c.uname(x.unit))} <span class="muted">'
                            f"{_f(x.score)}</span></li>" for x in members.itertuples())
            out.append(f'<div class="card"><h4>{escape(str(gv))} <span class="muted">{len(members)} units</span>'
                       f'</h4><ol class="rl">{items}</ol></div>')
        out.append("</div>")
        if singles:
            out.append(f"<p>One unit only (rank 1 by definition): {', '.join(singles)}.</p>")
        n_none = int(df["group"].isna().sum())
        if n_none:
            out.append(f"<p class='muted'>{n_none} units have no {escape(_group_lower(g))} "
                       "and no sub-rank.</p>")
    return "".join(out)


_AUDIT_LABELS = {"nominal_rank": "Rank", "rank_mean": "Mean rank", "rank_median": "Median rank",
                 "rank_p05": "5th percentile", "rank_p95": "95th percentile", "Nominal": "Rank",
                 "Median": "Median rank", "Q5": "5th percentile", "Q95": "95th percentile", "Mean": "Mean rank"}


def _rank_value(v: Any) -> str:
    """A rank for reading: whole numbers without decimals (12), others with one (12.5)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return _text(v)
    return _f(x, 0 if np.isfinite(x) and x.is_integer() else 1)


def _audit_section(c: _Ctx) -> str:
    out = ['<h2 id="audit">Uncertainty: rank intervals</h2>']
    a = c.audit
    if a is None:
        return ""
    lo, med, hi = rank_interval_columns(a)
    t = c.ranking
    a2 = a.set_index("unit") if "unit" in a.columns else a
    nom_col = _nominal_column(a2)
    nominal = (a2[nom_col].reindex(t["unit"]).to_numpy(dtype=float) if nom_col
               else t["rank"].to_numpy(dtype=float, na_value=np.nan))
    if lo and hi:
        L = a2[lo].reindex(t["unit"]).to_numpy(dtype=float)
        H = a2[hi].reindex(t["unit"]).to_numpy(dtype=float)
        M = a2[med].reindex(t["unit"]).to_numpy(dtype=float) if med else None
        width = H - L
        ok = np.isfinite(width)
        # adjacent units (in nominal order) whose intervals overlap: their order is not settled
        overlap = (H[:-1] >= L[1:]) & ok[:-1] & ok[1:]
        share = float(overlap.mean()) if overlap.size else 0.0
        out.append(f"<p>Rank intervals ({escape(_AUDIT_LABELS.get(lo, lo))} to {escape(_AUDIT_LABELS.get(hi, hi))}) "
                   "from the uncertainty analysis. Median width "
                   f"{_f(np.nanmedian(width) if ok.any() else np.nan)} ranks, widest "
                   f"{_f(np.nanmax(width) if ok.any() else np.nan, 0)}. {100 * share:.0f} % of neighbouring "
                   "units have overlapping intervals: a difference of a place or two between them is not "
                   "meaningful.</p>")
        desc = ("Rank interval per unit, in nominal rank order: " + "; ".join(
            f"{c.uname(u)} rank {_i(n)} ({_i(l_)}–{_i(h_)})"
            for u, n, l_, h_ in list(zip(t["unit"], nominal, L, H, strict=True))[:15])
            + ("; the full list is in the table below." if c.n > 15 else "."))
        out.append(f'<figure class="chart-fig{" tall" if c.n > 30 else ""}">'
                   + _svg.interval_chart([c.uname(u) for u in t["unit"]], nominal, L, H, M,
                                         title="Rank intervals", desc=desc) + "</figure>")
        out.append('<p class="muted">Line: interval; dot: nominal rank; tick: median rank.</p>')
    else:
        out.append(f"<p>The audit table has no recognisable interval columns (columns: "
                   f"{escape(', '.join(map(str, a.columns)))}); it is shown as given.</p>")
    rank_cols = [col for col in a2.columns if "rank" in str(col).lower()]
    shown = a2[rank_cols or [col for col in a2.columns if str(col) != "name"]].reindex(t["unit"])
    head = "<th scope='col'>Unit</th>" + "".join(
        f"<th scope='col' class='n'>{escape(_AUDIT_LABELS.get(str(col), str(col)))}</th>" for col in shown.columns)
    body = "".join("<tr><td>" + escape(c.uname(u)) + "</td>" + "".join(
        f"<td class='n'>{_rank_value(v)}</td>" for v in row) + "</tr>" for u, row in zip(shown.index, shown.to_numpy(),
                                                                                         strict=True))
    out.append(f'<div class="scroll"><table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}'
               "</tbody></table></div>")
    return "".join(out)


def _value_line(c: _Ctx, u: str, code: str) -> str:
    r = c.r
    raw = r.datasets.get("Raw")
    rv = raw.at[u, code] if raw is not None and u in raw.index and code in raw.columns else np.nan
    unit = getattr(c.meta.get(code), "unit", None)
    bits = [f"<b>{escape(c.names[code])}</b> <span class='muted'>{escape(code)}</span>: rank "
            f"{_i(r.ranks.at[u, code])}/{c.n}, value {_g(rv)}{(' ' + escape(str(unit))) if unit else ''}"]
    if bool(r.imputed.at[u, code]) if code in r.imputed.columns else False:
        bits.append('<span class="flag">imputed</span>')
    flag = r.treat_flags.at[u, code] if code in r.treat_flags.columns else ""
    if isinstance(flag, str) and flag:
        bits.append(f'<span class="flag">{escape(_treatment_words(flag))}</span>')
    if c.prov is not None and (u, code) in c.prov.index:
        p: Any = c.prov.loc[(u, code)]
        src = ", ".join(x for x in (_text(p.get("source")), _text(p.get("data_year"))) if x)
        if src:
            bits.append(f"<span class='muted'>[{src}]</span>")
        scope = _text(p.get("scope"))
        if scope and scope.lower() != "city":
            bits.append(f'<span class="flag">{scope}-level value</span>')
    elif getattr(c.meta.get(code), "source", None):
        bits.append(f"<span class='muted'>[{escape(str(c.meta[code].source))}]</span>")
    return " ".join(bits)


def _aggregates_dfs(c: _Ctx, code: str) -> list[str]:
    """Aggregate codes under ``code`` (itself first) in depth-first tree order."""
    out = [code]
    for k in c.fw.children(code):
        if not c.fw.is_leaf[c.fw.index_of(k)]:
            out += _aggregates_dfs(c, k)
    return out


def _profiles_section(c: _Ctx) -> str:
    r, t = c.r, c.ranking
    nodes = _aggregates_dfs(c, c.r.index_code)[1:]
    med = r.scores[nodes].median(skipna=True)
    strong, weak = strengths_weaknesses(r, 3)
    iv = "rank_lo" in t.columns and "rank_hi" in t.columns
    out = ['<h2 id="profiles">City profiles</h2>',
           "<p>One profile per unit in rank order (a page each in print): pillar and sub-pillar scores against "
           f"the median of all "
           f"{c.n} units, ranks, and the three indicators where the unit ranks best (strengths) and worst "
           "(weaknesses).</p>"]
    for _, row in t.iterrows():
        u = row["unit"]
        groups = ", ".join(f"{escape(_group_label(g))}: {_text(row[g])}" for g in c.group_cols
                           if _text(row[g]) and str(row[g]).lower() != "nan")
        ivs = f" (interval {_i(row['rank_lo'])}–{_i(row['rank_hi'])})" if iv else ""
        subs = " · ".join(f"#{_i(row[col])} in {escape(_group_lower(col.removeprefix('rank_in_')))} "
                          f"{escape(str(row[col.removeprefix('rank_in_')]))}"
                          for col in t.columns if str(col).startswith("rank_in_")
                          and col.removeprefix("rank_in_") in t.columns and pd.notna(row[col]))
        vals = r.scores.loc[u, nodes].to_numpy(dtype=float)
        depth = {p: len(c.fw.ancestors(p)) for p in nodes}
        labels = ["· " * (depth[p] - 1) + c.names[p] for p in nodes]
        desc = (f"{c.uname(u)}: " + "; ".join(f"{c.names[p]} {_f(v)} (median {_f(med[p])}, rank "
                                             f"{_i(r.ranks.at[u, p])})" for p, v in zip(nodes, vals, strict=True)))
        chart = _svg.profile_chart(labels, vals, med.to_numpy(dtype=float),
                                   title=f"{c.uname(u)}: pillar scores vs the median", desc=desc)
        tbl = "".join(f"<tr><td>{escape(lab)}</td><td class='n'>{_f(v)}</td><td class='n'>{_i(r.ranks.at[u, p])}"
                      f"</td></tr>" for p, lab, v in zip(nodes, labels, vals, strict=True))
        sl = "".join(f"<li>{_value_line(c, u, code)}</li>" for code in strong.loc[u] if code)
        wl = "".join(f"<li>{_value_line(c, u, code)}</li>" for code in weak.loc[u] if code)
        n_imp = int(r.imputed.loc[u].astype(bool).sum()) if u in r.imputed.index else 0
        out.append(
            f'<section class="profile" id="{_anchor(u)}" aria-label="Profile of {escape(c.uname(u))}">'
            f"<h3>{_i(row['rank'])}. {escape(c.uname(u))} <span class='muted'>{escape(str(u))}</span> "
            f"{c.tier_badge(row.get('tier')) if r.tiers is not None else ''}</h3>"
            f"<p class='facts'>Score <b>{_f(row['score'])}</b>, rank <b>{_i(row['rank'])}</b>/{c.n}{ivs}"
            f"{(' · ' + subs) if subs else ''}{(' · ' + groups) if groups else ''}"
            f"{f' · {n_imp} imputed values' if n_imp else ''}</p>"
            f'<div class="two"><div>{chart}</div><div><table><thead><tr><th>Pillar</th><th class="n">Score</th>'
            f'<th class="n">Rank</th></tr></thead><tbody>{tbl}</tbody></table></div></div>'
            f'<div class="sw"><h5>Strengths</h5><ul>{sl}</ul><h5>Weaknesses</h5><ul>{wl}</ul></div></section>'
        )
    return "".join(out)


def _tree(c: _Ctx, code: str) -> str:
    r = c.r
    i = c.fw.index_of(code)
    eff: Any = r.weights.at[code, "effective"] if "effective" in r.weights.columns else np.nan
    arrow = "" if c.fw.direction[i] > 0 else " <span class='flag'>(lower is better)</span>"
    label = (f"<b>{escape(c.names[code])}</b> <code>{escape(code)}</code> <span class='muted'>weight "
             f"{_f(c.fw.weight[i], 2)}, {100 * float(eff):.1f} % of the index</span>{arrow}")
    kids = c.fw.children(code)
    if not kids:
        return f"<li>{label}</li>"
    return f"<li>{label}<ul class='tree'>{''.join(_tree(c, k) for k in kids)}</ul></li>"


_STEP_TEXT = {
    "screen": "units with too little data are screened out",
    "denominate": "indicators are divided by a size denominator",
    "impute": "missing values are imputed",
    "treat": "outliers are treated (winsorised or transformed)",
    "normalise": "indicators are brought to a common scale",
    "aggregate": "scores are aggregated up the framework tree",
}


def _methodology_section(c: _Ctx) -> str:
    r = c.r
    rec = r.run_record
    steps = []
    for s in rec.get("steps") or []:
        s = dict(s)
        kind = s.pop("step", "?")
        params = ", ".join(f"{k}={v}" for k, v in s.items() if v not in (None, {}, []))
        steps.append(f"<li><b>{escape(kind)}</b>: {escape(_STEP_TEXT.get(kind, ''))} "
                     f"<span class='muted'>({escape(params)})</span></li>")
    fwt = T.framework_table(r)
    inds = fwt[fwt["kind"] == "indicator"]
    has_def = bool(inds["description"].map(lambda v: bool(_text(v).strip())).any())  # no empty column
    rows = []
    x: Any
    for x in inds.itertuples():
        rows.append(
            f"<tr><td><code>{escape(x.code)}</code></td><td>{escape(str(x.name))}</td>"
            f"<td>{escape(c.names.get(x.parent, x.parent))}</td><td>{_text(x.unit)}</td>"
            f"<td>{'+' if x.direction > 0 else '−'}</td><td class='n'>{100 * x.effective_weight:.2f} %</td>"
            f"<td class='n'>{_f(100 * x.coverage, 0)} %</td><td class='n'>{x.n_imputed}</td>"
            f"<td class='n'>{x.n_treated}</td><td class='src'>{_text(x.source)}</td>"
            + (f"<td class='src'>{_text(x.description)}</td>" if has_def else "") + "</tr>")
    low = inds[inds["coverage"] < 0.65]
    cov_note = (f"<p class='note'>{len(low)} indicators cover fewer than 65 % of units (the JRC rule of thumb): "
                f"{escape(', '.join(low['code']))}.</p>" if len(low) else "")
    files = "".join(f"<li><code>{escape(str(f))}</code> <span class='muted'>sha256 {escape(str(h))}</span></li>"
                    for f, h in (rec.get("data_files") or {}).items())
    return (
        '<h2 id="methodology">Methodology</h2>'
        + (f"<p>{escape(str(r.spec.description))}</p>" if getattr(r.spec, "description", None) else "")
        + f"<h3>Pipeline</h3><ol>{''.join(steps)}</ol>"
        + f"<p>Weights used: <b>{escape(str(getattr(getattr(r.spec, 'weights', None), 'use', 'spec')))}</b>. "
          "Weights are rescaled to sum to one among siblings; a node's share of the index is the product of "
          "the rescaled weights on its path.</p>"
        + f"<h3>Framework</h3><ul class='tree'>{_tree(c, r.index_code)}</ul>"
        + "<h3>Indicators</h3>" + cov_note
        + "<div class='scroll'><table class='sortable inds'><thead><tr>"
        + "".join(f"<th scope='col'>{_sort_head(i, h)}</th>" for i, h in enumerate(
            ["Code", "Indicator", "Pillar", "Unit", "Dir.", "Weight", "Coverage", "Imputed", "Treated", "Source",
             *(["Definition"] if has_def else [])]))
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        + f"<h3>Data files</h3><ul class='files'>{files}</ul>"
    )


def _notes_section(c: _Ctx) -> str:
    notes = T.notes_table(c.r)
    keep = {"citation", "licence", "spec_hash (sha256)", "built_at (UTC)", "hubindex_version", "edition / spec version"}
    rows = "".join(f"<tr><th scope='row'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                   for k, v in zip(notes["key"], notes["value"], strict=True) if k in keep and v)
    return ('<h2 id="notes">Citation, licence and reproduction</h2>'
            f"<table class='notes'>{rows}</table>"
            "<p>Rebuild every number in this report from the spec and the data files above with "
            "<code>hubindex build SPEC</code>; download the data with <code>hubindex export SPEC --out DIR</code>."
            "</p>")


def render_html(result: Result, audit: pd.DataFrame | None = None,
                provenance: pd.DataFrame | None = None) -> str:
    """The report as one HTML string (no external resources)."""
    with _svg.document():
        return _render(result, audit, provenance)


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes and backslashes escaped; no ``</`` that could end the style)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ") + '"'


def _page_css(running: str) -> str:
    """The paged-media rules: A4, a running header (index name and edition) and "Page n of N" at the foot;
    no header on the first page, which carries the title."""
    box = "font:8pt system-ui,Arial,sans-serif;color:#5a5a5a"
    return ("@page{size:A4;margin:15mm 12mm 14mm 12mm;"
            f"@top-left{{content:{_css_string(running)};{box}}}"
            f'@bottom-right{{content:"Page " counter(page) " of " counter(pages);{box}}}'
            "}"
            "@page:first{@top-left{content:none}}")


def _render(result: Result, audit: pd.DataFrame | None, provenance: pd.DataFrame | None) -> str:
    c = _Ctx(result, audit, provenance)
    title = T.display_name(result)
    ver = getattr(result.spec, "version", None)
    rec = result.run_record
    running = f"{title}{f' — edition {ver}' if ver else ''}"
    toc = [("summary", "Summary"), ("ranking", "Ranking")] + ([("audit", "Rank intervals")] if audit is not None
                                                              else []) + [
        ("pillars", "Pillars"), ("tiers", "Tiers"), ("subrankings", "Sub-rankings"), ("profiles", "Profiles"),
        ("methodology", "Methodology"), ("notes", "Citation")]
    body = [
        _summary_section(c), _ranking_section(c), _audit_section(c), _pillars_section(c), _tiers_section(c),
        _subrank_section(c), _profiles_section(c), _methodology_section(c), _notes_section(c),
    ]
    sub = " · ".join(x for x in (f"Edition {escape(str(ver))}" if ver else "", f"{c.n} units ranked",
                                 f"built {escape(T.build_time(result)[:10])}") if x)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="hubindex {escape(str(rec.get("hubindex_version", "")))}">'
        f'<meta name="hubindex-spec-hash" content="{escape(str(rec.get("spec_hash", "")))}">'
        f"<title>{escape(title)} — report</title><style>{_CSS}{_page_css(running)}</style></head><body>"
        f'<header class="top"><h1>{escape(title)}{f" <span class=sub>{escape(str(ver))}</span>" if ver else ""}</h1>'
        f'<div class="sub">{sub}</div>'
        f'<div class="sub details">{escape(T.citation(result))} Built {escape(T.build_time(result))}.</div></header>'
        '<nav class="toc" aria-label="Sections">' + "".join(f'<a href="#{a}">{n}</a>' for a, n in toc) + "</nav>"
        f"<main>{''.join(body)}</main><script>{_JS}</script></body></html>\n"
    )


def write_report(result: Result, out_dir: str | Path, audit: pd.DataFrame | None = None, *,
                 pdf: bool = True, provenance: pd.DataFrame | None = None,
                 pdf_timeout: float = 120.0) -> ReportFiles:
    """Write ``report.html`` (and ``report.pdf`` when ``pdf`` and an engine exists) into ``out_dir``, atomically.

    ``audit``: optional table of rank intervals per unit (index or ``unit`` column = unit code; columns such as
    COINr's ``Nominal``/``Median``/``Q5``/``Q95``). ``provenance``: optional per-value source/year table. A
    missing PDF engine is not an error: the HTML is written and ``pdf_message`` says why no PDF was made.
    """
    from hubindex.publish.pdf import html_to_pdf

    if provenance is not None and "code" not in provenance.columns:
        provenance = T.normalise_provenance(provenance, unit_code=getattr(result.spec.data, "unit_code", None))
    html = render_html(result, audit, provenance)
    out_dir = Path(out_dir)
    produces = [HTML_NAME, PDF_NAME]  # a PDF of an earlier report would no longer match the HTML
    msg = "PDF not requested"
    made_pdf = False
    with publish_dir(out_dir, produces, "report") as tmp:
        (tmp / HTML_NAME).write_text(html, encoding="utf-8")
        if pdf:
            made_pdf, msg = html_to_pdf(tmp / HTML_NAME, tmp / PDF_NAME, timeout=pdf_timeout)
    return ReportFiles(out_dir / HTML_NAME, out_dir / PDF_NAME if made_pdf else None, msg)
