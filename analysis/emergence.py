"""Aggregation per checkpoint and the degree of emergence over a run (docs/method.md section 4).

E(t) = (w(t) / w(t0)) * ln(alpha_0(t0) / alpha_0(t)), t0 the reference step (default the
earliest). Choice: ``E`` is computed from the checkpoint means (the paper's curve). Because a
sample seed picks the same neurons at every checkpoint, samples line up across steps, so we also
give the per-sample E (from each sample's own alpha_0 and w at t and t0) as ``E_mean`` /
``E_std`` over the samples that survive the filter at both steps; that spread is the honest error
bar of E. Stds use ddof = 0. Nothing divides silently: w(t0) = 0, alpha_0 <= 0 and missing
values raise AnalysisError; an unknown reference step raises ConfigError.

With a null model stored (every surviving sample of every step has one), ``E_null`` is the same
formula on the checkpoint means of the null means (``alpha0_null``, ``width_null``) and
``E_struct = E - E_null``, the part of E that the null's weight statistics do not explain.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from neuromfa.analysis.results import CheckpointSummary, EmergencePoint, SampleValue
from neuromfa.base.errors import AnalysisError, ConfigError, param

if TYPE_CHECKING:
    import pandas as pd


def _finite(v: float | None) -> TypeGuard[float]:
    return v is not None and math.isfinite(v)


def summarize_checkpoints(rows: Iterable[Any]) -> list[CheckpointSummary]:
    """Mean/std of alpha_0 and width per step over the samples that passed the filter.

    ``rows``: SampleValue objects, dicts or any objects with step, sample, alpha0, width and
    (optionally) passed_filter. A step whose samples all failed the filter gets n_samples = 0
    and None statistics. Sorted by step.
    """
    by_step: dict[int, dict[int, tuple[float, float]]] = defaultdict(dict)
    nulls: dict[int, list[SampleValue]] = defaultdict(list)
    for raw in rows:
        row = raw if isinstance(raw, SampleValue) else SampleValue.model_validate(raw, from_attributes=True)
        by_step.setdefault(row.step, {})
        if not row.passed_filter:
            continue
        if not _finite(row.alpha0) or not _finite(row.width):
            raise AnalysisError(
                f"step {row.step} sample {row.sample} has no alpha0/width value",
                "re-run the analysis of that graph",
            )
        if row.sample in by_step[row.step]:
            raise AnalysisError(
                f"step {row.step} sample {row.sample} appears twice",
                "pass one analysis per (step, sample): pick one mode and parameter set",
            )
        by_step[row.step][row.sample] = (row.alpha0, row.width)
        nulls[row.step].append(row)
    out = []
    for step in sorted(by_step):
        vals = by_step[step]
        if vals:
            a = np.array([v[0] for v in vals.values()])
            w = np.array([v[1] for v in vals.values()])
            stats: dict[str, float | None] = dict(
                alpha0_mean=float(a.mean()), alpha0_std=float(a.std()), width_mean=float(w.mean()), width_std=float(w.std()))
        else:
            stats = dict(alpha0_mean=None, alpha0_std=None, width_mean=None, width_std=None)
        out.append(CheckpointSummary(step=step, n_samples=len(vals), samples=dict(sorted(vals.items())),
                                     **stats, **_null_means(nulls[step])))
    return out


def _null_means(rows: list[SampleValue]) -> dict[str, float | None]:
    """Means of the null fields over a step's survivors; None where any survivor lacks one."""
    out: dict[str, float | None] = {}
    for field, name in (("null_alpha0_mean", "alpha0_null"), ("null_width_mean", "width_null"),
                        ("alpha0_z", "alpha0_z"), ("width_z", "width_z")):
        vals = [getattr(r, field) for r in rows]
        out[name] = None if not vals or not all(_finite(v) for v in vals) else float(np.mean(vals))
    return out


def _e(alpha0_ref: float, width_ref: float, alpha0: float, width: float, where: str) -> float:
    if width_ref == 0:
        raise AnalysisError(
            f"the reference width w(t0) is 0 ({where}); E(t) = w(t)/w(t0) * ln(...) is undefined",
            f"choose another reference step ({param('reference_step')})",
        )
    if alpha0_ref <= 0 or alpha0 <= 0:
        raise AnalysisError(f"alpha_0 must be positive for ln(alpha_0(t0)/alpha_0(t)) ({where})", "check the analyses of these checkpoints")
    return (width / width_ref) * math.log(alpha0_ref / alpha0)


def _means(s: CheckpointSummary) -> tuple[float, float]:
    """(alpha0_mean, width_mean) of a checkpoint; AnalysisError when it has none."""
    if s.n_samples == 0 or not _finite(s.alpha0_mean) or not _finite(s.width_mean):
        raise AnalysisError(
            f"checkpoint step {s.step} has no alpha_0/width value (no sample survived the filter)",
            "use a milder sample filter, analyse more samples, or leave that step out",
        )
    return s.alpha0_mean, s.width_mean


def _null_pair(s: CheckpointSummary) -> tuple[float, float] | None:
    """(alpha0_null, width_null) of a checkpoint; None without a null model."""
    return None if s.alpha0_null is None or s.width_null is None else (s.alpha0_null, s.width_null)


def emergence(summaries: list[CheckpointSummary], reference_step: int | None = None) -> list[EmergencePoint]:
    """E(t) for every summarised step, relative to ``reference_step`` (default the earliest)."""
    if not summaries:
        raise AnalysisError("no checkpoint to compute emergence from", "analyse at least one checkpoint first")
    summaries = sorted(summaries, key=lambda s: s.step)
    means = [_means(s) for s in summaries]
    steps = [s.step for s in summaries]
    ref_step = steps[0] if reference_step is None else reference_step
    if ref_step not in steps:
        raise ConfigError(f"reference step {ref_step} is not among the analysed steps {steps}", "pick one of those steps")
    ref, ref_means = summaries[steps.index(ref_step)], means[steps.index(ref_step)]
    nulls = [_null_pair(s) for s in summaries]
    ref_null = nulls[steps.index(ref_step)] if all(p is not None for p in nulls) else None
    points = []
    for s, (alpha0_mean, width_mean), null in zip(summaries, means, nulls):
        e = _e(*ref_means, alpha0_mean, width_mean, f"steps {ref.step} -> {s.step}")
        e_null = None if ref_null is None or null is None else _e(
            *ref_null, *null, f"null means, steps {ref.step} -> {s.step}")
        paired = sorted(set(s.samples) & set(ref.samples))
        per = np.array(
            [_e(*ref.samples[k], *s.samples[k], f"sample {k}, steps {ref.step} -> {s.step}") for k in paired]
        )
        points.append(
            EmergencePoint(
                step=s.step,
                alpha0_mean=alpha0_mean,
                width_mean=width_mean,
                E=e,
                E_mean=float(per.mean()) if len(per) else None,
                E_std=float(per.std()) if len(per) else None,
                n_paired=len(paired),
                E_null=e_null,
                E_struct=None if e_null is None else e - e_null,
            )
        )
    return points


def spearman_with(table: pd.DataFrame, metric: str = "val_loss", column: str = "E_mean") -> tuple[float, float] | None:
    """Spearman rank correlation (rho, p) of ``column`` (default E, mean over samples) with a
    checkpoint metric over the steps of an emergence table; None where it is undefined (< 3
    steps, no metric, no values)."""
    from scipy.stats import spearmanr

    if metric not in table or column not in table or len(table) < 3 or table[column].isna().all():
        return None
    res = spearmanr(table[column], table[metric], nan_policy="omit")
    rho, p = float(res.statistic), float(res.pvalue)
    return None if math.isnan(rho) else (rho, p)
