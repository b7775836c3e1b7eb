"""What a write-back stores, built from the engine's output (pure: no database). The write-back
itself, one transaction, is `neuromfa.store.analyses.AnalysisRepository.write_back`."""

from __future__ import annotations

import numpy as np

from neuromfa.analysis.results import EngineOutput
from neuromfa.base.errors import AnalysisError
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import AnalysisRecord, MeasuredRow, neuron_uid
from neuromfa.schema.snin import SNIN


def _null_fields(out: EngineOutput) -> dict[str, object]:
    n = out.null
    if n is None:
        return {}
    return {"null": n.kind, "null_samples": n.samples, "null_alpha0": n.alpha0, "null_width": n.width,
            "null_alpha0_mean": n.alpha0_mean, "null_alpha0_std": n.alpha0_std,
            "null_width_mean": n.width_mean, "null_width_std": n.width_std,
            "alpha0_z": n.alpha0_z, "width_z": n.width_z}


def analysis_record(gid: str, params: AnalysisParams, out: EngineOutput, *, seconds_pull: float = 0.0) -> AnalysisRecord:
    s = out.spectrum
    return AnalysisRecord(
        aid=params.analysis_id(gid), graph=gid, mode=params.mode, threshold=params.threshold,
        params=params.model_dump_json(), q=s.q, tau=s.tau, alpha=s.alpha, f=s.f, r2=s.r2,
        alpha0=s.alpha0, width=s.width, nodes_used=s.nodes_used, edges_used=s.edges_used,
        passed_filter=s.passed_filter, band=params.band, seconds_pull=seconds_pull,
        seconds_compute=out.seconds_compute, **_null_fields(out),
    )


def measured_rows(snin: SNIN, gid: str, out: EngineOutput) -> list[MeasuredRow]:
    """{uid, nfd (None: ineligible), mass N_i(T)} per node, in node-position order."""
    if len(out.nfd) != snin.n_nodes:
        raise AnalysisError(f"engine returned {len(out.nfd)} node values for {snin.n_nodes} nodes of {gid}")
    uids = [neuron_uid(gid, layer, index) for layer, index in zip(snin.layer.tolist(), snin.index.tolist())]
    nfd = out.nfd_or_none()  # NaN -> null (ineligible)
    mass = np.asarray(out.mass_T, dtype=np.int64).tolist()
    return [{"uid": u, "nfd": v, "mass": m} for u, v, m in zip(uids, nfd, mass)]
