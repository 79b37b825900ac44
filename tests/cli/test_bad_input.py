"""Bad input, end to end through ``hubindex.cli.main``: one clear message, a non-zero exit, nothing half-written.

Every case writes real files under ``tmp_path``, runs one command, and checks

* the exit code (2 spec, 3 data, 4 computation, 5 store, 6 output folder; 2 also for command-line usage),
* that stderr holds exactly one ``error:`` message naming what the case names (file, row, column, expectation),
* that there is no traceback anywhere,
* that the ``--out`` folder was not created (or, when it held a previous good run, is byte-for-byte unchanged)
  and that no temporary sibling was left behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hubindex.cli import main

GOOD_DATA = (
    "code,name,region,a,b,c,d\n"
    "U1,One,East,1,10,5,0.5\n"
    "U2,Two,East,2,20,4,0.4\n"
    "U3,Three,West,3,30,3,0.3\n"
    "U4,Four,West,4,,2,0.2\n"
    "U5,Five,West,5,50,1,0.1\n"
)
FRAMEWORK = """\
framework:
  - {code: IDX, name: Tiny index}
  - {code: P1, parent: IDX, weight: 1}
  - {code: P2, parent: IDX, weight: 3}
  - {code: a, parent: P1}
  - {code: b, parent: P1}
  - {code: c, parent: P2, direction: -1}
  - {code: d, parent: P2}
"""
PIPELINE = """\
pipeline:
  - {step: normalise, method: min_max, l: 0, u: 100}
  - {step: aggregate, method: arithmetic}
"""
HEAD = "name: Tiny\ndata: {path: data.csv, unit_code: code, unit_name: name, groups: [region]}\n"
TAIL = "tiers: {by: rank, cutoffs: [2], labels: [Top, Rest]}\n"


def write_index(d: Path, data: str | None = GOOD_DATA, spec: str | None = None) -> Path:
    """A 5-unit, 2-pillar index in ``d`` (data.csv + spec.yaml); returns the spec path."""
    if data is not None:
        (d / "data.csv").write_text(data)
    (d / "spec.yaml").write_text(spec if spec is not None else HEAD + FRAMEWORK + PIPELINE + TAIL)
    return d / "spec.yaml"


RESPONDENTS = "id,wgt,city,q1,q2,sex\n" + "".join(
    f"r{i},{1 + i % 3},{'AA' if i % 2 else 'BB'},{1 + i % 2},{1 + (i // 2) % 2},{1 + i % 2}\n" for i in range(40)
)
SURVEY = """\
name: Tiny survey
data: {path: resp.csv, id: id, weight: wgt, unit: city}
measures:
  - {code: m1, items: [q1], yes: [1], denominator: {label: all}}
  - {code: m2, items: [q1, q2], yes: [1], at_least: 2, denominator: {label: all}}
groups:
  - {name: sex, column: sex, labels: {1: female, 2: male}}
min_n: 5
"""


def write_survey(d: Path, resp: str | None = RESPONDENTS, spec: str = SURVEY) -> Path:
    if resp is not None:
        (d / "resp.csv").write_text(resp)
    (d / "survey.yaml").write_text(spec)
    return d / "survey.yaml"


ASSESSMENTS = "respondent,home_centre,centre,rating,date\n" + "".join(
    f"R{i:03d},C{i % 4},C{(i + 1) % 4},{1 + i % 10},2025-0{1 + i % 9}-15\n" for i in range(60)
)
FACTORS = "centre,f1,f2\nC0,1,2\nC1,2,3\nC2,3,1\nC3,4,4\n"
ASSESS = "name: Tiny assessment\nassessments: assessments.csv\nfactors: factors.csv\ncentre_column: centre\n"


def write_assess(d: Path, assessments: str | None = ASSESSMENTS, factors: str | None = FACTORS,
                 spec: str = ASSESS) -> Path:
    if assessments is not None:
        (d / "assessments.csv").write_text(assessments)
    if factors is not None:
        (d / "factors.csv").write_text(factors)
    (d / "assess.yaml").write_text(spec)
    return d / "assess.yaml"


def snapshot(folder: Path) -> dict[str, str] | None:
    """Hash of every file under ``folder`` (None when it does not exist)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Case:
    """One bad input: ``setup(tmp) -> argv`` (``{out}`` is replaced by the output folder), what to expect."""

    id: str
    setup: Callable[[Path], list[str]]
    code: int
    needles: tuple[str, ...]
    marks: tuple = field(default=())


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())  # rich wraps long messages: compare with single spaces


def _data(text: str, spec: str | None = None) -> Callable[[Path], Path]:
    return lambda d: write_index(d, text, spec)


def _spec(body: str) -> Callable[[Path], Path]:
    return lambda d: write_index(d, GOOD_DATA, body)


# ------------------------------------------------------------------------------------------------------------
# index inputs: each problem is checked through every command that reads an index spec
# ------------------------------------------------------------------------------------------------------------
INDEX_PROBLEMS: list[tuple[str, Callable[[Path], Path], int, tuple[str, ...]]] = [
    ("missing-spec", lambda d: d / "nope.yaml", 2, ("nope.yaml", "spec file not found")),
    ("spec-is-folder", lambda d: d, 2, ("folder",)),
    ("bad-yaml", _spec("name: [x\n"), 2, ("spec.yaml", "not valid YAML")),
    ("empty-spec", _spec(""), 2, ("spec.yaml",)),
    ("unknown-field", _spec(HEAD + FRAMEWORK + PIPELINE + "pipline: []\n"), 2, ("spec.yaml", "pipline")),
    ("cycle", _spec(HEAD + FRAMEWORK.replace("{code: P1, parent: IDX, weight: 1}", "{code: P1, parent: a}")
                    + PIPELINE), 2, ("spec.yaml", "cycle")),
    ("orphan", _spec(HEAD + FRAMEWORK.replace("{code: d, parent: P2}", "{code: d, parent: P9}") + PIPELINE),
     2, ("spec.yaml", "P9")),
    ("negative-weight", _spec(HEAD + FRAMEWORK.replace("weight: 3", "weight: -3") + PIPELINE), 2,
     ("spec.yaml", "P2", "weight")),
    ("duplicate-code", _spec(HEAD + FRAMEWORK + "  - {code: a, parent: P2}\n" + PIPELINE), 2,
     ("spec.yaml", "'a'")),
    ("unknown-step", _spec(HEAD + FRAMEWORK + PIPELINE + "  - {step: frobnicate}\n"), 2,
     ("spec.yaml", "frobnicate")),
    ("unknown-method", _spec(HEAD + FRAMEWORK + PIPELINE.replace("min_max", "min_maxx")), 2,
     ("spec.yaml", "min_maxx")),
    ("missing-data-file", _spec(HEAD.replace("data.csv", "nope.csv") + FRAMEWORK + PIPELINE), 3,
     ("nope.csv", "data file not found")),
    ("empty-data", _data(""), 3, ("data.csv", "empty")),
    ("header-only", _data("code,name,region,a,b,c,d\n"), 3, ("data.csv", "no units")),
    ("malformed-csv", _data(GOOD_DATA + "U6,Six,East,1,2,3,4,5,6\n"), 3, ("data.csv", "malformed", "row 7", "expected 7 fields", "got 9")),
    ("not-utf8", lambda d: ((d / "data.csv").write_bytes(GOOD_DATA.replace("One", "\xd6ne").encode("latin-1")),
                            write_index(d, None))[1], 3, ("data.csv", "UTF-8")),
    ("missing-indicator", _data("code,name,region,a,b,c\nU1,One,East,1,10,5\nU2,Two,East,2,20,4\n"
                                "U3,Three,West,3,30,3\n"), 3, ("data.csv", "'d'", "not a column")),
    ("missing-group", _data(GOOD_DATA.replace("region", "regio")), 3, ("data.csv", "'region'")),
    ("non-numeric", _data(GOOD_DATA.replace("U3,Three,West,3,30", "U3,Three,West,3,thirty")), 3,
     ("data.csv", "row 4", "column 'b'", "number", "thirty")),
    ("duplicate-unit", _data(GOOD_DATA + "U2,Deux,East,9,9,9,9\n"), 3,
     ("data.csv", "row 7", "duplicate unit 'U2'", "row 3")),
    ("empty-unit-code", _data(GOOD_DATA + ",Nobody,East,9,9,9,9\n"), 3, ("data.csv", "row 7", "unit code")),
    ("empty-indicator", _data(GOOD_DATA.replace(",5,0.5", ",,0.5").replace(",4,0.4", ",,0.4").replace(
        ",3,0.3", ",,0.3").replace(",2,0.2", ",,0.2").replace(",1,0.1", ",,0.1")), 4, ("'c'", "no values")),
    ("zero-variance", _data(GOOD_DATA.replace(",0.5\n", ",7\n").replace(",0.4\n", ",7\n").replace(
        ",0.3\n", ",7\n").replace(",0.2\n", ",7\n").replace(",0.1\n", ",7\n")), 4, ("'d'", "variance")),
    ("impute-by-empty-group", _data(GOOD_DATA.replace(",East,", ",,").replace(",West,", ",,"),
                                    HEAD + FRAMEWORK + "pipeline:\n  - {step: impute, method: group_median, "
                                    "group: region}\n" + PIPELINE.removeprefix("pipeline:\n")), 3,
     ("impute", "'region'", "empty for every unit")),
    ("geometric-over-zeros", _spec(HEAD + FRAMEWORK + PIPELINE.replace("arithmetic", "geometric")), 4,
     ("geometric", "> 0")),
]


def _index_cmds() -> list[tuple[str, Callable[[Path, Path], list[str]], bool]]:
    """(name, argv(spec, tmp), writes --out?) for every command that takes an index spec."""
    return [
        ("build", lambda s, d: ["build", str(s), "--out", str(d / "out")], True),
        ("audit", lambda s, d: ["audit", "coherence", str(s), "--out", str(d / "out")], True),
        ("report", lambda s, d: ["report", str(s), "--out", str(d / "out"), "--no-pdf"], True),
        ("export", lambda s, d: ["export", str(s), "--out", str(d / "out")], True),
        ("publish", lambda s, d: ["edition", "publish", str(s), "--label", "t1", "--store",
                                  str(d / "store.duckdb")], False),
        ("what-it-takes", lambda s, d: ["what-it-takes", "U3", "--rank", "1", "--spec", str(s)], False),
        ("rank-range", lambda s, d: ["rank-range", str(s)], False),
    ]


# the full problem list through `build`; a representative subset through the other commands (same loader)
_SUBSET = {"missing-spec", "bad-yaml", "cycle", "negative-weight", "unknown-step", "malformed-csv", "non-numeric",
           "duplicate-unit", "empty-data", "zero-variance", "geometric-over-zeros"}
INDEX_CASES = [
    pytest.param(mk, writes, setup, code, needles, id=f"{name}-{pid}")
    for name, mk, writes in _index_cmds()
    for pid, setup, code, needles in INDEX_PROBLEMS
    if name == "build" or pid in _SUBSET
]


def check_failure(code: int, out: str, err: str, want_code: int, needles: tuple[str, ...]) -> None:
    assert "Traceback" not in out + err, err
    assert code == want_code, f"exit {code}, expected {want_code}: {err}"
    assert err.lower().count("error:") == 1, f"expected one message, got: {err}"
    for n in needles:
        assert n.lower() in err.lower(), f"{n!r} not in: {err}"


def no_leftovers(d: Path) -> list[str]:
    return [p.name for p in d.iterdir() if p.name.startswith((".out", ".store"))]


@pytest.mark.parametrize(("mk", "writes", "setup", "code", "needles"), INDEX_CASES)
def test_index_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], mk, writes, setup, code,
                         needles) -> None:  # type: ignore[no-untyped-def]
    spec = setup(tmp_path)
    code_, out, err = _run(mk(spec, tmp_path), capsys)
    check_failure(code_, out, err, code, needles)
    assert not (tmp_path / "out").exists()
    assert no_leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------------------------
# a failing run leaves the previous good outputs untouched
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cmd", ["build", "export", "report"])
def test_failed_run_keeps_previous_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str) -> None:
    spec = write_index(tmp_path)
    argv = next(mk for name, mk, _ in _index_cmds() if name == cmd)(spec, tmp_path)
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    before = snapshot(tmp_path / "out")
    assert before
    write_index(tmp_path, GOOD_DATA.replace("U2,Two,East,2,", "U2,Two,East,two,"))
    code, out, err = _run(argv, capsys)
    check_failure(code, out, err, 3, ("data.csv", "row 3", "column 'a'"))
    assert snapshot(tmp_path / "out") == before
    assert no_leftovers(tmp_path) == []


# ------------------------------------------------------------------------------------------------------------
# unusable output folders
# ------------------------------------------------------------------------------------------------------------
def _out_is_file(d: Path) -> Path:
    (d / "taken").write_text("not a folder")
    return d / "taken"


def _out_under_file(d: Path) -> Path:
    (d / "afile").write_text("x")
    return d / "afile" / "out"


@pytest.mark.parametrize("where_", [_out_is_file, _out_under_file], ids=["out-is-a-file", "out-parent-is-a-file"])
@pytest.mark.parametrize("cmd", ["build", "export", "report", "survey"])
def test_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture[str], where_, cmd: str
                        ) -> None:  # type: ignore[no-untyped-def]
    out = where_(tmp_path)
    if cmd == "survey":
        argv = ["survey", "estimate", str(write_survey(tmp_path)), "--out", str(out)]
    else:
        argv = next(mk for name, mk, _ in _index_cmds() if name == cmd)(write_index(tmp_path), tmp_path)
        argv[argv.index("--out") + 1] = str(out)
    before = snapshot(tmp_path)  # inputs and the file in the way
    code, stdout, err = _run(argv, capsys)
    check_failure(code, stdout, err, 6, (out.name if out.name != "out" else "afile",))
    assert snapshot(tmp_path) == before  # nothing changed, nothing added (no temporary folder left)


# ------------------------------------------------------------------------------------------------------------
# surveys
# ------------------------------------------------------------------------------------------------------------
SURVEY_CASES = [
    ("missing-spec", lambda d: d / "nope.yaml", 2, ("nope.yaml", "not found")),
    ("bad-yaml", lambda d: write_survey(d, spec="name: [x\n"), 2, ("survey.yaml", "YAML")),
    ("unknown-field", lambda d: write_survey(d, spec=SURVEY + "weights: x\n"), 2, ("survey.yaml", "weights")),
    ("missing-file", lambda d: write_survey(d, resp=None), 3, ("resp.csv", "not found")),
    ("empty-file", lambda d: write_survey(d, resp=""), 3, ("resp.csv", "empty")),
    ("malformed-csv", lambda d: write_survey(d, resp=RESPONDENTS + "r99,1,AA,1,1,1,9,9\n"), 3,
     ("resp.csv", "malformed")),
    ("missing-column", lambda d: write_survey(d, resp=RESPONDENTS.replace(",q2,", ",qq,")), 3,
     ("resp.csv", "'q2'")),
    ("non-numeric-weight", lambda d: write_survey(d, resp=RESPONDENTS.replace("r5,", "r5,heavy#", 1).replace(
        "heavy#3", "heavy")), 3, ("resp.csv", "row 7", "'wgt'")),
    ("negative-weight", lambda d: write_survey(d, resp=RESPONDENTS.replace("r5,3,", "r5,-3,")), 3,
     ("resp.csv", "row 7", "'wgt'")),
    ("duplicate-id", lambda d: write_survey(d, resp=RESPONDENTS.replace("r5,", "r4,")), 3,
     ("resp.csv", "row 7", "'id'", "r4")),
]


@pytest.mark.parametrize(("setup", "code", "needles"), [pytest.param(*c[1:], id=c[0]) for c in SURVEY_CASES])
def test_survey_estimate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, code, needles
                                   ) -> None:  # type: ignore[no-untyped-def]
    spec = setup(tmp_path)
    c, out, err = _run(["survey", "estimate", str(spec), "--out", str(tmp_path / "out")], capsys)
    check_failure(c, out, err, code, needles)
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


def test_survey_estimate_good_input_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The fixture itself is valid, so the failures above are caused by the one change each makes."""
    c, _, err = _run(["survey", "estimate", str(write_survey(tmp_path)), "--out", str(tmp_path / "out")], capsys)
    assert c == 0, err
    assert (tmp_path / "out" / "estimates.csv").exists()


ASSESS_CASES = [
    ("missing-spec", lambda d: d / "nope.yaml", 2, ("nope.yaml", "not found")),
    ("no-factor-source", lambda d: write_assess(d, spec="assessments: assessments.csv\n"), 2,
     ("assess.yaml", "factors")),
    ("bad-reference-date", lambda d: write_assess(d, spec=ASSESS + "reference_date: soon\n"), 2,
     ("assess.yaml", "reference_date", "soon")),
    ("missing-assessments", lambda d: write_assess(d, assessments=None), 3, ("assessments.csv", "not found")),
    ("empty-assessments", lambda d: write_assess(d, assessments=""), 3, ("assessments.csv", "empty")),
    ("missing-column", lambda d: write_assess(d, assessments=ASSESSMENTS.replace(",rating,", ",score,")), 3,
     ("assessments.csv", "rating")),
    ("rating-out-of-range", lambda d: write_assess(d, assessments=ASSESSMENTS.replace("R005,C1,C2,6,", "R005,C1,C2,60,")),
     3, ("assessments.csv", "row 7", "'rating'")),
    ("rating-not-a-number", lambda d: write_assess(d, assessments=ASSESSMENTS.replace("R005,C1,C2,6,", "R005,C1,C2,six,")),
     3, ("assessments.csv", "row 7", "'rating'")),
    ("bad-date", lambda d: write_assess(d, assessments=ASSESSMENTS.replace("R005,C1,C2,6,2025-06-15", "R005,C1,C2,6,soon")),
     3, ("assessments.csv", "row 7", "'date'")),
    ("non-numeric-factor", lambda d: write_assess(d, factors=FACTORS.replace("C2,3,1", "C2,3,one")), 3,
     ("factors.csv",)),
    ("duplicate-centre", lambda d: write_assess(d, factors=FACTORS + "C1,5,5\n"), 3, ("factors.csv", "C1")),
    ("empty-factors", lambda d: write_assess(d, factors=""), 3, ("factors.csv", "empty")),
]


@pytest.mark.parametrize(("setup", "code", "needles"), [pytest.param(*c[1:], id=c[0]) for c in ASSESS_CASES])
def test_survey_assess_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, code, needles
                                 ) -> None:  # type: ignore[no-untyped-def]
    spec = setup(tmp_path)
    c, out, err = _run(["survey", "assess", str(spec), "--out", str(tmp_path / "out")], capsys)
    check_failure(c, out, err, code, needles)
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


def test_survey_assess_good_input_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The valid fixture runs; an unquoted YAML date (as in docs/expert.md) is accepted as the reference date."""
    spec = write_assess(tmp_path, spec=ASSESS + "reference_date: 2025-12-31\nconfig: {rate_above: 5, associate_below: 2}\n")
    c, _, err = _run(["survey", "assess", str(spec), "--out", str(tmp_path / "out")], capsys)
    assert c == 0, err
    assert (tmp_path / "out" / "ratings.csv").exists()


# ------------------------------------------------------------------------------------------------------------
# editions, targets, what-it-takes, data
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def one_edition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store holding one edition 't1' of the tiny index (so no shipped editions are built)."""
    store = tmp_path / "store.duckdb"
    spec = write_index(tmp_path)
    code, _, err = _run(["edition", "publish", str(spec), "--label", "t1", "--store", str(store)], capsys)
    assert code == 0, err
    return store


@pytest.mark.parametrize(
    ("argv", "code", "needles"),
    [
        (["edition", "diff", "t1", "nope"], 5, ("nope",)),
        (["edition", "explain", "t1", "nope", "U1"], 5, ("nope",)),
        (["edition", "explain", "t1", "t1", "XX"], 2, ("XX",)),
        (["edition", "show", "nope"], 5, ("nope",)),
        (["edition", "history", "XX"], 5, ("XX",)),
        (["what-it-takes", "XX", "--rank", "1", "--edition", "t1"], 2, ("XX",)),
        (["what-it-takes", "U3", "--rank", "0", "--edition", "t1"], 2, ("rank",)),
        (["what-it-takes", "U3", "--edition", "t1"], 2, ("--rank",)),
        (["edition", "explain", "t1", "t1", "U1", "--groups", "foo"], 2,
         ("--groups", "foo", "auto", "indicator", "pillar")),
    ],
    ids=["diff-unknown-label", "explain-unknown-label", "explain-unknown-unit", "show-unknown-label",
         "history-unknown-unit", "wit-unknown-unit", "wit-rank-zero", "wit-no-goal", "explain-unknown-groups"],
)
def test_edition_bad_input(one_edition: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int,
                           needles: tuple[str, ...]) -> None:
    c, out, err = _run([*argv, "--store", str(one_edition)], capsys)
    check_failure(c, out, err, code, needles)


def test_publish_twice_is_refused_and_store_unchanged(one_edition: Path, capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    before = one_edition.read_bytes()
    c, out, err = _run(["edition", "publish", str(one_edition.parent / "spec.yaml"), "--label", "t1",
                        "--store", str(one_edition)], capsys)
    check_failure(c, out, err, 5, ("t1",))
    assert one_edition.read_bytes() == before


@pytest.mark.parametrize(
    ("setup", "code", "needles"),
    [
        (lambda d: ((d / "store.duckdb").write_text("not a database"), d / "store.duckdb")[1], 5,
         ("store.duckdb",)),
        (lambda d: ((d / "afile").write_text("x"), d / "afile" / "store.duckdb")[1], 5, ("afile",)),
    ],
    ids=["store-not-a-database", "store-parent-is-a-file"],
)
def test_bad_store_path(tmp_path: Path, capsys: pytest.CaptureFixture[str], setup, code, needles
                        ) -> None:  # type: ignore[no-untyped-def]
    store = setup(tmp_path)
    c, out, err = _run(["edition", "publish", str(write_index(tmp_path)), "--label", "t1", "--store", str(store)],
                       capsys)
    check_failure(c, out, err, code, needles)


TARGETS_CASES = [
    ("missing-file", lambda d: d / "nope.csv", 3, ("nope.csv", "not found")),
    ("empty-file", lambda d: ((d / "t.csv").write_text(""), d / "t.csv")[1], 3, ("t.csv", "empty")),
    ("missing-columns", lambda d: ((d / "t.csv").write_text("x,y\n1,2\n"), d / "t.csv")[1], 3, ("t.csv",)),
    ("malformed-csv", lambda d: ((d / "t.csv").write_text("a,b\n1,2,3,4\n"), d / "t.csv")[1], 3, ("t.csv",)),
]


@pytest.mark.parametrize(("setup", "code", "needles"), [pytest.param(*c[1:], id=c[0]) for c in TARGETS_CASES])
def test_targets_bad_file(one_edition: Path, capsys: pytest.CaptureFixture[str], setup, code, needles
                          ) -> None:  # type: ignore[no-untyped-def]
    f = setup(one_edition.parent)
    c, out, err = _run(["targets", "--file", str(f), "--store", str(one_edition)], capsys)
    check_failure(c, out, err, code, needles)


@pytest.mark.parametrize(
    ("argv", "code", "needles"),
    [
        (["data", "show", "XX-NOPE"], 3, ("XX-NOPE",)),
        (["data", "show", "CN-HGH", "--edition", "1999"], 3, ("1999",)),
        (["data", "list", "--edition", "1999"], 3, ("1999",)),
        (["data", "build", "--raw", "{tmp}/nope", "--out", "{tmp}/out"], 3, ("nope",)),
        (["data", "check", "--raw", "{tmp}/nope"], 3, ("nope",)),
        (["build", "--top", "many"], 2, ("--top",)),
        (["no-such-command"], 2, ("no-such-command",)),
    ],
    ids=["show-unknown-city", "show-unknown-edition", "list-unknown-edition", "build-raw-missing",
         "check-raw-missing", "bad-option-value", "unknown-command"],
)
def test_misc_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int,
                        needles: tuple[str, ...]) -> None:
    c, out, err = _run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert "Traceback" not in out + err
    assert c == code, err
    for n in needles:
        assert n.lower() in err.lower(), f"{n!r} not in {err}"
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------------------
# a folder hubindex did not write is never replaced (``--out .`` in a project folder must not wipe it)
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cmd", ["build", "audit", "export", "report", "survey", "assess"])
def test_foreign_out_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str) -> None:
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.docx").write_text("precious")
    (mine / "notes").mkdir()
    (mine / "notes" / "n.txt").write_text("also precious")
    if cmd == "survey":
        argv = ["survey", "estimate", str(write_survey(tmp_path)), "--out", str(mine)]
    elif cmd == "assess":
        argv = ["survey", "assess", str(write_assess(tmp_path)), "--out", str(mine)]
    else:
        argv = next(mk for name, mk, _ in _index_cmds() if name == cmd)(write_index(tmp_path), tmp_path)
        argv[argv.index("--out") + 1] = str(mine)
    before = snapshot(mine)
    code, out, err = _run(argv, capsys)
    check_failure(code, out, err, 6, ("thesis", "not empty"))
    assert snapshot(mine) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".thesis")] == []


def test_rerun_into_own_output_folder_is_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The refusal above must not block the ordinary case: writing again where hubindex wrote before."""
    spec = write_index(tmp_path)
    for _ in range(2):
        code, _, err = _run(["build", str(spec), "--out", str(tmp_path / "out")], capsys)
        assert code == 0, err
    code, _, err = _run(["audit", "all", str(spec), "--n", "8", "--no-sobol", "--out", str(tmp_path / "aud")],
                        capsys)
    assert code == 0, err
    code, _, err = _run(["audit", "all", str(spec), "--n", "8", "--no-sobol", "--out", str(tmp_path / "aud")],
                        capsys)
    assert code == 0, err


def _commands(group, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """Every command path of the click tree under ``group`` (hidden commands included)."""
    yield path
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from hubindex.cli import _mount, app

    _mount()
    paths = list(_commands(typer.main.get_command(app)))
    assert len(paths) > 20 and ("edition", "diff") in paths and ("survey", "assess") in paths
    for p in paths:
        code, out, err = _run([*p, "--help"], capsys)
        assert code == 0, (p, err)
        assert "Usage" in out and "Traceback" not in out + err, p


@pytest.mark.parametrize(
    ("extra", "setup", "code", "needles"),
    [
        (["--audit", "{tmp}/ri.csv"], lambda d: (d / "ri.csv").write_text("unit,rank_p05,rank_p95\nZZ,1,3\n"), 3,
         ("ri.csv", "none of its units", "ZZ")),
        (["--audit", "{tmp}/ri.csv"], lambda d: (d / "ri.csv").write_text("unit,score\nU1,3\n"), 3,
         ("ri.csv", "rank interval columns")),
        (["--audit", "{tmp}/nope.csv"], lambda d: None, 3, ("nope.csv", "not found")),
        (["--provenance", "{tmp}/nope.csv"], lambda d: None, 3, ("nope.csv",)),
        (["--format", "xlsx,docx"], lambda d: None, 2, ("docx",)),
    ],
    ids=["audit-other-index", "audit-no-interval-columns", "audit-missing", "provenance-missing", "bad-format"],
)
def test_export_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], setup, code: int,
                            needles: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    setup(tmp_path)
    argv = ["export", str(write_index(tmp_path)), "--out", str(tmp_path / "out"),
            *[a.replace("{tmp}", str(tmp_path)) for a in extra]]
    c, out, err = _run(argv, capsys)
    check_failure(c, out, err, code, needles)
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


def test_edition_diff_out_unwritable(one_edition: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (one_edition.parent / "afile").write_text("x")
    c, out, err = _run(["edition", "diff", "t1", "t1", "--store", str(one_edition), "--out",
                        str(one_edition.parent / "afile" / "d.csv")], capsys)
    check_failure(c, out, err, 6, ("afile",))


@pytest.mark.parametrize(
    ("extra", "code", "needles"),
    [(["--backend", "spark"], 2, ("spark",)), (["--top", "-3"], 2, ("top",))],
    ids=["survey-unknown-backend", "survey-negative-top"],
)
def test_survey_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], code: int,
                            needles: tuple[str, ...]) -> None:
    c, out, err = _run(["survey", "estimate", str(write_survey(tmp_path)), "--out", str(tmp_path / "out"), *extra],
                       capsys)
    check_failure(c, out, err, code, needles)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [["build", "--top", "-1"], ["data", "unmatched", "--top", "-1"], ["edition", "show", "2025", "--top", "-2"],
     ["survey", "assess", "x.yaml", "--top", "-1"], ["rank-range", "--top", "-5"]],
    ids=["build", "data-unmatched", "edition-show", "survey-assess", "rank-range"],
)
def test_negative_row_counts_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
                                         ) -> None:
    """`--top -1` used to print all rows but the last (pandas' head(-1)); it is a usage error."""
    code, out, err = _run([*argv, *(["--store", str(tmp_path / "s.duckdb")] if argv[0] == "edition" else [])],
                          capsys)
    assert code == 2 and "--top" in err and "Traceback" not in out + err
    assert not (tmp_path / "s.duckdb").exists()


# ------------------------------------------------------------------------------------------------------------
# audit options: checked before anything runs (no progress bar, no spec-block message), exit 2 naming the option
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["uncertainty", "--n", "0"], ("--n", "1")),
        (["uncertainty", "--seed", "-1"], ("--seed", "0")),
        (["uncertainty", "--backend", "foo"], ("--backend", "foo", "local", "dask")),
        (["sensitivity", "--backend", "foo"], ("--backend", "foo")),
        (["sensitivity", "--boot", "0"], ("--boot", "1")),
        (["sensitivity", "--n", "-4"], ("--n",)),
        (["all", "--n", "0"], ("--n",)),
        (["all", "--boot", "0"], ("--boot",)),
    ],
    ids=["n-zero", "seed-negative", "unknown-backend", "sobol-unknown-backend", "boot-zero", "sobol-n-negative",
         "all-n-zero", "all-boot-zero"],
)
def test_audit_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                           needles: tuple[str, ...]) -> None:
    spec = write_index(tmp_path)
    c, out, err = _run(["audit", argv[0], str(spec), *argv[1:], "--out", str(tmp_path / "out")], capsys)
    check_failure(c, out, err, 2, needles)
    assert "uncertainty' block" not in err  # an option, not the spec, is wrong
    assert "Monte Carlo" not in out and "Sobol" not in out and "indicators:" not in out  # nothing ran
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


def test_audit_sensitivity_one_bootstrap_prints_numbers(asem_dir: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The smallest accepted --boot gives printable intervals, never 'nan–nan'."""
    c, out, err = _run(["audit", "sensitivity", str(asem_dir / "sensitivity.yaml"), "--n", "8", "--boot", "1",
                        "--out", str(tmp_path / "out")], capsys)
    assert c == 0, err
    assert "nan" not in out.lower() and "S1 5–95 %" in out


@pytest.mark.parametrize("cmd", ["report", "export"])
def test_uncertainty_without_block_names_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str], cmd: str
                                                  ) -> None:
    argv = next(mk for name, mk, _ in _index_cmds() if name == cmd)(write_index(tmp_path), tmp_path)
    c, out, err = _run([*argv, "--uncertainty", "20"], capsys)
    check_failure(c, out, err, 2, (str(tmp_path / "spec.yaml"), "--uncertainty", "'uncertainty:' block"))
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("block", "needles"),
    [("uncertainty: {n: 5}\n", ("nothing is uncertain",)),
     ("uncertainty: {weights: {noise: {2: 3}}}\n", ("uncertainty.weights.noise", "[0, 1]"))],
    ids=["nothing-uncertain", "invalid-block"],
)
def test_report_uncertainty_block_errors_name_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       block: str, needles: tuple[str, ...]) -> None:
    spec = write_index(tmp_path, spec=HEAD + FRAMEWORK + PIPELINE + TAIL + block)
    c, out, err = _run(["report", str(spec), "--out", str(tmp_path / "out"), "--no-pdf", "--uncertainty", "20"],
                       capsys)
    check_failure(c, out, err, 2, (str(spec), *needles))
    assert "spec: " not in err.replace(str(spec), "")  # the file, not a generic 'spec:' prefix
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []
