"""BERT / RoBERTa encoders (post-norm, sequential blocks)."""

from __future__ import annotations

from neuromfa.ingest.adapters.common import SplitQKVAdapter


class BertAdapter(SplitQKVAdapter):
    """self.query/key/value, attention.output.dense, intermediate.dense, output.dense."""

    family = "bert"
    model_types = ("bert", "roberta")
    templates = {
        "q": "encoder.layer.{b}.attention.self.query.weight",
        "k": "encoder.layer.{b}.attention.self.key.weight",
        "v": "encoder.layer.{b}.attention.self.value.weight",
        "o": "encoder.layer.{b}.attention.output.dense.weight",
        "up": "encoder.layer.{b}.intermediate.dense.weight",
        "down": "encoder.layer.{b}.output.dense.weight",
    }
