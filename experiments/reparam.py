"""`reparam`: how far each metric moves under function-preserving rescalings of one checkpoint.

For every factor c, the checkpoint's attention is rescaled (rescale.py); its own forward pass
gives the largest logit difference, which must stay below 1e-4. Both checkpoints are then
sampled with the same neurons and analysed in each mode and band. A metric that measures the
network's function would not move: the rows say how far each one does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from pydantic import BaseModel

from neuromfa.analysis.engine import analyze_snin
from neuromfa.base.errors import ModelError
from neuromfa.experiments.rescale import rescale_attention
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.readers import load_config
from neuromfa.schema.params import AnalysisParams
from neuromfa.training.train_example import _quiet_transformers

if TYPE_CHECKING:
    from transformers import PreTrainedModel

FACTORS = (1 / 3, 1 / 2, 2.0, 3.0)
MODES = ("one-hop", "layered")
BANDS = ("absolute", "relative")
ENCODERS = ("bert", "roberta")


class ReparamRow(BaseModel):
    """One (factor, mode, band): alpha_0 and width (means over samples) before and after."""

    factor: float
    mode: str
    band: str
    max_logit_diff: float
    alpha0_ref: float
    alpha0: float
    width_ref: float
    width: float


def load_model(path: Path) -> PreTrainedModel:
    """The transformers model of a checkpoint folder (offline, float32, eval mode)."""
    import transformers as tf

    if not path.is_dir():
        raise ModelError(f"{path} is not a checkpoint folder" + (" (it does not exist)" if not path.exists() else ""),
                         "pass a transformers checkpoint folder (config.json + weights); GGUF files are not supported here")
    model_type = load_config(path / "config.json").get("model_type")
    auto = tf.AutoModel if model_type in ENCODERS else tf.AutoModelForCausalLM
    try:
        model: PreTrainedModel = auto.from_pretrained(path, local_files_only=True, dtype=torch.float32).eval()
    except (OSError, ValueError) as exc:
        raise ModelError(f"transformers cannot load {path}: {str(exc).splitlines()[0]}",
                         "pass a transformers checkpoint folder (config.json + weights)") from None
    return model


@torch.no_grad()
def outputs(model: PreTrainedModel, seed: int = 0) -> np.ndarray:
    """The model's outputs on fixed random tokens (logits, or an encoder's last hidden state)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, model.config.vocab_size, (2, 16), generator=gen)
    out = model(input_ids=ids)
    values: np.ndarray = (out.logits if hasattr(out, "logits") else out.last_hidden_state).double().numpy()
    return values


def _means(path: Path, params: AnalysisParams, samples: int, k: int) -> tuple[float, float]:
    spectra = [analyze_snin(snin_for_checkpoint(path, sample=s, k=k), params).spectrum for s in range(samples)]
    return float(np.mean([s.alpha0 for s in spectra])), float(np.mean([s.width for s in spectra]))


def reparam(path: str | Path, *, factors: Sequence[float] = FACTORS, samples: int = 3, k: int = 32,
            modes: Sequence[str] = MODES, bands: Sequence[str] = BANDS) -> list[ReparamRow]:
    """One row per (factor, mode, band) for the checkpoint folder ``path``."""
    with _quiet_transformers():  # its loading and saving bars would interleave with the caller's output
        return _reparam(Path(path), factors, samples, k, modes, bands)


def _reparam(path: Path, factors: Sequence[float], samples: int, k: int, modes: Sequence[str],
             bands: Sequence[str]) -> list[ReparamRow]:
    model = load_model(path)
    reference = outputs(model)
    params = {(m, b): AnalysisParams(mode=m, band=b) for m in modes for b in bands}
    ref = {key: _means(path, p, samples, k) for key, p in params.items()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="neuromfa-reparam-") as tmp:
        for c in factors:
            changed = rescale_attention(load_model(path), c)
            diff = float(np.abs(outputs(changed) - reference).max())
            out = Path(tmp) / f"c{c:g}"
            changed.save_pretrained(out)
            for (mode, band), p in params.items():
                a0, w = _means(out, p, samples, k)
                rows.append(ReparamRow(factor=c, mode=mode, band=band, max_logit_diff=diff,
                                       alpha0_ref=ref[(mode, band)][0], alpha0=a0,
                                       width_ref=ref[(mode, band)][1], width=w))
    return rows
