"""A small, seeded mutation pass (not part of the test suite or CI): mutate one operator at a time in a module of a
scratch copy of the repo, run the tests that cover it, count killed and surviving mutants.

mutmut 3 and cosmic-ray both install, but need the whole suite as a baseline run and a writable copy wired into the
editable install; on this 2-core shared machine this ~150-line runner with per-module test selections is what runs.
Operators: comparison (< <=, > >=, == !=, is / is not, in / not in), arithmetic (+ -, * /, // *, ** *),
boolean (and or), unary not removed, integer constants ±1, True/False swapped. Mutants that do not change the
AST's meaning are not made; a mutant is "killed" when the selected tests fail or error within the time limit.

    .venv/bin/python tests/mutation/run_sample.py --copy /tmp/checks-mut --per-module 30 [--module engine/_treat.py]
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# module (under hubindex/) -> the tests that cover it
TARGETS: dict[str, list[str]] = {
    "engine/_normalise.py": ["tests/engine/test_normalise.py", "tests/engine/test_coinr_reference.py"],
    "engine/_aggregate.py": ["tests/engine/test_aggregate.py", "tests/engine/test_coinr_reference.py"],
    "engine/_treat.py": ["tests/engine/test_treat.py", "tests/engine/test_coinr_reference.py",
                         "tests/engine/test_asem_parity.py", "tests/engine/test_treat_tails.py"],
    "audit/coherence.py": ["tests/audit/test_coherence.py", "tests/audit/test_summary.py"],
    "survey/estimate.py": ["tests/survey/test_estimate.py"],
}

SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
            ast.Pow: ast.Mult}


def _in_docstring_or_message(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Skip constants inside f-strings and raise statements (messages, not behaviour)."""
    p = parents.get(node)
    while p is not None:
        if isinstance(p, (ast.JoinedStr, ast.Raise)):
            return True
        p = parents.get(p)
    return False


def mutants(tree: ast.Module) -> list[tuple[str, int, str]]:
    """(kind, node index in ast.walk order, description) of every mutation point."""
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    out = []
    for i, n in enumerate(ast.walk(tree)):
        if _in_docstring_or_message(n, parents):
            continue
        line = getattr(n, "lineno", 0)
        if isinstance(n, ast.Compare):
            for k, op in enumerate(n.ops):
                if type(op) in SWAP_CMP:
                    out.append(("cmp", i, f"L{line}: {type(op).__name__}->{SWAP_CMP[type(op)].__name__} #{k}"))
        elif isinstance(n, ast.BinOp) and type(n.op) in SWAP_BIN:
            out.append(("bin", i, f"L{line}: {type(n.op).__name__}->{SWAP_BIN[type(n.op)].__name__}"))
        elif isinstance(n, ast.BoolOp):
            out.append(("bool", i, f"L{line}: {type(n.op).__name__} swapped"))
        elif isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            out.append(("not", i, f"L{line}: not removed"))
        elif isinstance(n, ast.Constant) and type(n.value) is bool:
            out.append(("boolconst", i, f"L{line}: {n.value}->{not n.value}"))
        elif isinstance(n, ast.Constant) and type(n.value) is int and not isinstance(parents.get(n), ast.Subscript):
            out.append(("int", i, f"L{line}: {n.value}->{n.value + 1}"))
    return out


def apply(tree: ast.Module, kind: str, idx: int, desc: str) -> ast.Module:
    t = copy.deepcopy(tree)
    n = list(ast.walk(t))[idx]
    if kind == "cmp":
        k = int(desc.rsplit("#", 1)[1])
        n.ops[k] = SWAP_CMP[type(n.ops[k])]()  # type: ignore[attr-defined]
    elif kind == "bin":
        n.op = SWAP_BIN[type(n.op)]()  # type: ignore[attr-defined]
    elif kind == "bool":
        n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif kind == "not":
        return _replace(t, n, n.operand)  # type: ignore[attr-defined]
    elif kind == "boolconst":
        n.value = not n.value  # type: ignore[attr-defined]
    elif kind == "int":
        n.value = n.value + 1  # type: ignore[attr-defined]
    return t


def _replace(tree: ast.Module, old: ast.AST, new: ast.AST) -> ast.Module:
    for p in ast.walk(tree):
        for field, val in ast.iter_fields(p):
            if val is old:
                setattr(p, field, new)
            elif isinstance(val, list) and any(v is old for v in val):
                setattr(p, field, [new if v is old else v for v in val])
    return tree


def run_tests(copy_dir: Path, tests: list[str], timeout: float) -> str:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *tests]
    try:
        r = subprocess.run(cmd, cwd=copy_dir, env={"PYTHONPATH": str(copy_dir), "PATH": "/usr/bin:/bin",
                                                    "HOME": str(copy_dir)},
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "survived" if r.returncode == 0 else "killed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copy", type=Path, required=True, help="scratch folder for the repo copy (replaced)")
    ap.add_argument("--per-module", type=int, default=30, help="mutants sampled per module (seeded)")
    ap.add_argument("--module", action="append", help="only these modules (keys of TARGETS)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out", type=Path, default=None, help="JSON lines of every mutant's outcome")
    a = ap.parse_args()
    if a.copy.exists():
        shutil.rmtree(a.copy)
    a.copy.mkdir(parents=True)
    for part in ("hubindex", "tests", "examples", "pyproject.toml"):
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, a.copy / part)
    out = a.out.open("a") if a.out else None
    totals = {}
    for mod in a.module or list(TARGETS):
        path = a.copy / "hubindex" / mod
        source = path.read_text()
        tree = ast.parse(source)
        base = run_tests(a.copy, TARGETS[mod], a.timeout)
        if base != "survived":
            print(f"{mod}: the selected tests do not pass unmutated ({base}); skipped", flush=True)
            continue
        points = mutants(tree)
        sample = random.Random(a.seed).sample(points, min(a.per_module, len(points)))
        killed = 0
        for kind, idx, desc in sample:
            mutated = ast.unparse(apply(tree, kind, idx, desc))
            if ast.dump(ast.parse(mutated)) == ast.dump(tree):
                continue
            path.write_text(mutated)
            t0 = time.perf_counter()
            try:
                res = run_tests(a.copy, TARGETS[mod], a.timeout)
            finally:
                path.write_text(source)
            killed += res != "survived"
            print(f"{mod} {desc}: {res} ({time.perf_counter() - t0:.0f} s)", flush=True)
            if out:
                out.write(json.dumps({"module": mod, "mutant": desc, "result": res}) + "\n")
                out.flush()
        totals[mod] = (killed, len(sample), len(points))
        print(f"== {mod}: {killed}/{len(sample)} killed ({len(points)} mutation points)", flush=True)
    k = sum(v[0] for v in totals.values())
    n = sum(v[1] for v in totals.values())
    print(f"== total: {k}/{n} killed, survival rate {(n - k) / max(n, 1):.0%}")


if __name__ == "__main__":
    main()
