"""`neuromfa experiment NAME`: experiments where the scale of the weights and the network's
function part ways."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from neuromfa.base.errors import ConfigError
from neuromfa.base.limits import MAX_K, MAX_SAMPLES, check_neurons, check_samples
from neuromfa.cli.common import err_console
from neuromfa.cli.output import Format, emit

experiment_app = typer.Typer(help="Experiments where weight scale and function part ways.", no_args_is_help=True)

MAX_FACTOR = 1e3
MAX_FACTORS = 20  # each factor saves a copy of the checkpoint and analyses it


def _factors(text: str) -> list[float]:
    try:
        values = [eval_fraction(v) for v in text.split(",")]
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"--factors {text!r} is not a comma-separated list of numbers",
                          "e.g. --factors 1/3,1/2,2,3") from None
    if any(not (1 / MAX_FACTOR <= v <= MAX_FACTOR) for v in values):
        raise ConfigError(f"--factors {text!r}: each factor must lie in [{1 / MAX_FACTOR:g}, {MAX_FACTOR:g}]",
                          "e.g. --factors 1/3,1/2,2,3")
    if len(set(values)) < len(values) or len(values) > MAX_FACTORS:
        raise ConfigError(f"--factors {text!r}: give at most {MAX_FACTORS} factors, each once",
                          "e.g. --factors 1/3,1/2,2,3")
    return values


def eval_fraction(text: str) -> float:
    """'1/3' -> 0.333..., '2' -> 2.0 (parsed, never evaluated)."""
    num, slash, den = text.strip().partition("/")
    return float(num) / float(den) if slash else float(num)


@experiment_app.command("reparam")
def reparam(
    path: Path = typer.Argument(..., help="A checkpoint folder (transformers: config.json + weights)."),
    factors: str = typer.Option("1/3,1/2,2,3", "--factors", help=f"Rescaling factors c, comma-separated, each in [{1 / MAX_FACTOR:g}, {MAX_FACTOR:g}]."),
    samples: int = typer.Option(3, "--samples", help=f"Samples (SNINs) per checkpoint: 1 to {MAX_SAMPLES}."),
    neurons: int = typer.Option(32, "--neurons", "-k", help=f"Neurons per layer per sample: 1 to {MAX_K}."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of the terminal."),
) -> None:
    """Function-preserving rescalings of one checkpoint (per head Q x c, K x 1/c, V x c, output
    projection x 1/c): the logit difference, and alpha_0 / width before and after, per mode and band."""
    values = _factors(factors)
    check_samples(samples)
    check_neurons(neurons)
    from neuromfa.experiments.reparam import reparam as run

    err_console.print(f"rescaling {path} by {', '.join(f'{v:g}' for v in values)} and analysing {samples} samples each")
    rows = run(path, factors=values, samples=samples, k=neurons)
    emit([r.model_dump() for r in rows], fmt, title=f"reparam of {path}", out=out)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
