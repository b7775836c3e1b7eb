"""Weight-scale baselines every structural metric has to beat (issue #16): per weight matrix
``W`` (oriented ``[out, in]``)

- ``rms = sqrt(mean(W^2))``;
- ``log_norm = log10 ||W||_F``, the base-10 log of the Frobenius norm itself (WeightWatcher's
  ``log_norm`` is log10 of the *squared* norm, so it equals ``2 * log_norm`` on one matrix);
- ``log_spectral_norm = log10 sigma_max``: sigma_max^2 is the largest eigenvalue of W^T W on
  W's smaller side, by Lanczos iteration (the Krylov form of the power iteration, products with
  W only) from a fixed-seed start vector to relative tolerance ``TOL`` (``spectral_norm``);

and per checkpoint the mean over its matrices of log10 rms (``log_rms``), ``log_norm`` and
``log_spectral_norm``. Pure: arrays in, records out; sums of squares run in float64 over row
chunks, so memory beyond the matrix stays a few MB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neuromfa.schema.records import CheckpointBaselines, MatrixBaseline

SEED = 0  # of the Lanczos start vector
# ARPACK's relative tolerance on the largest eigenvalue of W^T W. Its eigenvalue estimate
# converges far faster than this bound: at 1e-5 the error on random-init Pythia-160M shapes was
# still ~1e-8 (the float32 floor), with ~30% fewer products than at 1e-8.
TOL = 1e-5
MAX_ITER = 300  # ARPACK restarts: bounds the work (each restart is about 20 products with W^T W)
DENSE_MAX = 128  # a smaller side this small is solved exactly (LAPACK on its Gram matrix), no iteration
_CHUNK_ELEMS = 1 << 20  # float64 temporaries of at most 8 MB


def sum_of_squares(w: np.ndarray) -> float:
    """sum(W^2) in float64, row chunk by row chunk (no float64 copy of a float32 matrix)."""
    rows = max(1, _CHUNK_ELEMS // max(1, w.shape[1]))
    total = 0.0
    for lo in range(0, w.shape[0], rows):
        chunk = np.asarray(w[lo : lo + rows], dtype=np.float64)
        total += float(np.einsum("ij,ij->", chunk, chunk))
    return total


def spectral_norm(w: np.ndarray, *, tol: float = TOL, max_iter: int = MAX_ITER,
                  seed: int = SEED) -> tuple[float, int, bool]:
    """(sigma_max, products with W^T W, converged) of a 2-D ``w``.

    sigma_max^2 is the largest eigenvalue of W^T W on W's smaller side, found by Lanczos
    iteration (scipy's ``eigsh``, ARPACK: the Krylov refinement of the power iteration) from a
    start vector of a fixed seed, to relative tolerance ``tol``. W^T W is never formed: each
    product is two matrix-vector products with ``w`` in its own dtype (float32 stays float32).
    A smaller side of at most DENSE_MAX is solved exactly (0 products), and so is a matrix where
    Lanczos has not converged after ``max_iter`` restarts (then converged is False).
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh  # here: slow to import

    tall = w if w.shape[0] >= w.shape[1] else w.T  # rows: the larger side
    n = tall.shape[1]
    if n <= DENSE_MAX:
        return _dense_sigma(tall), 0, True
    dtype = tall.dtype if tall.dtype in (np.float32, np.float64) else np.float64
    calls = 0

    def matvec(x: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        v = np.asarray(x, dtype=dtype).reshape(-1)
        return np.asarray(tall.T @ (tall @ v), dtype=np.float64)

    operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    try:
        top = float(eigsh(operator, k=1, which="LA", v0=v0, tol=tol, maxiter=max_iter,
                          return_eigenvectors=False)[0])
    except ArpackNoConvergence:  # rare (a very tight top of the spectrum): solve it exactly
        return _dense_sigma(tall), calls, False
    return math.sqrt(max(top, 0.0)), calls, True


def _dense_sigma(tall: np.ndarray) -> float:
    """sigma_max from the Gram matrix of the smaller side (n x n float64), exactly."""
    n = tall.shape[1]
    rows = max(1, _CHUNK_ELEMS // max(1, n))
    g = np.zeros((n, n), dtype=np.float64)
    for lo in range(0, tall.shape[0], rows):
        chunk = np.asarray(tall[lo : lo + rows], dtype=np.float64)
        g += chunk.T @ chunk
    return math.sqrt(max(float(np.linalg.eigvalsh(g)[-1]), 0.0))


def matrix_baseline(w: np.ndarray, name: str, part: str | None = None) -> MatrixBaseline:
    """The baselines of one finite 2-D matrix ``w[out, in]``; ValueError for NaN or inf."""
    if w.ndim != 2 or not w.size:
        raise ValueError(f"{name}: expected a non-empty 2-D matrix, got shape {w.shape}")
    ss = sum_of_squares(w)
    if not math.isfinite(ss):
        raise ValueError(f"{name} holds NaN or inf weights")
    sigma, iterations, converged = spectral_norm(w) if ss > 0 else (0.0, 0, True)
    return MatrixBaseline(
        name=name, part=part, shape=[int(s) for s in w.shape], rms=math.sqrt(ss / w.size),
        log_norm=0.5 * math.log10(ss) if ss > 0 else None,
        log_spectral_norm=math.log10(sigma) if sigma > 0 else None,
        iterations=iterations, converged=converged,
    )


def _mean(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def summarize(matrices: Sequence[MatrixBaseline]) -> CheckpointBaselines:
    """Checkpoint summaries: means over the matrices with a non-zero norm."""
    return CheckpointBaselines(
        log_rms=_mean([math.log10(m.rms) if m.rms > 0 else None for m in matrices]),
        log_norm=_mean([m.log_norm for m in matrices]),
        log_spectral_norm=_mean([m.log_spectral_norm for m in matrices]),
        matrices=list(matrices),
    )
