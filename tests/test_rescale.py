"""The function-preserving attention rescaling preserves each family's function (its own
forward pass) while it changes the weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_builders import CONFIGS, logits, tiny_model

from neuromfa.base.errors import ModelError
from neuromfa.experiments.rescale import rescale_attention


@pytest.mark.parametrize("family", sorted(CONFIGS))
@pytest.mark.parametrize("c", [1 / 3, 0.5, 2.0, 3.0])
def test_rescaling_keeps_the_outputs_and_changes_the_weights(family, c):
    model = tiny_model(family, seed=5)
    before = logits(model)
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    rescale_attention(model, c)
    assert np.abs(logits(model) - before).max() < 1e-4
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, weights[n])]
    assert len(changed) >= 2 * model.config.num_hidden_layers  # at least qkv and the output projection per block


def test_an_unknown_family_is_refused():
    with pytest.raises(ModelError, match="not a transformers model"):
        rescale_attention(torch.nn.Linear(2, 2).requires_grad_(False), 2.0)
