"""In-process NeuroMFA of one checkpoint's tensors: sample, build the SNINs, analyse them, and
follow alpha_0, width and E over the evaluations of a run, with no database.

The same neurons every time (reference sampling, as the ingest of a training run): sample s
uses seed ``seed_base + s``, drawn once from the first evaluation's layer sizes; every later
evaluation must have the same sizes. Graph ids are the ingest's (``graph_id(name, step, s, k,
topology)``) and each SNIN is put in the order a pulled graph has (``pulled_order``), so null
draws are those of the same graphs ingested and analysed (analysis/nulls.py).

E(t) = (w(t) / w(t0)) ln(alpha_0(t0) / alpha_0(t)) with t0 the **first evaluation** of this
analyzer (step 0 when the run evaluates before its first optimizer step), from the checkpoint
means; E_mean / E_std over the per-sample E (docs/method.md section 4, analysis/emergence.py).

With a ``store``, each evaluation is also written to the database as checkpoint ``step`` of
model ``name``: its graphs (GraphRepository.write, as ingest writes them), its weight-scale
baselines, and the analyses computed here (AnalysisRepository.write_back, as a job writes them).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from neuromfa.analysis.emergence import emergence, summarize_checkpoints
from neuromfa.analysis.engine import analyze_snin
from neuromfa.analysis.results import CheckpointSummary, EngineOutput, SampleValue
from neuromfa.base.errors import ConfigError, param
from neuromfa.base.limits import check_range
from neuromfa.ingest.adapters import Adapter, adapter_for
from neuromfa.ingest.baselines import checkpoint_baselines
from neuromfa.ingest.build import build_snin
from neuromfa.ingest.pipeline import check_ingest, check_sampling
from neuromfa.ingest.sampler import Draws, check_k, draws_for_sample
from neuromfa.ingest.source import TensorSource
from neuromfa.jobs import queue as _jobs
from neuromfa.jobs.writeback import analysis_record, measured_rows
from neuromfa.schema.layers import KINDS, PARTS
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import AnalysisRecord, CheckpointRecord, GraphRecord, ModelRecord, Topology, graph_id
from neuromfa.schema.snin import SNIN, canonical_order
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.models import ModelRepository
from neuromfa.store.named import NamedStore

MAX_EVERY = 10_000_000  # evaluation interval in steps


class SampleAnalysis(BaseModel):
    """One sample of one evaluated checkpoint: its graph, its SNIN and the engine's output."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    graph: GraphRecord
    snin: SNIN
    output: EngineOutput
    record: AnalysisRecord  # what a job would store for it


class LiveMetrics(BaseModel):
    """One evaluation: per-checkpoint means over the samples that pass the filter, and E
    against the first evaluation (None where undefined, e.g. a null field without a null)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int
    n_samples: int
    n_passed: int
    alpha0_mean: float | None
    alpha0_std: float | None
    width_mean: float | None
    width_std: float | None
    E: float | None
    E_mean: float | None
    E_std: float | None
    reference_step: int
    alpha0_null: float | None = None
    width_null: float | None = None
    E_null: float | None = None
    E_struct: float | None = None
    alpha0_z: float | None = None
    width_z: float | None = None
    r2_min: float | None = None
    seconds: float = 0.0

    def logs(self, prefix: str = "neuromfa/") -> dict[str, float]:
        """The finite values as a flat dict for a trainer's logs (TensorBoard, W&B)."""
        keys = ("alpha0_mean", "alpha0_std", "width_mean", "width_std", "E", "E_mean", "E_std", "alpha0_null",
                "width_null", "E_null", "E_struct", "alpha0_z", "width_z", "r2_min", "seconds")
        out: dict[str, float] = {}
        for key in keys:
            value = getattr(self, key)
            if value is not None and math.isfinite(value):
                out[prefix + ("alpha0" if key == "alpha0_mean" else "width" if key == "width_mean" else key)] = float(value)
        return out


def check_every(every: int, name: str = "every") -> int:
    """``every`` in 1..MAX_EVERY; ``name``: the caller's parameter (live_every: --live-every)."""
    return check_range(name, every, 1, MAX_EVERY, "evaluate at most every step and at least once in ten million")


class LiveAnalyzer:
    """Analyse checkpoints in process, the same neurons each time (module docstring).

    ``params``, or its fields as keywords (mode, threshold, min_mass, band, null, null_samples,
    ...; None = AnalysisParams' default; mode None = layered, as `analyze` chooses for every
    ingested topology). ``store``: also write each
    evaluation to the database under model ``name``."""

    def __init__(self, *, name: str = "live", samples: int | Sequence[int] = 3, k: int = 32, seed_base: int = 0,
                 topology: Topology = "reference", params: AnalysisParams | None = None,
                 store: NamedStore | None = None, device: str | None = None, **values: Any):
        self.samples = check_ingest(name, samples, k, seed_base, topology)
        if params is None:
            if values.get("null_samples") is not None and values.get("null") in (None, "none"):
                raise ConfigError(f"{param('null_samples')} is set but no null model is chosen",
                                  f"add {param('null', 'shuffle')} or {param('null', 'gaussian')}", param="null")
            params = _jobs.parse_params(**{**values, "mode": values.get("mode") or _jobs.default_mode([topology])})
        self.name, self.k, self.seed_base, self.topology, self.params = name, k, seed_base, topology, params
        self.store, self.device = store, device
        self._draws: dict[int, Draws] = {}
        self._reference: CheckpointSummary | None = None
        self.history: list[LiveMetrics] = []

    def _draws_for(self, adapter: Adapter) -> dict[int, Draws]:
        facts = adapter.facts
        if not self._draws:
            check_k(facts.sizes, self.k)
            self._draws = {s: draws_for_sample(facts.sizes, facts.blocks, sample=s, k=self.k, seed_base=self.seed_base)
                           for s in self.samples}
        return self._draws  # build_snin refuses draws of other sizes (the architecture changed)

    def analyse(self, source: TensorSource, step: int) -> list[SampleAnalysis]:
        """Every sample of ``source`` at ``step``: graph, SNIN, engine output, analysis record."""
        adapter = adapter_for(source)
        out = []
        for s, draws in self._draws_for(adapter).items():
            gid = graph_id(self.name, step, s, self.k, self.topology)
            snin = pulled_order(build_snin(source, adapter, draws, gid=gid, topology=self.topology))
            result = analyze_snin(snin, self.params, device=self.device)
            graph = GraphRecord(gid=gid, model=self.name, step=step, sample=s, seed=self.seed_base + s, k=self.k,
                                topology=self.topology, nodes=snin.n_nodes, edges=snin.n_edges)
            out.append(SampleAnalysis(graph=graph, snin=snin, output=result,
                                      record=analysis_record(gid, self.params, result)))
        return out

    def evaluate(self, source: TensorSource, step: int, metrics: Mapping[str, float] | None = None) -> LiveMetrics:
        """Analyse ``source`` as checkpoint ``step`` (``metrics``: stored on its Checkpoint when
        writing to a database), append the result to ``history`` and return it."""
        started = time.perf_counter()
        analysed = self.analyse(source, step)
        if self.store is not None:
            self._write(source, step, analysed, metrics or {})
        summary = summarize_checkpoints([sample_value(a) for a in analysed])[0]
        if self._reference is None:
            self._reference = summary
        ref = self._reference
        point = None
        if summary.n_samples and ref.n_samples:
            steps = [ref] if ref.step == step else sorted([ref, summary], key=lambda c: c.step)
            point = {p.step: p for p in emergence(steps, reference_step=ref.step)}[step]
        r2 = [min(a.record.r2) for a in analysed if a.record.r2]
        live = LiveMetrics(
            step=step, n_samples=len(analysed), n_passed=summary.n_samples, alpha0_mean=summary.alpha0_mean,
            alpha0_std=summary.alpha0_std, width_mean=summary.width_mean, width_std=summary.width_std,
            E=point.E if point else None, E_mean=point.E_mean if point else None, E_std=point.E_std if point else None,
            reference_step=ref.step, alpha0_null=summary.alpha0_null, width_null=summary.width_null,
            E_null=point.E_null if point else None, E_struct=point.E_struct if point else None,
            alpha0_z=summary.alpha0_z, width_z=summary.width_z, r2_min=min(r2) if r2 else None,
            seconds=time.perf_counter() - started,
        )
        self.history.append(live)
        return live

    def _write(self, source: TensorSource, step: int, analysed: list[SampleAnalysis], metrics: Mapping[str, float]) -> None:
        assert self.store is not None
        adapter = adapter_for(source)
        facts = adapter.facts
        models, graphs = ModelRepository(self.store), GraphRepository(self.store)
        model = ModelRecord(name=self.name, arch=facts.arch, hidden=facts.hidden, blocks=facts.blocks,
                            params=facts.params, source=str(source.path))
        models.check_shape(model)
        check_sampling(self.store, self.name, self.k, self.seed_base, self.topology)
        checkpoint = CheckpointRecord(model=self.name, step=step, metrics=json.dumps(dict(metrics)), source=str(source.path))
        scale = checkpoint_baselines(source, adapter)
        repo = AnalysisRepository(self.store)
        for a in analysed:
            # a graph stored before holds other weights (an earlier run under this name): refused,
            # so an analysis never describes weights its graph does not hold
            if not graphs.write(checkpoint, a.graph, a.snin, model=model):
                raise ConfigError(f"model {self.name!r} already has graph {a.graph.gid!r} stored",
                                  f"write this run under another {param('name')}, or delete that model first")
            repo.write_back(a.record, measured_rows(a.snin, a.graph.gid, a.output))
        models.set_baselines(self.name, step, scale)


def pulled_order(snin: SNIN) -> SNIN:
    """``snin`` in the order GraphRepository.pull gives a stored graph: nodes by (layer, kind
    name, block, index, part name), synapses by (source, target). Null draws follow the edge
    order, so in this order the in-process nulls equal those of the same graph stored and
    pulled (alpha_0, width and NFD do not depend on it)."""
    kinds = np.asarray(KINDS)[snin.kind]
    parts = np.asarray(PARTS)[snin.part] if snin.part is not None else np.full(snin.n_nodes, "")
    order, src, dst, by_edge = canonical_order(snin.layer, kinds, snin.block, snin.index, parts, snin.src, snin.dst)
    return dataclasses.replace(
        snin, layer=snin.layer[order], kind=snin.kind[order], block=snin.block[order], index=snin.index[order],
        part=None if snin.part is None else snin.part[order], src=src, dst=dst,
        w=snin.w[by_edge], structural=snin.structural[by_edge])


def sample_value(a: SampleAnalysis) -> SampleValue:
    """The engine's per-sample values as the emergence functions take them."""
    r, null = a.record, a.output.null
    return SampleValue(step=a.graph.step, sample=a.graph.sample, alpha0=r.alpha0, width=r.width,
                       passed_filter=r.passed_filter,
                       null_alpha0_mean=null.alpha0_mean if null else None, null_width_mean=null.width_mean if null else None,
                       alpha0_z=null.alpha0_z if null else None, width_z=null.width_z if null else None)


def result_row(a: SampleAnalysis) -> dict[str, Any]:
    """One analysed sample as a raw results row (the fields a stored analysis returns)."""
    return {"gid": a.graph.gid, "step": a.graph.step, "sample": a.graph.sample, **a.record.model_dump()}
