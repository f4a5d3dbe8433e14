"""`chi-lite predict`: χ(T) for one pair, or for every row of a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import chain_length_option, default_format, format_option, model_option, refuse_same_file, threads_option

from ..answer import VERDICT_COLUMNS

RESULT_COLUMNS = ["chi", "chi_std", "A", "B", "chain_length", *VERDICT_COLUMNS, "error"]
SINGLE_COLUMNS = ["polymer", "solvent", "polymer_name", "solvent_name", "temperature_c", "temperature_k", "chi", "chi_std",
                  "A", "B", "chain_length", *VERDICT_COLUMNS]


def _with_classifier(columns: list[str], has_classifier: bool) -> list[str]:
    """p_classifier (the raw room-temperature classifier) goes after B, only when the model has one."""
    if not has_classifier:
        return columns
    at = columns.index("B") + 1
    return columns[:at] + ["p_classifier"] + columns[at:]


def _single_table(p: Any) -> str:
    from ..answer import chi_of_t, domain_warning, verdict_line, yes_no

def _named(name: str | None, smiles: str) -> str:
    """The name the user typed with its SMILES, or the SMILES alone."""
    return f"{name} ({smiles})" if name else smiles


def _single_table(p: Any) -> str:
    from ..answer import chi_of_t, domain_warning, verdict_line, yes_no

    fields = p.to_dict()
    text = (
        f"polymer      {_named(p.polymer_name, p.polymer)}\n"
        f"solvent      {_named(p.solvent_name, p.solvent)}\n"
        f"temperature  {p.temperature_c:.2f} °C ({p.temperature_k:.2f} K)\n"
        f"chi          {p.chi:.3f} ± {p.chi_std:.3f}\n"
        f"chi(T)       A + B/T = {chi_of_t(p.A, p.B)}\n"
        f"chi_critical {p.chi_critical:.4f}\n"
    )
    if p.p_classifier is not None:
        text += f"p_classifier {p.p_classifier:.2f} (classifier alone, room temperature)\n"
    text += f"verdict      {verdict_line(fields)}\nmiscible     {yes_no(p.miscible)}\n"
    if p.t_dissolve_c is not None:
        text += f"t_dissolve   {p.t_dissolve_c:.1f} °C (semicrystalline: dissolves only above this)\n"
    text += f"domain       {p.domain}{' (' + p.domain_note + ')' if p.domain_note else ''}\n"
    warning = domain_warning(fields)
    return text + (f"{warning}\n" if warning else "")


@click.command()
@click.option("--polymer", help="Polymer name (polystyrene, PMMA, …) or repeat-unit SMILES with two '*'.")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A calibrated polymer (chi-lite calibrate) instead of --polymer; with --input the polymer column may be omitted.")
@click.option("--solvent", help="Solvent name (toluene, THF, …) or SMILES.")
@click.option("--temperature", help="Temperature (°C unless --kelvin).")
@click.option("--kelvin", is_flag=True, help="Temperatures are in kelvin.")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path), help="CSV with columns polymer,solvent,temperature.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), help="Write batch results here instead of stdout.")
@chain_length_option("Chain length N in solvent-sized segments (≥ 1); default: a long chain (χ_c = 0.5).")
@format_option
@model_option
@threads_option
def predict(polymer, profile_path, solvent, temperature, kelvin, input_path, output_path, chain_length, fmt, model_dir, threads) -> None:
    """Predict χ ± σ and χ(T) = A + B/T for a polymer–solvent pair or a file of pairs.

    Every answer carries one verdict (p_miscible: the probability that the polymer dissolves at
    this temperature, long chain or --chain-length N; miscible = p_miscible ≥ 0.5), t_dissolve_c
    for semicrystalline polymers, and domain/domain_note (in, near, out: how far to trust it).
    """
    if profile_path is not None and polymer is not None:
        raise click.UsageError("give --polymer or --profile, not both")
    single = [v is not None for v in (polymer if profile_path is None else profile_path, solvent, temperature)]
    if input_path is None and not all(single):
        missing = [n for n, given in zip(("--polymer", "--solvent", "--temperature"), single) if not given]
        raise click.UsageError(f"missing {', '.join(missing)} (or give --input FILE)")
    if input_path is not None and any(single[1:] + [polymer is not None]):
        raise click.UsageError("give either --input FILE or --polymer/--solvent/--temperature, not both")
    if output_path is not None and input_path is None:
        raise click.UsageError("--output is for batch runs with --input")
    refuse_same_file(input=input_path, output=output_path)

    from ..predictor import ChiPredictor
    from ..units import check_chain_length, kelvin_warning, to_kelvin

    if chain_length is not None:
        chain_length = check_chain_length(chain_length)

    if input_path is None:
        to_kelvin(temperature, kelvin)  # refuse a bad temperature before loading anything
        warning = kelvin_warning(temperature, kelvin)
        if warning:
            click.echo(warning, err=True)
        predictor = ChiPredictor(model_dir, threads=threads)
        if profile_path is not None:
            polymer = predictor.load_profile(profile_path)
        p = predictor.predict(polymer, solvent, temperature, kelvin=kelvin, chain_length=chain_length)
        fmt = fmt or "table"
        record = p.to_dict()
        columns = _with_classifier(SINGLE_COLUMNS, predictor.reports_miscibility)
        if fmt == "table":
            click.echo(_single_table(p), nl=False)
        elif fmt == "json":  # a single pair is one object, not a list
            from ..answer import json_text

            click.echo(json_text({c: record[c] for c in columns if c in record}))
        else:
            from .output import render  # csv (and its module) only when asked for: keeps a cold start short

            click.echo(render([record], columns, fmt), nl=False)
        return

    from ..batch_io import REQUIRED_COLUMNS, pair_columns, read_pairs
    from .output import render

    reserved = RESULT_COLUMNS + ["p_classifier", "temperature_k", "temperature_c"]
    required = ("solvent", "temperature") if profile_path is not None else REQUIRED_COLUMNS
    header, rows = read_pairs(input_path, required, reserved=reserved)
    names = pair_columns(header)
    keyed = [{**r, **{c: r[h] for c, h in names.items()}} for r in rows]  # polymer/solvent/temperature, any header case
    predictor = ChiPredictor(model_dir, threads=threads)
    if profile_path is not None:
        from ..profile import profile_pairs

        profile = predictor.load_profile(profile_path)
        pairs, mismatched = profile_pairs(profile, keyed)
        click.echo(f"polymer: {profile.label}", err=True)
    else:
        pairs, mismatched = [(r["polymer"], r["solvent"], r["temperature"]) for r in keyed], {}
    outcomes = predictor.predict_many(pairs, kelvin=kelvin, chain_length=chain_length)
    for i, error in mismatched.items():  # the row keeps its place and carries its error
        outcomes[i] = type(outcomes[i])(keyed[i].get("polymer", ""), str(keyed[i].get("solvent")), keyed[i].get("temperature"), error=error)
    warned = sum(1 for r in keyed if kelvin_warning(r["temperature"], kelvin))
    if warned:
        click.echo(f"warning: {warned} temperature(s) between 200 and 600 are read as °C; if they are kelvin, add --kelvin", err=True)
    fmt = default_format(fmt, output_path)
    result_columns = _with_classifier(RESULT_COLUMNS, predictor.reports_miscibility)
    out_rows = []
    for row, outcome in zip(rows, outcomes):
        merged: dict[str, Any] = dict(row)
        if outcome.result is not None:
            values = outcome.result.to_dict()  # once per row, not once per column
            merged.update({c: values.get(c) for c in result_columns[:-1]}, error="")
        else:
            merged.update({c: None for c in result_columns[:-1]}, error=outcome.error)
        out_rows.append(merged)
    columns = header + [c for c in result_columns if c not in header]
    text = render(out_rows, columns, fmt)
    if output_path is not None:
        output_path.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    failed = sum(1 for o in outcomes if not o.ok)
    if failed:
        click.echo(f"{failed} of {len(outcomes)} rows failed; see their error column", err=True)
