"""Success paths the other store tests leave thin: ``hubindex edition init`` and ``edition backcast`` through the
CLI (what they print and store, against builds done here), and a full v1 → current migration of a store holding
several editions with every table, read back value by value. SIMULATED panel (store_sim), not real data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from store_sim import YEARS, fake_datasets, publish_years, year_spec

import hubindex
import hubindex.console
from hubindex.cli import main
from hubindex.store import EditionStore
from hubindex.store._store import MIGRATIONS, SCHEMA_VERSION


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim_dir: Path) -> Path:
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "home" / "editions.duckdb"))
    fake_datasets(monkeypatch, YEARS, lambda y: year_spec(sim_dir, y))
    monkeypatch.setattr(hubindex.console.console, "width", 2000)  # one table row per line
    return tmp_path / "home"


def _rows(out: str) -> list[list[str]]:
    return [[c.strip() for c in ln.split("│")[1:-1]] for ln in out.splitlines() if "│" in ln and "┃" not in ln]


def test_edition_init_publishes_each_vintage_once(home: Path, sim_dir: Path, capsys: pytest.CaptureFixture[str]
                                                  ) -> None:
    assert main(["edition", "init"]) == 0
    out = capsys.readouterr().out
    assert f"{len(YEARS)} edition(s) published; the store has {len(YEARS)}." in out
    for y in YEARS:
        assert f"published edition {y}" in out
    st = EditionStore(home / "editions.duckdb")
    assert sorted(st.list()["label"]) == [str(y) for y in YEARS]
    for y in YEARS:  # what is stored is what a build of that vintage gives
        e, want = st.get(str(y)), hubindex.build(year_spec(sim_dir, y))
        assert e.kind == "edition" and e.revision == 1 and e.vintage == y
        np.testing.assert_array_equal(e.units["rank"].reindex(want.units).to_numpy(float),
                                      want.index_ranks.to_numpy(float))
        np.testing.assert_allclose(e.scores.loc[want.units, want.scores.columns].to_numpy(float),
                                   want.scores.to_numpy(float), rtol=0, atol=1e-12)
    # a second init finds nothing to do and leaves the editions as they were
    assert main(["edition", "init"]) == 0
    assert f"0 edition(s) published; the store has {len(YEARS)}." in capsys.readouterr().out
    assert len(EditionStore(home / "editions.duckdb").list(all_revisions=True)) == len(YEARS)


def test_edition_backcast_prints_and_publishes(home: Path, sim_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edition", "init"]) == 0
    capsys.readouterr()
    # the "current method": geometric mean on min-max [1, 100] instead of the arithmetic mean on [0, 100]
    method = tmp_path / "method.yaml"
    method.write_text((sim_dir / "spec.yaml").read_text()
                      .replace("{step: normalise, method: min_max, l: 0, u: 100}",
                               "{step: normalise, method: min_max, l: 1, u: 100}")
                      .replace("{step: aggregate, method: arithmetic}", "{step: aggregate, method: geometric}")
                      .replace("path: y2021.csv", f"path: {sim_dir / 'y2021.csv'}"))
    want = hubindex.build(hubindex.load_spec(method).model_copy(update={"base_dir": sim_dir}))  # 2021 data
    old = hubindex.build(year_spec(sim_dir, 2021))
    assert not np.array_equal(want.index_ranks.to_numpy(), old.index_ranks.to_numpy())  # the method matters
    assert main(["edition", "backcast", "2021", str(method)]) == 0
    out = capsys.readouterr().out
    assert "edition 2021@1 under the current method" in out
    rows = _rows(out)
    assert len(rows) == len(old.units)
    for r in rows:  # unit, name, rank, score, rank_backcast, score_backcast
        u = r[0]
        assert float(r[2]) == old.index_ranks[u] and float(r[4]) == want.index_ranks[u]
        assert float(r[5]) == pytest.approx(want.index_scores[u], abs=5e-4 * max(1, abs(want.index_scores[u])))
    assert [float(r[4]) for r in rows] == sorted(float(r[4]) for r in rows)  # sorted by the backcast rank

    assert main(["edition", "backcast", "2021", str(method), "--publish"]) == 0
    assert "published 2021-backcast@1 (based on 2021)" in capsys.readouterr().out
    e = EditionStore(home / "editions.duckdb").get("2021-backcast")
    assert e.kind == "backcast" and e.meta["based_on"] == "2021@1" and e.vintage == 2021
    np.testing.assert_allclose(e.scores.loc[want.units, want.scores.columns].to_numpy(float),
                               want.scores.to_numpy(float), rtol=0, atol=1e-12)


V1_TABLES = ["edition_units", "edition_scores", "edition_inputs", "edition_raw"]


def test_full_v1_store_migrates_with_every_value(sim_dir: Path, tmp_path: Path) -> None:
    """A v1 store (the v1 layout, filled with three editions' full tables) opens as the current schema: every
    edition, score, rank, raw value, flag and input is read back unchanged, revisions are 1, kind 'edition'; the
    migrated store then takes new publishes and supersedes and rebuilds an edition from its stored inputs."""
    cur = EditionStore(tmp_path / "current.duckdb")
    publish_years(cur, sim_dir)
    before = {y: cur.get(str(y)) for y in YEARS}

    v1 = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(v1))
    for s in MIGRATIONS[1][1]:
        con.execute(s)
    con.execute("INSERT INTO schema_info VALUES ('schema_version', '1')")
    con.execute(f"ATTACH '{tmp_path / 'current.duckdb'}' AS cur (READ_ONLY)")
    v1_cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                         "WHERE table_catalog = 'v1' AND table_name = 'editions' "
                                         "ORDER BY ordinal_position").fetchall()]
    con.execute(f"INSERT INTO editions SELECT {', '.join(v1_cols)} FROM cur.editions")
    for t in V1_TABLES:
        con.execute(f"INSERT INTO {t} SELECT * FROM cur.{t}")
    con.execute("DETACH cur")
    con.close()

    st = EditionStore(v1)
    assert st.schema_version == SCHEMA_VERSION
    t = st.list(all_revisions=True)
    assert sorted(t["label"]) == [str(y) for y in YEARS] and (t["revision"] == 1).all()
    assert (t["kind"] == "edition").all()
    for y in YEARS:
        a, b = before[y], st.get(str(y))
        assert (b.label, b.revision, b.kind, b.vintage) == (str(y), 1, "edition", y)
        for name in ("units", "scores", "ranks", "raw", "imputed", "flags", "inputs"):
            pd.testing.assert_frame_equal(getattr(b, name), getattr(a, name), check_exact=True, obj=f"{y} {name}")
        assert b.meta["spec_hash"] == a.meta["spec_hash"] and b.meta["data_hash"] == a.meta["data_hash"]
        re = b.rebuild(b.spec)  # the stored inputs still rebuild the stored scores
        np.testing.assert_allclose(re.scores.loc[a.scores.index, a.scores.columns].to_numpy(float),
                                   a.scores.to_numpy(float), rtol=0, atol=1e-12)
    con = duckdb.connect(str(v1), read_only=True)
    assert [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()] == [2]
    con.close()
    # the migrated store is a normal store: supersede and publish work and are logged
    res = hubindex.build(year_spec(sim_dir, 2023))
    st.publish(res, "2023", vintage=2023, supersede=True, reason="after migration")
    st.publish(res, "extra")
    assert st.get("2023").revision == 2 and st.get("2023@1").label == "2023"
    assert list(st.log()["action"]) == ["supersede", "publish"]
