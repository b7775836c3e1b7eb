"""The one entry point of the NeuroMFA engine: SNIN + AnalysisParams -> spectrum, masses, NFD.

Pure library (no database). Modes (params.mode):
- ``one-hop``: the authors' procedure, direct band successors only (one_hop.py);
- ``shortest-path``: exact weighted shortest paths with igraph's Dijkstra (shortest_path.py);
- ``layered``: the same masses by min-plus propagation over the layer DAG, torch on GPU if
  available (layered.py); needs every edge to go from layer L to L + 1.
"""

from __future__ import annotations

import time

import numpy as np

from neuromfa.analysis.band import Edges, radius_bins, select_edges
from neuromfa.analysis.nfd import node_fractal_dimension
from neuromfa.analysis.one_hop import one_hop_hist
from neuromfa.analysis.results import EngineOutput
from neuromfa.analysis.shortest_path import shortest_path_hist
from neuromfa.analysis.spectrum import box_masses, compute_spectrum, masses
from neuromfa.errors import AnalysisError, ConfigError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN


def mode_edges(snin: SNIN, params: AnalysisParams) -> Edges:
    """The edges the chosen mode uses (one-hop: band edges only)."""
    structural = "none" if params.mode == "one-hop" else params.structural
    return select_edges(snin, params.threshold, structural)


def box_hist(snin: SNIN, params: AnalysisParams, device: str | None = None) -> tuple[np.ndarray, Edges, str]:
    """Per-node radius histogram hist[i, r] (N_i(r) = 1 + cumsum), the edges used and the device."""
    edges = mode_edges(snin, params)
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


def analyze_snin(snin: SNIN, params: AnalysisParams, device: str | None = None) -> EngineOutput:
    """Run NeuroMFA on one SNIN. ``device`` (layered mode only): torch device, default cuda if seen."""
    start = time.perf_counter()
    hist, edges, dev = box_hist(snin, params, device)
    eligible, mass_t = masses(hist, params.min_mass)
    if not eligible.any():
        raise AnalysisError(
            f"no node of graph {snin.gid or '(unnamed)'} has more than min_mass={params.min_mass} nodes "
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
    nfd = node_fractal_dimension(bm, eligible)
    return EngineOutput(
        spectrum=spectrum,
        eligible=eligible,
        mass_T=mass_t,
        nfd=nfd,
        seconds_compute=time.perf_counter() - start,
        device=dev,
    )
