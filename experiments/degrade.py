"""`degrade`: the paper's falling-performance experiment, offline.

The demo's final checkpoint (the tiny preset, trained when absent, cached) goes on training on a
corrupted corpus (random or shuffled bytes) with checkpoints, while its validation loss is still
measured on the real corpus, so it rises. Its history (the demo run's checkpoints, then the
continued ones) is stored as one model whose steps go on, analysed like the demo (paths in both
bands and one-hop, each beside its shuffle null), and tabulated: does E fall as quality falls?
Does the weight RMS? Does E_struct? The validity table answers for every quantity at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from neuromfa.base.errors import ConfigError, NotFoundError, param
from neuromfa.base.limits import check_neurons, check_range, check_samples, check_workers
from neuromfa.experiments.runs import ANALYSES, OutcomeFn, StepTable, analyse, step_table
from neuromfa.ingest.pipeline import ingest_path
from neuromfa.results.validity import ValidityReport, validity_table
from neuromfa.store.connection import Store
from neuromfa.training.continue_run import CORRUPTIONS, MAX_CONTINUE_STEPS, ContinueSpec, Corruption, continue_training
from neuromfa.training.presets import Preset, get_preset
from neuromfa.training.train_example import ProgressFn, load_run, train_example

DEFAULT_BASE = Path("neuromfa-demo") / "run"  # where `neuromfa demo` trains: a demo run is reused
DEFAULT_OUT = Path("neuromfa-experiments") / "degrade"


class DegradeReport(BaseModel):
    model: str
    base_dir: Path
    run_dir: Path
    base_step: int
    corruption: str
    steps: list[int]
    tables: list[StepTable]
    validity: ValidityReport
    seconds: dict[str, float]


def check_degrade(corruption: str, corrupt_steps: int, lr: float | None) -> None:
    """The continued run's own parameters, before anything trains."""
    if corruption not in CORRUPTIONS:
        raise ConfigError(f"{param('corruption')} {corruption!r} is not one of {', '.join(CORRUPTIONS)}",
                          f"e.g. {param('corruption', 'random')}", param="corruption")
    check_range("corrupt_steps", corrupt_steps, 1, MAX_CONTINUE_STEPS)
    if lr is not None and not (isinstance(lr, int | float) and 0 < lr <= 1):
        raise ConfigError(f"{param('lr')} must be a learning rate in (0, 1], got {lr!r}", param="lr")


def run_degrade(
    store: Store,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    base: str | Path = DEFAULT_BASE,
    preset: str | Preset = "tiny",  # of the base run, when it is trained here
    corruption: Corruption = "random",
    corrupt_steps: int = 256,
    lr: float | None = None,
    samples: int = 3,
    k: int = 32,
    workers: int = 2,
    stage: Callable[[str], None] = lambda _: None,
    train_progress: ProgressFn | None = None,
    on_graph: Callable[[str, bool], None] | None = None,
    on_outcome: OutcomeFn | None = None,
) -> DegradeReport:
    """Train (or reuse) the base run and its corrupted continuation in ``out_dir``, store both as
    one model, analyse it and tabulate it (module docstring)."""
    check_degrade(corruption, corrupt_steps, lr)
    check_samples(samples)
    check_neurons(k)
    check_workers(workers)
    spec_base = get_preset(preset)
    spec = ContinueSpec(corruption=corruption, steps=corrupt_steps, **({} if lr is None else {"lr": lr}))
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    try:  # a complete run in ``base`` is the base, whatever its preset
        base_run = load_run(base)
    except NotFoundError:
        stage(f"training the {spec_base.name} preset's run into {base}")
        base_run = train_example(base, preset=spec_base, progress=train_progress)
    seconds["train base"] = time.perf_counter() - t

    t = time.perf_counter()
    run_dir = Path(out_dir) / f"{base_run.preset}-{corruption}"
    stage(f"continuing step {base_run.steps[-1]} for {corrupt_steps} steps on {corruption} bytes (cached in {run_dir})")
    cont = continue_training(base_run.out_dir, run_dir, spec, progress=train_progress)
    seconds["train corrupted"] = time.perf_counter() - t
    # the run's key in the name: another base, length or learning rate is another model
    model = f"degrade-{base_run.preset}-{corruption}-{cont.key[:6]}"

    t = time.perf_counter()
    history = base_run.steps + [s for s in cont.steps if s not in base_run.steps]
    stage(f"ingesting {len(history)} checkpoints x {samples} samples as model {model!r}")
    ingest_path(store, base_run.out_dir, name=model, samples=samples, k=k, on_graph=on_graph)
    # the continued run's first checkpoint is the base's last one again: already stored
    ingest_path(store, cont.out_dir, name=model, samples=samples, k=k, on_graph=on_graph)
    seconds["ingest"] = time.perf_counter() - t

    t = time.perf_counter()
    stage(f"analysing model {model!r}: " + "; ".join(f"{name} ({p.mode} mode, {p.band} band)" for name, p in ANALYSES)
          + f", each graph beside {ANALYSES[0][1].null_samples} {ANALYSES[0][1].null} null draws")
    analyse(store, [model], ANALYSES, workers=workers, on_outcome=on_outcome)
    tables = [step_table(store, model, name, params) for name, params in ANALYSES]
    seconds["analyse"] = time.perf_counter() - t
    t = time.perf_counter()
    validity = validity_table(store, [model])
    seconds["validity"] = time.perf_counter() - t
    return DegradeReport(model=model, base_dir=base_run.out_dir, run_dir=cont.out_dir, base_step=cont.base_step,
                         corruption=corruption, steps=history, tables=tables, validity=validity,
                         seconds={name: round(v, 1) for name, v in seconds.items()})
