"""An offline text corpus for the example training run, tokenised at the byte level.

Default source: the Python standard library's own ``*.py`` files (every Python install has
them). ``load_corpus(path)`` takes any folder of text files instead. Files are listed in sorted
order; the validation split is chosen by file from a hash of each file's relative path, so it
is deterministic and does not shift when an unrelated file is added. Each split is capped in
bytes (files are consumed in hash order, which spreads the cap over the whole tree instead of
the alphabetically first packages).
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from neuromfa.base.errors import ConfigError, param

# Byte-level vocabulary: 0..255 are the bytes themselves, then the specials.
EOS_ID = 256  # document separator (also BOS, as in GPT-NeoX/Pythia)
PAD_ID = 257  # never produced by encode(); reserved so that padded batches have a token
VOCAB_SIZE = 258

# Parts of the stdlib tree that are not the standard library's own source.
_STDLIB_SKIP = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}
_BINARY_PROBE = 8192


class CorpusInfo(BaseModel):
    """What the corpus is; stored in run.json. ``fingerprint`` hashes every byte used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["stdlib", "folder"]
    root: str
    files_train: int
    files_val: int
    bytes_train: int
    bytes_val: int
    fingerprint: str

    def describe(self) -> str:
        source = "Python standard library source" if self.kind == "stdlib" else "folder"
        return (
            f"{source} {self.root}: {self.files_train} train files ({self.bytes_train:,} bytes), "
            f"{self.files_val} validation files ({self.bytes_val:,} bytes)"
        )


@dataclass(frozen=True)
class Corpus:
    """Token streams (uint16; documents separated by EOS_ID) and their description."""

    info: CorpusInfo
    train: np.ndarray
    val: np.ndarray


def encode(data: bytes | str) -> np.ndarray:
    """Bytes (str is UTF-8 encoded) -> token ids 0..255."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return np.frombuffer(raw, dtype=np.uint8).astype(np.uint16)


def decode(tokens: np.ndarray | list[int]) -> str:
    """Token ids -> text; specials are dropped, invalid UTF-8 is replaced."""
    arr = np.asarray(tokens, dtype=np.int64)
    return bytes(arr[arr < 256].astype(np.uint8).tolist()).decode("utf-8", errors="replace")


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def list_corpus_files(root: Path, stdlib: bool) -> list[str]:
    """Relative POSIX paths of candidate files under root, sorted. ``stdlib``: only ``*.py``,
    without site-packages and the test suites."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        # Prune in place so os.walk does not descend; hidden folders (.git, ...) never hold text
        # a user meant to train on.
        dirnames[:] = [
            d for d in dirnames if not d.startswith(".") and not (stdlib and d in _STDLIB_SKIP)
        ]
        for name in filenames:
            if name.startswith("."):
                continue
            if stdlib and not name.endswith(".py"):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append((rel_dir / name).as_posix())
    return sorted(found)


def _split_key(rel: str) -> int:
    return int.from_bytes(hashlib.sha1(rel.encode("utf-8")).digest()[:8], "big")


def _split(files: list[str], val_fraction: float) -> tuple[list[str], list[str]]:
    """Deterministic split by file; both halves non-empty (needs >= 2 files)."""
    keyed = sorted(files, key=lambda rel: (_split_key(rel), rel))
    threshold = int(val_fraction * 2**64)
    val = [rel for rel in keyed if _split_key(rel) < threshold]
    train = [rel for rel in keyed if _split_key(rel) >= threshold]
    if not val:
        val, train = train[:1], train[1:]
    if not train:
        train, val = val[-1:], val[:-1]
    return train, val


def _read_capped(root: Path, files: list[str], cap: int, h: hashlib._Hash) -> tuple[list[bytes], int]:
    """Read files in order until ``cap`` bytes; binary and empty files are skipped. Only the
    bytes still needed are read (at least the binary probe), not whole files."""
    chunks: list[bytes] = []
    total = 0
    for rel in files:
        if total >= cap:
            break
        try:
            with open(root / rel, "rb") as fh:
                data = fh.read(max(cap - total, _BINARY_PROBE))
        except OSError as exc:
            raise ConfigError(
                f"cannot read corpus file {root / rel}: {exc.strerror or exc}",
                f"make it readable, or use a corpus folder without it ({param('corpus')})", param="corpus",
            ) from None
        if not data or b"\x00" in data[:_BINARY_PROBE]:
            continue
        data = data[: cap - total]
        chunks.append(data)
        total += len(data)
        h.update(rel.encode("utf-8") + b"\x00" + data + b"\x00")
    return chunks, total


def _stream(chunks: list[bytes]) -> np.ndarray:
    if not chunks:
        return np.zeros(0, dtype=np.uint16)
    parts: list[np.ndarray] = []
    eos = np.array([EOS_ID], dtype=np.uint16)
    for chunk in chunks:
        parts.append(encode(chunk))
        parts.append(eos)
    return np.concatenate(parts)


def load_corpus(
    path: str | Path | None = None,
    *,
    max_train_bytes: int = 4_000_000,
    max_val_bytes: int = 256_000,
    val_fraction: float = 0.1,
    min_tokens: int = 2,
) -> Corpus:
    """Load the corpus: ``path=None`` is the standard library's source, else a folder of text
    files. Raises ConfigError for a missing, empty or too small corpus; ``min_tokens`` is the
    least number of tokens each split must hold (a training window)."""
    if path is None:
        root, kind, stdlib = stdlib_root(), "stdlib", True
        hint = f"pass {param('corpus')}: a folder with text files"
    else:
        root, kind, stdlib = Path(path).expanduser(), "folder", False
        hint = "pass a folder that holds at least two text files"
        if not root.exists():
            raise ConfigError(f"corpus folder {root} does not exist", hint)
        if not root.is_dir():
            raise ConfigError(f"corpus {root} is not a folder", hint)
    root = root.resolve()
    files = list_corpus_files(root, stdlib) if root.is_dir() else []
    if not files:
        what = "no Python source files" if stdlib else "no files"
        raise ConfigError(f"corpus folder {root} holds {what}", hint)
    if len(files) < 2:
        raise ConfigError(
            f"corpus folder {root} holds one file; the validation split is taken by file", hint
        )
    train_files, val_files = _split(files, val_fraction)
    h = hashlib.sha256()
    train_chunks, train_bytes = _read_capped(root, train_files, max_train_bytes, h)
    val_chunks, val_bytes = _read_capped(root, val_files, max_val_bytes, h)
    if not train_chunks and not val_chunks:
        raise ConfigError(f"corpus folder {root} holds no text files (all empty or binary)", hint)
    train, val = _stream(train_chunks), _stream(val_chunks)
    for name, stream in (("training", train), ("validation", val)):
        if len(stream) < min_tokens:
            raise ConfigError(
                f"corpus folder {root}: the {name} split holds {len(stream)} tokens, "
                f"fewer than the {min_tokens} one training window needs",
                "add more text files or larger ones",
            )
    info = CorpusInfo(
        kind=kind,
        root=str(root),
        files_train=len(train_chunks),
        files_val=len(val_chunks),
        bytes_train=train_bytes,
        bytes_val=val_bytes,
        fingerprint=h.hexdigest(),
    )
    return Corpus(info=info, train=train, val=val)
