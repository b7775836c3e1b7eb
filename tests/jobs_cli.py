"""`python tests/jobs_cli.py ARGS` = `neuromfa ARGS` with the job commands registered even
where cli/main.py does not list them yet (tests run the CLI in a subprocess through this)."""

from __future__ import annotations

import importlib

from neuromfa.cli import main as cli_main

MODULES = ["neuromfa.cli.analyze_commands", "neuromfa.cli.jobs_commands", "neuromfa.cli.results_commands"]

for name in MODULES:
    if name not in cli_main.COMMAND_MODULES:
        importlib.import_module(name).register(cli_main.app)

if __name__ == "__main__":
    cli_main.main()
