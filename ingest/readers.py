"""Open one checkpoint, whatever its format, as a TensorSource.

Accepted: a transformers model directory (config.json plus model.safetensors, sharded
safetensors with model.safetensors.index.json, or pytorch_model*.bin), a weights file beside
its config.json, a .gguf file, or a directory holding exactly one .gguf file.
"""

from __future__ import annotations

import json
from pathlib import Path

from neuromfa.base.errors import ModelError
from neuromfa.ingest.source import ModelConfig, TensorSource, open_sharded

WEIGHT_HINT = (
    "expected a transformers model directory (config.json + model.safetensors, sharded *.safetensors "
    "with model.safetensors.index.json, or pytorch_model*.bin), a .gguf file, or a training-run "
    "directory with stepN / checkpoint-N subfolders"
)


def load_config(path: Path) -> ModelConfig:
    """config.json as a dict; a missing or unreadable file is a ModelError."""
    if not path.is_file():
        raise ModelError(f"{path} is missing", hint="a transformers model directory needs its config.json beside the weights")
    try:
        cfg = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON ({exc})", hint="restore the model's config.json") from exc
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model_type"), str):
        raise ModelError(f"{path} has no model_type", hint="restore the model's config.json (save_pretrained writes it)")
    return cfg


def is_model_path(path: Path) -> bool:
    """True where ``path`` is a single checkpoint (file or directory) rather than a run."""
    path = Path(path)
    if path.is_file():
        return path.suffix in (".gguf", ".safetensors", ".bin")
    if not path.is_dir():
        return False
    return (path / "config.json").is_file() or any(path.glob("*.gguf"))


def _open_dir(d: Path, path: Path) -> TensorSource:
    from neuromfa.ingest.readers_safetensors import SafetensorsSource
    from neuromfa.ingest.readers_torch import TorchBinSource

    st_index = d / "model.safetensors.index.json"
    bin_index = d / "pytorch_model.bin.index.json"
    # a single model.safetensors wins over stray files; otherwise every shard in the folder
    safetensors = [d / "model.safetensors"] if (d / "model.safetensors").is_file() else sorted(d.glob("*.safetensors"))
    bins = [d / "pytorch_model.bin"] if (d / "pytorch_model.bin").is_file() else sorted(d.glob("pytorch_model*.bin"))
    ggufs = sorted(d.glob("*.gguf"))
    if st_index.is_file():
        return open_sharded(SafetensorsSource, st_index, path=path, config=load_config(d / "config.json"))
    if safetensors:
        return SafetensorsSource(safetensors, path=path, config=load_config(d / "config.json"))
    if bin_index.is_file():
        return open_sharded(TorchBinSource, bin_index, path=path, config=load_config(d / "config.json"))
    if bins:
        return TorchBinSource(bins, path=path, config=load_config(d / "config.json"))
    if len(ggufs) == 1:
        return _open_gguf(ggufs[0], path)
    if len(ggufs) > 1:
        raise ModelError(
            f"{d} holds {len(ggufs)} GGUF files ({', '.join(g.name for g in ggufs)})",
            hint="pass the path of the one GGUF file to ingest",
        )
    raise ModelError(f"no model weights found in {d}", hint=WEIGHT_HINT)


def _open_gguf(file: Path, path: Path) -> TensorSource:
    from neuromfa.ingest.readers_gguf import GGUFSource

    return GGUFSource(file, path=path)


def open_model(path: str | Path) -> TensorSource:
    """Open one checkpoint for reading. Raises ModelError for anything missing or unreadable."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"{path} does not exist", hint=WEIGHT_HINT)
    if path.is_dir():
        return _open_dir(path, path)
    if path.suffix == ".gguf":
        return _open_gguf(path, path)
    if path.suffix == ".safetensors":
        from neuromfa.ingest.readers_safetensors import SafetensorsSource

        return SafetensorsSource([path], path=path, config=load_config(path.parent / "config.json"))
    if path.suffix == ".bin":
        from neuromfa.ingest.readers_torch import TorchBinSource

        return TorchBinSource([path], path=path, config=load_config(path.parent / "config.json"))
    raise ModelError(f"{path} is not a model file", hint=WEIGHT_HINT)
