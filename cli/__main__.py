"""`python -m neuromfa.cli` is the `neuromfa` command."""

from neuromfa.cli.main import main

main()
