"""Pydantic models of every record stored in the graph database (the single source of the
graph model; README "Graph model" mirrors this file).

    (:Model)<-[:CHECKPOINT_OF]-(:Checkpoint)<-[:SAMPLED_FROM]-(:Graph)<-[:ANALYSIS_OF]-(:Analysis)
    (:Neuron {graph})-[:SYNAPSE {w, d}]->(:Neuron {graph})
    (:Job)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypedDict, get_args

from pydantic import BaseModel, ConfigDict, Field

# reference: the authors' reading of GPT-NeoX; faithful: the network as the model computes it
# (per-head qkv rows and attention, residual identity edges; docs/method.md section 1)
Topology = Literal["reference", "faithful"]
TOPOLOGIES: tuple[Topology, ...] = get_args(Topology)
Mode = Literal["one-hop", "shortest-path", "layered"]  # the one definition: the CLI derives its choices
MODES: tuple[Mode, ...] = get_args(Mode)
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRecord(Record):
    """(:Model) one per model name."""

    name: str
    arch: str
    hidden: int
    blocks: int
    params: int
    source: str


class CheckpointRecord(Record):
    """(:Checkpoint)-[:CHECKPOINT_OF]->(:Model). ``metrics`` is a JSON object string
    (e.g. {"val_loss": 3.2, "lambada_acc": 0.41}); a Neo4j property cannot hold a map."""

    model: str
    step: int
    metrics: str = "{}"
    source: str = ""


def graph_id(model: str, step: int, sample: int, k: int, topology: Topology = "reference") -> str:
    """Deterministic Graph.gid: the same checkpoint and sample always map to the same id."""
    return f"{model}@{step}/s{sample}/k{k}/{topology}"


class GraphRecord(Record):
    """(:Graph)-[:SAMPLED_FROM]->(:Checkpoint): one SNIN."""

    gid: str
    model: str
    step: int
    sample: int
    seed: int
    k: int
    topology: Topology = "reference"
    nodes: int
    edges: int
    created: str = Field(default_factory=now_iso)


class NeuronRecord(Record):
    """(:Neuron). uid = f"{gid}/{layer}/{index}"."""

    uid: str
    graph: str
    layer: int
    kind: str
    block: int
    index: int
    part: str | None = None  # weight part feeding it (q, k, v, gate, up); None: a whole matrix


def neuron_uid(gid: str, layer: int, index: int) -> str:
    return f"{gid}/{layer}/{index}"


class SynapseRecord(Record):
    """-[:SYNAPSE {w, d}]-> signed weight and distance 1/|w| (structural edges: w = d = 1)."""

    w: float
    d: float


class AnalysisRecord(Record):
    """(:Analysis)-[:ANALYSIS_OF]->(:Graph). Lists are stored as lists of floats; params as a
    JSON string. aid is deterministic in (graph, parameters) so a re-run replaces its own."""

    aid: str
    graph: str
    mode: Mode
    threshold: float
    params: str
    q: list[float]
    tau: list[float]
    alpha: list[float]
    f: list[float]
    r2: list[float]
    alpha0: float
    width: float
    nodes_used: int
    edges_used: int
    passed_filter: bool
    band: Literal["absolute", "relative"] = "absolute"
    # null model beside the real graph (None without one): draws, their mean/std, z-scores
    null: Literal["shuffle", "gaussian"] | None = None
    null_samples: int | None = None
    null_alpha0: list[float] | None = None
    null_width: list[float] | None = None
    null_alpha0_mean: float | None = None
    null_alpha0_std: float | None = None
    null_width_mean: float | None = None
    null_width_std: float | None = None
    alpha0_z: float | None = None
    width_z: float | None = None
    seconds_pull: float = 0.0
    seconds_compute: float = 0.0
    seconds_write: float = 0.0
    created: str = Field(default_factory=now_iso)


class MeasuredRow(TypedDict):
    """-[:MEASURED {nfd, mass}]-> of one neuron (by uid) to its Analysis; nfd None: ineligible.
    A TypedDict, not a model: one per neuron travels as a named-key map."""

    uid: str
    nfd: float | None
    mass: int


class JobRecord(Record):
    """(:Job) one analysis of one graph. params is the JSON of AnalysisParams."""

    jid: str
    kind: Literal["analyze"] = "analyze"
    graph: str
    params: str
    status: JobStatus = "queued"
    progress: float = 0.0
    error: str | None = None
    worker: str | None = None
    aid: str | None = None
    created: str = Field(default_factory=now_iso)
    started: str | None = None
    finished: str | None = None


class MatrixBaseline(Record):
    """Weight-scale baselines of one weight matrix (or fused part) the adapter reads, oriented
    ``[out, in]``: rms = sqrt(mean(W^2)), log_norm = log10 ||W||_F (the Frobenius norm, not
    squared), log_spectral_norm = log10 sigma_max (Lanczos iteration on W^T W,
    analysis/baselines.py). The logs are None for an all-zero matrix."""

    name: str  # tensor name in the checkpoint
    part: str | None = None  # "q", "k", "v": a third of a fused [Q; K; V] tensor; None: the whole tensor
    shape: list[int]  # [out, in]
    rms: float
    log_norm: float | None
    log_spectral_norm: float | None
    iterations: int  # products with W^T W (0: a small matrix, solved exactly)
    converged: bool  # the Lanczos iteration reached its tolerance (False: solved exactly instead)


class CheckpointBaselines(Record):
    """Per checkpoint: the means over its matrices (all-zero ones left out) of log10 rms
    (``log_rms``), log10 ||W||_F (``log_norm``) and log10 sigma_max (``log_spectral_norm``),
    stored as Checkpoint properties; ``matrices`` travels as JSON (Checkpoint.baseline_matrices)."""

    log_rms: float | None
    log_norm: float | None
    log_spectral_norm: float | None
    matrices: list[MatrixBaseline] = []


class PeerMetrics(Record):
    """WeightWatcher's own summary of a checkpoint (its ``get_summary``, means over the layers
    it analyses): ``alpha`` (power-law exponent of the ESD), ``alpha_weighted`` (alpha x
    log10 lambda_max) and ``log_norm`` (log10 of the *squared* Frobenius norm, sum of the
    eigenvalues of W^T W). Stored as Checkpoint.ww_alpha, ww_alpha_weighted, ww_log_norm."""

    ww_alpha: float | None
    ww_alpha_weighted: float | None
    ww_log_norm: float | None
    ww_layers: int  # layers WeightWatcher analysed
    ww_version: str


BASELINES: tuple[str, ...] = ("log_rms", "log_norm", "log_spectral_norm")
PEERS: tuple[str, ...] = ("ww_alpha", "ww_alpha_weighted", "ww_log_norm")
