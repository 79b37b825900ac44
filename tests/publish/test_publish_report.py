"""The static report: one offline HTML file with every unit, sections, accessible charts; strengths and
weaknesses against an independent computation; rank-interval detection; PDF with and without an engine."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubindex.engine.result import Result
from hubindex.publish import pdf as P
from hubindex.publish.report import rank_interval_columns, render_html, strengths_weaknesses, write_report

_VOID = {"meta", "link", "br", "img", "input", "hr", "circle", "rect", "line", "path", "col", "wbr"}


class _Checker(HTMLParser):
    """Collects tags, checks nesting and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.svgs: list[dict[str, str | None]] = []
        self.count: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.count[tag] = self.count.get(tag, 0) + 1
        for k in ("src", "href", "xlink:href", "data", "action", "poster", "srcset"):
            if a.get(k):
                self.urls.append(str(a[k]))
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "svg":
            self.svgs.append(a)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.count[tag] = self.count.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def asem_audit(asem: Result) -> pd.DataFrame:
    """A rank-interval table in the shape hubindex.audit's summary() returns."""
    rk = asem.index_ranks.to_numpy(dtype=float)
    n = len(rk)
    return pd.DataFrame({"name": asem.unit_names.to_numpy(), "nominal_rank": rk, "rank_median": rk,
                         "rank_p05": np.maximum(1, rk - 3), "rank_p95": np.minimum(n, rk + 3)},
                        index=pd.Index(asem.units, name="unit"))


@pytest.fixture(scope="module")
def asem_html(asem: Result, asem_audit: pd.DataFrame) -> str:
    return render_html(asem, asem_audit)


def test_html_is_self_contained_and_well_formed(asem_html: str) -> None:
    c = _Checker()
    c.feed(asem_html)
    c.close()
    assert not c.errors, c.errors[:5]
    assert c.stack == [], c.stack
    # every reference is an in-page anchor: nothing to fetch, opens offline from disk
    assert c.urls and all(u.startswith("#") for u in c.urls), [u for u in c.urls if not u.startswith("#")][:5]
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", asem_html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", asem_html, re.I)
    assert "@import" not in asem_html and "<link" not in asem_html
    assert c.count.get("script", 0) == 1 and 'src="' not in asem_html
    # internal links resolve
    ids = set(c.ids)
    assert all(u[1:] in ids for u in c.urls), [u for u in c.urls if u[1:] not in ids][:5]
    assert len(ids) == len(c.ids), "duplicate ids"


def test_html_has_every_unit_and_section(asem: Result, asem_html: str) -> None:
    for code, name in asem.unit_names.items():
        assert f'id="unit-{code}"' in asem_html
        assert str(name) in asem_html
    for sec in ("ranking", "audit", "pillars", "tiers", "subrankings", "profiles", "methodology", "notes"):
        assert f'<h2 id="{sec}"' in asem_html
    body = re.search(r'<table id="ranking-table".*?<tbody>(.*?)</tbody>', asem_html, re.S)
    assert body is not None and body.group(1).count("<tr>") == len(asem.units)
    for code in asem.framework.indicators:  # indicator definitions in the methodology
        assert f"<code>{code}</code>" in asem_html
    assert asem.run_record["spec_hash"] in asem_html


def test_charts_have_text_alternatives(asem: Result, asem_html: str) -> None:
    c = _Checker()
    c.feed(asem_html)
    assert len(c.svgs) == 2 + len(asem.units)  # scores bar chart, interval chart, one profile chart per unit
    for a in c.svgs:
        assert a.get("role") == "img"
        t_id, d_id = str(a.get("aria-labelledby")).split()
        assert f'<title id="{t_id}">' in asem_html and f'<desc id="{d_id}">' in asem_html
    top = asem.unit_names[asem.index_ranks.idxmin()]
    assert re.search(rf"<desc id=\"d\d+\">Bar chart of the index score of all 51 units in rank order\. "
                     rf"1\. {re.escape(str(top))} ", asem_html)


def test_rank_interval_columns() -> None:
    coinr = pd.DataFrame(columns=["uCode", "Nominal", "Mean", "Median", "Q5", "Q95"])
    assert rank_interval_columns(coinr) == ("Q5", "Median", "Q95")
    ours = pd.DataFrame(columns=["name", "nominal_rank", "rank_mean", "rank_median", "rank_p05", "rank_p95",
                                 "score_median", "score_p05", "score_p95"])
    assert rank_interval_columns(ours) == ("rank_p05", "rank_median", "rank_p95")
    assert rank_interval_columns(pd.DataFrame(columns=["a", "b"])) == (None, None, None)


def test_interval_summary_counts_overlaps(asem: Result, asem_html: str) -> None:
    # intervals rank±3: every neighbour pair overlaps; median width = 6 except clipped at the ends
    assert "100 % of neighbouring units have overlapping intervals" in asem_html
    assert "Median width 6.0 ranks" in asem_html
    lo = asem.index_ranks.idxmin()
    assert re.search(rf'href="#unit-{lo}">[^<]+</a>.*?</td>', asem_html)


def test_strengths_weaknesses_hand_checked(tiny: Result) -> None:
    # U1 ranks: a 5, b 4, c 5, d 1 -> strengths d, b, then a (tie with c: tree order); weaknesses a, c, b
    s, w = strengths_weaknesses(tiny, 3)
    assert s.loc["U1"].tolist() == ["d", "b", "a"]
    assert w.loc["U1"].tolist() == ["a", "c", "b"]
    # U4 has no rank on b (missing): it never counts as a strength or weakness
    assert "b" not in s.loc["U4"].tolist() and "b" not in w.loc["U4"].tolist()
    assert s.loc["U4"].tolist() == ["a", "c", "d"] and w.loc["U4"].tolist() == ["d", "a", "c"]


def test_strengths_match_an_independent_computation(asem: Result) -> None:
    s, w = strengths_weaknesses(asem, 3)
    inds = list(asem.framework.indicators)
    for u in asem.units[::7]:
        r = asem.ranks.loc[u, inds].astype(float).dropna()
        order = sorted(r.index, key=lambda c: (r[c], inds.index(c)))
        assert s.loc[u].tolist() == order[:3]
        order_w = sorted(r.index, key=lambda c: (-r[c], inds.index(c)))
        assert w.loc[u].tolist() == order_w[:3]


def test_tiny_report_is_reproducible(tiny: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    html = render_html(tiny)
    assert 'id="audit"' not in html and "Built 2026-01-01T00:00:00Z" in html
    assert html.count('class="tier"') >= 5 and ">Top<" in html and ">Rest<" in html
    files = write_report(tiny, tmp_path / "r", pdf=False)
    assert files.pdf is None and files.pdf_message == "PDF not requested"
    assert files.html.read_text(encoding="utf-8") == html == render_html(tiny)


def test_pdf_degrades_gracefully_without_an_engine(tiny: Result, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBINDEX_CHROMIUM", "")
    monkeypatch.setattr(P, "_weasyprint", lambda html, pdf: (False, "weasyprint not installed"))
    files = write_report(tiny, tmp_path / "r", pdf=True)
    assert files.pdf is None and files.html.exists()
    assert "no PDF engine found" in files.pdf_message and "chromium" in files.pdf_message
    assert not (tmp_path / "r" / "report.pdf").exists()


def test_pdf_engine_failure_is_reported_not_raised(tiny: Result, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HUBINDEX_CHROMIUM", str(fake))
    monkeypatch.setattr(P, "_weasyprint", lambda html, pdf: (False, "weasyprint not installed"))
    files = write_report(tiny, tmp_path / "r", pdf=True)
    assert files.pdf is None
    assert "exited with code 3" in files.pdf_message and "cannot open display" in files.pdf_message


def test_report_failure_leaves_output_unchanged(tiny: Result, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "w"
    out = base / "r"
    write_report(tiny, out, pdf=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(html: Path, pdf: Path, timeout: float = 0) -> tuple[bool, str]:
        raise KeyboardInterrupt  # interrupted while printing: the HTML is already in the temp folder

    monkeypatch.setattr(P, "html_to_pdf", boom)
    with pytest.raises(KeyboardInterrupt):
        write_report(tiny, out, pdf=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert os.listdir(base) == ["r"]


@pytest.mark.browser
@pytest.mark.skipif(P.find_chromium() is None, reason="chromium not installed")
def test_pdf_with_chromium(tiny: Result, tmp_path: Path) -> None:
    files = write_report(tiny, tmp_path / "r", pdf=True)
    assert files.pdf is not None, files.pdf_message
    data = files.pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


# -- print layout ---------------------------------------------------------------------------------------
class _Text(HTMLParser):
    """Visible text of an HTML page, split by medium: what a screen shows vs what print shows."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[set[str]] = []
        self.screen: list[str] = []
        self.print: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(set((dict(attrs).get("class") or "").split()) | {f"<{tag}>"})

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        classes = set().union(*self.stack) if self.stack else set()
        if classes & {"<script>", "<style>", "<title>", "<desc>"}:
            return
        if "print-only" not in classes:
            self.screen.append(data)
        if "screen-only" not in classes:
            self.print.append(data)


def test_screen_words_are_screen_only(asem_html: str) -> None:
    t = _Text()
    t.feed(asem_html)
    screen, printed = " ".join(t.screen), " ".join(t.print)
    assert "Click a column header" in screen and "hover" in screen  # still said on screen …
    for words in ("Click a column header", "hover", "click", "Search units"):
        assert words.lower() not in printed.lower(), words  # … never on paper
    assert "every unit has a profile page" in printed


def test_summary_page_has_method_top_and_pillar_leaders(asem: Result, asem_html: str) -> None:
    summary = re.search(r'<section id="summary-page">(.*?)</section>', asem_html, re.S)
    assert summary is not None
    s = summary.group(1)
    assert "Method" in s and f"{len(asem.framework.indicators)} indicators in {len(asem.pillars())} pillars" in s
    top = asem.index_ranks.sort_values(kind="stable").index[:10]
    assert all(str(asem.unit_names[u]) in s for u in top)
    for p in asem.pillars():  # each pillar's leader, by an independent sort
        best = asem.scores[p].idxmax()
        assert re.search(rf"<th scope='row'>{re.escape(asem.framework.names[asem.framework.index_of(p)])}</th>"
                         rf"<td>{re.escape(str(asem.unit_names[best]))} ", s)
    assert "(hubindex default)" not in asem_html


def test_ranking_table_keeps_print_columns(asem: Result, asem_html: str) -> None:
    """In print, the ranking keeps rank, unit, first group, score, tier and the pillar scores; extra group
    columns and sub-ranks are marked to leave out (class xp) so the table fits the page width."""
    head = re.search(r'<table id="ranking-table".*?<thead><tr>(.*?)</tr></thead>', asem_html, re.S)
    assert head is not None
    ths = re.findall(r'<th scope="col" class="([^"]*)">.*?<span class="print-only">([^<]*)</span></th>', head.group(1))
    printed = [label for cls, label in ths if "xp" not in cls.split()]
    pillars = [asem.framework.names[asem.framework.index_of(p)] for p in asem.pillars()]
    assert printed[:2] == ["Rank", "Rank interval"] and "Unit" in printed and "Score" in printed
    assert printed[-len(pillars):] == pillars
    assert not any(label.startswith("Rank in ") for label in printed)  # sub-ranks: screen only
    assert "@page" in asem_html and "counter(page)" in asem_html and "thead{display:table-header-group}" in asem_html


@pytest.mark.browser
@pytest.mark.skipif(P.find_chromium() is None, reason="chromium not installed")
def test_pdf_pages_read_on_paper(tmp_path: Path) -> None:
    """The printed report of the shipped index (91 cities, tiers, rank intervals), page by page (text extracted
    with pypdf): a summary page, ranking pages whose repeated header names score, tier and every pillar, one
    page per unit profile, page numbers on every page, and no words that only make sense on a screen."""
    pypdf = pytest.importorskip("pypdf")
    from hubindex import build

    asem = build()  # the shipped Global Fintech Hub Index
    rk = asem.index_ranks.to_numpy(dtype=float)
    audit = pd.DataFrame({"rank_p05": np.maximum(1, rk - 3), "rank_p95": np.minimum(len(rk), rk + 3)},
                         index=pd.Index(asem.units, name="unit"))
    assert asem.tiers is not None
    files = write_report(asem, tmp_path / "r", audit, pdf=True)
    assert files.pdf is not None, files.pdf_message
    pages = [p.extract_text() or "" for p in pypdf.PdfReader(str(files.pdf)).pages]
    n, total = len(asem.units), len(pages)
    full = "\n".join(pages)
    for words in ("Click a column header", "hover", "Search units"):
        assert words not in full, words
    assert all(f"Page {i} of {total}" in t for i, t in enumerate(pages, start=1))
    assert "Summary" in pages[0] and "Top 10" in pages[0] and "Pillar leaders" in pages[0]
    pillars = [asem.framework.names[asem.framework.index_of(p)] for p in asem.pillars()]
    lines = [[x.strip() for x in t.split("\n")] for t in pages]
    first = next(i for i, t in enumerate(lines) if "Ranking" in t[:4])
    last = next(i for i, t in enumerate(lines) if "Index scores" in t) - 1  # the chart after the table
    assert first == 1 and last >= first
    for t in pages[first:last + 1]:
        flat = " ".join(t.split())
        assert "Score" in flat and "Tier" in flat and all(p in flat for p in pillars), flat[:300]
    ranked_rows = re.findall(r"(?m)^\s*(\d+)\s+\d+–\d+\s", "\n".join(pages[first:last + 1]))
    assert len(ranked_rows) >= n - 2  # every unit's row is on the ranking pages (text layout may merge a few)
    profile_pages = [i for i, t in enumerate(pages) if "Strengths" in t and "Weaknesses" in t]
    assert len(profile_pages) == n  # one page per unit profile …
    assert all(pages[i].count("Strengths") == 1 for i in profile_pages)  # … each on its own page
    for u in asem.units:  # … headed by the unit's rank, name and code
        head = f"{int(asem.index_ranks[u])}. {asem.unit_names[u]} {u}"
        assert sum(head in " ".join(pages[i].split()) for i in profile_pages) == 1, head
    assert total <= n + 40


@pytest.mark.browser
@pytest.mark.skipif(P.find_chromium() is None, reason="chromium not installed")
def test_html_fits_desktop_and_phone_windows(asem_html: str, tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """In Chromium: at 1,200 px the ranking table fits its column (no sideways scrolling) and keeps rank, unit,
    score and every pillar; at 390 px the page itself never scrolls sideways (wide tables scroll in their box)."""
    path = tmp_path / "report.html"
    path.write_text(asem_html, encoding="utf-8")
    for w, h in ((1200, 900), (390, 844)):
        pg = browser.new_page(viewport={"width": w, "height": h})
        try:
            pg.goto(path.resolve().as_uri())
            got = pg.evaluate("""() => { const t = document.getElementById('ranking-table');
                return {page: document.documentElement.scrollWidth, table: t.scrollWidth,
                        box: t.parentElement.clientWidth,
                        shown: [...t.querySelectorAll('thead th')].filter(x => x.offsetWidth > 0)
                               .map(x => x.querySelector('button').textContent)}; }""")
        finally:
            pg.close()
        assert got["page"] <= w, (w, got)
        if w == 1200:
            assert got["table"] <= got["box"], got
            assert {"Rank", "Unit", "Score", "Connectivity", "Sustainability"} <= set(got["shown"])
