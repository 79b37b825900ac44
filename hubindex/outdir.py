"""Output folders: written atomically, and only ever replaced when hubindex wrote everything in them.

Every folder a command writes (``build``, ``audit …``, ``report``, ``export``, ``survey estimate|assess``,
``data build``) carries a manifest, :data:`MANIFEST` (``.hubindex-manifest.json``)::

    {"tool": "hubindex", "format": 1, "version": "0.1.0", "command": "build",
     "files": {"run.json": {"size": 812, "sha256": "…"}, "reports/Treat.csv": {…}, …},
     "dirs": ["datasets", "reports"]}

The manifest is the only evidence that a folder is hubindex's output — file names never are (a user's
``config.json`` or ``run.json`` looks like ours). An existing ``--out`` folder may be replaced only when

* it is a real folder (not a symbolic link), neither the current folder nor one that contains it, and
* it is empty, or its manifest is valid and the folder holds nothing but what the manifest lists (plus the
  manifest): every other file, folder or symbolic link is *foreign*, and every listed file must still be a
  regular file with the recorded size and SHA-256 — a listed file the user has edited counts as the user's
  now, so the folder is refused too (the user moves the file away to keep it, or deletes it to discard it).

A listed path must be relative, without ``..``/``.``/empty parts or backslashes; a manifest listing anything
else (``../x``, ``/etc/passwd``) is invalid and its folder is refused. A listed file that is missing is fine
(nothing of the user's is lost). Otherwise the command stops with :class:`~hubindex.errors.OutputError` (exit
code 6) naming the folder, the first few entries in the way and how many there are. The tree is walked with
``lstat`` semantics: a symbolic link is never followed, neither when checking nor when deleting.

Writing (:func:`atomic_dir`): a temporary sibling ``.NAME.tmp-PID-XXXX`` gets a provisional marker first, the
command writes into it, the final manifest (every file and folder in it, hashed) replaces the marker, the
folder is re-checked, then ``NAME`` is renamed to ``.NAME.old-PID-XXXX``, the temporary folder renamed to
``NAME``, and the old folder removed file by file, deleting only the unchanged files its manifest lists.
A failure at any point (an exception, an interrupt, ``No space left on device``) removes the temporary folder
and leaves ``NAME`` as it was; an OS error becomes an :class:`OutputError` naming the folder and the cause.

Leftover ``.NAME.tmp-*``/``.NAME.old-*`` siblings of a killed run are removed on the next write to ``NAME``
when they carry hubindex's marker or manifest and the process that made them is gone (only what the
manifest lists, for an ``.old`` folder); they never count as evidence that ``NAME`` itself is ours.
Folders written by a hubindex without manifests are refused: remove them yourself or choose another folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubindex.errors import OutputError

__all__ = ["MANIFEST", "LEGACY_MARKER", "Manifest", "atomic_dir", "check_output_dir", "read_manifest",
           "write_manifest", "remove_owned"]

#: The manifest hubindex writes into every output folder.
MANIFEST = ".hubindex-manifest.json"
#: The marker ``report``/``export`` wrote before manifests (never evidence of ownership now).
LEGACY_MARKER = ".hubindex-publish"
FORMAT = 1
_SHOWN = 5  # foreign paths named in an error message
_WALK_LIMIT = 100_000  # entries looked at before giving up counting
_MAX_MANIFEST_BYTES = 64 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[A-Za-z0-9_]+")
# names an older hubindex wrote: used only to word the refusal, never to decide anything
_OLD_SIGNS = frozenset({LEGACY_MARKER, "run.json", "config.json", "build_info.json", "scores.csv", "ranking.csv",
                        "stats.csv", "estimates.csv", "ratings.csv"})

_active: list[Path] = []  # temporary folders being written now (nested writes go straight into them)


class _Invalid(Exception):
    """The manifest exists but is not a valid hubindex manifest (the reason is the message)."""


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: ``files`` maps a relative POSIX path to ``(size, sha256)``."""

    command: str
    version: str
    files: dict[str, tuple[int, str]] = field(default_factory=dict)
    dirs: frozenset[str] = frozenset()
    complete: bool = True

    def allowed_dirs(self) -> set[str]:
        """The listed folders and every ancestor folder of a listed file."""
        out = set(self.dirs)
        for p in (*self.files, *self.dirs):
            parts = p.split("/")
            out.update("/".join(parts[:i]) for i in range(1, len(parts)))
        return out


# ---------------------------------------------------------------------------------------------------------------
# the manifest
# ---------------------------------------------------------------------------------------------------------------
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hubindex")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without an install
        return "unknown"


def _valid_rel(p: object) -> bool:
    """A relative POSIX path inside the folder: no absolute path, no ``..``/``.``/empty part, no backslash."""
    if not isinstance(p, str) or not p or "\\" in p or "\x00" in p or p.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in p.split("/")) and p != MANIFEST


def sha256_file(path: Path, *, follow_links: bool = False) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks; a symbolic link is not followed (OSError) unless
    ``follow_links`` (input files may be links; output folders are checked without following any)."""
    h = hashlib.sha256()
    flags = os.O_RDONLY | (0 if follow_links else getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(os.open(path, flags), "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest; None when there is none. Raises :class:`_Invalid` for anything not ours."""
    path = Path(folder) / MANIFEST
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise _Invalid(f"{MANIFEST} is not a regular file")
    if st.st_size > _MAX_MANIFEST_BYTES:
        raise _Invalid(f"{MANIFEST} is larger than {_MAX_MANIFEST_BYTES >> 20} MiB")
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise _Invalid(f"{MANIFEST} is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("tool") != "hubindex" or doc.get("format") != FORMAT:
        raise _Invalid(f"{MANIFEST} is not a hubindex manifest of format {FORMAT}")
    files_doc, dirs_doc = doc.get("files", {}), doc.get("dirs", [])
    if not isinstance(files_doc, dict) or not isinstance(dirs_doc, list):
        raise _Invalid(f"{MANIFEST}: 'files' must be an object and 'dirs' a list")
    files: dict[str, tuple[int, str]] = {}
    for rel, info in files_doc.items():
        if not _valid_rel(rel):
            raise _Invalid(f"{MANIFEST} lists {rel!r}, which is not a path inside the folder")
        if not (isinstance(info, dict) and isinstance(info.get("size"), int) and info["size"] >= 0
                and isinstance(info.get("sha256"), str) and _HEX64.fullmatch(info["sha256"])):
            raise _Invalid(f"{MANIFEST}: {rel!r} needs a size (integer >= 0) and a sha256 (64 hex digits)")
        files[rel] = (info["size"], info["sha256"])
    for rel in dirs_doc:
        if not _valid_rel(rel):
            raise _Invalid(f"{MANIFEST} lists {rel!r}, which is not a path inside the folder")
    return Manifest(str(doc.get("command", "")), str(doc.get("version", "")), files, frozenset(dirs_doc),
                    doc.get("complete", True) is True)


def _dump(path: Path, doc: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def write_manifest(folder: Path, command: str) -> Manifest:
    """Hash every regular file under ``folder`` (symbolic links are not listed) and write :data:`MANIFEST`.

    Deterministic: the same files and command give the same bytes (no time stamp, sorted keys).
    """
    folder = Path(folder)
    files: dict[str, tuple[int, str]] = {}
    dirs: list[str] = []
    stack = [""]
    while stack:
        prefix = stack.pop()
        with os.scandir(folder / prefix if prefix else folder) as it:
            for e in it:
                rel = f"{prefix}{e.name}"
                if rel == MANIFEST:
                    continue
                if e.is_dir(follow_symlinks=False):
                    dirs.append(rel)
                    stack.append(rel + "/")
                elif e.is_file(follow_symlinks=False):
                    files[rel] = (e.stat(follow_symlinks=False).st_size, sha256_file(Path(e.path)))
    version = _version()
    doc = {"tool": "hubindex", "format": FORMAT, "version": version, "command": command, "complete": True,
           "files": {k: {"size": s, "sha256": h} for k, (s, h) in sorted(files.items())}, "dirs": sorted(dirs)}
    _dump(folder / MANIFEST, doc)
    return Manifest(command, version, files, frozenset(dirs))


# ---------------------------------------------------------------------------------------------------------------
# checking a folder
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class _Survey:
    """What stands in the way of replacing a folder."""

    foreign: list[str] = field(default_factory=list)  # first few foreign paths (folders end with '/')
    n_foreign: int = 0
    modified: list[str] = field(default_factory=list)
    n_modified: int = 0
    truncated: bool = False  # stopped counting after _WALK_LIMIT entries

    def add(self, kind: str, rel: str) -> None:
        if kind == "foreign":
            self.n_foreign += 1
            if len(self.foreign) < _SHOWN:
                self.foreign.append(rel)
        else:
            self.n_modified += 1
            if len(self.modified) < _SHOWN:
                self.modified.append(rel)


def _same(path: str, size: int, digest: str, st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_size == size and sha256_file(Path(path)) == digest


def _survey(folder: Path, m: Manifest) -> _Survey:
    """Walk ``folder`` without following symbolic links: entries not in ``m`` and listed files changed since."""
    s = _Survey()
    allowed = m.allowed_dirs()
    stack, seen = [""], 0
    while stack:
        prefix = stack.pop()
        with os.scandir(folder / prefix if prefix else folder) as it:
            for e in sorted(it, key=lambda e: e.name):
                seen += 1
                if seen > _WALK_LIMIT:
                    s.truncated = True
                    return s
                rel = f"{prefix}{e.name}"
                if rel == MANIFEST:
                    continue
                if e.is_dir(follow_symlinks=False):
                    if rel in allowed:
                        stack.append(rel + "/")
                    else:
                        s.add("foreign", rel + "/")
                elif rel in m.files:
                    size, digest = m.files[rel]
                    if not _same(e.path, size, digest, e.stat(follow_symlinks=False)):
                        s.add("modified", rel)
                else:
                    s.add("foreign", rel)
    return s


def _names(items: list[str], n: int, truncated: bool = False) -> str:
    more = ", …" if n > len(items) or truncated else ""
    return ", ".join(items) + more


def _is_cwd_or_above(out: Path) -> bool:
    try:
        cwd = Path(os.path.realpath(Path.cwd()))
    except OSError:
        return False
    real = Path(os.path.realpath(out))
    return real == cwd or real in cwd.parents


def _inspect(out: Path) -> Manifest | None:
    """Raise :class:`OutputError` unless ``out`` may be replaced; return its manifest (None if absent/empty)."""
    if os.path.islink(out):
        raise OutputError(f"{out}: is a symbolic link (to {os.readlink(out)}); refusing to replace it — give the "
                          "real folder's path or a new folder for --out")
    if not os.path.lexists(out):
        for parent in out.parents:
            if os.path.lexists(parent):
                if not parent.is_dir():
                    raise OutputError(f"{out}: cannot create the output folder: {parent} is a file, not a folder")
                break
        return None
    if not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; expected a folder for the outputs "
                          "(choose another --out)")
    with os.scandir(out) as it:
        top = sorted(e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in it)
    m = _owner(out, top) if top else None
    if _is_cwd_or_above(out):
        raise OutputError(f"{out}: is the current folder or contains it; refusing to replace it (hubindex "
                          "replaces its output folder as a whole) — choose a new folder for --out")
    return m


def _owner(out: Path, top: list[str]) -> Manifest:
    """The manifest of the non-empty folder ``out`` if it holds only hubindex's unchanged outputs, else raise."""
    try:
        m = read_manifest(out)
    except _Invalid as e:
        raise OutputError(f"{out}: refusing to replace this folder: {e}; hubindex replaces only folders it wrote "
                          f"itself — choose a new or empty folder for --out") from None
    if m is None:
        old = (" If it is the output of an older hubindex (before output manifests), remove it yourself or "
               "choose another folder." if {t.rstrip("/") for t in top} & _OLD_SIGNS else "")
        raise OutputError(f"{out}: refusing to replace this folder: it is not empty and has no hubindex manifest "
                          f"({MANIFEST}), so hubindex did not write it; it holds {len(top)} "
                          f"{'entry' if len(top) == 1 else 'entries'} ({_names(top[:_SHOWN], len(top))}). "
                          f"Choose a new or empty folder for --out.{old}")
    s = _survey(out, m)
    if s.n_foreign or s.truncated:
        n = f"at least {s.n_foreign}" if s.truncated else str(s.n_foreign)
        raise OutputError(f"{out}: refusing to replace this folder: besides hubindex's outputs it holds {n} "
                          f"{'entry' if s.n_foreign == 1 else 'entries'} hubindex did not write "
                          f"({_names(s.foreign, s.n_foreign, s.truncated)}). Move them away or choose another "
                          "folder for --out.")
    if s.n_modified:
        it = "it" if s.n_modified == 1 else "them"
        raise OutputError(f"{out}: refusing to replace this folder: {s.n_modified} "
                          f"{'file' if s.n_modified == 1 else 'files'} hubindex wrote "
                          f"{'was' if s.n_modified == 1 else 'were'} changed since "
                          f"({_names(s.modified, s.n_modified)}). Move {it} away to keep your changes (or delete "
                          f"{it}), or choose another folder for --out.")
    return m


def check_output_dir(out: Path) -> None:
    """Raise :class:`OutputError` unless ``out`` can be written: absent, empty, or hubindex's own output only.

    Call it before a long computation so that a bad ``--out`` fails fast; :func:`atomic_dir` checks again.
    """
    _check(Path(os.path.abspath(out)))


def _check(out: Path) -> Manifest | None:
    try:
        return _inspect(out)
    except PermissionError as e:
        raise OutputError(f"{out}: cannot be used as the output folder (permission denied: {e.filename})") from None
    except OSError as e:
        raise OutputError(f"{out}: cannot be used as the output folder ({e.strerror or e})") from None


# ---------------------------------------------------------------------------------------------------------------
# removing
# ---------------------------------------------------------------------------------------------------------------
def remove_owned(folder: Path) -> bool:
    """Delete what ``folder``'s manifest lists (regular files of the recorded size and SHA-256), then the folders
    left empty, then the manifest and ``folder`` if nothing else remains. Returns True when ``folder`` is gone.

    Nothing unlisted is touched and no symbolic link is followed; without a valid manifest nothing is deleted.
    """
    folder = Path(folder)
    try:
        m = read_manifest(folder)
    except (_Invalid, OSError):
        return False
    if m is None:
        return False
    for rel, (size, digest) in m.files.items():
        p = folder / rel
        try:
            if not _inside(folder, rel):
                continue  # below a symbolic link: the file is not in the folder
            if _same(str(p), size, digest, os.lstat(p)):  # changed since hubindex wrote it: the user's, kept
                os.unlink(p)
        except OSError:
            continue
    for rel in sorted(m.allowed_dirs(), key=lambda r: -r.count("/")):
        p = folder / rel
        try:
            if not os.path.islink(p):
                os.rmdir(p)  # only when empty
        except OSError:
            continue
    try:
        with os.scandir(folder) as it:
            rest = [e.name for e in it if e.name != MANIFEST]
        if rest:
            return False
        os.unlink(folder / MANIFEST)
        os.rmdir(folder)
    except OSError:
        return False
    return True


def _inside(folder: Path, rel: str) -> bool:
    """True when every folder between ``folder`` and ``folder/rel`` is a real folder (no symbolic link)."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        if not stat.S_ISDIR(os.lstat(folder.joinpath(*parts[:i])).st_mode):
            return False
    return True


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _clean_leftovers(out: Path) -> None:
    """Remove ``.NAME.tmp-*``/``.NAME.old-*`` siblings of ``out`` left by a killed run, when they are ours."""
    try:
        entries = list(os.scandir(out.parent))
    except OSError:
        return
    for e in entries:
        mt = _LEFTOVER.fullmatch(e.name)
        if mt is None or mt["name"] != out.name or not e.is_dir(follow_symlinks=False):
            continue
        path = Path(e.path)
        if path in _active or _alive(int(mt["pid"])):
            continue
        try:
            m = read_manifest(path)
        except (_Invalid, OSError):
            continue
        if m is None:
            continue
        if m.complete:
            remove_owned(path)
        elif mt["kind"] == "tmp" and _marker_host(path) == socket.gethostname():
            shutil.rmtree(path, ignore_errors=True)  # a write that never finished: all of it is ours


def _marker_host(path: Path) -> str | None:
    try:
        return json.loads((path / MANIFEST).read_bytes()).get("host")  # type: ignore[no-any-return]
    except (OSError, ValueError, AttributeError):
        return None


# ---------------------------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------------------------
def _cause(e: OSError, tmp: Path, out: Path) -> str:
    what = e.strerror or str(e)
    if e.filename is not None:
        name = str(e.filename)
        if name.startswith(str(tmp)):
            name = str(out) + name[len(str(tmp)):]
        return f"{name}: {what}"
    return what


def _carry_over(out: Path, m: Manifest, tmp: Path, produces: Iterable[str]) -> None:
    """Copy the files of ``out``'s manifest that this write does not produce into ``tmp``."""
    tops = {p.split("/")[0] for p in (Path(x).as_posix() for x in produces)}
    for rel in sorted(m.dirs):
        if rel.split("/")[0] not in tops:
            (tmp / rel).mkdir(parents=True, exist_ok=True)
    for rel in sorted(m.files):
        if rel.split("/")[0] in tops:
            continue
        src = out / rel
        if not os.path.lexists(src):
            continue  # listed but gone: nothing to keep
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, tmp / rel, follow_symlinks=False)


@contextmanager
def atomic_dir(out: Path, command: str = "hubindex", produces: Iterable[str] | None = None) -> Iterator[Path]:
    """Yield a temporary folder next to ``out``; on success it gets a manifest and replaces ``out`` in one rename.

    ``command`` is recorded in the manifest. With ``produces`` (relative paths), the files of an earlier hubindex
    output in ``out`` outside those paths are carried over (``report`` and ``export`` share a folder); without it
    the folder is replaced as a whole. Refuses (:class:`OutputError`) to replace anything but an empty folder or
    hubindex's own output (see the module docstring); an OS error while creating or writing the folder
    (permissions, a file in the way, a full disk) also becomes an :class:`OutputError` and leaves ``out`` as it
    was. Inside another ``atomic_dir``'s temporary folder (``audit all``) the folder is written directly: the
    outer write is atomic and its manifest covers everything.
    """
    out = Path(os.path.abspath(out))  # '.' or 'x/..' have no usable name/parent
    if any(out == t or t in out.parents for t in _active):
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{out}: cannot create the output folder ({e.strerror or e})") from None
        yield out
        return
    prior = _check(out)
    _clean_leftovers(out)
    tmp: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # mkdtemp makes 0700; the outputs get the user's usual permissions
        _dump(tmp / MANIFEST, {"tool": "hubindex", "format": FORMAT, "complete": False, "command": command,
                               "pid": os.getpid(), "host": socket.gethostname(), "files": {}, "dirs": []})
    except OSError as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: cannot create the output folder ({_cause(e, tmp or out, out)}); "
                          "nothing was written") from None
    _active.append(tmp)
    try:
        if produces is not None and prior is not None:
            _carry_over(out, prior, tmp, produces)
        yield tmp
        write_manifest(tmp, command)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: writing the outputs failed ({_cause(e, tmp, out)}); "
                          f"{'the folder is unchanged' if os.path.lexists(out) else 'nothing was written'}"
                          ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _active.remove(tmp)
    backup: Path | None = None
    try:
        _check(out)  # again: files may have appeared while the outputs were computed
        if os.path.lexists(out):
            backup = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(out, backup)
        os.replace(tmp, out)
    except BaseException as e:
        if backup is not None and not os.path.lexists(out):
            os.replace(backup, out)
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise OutputError(f"{out}: cannot replace the output folder ({_cause(e, tmp, out)}); it is unchanged"
                              ) from None
        raise
    if backup is not None and not remove_owned(backup):
        from hubindex.console import err_console

        err_console.print(f"[yellow]warning:[/yellow] {backup}: the previous outputs were replaced, but this "
                          "folder still holds files hubindex did not write (they appeared during the run); "
                          "they were kept there", highlight=False, soft_wrap=True)
