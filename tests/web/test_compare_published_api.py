"""GET /api/compare-published: JSON shape, values equal to the library's, list filter, errors, other indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubindex.api import build
from hubindex.audit.published import RULE, compare_published, load_published

ASEM_SPEC = Path(__file__).resolve().parents[2] / "examples" / "asem" / "default.yaml"


def _client(result):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from hubindex.web import create_app

    return TestClient(create_app(result, uncertainty_reps=0, editions=False))


@pytest.fixture(scope="module")
def default_result():  # type: ignore[no-untyped-def]
    return build()


@pytest.fixture(scope="module")
def api(default_result):  # type: ignore[no-untyped-def]
    return _client(default_result)


def test_shape_and_values_match_the_library(api, default_result) -> None:  # type: ignore[no-untyped-def]
    r = api.get("/api/compare-published")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    d = r.json()
    assert d["rule"] == RULE and "Spearman" in d["method"]
    assert d["index"]["n_units"] == int(default_result.index_ranks.notna().sum())
    ref = compare_published(default_result, top=5)
    assert [x["list_id"] for x in d["lists"]] == load_published().ids == [c.list_id for c in ref.lists]
    for got, want in zip(d["lists"], ref.lists, strict=True):
        for k in ("list_name", "publisher", "edition", "coverage", "sources", "n_published", "n_overlap",
                  "max_published_rank", "in_our_top", "note"):
            assert k in got
        assert got["n_overlap"] == want.n_overlap and got["in_our_top"] == want.in_our_top
        assert got["spearman"] == pytest.approx(want.rho)
        assert [c["unit"] for c in got["cities"]] == want.cities["unit"].tolist()
        assert [c["our_rank"] for c in got["cities"]] == want.cities["our_rank"].tolist()
        assert len(got["differences"]) == len(want.differences) <= 5
        for g, w in zip(got["differences"], want.differences, strict=True):
            assert g["unit"] == w["unit"] and g["gap"] == w["gap"] and g["swapped_with"] == w["swapped_with"]
            assert [p["delta_swapped"] for p in g["pillars"]] == pytest.approx(
                [p["delta_swapped"] for p in w["pillars"]])
    f20 = next(x for x in d["lists"] if x["list_id"] == "findexable2020")
    assert {u["name"] for u in f20["unmatched"]} == {"Hamburg", "Calgary"}


def test_one_list_and_top(api) -> None:  # type: ignore[no-untyped-def]
    d = api.get("/api/compare-published", params={"list": "gfhr2023", "top": 2}).json()
    (one,) = d["lists"]
    assert one["list_id"] == "gfhr2023" and one["n_overlap"] == 10 and len(one["differences"]) == 2
    assert one["sources"] == ["http://en.bast.net.cn/art/2023/12/4/art_38662_483466.html"]
    again = api.get("/api/compare-published", params={"list": "gfhr2023", "top": 2})
    assert again.json() == d  # served from the bounded cache


def test_errors(api) -> None:  # type: ignore[no-untyped-def]
    r = api.get("/api/compare-published", params={"list": "nope"})
    assert r.status_code == 404 and "valid ids" in r.json()["detail"] and "gfhr2023" in r.json()["detail"]
    assert api.get("/api/compare-published", params={"top": 99}).status_code == 422


def test_an_index_of_other_units_has_no_overlap() -> None:
    d = _client(build(ASEM_SPEC)).get("/api/compare-published").json()
    assert d["lists"] and all(x["n_overlap"] == 0 and x["spearman"] is None for x in d["lists"])
