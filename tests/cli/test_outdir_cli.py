"""Every command that writes a folder refuses a folder hubindex did not write (exit 6, every foreign file
byte-identical), writes again where it wrote before, and turns a full disk into one clear message (exit 6)."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_input import _run, check_failure, write_assess, write_index, write_survey

from hubindex.cli import main
from hubindex.outdir import MANIFEST

Argv = Callable[[Path, Path], list[str]]  # (tmp, out) -> argv


COMMANDS: dict[str, Argv] = {
    "build": lambda d, out: ["build", str(write_index(d)), "--out", str(out)],
    "audit": lambda d, out: ["audit", str(write_index(d)), "--n", "8", "--no-sobol", "--out", str(out)],
    "audit-coherence": lambda d, out: ["audit", "coherence", str(write_index(d)), "--out", str(out)],
    "audit-uncertainty": lambda d, out: ["audit", "uncertainty", str(write_index(d)), "--n", "8", "--out", str(out)],
    "audit-sensitivity": lambda d, out: ["audit", "sensitivity", str(write_index(d)), "--n", "8", "--out",
                                         str(out)],
    "report": lambda d, out: ["report", str(write_index(d)), "--no-pdf", "--out", str(out)],
    "export": lambda d, out: ["export", str(write_index(d)), "--out", str(out)],
    "survey-estimate": lambda d, out: ["survey", "estimate", str(write_survey(d)), "--out", str(out)],
    "survey-assess": lambda d, out: ["survey", "assess", str(write_assess(d)), "--out", str(out)],
    "data-build": lambda d, out: ["data", "build", "--raw", str(d / "raw"), "--out", str(out)],
    "compare-published": lambda d, out: ["compare-published", "--list", "gfhr2025", "--out", str(out)],
}
# these can run for real on the tiny inputs (sensitivity needs two uncertain factors; data build the raw sources)
RUNNABLE = ["build", "audit", "audit-coherence", "audit-uncertainty", "report", "export", "survey-estimate",
            "survey-assess"]


def snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            out[rel] = ("link", os.readlink(p)) if p.is_symlink() else "dir" if p.is_dir() else p.read_bytes()
    return out


def foreign_home(d: Path) -> Path:
    """A folder of someone else's files that look like hubindex outputs, a nested .git and a link outside."""
    home = d / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text('{"auths": {}}')
    (home / "Docs").mkdir()
    (home / "Docs" / "thesis.docx").write_bytes(b"precious \x00 bytes")
    (home / "run.json").write_text('{"mine": true}')
    (home / "scores.csv").write_text("unit,x\nA,1\n")
    (home / "ranking.csv").write_text("rank,unit\n1,A\n")
    (home / "project" / ".git").mkdir(parents=True)
    (home / "project" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (d / "elsewhere").mkdir()
    (d / "elsewhere" / "config.json").write_text("{}")
    (home / "link").symlink_to(d / "elsewhere", target_is_directory=True)
    return home


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_every_writer_refuses_a_foreign_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str
                                               ) -> None:
    home = foreign_home(tmp_path)
    argv = COMMANDS[cmd](tmp_path, home)
    before = snapshot(tmp_path)
    code, out, err = _run(argv, capsys)
    check_failure(code, out, err, 6, ("home", "refusing to replace", "no hubindex manifest"))
    assert snapshot(tmp_path) == before  # every foreign file byte-identical, no temporary folder left


@pytest.mark.parametrize("cmd", list(COMMANDS))
def test_every_writer_refuses_hubindex_output_with_a_foreign_file(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str], cmd: str
                                                                 ) -> None:
    out_dir = tmp_path / "out"
    code, _, err = _run(COMMANDS["build"](tmp_path, out_dir), capsys)
    assert code == 0, err
    (out_dir / "reports" / "my_notes.txt").write_text("mine")
    argv = COMMANDS[cmd](tmp_path, out_dir)  # writes the command's inputs
    before = snapshot(tmp_path)
    code, out, err = _run(argv, capsys)
    check_failure(code, out, err, 6, ("reports/my_notes.txt", "1 entry hubindex did not write"))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("cmd", ["build", "report", "survey-estimate"])
def test_the_inputs_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str) -> None:
    argv = COMMANDS[cmd](tmp_path, tmp_path)
    before = snapshot(tmp_path)
    code, out, err = _run(argv, capsys)
    check_failure(code, out, err, 6, ("refusing to replace",))
    assert snapshot(tmp_path) == before


def test_issue_reproduction_out_dot_in_a_project(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """mkdir p && cd p && echo d > mydata.csv && mkdir .git && hubindex build && hubindex build --out ."""
    p = tmp_path / "p"
    p.mkdir()
    spec = write_index(tmp_path)
    (p / "mydata.csv").write_text("d\n")
    (p / ".git").mkdir()
    monkeypatch.chdir(p)
    code, _, err = _run(["build", str(spec)], capsys)
    assert code == 0, err
    before = snapshot(tmp_path)
    code, out, err = _run(["build", str(spec), "--out", "."], capsys)
    check_failure(code, out, err, 6, ("mydata.csv", ".git/", "hubindex-out/"))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("cmd", RUNNABLE)
def test_every_writer_writes_twice_into_its_own_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      cmd: str) -> None:
    out_dir = tmp_path / "out"
    for _ in range(2):
        code, _, err = _run(COMMANDS[cmd](tmp_path, out_dir), capsys)
        assert code == 0, err
    assert (out_dir / MANIFEST).is_file()
    assert [n for n in os.listdir(tmp_path) if n.startswith(".out.")] == []


def test_report_then_export_share_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    for cmd in ("report", "export", "report"):
        code, _, err = _run(COMMANDS[cmd](tmp_path, site), capsys)
        assert code == 0, err
    names = {p.name for p in site.iterdir()}
    assert {"report.html", "index.xlsx", "index.json", "csv", MANIFEST} <= names, names


# ---------------------------------------------------------------------------------------------------------------
# a full disk
# ---------------------------------------------------------------------------------------------------------------
def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CSV or text write into a temporary output folder fails as on a full disk."""
    def enospc() -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real_csv, real_text = pd.DataFrame.to_csv, Path.write_text

    def to_csv(self, path_or_buf=None, *a, **k):  # type: ignore[no-untyped-def]
        if path_or_buf is not None and ".tmp-" in str(path_or_buf):
            raise enospc()
        return real_csv(self, path_or_buf, *a, **k)

    def write_text(self, *a, **k):  # type: ignore[no-untyped-def]
        if ".tmp-" in str(self):
            raise enospc()
        return real_text(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    monkeypatch.setattr(Path, "write_text", write_text)


@pytest.mark.parametrize("cmd", RUNNABLE)
def test_disk_full_is_a_clear_error_and_keeps_the_previous_outputs(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch, cmd: str) -> None:
    out_dir = tmp_path / "out"
    code, _, err = _run(COMMANDS[cmd](tmp_path, out_dir), capsys)
    assert code == 0, err
    before = snapshot(tmp_path)
    _full_disk(monkeypatch)
    code, out, err = _run(COMMANDS[cmd](tmp_path, out_dir), capsys)
    check_failure(code, out, err, 6, (str(out_dir), "No space left on device", "unchanged"))
    monkeypatch.undo()
    assert snapshot(tmp_path) == before  # nothing half-written, no temporary folder left
    fresh = tmp_path / "fresh"
    _full_disk(monkeypatch)
    code, out, err = _run(COMMANDS[cmd](tmp_path, fresh), capsys)
    check_failure(code, out, err, 6, ("fresh", "No space left on device", "nothing was written"))
    assert not fresh.exists() and [n for n in os.listdir(tmp_path) if n.startswith(".fresh.")] == []


# ---------------------------------------------------------------------------------------------------------------
# property: a random tree with at least one entry hubindex did not write is refused by every command, unchanged
# ---------------------------------------------------------------------------------------------------------------
NAMES = st.sampled_from(["run.json", "config.json", "scores.csv", "ranking.csv", ".git", "reports", "a", "notes"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ours=st.booleans(), foreign=st.lists(st.tuples(PATHS, st.sampled_from(["file", "file", "dir", "link"])),
                                            min_size=1, max_size=4))
def test_property_every_command_refuses_any_foreign_tree(ours: bool, foreign: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        write_index(base), write_survey(base), write_assess(base)
        (base / "outside").mkdir()
        out = base / "out"
        if ours:
            assert main(COMMANDS["build"](base, out)) == 0
        out.mkdir(exist_ok=True)
        planted = False
        for rel, kind in foreign:
            p = out / rel
            if any((out / q).is_symlink() or (out / q).is_file() for q in Path(rel).parents if str(q) != "."):
                continue  # cannot put anything below a file or a link
            if os.path.lexists(p) and (kind != "file" or p.is_dir() or p.is_symlink()):
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            if kind == "file":
                p.write_bytes(b"the user's own " + rel.encode())  # never what hubindex wrote there
            elif kind == "dir":
                p.mkdir()
            else:
                p.symlink_to(base / "outside", target_is_directory=True)
            planted = True
        if not planted:
            return
        before = snapshot(base)
        for name, argv in COMMANDS.items():
            code = main(argv(base, out))
            assert code == 6, f"{name} exited {code} on a folder with a foreign entry"
            assert snapshot(base) == before, name
