"""The tests' own training preset: a handful of steps, seconds in total (not shipped)."""

from __future__ import annotations

from neuromfa.training.presets import Preset

MINIMAL = Preset(
    name="minimal", blocks=2, hidden=32, heads=2, context=32, batch=8, steps=20, lr=3e-3,
    warmup=2, weight_decay=0.01, grad_clip=1.0, every=8, val_batches=2,
    train_bytes=200_000, val_bytes=40_000, threads=1,
)
