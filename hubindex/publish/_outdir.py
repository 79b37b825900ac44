"""Atomic publication into a folder that may already hold other hubindex outputs.

A thin layer over :func:`hubindex.outdir.atomic_dir`: the new files are written into a temporary sibling folder,
the files of the earlier hubindex output that this write does not produce (say, the report when exporting) are
carried over first, then the folder gets a fresh manifest (the union of what hubindex wrote) and is swapped in
one rename. A failure at any point leaves the target exactly as it was. A folder holding anything hubindex did
not write (anything its manifest does not list) is never replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hubindex.outdir import atomic_dir


@contextmanager
def publish_dir(out: Path, produces: Iterable[str], command: str = "publish") -> Iterator[Path]:
    """Yield a temporary folder to write ``produces`` (relative paths) into; swap it in for ``out`` on success.

    Other hubindex outputs already in ``out`` are kept. Raises :class:`~hubindex.errors.OutputError` if ``out``
    is a file or holds anything hubindex did not write.
    """
    with atomic_dir(Path(out), command=command, produces=list(produces)) as tmp:
        yield tmp
