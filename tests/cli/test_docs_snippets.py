"""The Python examples in README.md and docs/*.md run as written (from a scratch folder, like a new user), and what
their comments say they give is checked on the objects they leave behind (CHECKS below)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SNIPPETS = [(md, i, m.group(1)) for md in DOCS
            for i, m in enumerate(re.finditer(r"```python\n(.*?)```", md.read_text(encoding="utf-8"), re.S))]
#: examples only compiled here: minutes of Monte Carlo / a headless browser for the PDF (run by hand, see report)
COMPILE_ONLY = {("audit.md", 0): "a 1,000,000-replication uncertainty run",
                ("publish.md", 0): "prints a PDF with chromium"}


def _readme(ns: dict[str, Any]) -> None:
    import hubindex

    res, spec = ns["result"], ns["spec"]
    cols = list(res.ranking().head(10).columns)  # "rank, unit, name, groups, score, tier, pillars"
    assert cols[:3] == ["rank", "unit", "name"] and "score" in cols and set(res.pillars()) <= set(cols)
    assert set(res.groups.columns) <= set(cols)
    # "one parameter changed, everything else identical": only normalise.l differs
    base = hubindex.load_spec("examples/asem/default.yaml")
    a, b = base.model_dump(exclude={"base_dir"}), spec.model_dump(exclude={"base_dir"})
    norm = next(i for i, st in enumerate(a["pipeline"]) if st["step"] == "normalise")
    assert b["pipeline"][norm]["l"] == 1 and a["pipeline"][norm]["l"] == 0
    b["pipeline"][norm]["l"] = 0
    assert a == b
    # min-max to [1, 100] is 1 + 0.99 × the [0, 100] value, and so is every arithmetic mean of such values
    np.testing.assert_allclose(hubindex.build(spec).scores["Index"], 1 + 0.99 * res.scores["Index"], atol=1e-9)


def _expert_cli(ns: dict[str, Any]) -> None:
    from hubindex.cli import main

    assert main(["survey", "assess", "assess.yaml", "--out", "expert-out"]) == 0  # the "then:" line
    assert any(Path("expert-out").iterdir())


def _expert_api(ns: dict[str, Any]) -> None:
    res, factors = ns["res"], ns["factors"]
    t = res.ratings.head()
    t.iloc[0, 0] = -1  # "tables are copies"
    assert res.ratings.iloc[0, 0] != -1
    assert -1 <= res.metrics["cv_spearman_centre"] <= 1
    pred = res.predict(factors)  # "model prediction for any factor table"
    assert isinstance(pred, pd.Series) and list(pred.index) == list(factors.index) and pred.notna().all()


def _store(ns: dict[str, Any]) -> None:
    d, ex = ns["d"], ns["ex"]
    both = d.dropna(subset=["rank_a", "rank_b"])
    assert (both["rank_change"] == both["rank_a"] - both["rank_b"]).all()
    for tab in (ex.score, ex.rank):  # "unit × factor, + total, residual"
        assert list(tab.columns[-2:]) == ["total", "residual"]
        parts = tab.drop(columns=["total", "residual"]).sum(axis=1) + tab["residual"]
        np.testing.assert_allclose(parts, tab["total"], atol=1e-9)


def _survey(ns: dict[str, Any]) -> None:
    from hubindex.survey import as_indicator

    ind = as_indicator(ns["res"].estimates, "anydigpayment")  # "pd.Series indexed by unit (attrs: provenance, n)"
    assert isinstance(ind, pd.Series) and ind.notna().all() and {"provenance", "n"} <= set(ind.attrs)


def _compare(ns: dict[str, Any]) -> None:
    from scipy.stats import spearmanr

    cmp, d = ns["cmp"], ns["d"]
    s = cmp.summary().set_index("list_id").loc["gfhr2025"]
    c = cmp.lists[0].cities
    # "Spearman on the overlap": the published and our ranks of the shared cities, recomputed here
    assert s["n_overlap"] == len(c) and s["spearman"] == spearmanr(c["published_rank"], c["our_rank"])[0]
    # "the largest gap": no city of the list has a larger |gap| than the first one explained
    assert abs(d["gap"]) == max(abs(x["gap"]) for x in cmp.lists[0].differences)
    assert d["swapped_with_names"] and d["pillars"]


def _engine(ns: dict[str, Any]) -> None:
    import hubindex

    spec, r2, r3, cold = ns["spec"], ns["r2"], ns["r3"], ns["cold"]
    # the cached rebuilds equal cold builds of the changed specs, bit for bit
    assert r2.scores.equals(hubindex.build(spec.with_step("normalise", l=1), cache=False).scores)
    assert r3.scores.equals(hubindex.build(spec.with_step("aggregate", method="median"), cache=False).scores)
    assert ns["r1"].scores.equals(cold.scores) and ns["r4"].scores.equals(cold.scores)


CHECKS: dict[tuple[str, int], Callable[[dict[str, Any]], None]] = {
    ("README.md", 0): _readme, ("expert.md", 0): _expert_cli, ("expert.md", 1): _expert_api, ("store.md", 0): _store,
    ("survey.md", 0): _survey, ("compare.md", 0): _compare, ("engine.md", 0): _engine}


def test_every_runnable_snippet_has_output_checks() -> None:
    runnable = {(md.name, i) for md, i, _ in SNIPPETS} - set(COMPILE_ONLY)
    assert runnable == set(CHECKS), "a new doc example needs a check of what it claims (CHECKS)"


def test_there_are_snippets() -> None:
    assert {md.name for md, _, _ in SNIPPETS} >= {"README.md", "store.md", "survey.md", "expert.md"}


@pytest.mark.parametrize(("md", "i", "code"), SNIPPETS, ids=[f"{md.name}-{i}" for md, i, _ in SNIPPETS])
def test_snippet_runs(md: Path, i: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile(code, f"{md.name}[{i}]", "exec")
    if (md.name, i) in COMPILE_ONLY:
        return
    if "findex_phl" in code and not (REPO.parent / "shared" / "data" / "raw" / "worldbank_findex_microdata").exists():
        pytest.skip("the Findex microdata (shared/data/raw) is not present")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "editions.duckdb"))
    (tmp_path / "examples").symlink_to(REPO / "examples")
    ns: dict[str, Any] = {"__name__": "__docs__"}
    exec(compiled, ns)  # noqa: S102 - the documentation's own code
    CHECKS[(md.name, i)](ns)
