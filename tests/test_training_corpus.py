"""The offline corpus: stdlib default, folders, the split by file, byte tokens, errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from neuromfa.base.errors import ConfigError
from neuromfa.training.corpus import (
    EOS_ID,
    VOCAB_SIZE,
    _read_capped,
    decode,
    encode,
    list_corpus_files,
    load_corpus,
    stdlib_root,
)
from neuromfa.training.presets import checkpoint_steps


def _write_texts(folder: Path, n: int, size: int = 400) -> dict[str, str]:
    texts = {}
    for i in range(n):
        text = f"# file {i}\n" + "".join(f"def f{i}_{j}(x):\n    return x * {j}\n" for j in range(size // 30))
        (folder / f"doc{i:02d}.txt").write_text(text)
        texts[f"doc{i:02d}.txt"] = text
    return texts


def test_encode_decode_round_trip_bytes():
    text = "déf f(x): return 'λ' + x\n"
    tokens = encode(text)
    assert tokens.max() < 256 and len(tokens) == len(text.encode("utf-8"))
    with_specials = np.concatenate([tokens, [EOS_ID]])
    assert decode(with_specials) == text
    assert VOCAB_SIZE > EOS_ID


def test_stdlib_listing_is_sorted_python_source_only():
    files = list_corpus_files(stdlib_root(), stdlib=True)
    assert len(files) > 100
    assert files == sorted(files)
    assert all(f.endswith(".py") for f in files)
    skipped = {"site-packages", "dist-packages", "test", "tests", "__pycache__"}
    assert not any(skipped & set(Path(f).parts) for f in files)
    assert "os.py" in files


def test_stdlib_corpus_respects_caps_and_is_deterministic():
    a = load_corpus(max_train_bytes=50_000, max_val_bytes=10_000)
    b = load_corpus(max_train_bytes=50_000, max_val_bytes=10_000)
    assert a.info.kind == "stdlib" and a.info.root == str(stdlib_root().resolve())
    assert a.info.bytes_train == 50_000 and a.info.bytes_val == 10_000
    # One EOS after each file.
    assert len(a.train) == 50_000 + a.info.files_train
    assert int((a.train == EOS_ID).sum()) == a.info.files_train
    assert a.info.fingerprint == b.info.fingerprint
    assert np.array_equal(a.train, b.train) and np.array_equal(a.val, b.val)
    bigger = load_corpus(max_train_bytes=60_000, max_val_bytes=10_000)
    assert bigger.info.fingerprint != a.info.fingerprint


def test_folder_corpus_splits_by_file(tmp_path):
    texts = _write_texts(tmp_path, 12)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.txt").write_text("never read")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    corpus = load_corpus(tmp_path)
    info = corpus.info
    assert info.kind == "folder"
    assert info.files_train + info.files_val == 12  # hidden and binary files are skipped
    assert info.files_train >= 1 and info.files_val >= 1
    train_docs = decode(corpus.train)
    val_docs = decode(corpus.val)
    assert "never read" not in train_docs + val_docs
    # Every file lands whole in exactly one split.
    for text in texts.values():
        assert (text in train_docs) != (text in val_docs)
    assert info.bytes_train + info.bytes_val == sum(len(t.encode()) for t in texts.values())


def test_folder_corpus_split_does_not_depend_on_other_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    texts = _write_texts(a, 20)
    _write_texts(b, 20)
    (b / "extra.txt").write_text("an unrelated extra file\n" * 10)
    val_a = decode(load_corpus(a).val)
    val_b = decode(load_corpus(b).val)
    for text in texts.values():
        assert (text in val_a) == (text in val_b)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "holds no files"),
        (lambda p: (p / "one.txt").write_text("x" * 100) and p, "holds one file"),
        (lambda p: [(p / f"{i}.bin").write_bytes(b"\x00" * 10) for i in range(3)] and p, "no text files"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is not a folder"),
    ],
    ids=["missing", "empty", "one-file", "binary-only", "a-file"],
)
def test_bad_corpus_folders_raise_config_error(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=message) as err:
        load_corpus(path)
    assert err.value.hint


def test_corpus_too_small_for_a_window(tmp_path):
    (tmp_path / "a.txt").write_text("tiny")
    (tmp_path / "b.txt").write_text("also tiny")
    with pytest.raises(ConfigError, match="fewer than"):
        load_corpus(tmp_path, min_tokens=100)


def test_read_capped_stops_at_the_cap_and_still_probes_for_binary(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"a" * 400)
    (tmp_path / "b.bin").write_bytes(b"b" * 200 + b"\x00" + b"b" * 50)  # NUL past the 100 bytes left
    (tmp_path / "c.txt").write_bytes(b"c" * 400)
    chunks, total = _read_capped(tmp_path, ["a.txt", "b.bin", "c.txt"], 500, hashlib.sha256())
    assert chunks == [b"a" * 400, b"c" * 100] and total == 500


def test_unreadable_corpus_file_raises_config_error_naming_it(tmp_path):
    (tmp_path / "a.txt").write_text("text")
    with pytest.raises(ConfigError, match="cannot read corpus file .*gone.txt") as err:
        _read_capped(tmp_path, ["a.txt", "gone.txt"], 1000, hashlib.sha256())  # deleted after listing
    assert err.value.hint


def test_checkpoint_steps_are_pythia_style():
    assert checkpoint_steps(143000, 512, 1000)[:13] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000]
    assert checkpoint_steps(143000, 512, 1000)[-1] == 143000
    assert len(checkpoint_steps(143000, 512, 1000)) == 11 + 143
    assert checkpoint_steps(1000, 512, 250) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 750, 1000]
    assert checkpoint_steps(20, 512, 8) == [0, 1, 2, 4, 8, 16, 20]
    assert checkpoint_steps(1100, 512, 250) == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 750, 1000, 1100]
    assert checkpoint_steps(0) == [0]
