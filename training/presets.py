"""Presets of the example training run and its Pythia-style checkpoint schedule."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from neuromfa.base.errors import ConfigError

PresetName = Literal["tiny", "small"]


class Preset(BaseModel):
    """Every knob of one example run. Part of the cache key: change one, the run is redone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    blocks: int = Field(gt=0)
    hidden: int = Field(gt=0)
    heads: int = Field(gt=0)
    context: int = Field(gt=1, description="tokens per training window")
    batch: int = Field(gt=0, description="windows per optimizer step")
    steps: int = Field(gt=0, description="optimizer steps in total")
    lr: float = Field(gt=0)
    warmup: int = Field(ge=0, description="linear warm-up steps, then cosine decay to lr/10")
    weight_decay: float = Field(ge=0)
    grad_clip: float = Field(gt=0)
    log_until: int = Field(512, gt=0, description="checkpoints at 0, 1, 2, 4, ... up to this")
    every: int = Field(gt=0, description="then a checkpoint at every multiple of this")
    val_batches: int = Field(gt=0, description="fixed validation batches per checkpoint")
    train_bytes: int = Field(gt=0, description="cap on the training split, bytes")
    val_bytes: int = Field(gt=0, description="cap on the validation split, bytes")
    threads: int = Field(gt=0, description="torch threads, fixed so results do not vary")


PRESETS: dict[str, Preset] = {
    # The demo's run: under 2 minutes on 2 cores; validation loss falls from ln(258) to about 2.
    "tiny": Preset(
        name="tiny", blocks=2, hidden=64, heads=4, context=64, batch=32, steps=1000, lr=3e-3,
        warmup=50, weight_decay=0.01, grad_clip=1.0, every=250, val_batches=4,
        train_bytes=4_000_000, val_bytes=256_000, threads=1,
    ),
    "small": Preset(
        name="small", blocks=4, hidden=128, heads=4, context=128, batch=32, steps=2000, lr=2e-3,
        warmup=100, weight_decay=0.01, grad_clip=1.0, every=250, val_batches=8,
        train_bytes=16_000_000, val_bytes=512_000, threads=2,
    ),
}


def get_preset(preset: str | Preset) -> Preset:
    """The preset named ``preset`` (a Preset is its own: callers may bring their own run)."""
    if isinstance(preset, Preset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise ConfigError(
            f"unknown preset {preset!r}", f"choose one of {', '.join(sorted(PRESETS))}", param="preset"
        ) from None


def checkpoint_steps(total: int, log_until: int = 512, every: int = 1000) -> list[int]:
    """Pythia's schedule: 0, 1, 2, 4, ..., log_until, then every multiple of ``every`` above
    it, capped at ``total``; ``total`` itself is always the last checkpoint."""
    if total < 0:
        raise ConfigError(f"total steps must be >= 0, got {total}")
    steps = {0, total}
    p = 1
    while p <= min(log_until, total):
        steps.add(p)
        p *= 2
    steps.update(range(every * (log_until // every + 1), total + 1, every))
    return sorted(steps)
