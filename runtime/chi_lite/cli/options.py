"""Options shared by several subcommands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

model_option = click.option(
    "--model",
    "model_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="CHI_LITE_MODEL",
    help="Artifact directory (default: the shipped model; env CHI_LITE_MODEL).",
)
threads_option = click.option(
    "--threads",
    type=click.IntRange(1),
    default=None,
    help="onnxruntime threads (default 1; env CHI_LITE_THREADS).",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default=None,
    help="Output format (default: table on a terminal; csv into --output files and pipes).",
)


def chain_length_option(help: str, required: bool = False):
    """--chain-length N: segments per chain (polymer molar volume / solvent molar volume), checked later."""
    return click.option("--chain-length", "chain_length", required=required, help=help)


def default_format(fmt: str | None, output_path: Path | None) -> str:
    """A table for a person at a terminal; csv into a file or a pipe, unless --format says otherwise.

    Choosing csv only because stdout is not a terminal is said on stderr, so nobody wonders why
    the same command prints differently when piped.
    """
    if fmt:
        return fmt
    if output_path is not None:
        return "csv"
    if not sys.stdout.isatty():
        click.echo("note: stdout is not a terminal, so writing CSV (--format table|csv|json chooses)", err=True)
        return "csv"
    return "table"
