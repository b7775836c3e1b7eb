"""Restricting a SNIN to some blocks and layer kinds (`ingest --blocks 0-5 --kinds attn_out,mlp_hidden`).

A restricted graph is the sub-network of the full SNIN induced by the kept neurons:

- The draws are those of the full model (the sampler's stream is unchanged), so a restricted
  graph holds exactly the full graph's neurons in the kept layers; restricted and full graphs
  of a sample compare the same neurons.
- ``blocks lo-hi`` keeps every neuron of blocks lo..hi plus the residual-stream neurons that
  block hi writes into (block hi+1's ``input`` layer, or the final ``output`` layer after the
  last block), so the last block's down projection is kept.
- ``kinds`` keeps the neurons of those layer kinds (schema.layers.KINDS) only.
- An edge is kept when both its endpoints are; an edge with an endpoint in a dropped layer is
  dropped. Nothing is contracted through a dropped layer: such a path is a product of weights
  that no single matrix holds, and the SNIN's edges are single weights (docs/method.md).

The restriction is part of the graph id (a suffix after the topology, ``/b0-5``,
``/kattn_out+mlp_hidden``), so restricted and full graphs never share an id, and ingest keeps
one restriction per model name as it keeps one topology.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from neuromfa.base.errors import ConfigError, param
from neuromfa.schema.layers import KIND_CODE, KINDS
from neuromfa.schema.snin import SNIN

_BLOCKS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class LayerScope:
    """Which blocks (an inclusive range) and layer kinds a graph holds; None: all."""

    blocks: tuple[int, int] | None = None
    kinds: tuple[str, ...] | None = None

    @property
    def full(self) -> bool:
        return self.blocks is None and self.kinds is None

    @property
    def suffix(self) -> str:
        """The graph-id suffix ("" for the full graph)."""
        parts = []
        if self.blocks is not None:
            parts.append(f"/b{self.blocks[0]}-{self.blocks[1]}")
        if self.kinds is not None:
            parts.append("/k" + "+".join(self.kinds))
        return "".join(parts)

    def check_model(self, blocks: int) -> None:
        """ConfigError when the block range exceeds a model of ``blocks`` blocks."""
        if self.blocks is not None and self.blocks[1] >= blocks:
            raise ConfigError(f"{param('blocks')} {self.blocks[0]}-{self.blocks[1]} exceeds the model's "
                              f"{blocks} blocks", f"use blocks within 0-{blocks - 1}", param="blocks")

    def apply(self, snin: SNIN) -> SNIN:
        """The sub-SNIN of the kept neurons (module docstring); the full SNIN when unrestricted."""
        if self.full:
            return snin
        keep = np.ones(snin.n_nodes, bool)
        if self.blocks is not None:
            lo, hi = self.blocks
            stream = (snin.block == hi + 1) & (snin.kind == KIND_CODE["input"])
            keep &= ((snin.block >= lo) & (snin.block <= hi)) | stream
        if self.kinds is not None:
            keep &= np.isin(snin.kind, [KIND_CODE[k] for k in self.kinds])
        return subgraph(snin, keep, {"scope": self.suffix})


def subgraph(snin: SNIN, keep: np.ndarray, meta: dict[str, object] | None = None) -> SNIN:
    """The SNIN induced by the nodes where ``keep`` holds: edges between kept nodes only,
    nodes renumbered in their order."""
    new = np.full(snin.n_nodes, -1, np.int64)
    new[keep] = np.arange(int(keep.sum()))
    edges = keep[snin.src] & keep[snin.dst]
    return SNIN(
        layer=snin.layer[keep], kind=snin.kind[keep], block=snin.block[keep], index=snin.index[keep],
        src=new[snin.src[edges]], dst=new[snin.dst[edges]], w=snin.w[edges], structural=snin.structural[edges],
        gid=snin.gid, meta={**snin.meta, **(meta or {})},
        part=None if snin.part is None else snin.part[keep],
    )


def block_snin(snin: SNIN, block: int) -> SNIN:
    """Block ``block``'s sub-SNIN: its neurons and the stream neurons it writes into."""
    return LayerScope(blocks=(block, block)).apply(snin)


def parse_blocks(text: str | None) -> tuple[int, int] | None:
    """"0-5" or "3" as an inclusive (lo, hi) range; None stays None."""
    if text is None:
        return None
    m = _BLOCKS.match(text)
    if not m:
        raise ConfigError(f"{param('blocks')} must be a block or a range like 0-5, got {text!r}", param="blocks")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if hi < lo:
        raise ConfigError(f"{param('blocks')} {text!r} is an empty range", f"write it low-high, e.g. {hi}-{lo}",
                          param="blocks")
    return lo, hi


def parse_kinds(text: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """"attn_out,mlp_hidden" (or a list) as layer kinds in the schema's order; None stays None."""
    if text is None:
        return None
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = sorted(set(names) - set(KINDS))
    if unknown or not names:
        raise ConfigError(f"unknown layer kind(s) {', '.join(unknown) or '(none given)'} in {param('kinds')}",
                          f"use some of: {', '.join(KINDS)}", param="kinds")
    return tuple(k for k in KINDS if k in names)


def make_scope(blocks: str | tuple[int, int] | None = None,
               kinds: str | list[str] | tuple[str, ...] | None = None) -> LayerScope:
    """A LayerScope from the CLI's / API's forms, checked (but not against a model)."""
    rng = parse_blocks(blocks) if isinstance(blocks, str) or blocks is None else parse_blocks(f"{blocks[0]}-{blocks[1]}")
    return LayerScope(blocks=rng, kinds=parse_kinds(kinds))


def scope_of_gid(gid: str) -> str:
    """The restriction suffix of a graph id ("" for a full graph): what follows the topology."""
    parts = gid.split("/")
    return "".join("/" + p for p in parts[4:])
