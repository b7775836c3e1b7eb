"""The frames the plots draw, read from the database (one analysis per graph: its headline
analysis in the chosen mode, else the newest)."""

from __future__ import annotations

import pandas as pd

from neuromfa.base.errors import AnalysisError, action
from neuromfa.results.tables import checkpoint_metrics, current_per_graph, emergence_frame, graphs_of
from neuromfa.schema.params import AnalysisParams
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.named import NamedStore


def current_analyses(store: NamedStore, model: str, mode: str | None,
                     params: AnalysisParams | None = None) -> pd.DataFrame:
    """One row per analysed graph: step, sample, aid, alpha, f (with ``params``: that parameter
    set's analysis of each graph)."""
    mode = params.mode if params is not None else mode
    df = pd.DataFrame([r.model_dump() for r in AnalysisRepository(store).spectra(model, mode)])
    if params is not None and not df.empty:
        df = df[df["aid"] == df["gid"].map(params.analysis_id)]
    if df.empty:
        graphs_of(store, model)  # an unknown model says so first
        raise AnalysisError(f"model {model!r} has no analysis{f' in {mode} mode' if mode else ''} to plot",
                            f"analyse it first ({action('analyze', model=model)})")
    return current_per_graph(df).sort_values(["step", "sample"]).reset_index(drop=True)


def spectra_frame(store: NamedStore, model: str, mode: str | None = None,
                  params: AnalysisParams | None = None) -> pd.DataFrame:
    return current_analyses(store, model, mode, params)[["step", "sample", "alpha", "f"]]


def nfd_frame(store: NamedStore, model: str, mode: str | None = None, step: int | None = None,
              params: AnalysisParams | None = None) -> pd.DataFrame:
    """Per measured neuron: kind, block, nfd (NaN when not eligible), mass; ``step`` default the last."""
    df = current_analyses(store, model, mode, params)
    step = int(df["step"].max()) if step is None else step
    aids = df.loc[df["step"] == step, "aid"].tolist()
    if not aids:
        raise AnalysisError(f"model {model!r} has no analysis at step {step}",
                            f"analysed steps: {', '.join(map(str, sorted(df['step'].unique())))}")
    rows = AnalysisRepository(store).nfd(aids)
    out = pd.DataFrame([r.model_dump() for r in rows], columns=["kind", "block", "nfd", "mass"])
    out["nfd"] = pd.to_numeric(out["nfd"], errors="coerce")
    return out


def emergence_and_metrics(store: NamedStore, model: str, mode: str | None = None,
                          reference_step: int | None = None,
                          params: AnalysisParams | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The emergence table and the checkpoint metrics in long form (step, metric, value)."""
    table = emergence_frame(store, model, reference_step=reference_step, mode=mode, params=params)
    wide = checkpoint_metrics(store, model)
    long = wide.melt(id_vars="step", var_name="metric", value_name="value").dropna()
    return table, long
