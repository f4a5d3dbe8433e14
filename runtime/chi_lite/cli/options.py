"""Options shared by several subcommands."""

from __future__ import annotations

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
    help="Output format (default: table on screen, csv for --output files).",
)


def chain_length_option(help: str, required: bool = False):
    """--chain-length N: segments per chain (polymer molar volume / solvent molar volume), checked later."""
    return click.option("--chain-length", "chain_length", required=required, help=help)
