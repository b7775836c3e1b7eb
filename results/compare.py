"""Comparing models: per mode, alpha_0 and width of each model (mean ± std over its samples at
one step), their difference from the first model and that difference in units of the pooled
sample std; where null models are stored, the same for the structural excess (real minus the
null mean, per graph).

Every model is compared under ONE parameter set per mode (the same analysis parameters for all
models). Several coexisting sets are narrowed by ``aid`` (the set of that analysis) or by
``threshold`` / ``band`` / ``null``; when a mode still has several, ConfigError lists them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from neuromfa.base.errors import AnalysisError, ConfigError, NotFoundError, action, param
from neuromfa.schema.params import AnalysisParams
from neuromfa.store.analyses import AnalysisRepository, ResultRow
from neuromfa.store.graphs import GraphRepository
from neuromfa.store.named import NamedStore

QUANTITIES = ("alpha0", "width")
COLUMNS = ["mode", "quantity", "model", "step", "n", "mean", "std", "diff", "diff_pooled_std", "params"]


class ParamFilter(BaseModel):
    """What selects a parameter set: an analysis id, or some of its values (None = any)."""

    aid: str | None = None
    threshold: float | None = None
    band: str | None = None
    null: str | None = None

    def keeps(self, p: AnalysisParams) -> bool:
        return ((self.threshold is None or p.threshold == self.threshold)
                and (self.band is None or p.band == self.band) and (self.null is None or p.null == self.null))


def describe(p: AnalysisParams) -> str:
    """A parameter set in a few words (what tells coexisting sets apart)."""
    null = f", null {p.null} x {p.null_samples}" if p.null != "none" else ""
    return f"T={p.threshold:g}, band {p.band}{null}, min_mass {p.min_mass} (key {p.key()})"


def pooled_std(stds: Sequence[float], ns: Sequence[int]) -> float:
    """sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)) of sample stds (ddof 1); NaN without degrees of freedom."""
    dof = sum(n - 1 for n in ns)
    if dof <= 0:
        return math.nan
    return math.sqrt(sum((n - 1) * s * s for s, n in zip(stds, ns) if n > 1) / dof)


def _rows_at_step(store: NamedStore, model: str, step: int | None) -> tuple[int, list[ResultRow]]:
    graphs = GraphRepository(store).steps(model)
    if not graphs.steps:
        raise NotFoundError(f"no stored graphs of model {model!r}", f"{action('graphs')} lists what is stored")
    chosen = max(graphs.steps) if step is None else step
    if chosen not in graphs.steps:
        raise NotFoundError(f"model {model!r} has no graph at step {chosen}",
                            f"stored steps: {', '.join(map(str, sorted(graphs.steps)))}")
    rows = [r for r in AnalysisRepository(store).results(model, [chosen]) if r.aid is not None]
    if not rows:
        raise AnalysisError(f"model {model!r} has no analysis at step {chosen}",
                            f"analyse it first ({action('analyze', model=model)})")
    return chosen, rows


def _params(row: ResultRow) -> AnalysisParams:
    return AnalysisParams.model_validate_json(row.params or "{}")


def _choose_sets(per_model: dict[str, list[ResultRow]], chosen: ParamFilter) -> dict[str, AnalysisParams]:
    """Per mode: the one parameter set every model has (after the filter)."""
    if chosen.aid is not None:
        found = [r for rows in per_model.values() for r in rows if r.aid == chosen.aid]
        if not found:
            raise NotFoundError(f"no analysis {chosen.aid!r} among the compared models at the compared step",
                                f"{action('results', model=None, all_analyses=True)} lists the analyses")
        wanted = _params(found[0])
        return {wanted.mode: wanted}
    sets: dict[str, dict[str, AnalysisParams]] = {}  # mode -> key -> params, present in every model
    for i, rows in enumerate(per_model.values()):
        here: dict[str, dict[str, AnalysisParams]] = {}
        for r in rows:
            p = _params(r)
            if chosen.keeps(p):
                here.setdefault(p.mode, {})[p.key()] = p
        if i == 0:
            sets = here
        else:
            sets = {m: {k: p for k, p in ks.items() if k in here.get(m, {})} for m, ks in sets.items()}
    sets = {m: ks for m, ks in sets.items() if ks}
    if not sets:
        raise AnalysisError(f"the models {', '.join(map(repr, per_model))} share no analysis parameter set"
                            + (" matching the filter" if chosen.model_dump(exclude_none=True) else ""),
                            f"analyse them with the same parameters ({action('analyze', model=None)})")
    ambiguous = {m: ks for m, ks in sets.items() if len(ks) > 1}
    if ambiguous:
        listing = "; ".join(f"{m}: " + " | ".join(describe(p) for p in ks.values()) for m, ks in ambiguous.items())
        raise ConfigError(f"several parameter sets coexist ({listing})",
                          f"choose one with {param('threshold')}, {param('band')}, {param('null')} or {param('aid')}")
    return {m: next(iter(ks.values())) for m, ks in sorted(sets.items())}


def compare_frame(store: NamedStore, models: Sequence[str], *, step: int | None = None,
                  chosen: ParamFilter | None = None) -> pd.DataFrame:
    """One row per mode, quantity (alpha0, width; alpha0_excess, width_excess where every model
    has a null stored) and model: n samples (those that passed the sample filter), mean, std (ddof 1), diff = mean - the first model's
    mean, diff_pooled_std = diff / the pooled std of the two. ``step``: each model's step
    (default: its last)."""
    if len(models) < 2:
        raise ConfigError("compare needs at least two models", "name two or more models")
    if len(set(models)) < len(models):
        raise ConfigError("a model is named twice", "name each model once")
    steps, per_model = {}, {}
    for m in models:
        steps[m], per_model[m] = _rows_at_step(store, m, step)
    out = []
    for mode, p in _choose_sets(per_model, chosen or ParamFilter()).items():
        values: dict[str, dict[str, np.ndarray]] = {}
        for m, rows in per_model.items():
            mine = [r for r in rows if r.aid == p.analysis_id(r.gid)]
            if not mine:
                raise AnalysisError(f"model {m!r} has no {mode} analysis with {describe(p)} at step {steps[m]}",
                                    f"analyse it with those parameters ({action('analyze', model=m)})")
            # the samples that passed the sample filter, as in the emergence table (method.md)
            mine = [r for r in mine if r.passed_filter is not False]
            if not mine:
                raise AnalysisError(f"no sample of model {m!r} at step {steps[m]} passed the sample filter of its "
                                    f"{mode} analysis with {describe(p)}",
                                    f"analyse it with another {param('filter')} or more samples")
            values[m] = {q: np.asarray([getattr(r, q) for r in mine], dtype=float) for q in QUANTITIES}
            if p.null != "none":
                for q in QUANTITIES:
                    null = np.asarray([getattr(r, f"null_{q}_mean") for r in mine], dtype=float)
                    values[m][f"{q}_excess"] = values[m][q] - null
        for q in values[models[0]]:
            first = values[models[0]][q]
            for m in models:
                v = values[m][q]
                n, mean = len(v), float(np.mean(v)) if len(v) else math.nan
                std = float(np.std(v, ddof=1)) if n > 1 else math.nan
                diff = mean - float(np.mean(first))
                pooled = pooled_std([float(np.std(first, ddof=1)) if len(first) > 1 else 0.0,
                                     std if n > 1 else 0.0], [len(first), n])
                out.append({"mode": mode, "quantity": q, "model": m, "step": steps[m], "n": n, "mean": mean,
                            "std": std, "diff": None if m == models[0] else diff,
                            "diff_pooled_std": None if m == models[0] or not pooled > 0 else diff / pooled,
                            "params": describe(p)})
    return pd.DataFrame(out, columns=COLUMNS)


def choose_params(store: NamedStore, model: str, chosen: ParamFilter, mode: str | None = None) -> AnalysisParams:
    """The one parameter set of ``model``'s analyses (in ``mode`` when given) that ``chosen``
    selects; ConfigError listing the coexisting sets (or modes) when several remain."""
    rows = [r for r in AnalysisRepository(store).results(model) if r.aid is not None
            and (mode is None or r.mode == mode)]
    if not rows:
        raise AnalysisError(f"model {model!r} has no analysis{f' in {mode} mode' if mode else ''} yet",
                            f"analyse it first ({action('analyze', model=model)})")
    sets = _choose_sets({model: rows}, chosen)
    if len(sets) > 1:
        listing = "; ".join(f"{m}: {describe(p)}" for m, p in sets.items())
        raise ConfigError(f"model {model!r} has matching analyses in several modes ({listing})",
                          f"choose one with {param('mode')}", param="mode")
    return next(iter(sets.values()))


def selected_params(store: NamedStore, model: str, mode: str | None = None, *, aid: str | None = None,
                    threshold: float | None = None, band: str | None = None,
                    null: str | None = None) -> AnalysisParams | None:
    """``choose_params`` for the given selectors; None when none is given (each graph's current analysis)."""
    chosen = ParamFilter(aid=aid, threshold=threshold, band=band, null=null)
    return choose_params(store, model, chosen, mode) if chosen.model_dump(exclude_none=True) else None


def params_per_model(store: NamedStore, models: Sequence[str], mode: str | None,
                     chosen: ParamFilter) -> dict[str, AnalysisParams | None]:
    """``choose_params`` per model (None each when no selector is given). An aid names one
    model's analysis: its parameter set then applies to every model."""
    if not chosen.model_dump(exclude_none=True):
        return dict.fromkeys(models, None)
    if chosen.aid is not None:
        for m in models:
            try:
                p = choose_params(store, m, chosen, mode)
            except NotFoundError:
                continue
            return dict.fromkeys(models, p)
        raise NotFoundError(f"no analysis {chosen.aid!r} of {', '.join(map(repr, models))}",
                            f"{action('results', model=models[0], all_analyses=True)} lists the analyses")
    return {m: choose_params(store, m, chosen, mode) for m in models}
