"""Timing helpers shared by the analysis benchmarks."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def timed(fn: Callable, repeats: int = 1):
    """(result of the last call, list of wall seconds per call)."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def med(times: list[float]) -> float:
    return statistics.median(times)


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, GPU {gpu}, torch {torch.__version__}"
