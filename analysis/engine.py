"""The one entry point of the NeuroMFA engine: SNIN + AnalysisParams -> spectrum, masses, NFD.

Pure library (no database). Modes (params.mode):
- ``one-hop``: the authors' procedure, direct band successors only (one_hop.py);
- ``shortest-path``: exact weighted shortest paths with igraph's Dijkstra (shortest_path.py);
- ``layered``: the same masses by min-plus propagation over the layer DAG, torch on GPU if
  available (layered.py); needs the layers to form a DAG (edges may skip layers).
Controls (params.band, params.null): the scale-free band (band.py) and null models (nulls.py),
whose draws reuse the SNIN in memory and, in layered mode on a GPU, run as one batch.
"""

from __future__ import annotations

import time

import numpy as np

from neuromfa.analysis.band import Edges, radius_bins, select_edges
from neuromfa.analysis.blocks import edge_blocks
from neuromfa.analysis.nfd import node_fractal_dimension
from neuromfa.analysis.nulls import null_snin
from neuromfa.analysis.one_hop import one_hop_hist
from neuromfa.analysis.results import EngineOutput, NullSummary, SpectrumResult
from neuromfa.analysis.shortest_path import shortest_path_hist
from neuromfa.analysis.spectrum import BoxMasses, box_masses, compute_spectrum, masses
from neuromfa.base.errors import AnalysisError, ConfigError
from neuromfa.schema.params import AnalysisParams, NullKind
from neuromfa.schema.snin import SNIN


def mode_edges(snin: SNIN, params: AnalysisParams, blocks: np.ndarray | None = None) -> Edges:
    """The edges the chosen mode uses (one-hop: band edges only), in the chosen band."""
    structural = "none" if params.mode == "one-hop" else params.structural
    return select_edges(snin, params.threshold, structural, params.band, blocks)


def box_hist(snin: SNIN, params: AnalysisParams, device: str | None = None,
             blocks: np.ndarray | None = None) -> tuple[np.ndarray, Edges, str]:
    """Per-node radius histogram hist[i, r] (N_i(r) = 1 + cumsum), the edges used and the device."""
    edges = mode_edges(snin, params, blocks)
    bins = radius_bins(params.threshold, snin.n_nodes)
    if params.mode == "one-hop":
        return one_hop_hist(edges, bins), edges, "cpu"
    if params.mode == "shortest-path":
        return shortest_path_hist(edges, params.threshold, bins), edges, "cpu"
    if params.mode == "layered":
        from neuromfa.analysis.layered import default_device, layered_hist  # torch: only when used

        dev = str(device or default_device())
        return layered_hist(edges, snin.layer, params.threshold, bins, device=dev), edges, dev
    raise ConfigError(f"unknown analysis mode {params.mode!r}", "use one-hop, shortest-path or layered")


def _spectrum(hist: np.ndarray, edges: Edges, params: AnalysisParams, what: str) -> tuple[SpectrumResult, np.ndarray, np.ndarray, BoxMasses]:
    eligible, mass_t = masses(hist, params.min_mass)
    if not eligible.any():
        raise AnalysisError(
            f"no node of {what} has more than min_mass={params.min_mass} nodes "
            f"within T={params.threshold} in {params.mode} mode (largest box: {int(mass_t.max()) - 1})",
            "lower min_mass, raise the threshold, use a larger sample k or a path mode",
        )
    bm = box_masses(hist, eligible)
    spectrum = compute_spectrum(
        bm,
        params.q_grid(),
        mode=params.mode,
        threshold=params.threshold,
        sample_filter=params.filter,
        edges_used=edges.n_edges,
    )
    return spectrum, eligible, mass_t, bm


def analyze_snin(snin: SNIN, params: AnalysisParams, device: str | None = None) -> EngineOutput:
    """Run NeuroMFA on one SNIN, and on its null draws when ``params.null`` is set.
    ``device`` (layered mode only): torch device, default cuda if seen."""
    start = time.perf_counter()
    blocks = edge_blocks(snin) if params.band == "relative" or params.null != "none" else None
    hist, edges, dev = box_hist(snin, params, device, blocks)
    spectrum, eligible, mass_t, bm = _spectrum(hist, edges, params, f"graph {snin.gid or '(unnamed)'}")
    nfd = node_fractal_dimension(bm, eligible)
    null = None if params.null == "none" else null_summary(snin, params, spectrum, blocks, device)
    return EngineOutput(
        spectrum=spectrum,
        eligible=eligible,
        mass_T=mass_t,
        nfd=nfd,
        seconds_compute=time.perf_counter() - start,
        device=dev,
        null=null,
    )


def null_hists(snin: SNIN, params: AnalysisParams, blocks: np.ndarray | None = None,
               device: str | None = None) -> tuple[list[np.ndarray], list[Edges]]:
    """Radius histograms of the ``params.null_samples`` null draws of ``snin``. Layered mode on
    a GPU propagates them together as one batch; on the CPU the batch was measured 10-20%
    slower than one draw after another (bench_nulls.py), so there they run one by one."""
    blocks = edge_blocks(snin) if blocks is None else blocks
    kind = null_kind(params)
    draws = [null_snin(snin, kind, j, blocks) for j in range(params.null_samples)]
    if params.mode == "layered":
        from neuromfa.analysis.layered import default_device, layered_hists

        dev = str(device or default_device())
        if dev.startswith("cuda"):
            edges = [mode_edges(d, params, blocks) for d in draws]
            bins = radius_bins(params.threshold, snin.n_nodes)
            return list(layered_hists(edges, snin.layer, params.threshold, bins, device=dev)), edges
    pairs = [box_hist(d, params, device, blocks)[:2] for d in draws]
    return [h for h, _ in pairs], [e for _, e in pairs]


def null_kind(params: AnalysisParams) -> NullKind:
    """The null model ``params`` asks for; refused when it asks for none."""
    if params.null == "none":
        raise ConfigError("these analysis parameters have no null model (null='none')", "set null to 'shuffle' or 'gaussian'")
    return params.null


def null_summary(snin: SNIN, params: AnalysisParams, real: SpectrumResult,
                 blocks: np.ndarray | None = None, device: str | None = None) -> NullSummary:
    """The null model's alpha_0 and width over its draws, and the real graph's z-scores."""
    hists, edges = null_hists(snin, params, blocks, device)
    spectra = [_spectrum(h, e, params, f"null draw {j} ({params.null}) of graph {snin.gid or '(unnamed)'}")[0]
               for j, (h, e) in enumerate(zip(hists, edges))]
    alpha0 = np.array([s.alpha0 for s in spectra])
    width = np.array([s.width for s in spectra])

    def z(value: float, draws: np.ndarray) -> float | None:
        std = float(draws.std(ddof=1))
        return (value - float(draws.mean())) / std if std > 0 else None

    return NullSummary(
        kind=null_kind(params), samples=len(spectra), alpha0=alpha0.tolist(), width=width.tolist(),
        alpha0_mean=float(alpha0.mean()), alpha0_std=float(alpha0.std(ddof=1)),
        width_mean=float(width.mean()), width_std=float(width.std(ddof=1)),
        alpha0_z=z(real.alpha0, alpha0), width_z=z(real.width, width),
    )
