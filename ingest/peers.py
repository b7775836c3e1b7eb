"""WeightWatcher as a peer metric (the optional ``neuromfa[peers]`` extra, PyPI
``weightwatcher``): its own ``analyze`` on the checkpoint's folder (it reads the safetensors or
PyTorch files itself, with its default layer selection, embeddings included) and its own
``get_summary`` means over the layers it analysed. See schema.records.PeerMetrics for what
alpha, alpha_weighted and log_norm mean there.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neuromfa.base.errors import ConfigError, ModelError
from neuromfa.schema.records import PeerMetrics

INSTALL_HINT = "install the optional extra: pip install 'neuromfa[peers]' (PyPI weightwatcher)"


@contextlib.contextmanager
def _contained() -> Iterator[None]:
    """WeightWatcher prints at import, calls logging.basicConfig(level=INFO) (configuring the
    root logger of the whole process) and logs at INFO through the root logger: keep its stdout,
    its warnings and its root-logger changes inside this block."""
    root = logging.getLogger()
    handlers, level, disabled = root.handlers[:], root.level, logging.root.manager.disable
    logging.disable(logging.WARNING)  # it raises logger levels back to INFO as it runs
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root.setLevel(logging.ERROR)
            logging.getLogger("weightwatcher").setLevel(logging.ERROR)
            yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.disable(disabled)


def peers_available() -> bool:
    """Whether the weightwatcher package can be imported."""
    try:
        with _contained():
            import weightwatcher  # noqa: F401
    except ImportError:
        return False
    return True


def check_peers() -> None:
    """ConfigError (one line, before any work) when the peers extra is not installed."""
    if not peers_available():
        raise ConfigError("peer metrics need the weightwatcher package, which is not installed", INSTALL_HINT,
                          param="peers")


def _value(summary: dict[str, Any], key: str) -> float | None:
    v = summary.get(key)
    return float(v) if v is not None and math.isfinite(float(v)) else None


def peer_metrics(path: str | Path) -> PeerMetrics:
    """WeightWatcher's alpha, alpha_weighted and log_norm of the checkpoint folder ``path``."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(f"{folder} is not a checkpoint folder; WeightWatcher reads safetensors or PyTorch folders",
                         "ingest without peers, or ingest the model's transformers folder")
    with _contained():
        import weightwatcher as ww

        logging.getLogger("weightwatcher").setLevel(logging.ERROR)
        watcher = ww.WeightWatcher(model=str(folder))
        details = watcher.analyze()
        summary = watcher.get_summary(details)
    layers = int(len(details)) if details is not None else 0
    if not layers:
        raise ModelError(f"WeightWatcher analysed no layer of {folder}",
                         "its layers need at least 50 eigenvalues (min_evals); ingest without peers")
    return PeerMetrics(ww_alpha=_value(summary, "alpha"), ww_alpha_weighted=_value(summary, "alpha_weighted"),
                       ww_log_norm=_value(summary, "log_norm"), ww_layers=layers, ww_version=str(ww.__version__))
