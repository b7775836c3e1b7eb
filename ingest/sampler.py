"""SNIN neuron draws, reference-compatible (docs/method.md section 2).

``numpy.random.RandomState(seed)`` is the generator ``numpy.random.seed(seed)`` resets, so the
stream equals the authors' procedure: per block in order input (k of hidden), qkv-t (k of the
attention width), attn_out (k of hidden), mlp_hidden (2k of the MLP hidden width), each
``choice(arange(n), size, replace=False)``; after the last block one draw of k of hidden for
the output layer. Block b > 0's input draw doubles as block b-1's mlp_out targets.
The draws depend only on the layer sizes, so every checkpoint of a model gets the same neurons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neuromfa.base.errors import ConfigError


@dataclass(frozen=True)
class LayerSizes:
    """Neurons available per layer kind: ``hidden`` (input, attn_out, output), ``attn`` (the
    query width: qkv-t and context; equals hidden except for models with a separate head_dim)
    and ``mlp`` (mlp_hidden: 4h for GPT-NeoX, 2 * intermediate for gated [gate; up] MLPs)."""

    hidden: int
    attn: int
    mlp: int


@dataclass(frozen=True)
class Draws:
    """Sampled neuron indices of one SNIN. Per-block tuples are indexed by block."""

    seed: int
    k: int
    sizes: LayerSizes
    input: tuple[np.ndarray, ...]
    qkv_t: tuple[np.ndarray, ...]
    attn_out: tuple[np.ndarray, ...]
    mlp_hidden: tuple[np.ndarray, ...]
    output: np.ndarray
    sample: int | None = None

    @property
    def blocks(self) -> int:
        return len(self.input)

    def mlp_out(self, block: int) -> np.ndarray:
        """Targets of block ``block``'s down projection: next block's input, or the output layer."""
        return self.input[block + 1] if block + 1 < self.blocks else self.output

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists of ints)."""

        def lists(arrs: tuple[np.ndarray, ...]) -> list[list[int]]:
            return [a.tolist() for a in arrs]

        return {
            "seed": self.seed,
            "sample": self.sample,
            "k": self.k,
            "sizes": {"hidden": self.sizes.hidden, "attn": self.sizes.attn, "mlp": self.sizes.mlp},
            "input": lists(self.input),
            "qkv_t": lists(self.qkv_t),
            "attn_out": lists(self.attn_out),
            "mlp_hidden": lists(self.mlp_hidden),
            "output": self.output.tolist(),
        }


def check_k(sizes: LayerSizes, k: int) -> None:
    """ConfigError naming the first layer that cannot supply the draw."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"neurons per layer k must be a positive integer, got {k!r}")
    for layer, need, have in (
        ("input", k, sizes.hidden),
        ("qkv", k, sizes.attn),
        ("attn_out", k, sizes.hidden),
        ("mlp_hidden", 2 * k, sizes.mlp),
    ):
        if need > have:
            raise ConfigError(
                f"k = {k} needs {need} neurons in layer {layer!r}, which has only {have}",
                hint=f"use k <= {min(sizes.hidden, sizes.attn, sizes.mlp // 2)} for this model",
            )


def sample_draws(sizes: LayerSizes, blocks: int, k: int = 32, seed: int = 0, sample: int | None = None) -> Draws:
    """Draw the neurons of one SNIN with ``RandomState(seed)`` in the reference order."""
    check_k(sizes, k)
    if blocks < 1:
        raise ConfigError(f"a model needs at least one block, got {blocks}")
    if not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be in [0, 2**32), got {seed}", hint="use a smaller seed base or sample number")
    rng = np.random.RandomState(seed)
    h, a, m = np.arange(sizes.hidden), np.arange(sizes.attn), np.arange(sizes.mlp)
    inp: list[np.ndarray] = []
    qkv: list[np.ndarray] = []
    att: list[np.ndarray] = []
    mlp: list[np.ndarray] = []
    for _ in range(blocks):
        inp.append(rng.choice(h, k, replace=False))
        qkv.append(rng.choice(a, k, replace=False))
        att.append(rng.choice(h, k, replace=False))
        mlp.append(rng.choice(m, 2 * k, replace=False))
    out = rng.choice(h, k, replace=False)

    def as64(arrs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(x, dtype=np.int64) for x in arrs)

    return Draws(seed, k, sizes, as64(inp), as64(qkv), as64(att), as64(mlp), np.asarray(out, dtype=np.int64), sample)


def draws_for_sample(sizes: LayerSizes, blocks: int, *, sample: int, k: int = 32, seed_base: int = 0) -> Draws:
    """Sample ``sample`` uses seed ``seed_base + sample``."""
    if sample < 0:
        raise ConfigError(f"sample numbers start at 0, got {sample}")
    return sample_draws(sizes, blocks, k=k, seed=seed_base + sample, sample=sample)
