"""Continue an example run's checkpoint on a corrupted training corpus, with checkpoints.

The degrade experiment's training: the model goes on learning, but from bytes that carry no
(``random``) or less (``shuffle``) of the code's structure, while every checkpoint's validation
loss is still measured on the real corpus's held-out files, so it rises. Checkpoints are numbered
on from the base step (``step{base + n}``), so that the continued run and its base form one
training history. Layout of ``out_dir``: ``run.json`` (base, spec, status, key) and ``stepN/``
transformers folders with their ``metrics.json``.

A continued run is a pure function of (base checkpoint, spec, corpus): the corruption and the
batches are seeded, threads are fixed and deterministic algorithms are on. A complete run with
the same key is reused; anything else in ``out_dir`` that this module wrote is redone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from neuromfa.base.errors import ConfigError, NotFoundError, param
from neuromfa.training.corpus import Corpus, load_corpus
from neuromfa.training.metrics_file import METRICS_FILE
from neuromfa.training.presets import Preset
from neuromfa.training.train_example import (
    CheckpointInfo,
    ProgressFn,
    RunInfo,
    TrainProgress,
    _deterministic_torch,
    _loss,
    _quiet_transformers,
    _read_run_json,
    _save_checkpoint,
    _step_dirs,
    _train_batch,
    _write_json,
    checkpoint_dir,
    evaluate,
    load_run,
    validation_batches,
)

FORMAT_VERSION = 1
RUN_FILE = "run.json"
MAX_CONTINUE_STEPS = 100_000  # optimizer steps of one continued run (each costs a training step)

Corruption = Literal["shuffle", "random"]
CORRUPTIONS: tuple[Corruption, ...] = ("random", "shuffle")


class ContinueSpec(BaseModel):
    """How the run goes on: the corruption, its length, its learning rate. Part of the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    corruption: Corruption = "random"
    steps: int = Field(256, gt=0, le=MAX_CONTINUE_STEPS, description="optimizer steps after the base checkpoint")
    lr: float = Field(3e-4, gt=0, le=1.0, description="constant after the warm-up (3e-4: where the tiny run ended)")
    warmup: int = Field(10, ge=0, description="linear warm-up steps (the optimizer state starts fresh)")
    first: int = Field(4, gt=0, description="checkpoints at base + 0, first, 2 first, 4 first, ..., steps")
    seed: int = Field(0, ge=0, description="seed of the corruption and of the batches")


class ContinuedRun(BaseModel):
    """A finished continued run: its checkpoints (absolute steps), on top of ``base_dir``."""

    out_dir: Path
    base_dir: Path
    base_step: int
    spec: ContinueSpec
    preset: Preset
    steps: list[int]
    checkpoints: list[CheckpointInfo]
    key: str
    cached: bool = False
    seconds: float = 0.0


def corrupt(stream: np.ndarray, corruption: Corruption, seed: int) -> np.ndarray:
    """The training stream made useless for the real task: ``shuffle`` permutes its tokens (the
    byte frequencies stay, every context is gone); ``random`` draws uniform bytes 0..255."""
    rng = np.random.default_rng([seed, 0xC0])
    if corruption == "shuffle":
        return rng.permutation(stream)
    if corruption == "random":
        return rng.integers(0, 256, size=len(stream)).astype(np.uint16)
    raise ConfigError(f"unknown corruption {corruption!r}", f"choose one of {', '.join(CORRUPTIONS)}", param="corruption")


def continue_steps(spec: ContinueSpec) -> list[int]:
    """Checkpoint offsets: 0, first, 2 first, 4 first, ... below steps, and steps."""
    offsets, n = {0, spec.steps}, spec.first
    while n < spec.steps:
        offsets.add(n)
        n *= 2
    return sorted(offsets)


def _key(base: RunInfo, base_step: int, spec: ContinueSpec) -> str:
    payload = {"version": FORMAT_VERSION, "base": base.key, "base_step": base_step, "spec": spec.model_dump()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _base_corpus(base: RunInfo, preset: Preset) -> Corpus:
    root = None if base.corpus.kind == "stdlib" else base.corpus.root
    data = load_corpus(root, max_train_bytes=preset.train_bytes, max_val_bytes=preset.val_bytes,
                       min_tokens=preset.context + 2)
    if data.info.fingerprint != base.corpus.fingerprint:
        raise ConfigError(f"the corpus of the run in {base.out_dir} has changed since it was trained ({data.info.root})",
                          "retrain the base run on the corpus as it is now")
    return data


def load_continued(out_dir: str | Path) -> ContinuedRun:
    """The complete continued run in ``out_dir``; NotFoundError if there is none."""
    out_dir = Path(out_dir)
    data = _read_run_json(out_dir)
    if data is None or data.get("status") != "complete" or data.get("kind") != "continued":
        raise NotFoundError(f"no complete continued run in {out_dir}", "run the degrade experiment to make one")
    checkpoints = []
    for step in data["steps"]:
        path = checkpoint_dir(out_dir, step)
        metrics_path = path / METRICS_FILE
        if not metrics_path.is_file() or not (path / "model.safetensors").is_file():
            raise NotFoundError(f"checkpoint {path} of the continued run is missing", "run the degrade experiment again")
        checkpoints.append(CheckpointInfo(step=step, path=path, **json.loads(metrics_path.read_text())))
    return ContinuedRun(out_dir=out_dir, base_dir=Path(data["base_dir"]), base_step=data["base_step"],
                        spec=ContinueSpec(**data["spec"]), preset=Preset(**data["preset"]), steps=data["steps"],
                        checkpoints=checkpoints, key=data["key"], cached=True)


def _clear(out_dir: Path) -> None:
    """Remove what an earlier continued run left (only names this module writes)."""
    for path in _step_dirs(out_dir).values():
        shutil.rmtree(path)
    for child in out_dir.iterdir():
        if child.name.startswith(".step") and child.name.endswith(".tmp"):
            shutil.rmtree(child, ignore_errors=True)
    (out_dir / RUN_FILE).unlink(missing_ok=True)


def continue_training(base_dir: str | Path, out_dir: str | Path, spec: ContinueSpec | None = None, *,
                      base_step: int | None = None, progress: ProgressFn | None = None) -> ContinuedRun:
    """Continue the complete example run in ``base_dir`` from its checkpoint ``base_step``
    (default: its last) on the corrupted corpus ``spec`` names, into ``out_dir``; validation
    stays on the real corpus. A complete run with the same key in ``out_dir`` is reused."""
    t0 = time.perf_counter()
    spec = spec or ContinueSpec()
    base = load_run(base_dir)
    step0 = base.steps[-1] if base_step is None else base_step
    if step0 not in base.steps:
        raise ConfigError(f"the run in {base.out_dir} has no checkpoint at step {step0}",
                          f"choose one of its steps ({', '.join(map(str, base.steps))})", param="base_step")
    preset = Preset(**base.config["preset"])
    key = _key(base, step0, spec)
    out_dir = Path(out_dir).expanduser()
    if out_dir.resolve() == base.out_dir.resolve():
        raise ConfigError(f"the continued run cannot be written into its base run {base.out_dir}",
                          f"choose another output folder ({param('out_dir')})", param="out_dir")
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} exists and is not a folder", "choose another output folder", param="out_dir")
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_run_json(out_dir)
    if previous is not None and previous.get("key") == key and previous.get("status") == "complete":
        try:
            run = load_continued(out_dir)
        except NotFoundError:
            pass
        else:
            if progress:
                progress(TrainProgress(step=spec.steps, total=spec.steps, phase="cached"))
            return run.model_copy(update={"seconds": time.perf_counter() - t0})
    if previous is not None and previous.get("kind") != "continued":
        raise ConfigError(f"{out_dir} holds another kind of run", "choose another output folder", param="out_dir")
    if previous is None and _step_dirs(out_dir):
        raise ConfigError(f"{out_dir} holds step*/ folders that no continued run recorded",
                          "choose another output folder", param="out_dir")
    _clear(out_dir)
    steps = [step0 + n for n in continue_steps(spec)]
    record = {"format_version": FORMAT_VERSION, "kind": "continued", "status": "running", "key": key,
              "base_dir": str(base.out_dir.resolve()), "base_key": base.key, "base_step": step0,
              "spec": spec.model_dump(), "preset": preset.model_dump(), "steps": steps}
    _write_json(out_dir / RUN_FILE, record)
    _continue(base.checkpoint_dir(step0), out_dir, preset, _base_corpus(base, preset), spec, step0, steps, progress)
    record["status"] = "complete"
    _write_json(out_dir / RUN_FILE, record)
    if progress:
        progress(TrainProgress(step=spec.steps, total=spec.steps, phase="done"))
    run = load_continued(out_dir)
    return run.model_copy(update={"cached": False, "seconds": time.perf_counter() - t0})


def _continue(start: Path, out_dir: Path, preset: Preset, data: Corpus, spec: ContinueSpec, step0: int,
              steps: list[int], progress: ProgressFn | None) -> None:
    from transformers import GPTNeoXForCausalLM

    corrupted = Corpus(info=data.info, train=corrupt(data.train, spec.corruption, spec.seed), val=data.val)
    schedule = set(steps)
    with _deterministic_torch(preset.threads, spec.seed), _quiet_transformers():
        model = GPTNeoXForCausalLM.from_pretrained(start, local_files_only=True, dtype=torch.float32)
        model.train()
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        # a fresh optimizer (the base run keeps no state once complete), hence the warm-up
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": preset.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=spec.lr, betas=(0.9, 0.95),
        )
        val = validation_batches(data, preset)  # the real corpus: quality as the task defines it
        for n in range(spec.steps + 1):
            step = step0 + n
            if step in schedule:
                metrics = evaluate(model, val)
                _save_checkpoint(model, out_dir, step, metrics)
                if progress:
                    progress(TrainProgress(step=n, total=spec.steps, phase="checkpoint", val_loss=metrics["val_loss"]))
            if n == spec.steps:
                break
            lr = spec.lr * min(1.0, (n + 1) / spec.warmup) if spec.warmup else spec.lr
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, _ = _loss(model, _train_batch(corrupted, preset, spec.seed, step))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), preset.grad_clip)
            optimizer.step()
            if progress:
                progress(TrainProgress(step=n + 1, total=spec.steps, phase="train"))
