"""Stored analyses as tables: one row per graph (results) and one row per step (emergence)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import pandas as pd

from neuromfa.analysis.emergence import emergence, summarize_checkpoints
from neuromfa.analysis.results import SampleValue
from neuromfa.base.errors import AnalysisError, ConfigError, action, param
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import BASELINES, PEERS
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.graphs import GraphRepository, GraphSummary
from neuromfa.store.models import ModelRepository
from neuromfa.store.named import NamedStore

RESULT_COLUMNS = ["gid", "step", "sample", "mode", "threshold", "alpha0", "width", "r2_min",
                  "nodes_used", "edges_used", "passed_filter", "band", "null", "alpha0_z", "width_z", "aid"]
TIMING_COLUMNS = ["seconds_pull", "seconds_compute", "seconds_write"]


def graphs_of(store: NamedStore, model: str, steps: Sequence[int] | None = None,
              samples: Sequence[int] | None = None) -> list[GraphSummary]:
    """Stored graphs of ``model`` (optionally some steps / samples); NotFoundError when none
    match, saying what is stored."""
    return GraphRepository(store).of_model(model, steps, samples)


def _r2_min(r2: Sequence[float | None] | None) -> float | None:
    vals = [v for v in (r2 or []) if v is not None and math.isfinite(v)]
    return min(vals) if vals else None


def current_per_graph(analyses: pd.DataFrame) -> pd.DataFrame:
    """One analysis per graph (columns gid, aid, headline, created): the Graph's headline
    analysis when it is among them, else the newest."""
    ranked = analyses.assign(_headline=analyses["aid"] == analyses["headline"])
    ranked = ranked.sort_values(["_headline", "created", "aid"], ascending=False)
    return ranked.drop_duplicates("gid").drop(columns="_headline")


def _analyses(store: NamedStore, model: str, steps: list[int] | None, mode: str | None,
              all_analyses: bool) -> pd.DataFrame:
    """Raw rows: the current analysis of each graph (or every analysis), plus unanalysed graphs."""
    graphs_of(store, model, steps)
    df = pd.DataFrame([r.model_dump() for r in AnalysisRepository(store).results(model, steps)])
    analysed = df[df["aid"].notna()].copy()
    modes = sorted(analysed["mode"].unique())
    if mode is not None:
        analysed = analysed[analysed["mode"] == mode]
    if not all_analyses and len(analysed):
        analysed = current_per_graph(analysed)
    missing = df.drop_duplicates("gid")[["gid", "step", "sample"]]
    missing = missing[~missing["gid"].isin(analysed["gid"])]
    out = pd.concat([analysed, missing], ignore_index=True) if len(missing) else analysed.reset_index(drop=True)
    out["r2_min"] = [_r2_min(v) if isinstance(v, list) else None for v in out["r2"]] if "r2" in out else None
    out = out.sort_values(["step", "sample", "mode"], na_position="last").reset_index(drop=True)
    out.attrs["modes"] = modes  # every mode stored for the model, before choosing one per graph
    return out


def results_frame(store: NamedStore, model: str, *, steps: list[int] | None = None, mode: str | None = None,
                  all_analyses: bool = False, timings: bool = False) -> pd.DataFrame:
    """One row per graph of ``model``: its current analysis (the Graph's headline one, else the
    latest; only ``mode``'s when given). Unanalysed graphs get empty metrics. ``all_analyses``:
    one row per stored Analysis instead (several parameter sets per graph)."""
    return results_table(_analyses(store, model, steps, mode, all_analyses), timings=timings, all_analyses=all_analyses)


def results_table(raw: pd.DataFrame, *, timings: bool = False, all_analyses: bool = False) -> pd.DataFrame:
    """The results columns of raw analysis rows (a stored analysis's fields plus gid, step and
    sample; ``r2_min`` is derived from ``r2`` where missing): what ``results`` shows, whether
    the analyses come from the database or were computed in process."""
    if "r2_min" not in raw and "r2" in raw:
        raw = raw.copy()
        raw["r2_min"] = [_r2_min(v) if isinstance(v, list) else None for v in raw["r2"]]
    cols = RESULT_COLUMNS + (TIMING_COLUMNS if timings else []) + (["params"] if all_analyses else [])
    out = raw.reindex(columns=cols)
    for col in ("step", "sample", "nodes_used", "edges_used"):
        out[col] = out[col].astype("Int64")
    out["passed_filter"] = out["passed_filter"].astype("boolean")
    return out


R2_WARN = 0.9  # a tau(q) fit below this r^2 is poor: the alpha_0 and width built on it are not to be trusted


def poor_fit_warning(df: pd.DataFrame, what: str = "analyses") -> str | None:
    """One line when some row's ``r2_min`` (its worst tau(q) fit) is below R2_WARN, else None."""
    if "r2_min" not in df or df.empty:
        return None
    r2 = pd.to_numeric(df["r2_min"], errors="coerce")
    poor = r2 < R2_WARN
    if not poor.any():
        return None
    return (f"{int(poor.sum())} of {int(r2.notna().sum())} {what} have a tau(q) fit with r^2 below {R2_WARN:g} "
            f"(lowest {r2.min():.2f}, column r2_min): their alpha_0 and width rest on a poor fit")


def checkpoint_metrics(store: NamedStore, model: str) -> pd.DataFrame:
    """Scalar checkpoint metrics (Checkpoint.metrics JSON) as columns per step."""
    rows = [{"step": c.step, **c.metrics} for c in ModelRepository(store).checkpoint_metrics(model)]
    return pd.DataFrame(rows) if rows else pd.DataFrame({"step": pd.Series([], dtype="int64")})


def checkpoint_baselines(store: NamedStore, model: str) -> pd.DataFrame:
    """Per step, the weight-scale baselines stored on its Checkpoint (log_rms, log_norm,
    log_spectral_norm; empty where not computed) and WeightWatcher's ww_alpha,
    ww_alpha_weighted and ww_log_norm where any Checkpoint has them."""
    stored = ModelRepository(store).baselines(model)
    columns = ["step", *BASELINES] + (list(PEERS) if any(b.has_peers for b in stored) else [])
    df = pd.DataFrame([b.model_dump() for b in stored], columns=columns)
    return df.astype({"step": "int64"}).astype({c: "float64" for c in columns[1:]})


NULL_FIELDS = ("null_alpha0_mean", "null_width_mean", "alpha0_z", "width_z")


def _nulls_of(row: Any) -> dict[str, float | None]:
    """The null-model fields of one results row (None where absent or NaN)."""
    out: dict[str, float | None] = {}
    for name in NULL_FIELDS:
        v = getattr(row, name, None)
        out[name] = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    return out


def _null_stds(res: pd.DataFrame) -> dict[int, dict[str, float | None]]:
    """Per step, the mean over the filter's survivors of their null stds (alpha0_null_std,
    width_null_std): the spread of one null draw, for a band around the null means. None
    where a survivor has none."""
    kept = res[res["passed_filter"].astype(bool)]
    out: dict[int, dict[str, float | None]] = {}
    for step, group in kept.groupby("step"):
        step = int(cast(int, step))
        out[step] = {}
        for field, name in (("null_alpha0_std", "alpha0_null_std"), ("null_width_std", "width_null_std")):
            vals = pd.to_numeric(group[field], errors="coerce")
            out[step][name] = float(vals.mean()) if vals.notna().all() else None
    return out


def _of_params(store: NamedStore, model: str, mode: str | None, params: AnalysisParams) -> pd.DataFrame:
    """Every graph's analysis with exactly ``params`` (its aid), whatever the headline is."""
    if mode is not None and mode != params.mode:
        raise ConfigError(f"mode {mode!r} differs from the parameter set's mode {params.mode!r}",
                          "leave the mode out or pass the same one")
    raw = _analyses(store, model, None, params.mode, True)
    res = raw[raw["aid"].notna()]
    res = res[res["aid"] == res["gid"].map(params.analysis_id)]
    if res.empty:
        raise AnalysisError(f"model {model!r} has no {params.mode} analysis with T={params.threshold:g}, "
                            f"band {params.band}, null {params.null} (parameter key {params.key()})",
                            f"analyse it with those parameters first ({action('analyze', model=model)})")
    res.attrs["modes"] = [params.mode]
    return res.reset_index(drop=True)


def emergence_frame(store: NamedStore, model: str, *, reference_step: int | None = None, mode: str | None = None,
                    params: AnalysisParams | None = None) -> pd.DataFrame:
    """Per step: analysed samples, mean/std alpha_0 and width over the samples that passed the
    filter, E (from the means) and E_mean/E_std (per sample), the null columns (E_null,
    E_struct, alpha0/width null means and mean null stds, z-scores; empty without a null), and
    the checkpoint's weight-scale baselines (log_rms, log_norm, log_spectral_norm, and
    WeightWatcher's ww_* where stored) and its metrics. Each graph's current analysis, or with ``params`` the analysis of
    exactly that parameter set."""
    if params is not None:
        res = _of_params(store, model, mode, params)
        modes: list[str] = [params.mode]
    else:
        raw = _analyses(store, model, None, mode, False)
        res = raw[raw["aid"].notna()]
        if res.empty:
            raise AnalysisError(f"model {model!r} has no analysis{f' in {mode} mode' if mode else ''} yet",
                                f"analyse it first ({action('analyze', model=model)})")
        modes = [mode] if mode is not None else raw.attrs["modes"]
    if len(modes) > 1:
        raise ConfigError(f"model {model!r} has analyses in several modes ({', '.join(modes)})",
                          f"choose one with {param('mode')}", param="mode")
    if res["params"].nunique() > 1:
        raise ConfigError(f"the {modes[0]} analyses of model {model!r} use different parameters across graphs",
                          f"analyse every step with one parameter set ({action('analyze', model=model, mode=modes[0])})")
    samples = [SampleValue(step=int(cast(int, r.step)), sample=int(cast(int, r.sample)), alpha0=r.alpha0,
                           width=r.width, passed_filter=bool(r.passed_filter), **_nulls_of(r))
               for r in res.itertuples()]
    summaries = summarize_checkpoints(samples)
    points = {p.step: p for p in emergence(summaries, reference_step)}
    analysed = res.groupby("step").size()
    stds = _null_stds(res)
    r2_by_step = {int(cast(int, k)): (None if pd.isna(v) else float(v))
                  for k, v in pd.to_numeric(res["r2_min"], errors="coerce").groupby(res["step"]).min().items()}
    rows = []
    for s in summaries:
        p = points[s.step]
        rows.append({
            "step": s.step, "mode": modes[0], "n_samples": int(analysed[s.step]), "n_passed": s.n_samples,
            "alpha0_mean": s.alpha0_mean, "alpha0_std": s.alpha0_std,
            "width_mean": s.width_mean, "width_std": s.width_std,
            "E": p.E, "E_mean": p.E_mean, "E_std": p.E_std, "n_paired": p.n_paired,
            "E_null": p.E_null, "E_struct": p.E_struct,
            "alpha0_null": s.alpha0_null, "alpha0_null_std": stds.get(s.step, {}).get("alpha0_null_std"),
            "width_null": s.width_null, "width_null_std": stds.get(s.step, {}).get("width_null_std"),
            "alpha0_z": s.alpha0_z, "width_z": s.width_z, "r2_min": r2_by_step.get(s.step),
        })
    metrics = checkpoint_metrics(store, model)
    scale = checkpoint_baselines(store, model)
    scale = scale.drop(columns=[c for c in scale.columns if c != "step" and c in metrics.columns])
    df = pd.DataFrame(rows).merge(scale, on="step", how="left").merge(metrics, on="step", how="left")
    return df.sort_values("step").reset_index(drop=True)
