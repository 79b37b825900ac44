"""The edition store: round trip, immutability, supersede with a log, schema migration, atomic publish under a
killed process, readers during a publish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from store_sim import publish_years, year_spec

from hubindex.engine.pipeline import run
from hubindex.errors import StoreError
from hubindex.io import load_data
from hubindex.store import SCHEMA_VERSION, EditionStore
from hubindex.store._store import MIGRATIONS


def test_round_trip(sim_store: EditionStore, sim_dir: Path) -> None:
    assert sim_store.labels() == ["2021", "2022", "2023"]
    e = sim_store.get("2022")
    r = run(year_spec(sim_dir, 2022), load_data(year_spec(sim_dir, 2022))[0])
    np.testing.assert_allclose(e.scores.to_numpy(), r.scores.reindex(e.scores.index).to_numpy(), rtol=0, atol=0)
    np.testing.assert_array_equal(e.units["rank"].to_numpy(), r.ranks["IDX"].reindex(e.units.index).to_numpy())
    assert e.vintage == 2022 and e.ref == "2022@1"
    assert set(e.units.columns) >= {"rank", "name", "region", "score", "tier", "rank_in_region", "P1", "P2"}
    assert e.meta["spec_hash"] == r.run_record["spec_hash"]
    # the stored inputs rebuild the edition exactly, without the data file
    rb = e.rebuild()
    np.testing.assert_array_equal(rb.scores.reindex(e.scores.index).to_numpy(), e.scores.to_numpy())
    info = sim_store.show("2022")
    assert info["audit"]["n_units"] == len(e.units) and info["audit"]["imputed_cells"] == 1


def test_never_overwritten_and_supersede_is_logged(sim_dir: Path, tmp_path: Path) -> None:
    st = EditionStore(tmp_path / "s.duckdb")
    publish_years(st, sim_dir, years=(2021,))
    before = st.get("2021")
    s = year_spec(sim_dir, 2022)
    r = run(s, load_data(s)[0])
    with pytest.raises(StoreError, match="never overwritten"):
        st.publish(r, "2021")
    with pytest.raises(StoreError, match="reason"):
        st.publish(r, "2021", supersede=True)
    with pytest.raises(StoreError, match="no such edition"):
        st.publish(r, "1999", supersede=True, reason="x")
    e2 = st.publish(r, "2021", supersede=True, reason="data correction")
    assert e2.ref == "2021@2"
    assert st.get("2021").ref == "2021@2"
    old = st.get("2021@1")
    pd.testing.assert_frame_equal(old.scores, before.scores)  # the old revision is untouched
    t = st.list(all_revisions=True)
    assert list(t["superseded"]) == [True, False]
    log = st.log()
    assert list(log["action"]) == ["publish", "supersede"]
    assert "data correction" in log["detail"].iloc[1] and "2021@1" in log["detail"].iloc[1]
    with pytest.raises(StoreError, match="no edition"):
        st.get("2030")


def test_schema_version_and_migration_from_v1(tmp_path: Path) -> None:
    p = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(p))
    for s in MIGRATIONS[1][1]:
        con.execute(s)
    con.execute("INSERT INTO schema_info VALUES ('schema_version', '1')")
    con.execute("INSERT INTO editions (edition_id, label, published_at, spec_name, n_units, index_code) "
                "VALUES (1, 'old', now(), 'x', 0, 'IDX')")
    con.close()
    with pytest.raises(StoreError, match="needs migrating"):
        EditionStore(p, read_only=True).list()
    st = EditionStore(p)
    assert st.schema_version == SCHEMA_VERSION
    t = st.list()
    assert list(t["label"]) == ["old"] and int(t["revision"].iloc[0]) == 1 and t["kind"].iloc[0] == "edition"
    con = duckdb.connect(str(p))
    assert [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()] == [2]
    con.execute("UPDATE schema_info SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        EditionStore(p).list()


CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    import hubindex
    from hubindex.engine.pipeline import run
    from hubindex.io import load_data
    from hubindex.store import EditionStore
    from hubindex.store.editions import with_data_path
    sim, store, year = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    s = with_data_path(hubindex.load_spec(sim / "spec.yaml"), sim / f"y{year}.csv")
    data, _ = load_data(s)
    EditionStore(store).publish(run(s, data), year, data=data)
    print("DONE", flush=True)
""")


def _spawn(sim_dir: Path, store: Path, year: str, pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "HUBINDEX_TEST_PUBLISH_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(sim_dir), str(store), year], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_pause(proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    assert proc.stdout is not None
    while time.monotonic() - t0 < timeout:
        line = proc.stdout.readline()
        if "HUBINDEX-PUBLISH-PAUSED" in line:
            return
        if line == "" and proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.stderr.read() if proc.stderr else ''}")
    raise AssertionError("child never reached the pause")


def test_killed_publish_leaves_store_unchanged(sim_dir: Path, tmp_path: Path) -> None:
    p = tmp_path / "k.duckdb"
    st = EditionStore(p)
    publish_years(st, sim_dir, years=(2021,))
    before_list = st.list()
    before = st.get("2021")
    proc = _spawn(sim_dir, p, "2022", pause=60)
    try:
        _wait_for_pause(proc)  # the edition row and the unit rows are inserted, not committed
        # a reader meanwhile: the file is held by the writer; it waits and then gives up, never reads half
        with pytest.raises(StoreError, match="busy"):
            EditionStore(p, read_only=True, timeout=0.3).list()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    after = EditionStore(p)
    pd.testing.assert_frame_equal(after.list(), before_list)
    pd.testing.assert_frame_equal(after.get("2021").scores, before.scores)
    con = duckdb.connect(str(p), read_only=True)
    for t in ("edition_units", "edition_scores", "edition_raw", "edition_inputs"):
        ids = {r[0] for r in con.execute(f"SELECT DISTINCT edition_id FROM {t}").fetchall()}
        assert ids == {1}, t  # no orphan rows of the killed publish
    assert con.execute("SELECT count(*) FROM store_log").fetchone()[0] == 1
    con.close()
    # the label is free again and publishing works
    publish_years(after, sim_dir, years=(2022,))
    assert after.labels() == ["2021", "2022"]


def test_reader_sees_old_or_new_never_half(sim_dir: Path, tmp_path: Path) -> None:
    p = tmp_path / "r.duckdb"
    st = EditionStore(p)
    publish_years(st, sim_dir, years=(2021,))
    proc = _spawn(sim_dir, p, "2022", pause=1.0)
    try:
        _wait_for_pause(proc)
        # a patient reader waits for the commit and then sees the whole new edition
        reader = EditionStore(p, read_only=True, timeout=60)
        labels = reader.labels()
        assert labels == ["2021", "2022"]
        e = reader.get("2022")
        assert len(e.units) == len(e.scores) == int(e.meta["n_units"]) > 0
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_in_process_failure_rolls_back(sim_dir: Path, tmp_path: Path) -> None:
    st = EditionStore(tmp_path / "f.duckdb")
    s = year_spec(sim_dir, 2021)
    data, _ = load_data(s)

    def boom() -> None:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        st.publish(run(s, data), "2021", data=data, _hook=boom)
    assert len(st) == 0 and st.log().empty
    st.publish(run(s, data), "2021", data=data)
    assert st.labels() == ["2021"]
