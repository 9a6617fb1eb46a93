"""The command line, a thin shell over the library: the group, and where each command is."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

from reconciler import __version__
from reconciler.cli.apply import apply
from reconciler.cli.github import github
from reconciler.cli.graph import graph_command
from reconciler.cli.importing import forget_command, import_command
from reconciler.cli.review import audit, plan
from reconciler.cli.sandbox import sandbox
from reconciler.cli.targets import targets_command
from reconciler.cli.validate import schema, validate
from reconciler.textsafe import safe_line


class _Group(click.Group):
    """click's usage errors quote the arguments given (an unknown option, a bad value): shown
    through `visible`, like every other message."""

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
    """GitOps for Amazon SageMaker ML lineage artifacts.

    Declare artifacts as YAML manifests, review the plan on a pull request, apply it on merge;
    every ARN is written back to a lockfile committed beside the manifests.

    \b
    Example:
      reconciler validate && reconciler plan
    """


cli.add_command(validate)
cli.add_command(plan)
cli.add_command(audit)
cli.add_command(apply)
cli.add_command(import_command)
cli.add_command(forget_command)
cli.add_command(github)
cli.add_command(targets_command)
cli.add_command(graph_command)
cli.add_command(schema)
cli.add_command(sandbox)


def main() -> None:
    cli(prog_name="reconciler")
