"""Edge selection: which edges of a SNIN a box-growing mode may use, with their distances.

Decisions (docs/method.md section 3, settled against tests/fixtures/neox-h64-l2):
- d = 1 / |w| in float64 from the stored weight; zero weights are no edge.
- The band 1 < d <= T is applied to the *unrounded* d; rounding (half to even) happens only
  when distances become radii. Rounding first and banding the rounded value changes the
  fixture's tau by ~1e-3, banding first reproduces it to ~1e-14.
- Learned edges only are banded. Structural edges (qkv -> context, w = 1) are not learned
  weights: in the shortest-path modes they are traversed with d = 1 (``structural="traverse"``)
  or removed (``"drop"``); one-hop never uses them (d = 1 lies outside the band, as in the
  authors' code).
- ``band="relative"`` (scale-free band): each learned weight is first divided by the RMS of its
  weight block's learned weights and multiplied by INIT_STD, so at std-0.02 initialisation both
  bands agree and scaling any block by a constant changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from neuromfa.analysis.blocks import block_rms, edge_blocks
from neuromfa.base.errors import AnalysisError, ConfigError
from neuromfa.schema.params import Band, Structural
from neuromfa.schema.snin import SNIN

INIT_STD = 0.02  # the usual initialisation std: the relative band's reference scale

# A dense per-node radius histogram bigger than this is refused (memory), see radius_bins.
MAX_HIST_CELLS = 400_000_000


@dataclass(frozen=True)
class Edges:
    """The edges one mode uses: src -> dst with distance d (float64)."""

    n_nodes: int
    src: np.ndarray
    dst: np.ndarray
    d: np.ndarray
    n_learned: int  # learned edges in the band (the rest are structural edges with d = 1)

    @property
    def n_edges(self) -> int:
        return len(self.src)


def radius_bins(threshold: float, n_nodes: int) -> int:
    """Number of integer radius bins 0..round(T) a per-node histogram needs."""
    bins = int(np.floor(threshold + 0.5)) + 1
    if bins * max(n_nodes, 1) > MAX_HIST_CELLS:
        raise ConfigError(
            f"threshold T={threshold} with {n_nodes} nodes needs a {n_nodes} x {bins} radius table",
            "use a smaller threshold (the method's default is 150)",
        )
    return bins


def check_snin(snin: SNIN) -> None:
    """Refuse inputs no mode can analyse: no nodes, no edges, NaN/inf weights."""
    if snin.n_nodes == 0 or snin.n_edges == 0:
        raise AnalysisError(
            f"the graph {snin.gid or '(unnamed)'} is empty ({snin.n_nodes} nodes, {snin.n_edges} edges)",
            "ingest the checkpoint again or pick another graph",
        )
    bad = ~np.isfinite(snin.w)
    if bad.any():
        raise AnalysisError(
            f"the graph {snin.gid or '(unnamed)'} has {int(bad.sum())} NaN/inf edge weights",
            "the checkpoint is corrupt or was ingested wrongly; ingest it again",
        )


def relative_weights(snin: SNIN, blocks: np.ndarray | None = None) -> np.ndarray:
    """Learned weights divided by their block's RMS, times INIT_STD (structural edges kept)."""
    blocks = edge_blocks(snin) if blocks is None else blocks
    learned = ~snin.structural
    w = snin.w.copy()
    w[learned] = snin.w[learned] / block_rms(snin.w, blocks)[blocks[learned]] * INIT_STD
    return w


def select_edges(snin: SNIN, threshold: float, structural: Structural | Literal["none"], band: Band = "absolute",
                 blocks: np.ndarray | None = None) -> Edges:
    """Learned edges with 1 < d <= T, plus structural edges at d = 1 when ``structural`` is
    ``"traverse"`` (``"drop"`` and ``"none"`` leave them out; one-hop passes ``"none"``).
    ``band="relative"`` bands the block-normalised weights (module docstring; ``blocks``: the
    edges' weight blocks when already known)."""
    check_snin(snin)
    if structural not in ("traverse", "drop", "none"):
        raise ConfigError(f"unknown structural setting {structural!r}", "use 'traverse' or 'drop'")
    if band not in ("absolute", "relative"):
        raise ConfigError(f"unknown band {band!r}", "use 'absolute' or 'relative'")
    with np.errstate(divide="ignore"):
        d = 1.0 / np.abs(relative_weights(snin, blocks)) if band == "relative" else snin.d
    learned = ~snin.structural
    in_band = learned & (d > 1.0) & (d <= threshold)
    n_learned = int(in_band.sum())
    if n_learned == 0:
        n = int(learned.sum())
        raise AnalysisError(
            f"all {n} learned weights of graph {snin.gid or '(unnamed)'} lie outside the band "
            f"1 < d <= {threshold} (1/{threshold} <= |w| < 1)",
            "raise the threshold T, or check that the weights were read unscaled",
        )
    keep = in_band | (snin.structural & (structural == "traverse"))
    dist = np.where(snin.structural, 1.0, d)[keep]
    return Edges(
        n_nodes=snin.n_nodes,
        src=snin.src[keep].astype(np.int64, copy=False),
        dst=snin.dst[keep].astype(np.int64, copy=False),
        d=dist.astype(np.float64, copy=False),
        n_learned=n_learned,
    )
