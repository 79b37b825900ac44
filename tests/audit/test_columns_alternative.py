"""The uncertainty block's ``columns`` factor: an indicator read from an alternative data column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubindex import build
from hubindex.audit.config import parse_uncertainty
from hubindex.audit.model import AuditModel
from hubindex.errors import SpecError
from hubindex.spec import spec_from_dict


def _spec(tmp_path: Path, unc: dict | None = None):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    n = 12
    df = pd.DataFrame({"code": [f"U{i:02d}" for i in range(n)], "a": rng.uniform(0, 10, n),
                       "b": rng.uniform(0, 10, n), "c": rng.uniform(0, 10, n)})
    df["a_alt"] = df["a"][::-1].to_numpy()  # a very different alternative: reversed order
    df.loc[3, "a_alt"] = np.nan
    df.to_csv(tmp_path / "d.csv", index=False)
    d = {"name": "t", "data": {"path": "d.csv", "unit_code": "code"},
         "framework": [{"code": "I"}, {"code": "P1", "parent": "I"}, {"code": "P2", "parent": "I"},
                       {"code": "a", "parent": "P1"}, {"code": "b", "parent": "P1"}, {"code": "c", "parent": "P2"}],
         "pipeline": [{"step": "normalise", "method": "min_max"}, {"step": "aggregate", "method": "arithmetic"}],
         "uncertainty": unc if unc is not None else {"columns": [{"a": "a_alt"}],
                                                     "normalise": [{"method": "min_max"}, {"method": "rank"}]}}
    return spec_from_dict(d, base_dir=tmp_path)


def test_config_lists_nominal_then_each_mapping() -> None:
    assert parse_uncertainty({"columns": {"a": "a2"}}).column_alternatives() == [{}, {"a": "a2"}]
    assert parse_uncertainty({"columns": [{"a": "a2"}, {"a": "a3", "b": "b3"}]}).column_alternatives() == [
        {}, {"a": "a2"}, {"a": "a3", "b": "b3"}]
    assert parse_uncertainty({}).column_alternatives() is None


def test_columns_alternative_equals_a_build_on_the_other_column(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    m = AuditModel(spec)
    f = {x.name: x for x in m.factors}
    assert f["columns"].labels == ("nominal", "a=a_alt")
    U = np.zeros((4, m.ncols))
    U[:, f["columns"].col0] = [0.1, 0.9, 0.1, 0.9]          # nominal, alternative, nominal, alternative
    U[:, f["normalise"].col0] = [0.1, 0.1, 0.9, 0.9]        # min-max, min-max, rank, rank
    S = m.scores(U, ["I", "P1"])
    for i in range(4):
        ref = build(m.spec_for(U[i]))
        np.testing.assert_allclose(S["I"][i], ref.scores["I"].to_numpy(float), atol=1e-9)
        np.testing.assert_allclose(S["P1"][i], ref.scores["P1"].to_numpy(float), atol=1e-9)
    # independent check: the alternative replication is the spec rewritten by hand to read a_alt
    d = spec.model_dump()
    d["framework"] = [{**nd, "code": "a_alt"} if nd["code"] == "a" else nd for nd in d["framework"]]
    d["uncertainty"] = None
    hand = build(type(spec).model_validate(d))
    np.testing.assert_allclose(S["I"][1], hand.scores["I"].to_numpy(float), atol=1e-9)
    assert not np.allclose(S["I"][0], S["I"][1])          # the choice changes the scores
    assert np.isnan(m.variants[(1, 0, 0, 0)][3, list(m.inds).index("a")])   # a_alt's missing value is missing


def test_columns_errors_name_the_key(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    with pytest.raises(SpecError, match=r"uncertainty.columns: \['zz'\] are not indicators"):
        AuditModel(spec, parse_uncertainty({"columns": {"zz": "a_alt"}}))
    with pytest.raises(SpecError, match="uncertainty.columns: alternative .* cannot be read"):
        AuditModel(spec, parse_uncertainty({"columns": {"a": "no_such_column"}}))


def test_default_spec_declares_the_national_values() -> None:
    from hubindex.api import as_spec, default_spec_path

    m = AuditModel(as_spec(str(default_spec_path())))
    f = {x.name: x for x in m.factors}
    assert f["columns"].k == 2
    alt = m.col_alts[1]
    assert alt == {c: f"{c}_national" for c in ("mobile_instore_pay", "online_bill_pay", "mobile_send_money",
                                                "online_purchase")}
    # the alternative data hold the national values: every Chinese city gets China's value
    j = list(m.inds).index("mobile_instore_pay")
    units = list(m.units)
    cn = [units.index(u) for u in units if u.startswith("CN-")]
    assert len(set(m.datas[1].X[cn, j])) == 1 and len(set(m.datas[0].X[cn, j])) == len(cn)
