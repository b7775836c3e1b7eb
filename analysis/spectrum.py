"""The multifractal spectrum from per-node box masses (docs/method.md section 3).

Input: ``hist[i, r]`` = number of nodes j != i inside node i's box at T whose rounded distance is
r (any box-growing mode produces it), so N_i(r) = 1 + cumsum_r hist[i]. Decisions:
- eligibility: N_i(T) - 1 > min_mass ("more than min_mass nodes within T, excluding i");
- radii R: the rounded distances that occur for some eligible node; d = max(R);
- mu_i(r) = N_i(r) / N_i(d), Z_q(r) = sum over eligible i of mu_i(r)^q;
- tau(q): least-squares slope of ln Z_q(r) on ln(r / d) over all r in R; y is taken relative to
  its first value before the fit, so a flat ln Z_0 gives tau(0) = 0 exactly (not ~1e-30);
- r2 = 1 - SS_res / SS_tot per q, 1.0 where ln Z_q is flat (SS_tot = 0, an exact fit);
- alpha_k forward differences, f_k = q_k alpha_k - tau(q_k), width = max alpha - min alpha;
- alpha_0: docs/method.md's tie rule (central difference around q = 0 when argmax f is q = 0 or its
  left neighbour; alpha at argmax f otherwise, also when q = 0 is an end of the grid);
- filter 1 drops a sample with some f_k > FILTER_F_TOL: f at q = 0 and its left neighbour is
  0 up to rounding noise (~1e-17), which must not decide the filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neuromfa.analysis.results import SpectrumResult
from neuromfa.base.errors import AnalysisError
from neuromfa.schema.params import SampleFilter
from neuromfa.schema.records import Mode

FILTER_F_TOL = 1e-9
FILTER_ALPHA_EDGE = 0.01
# Above this many cells the partition function switches from dense tables to sort / sparse.
DENSE_CELLS = 1 << 22


def masses(hist: np.ndarray, min_mass: int) -> tuple[np.ndarray, np.ndarray]:
    """(eligible, mass_T): N_i(T) = 1 + nodes within T; eligible where N_i(T) - 1 > min_mass."""
    within = hist.sum(axis=1)
    return within > min_mass, within + 1


def fit_slopes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and r^2 of every column of y [m, k] on x [m]."""
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx == 0.0:
        raise AnalysisError("cannot fit tau(q): all eligible nodes have a single radius", "raise the threshold T")
    y = y - y[:1]  # exact zero for a constant column (tau(0) = 0)
    slope = (xc @ y) / sxx
    fitted = (y - y.mean(axis=0)) - np.outer(xc, slope)
    ss_res = (fitted**2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 1.0)
    return slope, r2


def _dedup(code: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct codes, index of each code among them)."""
    if space <= DENSE_CELLS:  # sort-free through a presence table
        present = np.zeros(space, dtype=bool)
        present[code] = True
        lookup = np.cumsum(present, dtype=np.int64)
        lookup -= 1
        return np.flatnonzero(present), lookup[code]
    return np.unique(code, return_inverse=True)


def partition_function(n_r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Z[r, k] = sum_i (N_i(r) / N_i(d))^q_k for integer masses n_r [nodes, radii].

    mu takes few distinct values (ratios of integers), so mu^q is computed once per distinct
    (N, N_d) pair, and Z = (sparse counts of pairs per radius) @ (mu^q table). scipy's sparse
    product is single-threaded: a threaded BLAS call here ran 3-10x slower on a busy machine.
    """
    n_radii = n_r.shape[1]
    n_d = n_r[:, -1:]
    base = int(n_d.max()) + 1
    code = n_r * base
    code += n_d
    uniq, inv = _dedup(code.ravel(), base * base)
    n_pairs = len(uniq)
    table = ((uniq // base) / (uniq % base))[:, None] ** q[None, :]
    inv = inv.reshape(n_r.shape)
    inv += (np.arange(n_radii) * n_pairs)[None, :]  # (radius, pair) cell
    cells, counts = _dedup_counts(inv.ravel(), n_radii * n_pairs)
    rows = cells // n_pairs
    indptr = np.searchsorted(rows, np.arange(n_radii + 1))
    mat = sp.csr_matrix((counts.astype(np.float64), cells % n_pairs, indptr), shape=(n_radii, n_pairs))
    return np.asarray(mat @ table)


def _dedup_counts(cell: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct cells, their multiplicities)."""
    if space <= DENSE_CELLS:
        full = np.bincount(cell, minlength=space)
        nz = np.flatnonzero(full)
        return nz, full[nz]
    return np.unique(cell, return_counts=True)


def alpha0_rule(q: np.ndarray, tau: np.ndarray, alpha: np.ndarray, f: np.ndarray) -> float:
    """alpha at the peak of f, with docs/method.md's tie rule around q = 0."""
    k = int(np.argmax(f))
    i0 = int(np.flatnonzero(np.isclose(q, 0.0, atol=1e-12))[0])
    if 0 < i0 < len(q) - 1 and k in (i0 - 1, i0):
        return float((tau[i0 + 1] - tau[i0 - 1]) / (q[i0 + 1] - q[i0 - 1]))
    return float(alpha[k])


def passes_filter(mode: int, alpha: np.ndarray, f: np.ndarray) -> bool:
    """Sample filter (a SampleFilter, or its int code 0-3): F_POSITIVE drops a sample with some
    f_k > 0, ALPHA_EDGE one with max alpha - alpha(q_min) > 0.01; BOTH applies both."""
    checks = SampleFilter(mode)
    bad_f = bool(np.any(f > FILTER_F_TOL))
    bad_edge = bool(alpha.max() - alpha[0] > FILTER_ALPHA_EDGE)
    return not ((SampleFilter.F_POSITIVE in checks and bad_f) or (SampleFilter.ALPHA_EDGE in checks and bad_edge))


@dataclass(frozen=True)
class BoxMasses:
    """Box masses of the eligible nodes at the radii R (rows follow the eligible nodes in order)."""

    radii: np.ndarray  # R, int
    gained: np.ndarray  # [eligible, |R|] nodes entering the box at each radius (hist columns R)
    n_r: np.ndarray  # [eligible, |R|] N_i(r) = 1 + cumulative gain

    @property
    def n_nodes(self) -> int:
        return int(self.n_r.shape[0])


def box_masses(hist: np.ndarray, eligible: np.ndarray) -> BoxMasses:
    """Restrict the histogram to eligible nodes and the radii R (the columns any of them uses,
    so the cumulative sum over R equals the one over all radii). Few large temporaries: fresh
    pages cost more than the arithmetic here."""
    if not eligible.any():
        raise AnalysisError("no node is eligible", "lower min_mass or raise the threshold")
    h = hist[eligible]
    radii = np.flatnonzero(h.any(axis=0))
    # np.take keeps C order (h[:, radii] comes out Fortran-ordered: 10x slower cumsum)
    gained = np.take(h, radii, axis=1) if len(radii) < h.shape[1] else h
    n_r = np.cumsum(gained, axis=1)
    n_r += 1
    return BoxMasses(radii=radii, gained=gained, n_r=n_r)


def compute_spectrum(
    bm: BoxMasses,
    q: np.ndarray,
    *,
    mode: Mode,
    threshold: float,
    sample_filter: SampleFilter,
    edges_used: int,
) -> SpectrumResult:
    """tau, alpha, f, alpha_0, width and fit quality of one SNIN."""
    radii = bm.radii
    z = partition_function(bm.n_r, q)
    x = np.log(radii / radii[-1])
    tau, r2 = fit_slopes(x, np.log(z))
    alpha = np.diff(tau) / np.diff(q)
    f = q[:-1] * alpha - tau[:-1]
    return SpectrumResult(
        mode=mode,
        threshold=threshold,
        q=q.tolist(),
        tau=tau.tolist(),
        r2=r2.tolist(),
        alpha=alpha.tolist(),
        f=f.tolist(),
        alpha0=alpha0_rule(q, tau, alpha, f),
        width=float(alpha.max() - alpha.min()),
        radii=radii.tolist(),
        nodes_used=bm.n_nodes,
        edges_used=int(edges_used),
        passed_filter=passes_filter(sample_filter, alpha, f),
    )
