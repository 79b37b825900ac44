"""``IndexView.rescore`` re-aggregates only the ancestors of the changed weights: its scores equal a full
re-aggregation of every node with the new weights, exactly, and with no change the published scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import hubindex
from hubindex.web._drivers import node_values
from hubindex.web._view import IndexView

_R = hubindex.build(hubindex.load_spec(hubindex.api.default_spec_path().parents[2] / "examples/asem/default.yaml"))
_V = IndexView.from_result(_R)
_CODES = [c for c in _R.framework.codes if c != _R.index_code]


def _by_unit(out: dict[str, Any], key: str) -> dict[str, Any]:
    return {row["unit"]: row[key] for row in out["ranking"]}


def test_no_change_gives_the_published_scores() -> None:
    out = _V.rescore({})
    score = _by_unit(out, "score")
    pub = _R.index_scores
    assert all(score[u] == float(pub[u]) for u in _R.units)
    assert all(row["move"] == 0 and row["score_change"] == 0 for row in out["ranking"])


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(_CODES), st.sampled_from([0.0, 0.25, 1.0, 2.0, 7.5]), min_size=1, max_size=6))
def test_incremental_rescore_equals_full_reaggregation(weights: dict[str, float]) -> None:
    fw = _R.framework
    w = _R.weights["weight"].reindex(list(fw.codes)).to_numpy(dtype=float).copy()
    for c, v in weights.items():
        w[fw.index_of(c)] = v
    if any(not np.any(w[np.flatnonzero(fw.parent == fw.index_of(a))] > 0) for a in fw.aggregates):
        return  # an all-zero group is refused (tested in test_api)
    out = _V.rescore(weights)
    norm, methods = _V._engine_inputs()
    full = node_values(fw, norm, w, methods, _V.aggregation()["min_availability"])
    units = _R.units
    for code, key in [(fw.root, "score"), *[(p, p) for p in _R.pillars()]]:
        got = _by_unit(out, key)
        for j, u in enumerate(units):
            x = full[code][j]
            assert got[u] == (None if np.isnan(x) else float(x))  # exact, bit for bit
