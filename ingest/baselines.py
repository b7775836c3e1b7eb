"""The ingest step that computes a checkpoint's weight-scale baselines (analysis/baselines.py).

Every weight matrix the adapter reads (each role of its templates, in every block) is read
whole, one tensor at a time, so peak memory stays about one tensor (plus a copy of one fused
part). A fused q/k/v projection (GPT-NeoX, GPT-2, Falcon, Phi-3) counts as its Q, K and V parts,
and a fused gate/up projection (Phi-3) as its gate and up halves, so that fused models and
models with separate projections (Llama, BERT) average over the same kinds of matrices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from neuromfa.analysis.baselines import matrix_baseline, summarize
from neuromfa.base.errors import ModelError
from neuromfa.ingest.adapters import Adapter
from neuromfa.ingest.source import TensorSource
from neuromfa.schema.records import CheckpointBaselines, MatrixBaseline

QKV_PARTS = ("q", "k", "v")
GATE_UP_PARTS = ("gate", "up")


@dataclass(frozen=True)
class MatrixRef:
    """One tensor the adapter reads: its role, name and whether it is stored ``[in, out]``
    (GPT-2's Conv1D)."""

    role: str
    name: str
    conv1d: bool


def matrices_of(adapter: Adapter) -> list[MatrixRef]:
    """Every weight tensor the adapter reads, block by block, in its role order."""
    conv1d = bool(getattr(adapter, "conv1d", False))
    return [MatrixRef(role, adapter.name(role, b), conv1d) for b in range(adapter.blocks) for role in adapter.templates]


def _qkv_rows(adapter: Adapter, rows: int) -> tuple[np.ndarray, ...]:
    """The rows of Q, K and V in a fused projection of ``rows`` rows: the layout attention
    really uses where the adapter knows it (``true_qkv_rows``), else the rows it reads
    (``qkv_rows``), else three contiguous thirds. Grouped K/V rows are counted once."""
    t = np.arange(adapter.facts.sizes.attn)
    layout = getattr(adapter, "true_qkv_rows", None) or getattr(adapter, "qkv_rows", None)
    if layout is None:
        return tuple(np.arange(i * rows // 3, (i + 1) * rows // 3) for i in range(3))
    return tuple(np.unique(np.asarray(r, dtype=np.int64)) for r in layout(t))


def _parts(adapter: Adapter, ref: MatrixRef, w: np.ndarray) -> Iterator[tuple[str | None, np.ndarray]]:
    """(part, [out, in] matrix) of one tensor: a fused q/k/v projection gives its three parts,
    a fused gate/up projection its two halves, any other tensor itself."""
    m = w.T if ref.conv1d else w
    if ref.role == "qkv":
        for part, rows in zip(QKV_PARTS, _qkv_rows(adapter, m.shape[0])):
            yield part, m[rows]
    elif ref.role == "gate_up":
        half = m.shape[0] // 2
        yield GATE_UP_PARTS[0], m[:half]
        yield GATE_UP_PARTS[1], m[half:]
    else:
        yield None, m


def checkpoint_baselines(source: TensorSource, adapter: Adapter) -> CheckpointBaselines:
    """The baselines of every matrix (and fused part) of one open checkpoint, and their means.
    ModelError for a tensor holding NaN or inf."""
    matrices: list[MatrixBaseline] = []
    # one BLAS thread: the power iteration is many small products, and a threaded BLAS wakes
    # its threads for each (on a busy machine MiniLM took 24 s instead of 1.7 s)
    with threadpool_limits(1, user_api="blas"):
        for ref in matrices_of(adapter):
            matrices += _baselines_of(source, adapter, ref)
    return summarize(matrices)


def _baselines_of(source: TensorSource, adapter: Adapter, ref: MatrixRef) -> list[MatrixBaseline]:
    """The baselines of one tensor (its parts for a fused one), read whole."""
    matrices: list[MatrixBaseline] = []
    w = source.get(ref.name)  # freed on return: one tensor at a time
    for part, m in _parts(adapter, ref, w):
        try:
            matrices.append(matrix_baseline(m, ref.name, part))
        except ValueError as exc:
            raise ModelError(f"tensor {ref.name!r} in {source.path} holds NaN or inf weights",
                             hint="the checkpoint diverged or is corrupt; ingest another checkpoint") from exc
    return matrices
