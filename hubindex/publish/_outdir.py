"""Atomic publication into a folder that may already hold other hubindex outputs.

The new files are written into a temporary sibling folder (``hubindex.io.atomic_dir``); files already in the
target that this write does not produce (say, the report when exporting) are copied in first, then the whole
folder is swapped in one rename. A failure at any point leaves the target exactly as it was. A non-empty
folder that hubindex did not write is never replaced.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hubindex.errors import OutputError
from hubindex.io import atomic_dir

MARKER = ".hubindex-publish"
_BUILD_FILES = {"run.json", "scores.csv", "ranks.csv", "ranking.csv"}


def _is_ours(out: Path) -> bool:
    names = {p.name for p in out.iterdir()}
    return not names or MARKER in names or bool(_BUILD_FILES & names)


@contextmanager
def publish_dir(out: Path, produces: Iterable[str]) -> Iterator[Path]:
    """Yield a temporary folder to write ``produces`` (relative paths) into; swap it in for ``out`` on success.

    Other files already in ``out`` are kept. Raises :class:`OutputError` if ``out`` is a file or a non-empty
    folder without hubindex outputs.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; expected a folder for the outputs")
    if out.exists() and not _is_ours(out):
        raise OutputError(f"{out}: folder is not empty and holds no hubindex outputs; refusing to replace it "
                          "(choose a new or empty folder)")
    produced = {Path(p).parts[0] for p in produces}
    with atomic_dir(out) as tmp:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes 0700; give the folder the user's usual permissions
        if out.exists():
            for item in out.iterdir():
                if item.name in produced or item.name == MARKER:
                    continue
                dst = tmp / item.name
                if item.is_dir() and not item.is_symlink():
                    shutil.copytree(item, dst, symlinks=True)
                else:
                    shutil.copy2(item, dst, follow_symlinks=False)
        (tmp / MARKER).write_text("This folder is written by hubindex and replaced atomically on each write.\n")
        yield tmp
