"""`decay`: runs of one preset, to its end, with several weight decays and seeds.

AdamW's decoupled weight decay shrinks every matrix by (1 - lr * decay) per step, so the runs
end with different weight scales at similar validation loss. Each run is stored as its own
model (a few checkpoints of it), analysed like the demo (paths in both bands and one-hop, each
beside its shuffle null), and compared at the last step: does E order the runs by quality or by
scale? The validity table's across-runs correlation answers for every quantity at once.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from neuromfa.base.errors import ConfigError, param
from neuromfa.base.limits import MAX_SEED, check_neurons, check_range, check_samples, check_workers
from neuromfa.experiments.runs import ANALYSES, OutcomeFn, StepTable, analyse, step_table
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.results.validity import ValidityReport, validity_table
from neuromfa.store.connection import Store
from neuromfa.training.presets import Preset, checkpoint_steps, get_preset
from neuromfa.training.train_example import MAX_WEIGHT_DECAY, RunInfo, train_example

DEFAULT_OUT = Path("neuromfa-experiments") / "decay"
DECAYS = (0.0, 0.1, 1.0)
SEEDS = (0, 1)
STEPS = (0, 128, 512, 1000)  # checkpoints stored per run: the reference, two on the way, the end
MAX_RUNS = 64  # decays x seeds: each is a whole training run


class DecayRun(BaseModel):
    """One training run and the model it is stored as."""

    model: str
    weight_decay: float
    seed: int
    out_dir: Path
    cached: bool
    seconds: float


class DecayReport(BaseModel):
    runs: list[DecayRun]
    steps: list[int]
    tables: list[StepTable]  # per analysis and run
    final: list[dict[str, Any]]  # per analysis and run: the last step's row with its decay and seed
    validity: ValidityReport
    seconds: dict[str, float]


def run_name(info: RunInfo, weight_decay: float) -> str:
    """The model of a run: its preset, decay and seed, and its key (another corpus or preset
    of the same name is another model)."""
    return f"decay-{info.preset}-wd{weight_decay:g}-s{info.seed}-{info.key[:6]}"


def _train_one(out_dir: str, preset: Preset, seed: int, weight_decay: float) -> RunInfo:
    """One run, in a pool process (top level: it is pickled)."""
    return train_example(out_dir, preset=preset, seed=seed, weight_decay=weight_decay)


def check_decay(preset: str | Preset, decays: Sequence[float], seeds: Sequence[int], steps: Sequence[int]) -> Preset:
    """The grid and the stored steps, before anything trains; returns the preset."""
    spec = get_preset(preset)
    if not decays or not seeds:
        raise ConfigError("give at least one weight decay and one seed", f"e.g. {param('decays', '0,0.1,1')}", param="decays")
    for wd in decays:
        if isinstance(wd, bool) or not (isinstance(wd, int | float) and math.isfinite(wd) and 0 <= wd <= MAX_WEIGHT_DECAY):
            raise ConfigError(f"{param('decays')}: weight decay {wd!r} is not a number from 0 to {MAX_WEIGHT_DECAY:g}",
                              f"e.g. {param('decays', '0,0.1,1')}", param="decays")
    for seed in seeds:
        check_range("seeds", seed, 0, MAX_SEED - 1)
    if len(set(decays)) < len(decays) or len(set(seeds)) < len(seeds):
        raise ConfigError(f"{param('decays')} and {param('seeds')}: give each value once", param="decays")
    if len(decays) * len(seeds) > MAX_RUNS:
        raise ConfigError(f"{len(decays)} decays x {len(seeds)} seeds are {len(decays) * len(seeds)} training runs, "
                          f"more than {MAX_RUNS}", f"give fewer {param('decays')} or {param('seeds')}", param="decays")
    schedule = checkpoint_steps(spec.steps, spec.log_until, spec.every)
    wanted = sorted(set(steps))
    if not wanted or any(s not in schedule for s in wanted):
        raise ConfigError(f"{param('steps')} {', '.join(map(str, wanted)) or '(none)'}: not all are checkpoints of the "
                          f"{spec.name} preset", f"choose among {', '.join(map(str, schedule))}", param="steps")
    return spec


def run_decay(
    store: Store,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    preset: str | Preset = "tiny",
    decays: Sequence[float] = DECAYS,
    seeds: Sequence[int] = SEEDS,
    steps: Sequence[int] = STEPS,
    samples: int = 2,
    k: int = 32,
    workers: int = 2,
    stage: Callable[[str], None] = lambda _: None,
    on_run: Callable[[DecayRun], None] | None = None,
    on_graph: Callable[[str, bool], None] | None = None,
    on_outcome: OutcomeFn | None = None,
) -> DecayReport:
    """Train (or reuse) one run per (decay, seed) in ``out_dir``, ``workers`` at a time, store
    ``steps`` of each as its own model, analyse and tabulate them (module docstring)."""
    spec = check_decay(preset, decays, seeds, steps)
    check_samples(samples)
    check_neurons(k)
    check_workers(workers)
    wanted = sorted(set(steps))
    seconds: dict[str, float] = {}
    grid = [(float(wd), int(seed)) for wd in decays for seed in seeds]

    t = time.perf_counter()
    stage(f"training {len(grid)} runs of the {spec.name} preset (weight decays {', '.join(f'{wd:g}' for wd, _ in grid[::len(seeds)])}; "
          f"seeds {', '.join(map(str, seeds))}), {min(workers, len(grid))} at a time (cached in {out_dir})")
    runs = _train_all(Path(out_dir), spec, grid, workers, on_run)
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    stage(f"ingesting steps {', '.join(map(str, wanted))} x {samples} samples of each run")
    for run in runs:
        for step in wanted:
            ingest_path(store, run.out_dir, name=run.model, step=step, samples=samples, k=k, on_graph=on_graph)
    seconds["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    stage(f"analysing {len(runs)} models: " + "; ".join(f"{name} ({p.mode} mode, {p.band} band)" for name, p in ANALYSES)
          + f", each graph beside {ANALYSES[0][1].null_samples} {ANALYSES[0][1].null} null draws")
    analyse(store, [r.model for r in runs], ANALYSES, workers=workers, on_outcome=on_outcome)
    tables: list[StepTable] = []
    final: list[dict[str, Any]] = []
    for name, params in ANALYSES:
        for run in runs:
            table = step_table(store, run.model, name, params)
            tables.append(table)
            final.append({"analysis": name, "weight_decay": run.weight_decay, "seed": run.seed, **table.rows[-1]})
    seconds["analyse"] = time.perf_counter() - t
    t = time.perf_counter()
    validity = validity_table(store, [r.model for r in runs])
    seconds["validity"] = time.perf_counter() - t
    return DecayReport(runs=runs, steps=wanted, tables=tables, final=final, validity=validity,
                       seconds={name: round(v, 1) for name, v in seconds.items()})


def _train_all(out: Path, spec: Preset, grid: list[tuple[float, int]], workers: int,
               on_run: Callable[[DecayRun], None] | None) -> list[DecayRun]:
    """Every run of the grid, ``workers`` processes at a time (each keeps the preset's threads)."""
    done: dict[tuple[float, int], DecayRun] = {}

    def record(key: tuple[float, int], info: RunInfo) -> None:
        done[key] = run = DecayRun(model=run_name(info, key[0]), weight_decay=key[0], seed=key[1],
                                   out_dir=info.out_dir, cached=info.cached, seconds=round(info.seconds, 1))
        if on_run:
            on_run(run)

    dirs = {key: out / f"{spec.name}-wd{key[0]:g}-seed{key[1]}" for key in grid}
    if workers == 1 or len(grid) == 1:
        for key in grid:
            record(key, _train_one(str(dirs[key]), spec, key[1], key[0]))
    else:
        # spawn: a fresh interpreter per process, no forked torch or database state
        with ProcessPoolExecutor(max_workers=min(workers, len(grid)), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_train_one, str(dirs[key]), spec, key[1], key[0]): key for key in grid}
            for fut in as_completed(futures):
                record(futures[fut], fut.result())
    return [done[key] for key in grid]
