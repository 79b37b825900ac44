"""compare-published library: hand-computed Spearman, gaps and explanations on a 5-city fixture; the shipped
published-rankings table's integrity; identities of the decomposition on the default index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from hubindex.api import build
from hubindex.audit.published import (
    COLUMNS,
    PUBLISHED_DIR,
    RULE,
    compare_published,
    contributions,
    load_published,
)
from hubindex.errors import DataError

HEADER = ",".join(COLUMNS)


def _row(lid: str, name: str, rank: int | str, *, iso: str = "XX", url: str = "https://example.org/list",
         tied: str = "", basis: str = "stated", edition: str = "2024") -> str:
    return (f"{lid},Test list {lid},Pub,{edition},top 6,{url},2026-12-06,{name},{iso},{rank},{basis},{tied},")


@pytest.fixture()
def fixture(tmp_path: Path) -> dict[str, Path]:
    """Five cities, two pillars (P1 = mean(a, b), P2 = c, equal weights), one missing value (E's b).

    Normalised = raw (every range is 0..100): P1 = A 0, B 75, C 75, D 25, E 75 (a only);
    P2 = A 100, B 0, C 50, D 25, E 75; index = (P1 + P2)/2 = A 50, B 37.5, C 62.5, D 25, E 75
    → our ranks E 1, C 2, A 3, B 4, D 5.
    """
    (tmp_path / "data.csv").write_text(
        "code,name,a,b,c\nA,Alpha,0,0,100\nB,Beta,50,100,0\nC,Gamma,100,50,50\nD,Delta,25,25,25\nE,Eps,75,,75\n")
    (tmp_path / "spec.yaml").write_text(
        "name: Fixture\nversion: '2024'\ndata: {path: data.csv, unit_code: code, unit_name: name}\n"
        "framework:\n  - {code: IDX}\n  - {code: P1, name: Pillar one, parent: IDX, weight: 1}\n"
        "  - {code: P2, name: Pillar two, parent: IDX, weight: 1}\n  - {code: a, parent: P1}\n"
        "  - {code: b, parent: P1}\n  - {code: c, parent: P2}\n"
        "pipeline:\n  - {step: normalise, method: min_max, l: 0, u: 100}\n  - {step: aggregate, method: arithmetic}\n")
    reg = tmp_path / "registry"
    reg.mkdir()
    (reg / "cities.csv").write_text(
        "code,name,country_iso2,geonames_name,wup_name,wiki_gdp_name,cn_region\n"
        "A,Alpha,XX,Alpha City,,,\nB,Beta,XX,,,,\nC,Gamma,XX,,,,\nD,Delta,XX,,,,\nE,Eps,XX,,,,\nF,Phi,XX,,,,\n")
    (reg / "aliases.csv").write_text("code,alias,kind\nB,Betaville,spelling\n")
    (tmp_path / "pub_aliases.csv").write_text("alias,country_iso2,code,note\nΓάμμα,XX,C,Greek spelling\n")
    (tmp_path / "pub.csv").write_text("\n".join([
        HEADER, _row("t1", "Alpha City", 1), _row("t1", "Betaville", 2), _row("t1", "Γάμμα", 3),
        _row("t1", "Delta", 4), _row("t1", "Nowhere", 5), _row("t1", "Phi", 6),
        _row("t2", "Alpha", 1), _row("t2", "Eps", 2)]) + "\n")
    return {"spec": tmp_path / "spec.yaml", "pub": tmp_path / "pub.csv", "reg": reg,
            "aliases": tmp_path / "pub_aliases.csv"}


def _load(fx: dict[str, Path], pub: Path | None = None):  # type: ignore[no-untyped-def]
    return load_published(pub or fx["pub"], aliases=fx["aliases"], registry=fx["reg"])


def test_names_map_through_registry_aliases_and_published_aliases(fixture: dict[str, Path]) -> None:
    pub = _load(fixture)
    t1 = pub.table[pub.table["list_id"] == "t1"].set_index("city_name_as_published")
    assert {k: v if isinstance(v, str) else None for k, v in t1["code"].items()} == {"Alpha City": "A", "Betaville": "B", "Γάμμα": "C", "Delta": "D",
                                    "Nowhere": None, "Phi": "F"}
    assert t1.loc["Alpha City", "matched_by"] == "registry"
    assert t1.loc["Betaville", "matched_by"] == "registry alias"
    assert t1.loc["Γάμμα", "matched_by"] == "published alias"
    assert pub.unmatched()["city_name_as_published"].tolist() == ["Nowhere"]  # listed, not dropped
    assert pub.ids == ["t1", "t2"]


def test_hand_computed_comparison(fixture: dict[str, Path]) -> None:
    result = build(fixture["spec"])
    assert result.index_scores.to_dict() == pytest.approx({"A": 50, "B": 37.5, "C": 62.5, "D": 25, "E": 75})
    cmp = compare_published(result, _load(fixture), lists=["t1"], top=5)
    (c,) = cmp.lists
    # overlap A, B, C, D (Nowhere unmatched, Phi not ranked); p' = 1..4, our ranks 3, 4, 2, 5 → r' = 2, 3, 1, 4
    assert c.n_published == 6 and c.n_overlap == 4
    assert c.cities["unit"].tolist() == ["A", "B", "C", "D"]
    assert c.cities["our_rank"].tolist() == [3, 4, 2, 5]
    assert c.cities["our_rank_in_overlap"].tolist() == [2, 3, 1, 4]
    assert c.cities["gap"].tolist() == [1, 1, -2, 0]
    # rho = 1 - 6 Σd² / (n(n² - 1)) = 1 - 6·6/60 = 0.4
    assert c.rho == pytest.approx(0.4)
    assert np.isnan(c.p_value) and "n = 4 < 10" in c.note  # no p-value for a handful of cities
    assert c.max_published_rank == 6 and c.in_our_top == 4
    assert c.unmatched == [{"name": "Nowhere", "country": "XX", "published_rank": 5}]
    assert [x["unit"] for x in c.not_ranked] == ["F"]
    # largest |gap| first (C: -2, then A and B: +1, in published order); D (gap 0) is not a difference
    assert [d["unit"] for d in c.differences] == ["C", "A", "B"]
    dc, da, db = c.differences
    # C: we rank it above A and B, which the list puts above it. C_P1 = 0.5·P1, C_P2 = 0.5·P2:
    # Δ^W = C_C - mean(C_A, C_B): P1 37.5 - (0 + 37.5)/2 = 18.75; P2 25 - (50 + 0)/2 = 0
    assert dc["swapped_with"] == ["A", "B"] and dc["direction"] == "we rank higher"
    assert [(p["code"], p["delta_swapped"]) for p in dc["pillars"]] == [("P1", 18.75), ("P2", 0.0)]
    # against the overlap mean (21.875 for both pillars): P1 37.5 - 21.875, P2 25 - 21.875
    assert {p["code"]: p["delta"] for p in dc["pillars"]} == {"P1": 15.625, "P2": 3.125}
    assert dc["score"] - dc["swapped_mean_score"] == pytest.approx(18.75)
    assert dc["overlap_mean_score"] == pytest.approx(43.75)
    # indicators: C_a = 0.25·100 = 25, C_b = 0.25·50, C_c = 0.5·50 against A (0, 0, 50) and B (12.5, 25, 0)
    assert [(i["code"], i["delta_swapped"]) for i in dc["indicators"]] == [("a", 18.75), ("b", 0.0), ("c", 0.0)]
    # A: we put it below C. Δ^W = C_A - C_C: P1 0 - 37.5, P2 50 - 25 → P1 holds it back
    assert da["swapped_with"] == ["C"] and da["direction"] == "we rank lower"
    assert [(p["code"], p["delta_swapped"]) for p in da["pillars"]] == [("P1", -37.5), ("P2", 25.0)]
    assert [(i["code"], i["delta_swapped"]) for i in da["indicators"]] == [("a", -25.0), ("b", -12.5), ("c", 25.0)]
    assert da["indicators"][0]["value"] == 0 and da["indicators"][0]["swapped_mean_value"] == 100
    # B: below C because of P2 (0 - 25); P1 is level (37.5 each)
    assert [(p["code"], p["delta_swapped"]) for p in db["pillars"]] == [("P2", -25.0), ("P1", 0.0)]
    assert all(abs(d["residual"]) < 1e-9 for d in c.differences)


def test_spearman_is_scipys_on_the_overlap(fixture: dict[str, Path]) -> None:
    result = build(fixture["spec"])
    (c,) = compare_published(result, _load(fixture), lists=["t1"]).lists
    ref = spearmanr(c.cities["published_rank"], c.cities["our_rank"]).statistic
    assert c.rho == pytest.approx(ref)


def test_missing_value_contributes_zero_and_weights_renormalise(fixture: dict[str, Path]) -> None:
    result = build(fixture["spec"])
    C, residual = contributions(result)
    # E has no b: a carries P1's whole half (0.5 · 75), b contributes 0
    assert C.loc["E", "a"] == pytest.approx(37.5) and C.loc["E", "b"] == 0
    assert C.loc["A", "c"] == pytest.approx(50)
    np.testing.assert_allclose(C[["a", "b", "c"]].sum(axis=1), result.index_scores, atol=1e-12)
    assert np.abs(residual).max() < 1e-12


def test_tiny_lists_get_no_rho(fixture: dict[str, Path]) -> None:
    result = build(fixture["spec"])
    (c,) = compare_published(result, _load(fixture), lists=["t2"]).lists
    assert c.n_overlap == 2 and np.isnan(c.rho) and "too few cities" in c.note
    # the swap is still explained: A (published 1st, ours 3rd) is below E (ours 1st) by P1 0 vs 37.5
    assert [d["unit"] for d in c.differences] == ["A", "E"]
    assert c.differences[0]["swapped_with"] == ["E"]
    assert {p["code"]: p["delta_swapped"] for p in c.differences[0]["pillars"]} == {"P1": -37.5, "P2": 12.5}


def test_unknown_list_names_the_valid_ones(fixture: dict[str, Path]) -> None:
    with pytest.raises(KeyError, match="valid ids: t1, t2"):
        compare_published(build(fixture["spec"]), _load(fixture), lists=["nope"])


@pytest.mark.parametrize(("row", "needle"), [
    (_row("t1", "Delta", 0), "column 'rank': expected a positive integer"),
    (_row("t1", "Delta", "2.5"), "column 'rank': expected a positive integer"),
    (_row("t1", "Delta", 1), "has rank 1 more than once"),
    (_row("t1", "Delta", 3, url="www.example.org"), "column 'source_url': expected an http(s) URL"),
    (_row("t1", "Delta", 3, edition=""), "column 'edition': empty"),
    (_row("t1", "Delta", 3, basis="guessed"), "column 'rank_basis'"),
    (_row("t1", "Alpha City", 3), "names this city twice"),
    (_row("t1", "Alpha", 3), "two published names that map to our city A"),
    (_row("t1", "Delta", 3, edition="1999"), "column 'edition': one value per list"),
])
def test_bad_rows_are_refused_with_file_row_column(fixture: dict[str, Path], tmp_path: Path, row: str,
                                                   needle: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("\n".join([HEADER, _row("t1", "Alpha City", 1), _row("t1", "Betaville", 2), row]) + "\n")
    with pytest.raises(DataError, match=needle.replace("(", r"\(").replace(")", r"\)")) as e:
        _load(fixture, p)
    assert str(p) in str(e.value)


def test_declared_ties_are_allowed(fixture: dict[str, Path], tmp_path: Path) -> None:
    p = tmp_path / "ties.csv"
    p.write_text("\n".join([HEADER, _row("t1", "Alpha City", 1), _row("t1", "Betaville", 2, tied="yes"),
                            _row("t1", "Delta", 2, tied="yes")]) + "\n")
    pub = _load(fixture, p)
    (c,) = compare_published(build(fixture["spec"]), pub).lists
    assert c.cities["published_rank_in_overlap"].tolist() == [1, 2.5, 2.5]  # average ranks for ties


# -------------------------------------------------------------------------------- the shipped table

def test_shipped_table_integrity() -> None:
    raw = pd.read_csv(PUBLISHED_DIR / "published_rankings.csv", dtype=str, keep_default_na=False)
    assert list(raw.columns) == list(COLUMNS)
    assert (raw["source_url"].str.match(r"^https?://\S+$")).all()
    assert (raw["edition"].str.strip() != "").all() and (raw["retrieved"].str.match(r"^\d{4}-\d{2}-\d{2}$")).all()
    assert (raw["rank"].str.fullmatch(r"[1-9]\d*")).all()
    for lid, g in raw.groupby("list_id"):
        dup = g[g["rank"].duplicated(keep=False)]
        assert (dup["tied"] == "yes").all(), f"{lid}: duplicate ranks not declared as ties"
        assert g["coverage"].nunique() == 1 and g["coverage"].iloc[0].strip(), lid
    pub = load_published()
    # every published name is matched to one of our cities or listed as unmatched: nothing is dropped
    assert len(pub.table) == len(raw)
    un = pub.unmatched()
    assert len(un) + int(pub.table["code"].notna().sum()) == len(raw)
    assert sorted(un["city_name_as_published"]) == ["Calgary", "Hamburg"]  # not in our 91-city registry
    assert set(pub.ids) >= {"gfhr2023", "gfci37_fintech", "findexable2020", "startupblink2024_fintech"}


def _assert_pillar_deltas_add_up(d: dict[str, Any]) -> float:
    """A gap's pillar contributions add up to the score's distance from the overlap's mean (and, when the city is
    swapped with others, from theirs); returns the latter sum (0 when swapped with nobody)."""
    total = sum(p["delta"] for p in d["pillars"])
    assert total == pytest.approx(d["score"] - d["overlap_mean_score"], abs=1e-9)
    if not d["swapped_with"]:
        return 0.0
    tw = sum(p["delta_swapped"] for p in d["pillars"])
    assert tw == pytest.approx(d["score"] - d["swapped_mean_score"], abs=1e-9)
    return float(tw)


def test_default_index_decomposition_adds_up() -> None:
    result = build()
    cmp = compare_published(result, top=50)
    assert cmp.to_dict()["rule"] == RULE
    for c in cmp.lists:
        assert c.n_overlap == len(c.cities) and c.n_overlap <= c.n_published
        ok = c.cities["our_rank_in_overlap"].notna()
        assert sorted(c.cities.loc[ok, "our_rank_in_overlap"]) == pytest.approx(list(range(1, c.n_overlap + 1)))
        for d in c.differences:
            tw = _assert_pillar_deltas_add_up(d)
            if d["swapped_with"]:
                # the cities we order the other way are all above it (gap > 0) or all below it (gap < 0)
                assert (tw <= 0) if d["gap"] > 0 else (tw >= 0)
                p0, r0 = d["published_rank"], d["our_rank"]
                for j in d["swapped_with"]:
                    row = c.cities.set_index("unit").loc[j]
                    assert (row["published_rank"] > p0 and row["our_rank"] < r0) if d["gap"] > 0 else \
                        (row["published_rank"] < p0 and row["our_rank"] > r0)
            assert d["swapped_with"], f"{c.list_id}: {d['unit']} has a gap but nobody it is swapped with"


# -------------------------------------------------------------------------------- invariants (Hypothesis)

def _random_case(tmp: Path, values: list[list[float]], order: list[int]) -> tuple[Path, Path, Path, Path]:
    codes = [f"U{i}" for i in range(len(values))]
    lines = ["code,name,a,b,c"] + [f"{c},{c},{v[0]},{v[1]},{v[2]}" for c, v in zip(codes, values, strict=True)]
    (tmp / "data.csv").write_text("\n".join(lines) + "\n")
    (tmp / "spec.yaml").write_text(
        "name: R\ndata: {path: data.csv, unit_code: code, unit_name: name}\n"
        "framework:\n  - {code: IDX}\n  - {code: P1, parent: IDX, weight: 2}\n  - {code: P2, parent: IDX, weight: 1}\n"
        "  - {code: a, parent: P1}\n  - {code: b, parent: P1, weight: 3}\n  - {code: c, parent: P2}\n"
        "pipeline:\n  - {step: normalise, method: min_max, l: 0, u: 100}\n  - {step: aggregate, method: arithmetic}\n")
    reg = tmp / "registry"
    reg.mkdir(exist_ok=True)
    (reg / "cities.csv").write_text("code,name,country_iso2,geonames_name,wup_name,wiki_gdp_name,cn_region\n"
                                    + "".join(f"{c},{c},XX,,,,\n" for c in codes))
    (reg / "aliases.csv").write_text("code,alias,kind\n")
    (tmp / "al.csv").write_text("alias,country_iso2,code,note\n")
    (tmp / "pub.csv").write_text("\n".join([HEADER] + [_row("h", codes[j], k + 1) for k, j in enumerate(order)]) + "\n")
    return tmp / "spec.yaml", tmp / "pub.csv", tmp / "al.csv", reg


def test_invariants_on_random_indexes(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    vals = st.lists(st.lists(st.integers(0, 100).map(float), min_size=3, max_size=3), min_size=6, max_size=6,
                    unique_by=lambda v: tuple(v))

    @settings(max_examples=25, deadline=None)
    @given(values=vals, order=st.permutations(list(range(6))), k=st.integers(3, 6))
    def check(values: list[list[float]], order: list[int], k: int) -> None:
        tmp = tmp_path_factory.mktemp("h")
        spec, pubf, al, reg = _random_case(tmp, values, order[:k])
        result = build(spec)
        (c,) = compare_published(result, load_published(pubf, aliases=al, registry=reg), top=6).lists
        assert c.n_overlap == k
        if not np.isnan(c.rho):
            assert c.rho == pytest.approx(spearmanr(c.cities["published_rank"], c.cities["our_rank"]).statistic)
        cities = c.cities.set_index("unit")
        for d in c.differences:
            tw = _assert_pillar_deltas_add_up(d)
            if d["swapped_with"]:
                assert tw <= 1e-9 if d["gap"] > 0 else tw >= -1e-9
            for j in d["swapped_with"]:
                pj, rj = cities.loc[j, "published_rank_in_overlap"], cities.loc[j, "our_rank_in_overlap"]
                if d["gap"] > 0:
                    assert pj > d["published_rank_in_overlap"] and rj < d["our_rank_in_overlap"]
                else:
                    assert pj < d["published_rank_in_overlap"] and rj > d["our_rank_in_overlap"]
        # with distinct ranks every non-zero gap has someone it is swapped with
        if cities["our_rank_in_overlap"].is_unique:
            assert all(d["swapped_with"] for d in c.differences)

    check()
