"""The Python examples in README.md and docs/*.md run as written (from a scratch folder, like a new user)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SNIPPETS = [(md, i, m.group(1)) for md in DOCS
            for i, m in enumerate(re.finditer(r"```python\n(.*?)```", md.read_text(encoding="utf-8"), re.S))]
#: examples only compiled here: minutes of Monte Carlo / a headless browser for the PDF (run by hand, see report)
COMPILE_ONLY = {("audit.md", 0): "a 1,000,000-replication uncertainty run",
                ("publish.md", 0): "prints a PDF with chromium"}


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
    exec(compiled, {"__name__": "__docs__"})  # noqa: S102 - the documentation's own code
