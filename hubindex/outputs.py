"""Write a build's outputs to a folder, atomically (temp folder + rename): nothing half-written on failure."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from hubindex.engine.result import Result
from hubindex.outdir import atomic_dir

__all__ = ["write_build_outputs"]


def write_build_outputs(result: Result, out: Path, extra_files: Mapping[str, Path] | None = None) -> list[str]:
    """Write scores.csv, ranks.csv, ranking.csv, run.json, weights.csv, flags and step reports into ``out``.

    ``scores.csv``/``ranks.csv``: one row per unit, column ``unit`` then one column per framework node
    (normalised value for indicators, aggregated score for aggregates). Returns the written file names.
    """
    written: list[str] = []
    with atomic_dir(Path(out), "build") as tmp:
        def csv(df, name: str, index: bool = True) -> None:  # type: ignore[no-untyped-def]
            df.to_csv(tmp / name, index=index)
            written.append(name)

        csv(result.scores, "scores.csv")
        csv(result.ranks.astype("Int64"), "ranks.csv")
        csv(result.ranking(), "ranking.csv", index=False)
        csv(result.weights, "weights.csv")
        csv(result.imputed, "imputed.csv")
        csv(result.treat_flags, "treat_flags.csv")
        (tmp / "reports").mkdir()
        for name, rep in result.reports.items():
            csv(rep, f"reports/{name}.csv")
        (tmp / "datasets").mkdir()
        for name, d in result.datasets.items():
            csv(d, f"datasets/{name}.csv")
        (tmp / "run.json").write_text(json.dumps(dict(result.run_record), indent=2, sort_keys=True) + "\n")
        written.append("run.json")
        for name, src in (extra_files or {}).items():
            shutil.copyfile(src, tmp / name)
            written.append(name)
    return written
