"""Your own architecture: a tiny custom transformer (attention + MLP blocks with its own tensor
names) and the adapter that lets neuromfa read it. Tested by tests/test_custom_adapter.py.

    python examples/custom_adapter.py OUT_DIR     # needs a graph server (neuromfa db start)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from neuromfa import api
from neuromfa.base.settings import DatabaseSettings
from neuromfa.ingest import register_adapter
from neuromfa.ingest.adapters import SplitQKVAdapter

MODEL_TYPE = "tiny_mlp_block"


class Block(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then + mlp(norm(.)) (sequential, like Llama)."""

    def __init__(self, hidden: int, heads: int, mlp: int):
        super().__init__()
        self.heads = heads
        self.attn_norm, self.mlp_norm = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.attn = nn.ModuleDict({n: nn.Linear(hidden, hidden, bias=False) for n in ("wq", "wk", "wv", "wo")})
        self.mlp = nn.ModuleDict({"w_in": nn.Linear(hidden, mlp), "w_out": nn.Linear(mlp, hidden)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        y = self.attn_norm(x)
        q, k, v = (self.attn[n](y).view(b, s, self.heads, -1).transpose(1, 2) for n in ("wq", "wk", "wv"))
        ctx = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, s, h)
        x = x + self.attn["wo"](ctx)
        return x + self.mlp["w_out"](nn.functional.gelu(self.mlp["w_in"](self.mlp_norm(x))))


class TinyMLPBlockLM(nn.Module):
    def __init__(self, vocab: int = 64, hidden: int = 32, blocks: int = 2, heads: int = 4, mlp: int = 64):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.blocks = nn.ModuleList(Block(hidden, heads, mlp) for _ in range(blocks))
        self.norm, self.head = nn.LayerNorm(hidden), nn.Linear(hidden, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def save_checkpoint(model: TinyMLPBlockLM, path: Path) -> Path:
    """A checkpoint neuromfa opens: config.json (with model_type) beside model.safetensors."""
    path.mkdir(parents=True, exist_ok=True)
    first = model.blocks[0]
    config = {"model_type": MODEL_TYPE, "hidden_size": model.embed.embedding_dim, "num_hidden_layers": len(model.blocks),
              "num_attention_heads": first.heads, "intermediate_size": first.mlp["w_in"].out_features}
    (path / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path / "model.safetensors"))
    return path


@register_adapter  # or, for the CLI and workers: an entry point in the group "neuromfa.adapters"
class TinyMLPBlockAdapter(SplitQKVAdapter):
    """Separate q/k/v, an output projection and a plain two-layer MLP: only the names differ."""

    family = "tiny_mlp_block"
    model_types = (MODEL_TYPE,)
    parallel = False  # the MLP reads the attention sum
    templates = {  # role -> tensor name, {b} the block; biases and norms are never edges
        "q": "blocks.{b}.attn.wq.weight",
        "k": "blocks.{b}.attn.wk.weight",
        "v": "blocks.{b}.attn.wv.weight",
        "o": "blocks.{b}.attn.wo.weight",
        "up": "blocks.{b}.mlp.w_in.weight",
        "down": "blocks.{b}.mlp.w_out.weight",
    }


def main(out: Path, settings: DatabaseSettings | None = None) -> api.AnalyzeReport:
    """Build the model, ingest 2 samples of k = 8 neurons per layer and analyse them (one-hop).
    ``settings``: the graph database (default: the NEO4J_* environment / the local server)."""
    torch.manual_seed(0)
    path = save_checkpoint(TinyMLPBlockLM(), out / "tiny-mlp-block")
    api.ingest(path, name="tiny-mlp-block", samples=2, k=8, settings=settings)
    report = api.analyze("tiny-mlp-block", mode="one-hop", settings=settings)
    print(api.results("tiny-mlp-block", settings=settings)[["step", "sample", "alpha0", "width"]])
    return report


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "custom-adapter-out"))
