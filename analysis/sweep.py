"""A robustness sweep over the distance threshold T: one row per T (alpha_0, width, E, E_null and
E_struct at the last step, the Spearman correlation of E with every checkpoint metric) and the
rule that warns when a sign depends on T. Pure: emergence tables in, rows out.

A sign is that of a finite value with |v| > SIGN_TOLERANCE; zero and missing values take no
side (E at the reference step is 0 by definition), so only a real + against - is a change.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd
from pydantic import BaseModel

from neuromfa.schema.params import AnalysisParams

SIGN_TOLERANCE = 1e-12
FRAME_COLUMNS = ["threshold", "n_steps", "last_step", "alpha0", "width", "E", "E_null", "E_struct"]


class SweepRow(BaseModel):
    """One threshold: the last step's values and rho of E (mean over samples) per metric."""

    threshold: float
    key: str  # the parameter set's key (part of every analysis id)
    n_steps: int
    last_step: int
    alpha0: float | None
    width: float | None
    E: float | None
    E_null: float | None = None
    E_struct: float | None = None
    spearman: dict[str, float | None] = {}


class SweepResult(BaseModel):
    """Every threshold's row, in increasing T, and the one-line sign warning (None when no sign
    changes)."""

    model: str
    params: list[AnalysisParams]
    rows: list[SweepRow]
    warning: str | None = None

    def frame(self) -> pd.DataFrame:
        """One row per T: FRAME_COLUMNS, then rho_<metric> per checkpoint metric."""
        metrics = metric_names(self.rows)
        records = [{**{c: getattr(r, c) for c in FRAME_COLUMNS}, **{f"rho_{m}": r.spearman.get(m) for m in metrics}}
                   for r in self.rows]
        return pd.DataFrame(records, columns=FRAME_COLUMNS + [f"rho_{m}" for m in metrics])


def _value(v: float | None) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def spearman_rho(table: pd.DataFrame, metric: str, of: str = "E_mean") -> float | None:
    """Spearman rho of column ``of`` (default E as a mean over samples, as the report and the
    demo use) with ``metric`` over the steps where both are known; None below 3 such steps or
    for a constant series."""
    from scipy.stats import spearmanr  # here: scipy.stats costs a second at every CLI start

    if metric not in table or of not in table:
        return None
    pairs = table[[of, metric]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(pairs) < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant series: rho is NaN, reported as None
        rho = float(spearmanr(pairs[of], pairs[metric]).statistic)
    return None if math.isnan(rho) else rho


def sweep_row(params: AnalysisParams, table: pd.DataFrame, metrics: list[str]) -> SweepRow:
    """The row of one threshold from its emergence table (emergence_frame of its parameters)."""
    last = table.sort_values("step").iloc[-1]
    rho = {m: spearman_rho(table, m) for m in metrics}
    return SweepRow(threshold=params.threshold, key=params.key(), n_steps=len(table), last_step=int(last["step"]),
                    alpha0=_value(last["alpha0_mean"]), width=_value(last["width_mean"]), E=_value(last["E"]),
                    E_null=_value(last.get("E_null")), E_struct=_value(last.get("E_struct")), spearman=rho)


def metric_names(rows: list[SweepRow]) -> list[str]:
    names: list[str] = []
    for r in rows:
        names += [m for m in r.spearman if m not in names]
    return names


def _sign(v: float | None) -> int:
    if v is None or not math.isfinite(v) or abs(v) <= SIGN_TOLERANCE:
        return 0
    return 1 if v > 0 else -1


def _flips(values: list[float | None]) -> bool:
    return {_sign(v) for v in values} >= {1, -1}


def _listing(rows: list[SweepRow], values: list[float | None]) -> str:
    return ", ".join(f"T={r.threshold:g}: {'–' if v is None else f'{v:+.4g}'}" for r, v in zip(rows, values))


def sign_warning(rows: list[SweepRow]) -> str | None:
    """One line naming every quantity whose sign changes between thresholds, with its values;
    None when none does."""
    changed = []
    e_last = [r.E for r in rows]
    if _flips(e_last):
        changed.append(f"E at the last step ({_listing(rows, e_last)})")
    for m in metric_names(rows):
        rho = [r.spearman.get(m) for r in rows]
        if _flips(rho):
            changed.append(f"Spearman(E, {m}) ({_listing(rows, rho)})")
    if not changed:
        return None
    return "the sign of " + "; ".join(changed) + " changes with the threshold T: that conclusion depends on T"
