"""The command line, a thin shell over the library: the group, and where each command is."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import click

from reconciler import __version__
from reconciler.textsafe import safe_line

#: Each command and where it is, imported only when run (or listed by --help): `validate` never
#: loads what `apply` needs (boto3 alone takes longer than validating a small repository). A new
#: command is a module of cli/ (a click.command, using cli/options.py) and one line here.
COMMANDS = {
    "validate": "reconciler.cli.validate:validate",
    "plan": "reconciler.cli.review:plan",
    "audit": "reconciler.cli.review:audit",
    "apply": "reconciler.cli.apply:apply",
    "import": "reconciler.cli.importing:import_command",
    "forget": "reconciler.cli.importing:forget_command",
    "github": "reconciler.cli.github:github",
    "targets": "reconciler.cli.targets:targets_command",
    "graph": "reconciler.cli.graph:graph_command",
    "schema": "reconciler.cli.schema:schema",
    "sandbox": "reconciler.cli.sandbox:sandbox",
}


class _Group(click.Group):
    """The commands of COMMANDS, each loaded when needed. click's usage errors quote the
    arguments given (an unknown option, a bad value): shown through `visible`, like every other
    message."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, name = where.split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _quoting_safely():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _quoting_safely():
            return super().invoke(ctx)


@contextlib.contextmanager
def _quoting_safely() -> Iterator[None]:
    try:
        yield
    except click.ClickException as exc:
        # click declares the message final, but formats the error from it when shown.
        setattr(exc, "message", safe_line(exc.message))  # noqa: B010
        raise


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="reconciler")
def cli() -> None:
    """GitOps for Amazon SageMaker ML lineage.

    Declare the lineage graph (artifacts, contexts, actions, associations) as YAML manifests,
    review the plan on a pull request, apply it on merge; every ARN is written back to a lockfile
    committed beside the manifests.

    \b
    Example:
      reconciler validate && reconciler plan
    """


def main() -> None:
    cli(prog_name="reconciler")
