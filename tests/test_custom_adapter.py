"""Your own architecture: the README's worked example (examples/custom_adapter.py) end to end on
the real server, the registry's rules, and an adapter installed as an entry point (a package's
dist-info on sys.path) that the CLI finds."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from jobs_helpers import settings_for
from model_builders import tiny_model
from typer.testing import CliRunner

from neuromfa import api
from neuromfa.base.errors import ConfigError, ModelError
from neuromfa.cli import ingest_commands
from neuromfa.ingest import register_adapter
from neuromfa.ingest.adapters import SUPPORTED, Adapter, LlamaAdapter, SplitQKVAdapter, adapter_for, supported_model_types
from neuromfa.ingest.build import snin_for_checkpoint
from neuromfa.ingest.readers import open_model
from neuromfa.schema.layers import KIND_CODE

EXAMPLE = Path(__file__).parents[1] / "examples" / "custom_adapter.py"
K = 8


@pytest.fixture
def registry():
    """The registry as it was before the test (the example registers its adapter on import)."""
    before = dict(SUPPORTED)
    yield SUPPORTED
    SUPPORTED.clear()
    SUPPORTED.update(before)


@pytest.fixture
def example(registry):
    spec = importlib.util.spec_from_file_location("custom_adapter", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_adapter"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("custom_adapter", None)


def test_the_worked_example_ingests_and_analyses(example, store, graph_server, tmp_path, capsys):
    report = example.main(tmp_path, settings=settings_for(graph_server, store))
    assert report.counts() == {"done": 2}
    frame = api.results("tiny-mlp-block", store=store)
    assert len(frame) == 2 and np.isfinite(frame["alpha0"]).all() and (frame["width"] > 0).all()
    assert "alpha0" in capsys.readouterr().out


def test_the_example_adapter_reads_the_models_own_weights(example, tmp_path):
    torch.manual_seed(1)
    model = example.TinyMLPBlockLM(hidden=32, blocks=2, heads=4, mlp=48)
    path = example.save_checkpoint(model, tmp_path / "m")
    g = snin_for_checkpoint(path, sample=0, k=K)
    blocks = model.blocks
    for b, block in enumerate(blocks):
        a = block.attn
        mats = {"qkv": torch.cat([a["wq"].weight, a["wk"].weight, a["wv"].weight]), "attn_out": a["wo"].weight,
                "mlp_hidden": block.mlp["w_in"].weight, "next": block.mlp["w_out"].weight}
        for kind, m in mats.items():
            dst_kind = kind if kind != "next" else ("input" if b + 1 < len(blocks) else "output")
            sel = ~g.structural & (g.block[g.src] == b) & (g.kind[g.dst] == KIND_CODE[dst_kind])
            expected = m.detach().double().numpy()[g.index[g.dst[sel]], g.index[g.src[sel]]]
            assert sel.sum() and np.array_equal(g.w[sel], expected.astype(np.float32).astype(np.float64))
    with open_model(path) as src:
        adapter = adapter_for(src)
    assert type(adapter).__name__ == "TinyMLPBlockAdapter" and adapter.parallel_residual is False
    assert (adapter.attention.heads, adapter.attention.head_dim) == (4, 8)
    with torch.no_grad():  # the checkpoint is a working model
        assert model(torch.zeros(1, 5, dtype=torch.long)).shape == (1, 5, 64)


def test_registration_rules(registry):
    class Mine(LlamaAdapter):
        model_types = ("llama",)

    with pytest.raises(ConfigError, match="'llama' already has the adapter .*LlamaAdapter") as err:
        register_adapter(Mine)
    assert "replace=True" in err.value.hint
    assert register_adapter(Mine, replace=True) is Mine and SUPPORTED["llama"] is Mine
    register_adapter(Mine)  # the same class again: nothing to do
    assert register_adapter(model_types=["acme", "acme2"])(Mine) is Mine
    assert SUPPORTED["acme"] is SUPPORTED["acme2"] is Mine and "acme2" in supported_model_types()

    class Half(SplitQKVAdapter):
        family, model_types, templates = "half", ("half",), {"q": "q.{b}"}

    class Abstract(Adapter):
        family, model_types, templates = "abstract", ("abstract",), {"q": "q.{b}"}

    class Nameless(LlamaAdapter):
        model_types = ()

    with pytest.raises(ConfigError, match="is not an Adapter class"):
        register_adapter(dict)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="leaves .*input_qkv.* unimplemented"):
        register_adapter(Abstract)
    with pytest.raises(ConfigError, match="names no model_type"):
        register_adapter(Nameless)
    assert register_adapter(Half) is Half  # a complete base needs only names


def test_a_registered_adapter_wins_over_a_refusal(registry, tmp_path):
    """A user who can read a mixture-of-experts checkpoint their own way registers for it."""
    tiny_model("llama").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "mixtral"}))
    with open_model(tmp_path) as src, pytest.raises(ModelError, match="mixture-of-experts"):
        adapter_for(src)
    register_adapter(LlamaAdapter, model_types=["mixtral"])
    with open_model(tmp_path) as src:
        assert isinstance(adapter_for(src), LlamaAdapter)


def _plugin(site: Path, name: str, body: str, model_type: str) -> None:
    """An installed distribution: its module and its dist-info declaring the entry point."""
    (site / f"{name}.py").write_text(textwrap.dedent(body))
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[neuromfa.adapters]\n{model_type} = {name}:Adapter\n")


def test_an_entry_point_adapter_serves_the_cli(example, registry, db_env, tmp_path, monkeypatch, store):
    site = tmp_path / "site"
    site.mkdir()
    _plugin(site, "acme_adapters", """
        import custom_adapter

        class Adapter(custom_adapter.TinyMLPBlockAdapter):
            family, model_types = "acme", ("acme_mlp",)
        """, "acme_mlp")
    _plugin(site, "broken_adapters", "raise ImportError('no module named acme_core')\n", "broken_arch")
    monkeypatch.syspath_prepend(str(site))
    registry.pop("tiny_mlp_block")  # only the entry point may serve the model
    path = example.save_checkpoint(example.TinyMLPBlockLM(), tmp_path / "acme")
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "model_type": "acme_mlp"}))
    assert "acme_mlp" in supported_model_types() and "acme_mlp" not in registry  # listed before it is loaded

    app = typer.Typer()
    ingest_commands.register(app)
    app.command("noop")(lambda: None)  # two commands: typer keeps the subcommand name
    result = CliRunner(env=db_env).invoke(app, ["ingest", str(path), "--name", "acme", "--samples", "1", "-k", str(K)])
    assert result.exit_code == 0, result.output
    assert registry["acme_mlp"].__module__ == "acme_adapters"
    assert len(api.graphs("acme", store=store)) == 1

    (path / "config.json").write_text(json.dumps({**config, "model_type": "broken_arch"}))
    with open_model(path) as src, pytest.raises(ModelError) as err:
        adapter_for(src)
    assert "'broken_arch' = 'broken_adapters:Adapter'" in str(err.value) and "acme_core" in str(err.value)
    assert "\n" not in str(err.value)
