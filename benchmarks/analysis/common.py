"""Timing helpers shared by the analysis benchmarks."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def timed(fn: Callable, repeats: int = 1):
    """(result of the last call, wall seconds per call, CPU seconds per call).

    CPU time (this process, all threads) is reported beside wall time because the machines
    these run on are shared: wall time then mostly measures the neighbours."""
    wall, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return out, wall, cpu


def med(times: list[float]) -> float:
    return statistics.median(times)


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, GPU {gpu}, torch {torch.__version__}"
