"""Weight-scale baselines every structural metric has to beat (issue #16): per weight matrix
``W`` (oriented ``[out, in]``)

- ``rms = sqrt(mean(W^2))``;
- ``log_norm = log10 ||W||_F``, the base-10 log of the Frobenius norm itself (WeightWatcher's
  ``log_norm`` is log10 of the *squared* norm, so it equals ``2 * log_norm`` on one matrix);
- ``log_spectral_norm = log10 sigma_max``, sigma_max by block power iteration (subspace
  iteration on ``W^T W`` with ``POWER_BLOCK`` vectors from a fixed seed, Rayleigh-Ritz estimate,
  stopped when it moves by less than ``POWER_TOL`` relative or after ``POWER_MAX_ITER`` steps);

and per checkpoint the mean over its matrices of log10 rms (``log_rms``), ``log_norm`` and
``log_spectral_norm``. Pure: arrays in, records out; sums of squares run in float64 over row
chunks, so memory beyond the matrix stays a few MB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neuromfa.schema.records import CheckpointBaselines, MatrixBaseline

POWER_SEED = 0
POWER_TOL = 1e-7  # relative change of the sigma_max estimate between two iterations
POWER_MAX_ITER = 300  # bounds the work: each iteration is two products with W
POWER_BLOCK = 8  # vectors iterated together: convergence at the rate (sigma_9 / sigma_1)^2
_CHUNK_ELEMS = 1 << 20  # float64 temporaries of at most 8 MB


def sum_of_squares(w: np.ndarray) -> float:
    """sum(W^2) in float64, row chunk by row chunk (no float64 copy of a float32 matrix)."""
    rows = max(1, _CHUNK_ELEMS // max(1, w.shape[1]))
    total = 0.0
    for lo in range(0, w.shape[0], rows):
        chunk = np.asarray(w[lo : lo + rows], dtype=np.float64)
        total += float(np.einsum("ij,ij->", chunk, chunk))
    return total


def spectral_norm(w: np.ndarray, *, tol: float = POWER_TOL, max_iter: int = POWER_MAX_ITER,
                  seed: int = POWER_SEED, block: int = POWER_BLOCK) -> tuple[float, int, bool]:
    """(sigma_max, iterations, converged) of a 2-D ``w`` by block power iteration.

    ``V`` (n x p, orthonormal) <- QR(W^T W V); the estimate is the largest singular value of
    the small ``W V`` (Rayleigh-Ritz), a lower bound that rises to sigma_max. Products run in
    ``w``'s dtype (float32 stays float32); the small SVD in float64.
    """
    m, n = w.shape
    if m < n:  # iterate on the smaller side: same sigma_max, smaller vectors
        w = w.T
        m, n = n, m
    p = max(1, min(block, n))
    rng = np.random.default_rng(seed)
    v, _ = np.linalg.qr(rng.standard_normal((n, p)))
    v = v.astype(w.dtype if w.dtype in (np.float32, np.float64) else np.float64, copy=False)
    sigma, iterations, converged = 0.0, 0, False
    for iterations in range(1, max_iter + 1):
        u = w @ v
        estimate = float(np.linalg.svd(np.asarray(u, dtype=np.float64), compute_uv=False)[0])
        if estimate == 0.0:  # W is zero on this subspace (p = n: W is zero)
            return 0.0, iterations, p == n
        if abs(estimate - sigma) <= tol * estimate:
            sigma, converged = estimate, True
            break
        sigma = estimate
        v, _ = np.linalg.qr(w.T @ u)
    return sigma, iterations, converged


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
