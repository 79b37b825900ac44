"""Output folders (hubindex.outdir): only a folder hubindex wrote — proven by its manifest, never by file names —
is ever replaced; everything else is refused with exit code 6 and left byte-identical.

Attacked as a hostile user would: folders full of someone else's ``run.json``/``config.json``/``scores.csv``,
nested ``.git``, symbolic links out of the folder, forged manifests (missing files, ``../x``, absolute paths),
stale temporary folders, ``--out .``, a full disk.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubindex.errors import OutputError
from hubindex.outdir import MANIFEST, atomic_dir, check_output_dir, read_manifest, remove_owned, sha256_file

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------------
def tree(root: Path) -> dict[str, object]:
    """Everything under ``root`` without following links: file bytes, link targets, folders (None if absent)."""
    if not os.path.lexists(root):
        return {}
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def write_hub(out: Path, files: dict[str, str] | None = None, command: str = "test") -> None:
    """A hubindex output written the real way (through atomic_dir)."""
    files = {"run.json": "{}", "scores.csv": "unit,x\nA,1\n", "reports/Treat.csv": "a\n"} if files is None else files
    with atomic_dir(out, command) as tmp:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)


def siblings(out: Path) -> list[str]:
    if not out.parent.is_dir():
        return []
    return sorted(n for n in os.listdir(out.parent) if n.startswith(f".{out.name}."))


def refused(out: Path, *needles: str, writer: Callable[[Path], None] = write_hub) -> None:
    """``writer(out)`` is refused with OutputError naming ``needles``; the tree and the siblings are unchanged."""
    base = out.parent if out.parent.is_dir() else out.parent.parent
    before, sib = tree(base), siblings(out)
    with pytest.raises(OutputError) as ei:
        writer(out)
    msg = str(ei.value)
    assert ei.value.exit_code == 6
    for n in needles:
        assert n in msg, f"{n!r} not in {msg}"
    assert tree(base) == before
    assert siblings(out) == sib


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ---------------------------------------------------------------------------------------------------------------
# the manifest
# ---------------------------------------------------------------------------------------------------------------
def test_manifest_lists_every_file_with_size_and_sha256(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out, command="build")
    doc = json.loads((out / MANIFEST).read_text())
    assert doc["tool"] == "hubindex" and doc["format"] == 1 and doc["command"] == "build" and doc["version"]
    assert set(doc["files"]) == {"run.json", "scores.csv", "reports/Treat.csv"} and doc["dirs"] == ["reports"]
    for rel, info in doc["files"].items():
        assert info == {"size": (out / rel).stat().st_size, "sha256": sha256_file(out / rel)}
    assert siblings(out) == []


def test_rerun_into_own_folder_replaces_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    write_hub(out, {"new.csv": "n\n"})
    assert sorted(tree(out)) == [MANIFEST, "new.csv"]  # the old outputs are gone, nothing else was there
    assert siblings(out) == []


def test_empty_folder_is_used(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_hub(out)
    assert (out / "run.json").exists()


# ---------------------------------------------------------------------------------------------------------------
# folders hubindex did not write
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("names", [
    ["run.json"], ["config.json", "stats.csv"], ["scores.csv", "ranking.csv", "ranks.csv"], [".hubindex-publish"],
    ["build_info.json", "estimates.csv", "ratings.csv", "rank_intervals.csv", "sobol_indices.csv"],
])
def test_output_like_names_are_not_evidence(tmp_path: Path, names: list[str]) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    for n in names:
        (out / n).write_text(f"user's {n}")
    (out / "thesis.docx").write_bytes(b"precious")
    refused(out, str(out), "no hubindex manifest", f"{len(names) + 1} entries", "older hubindex")


def test_issue_case_project_folder_with_earlier_output_inside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """`hubindex build && hubindex build --out .` in a project folder: hubindex-out/ inside made '.' look ours."""
    p = tmp_path / "p"
    p.mkdir()
    (p / "mydata.csv").write_text("d\n")
    (p / ".git").mkdir()
    (p / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    write_hub(p / "hubindex-out")
    refused(p, "mydata.csv", ".git/", "hubindex-out/", "3 entries")
    monkeypatch.chdir(p)
    refused(Path("."), "mydata.csv")


def test_issue_case_docker_config_in_home(tmp_path: Path) -> None:
    h = tmp_path / "h"
    (h / ".docker").mkdir(parents=True)
    (h / "Docs").mkdir()
    (h / ".docker" / "config.json").write_text("{}")
    (h / "Docs" / "thesis.docx").write_text("t")
    refused(h, ".docker/", "Docs/")


def test_foreign_entries_beside_hubindex_outputs_are_named_and_counted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    (out / "notes.txt").write_text("mine")
    (out / "reports" / "my_chart.png").write_bytes(b"\x89PNG")
    (out / ".git" / "objects").mkdir(parents=True)
    (out / ".git" / "objects" / "ab").write_text("blob")
    (out / "reports" / "sub").mkdir()  # an empty folder hubindex did not make is the user's too
    refused(out, "4 entries hubindex did not write", ".git/", "notes.txt", "reports/my_chart.png", "reports/sub/")


def test_many_foreign_files_name_the_first_few(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    for i in range(12):
        (out / f"f{i:02d}.txt").write_text(str(i))
    before = tree(tmp_path)
    with pytest.raises(OutputError) as ei:
        write_hub(out)
    msg = str(ei.value)
    assert "12 entries" in msg and "f00.txt" in msg and "f11.txt" not in msg and "…" in msg
    assert tree(tmp_path) == before


def test_a_listed_file_the_user_edited_is_the_users_now(tmp_path: Path) -> None:
    """Policy: a file hubindex wrote but the user changed since (other size or SHA-256) blocks the replacement."""
    out = tmp_path / "out"
    write_hub(out)
    (out / "scores.csv").write_text("unit,x\nA,2\n")  # same size, other bytes: only the hash sees it
    refused(out, "1 file hubindex wrote was changed since", "scores.csv", "Move it away")
    (out / "scores.csv").write_text("unit,x\nA,1\n")  # put back: ours again
    write_hub(out)


def test_a_listed_file_replaced_by_a_link_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "scores.csv").write_text("unit,x\nA,1\n")  # the very bytes hubindex wrote
    out = tmp_path / "out"
    write_hub(out)
    (out / "scores.csv").unlink()
    (out / "scores.csv").symlink_to(outside / "scores.csv")
    refused(out, "scores.csv")
    assert (outside / "scores.csv").read_text() == "unit,x\nA,1\n"


def test_a_listed_folder_replaced_by_a_link_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Treat.csv").write_text("a\n")  # matches the manifest entry reports/Treat.csv byte for byte
    out = tmp_path / "out"
    write_hub(out)
    (out / "reports" / "Treat.csv").unlink()
    (out / "reports").rmdir()
    (out / "reports").symlink_to(outside, target_is_directory=True)
    refused(out, "reports")
    assert (outside / "Treat.csv").read_text() == "a\n"


def test_an_unlisted_link_to_a_folder_outside_is_refused_and_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "run.json").write_text("user")
    out = tmp_path / "out"
    write_hub(out)
    (out / "link").symlink_to(outside, target_is_directory=True)
    refused(out, "link")


def test_out_itself_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_hub(real)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    refused(link, "symbolic link")


def test_out_is_a_file_or_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    refused(tmp_path / "f", "not a folder")
    refused(tmp_path / "f" / "out", "is a file")


# ---------------------------------------------------------------------------------------------------------------
# forged manifests
# ---------------------------------------------------------------------------------------------------------------
def forge(out: Path, files: dict[str, dict[str, object]], **extra: object) -> None:
    out.mkdir(exist_ok=True)
    doc = {"tool": "hubindex", "format": 1, "version": "0", "command": "x", "files": files, "dirs": [], **extra}
    (out / MANIFEST).write_text(json.dumps(doc))


def entry(text: str) -> dict[str, object]:
    import hashlib

    return {"size": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def test_forged_manifest_listing_a_missing_file_does_not_cover_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    forge(out, {"run.json": entry("{}")})
    (out / "thesis.docx").write_text("precious")
    refused(out, "thesis.docx")
    (out / "thesis.docx").unlink()
    write_hub(out)  # a manifest listing only absent files, and nothing else: nothing of the user's to lose


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "..", "./run.json", "a//b", "a\\..\\x", ""])
def test_manifest_paths_outside_the_folder_are_not_honoured(tmp_path: Path, bad: str) -> None:
    (tmp_path / "x").write_text("victim")
    out = tmp_path / "out"
    forge(out, {bad: entry("victim")})
    refused(out, "not a path inside the folder")
    assert (tmp_path / "x").read_text() == "victim"
    assert remove_owned(out) is False and (tmp_path / "x").read_text() == "victim"


@pytest.mark.parametrize("doc", [b"not json", b"[]", b'{"tool": "other", "format": 1}',
                                 b'{"tool": "hubindex", "format": 99}',
                                 b'{"tool": "hubindex", "format": 1, "files": {"a": {"size": -1, "sha256": "0"}}}',
                                 b'{"tool": "hubindex", "format": 1, "files": [], "dirs": []}'])
def test_invalid_manifests_are_refused(tmp_path: Path, doc: bytes) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_bytes(doc)
    refused(out, MANIFEST)


def test_manifest_that_is_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_hub(real)
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).symlink_to(real / MANIFEST)
    refused(out, "not a regular file")


def test_remove_owned_never_deletes_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.csv").write_text("abc")
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "sub").symlink_to(outside, target_is_directory=True)
    forge(folder, {"sub/f.csv": entry("abc")})
    assert remove_owned(folder) is False
    assert (outside / "f.csv").read_text() == "abc" and (folder / "sub").is_symlink()


# ---------------------------------------------------------------------------------------------------------------
# the current folder and its parents, the root, the input's folder
# ---------------------------------------------------------------------------------------------------------------
def test_current_folder_and_its_parents_are_refused_even_when_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    refused(Path("."), "current folder")
    refused(Path(".."), "b/")  # holds the current folder: not hubindex's
    with pytest.raises(OutputError):
        check_output_dir(Path("/"))


def test_current_folder_with_only_hubindex_outputs_is_still_refused(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_hub(out)
    monkeypatch.chdir(out)
    refused(Path("."), "current folder")


# ---------------------------------------------------------------------------------------------------------------
# leftovers of a killed run
# ---------------------------------------------------------------------------------------------------------------
def test_killed_run_leaves_a_temp_folder_that_the_next_write_removes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    before = tree(out)
    code = ("import os, sys; from pathlib import Path; from hubindex.outdir import atomic_dir\n"
            "with atomic_dir(Path(sys.argv[1])) as t:\n"
            "    (t / 'half.csv').write_text('x')\n"
            "    os._exit(9)\n")
    assert subprocess.run([sys.executable, "-c", code, str(out)]).returncode == 9
    assert tree(out) == before  # the killed run changed nothing
    left = siblings(out)
    assert len(left) == 1 and left[0].startswith(".out.tmp-")
    write_hub(out, {"new.csv": "n"})
    assert siblings(out) == [] and (out / "new.csv").exists()


def test_stale_folders_are_removed_only_when_ours_and_abandoned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    dead, host = dead_pid(), socket.gethostname()
    marker = {"tool": "hubindex", "format": 1, "complete": False, "pid": dead, "host": host, "files": {}, "dirs": []}
    # a temp folder of a dead run, with the provisional marker: removed
    t1 = tmp_path / f".out.tmp-{dead}-aaaa"
    t1.mkdir()
    (t1 / MANIFEST).write_text(json.dumps(marker))
    (t1 / "half.csv").write_text("x")
    # the same without a marker: not ours, kept
    t2 = tmp_path / f".out.tmp-{dead}-bbbb"
    t2.mkdir()
    (t2 / "photo.jpg").write_text("user")
    # a temp folder of a live process (this test's parent): kept
    t3 = tmp_path / f".out.tmp-{os.getppid()}-cccc"
    t3.mkdir()
    (t3 / MANIFEST).write_text(json.dumps(marker))
    # an old (backup) folder of a dead run holding a file of the user's beside ours: only ours removed
    o1 = tmp_path / f".out.old-{dead}-dddd"
    write_hub(tmp_path / "scratch", {"run.json": "{}", "b.csv": "b"})
    os.replace(tmp_path / "scratch", o1)
    (o1 / "diary.txt").write_text("user")
    (o1 / "b.csv").write_text("B")  # listed but edited since (same size): the user's, kept
    # a temp folder with a marker written on another machine (shared disk): kept
    t4 = tmp_path / f".out.tmp-{dead}-eeee"
    t4.mkdir()
    (t4 / MANIFEST).write_text(json.dumps({**marker, "host": "elsewhere"}))
    # an older hubindex's backup name (no manifest): kept
    o2 = tmp_path / f".out.old-{dead}"
    o2.mkdir()
    (o2 / "run.json").write_text("{}")
    write_hub(out)
    assert not t1.exists()
    assert tree(t2) == {"photo.jpg": b"user"} and t3.exists() and t4.exists() and o2.exists()
    assert tree(o1) == {MANIFEST: (o1 / MANIFEST).read_bytes(), "diary.txt": b"user", "b.csv": b"B"}


def test_leftovers_never_make_the_target_ours(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    write_hub(tmp_path / "scratch")
    os.replace(tmp_path / "scratch", tmp_path / f".out.old-{dead_pid()}-ffff")
    refused(out, "thesis.docx")


# ---------------------------------------------------------------------------------------------------------------
# atomicity and errors while writing
# ---------------------------------------------------------------------------------------------------------------
def test_disk_full_while_writing_is_an_output_error_and_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    before = tree(tmp_path)

    def full(o: Path) -> None:
        with atomic_dir(o) as tmp:
            (tmp / "a.csv").write_text("x")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    refused(out, str(out), "No space left on device", "unchanged", writer=full)
    assert tree(tmp_path) == before
    fresh = tmp_path / "fresh"
    refused(fresh, "No space left on device", "nothing was written", writer=full)
    assert not fresh.exists()


def test_disk_full_while_writing_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hubindex.outdir as O

    out = tmp_path / "out"
    write_hub(out)
    real = O._dump

    def dump(path: Path, doc: dict[str, object]) -> None:
        if doc.get("complete"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, doc)

    monkeypatch.setattr(O, "_dump", dump)
    refused(out, "No space left on device", f"{out}/{MANIFEST}")


def test_disk_full_creating_the_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def mkdtemp(**k: object) -> str:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    refused(tmp_path / "out", "No space left on device")


def test_other_errors_propagate_and_change_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)
    before = tree(tmp_path)
    with pytest.raises(KeyboardInterrupt), atomic_dir(out) as tmp:
        (tmp / "a.csv").write_text("x")
        raise KeyboardInterrupt
    assert tree(tmp_path) == before


def test_a_file_that_appears_during_the_run_stops_the_swap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_hub(out)

    def sneaky(o: Path) -> None:
        with atomic_dir(o) as tmp:
            (tmp / "a.csv").write_text("x")
            (o / "late.txt").write_text("written by the user meanwhile")

    with pytest.raises(OutputError, match="late.txt"):
        sneaky(out)
    assert (out / "late.txt").read_text() == "written by the user meanwhile" and (out / "run.json").exists()
    assert siblings(out) == []


def test_nested_writes_share_the_outer_manifest(tmp_path: Path) -> None:
    out = tmp_path / "all"
    with atomic_dir(out, "audit all") as tmp:
        with atomic_dir(tmp / "coherence", "audit coherence") as inner:
            (inner / "stats.csv").write_text("s")
    assert sorted(tree(out)) == [MANIFEST, "coherence", "coherence/stats.csv"]
    m = read_manifest(out)
    assert m is not None and set(m.files) == {"coherence/stats.csv"}
    write_hub(out)  # and it is ours as a whole


# ---------------------------------------------------------------------------------------------------------------
# report + export share a folder (one mechanism: the manifest lists the union)
# ---------------------------------------------------------------------------------------------------------------
def test_publish_dir_carries_over_only_listed_files(tmp_path: Path) -> None:
    from hubindex.publish._outdir import publish_dir

    out = tmp_path / "site"
    with publish_dir(out, ["report.html"], "report") as tmp:
        (tmp / "report.html").write_text("<html>")
    with publish_dir(out, ["index.json", "csv"], "export") as tmp:
        (tmp / "index.json").write_text("{}")
        (tmp / "csv").mkdir()
        (tmp / "csv" / "a.csv").write_text("a")
    m = read_manifest(out)
    assert m is not None and set(m.files) == {"report.html", "index.json", "csv/a.csv"}
    with publish_dir(out, ["index.json", "csv"], "export") as tmp:  # a re-export drops its own stale files
        (tmp / "index.json").write_text("{}")
    assert sorted(tree(out)) == [MANIFEST, "index.json", "report.html"]
    (out / "report.html").write_text("<html>edited")
    with pytest.raises(OutputError, match="report.html"):
        with publish_dir(out, ["index.json"], "export") as tmp:
            (tmp / "index.json").write_text("{}")
    assert (out / "report.html").read_text() == "<html>edited"


def test_legacy_publish_marker_folder_is_refused_with_advice(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / ".hubindex-publish").write_text("This folder is written by hubindex and replaced atomically.\n")
    (out / "report.html").write_text("<html>")
    refused(out, "older hubindex", "remove it yourself or choose another folder")


# ---------------------------------------------------------------------------------------------------------------
# property: any tree with at least one file hubindex did not write is refused and left as it was
# ---------------------------------------------------------------------------------------------------------------
NAMES = st.sampled_from(["run.json", "config.json", "scores.csv", "ranking.csv", "stats.csv", ".git", "a", "b",
                         "reports", ".hubindex-publish", "notes.txt", "datasets"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)


def _plant(root: Path, outside: Path, rel: str, kind: str) -> bool:
    """Put a foreign ``kind`` at ``rel`` (never through a link); False when the path cannot hold it."""
    p = root / rel
    for q in [*reversed(p.relative_to(root).parents)][1:]:
        qq = root / q
        if qq.is_symlink() or (qq.exists() and not qq.is_dir()):
            return False
    if os.path.lexists(p) and (p.is_dir() or p.is_symlink()):
        return False
    p.parent.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        p.write_bytes(b"user's own bytes " + rel.encode())  # differs from anything hubindex wrote below
    elif kind == "link":
        if os.path.lexists(p):
            p.unlink()
        p.symlink_to(outside, target_is_directory=True)
    else:
        if os.path.lexists(p):
            return False
        p.mkdir()
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ours=st.booleans(), ours_files=st.lists(PATHS, max_size=4, unique=True),
       foreign=st.lists(st.tuples(PATHS, st.sampled_from(["file", "file", "link", "dir"])), min_size=1, max_size=4))
def test_property_any_foreign_entry_blocks_every_writer(ours: bool, ours_files: list[str],
                                                        foreign: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        outside = base / "outside"
        outside.mkdir()
        (outside / "run.json").write_text("outside")
        out = base / "out"
        out.mkdir()
        if ours:
            files: dict[str, str] = {}
            for rel in ours_files:  # keep a consistent tree: no file where another needs a folder
                if not any(rel.startswith(f + "/") or f.startswith(rel + "/") for f in files):
                    files[rel] = f"hub {rel}"
            write_hub(out, files)
        planted = [_plant(out, outside, rel, kind) for rel, kind in foreign]
        if not any(planted):
            return
        before, sib = tree(base), siblings(out)
        with pytest.raises(OutputError):
            check_output_dir(out)
        with pytest.raises(OutputError):
            write_hub(out)
        from hubindex.publish._outdir import publish_dir

        with pytest.raises(OutputError), publish_dir(out, ["report.html"], "report") as tmp:
            (tmp / "report.html").write_text("x")
        assert tree(base) == before and siblings(out) == sib


def test_shipped_dataset_folder_is_a_hubindex_output() -> None:
    """`hubindex data build` writes the package's data folder under the same rule: it carries a manifest."""
    data = REPO / "hubindex" / "datasets" / "data"
    m = read_manifest(data)
    assert m is not None and m.command == "data build"
    assert set(m.files) == {p.name for p in data.iterdir() if p.name != MANIFEST}
    check_output_dir(data)  # every listed table unchanged since the build: `data build` may replace it
