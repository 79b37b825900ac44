"""The edition store: an embedded DuckDB file holding every published edition, immutable.

An *edition* is one published build: its spec, the hash of its data, the dataset vintage, the engine inputs
(raw indicator values, names, groups, denominators), the results (scores and ranks of every node, tiers,
sub-ranks), provenance and an audit summary.

Guarantees
----------
- **One transaction per publish.** All rows of an edition are written inside ``BEGIN … COMMIT``; a crash or a
  ``kill -9`` before the commit leaves the store exactly as it was (DuckDB only makes committed transactions
  durable, through its write-ahead log).
- **Readers see the old or the new edition, never half**: every read runs in its own read-only connection and
  transaction, after the commit or before it.
- **Never overwritten.** Rows are insert-only. Publishing an existing label fails; ``supersede=True`` adds a new
  *revision* of the label (the old one stays readable as ``label@1``) and the store log records who replaced what
  and why.
- **Schema version and migrations.** ``schema_info.schema_version`` names the layout; opening an older store
  migrates it forward in one transaction (``MIGRATIONS``); a newer store than this package knows is refused.

Concurrency: DuckDB lets one *process* hold a file for writing; while it does, other processes cannot open the
file at all. The store therefore opens a connection per operation and closes it straight after, and retries for
``timeout`` seconds when the file is locked (a publish takes well under a second). A web app should do the same:
``EditionStore(path, read_only=True)`` per request (or per cache refresh), never a connection held open.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import getpass
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from hubindex.errors import StoreBusyError, StoreDamagedError, StoreError

__all__ = ["EditionStore", "Edition", "default_store_path", "SCHEMA_VERSION", "MIGRATIONS", "parse_ref", "STORE_ENV"]

SCHEMA_VERSION = 2
PAUSE_ENV = "HUBINDEX_TEST_PUBLISH_PAUSE"  # tests only: sleep this many seconds mid-transaction


STORE_ENV = "HUBINDEX_STORE"


def default_store_path() -> Path:
    """``$HUBINDEX_STORE`` (a file, or a folder that gets ``editions.duckdb``), else ``editions.duckdb`` in the
    user's data folder (``platformdirs.user_data_dir("hubindex")``, e.g. ``~/.local/share/hubindex``); never
    inside the installed package."""
    env = os.environ.get(STORE_ENV, "").strip()
    if env:
        p = Path(env).expanduser()
        return p / "editions.duckdb" if p.is_dir() or env.endswith(("/", os.sep)) else p
    import platformdirs

    return Path(platformdirs.user_data_dir("hubindex", appauthor=False)) / "editions.duckdb"


# -- schema ----------------------------------------------------------------------------------------------------

_V1 = [
    "CREATE TABLE schema_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP, description VARCHAR)",
    """CREATE TABLE editions (
        edition_id INTEGER PRIMARY KEY,
        label VARCHAR NOT NULL,
        published_at TIMESTAMP NOT NULL,
        spec_name VARCHAR, spec_hash VARCHAR, spec_json VARCHAR,
        data_hash VARCHAR, data_files VARCHAR,
        vintage INTEGER, hubindex_version VARCHAR, index_code VARCHAR, n_units INTEGER,
        note VARCHAR, run_record VARCHAR, provenance VARCHAR, audit VARCHAR, framework VARCHAR,
        UNIQUE (label))""",
    """CREATE TABLE edition_units (edition_id INTEGER, unit VARCHAR, name VARCHAR, groups VARCHAR,
        score DOUBLE, rank DOUBLE, tier VARCHAR, subranks VARCHAR, PRIMARY KEY (edition_id, unit))""",
    """CREATE TABLE edition_scores (edition_id INTEGER, unit VARCHAR, code VARCHAR, score DOUBLE, rank DOUBLE,
        PRIMARY KEY (edition_id, unit, code))""",
    """CREATE TABLE edition_inputs (edition_id INTEGER, unit VARCHAR, name VARCHAR, groups VARCHAR,
        denominators VARCHAR, PRIMARY KEY (edition_id, unit))""",
    """CREATE TABLE edition_raw (edition_id INTEGER, unit VARCHAR, indicator VARCHAR, raw DOUBLE,
        imputed BOOLEAN, flag VARCHAR, PRIMARY KEY (edition_id, unit, indicator))""",
]

# v2: revisions (an explicit supersede adds label@2, …), edition kind (edition / backcast), the store log.
_V1_TO_V2 = [
    "ALTER TABLE editions ADD COLUMN revision INTEGER DEFAULT 1",
    "ALTER TABLE editions ADD COLUMN kind VARCHAR DEFAULT 'edition'",
    "ALTER TABLE editions ADD COLUMN based_on VARCHAR",
    # DuckDB cannot drop a UNIQUE constraint in place: copy the table without it
    "CREATE TABLE editions_v2 AS SELECT * FROM editions",
    "DROP TABLE editions",
    "ALTER TABLE editions_v2 RENAME TO editions",
    "CREATE UNIQUE INDEX editions_label_rev ON editions (label, revision)",
    "CREATE UNIQUE INDEX editions_id ON editions (edition_id)",
    """CREATE TABLE store_log (seq INTEGER PRIMARY KEY, logged_at TIMESTAMP, action VARCHAR, label VARCHAR,
        revision INTEGER, edition_id INTEGER, actor VARCHAR, detail VARCHAR)""",
]

MIGRATIONS: dict[int, tuple[str, list[str]]] = {
    1: ("initial layout: editions, units, scores, inputs, raw values", _V1),
    2: ("revisions and explicit supersede, edition kind, store log", _V1_TO_V2),
}


def parse_ref(ref: str | int) -> tuple[str, int | None]:
    """``"2025"`` → (``"2025"``, latest); ``"2025@1"`` → (``"2025"``, revision 1)."""
    s = str(ref)
    if "@" in s:
        label, rev = s.rsplit("@", 1)
        try:
            return label, int(rev)
        except ValueError:
            raise StoreError(f"edition reference '{s}': expected LABEL or LABEL@REVISION") from None
    return s, None


# -- editions as read back -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edition:
    """One edition as stored. Tables are indexed by unit code."""

    edition_id: int
    label: str
    revision: int
    kind: str
    meta: Mapping[str, Any]
    units: pd.DataFrame  # unit → name, groups…, score, rank, tier, rank_in_<group>
    scores: pd.DataFrame  # unit × node code
    ranks: pd.DataFrame  # unit × node code
    raw: pd.DataFrame  # unit × indicator (the engine input, before any step)
    imputed: pd.DataFrame
    flags: pd.DataFrame
    inputs: pd.DataFrame  # unit → name, groups (JSON), denominators (JSON)
    _spec: Any = field(default=None, repr=False)

    @property
    def ref(self) -> str:
        return f"{self.label}@{self.revision}"

    @property
    def vintage(self) -> int | None:
        v = self.meta.get("vintage")
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else int(v)

    @property
    def index_code(self) -> str:
        return str(self.meta["index_code"])

    @property
    def spec(self) -> Any:
        """The edition's IndexSpec (its data paths are as published; use :meth:`index_data` for the data)."""
        from hubindex.spec import spec_from_dict

        return spec_from_dict(json.loads(self.meta["spec_json"]), source=f"edition {self.ref}")

    @property
    def framework(self) -> Mapping[str, Any]:
        return json.loads(self.meta.get("framework") or "{}")

    @property
    def provenance(self) -> Any:
        p = self.meta.get("provenance")
        return json.loads(p) if p else None

    @property
    def audit(self) -> Any:
        p = self.meta.get("audit")
        return json.loads(p) if p else None

    def ranking(self) -> pd.DataFrame:
        """Rank, unit, name, groups, score, tier, sub-ranks; ordered by rank."""
        t = self.units.reset_index()
        return t.sort_values(["rank", "unit"], na_position="last", kind="stable").reset_index(drop=True)

    def index_data(self) -> Any:
        """The engine input (``IndexData``) this edition was built from: rebuilds need no data file."""
        from hubindex.engine.data import IndexData

        inp = self.inputs
        inds = list(self.raw.columns)
        units = np.array(inp.index.tolist(), dtype=object)
        X = self.raw.reindex(index=inp.index, columns=inds).to_numpy(dtype=float)
        groups_rows = [json.loads(g or "{}") for g in inp["groups"]]
        den_rows = [json.loads(d or "{}") for d in inp["denominators"]]
        gnames = list(dict.fromkeys(k for r in groups_rows for k in r))
        dnames = list(dict.fromkeys(k for r in den_rows for k in r))
        groups = {g: np.array([r.get(g) for r in groups_rows], dtype=object) for g in gnames}
        dens = {d: np.array([np.nan if r.get(d) is None else float(r[d]) for r in den_rows]) for d in dnames}
        names = np.array([n if n is not None else u for n, u in zip(inp["name"], units, strict=True)], dtype=object)
        return IndexData(units, names, tuple(inds), X, groups, dens)

    def rebuild(self, spec: Any = None) -> Any:
        """Run ``spec`` (default: the edition's own) on this edition's stored inputs; returns a ``Result``."""
        from hubindex.engine.pipeline import run

        s = self.spec if spec is None else spec
        return run(s, self.index_data(), data_hashes=json.loads(self.meta.get("data_files") or "{}"))


# -- the store -------------------------------------------------------------------------------------------------


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"


def _json(x: Any) -> str | None:
    if x is None:
        return None

    def default(o: Any) -> Any:
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return None if np.isnan(o) else float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, pd.DataFrame):
            return json.loads(o.to_json(orient="records"))
        if isinstance(o, pd.Series):
            return json.loads(o.to_json())
        if isinstance(o, _dt.date | _dt.datetime):
            return o.isoformat()
        if isinstance(o, Path):
            return str(o)
        return str(o)

    return json.dumps(x, default=default, sort_keys=True)


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        return None if isinstance(v, float) and np.isnan(v) else v
    return v


def data_hash(files: Mapping[str, str]) -> str:
    """One SHA-256 over the sorted ``{file: sha256}`` of a build (the edition's data identity)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{Path(name).name}={files[name]}\n".encode())
    return h.hexdigest()


def _duckdb_reason(e: Exception, path: Path) -> str:
    """DuckDB's message without its 'IO Error:' prefix and the repeated path, e.g. 'not a valid DuckDB file'."""
    import re

    msg = re.sub(r"^[A-Za-z ]*Error: ", "", str(e).strip())
    for p in dict.fromkeys((str(path), str(Path(os.path.abspath(path))), str(Path(path).resolve()))):
        msg = msg.replace(f'The file "{p}" exists, but it', "the file").replace(f'file "{p}"', "the file")
        msg = msg.replace(f'"{p}"', "the file")
    if "not a valid DuckDB database file" in msg:
        return "the file exists but is not a DuckDB edition store; choose another --store path"
    return msg


def _is_lock(e: Exception) -> bool:
    """DuckDB's 'Could not set lock on file … Conflicting lock is held' (not 'block', as in a corrupt block)."""
    import re

    return re.search(r"\block\b", str(e).lower()) is not None


class EditionStore:
    """Editions in one DuckDB file. Every method opens and closes its own connection."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, timeout: float = 10.0) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.read_only = read_only
        self.timeout = timeout
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"{self.path}: cannot create the edition store's folder ({e.strerror}); "
                                 f"set {STORE_ENV} or --store to a writable place") from None
            with self._connect(migrate=True):
                pass

    # -- connections -------------------------------------------------------------------------------------------
    @contextmanager
    def _connect(self, *, write: bool = False, migrate: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if write and self.read_only:
            raise StoreError(f"{self.path}: the store was opened read-only")
        ro = self.read_only and not write
        if ro and not self.path.exists():
            raise StoreError(f"{self.path}: no edition store here (publish an edition first)")
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=ro)
                break
            except duckdb.IOException as e:
                if _is_lock(e) and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
                    continue
                if _is_lock(e):
                    raise StoreBusyError(f"{self.path}: the edition store is busy (another process is writing "
                                         f"to it); waited {self.timeout:g} s — try again in a moment") from None
                raise self._failure(e, "opening") from None
            except duckdb.Error as e:
                raise self._failure(e, "opening") from None
        try:
            v = self._version(con)
            if v > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: store schema version {v} is newer than this hubindex knows "
                                 f"({SCHEMA_VERSION}); upgrade hubindex")
            if v < SCHEMA_VERSION:
                if ro or not migrate:
                    if ro:
                        raise StoreError(f"{self.path}: store schema version {v} needs migrating to "
                                         f"{SCHEMA_VERSION}; open it once read-write")
                else:
                    self._migrate(con, v)
            yield con
        except duckdb.Error as e:  # a truncated file, a corrupt block, a full disk: never a DuckDB traceback
            raise self._failure(e, "writing to" if write else "reading") from None
        finally:
            try:
                con.close()
            except duckdb.Error:
                pass  # the connection of a damaged file may fail to close; the error above says why

    def _failure(self, e: Exception, doing: str) -> StoreError:
        """A DuckDB error → a :class:`StoreError` naming the file, what happened and what to do."""
        reason = _duckdb_reason(e, self.path)
        low = str(e).lower()
        if _is_lock(e):
            return StoreBusyError(f"{self.path}: the edition store is busy (another process is writing to it) — "
                                  "try again in a moment")
        if "no space left" in low or "disk is full" in low or "disk full" in low:
            return StoreDamagedError(
                f"{self.path}: {doing} the edition store failed: the disk is full (no space left on the device "
                f"holding {self.path.parent}). Free some space there and run the command again.")
        if "file too large" in low:
            return StoreDamagedError(
                f"{self.path}: {doing} the edition store failed: the file would exceed the file-size limit of this "
                f"process or file system ({reason}).")
        if "catalog error" in low and "does not exist" in low:
            return StoreError(f"{self.path}: a DuckDB database but not a hubindex edition store ({reason}); "
                              "choose another --store path")
        if "not a valid duckdb" in low:
            return StoreError(f"{self.path}: {reason}")
        if "permission denied" in low:
            return StoreError(f"{self.path}: {doing} the edition store failed: permission denied; check the "
                              "file's permissions or choose another --store path")
        name = self.path.name
        return StoreDamagedError(
            f"{self.path}: the edition store is damaged ({doing} it failed: {reason}). Keep the file for "
            f"inspection: move it aside (mv {name} {name}.damaged), then restore it from a backup or publish the "
            "editions again (`hubindex edition init` rebuilds the shipped ones).")

    @staticmethod
    def _version(con: duckdb.DuckDBPyConnection) -> int:
        has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
                          ).fetchone()
        if not has or not has[0]:
            return 0
        row = con.execute("SELECT value FROM schema_info WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, con: duckdb.DuckDBPyConnection, current: int) -> None:
        """Apply migrations ``current+1 … SCHEMA_VERSION`` in one transaction."""
        con.execute("BEGIN TRANSACTION")
        try:
            for v in range(current + 1, SCHEMA_VERSION + 1):
                desc, stmts = MIGRATIONS[v]
                for s in stmts:
                    con.execute(s)
                if v == 1:
                    con.execute("INSERT INTO schema_info VALUES ('schema_version', '1')")
                else:
                    con.execute("UPDATE schema_info SET value = ? WHERE key = 'schema_version'", [str(v)])
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [v, _now(), desc])
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise

    @property
    def schema_version(self) -> int:
        with self._connect() as con:
            return self._version(con)

    # -- writing -----------------------------------------------------------------------------------------------
    def publish(self, result: Any, label: str, *, data: Any = None, vintage: int | None = None,
                note: str | None = None, provenance: Any = None, audit: Any = None, kind: str = "edition",
                based_on: str | None = None, supersede: bool = False, reason: str | None = None,
                _hook: Callable[[], None] | None = None) -> Edition:
        """Publish ``result`` (a ``Result``) as edition ``label`` in one transaction; returns it as stored.

        ``data`` is the engine input (``IndexData``) the result was built from; without it the raw table of the
        result is stored (units screened out keep their raw values but lose their group columns).
        ``supersede=True`` (with a ``reason``) adds a new revision of an existing label; without it an existing
        label is an error. ``audit`` defaults to a summary computed from the result.
        """
        label = str(label).strip()
        if not label or "@" in label:
            raise StoreError(f"edition label {label!r}: expected a non-empty name without '@'")
        if supersede and not reason:
            raise StoreError("supersede needs a reason (it is written to the store log)")
        tables = _edition_tables(result, data)
        rr = dict(result.run_record)
        files = dict(rr.get("data_files") or {})
        fw = result.framework
        framework = {"codes": list(fw.codes), "names": list(fw.names),
                     "parent": [fw.parent_of(c) for c in fw.codes], "level": [int(x) for x in fw.level],
                     "weight": [float(x) for x in fw.weight], "direction": [int(x) for x in fw.direction],
                     "indicators": list(fw.indicators), "root": fw.root}
        if audit is None:
            audit = audit_summary(result)
        revision: int | None = None
        try:
            with self._connect(write=True, migrate=True) as con:
                # a damaged store is refused before anything is added to it (inserts alone would not read the
                # damaged blocks, and the user would never learn of them)
                _read_every_block(con)
                con.execute("BEGIN TRANSACTION")
                try:
                    row = con.execute("SELECT max(revision) FROM editions WHERE label = ?", [label]).fetchone()
                    prev = row[0] if row else None
                    if prev is not None and not supersede:
                        raise StoreError(f"edition '{label}' exists (revision {prev}); editions are never overwritten. "
                                         "Publish under a new label, or supersede it explicitly with a reason.")
                    if prev is None and supersede:
                        raise StoreError(f"cannot supersede edition '{label}': there is no such edition")
                    revision = 1 if prev is None else int(prev) + 1
                    eid = _scalar(con, "SELECT coalesce(max(edition_id), 0) + 1 FROM editions")
                    con.execute(
                        """INSERT INTO editions (edition_id, label, published_at, spec_name, spec_hash, spec_json,
                           data_hash, data_files, vintage, hubindex_version, index_code, n_units, note, run_record,
                           provenance, audit, framework, revision, kind, based_on)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [eid, label, _now(), rr.get("spec_name"), rr.get("spec_hash"),
                         result.spec.model_dump_json(exclude={"base_dir"}), data_hash(files), _json(files),
                         vintage, rr.get("hubindex_version"), fw.root, len(result.scores), note, _json(rr),
                         _json(provenance), _json(audit), _json(framework), revision, kind, based_on])
                    for name, df in tables.items():
                        df = df.copy()
                        df.insert(0, "edition_id", eid)
                        con.register("_df", df)
                        con.execute(f"INSERT INTO {name} SELECT * FROM _df")
                        con.unregister("_df")
                        if name == "edition_units":
                            _pause_for_tests()
                            if _hook is not None:
                                _hook()
                    seq = _scalar(con, "SELECT coalesce(max(seq), 0) + 1 FROM store_log")
                    action = "supersede" if supersede else "publish"
                    detail = {"reason": reason, "replaces": f"{label}@{prev}"} if supersede else {"note": note}
                    detail |= {"spec_hash": rr.get("spec_hash"), "data_hash": data_hash(files), "kind": kind}
                    con.execute("INSERT INTO store_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [seq, _now(), action, label, revision, eid, _actor(), _json(detail)])
                    con.execute("COMMIT")
                except BaseException:
                    _rollback(con)  # a failed write (disk full) has already ended the transaction: keep its error
                    raise
        except StoreDamagedError as e:  # the disk filled up, a block could not be written: say where things stand
            raise StoreDamagedError(f"publishing edition '{label}': {e} {self._after_failed_publish(label, revision)}"
                                    ) from None
        return self.get(f"{label}@{revision}")

    def _after_failed_publish(self, label: str, revision: int | None) -> str:
        """What a failed publish left: checked in the store, never assumed."""
        if revision is None:
            return f"Nothing was written: edition '{label}' was not published."
        try:
            self._resolve(f"{label}@{revision}")
        except (StoreBusyError, StoreDamagedError):
            return "Whether the edition was committed could not be checked (the store cannot be read now)."
        except StoreError:  # no such edition
            return (f"Edition '{label}' was not published: the store holds what it held before (nothing "
                    "half-written).")
        return f"Edition {label}@{revision} was committed before the failure and is in the store."

    # -- reading -----------------------------------------------------------------------------------------------
    def verify(self) -> int:
        """Read every row of every table: DuckDB checks each block's checksum as it reads it, so a truncated file
        or a corrupt block raises :class:`StoreDamagedError` here (at start-up), not later on some request.
        Returns the number of editions (all revisions)."""
        if not self.path.exists():
            raise StoreError(f"{self.path}: no edition store here (publish an edition first)")
        with self._connect() as con:
            _read_every_block(con)
            return _scalar(con, "SELECT count(*) FROM editions")

    def list(self, *, all_revisions: bool = False) -> pd.DataFrame:
        """One row per edition (latest revision of each label unless ``all_revisions``), oldest first."""
        cols = ["label", "revision", "kind", "vintage", "published_at", "spec_name", "spec_hash", "data_hash",
                "n_units", "index_code", "hubindex_version", "based_on", "note", "edition_id"]
        if not self.path.exists():
            return pd.DataFrame(columns=[*cols, "superseded"])
        with self._connect() as con:
            df = con.execute(f"SELECT {', '.join(cols)} FROM editions ORDER BY edition_id").df()
        latest = df.groupby("label")["revision"].transform("max")
        df["superseded"] = df["revision"] < latest
        if not all_revisions:
            df = df[~df["superseded"]]
        df = df.copy()
        df["_num"] = pd.to_numeric(df["label"], errors="coerce")
        df = df.sort_values(["_num", "edition_id"], na_position="last", kind="stable").drop(columns="_num")
        return df.reset_index(drop=True)

    def labels(self) -> builtins.list[str]:
        """The labels of the editions (latest revisions), oldest first."""
        return [str(x) for x in self.list()["label"]]

    def __contains__(self, ref: object) -> bool:
        try:
            self._resolve(str(ref))
        except StoreError:
            return False
        return True

    def __len__(self) -> int:
        return len(self.list())

    def log(self) -> pd.DataFrame:
        """The store log: every publish and supersede, with time, actor and detail."""
        if not self.path.exists():
            return pd.DataFrame(columns=["seq", "logged_at", "action", "label", "revision", "edition_id", "actor",
                                         "detail"])
        with self._connect() as con:
            return con.execute("SELECT * FROM store_log ORDER BY seq").df()

    def _resolve(self, ref: str | int, con: duckdb.DuckDBPyConnection | None = None) -> tuple[int, str, int]:
        label, rev = parse_ref(ref)
        if con is None:
            if not self.path.exists():
                raise StoreError(f"no edition '{label}': the store {self.path} is empty")
            with self._connect() as c:
                return self._resolve(ref, c)
        if rev is None:
            row = con.execute("SELECT edition_id, revision FROM editions WHERE label = ? ORDER BY revision DESC "
                              "LIMIT 1", [label]).fetchone()
        else:
            row = con.execute("SELECT edition_id, revision FROM editions WHERE label = ? AND revision = ?",
                              [label, rev]).fetchone()
        if row is None:
            known = [r[0] for r in con.execute("SELECT DISTINCT label FROM editions ORDER BY 1").fetchall()]
            raise StoreError(f"no edition '{ref}' in {self.path}; editions are {known}")
        return int(row[0]), label, int(row[1])

    def get(self, ref: str | int) -> Edition:
        """Read edition ``LABEL`` (latest revision) or ``LABEL@REV`` in one read transaction."""
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            eid, label, rev = self._resolve(ref, con)
            meta = con.execute("SELECT * FROM editions WHERE edition_id = ?", [eid]).df().iloc[0].to_dict()
            units = con.execute("SELECT * FROM edition_units WHERE edition_id = ? ORDER BY unit", [eid]).df()
            long = con.execute("SELECT unit, code, score, rank FROM edition_scores WHERE edition_id = ?",
                               [eid]).df()
            raw = con.execute("SELECT unit, indicator, raw, imputed, flag FROM edition_raw WHERE edition_id = ?",
                              [eid]).df()
            inputs = con.execute("SELECT unit, name, groups, denominators FROM edition_inputs WHERE edition_id = ? "
                                 "ORDER BY unit", [eid]).df()
            con.execute("COMMIT")
        fw = json.loads(meta.get("framework") or "{}")
        codes = fw.get("codes") or sorted(long["code"].unique())
        inds = fw.get("indicators") or sorted(raw["indicator"].unique())
        order = list(units["unit"])
        scores = long.pivot(index="unit", columns="code", values="score").reindex(index=order, columns=codes)
        ranks = long.pivot(index="unit", columns="code", values="rank").reindex(index=order, columns=codes)
        inp_order = list(inputs["unit"])

        def wide(col: str) -> pd.DataFrame:
            return raw.pivot(index="unit", columns="indicator", values=col).reindex(index=inp_order, columns=inds)

        u = units.set_index("unit").drop(columns=["edition_id"])
        groups = [json.loads(g or "{}") for g in u.pop("groups")]
        subranks = [json.loads(g or "{}") for g in u.pop("subranks")]
        table = pd.DataFrame({"rank": u["rank"], "name": u["name"]}, index=u.index)
        gdf = pd.DataFrame(groups, index=u.index)
        sdf = pd.DataFrame(subranks, index=u.index)
        table = table.join(gdf) if len(gdf.columns) else table
        table["score"] = u["score"]
        if u["tier"].notna().any():
            table["tier"] = u["tier"]
        table = table.join(sdf) if len(sdf.columns) else table
        for p in [c for c, par in zip(fw.get("codes", []), fw.get("parent", []), strict=False)
                  if par == fw.get("root")]:
            table[p] = scores[p]
        table.index.name = "unit"
        for df in (scores, ranks):
            df.index.name = "unit"
            df.columns.name = None
        flags = wide("flag")
        return Edition(
            edition_id=eid, label=label, revision=rev, kind=str(meta.get("kind") or "edition"), meta={str(k): v for k, v in meta.items()},
            units=table, scores=scores, ranks=ranks, raw=wide("raw"),
            imputed=wide("imputed").fillna(False).astype(bool), flags=flags.fillna(""),
            inputs=inputs.set_index("unit"),
        )

    def show(self, ref: str | int) -> dict[str, Any]:
        """A summary of one edition: metadata, hashes, audit summary and the top of the ranking."""
        e = self.get(ref)
        m = e.meta
        return {
            "label": e.label, "revision": e.revision, "kind": e.kind, "vintage": e.vintage,
            "published_at": str(m["published_at"]), "spec_name": m["spec_name"], "spec_hash": m["spec_hash"],
            "data_hash": m["data_hash"], "data_files": json.loads(m["data_files"] or "{}"),
            "hubindex_version": m["hubindex_version"], "n_units": int(m["n_units"]), "note": m.get("note"),
            "based_on": m.get("based_on"), "audit": e.audit, "provenance": e.provenance,
            "ranking": e.ranking(),
        }

    def diff(self, a: str | int, b: str | int) -> pd.DataFrame:
        """Per-unit change from edition ``a`` to ``b`` (see :func:`hubindex.store.diff`)."""
        from hubindex.store._compare import diff_editions

        return diff_editions(self.get(a), self.get(b))

    def history(self, unit: str) -> pd.DataFrame:
        from hubindex.store._compare import history

        return history(self, unit)


# -- helpers ---------------------------------------------------------------------------------------------------


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _read_every_block(con: duckdb.DuckDBPyConnection) -> None:
    """Scan every column of every table (DuckDB verifies each block's checksum as it reads it)."""
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'main'").fetchall()]
    for t in tables:
        con.execute(f'SELECT count(*), sum(hash(COLUMNS(*))) FROM "{t}"').fetchall()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if there still is one. When DuckDB itself failed (a full disk during the
    commit) it has already aborted the transaction and ``ROLLBACK`` fails with "cannot rollback - no transaction
    is active": that must never hide the error that caused it."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _pause_for_tests() -> None:
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        print("HUBINDEX-PUBLISH-PAUSED", flush=True)
        sys.stdout.flush()
        time.sleep(float(pause))


def _edition_tables(result: Any, data: Any) -> dict[str, pd.DataFrame]:
    """The rows of an edition, one DataFrame per table (without ``edition_id``)."""
    idx = result.index_code
    units = list(result.scores.index)
    groups = result.groups.reindex(units)
    tiers = result.tiers.reindex(units) if result.tiers is not None else pd.Series(None, index=units, dtype=object)
    sub = result.subranks.reindex(units)
    ut = pd.DataFrame({
        "unit": [str(u) for u in units],
        "name": [str(n) for n in result.unit_names.reindex(units)],
        "groups": [_json({k: _clean(v) for k, v in groups.loc[u].items()}) for u in units],
        "score": result.scores[idx].to_numpy(dtype=float),
        "rank": result.ranks[idx].to_numpy(dtype=float),
        "tier": [None if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in tiers],
        "subranks": [_json({k: _clean(v) for k, v in sub.loc[u].items()}) for u in units],
    })
    codes = list(result.scores.columns)
    n, k = len(units), len(codes)
    st = pd.DataFrame({
        "unit": np.repeat(np.array([str(u) for u in units], dtype=object), k),
        "code": np.tile(np.array(codes, dtype=object), n),
        "score": result.scores.to_numpy(dtype=float).ravel(),
        "rank": result.ranks.to_numpy(dtype=float).ravel(),
    })
    # engine inputs
    if data is not None:
        in_units = [str(u) for u in data.units]
        inds = list(data.indicators)
        X = np.asarray(data.X, dtype=float)
        g_rows = [_json({g: _clean(v[i]) for g, v in data.groups.items()}) for i in range(len(in_units))]
        d_rows = [_json({d: _clean(v[i]) for d, v in data.denominators.items()}) for i in range(len(in_units))]
        names = [str(x) for x in data.names]
    else:
        raw = result.datasets["Raw"]
        in_units = [str(u) for u in raw.index]
        inds = list(raw.columns)
        X = raw.to_numpy(dtype=float)
        gall = result.groups.reindex(raw.index)
        g_rows = [_json({k: _clean(v) for k, v in gall.loc[u].items()}) for u in raw.index]
        d_rows = [_json({}) for _ in in_units]
        names = [str(x) for x in result.unit_names.reindex(raw.index).fillna(pd.Series(raw.index, index=raw.index))]
    it = pd.DataFrame({"unit": in_units, "name": names, "groups": g_rows, "denominators": d_rows})
    imp = result.imputed.reindex(index=in_units, columns=inds)
    flg = result.treat_flags.reindex(index=in_units, columns=inds)
    p = len(inds)
    rt = pd.DataFrame({
        "unit": np.repeat(np.array(in_units, dtype=object), p),
        "indicator": np.tile(np.array(inds, dtype=object), len(in_units)),
        "raw": X.ravel(),
        "imputed": imp.fillna(False).to_numpy(dtype=bool).ravel(),
        "flag": np.array([None if (f is None or f == "" or (isinstance(f, float) and np.isnan(f))) else str(f)
                          for f in flg.to_numpy(dtype=object).ravel()], dtype=object),
    })
    return {"edition_units": ut, "edition_scores": st, "edition_inputs": it, "edition_raw": rt}


def audit_summary(result: Any) -> dict[str, Any]:
    """A small audit record kept with each edition: coverage, imputation, treatment, weights, top and tail."""
    raw = result.datasets["Raw"]
    n_cells = int(raw.size)
    missing = int(raw.isna().to_numpy().sum())
    imputed = int(result.imputed.to_numpy(dtype=bool).sum())
    flags = result.treat_flags.to_numpy(dtype=object)
    treated = int(((flags != "") & pd.notna(flags)).sum())
    idx = result.index_code
    s = result.scores[idx]
    out: dict[str, Any] = {
        "n_units": int(len(result.scores)), "n_excluded": len(result.excluded), "excluded": list(result.excluded),
        "n_indicators": len(result.framework.indicators), "missing_cells": missing,
        "missing_share": missing / n_cells if n_cells else 0.0, "imputed_cells": imputed,
        "treated_cells": treated, "score_min": float(s.min()), "score_max": float(s.max()),
        "score_mean": float(s.mean()),
        "effective_weights": {k: float(v) for k, v in result.weights["effective"].items()
                              if k in result.framework.indicators},
    }
    treat = result.reports.get("treat")
    if treat is not None and "applied" in treat.columns:
        out["treatment"] = {str(k): str(v) for k, v in treat["applied"].items()}
    return out
