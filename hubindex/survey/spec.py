"""The survey specification (YAML, pydantic): respondent file, design columns, measures, subgroups, weighting.

A survey spec states everything an adoption estimate depends on, so that two rates are never mixed silently:

.. code-block:: yaml

    name: Global Findex 2021, Philippines
    source: World Bank, Global Findex Database 2021 microdata
    data:
      path: micro_world_2021_phl.csv      # .csv/.tsv, .parquet, SPSS .sav, Stata .dta
      id: wpid_random
      weight: wgt                         # design weights; > 0, never missing
      strata: null                        # optional stratum column
      psu: null                           # optional PSU column (else each respondent is its own PSU)
      unit: null                          # column naming the unit (city/country) ...
      unit_value: PHL                     # ... or one constant unit for the whole file
    measures:
      - code: anydigpayment
        name: Made or received a digital payment
        items: [anydigpayment]            # questionnaire columns
        yes: [1]                          # codes that count as "yes"
        at_least: 1                       # adopter = yes to at least k of the items
        denominator: {label: all adults (15+), where: {}}
    groups:
      - {name: sex, column: female, labels: {1: female, 2: male}}
      - {name: age, column: age, bins: [15, 25, 35, 50, 65, 120]}
    raking: {margins: margins.csv, max_iter: 100, tol: 1.0e-8, trim: {lower: 0.2, upper: 5.0}}
    min_n: 30
    ci: wilson            # or korn_graubard
    confidence: 0.95

Relative paths resolve against the spec's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubindex.errors import DataError, SpecError, where
from hubindex.io import csv_record_lines, parse_numbers, reader_errors
from hubindex.yamlio import read_yaml

__all__ = [
    "SurveySpec",
    "SurveyData",
    "Measure",
    "Denominator",
    "Group",
    "Raking",
    "Trim",
    "Indicators",
    "load_survey_spec",
    "survey_spec_from_dict",
    "read_respondents",
    "respondent_files",
    "read_part",
    "check_part",
    "locate",
    "used_columns",
]

Code = int | float | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurveyData(_Model):
    """The respondent file and its design columns."""

    path: str = Field(description="Respondent file relative to the spec: .csv/.tsv, .parquet, .sav or .dta; or a "
                                  "folder of part files, or a glob such as parts/*.parquet (parts are stacked).")
    id: str | None = Field(default=None, description="Respondent id column (checked for duplicates).")
    weight: str | None = Field(default=None, description="Design weight column; omitted = equal weights.")
    strata: str | None = None
    psu: str | None = Field(default=None, description="Primary sampling unit; omitted = each respondent its own.")
    unit: str | None = Field(default=None, description="Column naming the unit (city or country).")
    unit_value: str | None = Field(default=None, description="Constant unit code when the file has one unit.")

    @model_validator(mode="after")
    def _one_unit_source(self) -> SurveyData:
        if (self.unit is None) == (self.unit_value is None):
            raise ValueError("give exactly one of 'unit' (a column naming each respondent's unit) or "
                             "'unit_value' (one constant unit code for the whole file)")
        return self


class Denominator(_Model):
    """Who is counted in the denominator: all respondents (``where: {}``) or those matching every condition."""

    label: str = Field(min_length=1, description="Stated in every output row, e.g. 'all adults (15+)'.")
    where: dict[str, list[Code]] = Field(default_factory=dict,
                                         description="column → accepted codes; conditions are ANDed.")


class Measure(_Model):
    """Adopter = answered one of ``yes`` to at least ``at_least`` of ``items``, among the ``denominator``."""

    code: str = Field(min_length=1)
    name: str | None = None
    items: list[str] = Field(min_length=1)
    yes: list[Code] = Field(default_factory=lambda: list[Code]([1]), min_length=1)
    at_least: int = Field(default=1, ge=1)
    denominator: Denominator
    missing: Literal["no", "exclude"] = Field(
        default="no",
        description="'no': a missing item counts as not-yes (questions skipped by routing); 'exclude': a "
                    "respondent with any missing item leaves the denominator.")

    @model_validator(mode="after")
    def _k_le_items(self) -> Measure:
        if self.at_least > len(self.items):
            raise ValueError(f"measure '{self.code}': at_least = {self.at_least} but only {len(self.items)} "
                             f"item(s) are listed")
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"measure '{self.code}': an item is listed twice in {self.items}")
        return self


class Group(_Model):
    """A subgroup variable; every group is estimated as a domain of the full design."""

    name: str = Field(min_length=1)
    column: str
    labels: dict[Code, str] | None = Field(default=None, description="code → label; codes not listed are "
                                           "respondents outside every level. Default: the file's value labels, "
                                           "else the codes themselves.")
    bins: list[float] | None = Field(default=None, description="Edges for a numeric column: [a, b) intervals.")
    bin_labels: list[str] | None = Field(default=None, description="One label per bin (default '[a, b)').")

    @model_validator(mode="after")
    def _bins(self) -> Group:
        if self.bins is not None:
            if self.labels is not None:
                raise ValueError(f"group '{self.name}': give 'labels' or 'bins', not both")
            b = np.asarray(self.bins, dtype=float)
            if b.size < 2 or np.any(np.diff(b) <= 0):
                raise ValueError(f"group '{self.name}': bins must be at least two strictly increasing edges")
            if self.bin_labels is not None and len(self.bin_labels) != b.size - 1:
                raise ValueError(f"group '{self.name}': {len(self.bin_labels)} bin_labels for {b.size - 1} bins")
        elif self.bin_labels is not None:
            raise ValueError(f"group '{self.name}': bin_labels need bins")
        return self


class Trim(_Model):
    """Weight bounds, as multiples of the unit's mean weight (``lower`` ≤ w/mean(w) ≤ ``upper``)."""

    lower: float | None = Field(default=None, gt=0)
    upper: float | None = Field(default=None, gt=1)

    @model_validator(mode="after")
    def _order(self) -> Trim:
        if self.lower is not None and self.lower >= 1:
            raise ValueError("trim.lower must be below 1 (a multiple of the mean weight)")
        return self


class Raking(_Model):
    """Calibrate the design weights to population margins by raking (iterative proportional fitting)."""

    margins: str = Field(description="CSV with columns variable, category, target (and optionally unit).")
    max_iter: int = Field(default=100, ge=1)
    tol: float = Field(default=1e-8, gt=0, description="Stop when every margin's relative error is below this.")
    trim: Trim | None = None


class Indicators(_Model):
    """How ``indicators.csv`` (one row per unit, one percent column per measure) is laid out for an index spec."""

    unit_column: str = Field(default="code", min_length=1,
                             description="Name of the unit column: the index spec's data.unit_code.")
    prefix: str = Field(default="", description="Prefix of every indicator column (e.g. 'svy_').")


class SurveySpec(_Model):
    """A whole survey: file, design, measures, subgroups, weighting, suppression and interval method."""

    name: str = "survey"
    source: str = Field(default="", description="Who collected the data; carried into every provenance string.")
    data: SurveyData
    measures: list[Measure] = Field(min_length=1)
    groups: list[Group] = Field(default_factory=list)
    raking: Raking | None = None
    min_n: int = Field(default=30, ge=1, description="Estimates from fewer respondents are suppressed.")
    ci: Literal["wilson", "korn_graubard"] = "wilson"
    confidence: float = Field(default=0.95, gt=0, lt=1)
    lonely_psu: Literal["fail", "adjust", "remove"] = Field(
        default="adjust", description="A stratum with one PSU: as R survey's options(survey.lonely.psu=...).")
    indicators: Indicators = Field(default_factory=Indicators)
    base_dir: Path = Field(default=Path("."), exclude=True)
    spec_file: str | None = Field(default=None, exclude=True)

    @field_validator("measures")
    @classmethod
    def _unique_codes(cls, v: list[Measure]) -> list[Measure]:
        codes = [m.code for m in v]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"measure code(s) {dup} appear more than once")
        return v

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, v: list[Group]) -> list[Group]:
        names = [g.name for g in v]
        if "all" in names:
            raise ValueError("'all' is reserved for the whole sample; rename the group")
        dup = sorted({c for c in names if names.count(c) > 1})
        if dup:
            raise ValueError(f"group name(s) {dup} appear more than once")
        return v

    def resolve(self, rel: str) -> Path:
        p = Path(rel).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def data_path(self) -> Path:
        return self.resolve(self.data.path)

    def columns_used(self) -> list[str]:
        """Every column of the respondent file that the spec refers to (design, items, filters, groups)."""
        d = self.data
        cols = [c for c in (d.id, d.weight, d.strata, d.psu, d.unit) if c]
        for m in self.measures:
            cols += m.items + list(m.denominator.where)
        cols += [g.column for g in self.groups]
        return list(dict.fromkeys(cols))


def survey_spec_from_dict(raw: Any, base_dir: Path | str = ".", source: str | None = None) -> SurveySpec:
    """Validate a parsed YAML mapping; schema errors become one :class:`SpecError` listing every problem."""
    src = source or "survey spec"
    if not isinstance(raw, dict):
        raise SpecError(f"{src}: expected a mapping at the top level, found {type(raw).__name__}")
    if isinstance(raw.get("measures"), list):
        # YAML 1.1 reads a bare `yes:` key as the boolean True; map it back to the field name
        raw = {**raw, "measures": [{("yes" if k is True else k): v for k, v in m.items()}
                                   if isinstance(m, dict) else m for m in raw["measures"]]}
    try:
        return SurveySpec.model_validate({**raw, "base_dir": Path(base_dir), "spec_file": source})
    except ValidationError as e:
        msgs = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            msgs.append(f"  - {loc or '(top level)'}: {msg}")
        raise SpecError(f"{src}: invalid survey spec:\n" + "\n".join(msgs)) from None


def load_survey_spec(path: str | Path) -> SurveySpec:
    """Read and validate a survey spec YAML file; relative paths in it resolve against its folder."""
    p = Path(path)
    return survey_spec_from_dict(read_yaml(p, "survey spec"), base_dir=p.resolve().parent, source=str(p))


def _read_file(path: Path, usecols: list[str] | None) -> tuple[pd.DataFrame, dict[str, dict[Any, str]]]:
    """Read a respondent file; return the frame and the file's value labels (SPSS/Stata), if any."""
    if not path.exists():
        raise DataError(f"{path}: respondent file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a respondent file (.csv, .parquet, .sav, .dta)")
    ext = path.suffix.lower()
    labels: dict[str, dict[Any, str]] = {}
    try:
        with reader_errors(path, "respondent"):
            if ext in {".csv", ".txt", ".tsv"}:
                sep = "\t" if ext == ".tsv" else ","
                # every record has as many fields as the header (pandas pads a short one — a file cut in the
                # middle of a row — with missing values, and checks nothing when reading a subset of columns)
                csv_record_lines(path, sep)
                header = pd.read_csv(path, sep=sep, nrows=0).columns
                cols = [c for c in header if usecols is None or str(c).strip() in usecols]
                df = pd.read_csv(path, sep=sep, usecols=cols, keep_default_na=False,
                                 na_values=["", "NA", "NaN", "nan", "N/A", "#N/A", "."])
            elif ext in {".parquet", ".pq"}:
                import pyarrow.parquet as pq

                names = pq.read_schema(path).names
                df = pd.read_parquet(path, columns=[c for c in names if usecols is None or c.strip() in usecols])
            elif ext in {".sav", ".zsav", ".dta"}:
                import pyreadstat

                reader = pyreadstat.read_dta if ext == ".dta" else pyreadstat.read_sav
                df, meta = reader(str(path), usecols=usecols)
                labels = {k: dict(v) for k, v in (meta.variable_value_labels or {}).items()}
            else:
                raise DataError(f"{path}: unsupported respondent file type '{ext}'; expected .csv, .tsv, .parquet, "
                                f".sav or .dta")
    except DataError:
        raise
    except Exception as e:  # pyreadstat/pyarrow raise their own types for corrupt files
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, labels


def _row(i: int, tabular: bool) -> int:
    """Row number as a person sees it: header = line 1 in a CSV; 1-based case number otherwise."""
    return i + 2 if tabular else i + 1


RESPONDENT_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".sav", ".zsav", ".dta")


def respondent_files(spec: SurveySpec) -> list[Path]:
    """The respondent file(s) of ``data.path``: one file, a folder of part files, or a glob (``parts/*.parquet``).

    Part files are read in name order and stacked; they must share the spec's columns.
    """
    p = spec.data_path
    if any(ch in p.name for ch in "*?["):
        files = sorted(q for q in p.parent.glob(p.name) if q.is_file())
        if not files:
            raise DataError(f"{p}: no respondent files match this pattern")
        return files
    if p.is_dir():
        files = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in RESPONDENT_SUFFIXES)
        if not files:
            raise DataError(f"{p}: the folder holds no respondent files ({', '.join(RESPONDENT_SUFFIXES)})")
        return files
    return [p]


def used_columns(spec: SurveySpec, extra: list[str] | None = None) -> list[str]:
    """Columns read from the respondent files: the spec's (:meth:`SurveySpec.columns_used`) plus ``extra``."""
    return list(dict.fromkeys(spec.columns_used() + list(extra or [])))


def read_part(spec: SurveySpec, path: Path, used: list[str], extra: list[str] | None = None
              ) -> tuple[pd.DataFrame, dict[str, dict[Any, str]]]:
    """Read one respondent file and check it (:func:`check_part`): the unit of work of every backend."""
    df, labels = _read_file(path, used)
    return check_part(spec, df, path, used, extra), labels


def check_part(spec: SurveySpec, df: pd.DataFrame, path: Path, used: list[str],
               extra: list[str] | None = None) -> pd.DataFrame:
    """Check one file's respondents against the spec (columns, ids, weights, design columns); row numbers in
    messages are the file's own. Returns the used columns, index 0..n−1, weights as floats."""
    tabular = path.suffix.lower() in {".csv", ".txt", ".tsv"}
    missing = [c for c in used if c not in df.columns]
    if missing:
        who = []
        for c in missing:
            ms = [m.code for m in spec.measures if c in m.items or c in m.denominator.where]
            gs = [g.name for g in spec.groups if g.column == c]
            role = (f"measure {ms}" if ms else f"group {gs}" if gs else
                    "raking margins" if c in (extra or []) else "data")
            who.append(f"'{c}' (used by {role})")
        raise DataError(f"{path}: column(s) not found: {', '.join(who)}; the file has {len(df.columns)} columns")
    df = df[used].reset_index(drop=True)
    if len(df) == 0:
        raise DataError(f"{path}: no respondents (the file has a header only)")
    d = spec.data
    if d.id:
        dup = df[d.id].duplicated(keep="first")
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            raise DataError(f"{where(path, _row(i, tabular), d.id)}respondent id {str(df[d.id].iloc[i])!r} appears "
                            f"more than once")
    if d.weight:
        s = df[d.weight]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            w = pd.Series(s.to_numpy(dtype=float, na_value=np.nan))
        else:  # text: read strictly ('3,5' is refused with a hint, never read as 35 or as missing)
            vals, i_bad, why = parse_numbers(s.to_numpy(dtype=object))
            if i_bad is not None:
                raise DataError(f"{where(path, _row(i_bad, tabular), d.weight)}weight: {why}")
            w = pd.Series(vals)
        bad = ~(w > 0) | ~np.isfinite(w)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raw = df[d.weight].iloc[i]
            what = "missing" if pd.isna(raw) else f"{raw:g}" if isinstance(raw, int | float) else repr(str(raw))
            raise DataError(f"{where(path, _row(i, tabular), d.weight)}weight is {what}; expected a number > 0 "
                            f"({int(bad.sum())} respondent(s) affected)")
        df[d.weight] = w.astype(float)
    for dc in (d.strata, d.psu, d.unit):
        if dc and df[dc].isna().any():
            i = int(np.flatnonzero(df[dc].isna().to_numpy())[0])
            kind = "unit" if dc == d.unit else "stratum" if dc == d.strata else "PSU"
            raise DataError(f"{where(path, _row(i, tabular), dc)}missing value in a design column; every "
                            f"respondent needs a {kind}")
    for m in spec.measures:
        for c in m.items:
            s = df[c]
            if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_string_dtype(s)
                    or s.dtype == object):
                raise DataError(f"{where(path, None, c)}unsupported column type {s.dtype} for item of measure "
                                f"'{m.code}'")
    return df


def locate(parts: list[tuple[Path, int]], i: int) -> tuple[Path, int]:
    """(file, row as a person sees it) of stacked respondent ``i`` (0-based), given each part's row count."""
    off = 0
    for path, n in parts:
        if i < off + n:
            return path, _row(i - off, path.suffix.lower() in {".csv", ".txt", ".tsv"})
        off += n
    raise IndexError(i)


def read_respondents(spec: SurveySpec, extra: list[str] | None = None
                     ) -> tuple[pd.DataFrame, dict[str, dict[Any, str]]]:
    """Read the respondent file(s) and check them against the spec (columns, ids, weights, design columns).

    ``extra``: further columns needed (e.g. raking variables). Returns the frame (only the columns used,
    index = 0..n−1; ``attrs['parts']`` = [(file, rows)]) and the first file's value labels.
    """
    used = used_columns(spec, extra)
    files = respondent_files(spec)
    frames, labels = [], {}
    for k, path in enumerate(files):
        df, lab = read_part(spec, path, used, extra)
        frames.append(df)
        if k == 0:
            labels = lab
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    parts = [(p, len(f)) for p, f in zip(files, frames, strict=True)]
    d = spec.data
    if d.id and len(frames) > 1:
        dup = df[d.id].duplicated(keep="first")
        if dup.any():
            i = int(np.flatnonzero(dup.to_numpy())[0])
            f, row = locate(parts, i)
            raise DataError(f"{where(f, row, d.id)}respondent id {str(df[d.id].iloc[i])!r} appears more than "
                            f"once (also in an earlier part file)")
    df.attrs["parts"] = parts
    return df, labels


def _codes_equal(values: pd.Series, codes: list[Code]) -> np.ndarray:
    """Boolean mask: value is one of ``codes`` (numbers compared numerically, text as stripped strings)."""
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    ncodes = [float(c) for c in codes if isinstance(c, int | float) or _isnum(c)]
    out = np.isin(num, np.asarray(ncodes, dtype=float)) if ncodes else np.zeros(len(values), bool)
    scodes = {str(c).strip() for c in codes}
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        out |= values.astype("string").str.strip().isin(scodes).fillna(False).to_numpy(dtype=bool)
    return out


def _isnum(c: object) -> bool:
    try:
        float(c)  # type: ignore[arg-type]
        return True
    except (TypeError, ValueError):
        return False
