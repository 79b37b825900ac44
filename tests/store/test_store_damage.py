"""A damaged, busy or full store: a clear StoreError (exit 5) naming the file and what to do — never a DuckDB
traceback, never a hidden cause ("cannot rollback"), never a half-written edition."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from store_sim import publish_years, year_spec

from hubindex.cli import main
from hubindex.engine.pipeline import run
from hubindex.errors import StoreBusyError, StoreDamagedError, StoreError
from hubindex.io import load_data
from hubindex.store import EditionStore

store_mod = importlib.import_module("hubindex.store._store")  # (hubindex.store._store is also a function name)


def _publish(st: EditionStore, sim_dir: Path, year: int, label: str) -> None:
    s = year_spec(sim_dir, year)
    data, _ = load_data(s)
    st.publish(run(s, data), label, data=data, vintage=year)


@pytest.fixture(scope="module")
def good_store(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two editions (e1, e2: the simulated 2021 and 2022) — labels that are no shipped vintage, so the CLI never
    adds the shipped editions to this store."""
    p = tmp_path_factory.mktemp("good") / "s.duckdb"
    st = EditionStore(p)
    _publish(st, sim_dir, 2021, "e1")
    _publish(st, sim_dir, 2022, "e2")
    return p


def _truncated(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def _corrupt(src: Path, dst: Path, at: float) -> Path:
    data = bytearray(src.read_bytes())
    off = int(len(data) * at)
    data[off:off + 64] = bytes((b ^ 0xA5) for b in data[off:off + 64])
    dst.write_bytes(bytes(data))
    return dst


def _used_block(src: Path, table: str) -> float:
    """Where (as a share of the file) the first storage block of ``table`` lies: DuckDB's file is three 4 KiB
    headers, then blocks of 256 KiB (``pragma_storage_info`` names each segment's block)."""
    con = duckdb.connect(str(src), read_only=True)
    try:
        block = con.execute(f"SELECT min(block_id) FROM pragma_storage_info('{table}') WHERE block_id >= 0"
                            ).fetchone()[0]
        size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    finally:
        con.close()
    return (3 * 4096 + int(block) * int(size) + 1024) / src.stat().st_size


DAMAGES = {
    "truncated-early": lambda s, d: _truncated(s, d, 0.05),
    "truncated-half": lambda s, d: _truncated(s, d, 0.5),
    "corrupt-header": lambda s, d: _corrupt(s, d, 0.0001),
    "corrupt-scores-block": lambda s, d: _corrupt(s, d, _used_block(s, "edition_scores")),
}


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return code, " ".join(err.split())


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("cmd", [["edition", "show", "e2"], ["edition", "diff", "e1", "e2"],
                                 ["edition", "history", "L01"]], ids=["show", "diff", "history"])
def test_damaged_store_cli_exit_5(good_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  damage: str, cmd: list[str]) -> None:
    bad = DAMAGES[damage](good_store, tmp_path / "damaged.duckdb")
    before = bad.read_bytes()
    code, err = _cli([*cmd, "--store", str(bad)], capsys)
    assert code == 5, err
    assert err.count("error:") == 1 and "damaged.duckdb" in err
    assert "damaged" in err and "move it aside" in err and "backup" in err
    assert bad.read_bytes() == before  # reading a damaged store never writes to it


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_store_publish_and_serve_exit_5(good_store: Path, sim_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                damage: str) -> None:
    import uvicorn

    def no_server(*_a: object, **_k: object) -> None:
        raise AssertionError("serve started a server over a damaged store")

    monkeypatch.setattr(uvicorn, "run", no_server)
    bad = DAMAGES[damage](good_store, tmp_path / "damaged.duckdb")
    code, err = _cli(["edition", "publish", str(year_spec_path(sim_dir, tmp_path)), "--label", "e3",
                      "--store", str(bad)], capsys)
    assert code == 5 and "damaged.duckdb" in err and "damaged" in err, err
    code, err = _cli(["serve", "--store", str(bad), "--uncertainty-reps", "0"], capsys)
    assert code == 5 and "damaged.duckdb" in err, err


def year_spec_path(sim_dir: Path, tmp_path: Path) -> Path:
    """A spec file for the 2023 data of the simulated panel."""
    text = (sim_dir / "spec.yaml").read_text().replace("y2021.csv", str(sim_dir / "y2023.csv"))
    p = tmp_path / "spec2023.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("at", [0.0005, 0.003, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999])
def test_any_damage_is_a_store_error_or_a_correct_read(good_store: Path, tmp_path: Path, at: float) -> None:
    """Wherever a block is damaged, every read either returns what was published or raises StoreError."""
    want = EditionStore(good_store, read_only=True).get("e2").scores
    for name, bad in (("corrupt", _corrupt(good_store, tmp_path / "c.duckdb", at)),
                      ("truncated", _truncated(good_store, tmp_path / "t.duckdb", at))):
        st = EditionStore(bad, read_only=True, timeout=0.2)
        try:
            got = st.get("e2").scores
        except StoreError as e:
            assert str(bad) in str(e), (name, e)
        else:
            pd.testing.assert_frame_equal(got, want)


# -- busy ------------------------------------------------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # a writer holds the file, as a publish does
    print("HELD", flush=True)
    time.sleep(60)
""")


@pytest.fixture()
def held(good_store: Path, tmp_path: Path) -> Iterator[Path]:
    p = tmp_path / "busy.duckdb"
    p.write_bytes(good_store.read_bytes())
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(p)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
        yield p
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_busy_store_is_store_busy_error(held: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(StoreBusyError, match="busy") as ei:
        EditionStore(held, read_only=True, timeout=0.3).list()
    assert str(held) in str(ei.value) and ei.value.exit_code == 5


# -- a write that fails (disk full) ----------------------------------------------------------------------------
def test_publish_disk_full_says_so_and_leaves_store_unchanged(sim_dir: Path, tmp_path: Path) -> None:
    """A write failure inside the transaction (monkeypatched: DuckDB's own 'No space left' error) names the store,
    says the disk is full and that the edition was not published; the store is as before and usable."""
    st = EditionStore(tmp_path / "full.duckdb")
    publish_years(st, sim_dir, years=(2021,))
    before = st.list()
    s = year_spec(sim_dir, 2022)
    data, _ = load_data(s)

    def disk_full() -> None:
        raise duckdb.IOException(f'IO Error: Could not write file "{st.path}.wal": No space left on device')

    with pytest.raises(StoreDamagedError) as ei:
        st.publish(run(s, data), "2022", data=data, _hook=disk_full)
    msg = str(ei.value)
    assert str(st.path) in msg and "disk is full" in msg and "'2022' was not published" in msg
    assert "rollback" not in msg.lower()
    pd.testing.assert_frame_equal(st.list(), before)
    assert st.log()["label"].tolist() == ["2021"]
    publish_years(st, sim_dir, years=(2022,))  # nothing half-written blocks the label
    assert st.labels() == ["2021", "2022"]


def test_publish_disk_full_cli_exit_5(sim_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "full.duckdb"
    publish_years(EditionStore(store), sim_dir, years=(2021,))

    def disk_full() -> None:
        raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    monkeypatch.setattr(store_mod, "_pause_for_tests", disk_full)
    code, err = _cli(["edition", "publish", str(year_spec_path(sim_dir, tmp_path)), "--label", "2023",
                      "--store", str(store)], capsys)
    assert code == 5 and "full.duckdb" in err and "disk is full" in err and "not published" in err, err
    assert EditionStore(store, read_only=True).labels() == ["2021"]


LIMITED = textwrap.dedent("""
    import os, resource, signal, sys
    sys.path.insert(0, sys.argv[3])
    from store_sim import year_spec
    from hubindex.engine.pipeline import run
    from hubindex.errors import StoreError
    from hubindex.io import load_data
    from hubindex.store import EditionStore
    from pathlib import Path
    st = EditionStore(sys.argv[1])
    s = year_spec(Path(sys.argv[2]), 2022)
    data, _ = load_data(s)
    result = run(s, data)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        st.publish(result, "2022", data=data)
    except StoreError as e:
        print("STORE-ERROR", e)
    else:
        print("PUBLISHED")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE/SIGXFSZ as on Linux")
def test_real_write_failure_is_not_hidden_by_rollback(sim_dir: Path, tmp_path: Path) -> None:
    """A real failed write (the WAL cannot grow past a file-size limit) made DuckDB abort the transaction, and
    the ROLLBACK that followed raised 'cannot rollback - no transaction is active', hiding the cause."""
    store = tmp_path / "lim.duckdb"
    publish_years(EditionStore(store), sim_dir, years=(2021,))
    out = subprocess.run([sys.executable, "-c", LIMITED, str(store), str(sim_dir), str(Path(__file__).parent)],
                         capture_output=True, text=True, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stdout.startswith("STORE-ERROR"), out.stdout + out.stderr
    assert "cannot rollback" not in out.stdout and "lim.duckdb" in out.stdout
    assert "file-size limit" in out.stdout and "'2022' was not published" in out.stdout
    st = EditionStore(store)
    assert st.labels() == ["2021"]
    publish_years(st, sim_dir, years=(2022,))
    assert st.labels() == ["2021", "2022"]


def test_store_error_classes_keep_exit_code_5() -> None:
    assert StoreBusyError("x").exit_code == StoreDamagedError("x").exit_code == 5
    assert issubclass(StoreBusyError, StoreError) and issubclass(StoreDamagedError, StoreError)
