"""Incremental rebuilds (``Pipeline``'s step cache) give results identical, bit for bit, to cold builds.

Every array and table of the Result is compared exactly (``tobytes`` for numeric arrays, so even -0.0 vs 0.0 or
a last-bit difference fails): for every example pipeline, after one-parameter changes chosen by hand and by
Hypothesis through one shared pipeline (so stale entries of other specs are present), for changed data, and with
a cache small enough to evict. Cached arrays are read-only and a Result's tables cannot reach back into them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hubindex
from hubindex import HubindexError, Pipeline
from hubindex.engine import IndexData, run
from hubindex.engine.result import Result
from hubindex.spec import WeightsSpec

REPO = Path(__file__).resolve().parents[2]
ASEM = REPO / "examples" / "asem"
SPECS = {
    "asem-default": ASEM / "default.yaml",
    "asem-example-coin": ASEM / "example_coin.yaml",
    "asem-geometric": ASEM / "geometric.yaml",
    "asem-sensitivity": ASEM / "sensitivity.yaml",
    "gfhi-default": REPO / "hubindex" / "specs" / "default.yaml",
}


def _same_array(a: np.ndarray, b: np.ndarray, what: str) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype, what
    if a.dtype == object:
        assert all((x is y) or (x == y) or (x != x and y != y) for x, y in zip(a.ravel(), b.ravel(), strict=True)), what
    else:
        assert a.tobytes() == b.tobytes(), f"{what}: not bit-identical"


def _same_frame(a: pd.DataFrame | pd.Series, b: pd.DataFrame | pd.Series, what: str) -> None:
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=what)
        _same_array(a.to_numpy(), b.to_numpy(), what)
        return
    pd.testing.assert_frame_equal(a, b, check_exact=True, obj=what)
    for c in a.columns:
        _same_array(a[c].to_numpy(), b[c].to_numpy(), f"{what}[{c}]")


def assert_same_result(a: Result, b: Result) -> None:
    """Every table, array and record of two results is identical."""
    for name in ("scores", "ranks", "subranks", "imputed", "treat_flags", "weights", "unit_names", "groups"):
        _same_frame(getattr(a, name), getattr(b, name), name)
    assert (a.tiers is None) == (b.tiers is None)
    if a.tiers is not None:
        _same_frame(a.tiers, b.tiers, "tiers")
    assert list(a.datasets) == list(b.datasets)
    for k in a.datasets:
        _same_frame(a.datasets[k], b.datasets[k], f"datasets[{k}]")
    assert list(a.reports) == list(b.reports)
    for k in a.reports:
        _same_frame(a.reports[k], b.reports[k], f"reports[{k}]")
    assert a.excluded == b.excluded
    ra, rb = dict(a.run_record), dict(b.run_record)
    assert ra == rb
    assert list(a.framework.codes) == list(b.framework.codes)
    _same_array(a.framework.weight, b.framework.weight, "framework.weight")
    _same_frame(a.ranking(), b.ranking(), "ranking")


def _build(spec: Any, cache: Any) -> Result | str:
    try:
        return hubindex.build(spec, cache=cache)
    except HubindexError as e:  # an invalid change must fail the same way in both builds
        return f"{type(e).__name__}: {e}"


def _check(spec: Any, pipe: Pipeline) -> None:
    cold = _build(spec, False)
    warm = _build(spec, pipe)
    if isinstance(cold, str) or isinstance(warm, str):
        assert cold == warm
        return
    assert_same_result(cold, warm)


@pytest.fixture(scope="module")
def specs() -> dict[str, Any]:
    return {k: hubindex.load_spec(p) for k, p in SPECS.items()}


@pytest.mark.parametrize("name", list(SPECS))
def test_every_example_pipeline_warm_equals_cold(specs: dict[str, Any], name: str) -> None:
    spec = specs[name]
    pipe = Pipeline()
    _check(spec, pipe)  # first build through the pipeline (fills the cache)
    hits = pipe.stats.hits
    _check(spec, pipe)  # second: every step from the cache
    assert pipe.stats.hits > hits


def _changes(spec: Any) -> list[Any]:
    """One-parameter changes of every step of ``spec`` (and of the weights)."""
    out = []
    for s in spec.pipeline:
        k = s.step
        if k == "normalise":
            out += [spec.with_step(k, l=1), spec.with_step(k, method="z_score"), spec.with_step(k, method="rank")]
        elif k == "aggregate":
            out += [spec.with_step(k, method="median"), spec.with_step(k, min_availability=0.6)]
        elif k == "treat":
            out += [spec.with_step(k, winmax=2), spec.with_step(k, method="winsorise", lower=0.1, upper=0.9)]
        elif k == "impute":
            out += [spec.with_step(k, method="median")]
        elif k == "screen":
            out += [spec.with_step(k, min_availability=0.8)]
        elif k == "denominate":
            out += [spec.with_step(k, scale=1000.0)]
    pillar = next(n.code for n in spec.framework if n.parent == next(m.code for m in spec.framework if m.parent is None))
    out.append(spec.model_copy(update={"weights": WeightsSpec(use="alt", sets={"alt": {pillar: 3.0}})}))
    out.append(spec.model_copy(update={"weights": WeightsSpec(use="equal")}))
    return out


@pytest.mark.parametrize("name", ["asem-default", "asem-example-coin", "gfhi-default"])
def test_one_parameter_changes_rebuild_like_cold(specs: dict[str, Any], name: str) -> None:
    spec = specs[name]
    pipe = Pipeline()
    _check(spec, pipe)
    for changed in _changes(spec):
        before = pipe.stats
        _check(changed, pipe)
        # the unchanged leading steps came from the cache
        assert pipe.stats.hits > before.hits
        _check(spec, pipe)  # and going back gives the original again


def test_tiny_spec_changes(tiny_spec: Path) -> None:
    spec = hubindex.load_spec(tiny_spec)
    pipe = Pipeline()
    for s in [spec, *_changes(spec), spec.model_copy(update={"tiers": None}),
              spec.model_copy(update={"subrankings": []})]:
        _check(s, pipe)


# -- random one-parameter changes through one shared pipeline -----------------------------------------------------

_SHARED = Pipeline()


def _param_change(draw: Any, spec: Any) -> Any:
    kinds = [s.step for s in spec.pipeline] + ["weights"]
    kind = draw(st.sampled_from(kinds))
    if kind == "normalise":
        m = draw(st.sampled_from(["min_max", "z_score", "rank", "percentile_rank", "dist_to_max", "borda",
                                  "frac_max"]))
        if m == "min_max":
            lo = draw(st.floats(-10, 10, allow_nan=False))
            return spec.with_step(kind, method=m, l=lo, u=lo + draw(st.floats(1, 100)))
        if m == "z_score":
            return spec.with_step(kind, method=m, m=draw(st.floats(-5, 5)), s=draw(st.floats(0.5, 20)))
        return spec.with_step(kind, method=m)
    if kind == "aggregate":
        m = draw(st.sampled_from(["arithmetic", "median", "geometric"]))
        return spec.with_step(kind, method=m, min_availability=draw(st.none() | st.floats(0, 1)))
    if kind == "treat":
        return spec.with_step(kind, winmax=draw(st.integers(0, 10)), skew_thresh=draw(st.floats(0.5, 4)))
    if kind == "impute":
        return spec.with_step(kind, method=draw(st.sampled_from(["mean", "median", "row_mean"])))
    if kind == "screen":
        return spec.with_step(kind, min_availability=draw(st.floats(0.5, 1)))
    if kind == "denominate":
        return spec.with_step(kind, scale=draw(st.floats(0.5, 1e4)))
    code = draw(st.sampled_from([n.code for n in spec.framework if n.parent is not None]))
    return spec.model_copy(update={"weights": WeightsSpec(use="alt", sets={"alt": {code: draw(st.floats(0, 10))}})})


@st.composite
def _changed_spec(draw: Any) -> tuple[Any, Any]:
    base = hubindex.load_spec(SPECS[draw(st.sampled_from(["asem-default", "asem-example-coin"]))])
    return base, _param_change(draw, base)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_changed_spec())
def test_random_one_parameter_change_is_bit_identical(pair: tuple[Any, Any]) -> None:
    base, changed = pair
    _check(base, _SHARED)  # warm the shared cache with the base (and earlier examples' entries stay)
    _check(changed, _SHARED)


# -- data identity, bounds, immutability ---------------------------------------------------------------------------


def test_changed_data_is_never_served_from_cache(specs: dict[str, Any]) -> None:
    from hubindex.io import load_data

    spec = specs["asem-default"]
    data, _ = load_data(spec)
    pipe = Pipeline()
    r1 = pipe.run(spec, data)
    X2 = np.array(data.X, copy=True)
    X2[0, 0] = np.nanmax(X2[:, 0]) * 10  # one cell
    data2 = IndexData(data.units, data.names, data.indicators, X2, data.groups, data.denominators)
    r2 = pipe.run(spec, data2)
    assert_same_result(r2, run(spec, data2))
    assert not r1.scores.equals(r2.scores)
    names2 = np.array(data.names, copy=True)
    names2[0] = "Renamed"
    r3 = pipe.run(spec, IndexData(data.units, names2, data.indicators, data.X, data.groups, data.denominators))
    assert r3.unit_names.iloc[0] == "Renamed"
    # the caller's arrays are never frozen by the cache
    assert data2.X.flags.writeable and names2.flags.writeable


def test_changed_data_file_is_reread(tiny_spec: Path) -> None:
    pipe = Pipeline()
    r1 = hubindex.build(tiny_spec, cache=pipe)
    csv = tiny_spec.parent / "data.csv"
    csv.write_text(csv.read_text().replace("U5,Five,West,5,50,1,0.1", "U5,Five,West,0,50,1,0.1"))
    r2 = hubindex.build(tiny_spec, cache=pipe)
    assert_same_result(r2, hubindex.build(tiny_spec, cache=False))
    assert r1.scores.loc["U5", "a"] != r2.scores.loc["U5", "a"]


def test_cache_is_bounded_and_evicts_correctly(specs: dict[str, Any]) -> None:
    spec = specs["asem-example-coin"]
    pipe = Pipeline(max_bytes=60_000)  # a few step outputs of ASEM (51 × 49 floats ≈ 20 kB each)
    for s in [spec, *_changes(spec), spec]:
        _check(s, pipe)
        assert pipe.stats.bytes <= 60_000
    assert 0 < pipe.stats.entries
    none = Pipeline(max_bytes=0)
    _check(spec, none)
    assert none.stats.entries == 0


def test_cached_arrays_are_read_only_and_results_cannot_write_back(specs: dict[str, Any]) -> None:
    spec = specs["asem-default"]
    pipe = Pipeline()
    r1 = hubindex.build(spec, cache=pipe)
    states = [v for v, _ in pipe.cache._d.values()]
    arrays = [a for s in states if hasattr(s, "X") for a in (s.X, s.imputed, s.flags)]
    assert arrays and not any(a.flags.writeable for a in arrays)
    with pytest.raises(ValueError, match="read-only"):
        arrays[-1][0, 0] = 0  # type: ignore[index]
    norm = r1.datasets["Normalised"]
    with pytest.raises(ValueError, match="read-only"):
        norm.to_numpy()[0, 0] = -1.0
    # a Result's tables over cached arrays refuse in-place writes; a copy is the caller's own
    before = r1.scores.iloc[0, 0]
    with pytest.raises(ValueError, match="read-only"):
        r1.scores.iloc[0, 0] = before + 1
    mine = r1.scores.copy()
    mine.iloc[0, 0] = before + 1
    r2 = hubindex.build(spec, cache=pipe)
    assert r2.scores.iloc[0, 0] == before
    assert_same_result(r2, hubindex.build(spec, cache=False))


def test_result_is_frozen_and_lazy(specs: dict[str, Any]) -> None:
    from dataclasses import FrozenInstanceError

    r = hubindex.build(specs["asem-default"], cache=Pipeline())
    with pytest.raises(FrozenInstanceError):
        r.scores = None  # type: ignore[misc]
    assert not r._done  # nothing built yet
    assert r.scores is r.scores  # built once, then kept
    assert r.reports["weights"] is r.weights
    with pytest.raises(TypeError):
        r.reports["x"] = 1  # type: ignore[index]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.lists(st.integers(1, 12), min_size=1, max_size=5), st.integers(0, 2**32 - 1),
       st.lists(st.none() | st.floats(0, 1), min_size=5, max_size=5))
def test_pipeline_level_aggregation_is_bit_identical_to_the_step_function(n: int, widths: list[int], seed: int,
                                                                          thresh: list[float | None]) -> None:
    """All the groups of a level aggregated at once (padded to the widest group, up to 12 children: NumPy's sum
    would be pairwise there) give, group by group, the same bits as ``engine.arithmetic_mean`` on the group."""
    from hubindex.engine import arithmetic_mean
    from hubindex.engine.pipeline import _arithmetic_level, _Level

    rng = np.random.default_rng(seed)
    k = sum(widths)
    S = rng.normal(50, 30, (n, k + len(widths)))
    S[rng.random(S.shape) < 0.3] = np.nan
    S[rng.random(S.shape) < 0.05] = 0.0
    S[rng.random(S.shape) < 0.05] = -0.0
    w = rng.choice([0.0, 0.5, 1.0, 2.0, 3.7, 1e-9], S.shape[1])
    G, width = len(widths), max(widths)
    kids = np.zeros((G, width), dtype=np.intp)
    valid = np.zeros((G, width), dtype=bool)
    start = 0
    for g, m in enumerate(widths):
        kids[g, :m] = rng.permutation(np.arange(start, start + m))
        valid[g, :m] = True
        start += m
    lv = _Level.of(2, np.arange(k, k + G), tuple(f"A{g}" for g in range(G)), kids, valid)
    got = _arithmetic_level(S, lv, w, thresh[:G])
    for g, m in enumerate(widths):
        C = np.column_stack([S[:, c] for c in kids[g, :m]])
        _same_array(got[:, g], arithmetic_mean(C, w[kids[g, :m]], min_availability=thresh[g]), f"group {g}")


def test_identity_memo_is_keyed_by_the_objects_and_bounded() -> None:
    """Per-spec work is remembered by the identity of frozen objects: equal content in another object is
    computed again (never served from another spec), an entry holds its objects, and the memo stays bounded."""
    from hubindex.engine._cache import IdentityMemo

    memo = IdentityMemo(size=3)
    calls: list[int] = []

    def make(v: int) -> Any:
        return lambda: calls.append(v) or v

    a, b = ("x",) * 1, ["x"]
    assert memo.get((a, "k"), make(1)) == 1
    assert memo.get((a, "k"), make(2)) == 1  # the same object: remembered
    assert memo.get((b, "k"), make(3)) == 3  # equal content, another object: computed
    for i in range(5):
        memo.get((object(), "k"), make(10 + i))
    assert len(memo._d) == 3
    assert memo.get((a, "k"), make(4)) == 4  # evicted (LRU), computed again
    assert calls == [1, 3, 10, 11, 12, 13, 14, 4]


def test_specs_that_share_no_nodes_get_their_own_framework_context(tiny_spec: Path) -> None:
    """The framework context is remembered per node objects: a spec re-read from disk, or one whose framework
    changed, gets a context of its own — the weights and directions it has, not those of a spec seen before."""
    import hubindex
    from hubindex.engine.pipeline import _context_of

    s1 = hubindex.load_spec(tiny_spec)
    s2 = hubindex.load_spec(tiny_spec)
    assert _context_of(s1) is _context_of(s1.with_step("normalise", l=1))  # shared nodes: one context
    assert _context_of(s1) is not _context_of(s2)
    leaf = next(n for n in s1.framework if n.code in _context_of(s1).inds)
    flipped = s1.model_copy(update={"framework": [n.model_copy(update={"direction": -n.direction}) if n is leaf
                                                  else n for n in s1.framework]})
    ctx = _context_of(flipped)
    assert ctx.nodes[leaf.code].direction == -leaf.direction
    r_flip, r_cold = hubindex.build(flipped), hubindex.build(flipped, cache=False)
    assert r_flip.index_scores.equals(r_cold.index_scores)
    assert not r_flip.index_scores.equals(hubindex.build(s1).index_scores)


@st.composite
def _weight_sequence(draw: Any) -> tuple[str, list[dict[str, float]], float | None]:
    name = draw(st.sampled_from(["asem-default", "asem-geometric", "gfhi-default"]))
    codes = [n.code for n in hubindex.load_spec(SPECS[name]).framework if n.parent is not None]
    sets = draw(st.lists(st.dictionaries(st.sampled_from(codes), st.sampled_from([0.0, -0.0, 0.5, 1.0, 2.0, 7.5]),
                                         max_size=4), min_size=2, max_size=3))
    return name, sets, draw(st.none() | st.sampled_from([0.3, 0.6, 0.9]))


def _all_zero_group(spec: Any, ws: dict[str, float]) -> bool:
    """Some aggregate whose children all weigh 0 (its weights report refuses it, cold or warm alike)."""
    w = {n.code: ws.get(n.code, n.weight) for n in spec.framework}
    kids: dict[str, list[float]] = {}
    for n in spec.framework:
        if n.parent is not None:
            kids.setdefault(n.parent, []).append(w[n.code])
    return any(all(x == 0 for x in ks) for ks in kids.values())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_weight_sequence())
def test_reweighting_recomputes_only_the_changed_branches_and_stays_bit_identical(
        seq: tuple[str, list[dict[str, float]], float | None]) -> None:
    """A run of re-weightings through one pipeline (each starting from the latest aggregation of the same values,
    recomputing only the aggregates above a changed weight), with zeros, -0.0, weights back to the spec's and a
    minimum availability: every result equals a cold build, bit for bit."""
    name, sets, avail = seq
    spec = hubindex.load_spec(SPECS[name])
    if avail is not None:
        spec = spec.with_step("aggregate", min_availability=avail)
    pipe = Pipeline()
    _check(spec, pipe)
    for ws in [*sets, {}]:
        if _all_zero_group(spec, ws):
            continue
        s = spec.model_copy(update={"weights": WeightsSpec(use="alt", sets={"alt": ws})})
        _check(s, pipe)


def test_reweighting_touches_only_the_ancestors_of_a_changed_weight(specs: dict[str, Any]) -> None:
    """After a change of one sub-pillar's weight, only its pillar and the index are recomputed: every other
    column of the new scores is the very same array content as before, and a cold build agrees."""
    from hubindex.engine import pipeline as P

    spec = specs["asem-default"]
    fw = hubindex.build(spec).framework
    sub = next(c for c in fw.aggregates if fw.level_of(c) == 2)
    calls: list[tuple[str, ...]] = []
    real = P._arithmetic_level

    def spy(S: np.ndarray, lv: Any, w: np.ndarray, thresh: list[float | None]) -> np.ndarray:
        calls.append(lv.codes)
        return real(S, lv, w, thresh)

    pipe = Pipeline()
    hubindex.build(spec, cache=pipe)
    changed = spec.model_copy(update={"weights": WeightsSpec(use="alt", sets={"alt": {sub: 3.0}})})
    try:
        P._arithmetic_level = spy  # type: ignore[assignment]
        warm = hubindex.build(changed, cache=pipe)
    finally:
        P._arithmetic_level = real  # type: ignore[assignment]
    assert calls == [(fw.parent_of(sub),), (fw.root,)]
    assert_same_result(warm, hubindex.build(changed, cache=False))
