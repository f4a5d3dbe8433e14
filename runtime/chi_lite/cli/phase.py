"""`chi-lite phase`: the Flory–Huggins temperature–composition diagram of one pair, as a table or a plot."""

from __future__ import annotations

from pathlib import Path

import click

from .options import chain_length_option, model_option, threads_option
from ..answer import chi_of_t, domain_warning, json_text
from .output import render


def _summary(d) -> str:
    return (
        f"polymer       {d.polymer}\n"
        f"solvent       {d.solvent}\n"
        f"chain length  {d.chain_length:g} segments\n"
        f"chi(T)        A + B/T = {chi_of_t(d.A, d.B)}\n"
        f"chi_critical  {d.chi_critical:.4f} (critical phi {d.phi_critical:.4f})\n"
        f"behaviour     {d.critical.describe()}\n"
        + (f"t_dissolve    {d.t_dissolve_c:.1f} °C (semicrystalline: dissolves only above this)\n" if d.t_dissolve_c is not None else "")
        + f"domain        {d.domain}{' (' + d.domain_note + ')' if d.domain_note else ''}\n"
        + (f"{warning}\n" if (warning := domain_warning(d.to_dict())) else "")
    )


@click.command()
@click.option("--polymer", help="Polymer name (polystyrene, PMMA, nylon 6, …) or repeat-unit SMILES with two '*'.")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A calibrated polymer (chi-lite calibrate) instead of --polymer.")
@click.option("--solvent", required=True, help="Solvent name (cyclohexane, toluene, …) or SMILES.")
@chain_length_option("Chain length N in solvent-sized segments (≥ 1).", required=True)
@click.option("--tmin", default="0", show_default=True, help="Lowest temperature (°C unless --kelvin).")
@click.option("--tmax", default="150", show_default=True, help="Highest temperature (°C unless --kelvin).")
@click.option("--points", type=click.IntRange(2, 100000), default=61, show_default=True, help="Temperatures in the grid (T_c is added when inside).")
@click.option("--kelvin", is_flag=True, help="--tmin/--tmax are in kelvin.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the diagram to this file: PNG, PDF or SVG by its extension (needs chi-lite[plot]).")
@click.option("--dpi", type=click.IntRange(30, 1200), default=110, show_default=True, help="Resolution of a PNG plot.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table: summary + rows; csv: rows only; json: summary with a list of points.")
@model_option
@threads_option
def phase(polymer, profile_path, solvent, chain_length, tmin, tmax, points, kelvin, plot_path, dpi, fmt, model_dir, threads) -> None:
    """Binodal, spinodal and critical temperature of a pair at chain length N (polymer volume fractions)."""
    from ..flory_huggins import check_chain_length
    from ..phase import POINT_COLUMNS, temperature_grid
    from ..predictor import ChiPredictor

    from ..units import kelvin_warning

    if (polymer is None) == (profile_path is None):
        raise click.UsageError("give --polymer or --profile (one of them)")
    check_chain_length(chain_length)
    temperature_grid(tmin, tmax, points, kelvin)  # refuse a bad range before loading anything
    for value in (tmin, tmax):
        if (line := kelvin_warning(value, kelvin)):
            click.echo(line, err=True)
    if plot_path is not None:
        from ..plot import _pyplot, check_plot_path

        check_plot_path(plot_path, dpi)  # refuse an unknown extension or missing matplotlib before any work
        _pyplot()
    predictor = ChiPredictor(model_dir, threads=threads)
    if profile_path is not None:
        polymer = predictor.load_profile(profile_path)
    diagram = predictor.phase_diagram(
        polymer, solvent, chain_length, tmin, tmax, points=points, kelvin=kelvin
    )
    rows = [p.to_dict() for p in diagram.points]
    if fmt == "json":
        click.echo(json_text(diagram.to_dict()))
    elif fmt == "csv":
        click.echo(render(rows, POINT_COLUMNS, "csv"), nl=False)
    else:
        click.echo(_summary(diagram) + "\n" + render(rows, POINT_COLUMNS, "table"), nl=False)
    if plot_path is not None:
        from ..plot import plot_phase_diagram

        plot_phase_diagram(diagram, plot_path, dpi=dpi)
        click.echo(f"wrote {plot_path}", err=True)
