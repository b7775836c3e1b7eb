"""Node fractal dimension (METHOD.md section 4).

NFD_i = least-squares slope of ln N_i(r) on ln r over node i's own radii (the rounded distances
at which its box gains nodes). A node that is not eligible gets NaN (stored as null, never 0);
so does an eligible node with fewer than two own radii, where no slope exists.
"""

from __future__ import annotations

import numpy as np


def node_fractal_dimension(hist: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """float64 [n_nodes], NaN where there is no value. Vectorised over nodes (masked rows)."""
    out = np.full(hist.shape[0], np.nan)
    h = hist[eligible]
    if h.size == 0:
        return out
    r = np.arange(h.shape[1], dtype=np.float64)
    own = (h > 0) & (r > 0)
    with np.errstate(divide="ignore"):
        x = np.where(own, np.log(np.maximum(r, 1.0)), 0.0)
    y = np.where(own, np.log(1.0 + np.cumsum(h, axis=1)), 0.0)
    cnt = own.sum(axis=1)
    safe = np.maximum(cnt, 1)
    xc = np.where(own, x - (x.sum(axis=1) / safe)[:, None], 0.0)
    yc = np.where(own, y - (y.sum(axis=1) / safe)[:, None], 0.0)
    sxx = (xc * xc).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where((cnt >= 2) & (sxx > 0), (xc * yc).sum(axis=1) / sxx, np.nan)
    out[eligible] = slope
    return out
