"""Survey values on the city page: a small SIMULATED index whose 'adopt' indicator comes from `hubindex survey
estimate` (indicators.csv + indicator_provenance.csv). The profile carries each survey value's estimate, interval
and n (auto-detected next to the data file, or from `--survey-provenance FILE`); the page shows
"value [ci_low–ci_high], n=…". Bad provenance files are clear errors. Screenshot: /tmp/web-shots/survey_city.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from web_helpers import serve

from hubindex.api import build
from hubindex.cli import main
from hubindex.errors import DataError
from hubindex.survey.simulate import simulate_surveys
from hubindex.web import create_app
from hubindex.web._view import read_survey_provenance

SHOTS = Path("/tmp/web-shots")


@pytest.fixture(scope="module")
def survey_index(tmp_path_factory):  # type: ignore[no-untyped-def]
    """(index spec path, survey output dir): 6 SIMULATED cities, a two-indicator 'Supply' pillar and a survey
    'Adoption' pillar, the survey's indicators.csv joined to the base table."""
    tmp = tmp_path_factory.mktemp("svyidx")
    sim = simulate_surveys(n_units=6, seed=7)  # SIMULATED respondents
    sim.frame.to_csv(tmp / "respondents_SIMULATED.csv", index=False)
    (tmp / "survey.yaml").write_text(yaml.safe_dump({
        "name": "simulated city survey", "source": "SIMULATED survey (test data)",
        "data": {"path": "respondents_SIMULATED.csv", "weight": "weight", "unit": "unit", "strata": "stratum",
                 "psu": "psu"},
        "measures": [{"code": "adopt", "items": ["item"], "denominator": {"label": "all adults"}}],
        "min_n": 20}, sort_keys=False))
    assert main(["survey", "estimate", str(tmp / "survey.yaml"), "--out", str(tmp / "svy"), "--top", "0"]) == 0
    rng = np.random.default_rng(1)
    pd.DataFrame({"code": [f"U{i}" for i in range(6)], "name": [f"Simulated city {i}" for i in range(6)],
                  "funding": rng.uniform(1, 100, 6), "talent": rng.uniform(1, 100, 6)}).to_csv(tmp / "base.csv",
                                                                                             index=False)
    spec = {
        "name": "SIMULATED hubs with a survey indicator",
        "data": {"path": ["base.csv", "svy/indicators.csv"], "unit_code": "code", "unit_name": "name"},
        "framework": [{"code": "IDX"}, {"code": "Supply", "parent": "IDX"}, {"code": "Adoption", "parent": "IDX"},
                      {"code": "funding", "parent": "Supply"}, {"code": "talent", "parent": "Supply"},
                      {"code": "adopt", "parent": "Adoption", "unit": "%",
                       "source": "survey: svy/indicator_provenance.csv"}],
        "pipeline": [{"step": "normalise", "method": "min_max", "l": 0, "u": 100},
                     {"step": "aggregate", "method": "arithmetic"}],
    }
    (tmp / "index.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp / "index.yaml", tmp / "svy"


@pytest.fixture(scope="module")
def survey_app(survey_index):  # type: ignore[no-untyped-def]
    return create_app(build(survey_index[0]), uncertainty_reps=200, editions=False)


def _node(profile: dict, code: str) -> dict:
    return next(n for n in profile["nodes"] if n["code"] == code)


def test_profile_carries_survey_estimate_interval_and_n(survey_app, survey_index) -> None:
    prov = pd.read_csv(survey_index[1] / "indicator_provenance.csv")
    c = TestClient(survey_app)
    for u in ("U0", "U3"):
        p = c.get(f"/api/units/{u}").json()
        node = _node(p, "adopt")
        want = prov[(prov.unit == u) & (prov.indicator == "adopt")].iloc[0]
        pv = node["provenance"]
        assert pv["survey"] is True
        assert pv["estimate"] == pytest.approx(want["value"]) == pytest.approx(node["raw"], rel=1e-9)
        assert (pv["ci_low"], pv["ci_high"]) == pytest.approx((want["ci_low"], want["ci_high"]))
        assert pv["ci_low"] < pv["estimate"] < pv["ci_high"]
        assert pv["n"] == want["n"] > 20 and pv["deff"] == pytest.approx(want["deff"])
        assert pv["source"] == "SIMULATED survey (test data)" and "denominator: all adults" in pv["weighting"]
        assert "provenance" not in _node(p, "funding")  # no provenance for the hard-data columns


def test_explicit_file_and_bad_files(survey_index, tmp_path, monkeypatch, capsys) -> None:
    spec, svy = survey_index
    # --survey-provenance FILE from anywhere (here: a copy with every n doubled, to see which file is used)
    prov = pd.read_csv(svy / "indicator_provenance.csv")
    prov["n"] = 2 * prov["n"]
    other = tmp_path / "elsewhere.csv"
    prov.to_csv(other, index=False)
    import uvicorn

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app))
    assert main(["serve", str(spec), "--survey-provenance", str(other), "--uncertainty-reps", "0"]) == 0
    p = TestClient(seen["app"], base_url="http://127.0.0.1").get("/api/units/U2").json()
    assert _node(p, "adopt")["provenance"]["n"] == int(prov.loc[prov.unit == "U2", "n"].iloc[0])
    # a bad file: one clear line naming file, row and column; nothing served
    bad = prov.copy().astype({"ci_low": object})
    bad.loc[3, "ci_low"] = "about 40"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["serve", str(spec), "--survey-provenance", str(tmp_path / "bad.csv")]) != 0
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 5" in err and "ci_low" in err and "Traceback" not in err
    prov.drop(columns=["n"]).to_csv(tmp_path / "no_n.csv", index=False)
    with pytest.raises(DataError, match=r"no_n.csv, column 'n': missing"):
        read_survey_provenance(tmp_path / "no_n.csv")
    inv = prov.copy()
    inv.loc[0, ["ci_low", "ci_high"]] = [60.0, 40.0]
    inv.to_csv(tmp_path / "inv.csv", index=False)
    with pytest.raises(DataError, match=r"row 2, column 'ci_low': ci_low 60.0 is above ci_high 40.0"):
        read_survey_provenance(tmp_path / "inv.csv")
    prov.assign(unit="ELSEWHERE").to_csv(tmp_path / "foreign.csv", index=False)
    with pytest.raises(DataError, match="none of its unit × indicator pairs is in the index"):
        create_app(build(spec), uncertainty_reps=0, editions=False, survey_provenance=tmp_path / "foreign.csv")
    with pytest.raises(DataError, match="not found"):
        read_survey_provenance(tmp_path / "absent.csv")


@pytest.mark.browser
def test_city_page_shows_survey_value(browser, survey_app, survey_index) -> None:
    with serve(survey_app) as url:
        _check_city_page(browser, url, survey_index)


def _check_city_page(browser, url: str, survey_index) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/#/city/U3")
        page.wait_for_selector('#profile-table tr[data-code="adopt"]')
        prov = pd.read_csv(survey_index[1] / "indicator_provenance.csv").set_index(["unit", "indicator"])
        w = prov.loc[("U3", "adopt")]
        row = page.locator('#profile-table tr[data-code="adopt"]')
        assert row.locator(".survey-ci").text_content() == \
            f"{w['value']:.1f} [{w['ci_low']:.1f}–{w['ci_high']:.1f}], n={int(w['n'])}"
        assert row.locator(".flag-survey").count() == 1
        row.locator("td.prov summary").click()
        dl = row.locator("td.prov dl").text_content()
        assert "Survey estimate" in dl and "Design effect" in dl and "all adults" in dl
        assert page.locator('#profile-table tr[data-code="funding"] .survey-ci').count() == 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "survey_city.png"), full_page=True)
        with page.expect_download() as d:
            page.click('.downloads[data-table="profile_U3"] button[data-fmt="csv"]')
        df = pd.read_csv(d.value.path(), comment="#").set_index("code")
        assert df.at["adopt", "n"] == int(w["n"]) and df.at["adopt", "ci_high"] == pytest.approx(w["ci_high"])
        assert errors == []
    finally:
        ctx.close()
