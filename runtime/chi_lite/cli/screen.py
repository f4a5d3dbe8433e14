"""`chi-lite screen`: rank a solvent library for one or several polymers."""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from .options import chain_length_option, default_format, format_option, model_option, refuse_same_file, threads_option
from ..limits import check_threads
from ..units import celsius
from .output import render

MAX_LISTED_BAD_ROWS = 20


def _read_polymers(path: Path) -> list[str]:
    from ..errors import InputFileError

    if not path.is_file():
        raise InputFileError(f"polymers file {path} does not exist")
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    except UnicodeDecodeError:
        raise InputFileError(f"polymers file {path} is not UTF-8 text: save it as UTF-8") from None
    polymers = [ln for ln in lines if ln and not ln.startswith("#")]
    if not polymers:
        raise InputFileError(f"polymers file {path} lists no polymer")
    return polymers


@click.command()
@click.option("--polymer", "polymer_list", multiple=True, help="Polymer name or repeat-unit SMILES; repeat for a matrix.")
@click.option("--profile", "profile_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A calibrated polymer (chi-lite calibrate); repeatable, may be mixed with --polymer (profiles come first).")
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
@click.option("--jobs", type=click.IntRange(1), default=1, show_default=True, help="Processes computing descriptors (max 8; pays off only for thousands of new solvents on idle cores).")
@click.option("--dask", "dask_address", metavar="local[:N]|tcp://HOST:PORT",
              help="Screen on Dask: a LocalCluster of N worker processes (default: the cores) or a running scheduler.")
@click.option("--dask-scheduler-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Screen on the Dask cluster whose scheduler wrote FILE (dask-jobqueue, dask-mpi).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Per-partition embedding caches in DIR (with --dask or a Parquet --output).")
@chain_length_option("Chain length N (segments of solvent size) of the verdict; default: a long chain.")
@format_option
@model_option
@threads_option
def screen(polymer_list, profile_paths, polymers_file, library, temperature, kelvin, top, sort, output_path, cache_path, jobs,
           dask_address, dask_scheduler_file, cache_dir, chain_length, fmt, model_dir, threads) -> None:
    """Rank the solvents of a library by predicted χ for a polymer (several polymers: a matrix, ranked by the first)."""
    refuse_same_file(library=library, polymers=polymers_file, output=output_path, cache=cache_path)
    polymers = list(polymer_list) + (_read_polymers(polymers_file) if polymers_file else [])
    if not polymers and not profile_paths:
        raise click.UsageError("give --polymer NAME|SMILES (repeatable), --profile FILE or --polymers FILE")
    if threads is not None:
        check_threads(threads)  # before it reaches the BLAS variables below
    # numpy's BLAS must not take every core unasked (house rule: one thread unless told otherwise)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads or 1))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads or 1))

    from ..library import describe
    from ..units import to_kelvin
    from ..screening import Screener

    from ..flory_huggins import check_chain_length

    from ..units import kelvin_warning

    to_kelvin(temperature, kelvin)  # refuse a bad temperature or chain length before loading anything
    if (warning := kelvin_warning(temperature, kelvin)):
        click.echo(warning, err=True)
    if chain_length is not None:
        chain_length = check_chain_length(chain_length)
    info = describe(library)
    parquet_output = output_path is not None and output_path.suffix.lower() == ".parquet"
    partitioned = bool(dask_address or dask_scheduler_file or parquet_output or cache_dir)  # chi_lite.distributed
    if partitioned and cache_path is not None:
        raise click.UsageError("--cache is one file for one process: with --dask or a Parquet --output use --cache-dir DIR")
    with Screener(model_dir, threads=threads, jobs=jobs) as screener:
        polymers = [screener.predictor.load_profile(p) for p in profile_paths] + polymers
        show_bar = sys.stderr.isatty() and info.lines > 2000  # silent when piped or logged
        bar_context = click.progressbar(length=info.lines, label="screening", file=sys.stderr) if show_bar else nullcontext()
        with bar_context as bar:
            if partitioned:
                from ..distributed import screen_from_cli

                result = screen_from_cli(screener, polymers, library, temperature, kelvin=kelvin, top=top, sort=sort,
                                         output=output_path if parquet_output else None, cache_dir=cache_dir,
                                         dask=dask_address, scheduler_file=dask_scheduler_file, chain_length=chain_length,
                                         progress=bar.update if bar is not None else None)
                output_path = None if parquet_output else output_path  # parts written; the ranking goes to stdout
            else:
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
        from ..answer import json_text  # never NaN or Infinity in JSON

        text = json_text(
            {
                "polymers": [{"input": p, "smiles": s} for p, s in zip(result.polymers, result.polymer_smiles)],
                "temperature_k": result.temperature_k,
                "library": info.label,
                "rows_read": result.rows_read,
                "skipped": [{"line": ln, "error": e} for ln, e in result.bad_rows],
                "ranking": [{c: r.get(c) for c in columns} for r in result.rows],
            },
        ) + "\n"
    else:
        text = render(result.rows, columns, fmt)
    if output_path is not None:
        output_path.write_text(text, encoding="utf-8")
    elif result.rows or not parquet_output:  # a Parquet output without --top: every row is in the parts
        click.echo(text, nl=False)
    scored = result.rows_read - len(result.bad_rows)
    source = "embedding cache" if result.from_disk_cache else f"{result.descriptors_computed} new solvents featurized"
    click.echo(f"screened {scored} of {result.rows_read} library rows for {'; '.join(result.polymers)} at {celsius(result.temperature_k):.2f} °C "
               f"({source})", err=True)
