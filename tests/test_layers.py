"""The import graph follows the layers of docs/architecture.md (import-linter contracts in
pyproject.toml), and no module outside store/ executes Cypher."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_tree(dest: Path) -> Path:
    """The package laid out as one folder of links (its subpackages live in top-level folders)."""
    pkg = dest / "neuromfa"
    pkg.mkdir(parents=True)
    for f in (ROOT / "neuromfa").glob("*.py"):
        (pkg / f.name).symlink_to(f)
    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for name, folder in dirs.items():
        if name != "neuromfa":
            (dest / Path(*name.split("."))).symlink_to(ROOT / folder)
    return dest


def test_import_contracts_hold(tmp_path):
    tree = package_tree(tmp_path / "tree")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), str(ROOT / "pyproject.toml"), "--no-cache"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout and "KEPT" in out.stdout


def test_no_module_outside_store_executes_cypher():
    calls = re.compile(r"\b(store|tx|session)\.(read|write|run)\(|\bcypher\(\"|import cypher\b|statements import .*\bcypher\b")
    offenders = []
    for folder in ("analysis", "base", "schema", "ingest", "training", "jobs", "queries", "results",
                   "plots", "experiments", "neuromfa", "cli"):
        for path in (ROOT / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if calls.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
