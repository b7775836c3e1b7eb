"""`neuromfa compare A B [...]`: models side by side, per mode, under one parameter set."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from neuromfa import api
from neuromfa.cli.analyze_commands import BandChoice, NullChoice
from neuromfa.cli.common import cli_store
from neuromfa.cli.console import console
from neuromfa.cli.output import WIDE_HELP, Format, emit


def _shown(df: pd.DataFrame) -> pd.DataFrame:
    """The terminal's view: mean ± std in one column, the parameter sets said once above."""
    def pm(r: pd.Series) -> str:
        return f"{r['mean']:.4f}" + ("" if pd.isna(r["std"]) else f" ± {r['std']:.4f}")
    return pd.DataFrame({"mode": df["mode"], "quantity": df["quantity"], "model": df["model"], "step": df["step"],
                         "n": df["n"], "mean ± std": df.apply(pm, axis=1),
                         "diff": df["diff"].map(lambda v: "" if pd.isna(v) else f"{v:+.4f}"),
                         "diff / pooled std": df["diff_pooled_std"].map(lambda v: "" if pd.isna(v) else f"{v:+.2f}")})


def compare(
    models: list[str] = typer.Argument(..., help="Two or more model names; differences are taken from the first."),
    step: Optional[int] = typer.Option(None, "--step", help="Compare at this step of every model. Default: each model's last step."),
    aid: Optional[str] = typer.Option(None, "--aid", help="Use the parameter set of this analysis."),
    threshold: Optional[float] = typer.Option(None, "--threshold", "-T", help="Only parameter sets with this T."),
    band: Optional[BandChoice] = typer.Option(None, "--band", help="Only parameter sets with this band."),
    null: Optional[NullChoice] = typer.Option(None, "--null", help="Only parameter sets with this null model."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Compare models: per mode alpha_0 and width (mean ± std over samples), the difference
    from the first model and the difference in pooled-std units; the structural excess
    (real - null) where nulls are stored."""
    with cli_store() as store:
        df = api.compare(models, step=step, aid=aid, threshold=threshold, band=band.value if band else None,
                         null=null.value if null else None, store=store)
    if fmt is Format.table and out is None:
        for mode, params in df.groupby("mode", sort=False)["params"].first().items():
            console.print(f"{mode}: {params}")
        emit(_shown(df), fmt, title=f"compare {', '.join(models)}", wide=wide, drop_first=["step"])
        return
    emit(df, fmt, title=f"compare {', '.join(models)}", out=out)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
