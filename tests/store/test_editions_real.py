"""The real editions on a fresh install: the store path (``HUBINDEX_STORE`` / the user data folder, never the
package), first use builds one edition per dataset vintage with ``hubindex.build``, ``edition list`` and
``edition diff 2024 2025``. Until the fintech dataset ships ``EDITIONS``/``edition_spec``, the vintages are
stand-ins on COINr's SIMULATED ASEM panel; the last test runs on the shipped ones once they exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from store_sim import ASEM_PANEL, asem_simulated_editions, fake_datasets

import hubindex
import hubindex.datasets as ds
from hubindex.cli import _mount, main
from hubindex.errors import StoreError
from hubindex.store import EditionStore, default_store_path, diff_editions, open_store
from hubindex.store.editions import build_editions, vintage_spec, vintages

pytestmark = pytest.mark.skipif(not ASEM_PANEL.exists(), reason="COINr's ASEM panel is not in ../shared/data")


def test_default_store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "x.duckdb"))
    assert default_store_path() == tmp_path / "x.duckdb"
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path))  # an existing folder
    assert default_store_path() == tmp_path / "editions.duckdb"
    monkeypatch.delenv("HUBINDEX_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    p = default_store_path()
    assert p.name == "editions.duckdb" and "hubindex" in p.parts
    assert Path(hubindex.__file__).resolve().parent not in p.resolve().parents  # never inside the package


@pytest.fixture(scope="module")
def asem_years(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[int, ...], object]:
    return asem_simulated_editions(tmp_path_factory.mktemp("asem_sim"))


def test_fresh_install_lists_and_diffs_editions(asem_years, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    years, edition_spec = asem_years
    assert years == (2021, 2022, 2023, 2024, 2025)
    fake_datasets(monkeypatch, years, edition_spec)
    store = tmp_path / "fresh" / "editions.duckdb"
    monkeypatch.setenv("HUBINDEX_STORE", str(store))
    assert not store.exists()
    assert main(["edition", "list"]) == 0
    out, err = capsys.readouterr()
    assert "first use" in err and "published edition 2025 (51 cities)" in err
    assert re.findall(r"^│ (20\d\d) ", out, re.M) == ["2021", "2022", "2023", "2024", "2025"]
    assert "SIMULATED" in out  # the note names the spec, which says what the data is
    st = EditionStore(store)
    assert st.labels() == ["2021", "2022", "2023", "2024", "2025"]
    # each edition is hubindex.build of that vintage's spec, bit for bit
    r = hubindex.build(edition_spec(2024))
    e = st.get("2024")
    assert e.vintage == 2024 and e.meta["spec_hash"] == r.run_record["spec_hash"]
    assert e.provenance == [{"unit": "*", "indicator": "*", "source": "SIMULATED test data, vintage 2024"}]
    np.testing.assert_array_equal(e.scores.to_numpy(), r.scores.reindex(e.scores.index).to_numpy())
    assert main(["edition", "list"]) == 0  # built once: the second use builds nothing
    assert "first use" not in capsys.readouterr().err
    assert main(["edition", "diff", "2024", "2025", "--out", str(tmp_path / "d.csv"), "--top", "5"]) == 0
    out, _ = capsys.readouterr()
    assert "2024@1 → 2025@1" in out and "gap rank 1 – rank 10" in out
    d = pd.read_csv(tmp_path / "d.csv", keep_default_na=False, na_values=[""])
    ref = diff_editions(st.get("2024"), st.get("2025"))
    assert len(d) == len(ref) == 51
    np.testing.assert_allclose(d["rank_change"], ref["rank_change"])
    np.testing.assert_allclose(d["rank_change"], d["rank_a"] - d["rank_b"])
    ups = int((ref["status"] == "up").sum())
    assert f"up {ups}," in out


def test_vintage_spec_with_another_method_and_idempotent_build(asem_years, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    years, edition_spec = asem_years
    fake_datasets(monkeypatch, years, edition_spec)
    assert vintages() == list(years)
    with pytest.raises(StoreError, match="no dataset vintage 1999"):
        vintage_spec(1999)
    other = edition_spec(2021).model_copy(update={"name": "another method"})
    s = vintage_spec(2023, other)  # that method on the 2023 data
    assert s.name == "another method" and s.data.path.endswith("asem_simulated_2023.csv")
    st = EditionStore(tmp_path / "s.duckdb")
    assert build_editions(st, [2021]) == ["2021"]
    assert build_editions(st, [2021]) == []
    fake_datasets(monkeypatch, (2021, 2022), edition_spec)
    said: list[str] = []
    assert open_store(tmp_path / "s.duckdb", progress=said.append).labels() == ["2021", "2022"]
    assert "[2022]" in said[0]  # only the missing vintage is built


def test_without_dataset_editions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    _mount()  # the CLI modules are imported before the dataset's API is taken away
    monkeypatch.delattr(ds, "EDITIONS", raising=False)
    monkeypatch.delattr(ds, "edition_spec", raising=False)
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "e.duckdb"))
    with pytest.raises(StoreError, match="no dataset editions"):
        vintages()
    assert main(["edition", "list"]) == 0  # an empty store, no traceback
    assert main(["edition", "init"]) == 5
    assert "no dataset editions" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "file" / "sub" / "e.duckdb"))  # a folder that can't be
    assert main(["edition", "list"]) == 5
    assert "set HUBINDEX_STORE or --store to a writable place" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(ds, "edition_spec"), reason="the fintech dataset editions are not shipped yet")
def test_shipped_editions_2021_to_2025(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HUBINDEX_STORE", str(tmp_path / "real.duckdb"))
    assert main(["edition", "list"]) == 0
    out, _ = capsys.readouterr()
    assert all(str(y) in out for y in range(2021, 2026))
    assert main(["edition", "diff", "2024", "2025"]) == 0
    assert "2024@1 → 2025@1" in capsys.readouterr().out
    st = EditionStore(tmp_path / "real.duckdb")
    assert st.labels() == [str(y) for y in ds.EDITIONS]
    e = st.get("2025")
    assert e.vintage == 2025 and len(e.units) == len(ds.load_edition(2025))
    assert len(e.provenance) == len(ds.provenance(2025))  # every value's source travels with the edition
