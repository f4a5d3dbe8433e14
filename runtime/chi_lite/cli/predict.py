"""`chi-lite predict`: χ(T) for one pair, or for every row of a CSV file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .options import format_option, model_option, threads_option
from .output import render

RESULT_COLUMNS = ["chi", "chi_std", "A", "B", "error"]
SINGLE_COLUMNS = ["polymer", "solvent", "temperature_c", "temperature_k", "chi", "chi_std", "A", "B"]


def _single_table(p: Any) -> str:
    return (
        f"polymer      {p.polymer}\n"
        f"solvent      {p.solvent}\n"
        f"temperature  {p.temperature_c:.2f} °C ({p.temperature_k:.2f} K)\n"
        f"chi          {p.chi:.3f} ± {p.chi_std:.3f}\n"
        f"chi(T)       A + B/T = {p.A:.4f} + {p.B:.2f} K / T\n"
    )


@click.command()
@click.option("--polymer", help="Polymer name (polystyrene, PMMA, …) or repeat-unit SMILES with two '*'.")
@click.option("--solvent", help="Solvent name (toluene, THF, …) or SMILES.")
@click.option("--temperature", help="Temperature (°C unless --kelvin).")
@click.option("--kelvin", is_flag=True, help="Temperatures are in kelvin.")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path), help="CSV with columns polymer,solvent,temperature.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), help="Write batch results here instead of stdout.")
@format_option
@model_option
@threads_option
def predict(polymer, solvent, temperature, kelvin, input_path, output_path, fmt, model_dir, threads) -> None:
    """Predict χ ± σ and χ(T) = A + B/T for a polymer–solvent pair or a file of pairs."""
    single = [v is not None for v in (polymer, solvent, temperature)]
    if input_path is None and not all(single):
        missing = [n for n, given in zip(("--polymer", "--solvent", "--temperature"), single) if not given]
        raise click.UsageError(f"missing {', '.join(missing)} (or give --input FILE)")
    if input_path is not None and any(single):
        raise click.UsageError("give either --input FILE or --polymer/--solvent/--temperature, not both")
    if output_path is not None and input_path is None:
        raise click.UsageError("--output is for batch runs with --input")

    from ..batch_io import read_pairs
    from ..predictor import ChiPredictor, to_kelvin

    if input_path is None:
        to_kelvin(temperature, kelvin)  # refuse a bad temperature before loading anything
        predictor = ChiPredictor(model_dir, threads=threads)
        p = predictor.predict(polymer, solvent, temperature, kelvin=kelvin)
        fmt = fmt or "table"
        if fmt == "table":
            click.echo(_single_table(p), nl=False)
        elif fmt == "json":  # a single pair is one object, not a list
            click.echo(json.dumps({c: p.to_dict()[c] for c in SINGLE_COLUMNS}, indent=2, ensure_ascii=False))
        else:
            click.echo(render([p.to_dict()], SINGLE_COLUMNS, fmt), nl=False)
        return

    header, rows = read_pairs(input_path)
    predictor = ChiPredictor(model_dir, threads=threads)
    outcomes = predictor.predict_many(
        [(r["polymer"], r["solvent"], r["temperature"]) for r in rows], kelvin=kelvin
    )
    out_rows = []
    for row, outcome in zip(rows, outcomes):
        merged: dict[str, Any] = dict(row)
        if outcome.result is not None:
            r = outcome.result
            merged.update(chi=r.chi, chi_std=r.chi_std, A=r.A, B=r.B, error="")
        else:
            merged.update(chi=None, chi_std=None, A=None, B=None, error=outcome.error)
        out_rows.append(merged)
    columns = header + [c for c in RESULT_COLUMNS if c not in header]
    fmt = fmt or ("csv" if output_path is not None or not sys.stdout.isatty() else "table")
    text = render(out_rows, columns, fmt)
    if output_path is not None:
        output_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    failed = sum(1 for o in outcomes if not o.ok)
    if failed:
        click.echo(f"{failed} of {len(outcomes)} rows failed; see their error column", err=True)
