"""The adapter registry: config ``model_type`` -> Adapter class.

Built-in families are registered here. A user's code adds its own in either of two ways:

- in-process: ``neuromfa.ingest.register_adapter(MyAdapter)`` (also usable as a class decorator),
  for a script or notebook that then ingests through the library;
- installed: an entry point in the group ``neuromfa.adapters`` whose *name is the model_type* and
  whose value is the Adapter class, e.g. in the user's pyproject.toml::

      [project.entry-points."neuromfa.adapters"]
      tiny_mlp_block = "my_package.adapters:TinyMLPBlockAdapter"

  which every process (the CLI, workers) finds. An entry point is loaded only when a checkpoint
  of its model_type is opened, so a broken plugin breaks only its own architecture.

A registered adapter wins over a built-in refusal (mixture-of-experts, state-space).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import overload

from neuromfa.base.errors import ConfigError, ModelError
from neuromfa.ingest.adapters.base import Adapter
from neuromfa.ingest.adapters.encoders import BertAdapter
from neuromfa.ingest.adapters.falcon import FalconAdapter
from neuromfa.ingest.adapters.gpt2 import GPT2Adapter
from neuromfa.ingest.adapters.gptj import GPTJAdapter
from neuromfa.ingest.adapters.llama import GemmaAdapter, LlamaAdapter, StableLmAdapter
from neuromfa.ingest.adapters.neox import GPTNeoXAdapter
from neuromfa.ingest.adapters.opt import OPTAdapter
from neuromfa.ingest.adapters.phi import Phi3Adapter, PhiAdapter
from neuromfa.ingest.adapters.refused import refusal
from neuromfa.ingest.source import ModelConfig, TensorSource

ENTRY_POINT_GROUP = "neuromfa.adapters"

BUILTIN: tuple[type[Adapter], ...] = (
    GPTNeoXAdapter, LlamaAdapter, GPT2Adapter, BertAdapter, GemmaAdapter, PhiAdapter, Phi3Adapter,
    OPTAdapter, GPTJAdapter, FalconAdapter, StableLmAdapter,
)

# model_type -> adapter class: the live registry (built-ins, then what users register)
SUPPORTED: dict[str, type[Adapter]] = {mt: cls for cls in BUILTIN for mt in cls.model_types}


def _check_adapter(cls: object) -> type[Adapter]:
    if not (inspect.isclass(cls) and issubclass(cls, Adapter)):
        raise ConfigError(f"{cls!r} is not an Adapter class", hint="subclass neuromfa.ingest.adapters.SplitQKVAdapter, FusedQKVAdapter or Adapter")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ConfigError(f"adapter {cls.__name__} leaves {missing} unimplemented",
                          hint="implement them, or subclass SplitQKVAdapter / FusedQKVAdapter which do")
    for attr in ("family", "templates"):
        if not getattr(cls, attr, None):
            raise ConfigError(f"adapter {cls.__name__} declares no {attr}", hint=f"set the class attribute {attr}")
    return cls


def _register(cls: type[Adapter], types: Iterable[str], replace: bool) -> None:
    types = tuple(types)
    if not types or not all(isinstance(t, str) and t for t in types):
        raise ConfigError(f"adapter {cls.__name__} names no model_type to register for",
                          hint="set model_types on the class or pass model_types")
    for mt in types:
        held = SUPPORTED.get(mt)
        if held is not None and held is not cls and not replace:
            raise ConfigError(f"model_type {mt!r} already has the adapter {held.__module__}.{held.__qualname__}",
                              hint="pass replace=True to use yours instead")
    for mt in types:
        SUPPORTED[mt] = cls


@overload
def register_adapter(cls: type[Adapter], *, model_types: Iterable[str] | None = None, replace: bool = False) -> type[Adapter]: ...
@overload
def register_adapter(cls: None = None, *, model_types: Iterable[str] | None = None,
                     replace: bool = False) -> Callable[[type[Adapter]], type[Adapter]]: ...


def register_adapter(cls: type[Adapter] | None = None, *, model_types: Iterable[str] | None = None,
                     replace: bool = False) -> type[Adapter] | Callable[[type[Adapter]], type[Adapter]]:
    """Register ``cls`` for ``model_types`` (default: its own ``model_types``) in this process.

    Registering the same class again is a no-op; another class for a taken model_type needs
    ``replace=True`` (which may also replace a built-in). Usable as ``@register_adapter`` or
    ``@register_adapter(model_types=[...])``. Returns the class.
    """

    def apply(c: type[Adapter]) -> type[Adapter]:
        checked = _check_adapter(c)
        _register(checked, model_types if model_types is not None else getattr(checked, "model_types", ()), replace)
        return checked

    return apply if cls is None else apply(cls)


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_entry_point(ep: EntryPoint) -> type[Adapter]:
    where = f"entry point {ep.name!r} = {ep.value!r} ({ENTRY_POINT_GROUP})"
    try:
        loaded = ep.load()
    except Exception as exc:  # a plugin's import may fail any way; one line saying which
        raise ModelError(f"the adapter {where} failed to load: {type(exc).__name__}: {exc}",
                         hint="fix or uninstall the package that declares it") from exc
    try:
        cls = _check_adapter(loaded)
    except ConfigError as exc:
        raise ModelError(f"the adapter {where}: {exc.message}", hint=exc.hint) from exc
    SUPPORTED.setdefault(ep.name, cls)
    return SUPPORTED[ep.name]


def supported_model_types() -> list[str]:
    """Every model_type with an adapter: registered here or declared by an installed entry point."""
    return sorted(set(SUPPORTED) | set(_entry_points()))


def adapter_class(model_type: str, config: ModelConfig | None = None, where: str = "") -> type[Adapter]:
    """The adapter class for ``model_type``: registered, else an installed entry point; a
    ModelError saying why for refused families and listing the supported types otherwise."""
    cls = SUPPORTED.get(model_type)
    if cls is not None:
        return cls
    ep = _entry_points().get(model_type)
    if ep is not None:
        return _load_entry_point(ep)
    at = f" in {where}" if where else ""
    why = refusal(model_type, config or {})
    if why is not None:
        raise ModelError(f"{model_type!r}{at} is {why}",
                         hint="neuromfa reads transformers whose blocks are attention followed by one MLP")
    raise ModelError(
        f"unsupported architecture {model_type!r}{at}",
        hint=f"supported model types: {', '.join(supported_model_types())}; "
             "register an adapter for another one (neuromfa.ingest.register_adapter)",
    )


def adapter_for(source: TensorSource) -> Adapter:
    """The adapter for the source's ``model_type``, built on the source."""
    model_type = source.config.get("model_type")
    if not isinstance(model_type, str):
        raise ModelError(f"{source.path} has no model_type in its config", hint="restore the model's config.json")
    return adapter_class(model_type, source.config, str(source.path))(source)
