"""``hubindex serve --store PATH``: an explicit store that is missing or not an edition store is refused before
anything is built or served; a real store is used for the editions pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hubindex.cli import main


@pytest.fixture()
def no_serving(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace uvicorn.run: record the app instead of listening on a port."""
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    return seen


def _plain_duckdb(d: Path) -> Path:
    import duckdb

    p = d / "plain.duckdb"
    con = duckdb.connect(str(p))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    return p


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        (lambda d: d / "missing" / "x.duckdb", ("x.duckdb", "no edition store here")),
        (lambda d: d, ("is a folder",)),
        (lambda d: ((d / "junk.duckdb").write_text("not a database"), d / "junk.duckdb")[1],
         ("junk.duckdb", "not a duckdb edition store")),
        (_plain_duckdb, ("plain.duckdb", "not a hubindex edition store")),
    ],
    ids=["missing", "folder", "not-duckdb", "duckdb-but-not-a-store"],
)
def test_bad_explicit_store_is_refused(tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       no_serving: dict, make, needles) -> None:  # type: ignore[no-untyped-def]
    store = make(tmp_path)
    code = main(["serve", str(tiny_spec), "--store", str(store), "--uncertainty-reps", "0"])
    out, err = capsys.readouterr()
    err = " ".join(err.split())
    assert code == 5, err
    assert "Traceback" not in out + err and err.lower().count("error:") == 1
    for n in needles:
        assert n.lower() in err.lower(), f"{n!r} not in {err}"
    assert no_serving == {}  # never served
    assert not (tmp_path / "missing").exists()  # nothing created for a missing store


def test_real_store_is_served(tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              no_serving: dict) -> None:
    store = tmp_path / "s.duckdb"
    assert main(["edition", "publish", str(tiny_spec), "--label", "t1", "--store", str(store)]) == 0
    assert main(["serve", str(tiny_spec), "--store", str(store), "--uncertainty-reps", "0"]) == 0
    ed = TestClient(no_serving["app"], base_url="http://127.0.0.1").get("/api/editions").json()
    assert ed["source"] == f"edition store {store}"
    assert [e["label"] for e in ed["editions"]] == ["t1"]
