"""`chi-lite screen`: rank a solvent library for one or several polymers."""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from .options import chain_length_option, default_format, format_option, model_option, threads_option
from ..units import celsius
from .output import render

MAX_LISTED_BAD_ROWS = 20


def _read_polymers(path: Path) -> list[str]:
    from ..errors import InputFileError

    if not path.is_file():
        raise InputFileError(f"polymers file {path} does not exist")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    polymers = [ln for ln in lines if ln and not ln.startswith("#")]
    if not polymers:
        raise InputFileError(f"polymers file {path} lists no polymer")
    return polymers


@click.command()
@click.option("--polymer", "polymer_list", multiple=True, help="Polymer name or repeat-unit SMILES; repeat for a matrix.")
@click.option("--polymers", "polymers_file", type=click.Path(dir_okay=False, path_type=Path),
              help="File with one polymer name or SMILES per line.")
@click.option("--library", default="builtin", show_default=True,
              help="'builtin' (the named solvents), a SMILES file (one per line) or a CSV with a smiles column.")
@click.option("--temperature", default="25", show_default=True, help="Temperature (°C unless --kelvin).")
@click.option("--kelvin", is_flag=True, help="The temperature is in kelvin.")
@click.option("--top", type=click.IntRange(1), default=None, help="Keep only the K best solvents (bounds memory).")
@click.option("--sort", type=click.Choice(["chi", "p_miscible"]), default="chi", show_default=True,
              help="Rank by χ (lowest first) or by p_miscible (highest first; needs a trained miscibility head).")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the ranking here.")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the library's solvent embeddings in FILE; reused while model and library are unchanged.")
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True, help="Processes computing descriptors.")
@chain_length_option("Chain length N (segments of solvent size): adds chi_critical, miscible and p_miscible_fh.")
@format_option
@model_option
@threads_option
def screen(polymer_list, polymers_file, library, temperature, kelvin, top, sort, output_path, cache_path, jobs,
           chain_length, fmt, model_dir, threads) -> None:
    """Rank the solvents of a library by predicted χ for a polymer (several polymers: a matrix, ranked by the first)."""
    polymers = list(polymer_list) + (_read_polymers(polymers_file) if polymers_file else [])
    if not polymers:
        raise click.UsageError("give --polymer NAME|SMILES (repeatable) or --polymers FILE")
    # numpy's BLAS must not take every core unasked (house rule: one thread unless told otherwise)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads or 1))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))

    from ..library import describe
    from ..predictor import to_kelvin
    from ..screening import Screener

    from ..flory_huggins import check_chain_length

    to_kelvin(temperature, kelvin)  # refuse a bad temperature or chain length before loading anything
    if chain_length is not None:
        chain_length = check_chain_length(chain_length)
    info = describe(library)
    with Screener(model_dir, threads=threads, jobs=jobs) as screener:
        show_bar = sys.stderr.isatty() and info.lines > 2000  # silent when piped or logged
        bar_context = click.progressbar(length=info.lines, label="screening", file=sys.stderr) if show_bar else nullcontext()
        with bar_context as bar:
            result = screener.screen(polymers, library, temperature, kelvin=kelvin, top=top, sort=sort,
                                     cache=cache_path, progress=bar.update if bar is not None else None,
                                     chain_length=chain_length)
        columns = screener.columns(result)

    for line, error in result.bad_rows[:MAX_LISTED_BAD_ROWS]:
        click.echo(f"warning: {info.label} line {line}: {error} (skipped)", err=True)
    if len(result.bad_rows) > MAX_LISTED_BAD_ROWS:
        click.echo(f"warning: … and {len(result.bad_rows) - MAX_LISTED_BAD_ROWS} more invalid rows skipped", err=True)
    fmt = default_format(fmt, output_path)
    if fmt == "json":
        text = json.dumps(
            {
                "polymers": [{"input": p, "smiles": s} for p, s in zip(result.polymers, result.polymer_smiles)],
                "temperature_k": result.temperature_k,
                "library": info.label,
                "rows_read": result.rows_read,
                "skipped": [{"line": ln, "error": e} for ln, e in result.bad_rows],
                "ranking": [{c: r.get(c) for c in columns} for r in result.rows],
            },
            indent=2,
            ensure_ascii=False,
        ) + "\n"
    else:
        text = render(result.rows, columns, fmt)
    if output_path is not None:
        output_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    scored = result.rows_read - len(result.bad_rows)
    source = "embedding cache" if result.from_disk_cache else f"{result.descriptors_computed} new solvents featurized"
    click.echo(f"screened {scored} of {result.rows_read} library rows at {celsius(result.temperature_k):.2f} °C "
               f"({source})", err=True)
