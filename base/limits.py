"""Upper bounds of every user parameter that sizes memory or work, checked before anything runs.

One place for the numbers, so the validators, the checks and the `--help` texts agree.
"""

from __future__ import annotations

import os

from neuromfa.base.errors import ConfigError, param

MAX_Q_ABS = 100.0  # |q_min|, |q_max|: partition sums of mu^q leave float64's range near here
MAX_Q_POINTS = 2001  # values in the q grid (e.g. -100..100 step 0.1)
MAX_THRESHOLD = 1e6  # T: the radius table holds round(T) + 1 bins per node
MAX_SAMPLES = 1000  # samples (SNINs) per checkpoint
MAX_K = 512  # neurons per layer per sample: a graph has about 8 k^2 synapses per block
MAX_SEED = 2**32  # numpy's RandomState takes seeds in [0, 2**32)
MAX_WORKERS_CAP = 64
MAX_SWEEP_THRESHOLDS = 20  # thresholds per sweep: each one re-analyses every graph
MAX_NULL_SAMPLES = 1000  # null draws per graph: each costs one more analysis of the graph


def max_workers() -> int:
    """Worker processes: 4 per CPU of this machine, at most 64."""
    return min(MAX_WORKERS_CAP, 4 * (os.cpu_count() or 1))


def check_range(name: str, value: int, low: int, high: int, hint: str | None = None) -> int:
    """``value`` in [low, high], else one ConfigError line naming the parameter and the range."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{param(name)} must be an integer from {low} to {high}, got {value!r}",
                          hint or f"pass {param(name)} between {low} and {high}", param=name)
    return value


def check_workers(workers: int) -> int:
    top = max_workers()
    return check_range("workers", workers, 1, top,
                       f"this machine has {os.cpu_count() or 1} CPU(s); use at most {top} workers")


def check_samples(samples: int) -> int:
    return check_range("samples", samples, 1, MAX_SAMPLES, f"sample at most {MAX_SAMPLES} SNINs per checkpoint")


def check_neurons(k: int) -> int:
    return check_range("k", k, 1, MAX_K,
                       f"k sizes each graph (about 8 k^2 synapses per block); use k <= {MAX_K}")
