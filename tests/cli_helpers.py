"""The `neuromfa` command run in this process (as its entry point does), for tests that make
many CLI calls: no interpreter start-up per call."""

from __future__ import annotations

import sys

import pytest

from neuromfa.cli.main import main

# Variables a CLI run reads; cleared first so only the given environment counts.
ENV_KEYS = ("NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE",
            "NEO4J_READ_USERNAME", "NEO4J_READ_PASSWORD", "NEUROMFA_HOME",
            "NEUROMFA_BOLT_PORT", "NEUROMFA_HTTP_PORT")


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `neuromfa *args` in this process under ``env``."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
        if key in env:
            monkeypatch.setenv(key, env[key])
    monkeypatch.setattr(sys, "argv", ["neuromfa", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return exited.value.code or 0, out, err
