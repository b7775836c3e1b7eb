"""Does a NeuroMFA quantity know more than the weight norm? Every stored NeuroMFA quantity and
every weight-scale baseline of one or more runs, correlated with a checkpoint metric.

Per row (a quantity of one analysis parameter set, or a baseline), over the checkpoints of all
the given models where both are known:

- ``spearman``: Spearman's rho with the quality score, ``-metric`` when ``negate`` (a loss:
  higher score, better model) else ``metric``;
- ``partial_spearman``: the partial Spearman rho given ``log_rms`` (analysis/correlation.py):
  what the quantity says about quality once the weight scale is accounted for;
- ``across_runs``: where three or more runs are given, the Spearman rho across runs at equal
  step, averaged over the steps every one of them has (``across_runs_steps`` of them).

NeuroMFA quantities, per parameter set (mode, band, threshold, null) from the emergence table:
``E``, ``E_null``, ``E_struct``, ``alpha0`` and ``width`` (means over the samples that passed
the filter), ``alpha0_excess`` = alpha0 - its null mean and ``width_excess`` = width - its null
mean. Baselines: ``log_rms``, ``log_norm``, ``log_spectral_norm`` and WeightWatcher's
``ww_alpha``, ``ww_alpha_weighted``, ``ww_log_norm`` where stored.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

from neuromfa.analysis.correlation import MIN_POINTS, partial_spearman, spearman
from neuromfa.base.errors import AnalysisError, ConfigError, action, param
from neuromfa.results.tables import checkpoint_baselines, checkpoint_metrics, emergence_frame, graphs_of
from neuromfa.schema.params import AnalysisParams
from neuromfa.schema.records import BASELINES, PEERS
from neuromfa.store.analyses import AnalysisRepository
from neuromfa.store.named import NamedStore

CONTROL = "log_rms"
MIN_RUNS = 3  # across runs: below three runs every order is perfect
LOWER_IS_BETTER = ("loss", "perplexity", "ppl", "error")  # metric names containing these are negated by default
# quantity -> emergence-table column (or a difference of two)
QUANTITIES: dict[str, str | tuple[str, str]] = {
    "E": "E_mean", "E_null": "E_null", "E_struct": "E_struct", "alpha0": "alpha0_mean", "width": "width_mean",
    "alpha0_excess": ("alpha0_mean", "alpha0_null"), "width_excess": ("width_mean", "width_null"),
}
Kind = Literal["neuromfa", "baseline", "peer"]


class ValidityRow(BaseModel):
    """One quantity against the metric. ``mode`` ... ``null``: the analysis parameter set of a
    NeuroMFA quantity (None for the baselines)."""

    label: str  # unique in the report, e.g. "E shortest-path/absolute T=150 null=shuffle"
    quantity: str
    kind: Kind
    mode: str | None = None
    band: str | None = None
    threshold: float | None = None
    null: str | None = None
    n_points: int  # checkpoints where the quantity and the metric are both known
    spearman: float | None
    partial_spearman: float | None
    across_runs: float | None = None
    across_runs_steps: int = 0


class ValidityPoint(BaseModel):
    """One checkpoint: its metric and every row's value (by label; None where unknown)."""

    model: str
    step: int
    metric: float | None
    values: dict[str, float | None]


class ValidityReport(BaseModel):
    """Every quantity against ``against`` (``-metric`` when ``negate``)."""

    models: list[str]
    metric: str
    negate: bool
    against: str
    control: str = CONTROL
    n_checkpoints: int
    rows: list[ValidityRow]
    points: list[ValidityPoint]
    notes: list[str] = []

    def frame(self) -> pd.DataFrame:
        """One row per quantity; the correlation columns name what they correlate with."""
        rho, part, runs = f"rho({self.against})", f"partial_rho({self.against}|{self.control})", \
            f"across_runs_rho({self.against})"
        records = [{"quantity": r.quantity, "mode": r.mode, "band": r.band, "threshold": r.threshold, "null": r.null,
                    "n": r.n_points, rho: r.spearman, part: r.partial_spearman, runs: r.across_runs,
                    "runs_steps": r.across_runs_steps} for r in self.rows]
        df = pd.DataFrame(records)
        if len(self.models) < MIN_RUNS:
            df = df.drop(columns=[runs, "runs_steps"])
        return df


def default_negate(metric: str) -> bool:
    """Losses, perplexities and errors are lower-is-better: correlate with their negative."""
    return any(word in metric.lower() for word in LOWER_IS_BETTER)


def _param_sets(store: NamedStore, model: str) -> list[AnalysisParams]:
    """The distinct analysis parameter sets stored for ``model``, by mode, band, T, null."""
    texts = {r.params for r in AnalysisRepository(store).results(model) if r.params}
    sets = {p.key(): p for p in (AnalysisParams.model_validate_json(t) for t in texts)}
    return sorted(sets.values(), key=lambda p: (p.mode, p.band, p.threshold, p.null, p.key()))


def _label(quantity: str, p: AnalysisParams, params: list[AnalysisParams]) -> str:
    """The quantity and its parameter set, with only what tells the sets apart beyond mode/band."""
    text = f"{quantity} {p.mode}/{p.band}"
    same = [q for q in params if (q.mode, q.band) == (p.mode, p.band)]
    if len({q.threshold for q in same}) > 1:
        text += f" T={p.threshold:g}"
    if len({q.null for q in same}) > 1:
        text += f" null={p.null}"
    if len({(q.threshold, q.null) for q in same}) < len(same):
        text += f" #{p.key()}"
    return text


def _column(table: pd.DataFrame, spec: str | tuple[str, str]) -> pd.Series:
    if isinstance(spec, tuple):
        a, b = spec
        if a not in table or b not in table:
            return pd.Series(np.nan, index=table.index)
        return pd.to_numeric(table[a], errors="coerce") - pd.to_numeric(table[b], errors="coerce")
    return pd.to_numeric(table[spec], errors="coerce") if spec in table else pd.Series(np.nan, index=table.index)


def _num(v: object) -> float | None:
    if v is None:
        return None
    f = float(v)  # type: ignore[arg-type]
    return f if math.isfinite(f) else None


class _Series(BaseModel):
    label: str
    quantity: str
    kind: Kind
    params: AnalysisParams | None = None
    values: dict[tuple[str, int], float | None]  # (model, step) -> value


def _model_params(store: NamedStore, model: str) -> list[AnalysisParams]:
    """The analysis parameter sets of one model (NotFoundError: unknown model; AnalysisError: none)."""
    graphs_of(store, model)  # NotFoundError for an unknown model
    params = _param_sets(store, model)
    if not params:
        raise AnalysisError(f"model {model!r} has no analysis yet", f"analyse it first ({action('analyze', model=model)})")
    return params


def _model_series(store: NamedStore, model: str, params: list[AnalysisParams],
                  every: list[AnalysisParams]) -> tuple[list[_Series], pd.DataFrame]:
    """Every series of one model (``params``: its parameter sets) and its per-step metrics +
    baselines table. Labels tell apart the sets of ``every`` model, so that two runs' series
    share a label only when they share the parameter set."""
    out: list[_Series] = []
    for p in params:
        table = emergence_frame(store, model, params=p)
        for quantity, spec in QUANTITIES.items():
            col = _column(table, spec)
            if col.notna().sum() == 0:
                continue  # e.g. no null model: no E_null
            out.append(_Series(label=_label(quantity, p, every), quantity=quantity, kind="neuromfa", params=p,
                               values={(model, int(s)): _num(v) for s, v in zip(table["step"], col)}))
    steps = checkpoint_metrics(store, model).merge(checkpoint_baselines(store, model), on="step", how="outer")
    return out, steps


def validity_table(store: NamedStore, models: str | list[str], metric: str = "val_loss", *,
                   negate: bool | None = None, control: str = CONTROL) -> ValidityReport:
    """Every NeuroMFA quantity of every stored analysis parameter set and every baseline of
    ``models`` against ``metric`` (see the module docstring). ``negate``: correlate with
    ``-metric`` (default: for losses, perplexities and errors). Errors: unknown model, no
    analysis, unknown metric (listing the stored ones), fewer than 3 checkpoints with it."""
    names = [models] if isinstance(models, str) else list(dict.fromkeys(models))
    if not names:
        raise ConfigError("validity needs at least one model", f"pass {param('models')}", param="models")
    if control not in BASELINES:
        raise ConfigError(f"unknown control {control!r}", f"use one of {', '.join(BASELINES)}", param="control")
    negate = default_negate(metric) if negate is None else negate
    own = {name: _model_params(store, name) for name in names}
    every = list({p.key(): p for ps in own.values() for p in ps}.values())
    merged: dict[str, _Series] = {}  # label -> the series of every run
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        got, tables[name] = _model_series(store, name, own[name], every)
        for s in got:
            if s.label in merged:
                merged[s.label].values.update(s.values)
            else:
                merged[s.label] = s
    series = list(merged.values())
    available = sorted({c for t in tables.values() for c in t.columns} - {"step", *BASELINES, *PEERS})
    if metric not in available:
        raise ConfigError(f"no checkpoint of {', '.join(map(repr, names))} has the metric {metric!r}",
                          f"stored metrics: {', '.join(available)}" if available else
                          "the checkpoints hold no metric; attach some (metrics.json at ingest, or a metrics import)",
                          param="metric")
    notes: list[str] = []
    raw: dict[tuple[str, int], float | None] = {}
    scores: dict[tuple[str, int], float | None] = {}
    scale: dict[str, dict[tuple[str, int], float | None]] = {c: {} for c in (*BASELINES, *PEERS)}
    for name, table in tables.items():
        for row in table.to_dict("records"):
            key = (name, int(row["step"]))
            value = raw[key] = _num(row.get(metric))
            scores[key] = None if value is None else (-value if negate else value)
            for c in scale:
                scale[c][key] = _num(row.get(c))
        if not any(scale[CONTROL][(name, int(s))] is not None for s in table["step"]):
            notes.append(f"model {name!r} has no stored baselines: ingest it again to fill them in")
    with_metric = [k for k, v in scores.items() if v is not None]
    if len(with_metric) < MIN_POINTS:
        raise AnalysisError(f"only {len(with_metric)} checkpoint(s) of {', '.join(map(repr, names))} have {metric!r}; "
                            f"correlations need at least {MIN_POINTS}", "ingest more checkpoints of the run")
    for c in (*BASELINES, *PEERS):
        if any(v is not None for v in scale[c].values()) or c in BASELINES:
            series.append(_Series(label=c, quantity=c, kind="peer" if c in PEERS else "baseline", values=scale[c]))
    keys = sorted(scores)
    rho_control = spearman([scale[control].get(k) for k in keys], [scores[k] for k in keys])
    if rho_control is not None and abs(rho_control) > 1 - 1e-9:  # equal orders give 1 - 2e-16 at 3 points
        notes.append(f"{control} orders the checkpoints exactly as {'-' if negate else ''}{metric}: the partial rho "
                     f"given {control} is undefined (nothing is left for another quantity to explain)")
    rows = [_row(s, keys, scores, scale[control], names, control) for s in series]
    points = [ValidityPoint(model=m, step=st, metric=raw[(m, st)], values={s.label: s.values.get((m, st)) for s in series}) for m, st in keys]
    return ValidityReport(models=names, metric=metric, negate=negate, against=f"-{metric}" if negate else metric,
                          control=control, n_checkpoints=len(with_metric), rows=rows, points=points, notes=notes)


def _row(s: _Series, keys: list[tuple[str, int]], scores: dict[tuple[str, int], float | None],
         control: dict[tuple[str, int], float | None], models: list[str], control_name: str) -> ValidityRow:
    x = [s.values.get(k) for k in keys]
    y = [scores[k] for k in keys]
    z = [control.get(k) for k in keys]
    n = sum(a is not None and b is not None for a, b in zip(x, y))
    runs, steps = _across_runs(s, scores, models)
    p = s.params
    return ValidityRow(label=s.label, quantity=s.quantity, kind=s.kind, mode=p.mode if p else None,
                       band=p.band if p else None, threshold=p.threshold if p else None,
                       null=(None if p.null == "none" else p.null) if p else None, n_points=n,
                       spearman=spearman(x, y),
                       partial_spearman=None if s.label == control_name else partial_spearman(x, y, z),
                       across_runs=runs, across_runs_steps=steps)


def _across_runs(s: _Series, scores: dict[tuple[str, int], float | None], models: list[str]) -> tuple[float | None, int]:
    """Mean over the steps known in every run of the Spearman rho across the runs at that step."""
    if len(models) < MIN_RUNS:
        return None, 0
    by_step: dict[int, list[tuple[float | None, float | None]]] = {}
    for (model, step), score in scores.items():
        by_step.setdefault(step, []).append((s.values.get((model, step)), score))
    rhos = []
    for pairs in by_step.values():
        known = [(a, b) for a, b in pairs if a is not None and b is not None]
        if len(known) == len(models):
            rho = spearman([a for a, _ in known], [b for _, b in known])
            if rho is not None:
                rhos.append(rho)
    return (float(np.mean(rhos)) if rhos else None), len(rhos)


def sweep_partials(store: NamedStore, model: str, params: list[AnalysisParams], metrics: list[str],
                   control: str = CONTROL) -> pd.DataFrame:
    """Per parameter set (one sweep threshold, in ``params`` order): the partial Spearman rho of
    E (mean over samples) with every metric as stored, given ``control``; columns
    ``prho_<metric>``."""
    rows = []
    for p in params:
        table = emergence_frame(store, model, params=p)
        z = _column(table, control).tolist()
        x = _column(table, "E_mean").tolist()
        rows.append({f"prho_{m}": partial_spearman(x, _column(table, m).tolist(), z) for m in metrics})
    return pd.DataFrame(rows, columns=[f"prho_{m}" for m in metrics])


def sweep_with_baselines(store: NamedStore, model: str, frame: pd.DataFrame, params: list[AnalysisParams],
                         control: str = CONTROL) -> pd.DataFrame:
    """The sweep's table (one row per T, ``rho_<metric>`` of E) with ``quantity`` "E", a
    ``prho_<metric>`` column (the partial rho of E given ``control``) and one more row per stored
    baseline with its own ``rho_<metric>``: does E at any T track a metric better than the
    weight scale does?"""
    metrics = [c.removeprefix("rho_") for c in frame.columns if c.startswith("rho_")]
    partials = sweep_partials(store, model, params, metrics, control)
    rows = pd.concat([frame.reset_index(drop=True), partials], axis=1)
    rows.insert(0, "quantity", "E")
    baselines = baseline_correlations(store, model, metrics).rename(columns={"baseline": "quantity"})
    out = pd.concat([rows, baselines], ignore_index=True) if len(baselines) else rows
    return out.astype(object).where(out.notna(), None)


def baseline_correlations(store: NamedStore, model: str, metrics: list[str]) -> pd.DataFrame:
    """One row per stored baseline of ``model``: its Spearman rho with every metric as stored
    (``rho_<metric>``, as the sweep's rows of E), over the checkpoints."""
    table = checkpoint_metrics(store, model).merge(checkpoint_baselines(store, model), on="step", how="outer")
    names = [c for c in (*BASELINES, *PEERS) if c in table and table[c].notna().any()]
    return pd.DataFrame([{"baseline": b, **{f"rho_{m}": spearman(_column(table, b).tolist(), _column(table, m).tolist())
                                           for m in metrics}} for b in names],
                        columns=["baseline", *[f"rho_{m}" for m in metrics]])
