"""reconciler schema: the manifests' JSON Schema written, or checked against the models."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import fsio
from reconciler.cli.options import fail, handle_errors, say
from reconciler.schema import SCHEMA_PATH, schema_text


@click.command()
@click.option(
    "--path",
    "schema_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=SCHEMA_PATH,
    show_default=True,
    help="Where the schema is kept.",
)
@click.option("--check", is_flag=True, help="Exit 1 if the file differs from the models.")
@handle_errors
def schema(schema_path: Path, check: bool) -> None:
    """Write the manifests' JSON Schema, generated from the models (editors use it).

    \b
    Example:
      reconciler schema --check
    """
    generated = schema_text()
    if check:
        try:
            current = schema_path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != generated:
            fail(f"{schema_path} is out of date; run 'reconciler schema' and commit the result")
        say(f"{schema_path} is up to date.")
        return
    fsio.write_atomic(schema_path, generated.encode())
    say(f"Wrote {schema_path}.")
