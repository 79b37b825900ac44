"""The dashboard's derived figures against independent computations on the ASEM result: the "most similar units",
the agreement (Spearman) between a re-weighted and the published ranking, and the /api/bootstrap payload."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from hubindex.web._view import IndexView


@pytest.fixture(scope="module")
def view(asem_result) -> IndexView:  # type: ignore[no-untyped-def]
    return IndexView.from_result(asem_result)


def _similar_by_hand(res, unit: str, k: int = 5) -> list[str]:  # type: ignore[no-untyped-def]
    """Euclidean distance between the vectors of the root's children's scores (a missing pair adds nothing),
    nearest first, ties in unit order; the unit itself excluded."""
    kids = [c for c in res.framework.codes if res.framework.parent_of(c) == res.index_code]
    me = res.scores.loc[unit, kids]
    dist = []
    for i, u in enumerate(res.units):
        if u == unit:
            continue
        s = 0.0
        for c in kids:
            a, b = res.scores.at[u, c], me[c]
            if not (math.isnan(a) or math.isnan(b)):
                s += (a - b) ** 2
        dist.append((math.sqrt(s), i, u))
    return [u for _, _, u in sorted(dist)[:k]]


@pytest.mark.parametrize("unit", ["DEU", "CHE", "MNG", "SGP"])
def test_five_most_similar_units(view: IndexView, asem_result, unit: str) -> None:  # type: ignore[no-untyped-def]
    got = view.profile(unit)["similar"]
    want = _similar_by_hand(asem_result, unit)
    assert got == want
    # the nearest is really nearest: no other unit is closer (kills an off-by-one in the slice)
    kids = asem_result.pillars()
    d = np.sqrt(((asem_result.scores[kids] - asem_result.scores.loc[unit, kids]) ** 2).sum(axis=1)).drop(unit)
    assert d[got[0]] == d.min()


def test_agreement_with_published_ranking_is_spearman(view: IndexView, asem_result) -> None:  # type: ignore[no-untyped-def]
    """spearman_vs_published = Pearson correlation of the two rank vectors' (average) ranks, i.e. Spearman's ρ,
    recomputed with scipy; Kendall's τ on the same ranks is clearly different, so the figure pins the method."""
    out = view.rescore({"Conn": 3.0, "Sust": 1.0, "Physical": 0.0})
    new = {x["unit"]: x["rank"] for x in out["ranking"]}
    pub = asem_result.index_ranks.reindex(asem_result.units).to_numpy(float)
    newv = np.array([new[u] for u in asem_result.units], dtype=float)
    rho = sps.spearmanr(pub, newv).statistic
    tau = sps.kendalltau(pub, newv).statistic
    assert 0.5 < rho < 0.999 and abs(rho - tau) > 0.05  # a real re-ordering, where the two measures differ
    assert out["spearman_vs_published"] == pytest.approx(rho, abs=1e-12)
    # by hand: 1 − 6Σd²/(n(n² − 1)) when there are no ties
    assert len(set(newv)) == len(newv) and len(set(pub)) == len(pub)
    dd = ((pub - newv) ** 2).sum()
    n = len(pub)
    assert out["spearman_vs_published"] == pytest.approx(1 - 6 * dd / (n * (n * n - 1)), abs=1e-12)


def test_api_bootstrap_payload(client, asem_result) -> None:  # type: ignore[no-untyped-def]
    """GET /api/bootstrap: everything the pages need, each part equal to the result it comes from."""
    resp = client.get("/api/bootstrap")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    js = resp.json()
    res = asem_result
    assert set(js) >= {"meta", "units", "framework", "aggregation", "tiers", "subrankings", "group_roles",
                       "pillars", "index", "scores", "ranks", "normalised", "raw", "imputed", "ranking"}
    assert js["index"] == "Index" and js["pillars"] == ["Conn", "Sust"]
    assert js["meta"]["n_units"] == 51 and js["subrankings"] == ["EurAsia_group", "GDP_group"]
    assert js["aggregation"]["method"] == "arithmetic"
    assert [u["unit"] for u in js["units"]] == res.units and js["units"][0]["name"] == res.unit_names.iloc[0]
    assert [n["code"] for n in js["framework"]] == list(res.framework.codes)
    sc = js["scores"]
    assert sc["units"] == res.units and sc["columns"] == list(res.scores.columns)
    got = np.array([[np.nan if v is None else v for v in row] for row in sc["data"]], dtype=float)
    np.testing.assert_allclose(got, res.scores.to_numpy(float), rtol=0, atol=1e-12, equal_nan=True)
    rk = np.array([[np.nan if v is None else v for v in row] for row in js["ranks"]["data"]], dtype=float)
    np.testing.assert_array_equal(rk, res.ranks.to_numpy(float))
    raw = np.array([[np.nan if v is None else v for v in row] for row in js["raw"]["data"]], dtype=float)
    np.testing.assert_array_equal(raw, res.datasets["Raw"].to_numpy(float))
    assert js["imputed"]["columns"] == list(res.imputed.columns) and not np.any(js["imputed"]["data"])
    top = js["ranking"][0]
    first = res.index_ranks.idxmin()
    assert top["unit"] == first and top["rank"] == 1 and top["score"] == pytest.approx(res.index_scores[first])
    assert [r["unit"] for r in js["ranking"]] == list(res.ranking()["unit"])
