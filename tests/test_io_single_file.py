"""Single output files (``edition diff --out FILE``): replaced only when hubindex wrote them and nobody changed
them since (a hidden sidecar records size and SHA-256); a user's file is never overwritten."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from hubindex.errors import OutputError
from hubindex.io import atomic_write_text


def test_new_file_then_rewrite(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "d.csv"
    atomic_write_text(f, "a\n1\n")
    assert f.read_text() == "a\n1\n" and (tmp_path / "sub" / ".d.csv.hubindex.json").is_file()
    atomic_write_text(f, "a\n2\n")  # ours and unchanged: replaced
    assert f.read_text() == "a\n2\n"
    assert sorted(p.name for p in f.parent.iterdir()) == [".d.csv.hubindex.json", "d.csv"]  # no temp files left


def test_users_file_is_never_overwritten(tmp_path: Path) -> None:
    f = tmp_path / "thesis.csv"
    f.write_text("my data\n")
    with pytest.raises(OutputError, match="hubindex did not write it"):
        atomic_write_text(f, "x\n")
    assert f.read_text() == "my data\n"


def test_file_edited_after_hubindex_wrote_it_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    atomic_write_text(f, "a\n1\n")
    f.write_text("a\n9\n")  # same size, other content: the user's edit
    with pytest.raises(OutputError, match="changed since"):
        atomic_write_text(f, "a\n2\n")
    assert f.read_text() == "a\n9\n"


def test_forged_or_foreign_sidecar_does_not_make_a_file_ours(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("mine\n")
    (tmp_path / ".d.csv.hubindex.json").write_text('{"tool": "hubindex", "file": "d.csv", "size": 5, "sha256": "0"}')
    with pytest.raises(OutputError):
        atomic_write_text(f, "x\n")
    assert f.read_text() == "mine\n"


def test_symlink_target_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    link = tmp_path / "d.csv"
    os.symlink(victim, link)
    with pytest.raises(OutputError):
        atomic_write_text(link, "x\n")
    assert victim.read_text() == "keep\n" and link.is_symlink()


def test_disk_full_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "d.csv"
    atomic_write_text(f, "a\n1\n")
    real = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write_text(f, "a\n2\n")
    monkeypatch.setattr(os, "fsync", real)
    assert f.read_text() == "a\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".d.csv.hubindex.json", "d.csv"]
    atomic_write_text(f, "a\n3\n")  # still ours: the sidecar was not touched
    assert f.read_text() == "a\n3\n"
