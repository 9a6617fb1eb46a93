"""The command line (`reconciler`, `python -m reconciler`)."""

from reconciler.cli.commands import cli, main

__all__ = ["cli", "main"]
