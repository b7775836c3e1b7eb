"""Train a small GPT-NeoX language model from scratch, offline, with Pythia-style checkpoints.

Layout of ``out_dir``::

    run.json            preset, seed, corpus, schedule, status ("running" | "complete"), key
    step0/ step1/ ...   transformers directories (config.json, model.safetensors) + metrics.json
    .resume.pt          model + optimizer state at the last checkpoint (removed when complete)

A checkpoint is written to ``.stepN.tmp`` and renamed, so a ``stepN/`` directory is always
complete. A run is a pure function of (preset, seed, corpus): the batch of step t depends only
on (seed, t), there is no dropout, the threads are fixed and deterministic algorithms are on,
so an interrupted run resumes from its last checkpoint to the very same weights.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from neuromfa.base.errors import ConfigError, NotFoundError, action, param
from neuromfa.training.corpus import EOS_ID, PAD_ID, VOCAB_SIZE, Corpus, CorpusInfo, load_corpus
from neuromfa.training.metrics_file import METRICS_FILE
from neuromfa.training.presets import Preset, checkpoint_steps, get_preset

if TYPE_CHECKING:
    from transformers import GPTNeoXConfig, PreTrainedModel

FORMAT_VERSION = 1
RUN_FILE = "run.json"
RESUME_FILE = ".resume.pt"
_STEP_DIR = re.compile(r"^step(\d+)$")
# AdamW multiplies each matrix by (1 - lr * decay) per step: past this the weights are gone in a few steps
MAX_WEIGHT_DECAY = 100.0


class TrainProgress(BaseModel):
    """One progress report: ``step`` of ``total`` optimizer steps done."""

    step: int
    total: int
    phase: Literal["train", "checkpoint", "cached", "done"]
    val_loss: float | None = None


ProgressFn = Callable[[TrainProgress], None]
# Called as hook(step, model) once per step, where a checkpoint of that step would be saved
# (before the step's update; the last step too): e.g. neuromfa.integrations.LiveMFA
StepHook = Callable[[int, "PreTrainedModel"], object]


class CheckpointInfo(BaseModel):
    step: int
    path: Path
    val_loss: float
    token_accuracy: float


class RunInfo(BaseModel):
    """A finished example run (what run.json holds, plus where it lies)."""

    model_config = ConfigDict(extra="ignore")

    out_dir: Path
    preset: str
    seed: int
    total_steps: int
    steps: list[int]
    checkpoints: list[CheckpointInfo]
    corpus: CorpusInfo
    config: dict[str, Any]
    key: str
    cached: bool = False
    seconds: float = 0.0

    def checkpoint_dir(self, step: int) -> Path:
        return checkpoint_dir(self.out_dir, step)


def checkpoint_dir(out_dir: str | Path, step: int) -> Path:
    return Path(out_dir) / f"step{step}"


def model_config(preset: Preset) -> GPTNeoXConfig:
    """The GPTNeoXConfig of a preset (byte-level vocabulary, no dropout, std 0.02 init)."""
    from transformers import GPTNeoXConfig

    return GPTNeoXConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=preset.hidden,
        num_hidden_layers=preset.blocks,
        num_attention_heads=preset.heads,
        intermediate_size=4 * preset.hidden,
        max_position_embeddings=preset.context,
        initializer_range=0.02,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        tie_word_embeddings=False,
        use_parallel_residual=True,
        bos_token_id=EOS_ID,
        eos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
        use_cache=False,
    )


def _run_key(preset: Preset, seed: int, corpus: CorpusInfo) -> str:
    payload = {
        "version": FORMAT_VERSION,
        "preset": preset.model_dump(),
        "seed": seed,
        "corpus": corpus.fingerprint,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _deterministic_torch(threads: int, seed: int) -> Iterator[None]:
    """Fixed threads, deterministic algorithms and a seeded RNG, restored afterwards so the
    caller's process is left as it was."""
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.set_num_threads(prev_threads)


def _lr_at(preset: Preset, step: int) -> float:
    """Linear warm-up, then cosine decay to lr/10 at the last step."""
    if preset.warmup and step < preset.warmup:
        return preset.lr * (step + 1) / preset.warmup
    span = max(1, preset.steps - preset.warmup)
    progress = min(1.0, (step - preset.warmup) / span)
    return preset.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _windows(stream: np.ndarray, starts: np.ndarray, length: int) -> torch.Tensor:
    idx = starts[:, None] + np.arange(length)[None, :]
    return torch.from_numpy(stream[idx].astype(np.int64))


def _train_batch(corpus: Corpus, preset: Preset, seed: int, step: int) -> torch.Tensor:
    """The batch of one step: a function of (seed, step) only, so a resumed run sees the same."""
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, len(corpus.train) - preset.context, size=preset.batch)
    return _windows(corpus.train, starts, preset.context + 1)


def validation_batches(corpus: Corpus, preset: Preset) -> list[torch.Tensor]:
    """Fixed validation windows, evenly spread over the validation stream."""
    n = preset.val_batches * preset.batch
    starts = np.linspace(0, len(corpus.val) - preset.context - 1, n).round().astype(np.int64)
    windows = _windows(corpus.val, starts, preset.context + 1)
    return list(torch.split(windows, preset.batch))


def _loss(model: PreTrainedModel, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(input_ids=batch[:, :-1]).logits
    targets = batch[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return loss, logits


@torch.no_grad()
def evaluate(model: PreTrainedModel, batches: list[torch.Tensor]) -> dict[str, float]:
    """Mean next-token cross-entropy (nats/token) and top-1 accuracy over the batches."""
    was_training = model.training
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for batch in batches:
        loss, logits = _loss(model, batch)
        n = batch[:, 1:].numel()
        loss_sum += float(loss) * n
        correct += int((logits.argmax(-1) == batch[:, 1:]).sum())
        count += n
    model.train(was_training)
    return {"val_loss": loss_sum / count, "token_accuracy": correct / count}


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers draws a progress bar per saved shard; the caller draws its own."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _save_checkpoint(model: PreTrainedModel, out_dir: Path, step: int, metrics: dict[str, float]) -> Path:
    final = checkpoint_dir(out_dir, step)
    tmp = out_dir / f".step{step}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    with _quiet_transformers():
        model.save_pretrained(tmp)
    (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def _save_resume(model: PreTrainedModel, optimizer: torch.optim.Optimizer, out_dir: Path, step: int, key: str) -> None:
    tmp = out_dir / (RESUME_FILE + ".tmp")
    torch.save({"step": step, "key": key, "model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp)
    os.replace(tmp, out_dir / RESUME_FILE)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _step_dirs(out_dir: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for child in out_dir.iterdir():
        m = _STEP_DIR.match(child.name)
        if m and child.is_dir():
            found[int(m.group(1))] = child
    return found


def _is_complete_checkpoint(path: Path) -> bool:
    return (path / METRICS_FILE).is_file() and (path / "model.safetensors").is_file() and (
        path / "config.json"
    ).is_file()


def _clear_run(out_dir: Path) -> None:
    """Remove what a previous run left (only names this module writes)."""
    for path in _step_dirs(out_dir).values():
        shutil.rmtree(path)
    for child in out_dir.iterdir():
        if child.name.startswith(".step") and child.name.endswith(".tmp"):
            shutil.rmtree(child, ignore_errors=True)
    for name in (RESUME_FILE, RESUME_FILE + ".tmp", RUN_FILE, RUN_FILE + ".tmp"):
        (out_dir / name).unlink(missing_ok=True)


def _read_run_json(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / RUN_FILE
    if not path.is_file():
        return None
    try:
        run: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # a torn file from a killed writer: treat as no run
    return run


def load_run(out_dir: str | Path) -> RunInfo:
    """The complete run in ``out_dir``; NotFoundError if there is none (or it is incomplete)."""
    out_dir = Path(out_dir)
    data = _read_run_json(out_dir)
    hint = f"train it first ({action('train_example', out_dir=str(out_dir))})"
    if data is None:
        raise NotFoundError(f"no example run in {out_dir}", hint)
    if data.get("status") != "complete":
        raise NotFoundError(f"the example run in {out_dir} is not complete", hint)
    checkpoints = []
    for step in data["steps"]:
        path = checkpoint_dir(out_dir, step)
        if not _is_complete_checkpoint(path):
            raise NotFoundError(f"checkpoint {path} of the example run is missing", hint)
        metrics = json.loads((path / METRICS_FILE).read_text())
        checkpoints.append(CheckpointInfo(step=step, path=path, **metrics))
    return RunInfo(out_dir=out_dir, checkpoints=checkpoints, cached=True, **data)


def train_example(
    out_dir: str | Path,
    preset: str | Preset = "tiny",
    corpus: str | Path | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
    overwrite: bool = False,
    weight_decay: float | None = None,
    on_step: StepHook | None = None,
) -> RunInfo:
    """Train (or reuse) an example run in ``out_dir`` and return its description.

    ``preset`` is a preset's name or a Preset of one's own; ``weight_decay`` overrides the
    preset's (AdamW's decoupled decay of the matrices), which makes it another run. A complete
    run with the same preset, seed and corpus is reused as is; an interrupted one is resumed from
    its last checkpoint. A different run in ``out_dir`` is an error unless ``overwrite``.
    ``on_step(step, model)`` runs at every step trained here (not for a reused run; a resumed
    run from its last checkpoint on), where that step's checkpoint is saved.
    """
    t0 = time.perf_counter()
    spec = with_weight_decay(get_preset(preset), weight_decay)
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    data = load_corpus(
        corpus, max_train_bytes=spec.train_bytes, max_val_bytes=spec.val_bytes, min_tokens=spec.context + 2
    )
    key = _run_key(spec, seed, data.info)
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} exists and is not a folder", "choose another output folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = checkpoint_steps(spec.steps, spec.log_until, spec.every)

    previous = _read_run_json(out_dir)
    if previous is not None and previous.get("key") != key:
        if not overwrite:
            raise ConfigError(
                f"{out_dir} holds another example run (preset {previous.get('preset')}, "
                f"seed {previous.get('seed')}, or another corpus)",
                f"choose another output folder, or overwrite it ({param('overwrite', True)})", param="out_dir",
            )
        _clear_run(out_dir)
        previous = None
    if previous is None and _step_dirs(out_dir):
        if not overwrite:
            raise ConfigError(
                f"{out_dir} holds step*/ folders that no example run recorded",
                f"choose another output folder, or overwrite it ({param('overwrite', True)})", param="out_dir",
            )
        _clear_run(out_dir)
    if previous is not None and previous.get("status") == "complete":
        try:
            info = load_run(out_dir)
        except NotFoundError:
            previous["status"] = "running"  # a checkpoint went missing: redo what is needed
        else:
            if progress:
                progress(TrainProgress(step=spec.steps, total=spec.steps, phase="cached"))
            return info.model_copy(update={"seconds": time.perf_counter() - t0})

    config = model_config(spec)
    record = {
        "format_version": FORMAT_VERSION,
        "status": "running",
        "key": key,
        "preset": spec.name,
        "seed": seed,
        "total_steps": spec.steps,
        "steps": steps,
        "corpus": data.info.model_dump(),
        "config": {"preset": spec.model_dump(), "model": config.to_dict()},
        "versions": {"torch": torch.__version__, "transformers": _transformers_version()},
    }
    _write_json(out_dir / RUN_FILE, record)
    _train(out_dir, spec, data, seed, key, steps, config, progress, on_step)
    record["status"] = "complete"
    _write_json(out_dir / RUN_FILE, record)
    (out_dir / RESUME_FILE).unlink(missing_ok=True)
    if progress:
        progress(TrainProgress(step=spec.steps, total=spec.steps, phase="done"))
    info = load_run(out_dir)
    return info.model_copy(update={"cached": False, "seconds": time.perf_counter() - t0})


def with_weight_decay(spec: Preset, weight_decay: float | None) -> Preset:
    """``spec`` with its weight decay replaced (None: as it is). The preset keeps its name; its
    key changes with the value, so the presets' own runs and caches stay as they were."""
    if weight_decay is None:
        return spec
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, int | float) or not (
            0.0 <= weight_decay <= MAX_WEIGHT_DECAY):
        raise ConfigError(f"{param('weight_decay')} must be a number from 0 to {MAX_WEIGHT_DECAY:g}, got {weight_decay!r}",
                          f"pass {param('weight_decay')} between 0 and {MAX_WEIGHT_DECAY:g}", param="weight_decay")
    return spec.model_copy(update={"weight_decay": float(weight_decay)})


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


def _train(out_dir: Path, spec: Preset, data: Corpus, seed: int, key: str, steps: list[int], config: GPTNeoXConfig,
           progress: ProgressFn | None, on_step: StepHook | None = None) -> None:
    from transformers import GPTNeoXForCausalLM

    schedule = set(steps)
    with _deterministic_torch(spec.threads, seed):
        model = GPTNeoXForCausalLM(config)
        model.train()
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=spec.lr,
            betas=(0.9, 0.95),
        )
        start = _resume(model, optimizer, out_dir, key)
        val = validation_batches(data, spec)
        for step in range(start, spec.steps + 1):
            if step in schedule and not _is_complete_checkpoint(checkpoint_dir(out_dir, step)):
                metrics = evaluate(model, val)
                _save_checkpoint(model, out_dir, step, metrics)
                _save_resume(model, optimizer, out_dir, step, key)
                if progress:
                    progress(TrainProgress(step=step, total=spec.steps, phase="checkpoint", val_loss=metrics["val_loss"]))
            if on_step is not None:
                on_step(step, model)
            if step == spec.steps:
                break
            lr = _lr_at(spec, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, _ = _loss(model, _train_batch(data, spec, seed, step))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
            optimizer.step()
            if progress:
                progress(TrainProgress(step=step + 1, total=spec.steps, phase="train"))


def _resume(model: PreTrainedModel, optimizer: torch.optim.Optimizer, out_dir: Path, key: str) -> int:
    """Load the last checkpoint's state if it belongs to this run and return its step (else 0).
    Checkpoints after that step are dropped: a killed run may have renamed one before it
    saved the state, and every later checkpoint is redone anyway."""
    path = out_dir / RESUME_FILE
    start, keep_upto = 0, -1
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a torn file from a killed writer: restart from scratch
            state = None
        if state is not None and state.get("key") == key:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start = keep_upto = int(state["step"])
    for step, child in _step_dirs(out_dir).items():
        if step > keep_upto:
            shutil.rmtree(child)
    for child in out_dir.iterdir():
        if child.name.startswith(".step") and child.name.endswith(".tmp"):
            shutil.rmtree(child, ignore_errors=True)
    return start
