"""GFCI-style expert assessments (hubindex.survey.expert).

There are no real assessment data: every model test runs on SIMULATED assessments from
``simulate_assessments`` (a known generating model), labelled as such in its output.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pydantic
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from hubindex.errors import ComputeError, DataError, HubindexError, SpecError
from hubindex.survey.expert import (
    AssessSpec,
    ExpertConfig,
    apply_thresholds,
    centre_summary,
    fit_expert,
    load_assess_spec,
    merge_pairs,
    months_before,
    read_assessments,
    read_factors,
    respondent_offsets,
    run_assess,
    select_assessments,
    simulate_assessments,
    time_weights,
    validate_assessments,
    weighted_mean_sd,
)

REPO = Path(__file__).resolve().parents[2]
FAST = ExpertConfig(kernel="nystroem", cv_folds=3, sub_ratings=("sector",), min_sub_assessments=300)


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["respondent", "home_centre", "centre", "rating", "date"])


@pytest.fixture(scope="module")
def sim():
    return simulate_assessments(n_centres=40, n_factors=10, n_respondents=1500, seed=11)


@pytest.fixture(scope="module")
def fitted(sim):
    a, f, _ = sim
    return fit_expert(a, f, FAST)


# ------------------------------------------------------------------------------------------------ schema
def test_valid_table_is_normalised():
    df = _table([(" r1", "LON", "NYC ", "7", "2025-03-31"), ("r2", "NYC", "LON", 10.0, "2025-04-01")])
    out = validate_assessments(df, "a.csv", centres=["LON", "NYC"])
    assert out["respondent"].tolist() == ["r1", "r2"]
    assert out["centre"].tolist() == ["NYC", "LON"]
    assert out["rating"].tolist() == [7, 10]
    assert out["date"].tolist() == [pd.Timestamp("2025-03-31"), pd.Timestamp("2025-04-01")]


@pytest.mark.parametrize(("row", "column", "value", "msg"), [
    (1, "rating", 11, "integer rating 1..10, got 11"),
    (2, "rating", 3.5, "integer rating 1..10, got 3.5"),
    (0, "rating", "good", "got 'good'"),
    (1, "rating", None, "integer rating"),
    (2, "date", "31/31/2025", "expected a date"),
    (0, "respondent", "", "got an empty cell"),
    (1, "centre", None, "got an empty cell"),
    (2, "centre", "PAR", "centre 'PAR' has no instrumental factors"),
])
def test_bad_cell_names_file_row_column(row, column, value, msg):
    df = _table([("r1", "LON", "NYC", 7, "2025-03-31"), ("r2", "NYC", "LON", 5, "2025-04-01"),
                 ("r3", "SGP", "NYC", 6, "2025-05-01")])
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    with pytest.raises(DataError) as e:
        validate_assessments(df, "a.csv", centres=["LON", "NYC"])
    assert f"a.csv, row {row + 2}, column '{column}'" in str(e.value)
    assert msg in str(e.value)


def test_missing_column_and_empty_table():
    with pytest.raises(DataError, match=r"missing column\(s\) \['date'\]"):
        validate_assessments(_table([("r1", "A", "B", 5, "2025-01-01")]).drop(columns="date"), "a.csv")
    with pytest.raises(DataError, match="no assessments"):
        validate_assessments(_table([]), "a.csv")


def test_read_files_report_the_file(tmp_path):
    p = tmp_path / "ass.csv"
    p.write_text("respondent,home_centre,centre,rating,date\nr1,LON,NYC,7,2025-01-01\nr2,LON,NYC,0,2025-01-01\n")
    with pytest.raises(DataError, match=r"ass\.csv, row 3, column 'rating'"):
        read_assessments(p)
    f = tmp_path / "fac.csv"
    f.write_text("centre,name,gdp\nNYC,New York,1.5\nLON,London,abc\n")
    with pytest.raises(DataError, match=r"fac\.csv, row 3, column 'gdp': expected a number"):
        read_factors(f, columns=["gdp"])
    f.write_text("centre,name,gdp\nNYC,New York,1.5\nNYC,London,2\n")
    with pytest.raises(DataError, match=r"row 3.*duplicate centre 'NYC'"):
        read_factors(f)
    f.write_text("centre,name,gdp,pop\nNYC,New York,1.5,\nLON,London,2,3\n")
    fac = read_factors(f)  # text column 'name' skipped, empty cell kept as missing
    assert list(fac.columns) == ["gdp", "pop"] and np.isnan(fac.loc["NYC", "pop"])


# ------------------------------------------------------------------------------------------------ time
def test_months_before_hand_cases():
    ref = "2026-06-30"
    d = pd.to_datetime(["2026-06-30", "2026-01-01", "2025-12-31", "2025-12-30", "2024-07-01", "2024-06-30",
                        "2026-07-01"])
    assert months_before(d, ref).tolist() == [0, 5, 5, 6, 23, 24, -1]  # 31 Dec → 30 Jun: 5 months 30 days
    # end-of-month: 31 Jan → 28 Feb is not yet a completed month; 31 Jan → 1 Mar is
    assert months_before(pd.to_datetime(["2026-01-31"]), "2026-02-28").tolist() == [0]
    assert months_before(pd.to_datetime(["2026-01-31"]), "2026-03-01").tolist() == [1]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()),
       st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()))
@example(d=pd.Timestamp("2000-01-30").date(), ref=pd.Timestamp("2000-02-29").date())  # month-end clamping case
def test_months_before_agrees_with_dateutil(d, ref):
    """Completed months = the largest m with (month of d + m, day of d) <= (month of ref, day of ref), counted by
    brute force; it equals dateutil's count except where dateutil clamps to a shorter month's end (31 Dec + 6
    months = 30 Jun for dateutil; not yet 6 completed months here)."""
    import calendar

    from dateutil.relativedelta import relativedelta

    if d > ref:
        d, ref = ref, d
    got = months_before(pd.to_datetime([d]), pd.Timestamp(ref)).tolist()
    m = 0
    while ((d.year * 12 + d.month - 1 + m + 1), d.day) <= ((ref.year * 12 + ref.month - 1), ref.day):
        m += 1
    assert got == [m]
    rd = relativedelta(ref, d)
    if d.day <= calendar.monthrange(ref.year, ref.month)[1]:  # no end-of-month clamping involved
        assert got == [12 * rd.years + rd.months]


def test_time_weights_hand_case():
    age = np.array([0, 5, 6, 11, 12, 17, 18, 23, 24, 30, -1])
    assert time_weights(age).tolist() == [1, 1, .75, .75, .5, .5, .25, .25, 0, 0, 0]
    assert time_weights(age, ExpertConfig(decay="none")).tolist() == [1] * 8 + [0] * 3
    cfg = ExpertConfig(window_months=12, bucket_months=4, bucket_weights=(1.0, 0.5, 0.2))
    assert time_weights(np.array([3, 4, 8, 11, 12]), cfg).tolist() == [1, .5, .2, .2, 0]


def test_config_rejects_too_few_bucket_weights():
    with pytest.raises(ValueError, match="needs 4"):
        ExpertConfig(bucket_weights=(1.0, 0.5))
    with pytest.raises(ValueError, match="associate_below"):
        ExpertConfig(rate_above=10, associate_below=50)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 40), min_size=1, max_size=50),
       st.lists(st.floats(0, 1), min_size=4, max_size=4), st.integers(1, 36))
def test_time_weights_properties(ages, bw, window):
    bw = tuple(sorted(bw, reverse=True))
    cfg = ExpertConfig(window_months=window, bucket_months=max(1, -(-window // 4)), bucket_weights=bw)
    age = np.asarray(ages)
    w = time_weights(age, cfg)
    assert np.all((w >= 0) & (w <= 1))
    assert np.all(w[(age < 0) | (age >= window)] == 0)
    order = np.argsort(age[(age >= 0) & (age < window)], kind="stable")
    assert np.all(np.diff(w[(age >= 0) & (age < window)][order]) <= 0)  # older never weighs more


# ------------------------------------------------------------------------------------------------ selection
def _hand_table() -> pd.DataFrame:
    rows = [
        ("r1", "LON", "NYC", 8, "2026-06-01"),   # kept
        ("r1", "LON", "LON", 10, "2026-06-01"),  # home → excluded
        ("r1", "LON", "NYC", 6, "2026-01-15"),   # older repeat of r1→NYC → superseded
        ("r2", "NYC", "NYC", 9, "2026-05-01"),   # home → excluded
        ("r2", "NYC", "LON", 7, "2024-05-01"),   # 25 months old → outside window
        ("r2", "NYC", "LON", 5, "2025-07-01"),   # 11 months → kept, weight 0.75
        ("r3", "SGP", "LON", 4, "2024-12-31"),   # 17 months → kept, weight 0.5
        ("r3", "SGP", "NYC", 7, "2024-07-01"),   # 23 months → kept, weight 0.25
        ("r3", "SGP", "SGP", 9, "2023-01-01"),   # old AND home → counted once, as outside the window
    ]
    return validate_assessments(_table(rows), "hand.csv")


def test_exclusions_give_exact_counts():
    sel = select_assessments(_hand_table(), "2026-06-30")
    c = sel.counts
    assert c.loc["NYC"].tolist() == [4, 0, 1, 1, 2]  # received, outside, home, superseded, kept
    assert c.loc["LON"].tolist() == [4, 1, 1, 0, 2]
    assert c.loc["SGP"].tolist() == [1, 1, 0, 0, 0]
    assert (c["n_received"] == c[["n_outside_window", "n_home_excluded", "n_superseded",
                                   "n_assessments"]].sum(axis=1)).all()
    a = sel.assessments.sort_values(["centre", "respondent"])
    assert a["weight"].tolist() == [0.75, 0.5, 1.0, 0.25]  # LON r2, LON r3, NYC r1, NYC r3
    assert not (a["home_centre"] == a["centre"]).any()
    # the summary: NYC = (1·8 + 0.25·7)/1.25
    s = centre_summary(sel, ["NYC", "LON", "SGP", "HKG"])
    assert s.loc["NYC", "mean_assessment"] == pytest.approx(9.75 / 1.25)
    assert s.loc["NYC", "n_respondents"] == 2 and s.loc["LON", "n_respondents"] == 2
    assert s.loc["HKG", "n_received"] == 0 and np.isnan(s.loc["HKG", "mean_assessment"])


def test_rules_can_be_switched_off():
    cfg = ExpertConfig(exclude_home=False, latest_only=False, decay="none")
    c = select_assessments(_hand_table(), "2026-06-30", cfg).counts
    assert c.loc["NYC", "n_assessments"] == 4 and c.loc["LON", "n_assessments"] == 3
    assert c["n_home_excluded"].sum() == 0 and c["n_superseded"].sum() == 0


def test_dates_outside_window_or_future():
    t = _hand_table()
    with pytest.raises(DataError, match=r"hand\.csv, row 6, column 'date'.*outside the 24-month window"):
        select_assessments(t, "2026-06-30", ExpertConfig(outside_window="error"), "hand.csv")
    with pytest.raises(DataError, match=r"row 2, column 'date'.*after the reference date 2026-05-31"):
        select_assessments(t, "2026-05-31", source="hand.csv")
    # default reference date = latest assessment
    assert select_assessments(t).reference_date == pd.Timestamp("2026-06-01")


def test_home_bias_is_removed_by_exclusion():
    a, _, truth = simulate_assessments(n_centres=20, n_respondents=4000, home_bias=3.0, home_share=0.6,
                                       respondent_sd=0.0, noise_sd=0.5, signal=0.8, seed=3)
    expected = 6.0 + truth["effect"]
    res = {}
    for excl in (True, False):
        cfg = ExpertConfig(exclude_home=excl, decay="none")
        s = centre_summary(select_assessments(a, "2026-06-30", cfg)).loc[truth.index]
        res[excl] = s["mean_assessment"] - expected
    share = (a["home_centre"] == a["centre"]).groupby(a["centre"]).mean().loc[truth.index]
    assert res[True].abs().max() < 0.2  # unbiased once home assessments are dropped
    slope = np.polyfit(share, res[False], 1)[0]
    assert slope == pytest.approx(3.0, abs=0.6)  # the planted home bias shows without exclusion


# ------------------------------------------------------------------------------------------------ summaries
def test_weighted_mean_sd_hand_and_edge_cases():
    y = np.array([8.0, 5.0, 6.0, 3.0, 3.0])
    w = np.array([1.0, 0.5, 1.0, 1.0, 1.0])
    g = np.array([0, 0, 1, 2, 2])
    m, s, v1, n = weighted_mean_sd(y, w, g, 4)
    assert m[0] == pytest.approx(7.0) and s[0] == pytest.approx(np.sqrt(3.0 / (1.5 - 1.25 / 1.5)))
    assert np.isnan(s[1]) and m[1] == 6.0  # one assessment: no sd
    assert s[2] == 0.0  # zero variance
    assert np.isnan(m[3]) and n[3] == 0 and v1[3] == 0  # never assessed
    yy = np.array([2.0, 4.0, 9.0])
    m, s, _, _ = weighted_mean_sd(yy, np.ones(3), np.zeros(3, int), 1)
    assert s[0] == pytest.approx(np.std(yy, ddof=1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10), st.floats(0.1, 1.0), st.integers(0, 3)), min_size=1, max_size=40),
       st.floats(0.01, 100))
def test_weighted_summary_invariant_to_weight_scale(rows, k):
    y, w, g = (np.array(v) for v in zip(*rows, strict=True))
    m1, s1, _, n1 = weighted_mean_sd(y, w, g, 4)
    m2, s2, _, n2 = weighted_mean_sd(y, w * k, g, 4)
    np.testing.assert_allclose(m1, m2, rtol=1e-9)
    np.testing.assert_allclose(s1, s2, rtol=1e-6, atol=1e-9)
    assert n1.sum() == len(y)
    ok = ~np.isnan(m1)
    assert np.all((m1[ok] >= 1 - 1e-9) & (m1[ok] <= 10 + 1e-9))


def test_thresholds_at_the_boundaries():
    s = pd.DataFrame({"n_assessments": [151, 150, 50, 49, 0, 400],
                      "n_respondents": [151, 150, 50, 49, 0, 20]}, index=list("ABCDEF"))
    assert apply_thresholds(s).tolist() == ["rated", "unrated", "unrated", "associate", "associate", "rated"]
    st_ = apply_thresholds(s, ExpertConfig(min_respondents=100))
    assert st_.tolist() == ["rated", "unrated", "unrated", "associate", "associate", "unrated"]


def test_respondent_offsets_recover_a_noiseless_two_way_model():
    rng = np.random.default_rng(0)
    nr, nc = 60, 8
    o_true = rng.normal(0, 1, nr)
    c_true = rng.normal(0, 1, nc)
    ri = np.repeat(np.arange(nr), 4)
    ci = np.concatenate([rng.choice(nc, 4, replace=False) for _ in range(nr)])
    y = 6 + c_true[ci] + o_true[ri]
    w = rng.uniform(0.25, 1, len(y))
    o, c, mu = respondent_offsets(y, w, ri, ci, nr, nc, shrinkage=0.0, tol=1e-13, max_iter=20000)
    np.testing.assert_allclose(mu + c[ci] + o[ri], y, atol=1e-6)
    np.testing.assert_allclose(np.diff(c), np.diff(c_true), atol=1e-6)  # centre contrasts identified
    with pytest.raises(ComputeError):
        respondent_offsets(y, np.zeros_like(w), ri, ci, nr, nc)


def test_merge_pairs_is_exact_and_hand_checked():
    ci = np.array([0, 0, 0, 1, 1])
    y = np.array([7.0, 7.0, 6.98, 3.0, 3.0])
    w = np.array([1.0, 0.5, 0.25, 1.0, 0.0])
    c, t, ws = merge_pairs(ci, y, w, 0.05)
    assert c.tolist() == [0, 1] and t.tolist() == pytest.approx([7.0, 3.0]) and ws.tolist() == [1.75, 1.0]
    c, t, ws = merge_pairs(ci, y, w, 0.0)
    assert len(c) == 4  # no merging, zero weight dropped
    # fitting on merged rows = fitting on the rows (integer targets, no offsets → no rounding)
    a, f, _ = simulate_assessments(n_centres=15, n_respondents=300, seed=5)
    base = dict(kernel="linear", offsets=False, cv_folds=0, sub_ratings=())
    p1 = fit_expert(a, f, ExpertConfig(**base, target_resolution=0.5)).ratings["predicted"]
    p0 = fit_expert(a, f, ExpertConfig(**base, target_resolution=0.0)).ratings["predicted"]
    np.testing.assert_allclose(p1.sort_index(), p0.sort_index(), atol=1e-3)


# ------------------------------------------------------------------------------------------------ model
def test_model_recovers_centre_ordering(sim, fitted):
    a, f, truth = sim
    r = fitted.ratings.loc[truth.index]
    rho = spearmanr(r["rating"], truth["effect"]).statistic
    assert rho > 0.8, rho
    thin = r["status"] != "rated"  # also centres with few assessments
    assert thin.sum() >= 5 and spearmanr(r.loc[thin, "rating"], truth.loc[thin, "effect"]).statistic > 0.8
    m = fitted.metrics
    for k in ("r2_train", "cv_r2", "cv_rmse", "cv_r2_centre", "cv_spearman_centre"):
        assert np.isfinite(m[k]), k
    assert m["cv_spearman_centre"] > 0.6 and m["r2_train"] > 0.2 and m["simulated_input"] is True


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_other_kernels_recover_ordering(kernel):
    a, f, truth = simulate_assessments(n_centres=25, n_respondents=500, seed=7)
    res = fit_expert(a, f, ExpertConfig(kernel=kernel, cv_folds=0, sub_ratings=()))
    assert res.metrics["kernel"] == kernel
    assert spearmanr(res.ratings.loc[truth.index, "rating"], truth["effect"]).statistic > 0.8


def test_real_factors_from_fintech_dataset():
    path = REPO / "hubindex" / "datasets" / "data" / "fintech_hubs_2025.csv"
    if not path.exists():
        pytest.skip("fintech dataset not built")
    f = read_factors(path, centre_column="code")
    assert len(f) > 50 and f.shape[1] >= 10
    a, f2, truth = simulate_assessments(factors=f, n_respondents=2500, seed=2)
    a_codes = set(a["centre"])
    assert a_codes <= set(f.index)
    res = fit_expert(a, f, ExpertConfig(kernel="nystroem", cv_folds=0, sub_ratings=()))
    assert spearmanr(res.ratings.loc[truth.index, "rating"], truth["effect"]).statistic > 0.8


def test_result_table_and_immutability(sim, fitted):
    _, f, _ = sim
    r = fitted.ratings
    assert set(r.index) == set(f.index) and r["simulated"].all()
    assert r["rating"].is_monotonic_decreasing
    np.testing.assert_allclose(r["rating"], 100 * r["predicted"])
    np.testing.assert_allclose(r["reputational_advantage"], 100 * (r["mean_assessment"] - r["predicted"]))
    rated = r[r["status"] == "rated"]
    assert rated["rank"].tolist() == list(range(1, len(rated) + 1))
    assert r.loc[r["status"] != "rated", "rank"].isna().all()
    assert (rated["n_assessments"] > 150).all() and (r.loc[r["status"] == "associate", "n_assessments"] < 50).all()
    assert fitted.indicator().notna().sum() == len(rated)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fitted.mu = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        fitted.metrics["r2_train"] = 1.0  # type: ignore[index]
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        fitted.config.C = 3.0  # type: ignore[misc]
    pred = fitted.predict(f)
    np.testing.assert_allclose(pred.loc[r.index], r["predicted"])
    pairs = pd.DataFrame({"respondent": ["R000001", "nobody"], "centre": [f.index[0], f.index[0]]})
    pa = fitted.predict_assessments(pairs, f)
    assert pa.iloc[1] == pytest.approx(pred.iloc[0])
    assert pa.iloc[0] == pytest.approx(np.clip(pred.iloc[0] + fitted.offsets["R000001"], 1, 10))


def test_unassessed_centre_still_rated_by_the_model(sim):
    a, f, _ = sim
    f2 = pd.concat([f, pd.DataFrame([f.iloc[:3].mean()], index=pd.Index(["NEW"], name="centre"))])
    res = fit_expert(a, f2, ExpertConfig(kernel="linear", cv_folds=0, sub_ratings=()))
    row = res.ratings.loc["NEW"]
    assert row["n_received"] == 0 and row["status"] == "associate" and 1 <= row["predicted"] <= 10


def test_sub_ratings_by_sector(sim, fitted):
    a, _, truth = sim
    sub = fitted.sub_ratings
    assert set(sub["by"]) == {"sector"}
    sel = select_assessments(a, None, FAST)
    kept_sector_counts = sel.assessments.groupby("sector").size()
    got = sub.groupby("level")["n_assessments"].sum()
    assert got.to_dict() == kept_sector_counts.loc[got.index].to_dict()
    ft = sub[sub["level"] == "fintech"].set_index("centre").loc[truth.index]
    assert spearmanr(ft["rating"], truth["effect"]).statistic > 0.7


def test_cv_by_assessment(sim):
    a, f, _ = sim
    res = fit_expert(a, f, ExpertConfig(kernel="linear", cv_folds=3, cv_by="assessment", sub_ratings=()))
    assert res.metrics["cv_folds"] == 3 and 0 < res.metrics["cv_r2"] < 1


def test_fit_errors_are_clear(sim):
    a, f, _ = sim
    with pytest.raises(DataError, match=r"column 'centre'.*has no instrumental factors"):
        fit_expert(a, f.iloc[1:], FAST)
    with pytest.raises(DataError, match="no assessment is left"):
        fit_expert(a, f, FAST, reference_date="2035-01-01")


# ------------------------------------------------------------------------------------------------ spec & CLI
def _write_sim(tmp: Path, seed: int = 4) -> Path:
    a, f, _ = simulate_assessments(n_centres=20, n_respondents=600, seed=seed)
    a.to_csv(tmp / "assessments.csv", index=False)
    f.to_csv(tmp / "factors.csv")
    spec = tmp / "assess.yaml"
    spec.write_text("name: Simulated demo\nassessments: assessments.csv\nfactors: factors.csv\n"
                    "config:\n  kernel: nystroem\n  cv_folds: 2\n  sub_ratings: [region]\n")
    return spec


def test_cli_writes_outputs(tmp_path):
    from hubindex.cli import main

    spec = _write_sim(tmp_path)
    out = tmp_path / "out"
    assert main(["survey", "assess", str(spec), "--out", str(out), "--top", "5"]) == 0
    r = pd.read_csv(out / "ratings.csv")
    assert len(r) == 20 and {"centre", "rating", "status", "n_home_excluded", "reputational_advantage"} <= set(r)
    ind = pd.read_csv(out / "indicator.csv")
    assert list(ind.columns) == ["centre", "expert_rating"]
    run = json.loads((out / "run.json").read_text())
    assert run["simulated_input"] is True and run["config"]["window_months"] == 24
    assert (out / "sub_ratings.csv").exists()


def test_cli_bad_input_one_message_nothing_written(tmp_path, capsys):
    from hubindex.cli import main

    spec = _write_sim(tmp_path)
    bad = pd.read_csv(tmp_path / "assessments.csv")
    bad.loc[4, "rating"] = 12
    bad.to_csv(tmp_path / "assessments.csv", index=False)
    out = tmp_path / "out"
    assert main(["survey", "assess", str(spec), "--out", str(out)]) == DataError.exit_code
    err = capsys.readouterr().err
    assert "assessments.csv, row 6, column 'rating'" in err and "Traceback" not in err
    assert not out.exists()
    spec.write_text("assessments: assessments.csv\nfactors: factors.csv\nindex_spec: x.yaml\n")
    assert main(["survey", "expert", str(spec), "--out", str(out)]) == SpecError.exit_code
    assert "exactly one of 'factors'" in capsys.readouterr().err


def test_cli_assess_is_the_command_and_expert_a_hidden_alias(tmp_path, capsys):
    from hubindex.cli import main

    assert main(["survey", "--help"]) == 0
    commands = [ln.strip("│ ").split()[0] for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("│ ") and ln.strip("│ ")]
    assert "assess" in commands and "estimate" in commands and "expert" not in commands
    spec = _write_sim(tmp_path)
    assert main(["survey", "expert", str(spec), "--out", str(tmp_path / "old")]) == 0
    a = pd.read_csv(tmp_path / "old" / "ratings.csv")
    assert len(a) == 20


def test_spec_errors(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("assessments: a.csv\nfactors: f.csv\nconfig:\n  window_month: 12\n")
    with pytest.raises(SpecError, match="config.window_month"):
        load_assess_spec(p)
    p.write_text("assessments: a.csv\nfactors: f.csv\nreference_date: soon\n")
    with pytest.raises(SpecError, match="not a date"):
        load_assess_spec(p)
    with pytest.raises(SpecError, match="not found"):
        load_assess_spec(tmp_path / "missing.yaml")
    p.write_text("assessments: nowhere.csv\nfactors: nothing.csv\n")
    with pytest.raises(HubindexError, match="nothing.csv"):
        run_assess(p)


def test_factors_from_an_index_spec(tmp_path):
    from hubindex import build
    from hubindex.survey.expert import factors_from_result

    asem = REPO / "examples" / "asem" / "default.yaml"
    f = factors_from_result(build(asem))
    a, _, truth = simulate_assessments(factors=f, n_respondents=800, seed=9)
    a.to_csv(tmp_path / "a.csv", index=False)
    s = AssessSpec(assessments="a.csv", index_spec=str(asem), base_dir=tmp_path,
                   config=ExpertConfig(kernel="linear", cv_folds=0, sub_ratings=()))
    _, res = run_assess(s)
    assert res.metrics["n_centres"] == len(f) == 51
    assert spearmanr(res.ratings.loc[truth.index, "rating"], truth["effect"]).statistic > 0.8
