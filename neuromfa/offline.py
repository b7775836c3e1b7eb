"""Analysis straight from files, with no database: `neuromfa analyze PATH --no-db`.

Every checkpoint under ``path`` (one model or a training run) is sampled as ingest samples it
(same draws, same graph ids under ``name``, so the same null seeds) and analysed in process with
the engine; the rows are the ``results`` table (results/tables.py), equal to those of
ingest + analyze + results of the same files, parameters and name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from neuromfa.ingest.checkpoints import discover_checkpoints
from neuromfa.ingest.readers import open_model
from neuromfa.integrations.live import LiveAnalyzer, result_row
from neuromfa.results.tables import results_table
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import Topology

_UNSAFE = re.compile(r"[^A-Za-z0-9._:+-]")


def default_name(path: str | Path) -> str:
    """A model name from the folder or file name (what ingest would be given), else "offline"."""
    stem = _UNSAFE.sub("-", Path(path).expanduser().resolve().name)[:100].lstrip("._:+-")
    return stem or "offline"


def analyze_files(path: str | Path, *, name: str | None = None, steps: Sequence[int] | None = None,
                  samples: int | Sequence[int] = 10, k: int = 32, seed_base: int = 0,
                  topology: Topology = "reference", params: AnalysisParams | None = None, timings: bool = False,
                  on_checkpoint: Callable[[int, int], None] | None = None, **values: Any) -> pd.DataFrame:
    """The results table (one row per checkpoint x sample) of the checkpoints under ``path``
    (``steps``: only those), analysed in process. Sampling as ingest's (samples, k,
    seed_base, topology; ``name`` defaults to the file or folder name), parameters as
    analyze's (``params`` or its fields as keywords; mode None = layered). ``on_checkpoint(i, n)`` after each checkpoint."""
    analyzer = LiveAnalyzer(name=name or default_name(path), samples=samples, k=k, seed_base=seed_base,
                            topology=topology, params=params, **values)
    refs = discover_checkpoints(path) if not steps else [r for s in sorted(set(steps)) for r in discover_checkpoints(path, step=s)]
    rows = []
    for i, ref in enumerate(refs):
        with open_model(ref.path) as source:
            rows += [result_row(a) for a in analyzer.analyse(source, ref.step)]
        if on_checkpoint:
            on_checkpoint(i + 1, len(refs))
    raw = pd.DataFrame(rows).sort_values(["step", "sample"]).reset_index(drop=True)
    return results_table(raw, timings=timings)
