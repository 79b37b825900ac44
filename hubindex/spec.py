"""The index specification: one YAML file, validated with pydantic, the single source of truth for a build.

A spec names the data file(s), the framework tree (index → pillars → sub-pillars → indicators) and the ordered
pipeline of steps with their parameters. ``build(spec)`` is a pure function of the spec and the data it names.

COINr users can point ``framework`` at an ``iMeta`` table (``framework: iMeta.csv``); its ``Group`` and
``Denominator`` rows then fill ``data.groups`` and ``data.denominators``. ``from_coinr(idata, imeta)`` builds
the same spec in Python with COINr's default pipeline.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubindex.errors import DataError, SpecError, where

__all__ = [
    "IndexSpec",
    "DataSpec",
    "Node",
    "Step",
    "ScreenStep",
    "DenominateStep",
    "ImputeStep",
    "TreatStep",
    "NormaliseStep",
    "AggregateStep",
    "TierSpec",
    "WeightsSpec",
    "load_spec",
    "spec_from_dict",
    "from_coinr",
    "read_framework_table",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Model):
    """Where the unit × indicator data lives and which columns are identifiers, groups and denominators."""

    path: str | list[str] = Field(description="File(s) relative to the spec; several are joined on unit_code.")
    unit_code: str = "uCode"
    unit_name: str | None = None
    groups: list[str] = Field(default_factory=list)
    denominators: list[str] = Field(default_factory=list)
    sheet: str | int | None = Field(default=None, description="Sheet for XLSX files (first sheet by default).")

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class Node(_Model):
    """One node of the framework tree. Leaves are indicators (data columns); inner nodes are aggregates."""

    code: str
    name: str | None = None
    parent: str | None = None
    level: int | None = Field(default=None, description="1 = indicator, rising to the index; checked if given.")
    direction: Literal[1, -1] = 1
    weight: float = Field(default=1.0, ge=0.0)
    unit: str | None = None
    source: str | None = None
    description: str | None = None
    denominator: str | None = None
    target: float | None = None
    goalposts: tuple[float, float] | None = None
    bounds: tuple[float | None, float | None] | None = Field(
        default=None, description="Natural range of the raw values (e.g. [0, 100] for a percentage; null = open): "
                                  "what-if analyses never propose a value outside it.")

    @field_validator("weight", mode="before")
    @classmethod
    def _weight_not_negative(cls, v: Any) -> Any:
        if isinstance(v, int | float) and v < 0:
            raise ValueError(f"weights must be >= 0, got {v}")
        return v


class ScreenStep(_Model):
    """Drop units with too little data (availability) or too many zeros; forced inclusions/exclusions win."""

    step: Literal["screen"] = "screen"
    min_availability: float | None = Field(default=None, ge=0.0, le=1.0)
    max_zero_share: float | None = Field(default=None, ge=0.0, le=1.0)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class DenominateStep(_Model):
    """Divide indicators by denominator columns (node.denominator, or the mapping given here)."""

    step: Literal["denominate"] = "denominate"
    by: dict[str, str] | None = None
    scale: float = 1.0


class ImputeStep(_Model):
    step: Literal["impute"] = "impute"
    method: Literal["none", "mean", "median", "group_mean", "group_median", "row_mean", "iterative"] = "mean"
    group: str | None = None
    seed: int = 0
    max_iter: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _group_needed(self) -> ImputeStep:
        if self.method in ("group_mean", "group_median") and not self.group:
            raise ValueError(f"impute method '{self.method}' needs 'group' (a group column of the data)")
        return self


class TreatStep(_Model):
    step: Literal["treat"] = "treat"
    method: Literal["coinr", "winsorise", "log", "boxcox", "none"] = "coinr"
    winmax: int = Field(default=5, ge=0, le=100)
    skew_thresh: float = Field(default=2.0, gt=0)
    kurt_thresh: float = Field(default=3.5)
    lower: float | None = Field(default=0.05, ge=0.0, le=1.0)
    upper: float | None = Field(default=0.95, ge=0.0, le=1.0)
    log_kind: Literal["ln", "log10", "ln_shift"] = "ln_shift"
    lmbda: float | None = None
    indicators: list[str] | None = Field(default=None, description="Treat only these (default: all).")
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-indicator parameter overrides, e.g. {GDP: {method: log}}."
    )


NormaliseMethod = Literal[
    "min_max",
    "z_score",
    "scaled",
    "dist_to_max",
    "dist_to_ref",
    "dist_to_target",
    "frac_max",
    "percentile_rank",
    "rank",
    "borda",
    "goalposts",
]


class NormaliseStep(_Model):
    step: Literal["normalise"] = "normalise"
    method: NormaliseMethod = "min_max"
    l: float = 0.0  # noqa: E741 - COINr's name for the lower bound
    u: float = 100.0
    m: float = 0.0
    s: float = 1.0
    centre: float = 0.0
    spread: float = 1.0
    ref_unit: str | None = None
    cap_max: bool | None = None
    scale: float = 100.0
    trunc: bool = True

    @model_validator(mode="after")
    def _check(self) -> NormaliseStep:
        if self.method == "min_max" and not self.u > self.l:
            raise ValueError(f"min_max needs u > l, got l={self.l}, u={self.u}")
        if self.method == "z_score" and not self.s > 0:
            raise ValueError(f"z_score needs s > 0, got {self.s}")
        if self.method == "dist_to_ref" and not self.ref_unit:
            raise ValueError("dist_to_ref needs 'ref_unit' (a unit code)")
        return self


AggregateMethod = Literal["arithmetic", "geometric", "harmonic", "median", "copeland", "outranking"]


class AggregateStep(_Model):
    step: Literal["aggregate"] = "aggregate"
    method: AggregateMethod = "arithmetic"
    min_availability: float | None = Field(default=None, ge=0.0, le=1.0)
    by_level: dict[int, AggregateMethod] = Field(
        default_factory=dict, description="Method per parent level (2 = pillars of indicators, ...)."
    )
    min_availability_by: dict[str, float] = Field(
        default_factory=dict,
        description="Minimum share of available children per aggregation group: keys are node codes or levels "
                    "('2', '3', ...); a node's own entry wins over its level's, which wins over min_availability.",
    )

    @model_validator(mode="after")
    def _check_availability(self) -> AggregateStep:
        for k, v in self.min_availability_by.items():
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"min_availability_by['{k}'] must be within [0, 1], got {v}")
        return self

    def method_for(self, level: int) -> str:
        """The aggregation method of a node at ``level``."""
        return self.by_level.get(level, self.method)

    def availability_for(self, code: str, level: int) -> float | None:
        """The minimum availability for the group under ``code``: node entry > level entry > global."""
        by = self.min_availability_by
        return by.get(code, by.get(str(level), self.min_availability))


Step = Annotated[
    ScreenStep | DenominateStep | ImputeStep | TreatStep | NormaliseStep | AggregateStep,
    Field(discriminator="step"),
]


class TierSpec(_Model):
    """Tiers by rank cut-offs (ranks 1..c0, c0+1..c1, ...) or by descending score thresholds."""

    by: Literal["rank", "score"] = "rank"
    cutoffs: list[float]
    labels: list[str]

    @model_validator(mode="after")
    def _check(self) -> TierSpec:
        if len(self.labels) != len(self.cutoffs) + 1:
            raise ValueError(
                f"tiers need one label more than cutoffs: {len(self.cutoffs)} cutoffs, {len(self.labels)} labels"
            )
        c = self.cutoffs
        if self.by == "rank" and any(b <= a for a, b in zip(c, c[1:], strict=False)):
            raise ValueError(f"rank cutoffs must increase, got {c}")
        if self.by == "score" and any(b >= a for a, b in zip(c, c[1:], strict=False)):
            raise ValueError(f"score thresholds must decrease, got {c}")
        return self


class WeightsSpec(_Model):
    """Named weight sets ({set: {node code: weight}}) and which one the build uses.

    ``use`` is ``"spec"`` (the weights in the framework), ``"equal"``, ``"pca"`` or the name of a set. A set
    overrides the framework weights of the nodes it names and keeps the others.
    """

    use: str = "spec"
    sets: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> WeightsSpec:
        if self.use not in ("spec", "equal", "pca") and self.use not in self.sets:
            raise ValueError(f"weights.use '{self.use}' is not 'spec', 'equal', 'pca' or a named set")
        for name, ws in self.sets.items():
            for code, w in ws.items():
                if w < 0:
                    raise ValueError(f"weight set '{name}': weight of '{code}' must be >= 0, got {w}")
        return self


class IndexSpec(_Model):
    """A complete, validated index specification."""

    name: str
    description: str | None = None
    version: str | None = None
    data: DataSpec
    framework: list[Node] = Field(min_length=2)
    pipeline: list[Step]
    weights: WeightsSpec = Field(default_factory=WeightsSpec)
    tiers: TierSpec | None = None
    subrankings: list[str] = Field(default_factory=list)
    uncertainty: dict[str, Any] | None = Field(
        default=None, description="Uncertain choices for the audit (see hubindex.audit)."
    )
    base_dir: str | None = Field(default=None, description="Folder relative paths resolve against (set on load).")

    @model_validator(mode="after")
    def _check_pipeline(self) -> IndexSpec:
        kinds = [s.step for s in self.pipeline]
        for required in ("normalise", "aggregate"):
            if kinds.count(required) != 1:
                raise ValueError(f"the pipeline needs exactly one '{required}' step, found {kinds.count(required)}")
        if kinds.index("aggregate") != len(kinds) - 1:
            raise ValueError("'aggregate' must be the last step of the pipeline")
        for k in ("screen", "denominate", "treat"):
            if kinds.count(k) > 1:
                raise ValueError(f"the pipeline has {kinds.count(k)} '{k}' steps; at most one is allowed")
        return self

    @model_validator(mode="after")
    def _check_tree(self) -> IndexSpec:
        codes = [n.code for n in self.framework]
        seen: set[str] = set()
        for c in codes:
            if c in seen:
                raise ValueError(f"framework: node code '{c}' appears more than once")
            seen.add(c)
        roots = [n.code for n in self.framework if n.parent is None]
        if len(roots) != 1:
            raise ValueError(f"framework: there must be exactly one root (a node without parent), found {roots}")
        for n in self.framework:
            if n.parent is not None and n.parent not in seen:
                raise ValueError(f"framework: node '{n.code}' has parent '{n.parent}', which is not a node (orphan)")
        parent = {n.code: n.parent for n in self.framework}
        for n in self.framework:
            path = [n.code]
            p = n.parent
            while p is not None:
                if p in path:
                    raise ValueError(f"framework: cycle {' -> '.join([*path, p])}")
                path.append(p)
                p = parent[p]
        return self

    # -- helpers ---------------------------------------------------------------------------------------
    def resolve(self, path: str) -> Path:
        p = Path(path)
        if not p.is_absolute() and self.base_dir:
            p = Path(self.base_dir) / p
        return p

    def step(self, kind: str) -> Any:
        """The first pipeline step of this kind, or None."""
        return next((s for s in self.pipeline if s.step == kind), None)

    def with_step(self, kind: str, **changes: Any) -> IndexSpec:
        """A copy with one step's parameters changed (validated again)."""
        steps = [type(s).model_validate({**s.model_dump(), **changes}) if s.step == kind else s
                 for s in self.pipeline]
        # the other fields as they are (immutable models are not copied): the whole spec is validated again, and
        # the unchanged framework keeps its node objects, so the engine's per-framework work is reused
        return self.model_validate({**{k: getattr(self, k) for k in type(self).model_fields}, "pipeline": steps})

    def canonical_json(self) -> str:
        """JSON of the spec without its location, keys sorted: the basis of the spec hash."""
        d = self.model_dump(mode="json", exclude={"base_dir"})
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    def spec_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


# -- loading -----------------------------------------------------------------------------------------------


def _describe_loc(loc: tuple[Any, ...], d: Mapping[str, Any] | None) -> str:
    """``('framework', 2, 'weight')`` → ``framework node 'P2', field 'weight'`` (using the input to name it)."""
    parts = [x for x in loc if not str(x).startswith("function-")]
    if d is not None and len(parts) >= 2 and parts[0] in ("framework", "pipeline") and isinstance(parts[1], int):
        items = d.get(parts[0])
        item = items[parts[1]] if isinstance(items, list) and 0 <= parts[1] < len(items) else None
        if parts[0] == "framework":
            code = item.get("code") if isinstance(item, Mapping) else None
            head = f"framework node '{code}'" if code is not None else f"framework entry {parts[1] + 1}"
        else:
            step = item.get("step") if isinstance(item, Mapping) else None
            head = f"pipeline step {parts[1] + 1}" + (f" ('{step}')" if isinstance(step, str) else "")
        rest = [str(x) for x in parts[2:]]
        if parts[0] == "pipeline" and rest and isinstance(item, Mapping) and rest[0] == item.get("step"):
            rest = rest[1:]  # the union's tag, already named
        return head + (f", field '{'.'.join(rest)}'" if rest else "")
    return "'" + ".".join(str(x) for x in parts) + "'" if parts else ""


def _format_validation_error(err: ValidationError, source: str, d: Mapping[str, Any] | None = None) -> str:
    lines = [f"{source}: the spec is invalid:"]
    for e in err.errors():
        where_ = _describe_loc(tuple(e["loc"]), d)
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        shown = isinstance(got, dict | list) or got is None or f"got {got!r}" in msg or f"got {got}" in msg
        got_s = "" if shown else f" Got {got!r}."
        lines.append(f"  - at {where_}: {msg}.{got_s}" if where_ else f"  - {msg}.{got_s}")
    return "\n".join(lines)


def spec_from_dict(d: Mapping[str, Any], base_dir: str | Path | None = None, source: str = "spec") -> IndexSpec:
    """Validate a spec given as a mapping. ``framework`` may be a path to an iMeta-style table."""
    if not isinstance(d, Mapping):
        raise SpecError(f"{source}: expected a mapping at the top level, got {type(d).__name__}")
    d = dict(d)
    if base_dir is not None:
        d["base_dir"] = str(base_dir)
    fw = d.get("framework")
    if isinstance(fw, str | dict) and not isinstance(fw, list):
        table = fw if isinstance(fw, str) else fw.get("path")
        if not isinstance(table, str):
            raise SpecError(f"{source}: 'framework' must be a list of nodes or a path to an iMeta table")
        fpath = Path(table)
        if not fpath.is_absolute() and base_dir is not None:
            fpath = Path(base_dir) / fpath
        nodes, groups, denoms = read_framework_table(fpath)
        d["framework"] = nodes
        data = dict(d.get("data") or {})
        data.setdefault("groups", groups)
        data.setdefault("denominators", denoms)
        d["data"] = data
    try:
        return IndexSpec.model_validate(d)
    except ValidationError as err:
        raise SpecError(_format_validation_error(err, source, d)) from None


def load_spec(path: str | Path) -> IndexSpec:
    """Read and validate a YAML spec file; relative paths in it resolve against its folder."""
    from hubindex.yamlio import read_yaml

    p = Path(path)
    return spec_from_dict(read_yaml(p, "spec file"), base_dir=p.resolve().parent, source=str(p))


_IMETA_REQUIRED = ("iCode", "Level", "Parent", "Type")
_IMETA_TEXT = ("iCode", "iName", "Level", "Parent", "Direction", "Weight", "Unit", "Target", "Denominator", "Type")
_IMETA_TYPES = ("Indicator", "Aggregate", "Group", "Denominator", "Other")


def read_framework_table(path: str | Path) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Read a COINr ``iMeta`` table: nodes (Indicator + Aggregate rows), group columns, denominator columns.

    Columns used: iCode, iName, Level, Parent, Direction, Weight, Unit, Target, Denominator, Type (COINr 1.x).
    Every mistake is a :class:`DataError` naming the table, its row (header = row 1) and column: an empty or
    repeated iCode, an unknown Type, a number that is not one (read strictly, as data cells are), Level not a
    whole number >= 1, Direction not 1 or -1, a negative or non-finite Weight, a Parent that is not an Aggregate
    row, a cycle, no root or several, an Aggregate without children, a parent whose Level is not above its
    child's, an Indicator whose Level is not 1.
    """
    from hubindex.io import parse_numbers, read_table_rows

    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: framework table (iMeta) not found")
    meta, rows = read_table_rows(p, text_columns=_IMETA_TEXT, row_name="indicator or aggregate")
    missing = [c for c in _IMETA_REQUIRED if c not in meta.columns]
    if missing:
        raise DataError(f"{p}: missing column(s) {missing}; an iMeta table needs {list(_IMETA_REQUIRED)}")

    def text(i: int, col: str) -> str | None:
        if col not in meta.columns:
            return None
        v = meta[col].iloc[i]
        return None if v is None or (isinstance(v, float) and v != v) or not str(v).strip() else str(v).strip()

    def number(i: int, col: str) -> float | None:
        if col not in meta.columns:
            return None
        vals, bad, why = parse_numbers(meta[col].iloc[i:i + 1].to_numpy(dtype=object))
        if bad is not None:
            raise DataError(f"{where(p, rows[i], col)}{why}")
        return None if math.isnan(vals[0]) else float(vals[0])

    nodes: list[dict[str, Any]] = []
    groups: list[str] = []
    denoms: list[str] = []
    row_of: dict[str, int] = {}  # iCode -> row as seen in the file
    type_of: dict[str, str] = {}
    for i in range(len(meta)):
        r = int(rows[i])
        typ = text(i, "Type")
        code = text(i, "iCode")
        if typ not in _IMETA_TYPES:
            raise DataError(f"{where(p, r, 'Type')}expected {', '.join(_IMETA_TYPES[:-1])} or Other, got "
                            f"{'an empty cell' if typ is None else repr(typ)}")
        if code is None:
            raise DataError(f"{where(p, r, 'iCode')}expected a code, got an empty cell")
        if code in row_of:
            raise DataError(f"{where(p, r, 'iCode')}'{code}' is also on row {row_of[code]}; expected each iCode once")
        row_of[code], type_of[code] = r, typ
        if typ == "Group":
            groups.append(code)
            continue
        if typ == "Denominator":
            denoms.append(code)
            continue
        if typ == "Other":
            continue
        node: dict[str, Any] = {"code": code}
        for col, key in (("iName", "name"), ("Unit", "unit"), ("Denominator", "denominator"), ("Parent", "parent")):
            v = text(i, col)
            if v is not None:
                node[key] = v
        level, direction, weight, target = (number(i, c) for c in ("Level", "Direction", "Weight", "Target"))
        if level is not None:
            if level != int(level) or level < 1:
                raise DataError(f"{where(p, r, 'Level')}expected a whole number >= 1 (1 = indicator), got {level:g}")
            node["level"] = int(level)
        if direction is not None:
            if direction not in (1, -1):
                raise DataError(f"{where(p, r, 'Direction')}expected 1 (higher is better) or -1 (lower is better), "
                                f"got {direction:g}")
            node["direction"] = int(direction)
        if weight is not None:
            if weight < 0:
                raise DataError(f"{where(p, r, 'Weight')}expected a weight >= 0, got {weight:g}")
            node["weight"] = weight
        if target is not None:
            node["target"] = target
        nodes.append(node)
    _check_imeta_tree(p, nodes, row_of, type_of)
    return nodes, groups, denoms


def _a(word: str) -> str:
    return ("an " if word[:1] in "AEIOU" else "a ") + word


def _check_imeta_tree(p: Path, nodes: list[dict[str, Any]], row_of: dict[str, int], type_of: dict[str, str]
                      ) -> None:
    """The tree of an iMeta table: parents are Aggregate rows, no cycle, one root, levels rise to the root."""
    parent = {n["code"]: n.get("parent") for n in nodes}
    for n in nodes:
        par, r = n.get("parent"), row_of[n["code"]]
        if par is None:
            continue
        if par not in type_of:
            raise DataError(f"{where(p, r, 'Parent')}unknown parent '{par}'; expected the iCode of an Aggregate row")
        if type_of[par] != "Aggregate":
            raise DataError(f"{where(p, r, 'Parent')}parent '{par}' is {_a(type_of[par])} row (row {row_of[par]}); "
                            "expected an Aggregate row")
    for n in nodes:
        path, q = [n["code"]], parent[n["code"]]
        while q is not None:
            if q in path:
                cyc = path[path.index(q):] + [q]
                raise DataError(f"{where(p, row_of[path[-1]], 'Parent')}cycle {' -> '.join(cyc)}; a node cannot be "
                                "its own ancestor")
            path.append(q)
            q = parent[q]
    roots = [n["code"] for n in nodes if n.get("parent") is None]
    if not roots:
        raise DataError(f"{p}: every row has a Parent; expected one Aggregate row without Parent (the index)")
    if len(roots) > 1:
        raise DataError(f"{where(p, row_of[roots[1]], 'Parent')}'{roots[1]}' has no Parent, nor has '{roots[0]}' "
                        f"(row {row_of[roots[0]]}); expected exactly one root (the index)")
    children: dict[str, list[str]] = {}
    for c, par in parent.items():
        if par is not None:
            children.setdefault(par, []).append(c)
    for n in nodes:
        c = n["code"]
        if type_of[c] == "Aggregate" and c not in children:
            raise DataError(f"{where(p, row_of[c], 'Type')}Aggregate '{c}' has no children (no row names it as "
                            "Parent); expected Indicator, or a Parent on some rows")
        if type_of[c] == "Indicator" and c in children:
            kid = children[c][0]
            raise DataError(f"{where(p, row_of[kid], 'Parent')}parent '{c}' is an Indicator row (row {row_of[c]}); "
                            "expected an Aggregate row")
    level = {n["code"]: n.get("level") for n in nodes}
    if all(v is not None for v in level.values()):
        for n in nodes:
            c, par = n["code"], n.get("parent")
            if type_of[c] == "Indicator" and level[c] != 1:
                raise DataError(f"{where(p, row_of[c], 'Level')}an Indicator has level 1, got {level[c]}")
            if par is not None and level[par] <= level[c]:  # type: ignore[operator]
                raise DataError(f"{where(p, row_of[par], 'Level')}level {level[par]} of '{par}' is not above the "
                                f"level {level[c]} of its child '{c}' (row {row_of[c]}); a parent's level must be "
                                "higher")


def from_coinr(
    idata: str | Path,
    imeta: str | Path,
    *,
    name: str = "COINr index",
    pipeline: list[dict[str, Any]] | None = None,
) -> IndexSpec:
    """A spec over COINr's two tables, as is: COINr's default pipeline (Treat → min-max 0–100 → arithmetic mean)."""
    idata, imeta = Path(idata).resolve(), Path(imeta).resolve()
    return spec_from_dict(
        {
            "name": name,
            "data": {"path": str(idata), "unit_code": "uCode", "unit_name": "uName"},
            "framework": str(imeta),
            "pipeline": pipeline
            or [
                {"step": "treat", "method": "coinr", "winmax": 5},
                {"step": "normalise", "method": "min_max", "l": 0, "u": 100},
                {"step": "aggregate", "method": "arithmetic"},
            ],
        },
        source=str(imeta),
    )
