"""Per-block alpha_0 and width: `neuromfa results --by-block`.

Each selected graph is pulled and each of its blocks' sub-SNINs (ingest/scope.py: the block's
neurons and the residual-stream neurons it writes into) is analysed in process with the
parameters of that graph's selected analysis. Nothing is stored: the values follow from the
stored graph and the stored parameters alone (the engine is deterministic, its null draws
seeded), and storing them would put analyses of sub-graphs beside the whole graph's under one
Graph, where results, emergence and compare would have to tell them apart.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import pandas as pd

from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import AnalysisError, ConfigError, action, param
from neuromfa.ingest.scope import block_snin
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.snin import SNIN
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.named import NamedStore

# each graph costs one engine run per block (and its null draws): bounded per call
MAX_BY_BLOCK_GRAPHS = 100
BY_BLOCK_COLUMNS = ["gid", "step", "sample", "block", "mode", "threshold", "alpha0", "width", "r2_min",
                    "nodes_used", "edges_used", "passed_filter", "error"]


def snin_blocks(snin: SNIN) -> list[int]:
    """Blocks of ``snin`` with edges leaving them (a restricted graph's trailing stream
    neurons belong to the next block but have no edges of their own)."""
    return sorted(set(np.unique(snin.block[snin.src]).tolist())) if snin.n_edges else []


def block_rows(snin: SNIN, params: AnalysisParams, device: str | None = None) -> list[dict[str, Any]]:
    """One row per block of ``snin``: its sub-SNIN analysed with ``params``; a block the
    engine refuses (too few eligible nodes, say) gets empty metrics and the reason."""
    rows = []
    for b in snin_blocks(snin):
        row: dict[str, Any] = {"block": b, "mode": params.mode, "threshold": params.threshold}
        try:
            s = analyze_snin(block_snin(snin, b), params, device=device).spectrum
        except AnalysisError as e:
            row.update(passed_filter=False, error=e.message)
        else:
            r2 = [v for v in s.r2 if v is not None and math.isfinite(v)]
            row.update(alpha0=s.alpha0, width=s.width, r2_min=min(r2) if r2 else None, nodes_used=s.nodes_used,
                       edges_used=s.edges_used, passed_filter=s.passed_filter)
        rows.append(row)
    return rows


def by_block_frame(store: NamedStore, model: str, results: pd.DataFrame, device: str | None = None) -> pd.DataFrame:
    """Per (graph, block) of the analysed rows of ``results`` (a results table: gid, step,
    sample, aid), alpha_0 and width of the block's sub-SNIN under that row's parameters."""
    analysed = results[results["aid"].notna()]
    if analysed.empty:
        raise AnalysisError(f"model {model!r} has no analysed graph to split by block",
                            f"analyse it first ({action('analyze', model=model)})")
    if len(analysed) > MAX_BY_BLOCK_GRAPHS:
        raise ConfigError(f"{param('by-block')} analyses every block of each graph in process: {len(analysed)} "
                          f"graphs selected, at most {MAX_BY_BLOCK_GRAPHS} are allowed",
                          f"choose some with {param('step')}", param="by-block")
    stored = {r.aid: r.params for r in AnalysisRepository(store).results(model, None) if r.aid}
    graphs = GraphRepository(store)
    rows = []
    for r in analysed.itertuples():
        params = AnalysisParams.model_validate_json(stored.get(cast(str, r.aid)) or "{}")
        for row in block_rows(graphs.pull(cast(str, r.gid)), params, device):
            rows.append({"gid": r.gid, "step": r.step, "sample": r.sample, **row})
    out = pd.DataFrame(rows).reindex(columns=BY_BLOCK_COLUMNS)
    for col in ("step", "sample", "block", "nodes_used", "edges_used"):
        out[col] = out[col].astype("Int64")
    out["passed_filter"] = out["passed_filter"].astype("boolean")
    return out.sort_values(["step", "sample", "block"]).reset_index(drop=True)
