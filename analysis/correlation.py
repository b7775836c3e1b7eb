"""Rank correlations for validity tables (pure): Spearman's rho and the partial Spearman rho of
x and y given a control z.

Partial Spearman: rank x, y and z (average ranks for ties), regress the ranks of x and of y on
the rank of z by least squares (with an intercept), and take the Pearson correlation of the two
residuals. It equals (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)) on the Spearman rhos.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MIN_POINTS = 3  # Spearman: below three points every order is perfect
MIN_PARTIAL_POINTS = 4  # partial: one more point, one more degree of freedom used
_FLAT = 1e-9  # per point: a residual this small (ranks run 1..n) has no variance left


def _finite(*columns: Sequence[float | None]) -> list[np.ndarray]:
    """The columns restricted to the rows where every one is a finite number."""
    arrays = [np.array([np.nan if v is None else float(v) for v in c], dtype=np.float64) for c in columns]
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[keep] for a in arrays]


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = a - a.mean(), b - b.mean()
    na, nb = math.sqrt(float(a @ a)), math.sqrt(float(b @ b))
    if na <= _FLAT * len(a) or nb <= _FLAT * len(b):
        return None  # a constant series has no correlation
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


def spearman(x: Sequence[float | None], y: Sequence[float | None]) -> float | None:
    """Spearman's rho over the pairs where both are finite; None below MIN_POINTS pairs or for a
    constant series."""
    a, b = _finite(x, y)
    if len(a) < MIN_POINTS:
        return None
    from scipy.stats import rankdata  # here: scipy.stats costs a second at every CLI start

    return _pearson(rankdata(a), rankdata(b))


def _residual(r: np.ndarray, rz: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones_like(rz), rz])
    coef, *_ = np.linalg.lstsq(design, r, rcond=None)
    out: np.ndarray = r - design @ coef
    return out


def partial_spearman(x: Sequence[float | None], y: Sequence[float | None], z: Sequence[float | None]) -> float | None:
    """Partial Spearman rho of x and y given z over the rows where all three are finite; None
    below MIN_PARTIAL_POINTS rows or when a residual is constant (x or y a monotone function
    of z, e.g. z itself)."""
    a, b, c = _finite(x, y, z)
    if len(a) < MIN_PARTIAL_POINTS:
        return None
    from scipy.stats import rankdata

    rz = rankdata(c)
    return _pearson(_residual(rankdata(a), rz), _residual(rankdata(b), rz))
