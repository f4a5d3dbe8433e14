"""`chi-lite predict`: χ(T) for one pair, or for every row of a CSV file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .options import chain_length_option, default_format, format_option, model_option, threads_option

RESULT_COLUMNS = ["chi", "chi_std", "A", "B", "error"]
SINGLE_COLUMNS = ["polymer", "solvent", "polymer_name", "solvent_name", "temperature_c", "temperature_k", "chi", "chi_std", "A", "B"]
FH_COLUMNS = ["chi_critical", "miscible", "p_miscible_fh"]  # added when --chain-length is given


def _with_fh(columns: list[str], chain_length: float | None) -> list[str]:
    """The Flory–Huggins columns go after B (before error), only when a chain length was given."""
    if chain_length is None:
        return columns
    at = columns.index("B") + 1
    return columns[:at] + FH_COLUMNS + columns[at:]


def _fh_fields(result: Any, chain_length: float | None, fmt: str) -> dict[str, Any]:
    """chi_critical, miscible (JSON bool, yes/no in tables and CSV) and p_miscible_fh of one result."""
    if chain_length is None:
        return {}
    if result is None:
        return dict.fromkeys(FH_COLUMNS)
    verdict = result.miscibility(chain_length)
    miscible: Any = verdict.miscible if fmt == "json" else ("yes" if verdict.miscible else "no")
    return {"chi_critical": verdict.chi_critical, "miscible": miscible, "p_miscible_fh": verdict.p_miscible_fh}


def _named(name: str | None, smiles: str) -> str:
    """The name the user typed with its SMILES, or the SMILES alone."""
    return f"{name} ({smiles})" if name else smiles


def _single_table(p: Any, chain_length: float | None) -> str:
    text = (
        f"polymer      {_named(p.polymer_name, p.polymer)}\n"
        f"solvent      {_named(p.solvent_name, p.solvent)}\n"
        f"temperature  {p.temperature_c:.2f} °C ({p.temperature_k:.2f} K)\n"
        f"chi          {p.chi:.3f} ± {p.chi_std:.3f}\n"
        f"chi(T)       A + B/T = {p.A:.4f} + {p.B:.2f} K / T\n"
    )
    if p.p_miscible is not None:
        text += f"p_miscible   {p.p_miscible:.2f} (classifier, room temperature)\n"
    if chain_length is not None:
        v = p.miscibility(chain_length)
        text += (
            f"chi_critical {v.chi_critical:.4f} at chain length {v.chain_length:g} (Flory–Huggins)\n"
            f"miscible     {'yes' if v.miscible else 'no'} (p_miscible_fh {v.p_miscible_fh:.3f})\n"
        )
    return text


@click.command()
@click.option("--polymer", help="Polymer name (polystyrene, PMMA, …) or repeat-unit SMILES with two '*'.")
@click.option("--solvent", help="Solvent name (toluene, THF, …) or SMILES.")
@click.option("--temperature", help="Temperature (°C unless --kelvin).")
@click.option("--kelvin", is_flag=True, help="Temperatures are in kelvin.")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path), help="CSV with columns polymer,solvent,temperature.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), help="Write batch results here instead of stdout.")
@chain_length_option("Chain length N in solvent-sized segments (≥ 1): adds chi_critical, miscible, p_miscible_fh.")
@format_option
@model_option
@threads_option
def predict(polymer, solvent, temperature, kelvin, input_path, output_path, chain_length, fmt, model_dir, threads) -> None:
    """Predict χ ± σ and χ(T) = A + B/T for a polymer–solvent pair or a file of pairs.

    With --chain-length N, also χ_c(N), whether the pair is miscible at every composition
    (χ < χ_c) and the probability of that from the ensemble's spread (p_miscible_fh).
    """
    single = [v is not None for v in (polymer, solvent, temperature)]
    if input_path is None and not all(single):
        missing = [n for n, given in zip(("--polymer", "--solvent", "--temperature"), single) if not given]
        raise click.UsageError(f"missing {', '.join(missing)} (or give --input FILE)")
    if input_path is not None and any(single):
        raise click.UsageError("give either --input FILE or --polymer/--solvent/--temperature, not both")
    if output_path is not None and input_path is None:
        raise click.UsageError("--output is for batch runs with --input")

    from ..flory_huggins import check_chain_length
    from ..predictor import ChiPredictor, to_kelvin

    if chain_length is not None:
        chain_length = check_chain_length(chain_length)

    if input_path is None:
        to_kelvin(temperature, kelvin)  # refuse a bad temperature before loading anything
        predictor = ChiPredictor(model_dir, threads=threads)
        p = predictor.predict(polymer, solvent, temperature, kelvin=kelvin)
        fmt = fmt or "table"
        record = {**p.to_dict(), **_fh_fields(p, chain_length, fmt)}
        columns = _with_fh(SINGLE_COLUMNS + (["p_miscible"] if predictor.reports_miscibility else []), chain_length)
        if fmt == "table":
            click.echo(_single_table(p, chain_length), nl=False)
        elif fmt == "json":  # a single pair is one object, not a list
            click.echo(json.dumps({c: record[c] for c in columns if c in record}, indent=2, ensure_ascii=False))
        else:
            from .output import render  # csv (and its module) only when asked for: keeps a cold start short

            click.echo(render([record], columns, fmt), nl=False)
        return

    from ..batch_io import read_pairs
    from .output import render

    header, rows = read_pairs(input_path)
    predictor = ChiPredictor(model_dir, threads=threads)
    outcomes = predictor.predict_many(
        [(r["polymer"], r["solvent"], r["temperature"]) for r in rows], kelvin=kelvin
    )
    fmt = default_format(fmt, output_path)
    result_columns = RESULT_COLUMNS[:-1] + (["p_miscible"] if predictor.reports_miscibility else []) + ["error"]
    out_rows = []
    for row, outcome in zip(rows, outcomes):
        merged: dict[str, Any] = dict(row)
        if outcome.result is not None:
            values = outcome.result.to_dict()  # once per row, not once per column
            merged.update({c: values.get(c) for c in result_columns[:-1]}, error="")
        else:
            merged.update({c: None for c in result_columns[:-1]}, error=outcome.error)
        merged.update(_fh_fields(outcome.result, chain_length, fmt))
        out_rows.append(merged)
    columns = header + [c for c in _with_fh(result_columns, chain_length) if c not in header]
    text = render(out_rows, columns, fmt)
    if output_path is not None:
        output_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    failed = sum(1 for o in outcomes if not o.ok)
    if failed:
        click.echo(f"{failed} of {len(outcomes)} rows failed; see their error column", err=True)
