"""CLI start-up: the help screen and ``data show`` load no numeric stack; the lazy command table is exact.

Timings are in ``benchmarks/bench_cli.py`` (they flake under load); these tests check the cause instead: which
modules a fresh interpreter has imported after the command ran.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "scipy", "fastapi", "duckdb")


def _modules_after(code: str) -> tuple[set[str], str]:
    """Run ``code`` in a fresh interpreter; the top-level packages it imported, and its stdout."""
    probe = code + "\nimport json, sys\nprint('@@' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120).stdout
    head, _, mods = out.rpartition("@@")
    return set(json.loads(mods)), head


@pytest.mark.parametrize("argv", [["--help"], [], ["build", "--help"], ["report", "--help"], ["data", "--help"],
                                  ["serve", "--help"], ["survey", "--help"], ["survey", "estimate", "--help"],
                                  ["edition", "--help"], ["edition", "diff", "--help"], ["audit", "--help"], ["data", "show", "CN-HGH"]],
                         ids=" ".join)
def test_fast_commands_do_not_import_the_numeric_stack(argv: list[str]) -> None:
    mods, out = _modules_after(f"from hubindex.cli import main\nmain({argv!r})")
    assert not mods & set(HEAVY), f"hubindex {' '.join(argv)} imported {sorted(mods & set(HEAVY))}"
    assert "Usage" in out or "Hangzhou (CN-HGH)" in out


def test_import_hubindex_is_lazy_and_the_public_api_still_resolves() -> None:
    mods, _ = _modules_after("import hubindex")
    assert not mods & set(HEAVY)
    import hubindex

    assert hubindex.__all__ == ["build", "Pipeline", "default_pipeline", "as_spec", "default_spec_path", "load_spec", "spec_from_dict", "from_coinr",
                                "IndexSpec", "Result", "HubindexError", "SpecError", "DataError", "ComputeError",
                                "StoreError"]
    from hubindex.api import build
    from hubindex.engine.result import Result

    assert hubindex.build is build and hubindex.Result is Result
    assert all(callable(getattr(hubindex, n)) for n in hubindex.__all__)
    assert set(hubindex.__all__) <= set(dir(hubindex))
    assert hubindex.spec.ImputeStep is not None  # submodules the eager package loaded still resolve
    with pytest.raises(AttributeError, match="no_such_name"):
        hubindex.no_such_name  # noqa: B018


def test_lazy_command_table_matches_the_mounted_commands() -> None:
    """``_LAZY_COMMANDS`` (what --help lists without importing) names every command the packages define, in the
    order and with the help text the fully mounted app shows."""
    import typer

    from hubindex import cli

    cli._mount()
    mounted = typer.main.get_command(cli.app).commands  # type: ignore[attr-defined]
    own = [n for n in mounted if n not in cli._LAZY_COMMANDS]
    assert own == ["build"]
    assert [n for n in mounted if n in cli._LAZY_COMMANDS] == list(cli._LAZY_COMMANDS)
    for name, (module, help_text) in cli._LAZY_COMMANDS.items():
        assert mounted[name].help == help_text, f"update _LAZY_COMMANDS[{name!r}] in hubindex/cli.py"
        assert mounted[name].callback is not None or hasattr(mounted[name], "commands")
        assert module in {m for m, _, _ in cli._SUBCOMMANDS}


def test_lazy_help_screen_equals_the_mounted_one() -> None:
    lazy = subprocess.run([sys.executable, "-c", "from hubindex.cli import main; main(['--help'])"],
                          capture_output=True, text=True, check=True, timeout=120).stdout
    eager = subprocess.run([sys.executable, "-c", "from hubindex.cli import _mount, main; _mount(); main(['--help'])"],
                           capture_output=True, text=True, check=True, timeout=120).stdout
    assert lazy == eager and "what-it-takes" in lazy and "edition" in lazy


def test_a_typo_still_suggests_a_lazily_loaded_command() -> None:
    p = subprocess.run([sys.executable, "-c", "import sys; from hubindex.cli import main; sys.exit(main(['exprot']))"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "No such command 'exprot'" in p.stderr and "'export'" in p.stderr
