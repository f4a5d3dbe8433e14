"""`chi-lite phase`: the Flory–Huggins temperature–composition diagram of one pair, as a table or a plot."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .options import chain_length_option, model_option, threads_option
from .output import render


def _summary(d) -> str:
    return (
        f"polymer       {d.polymer}\n"
        f"solvent       {d.solvent}\n"
        f"chain length  {d.chain_length:g} segments\n"
        f"chi(T)        A + B/T = {d.A:.4f} + {d.B:.2f} K / T\n"
        f"chi_critical  {d.chi_critical:.4f} (critical phi {d.phi_critical:.4f})\n"
        f"behaviour     {d.critical.describe()}\n"
    )


@click.command()
@click.option("--polymer", required=True, help="Polymer name (polystyrene, PMMA, nylon 6, …) or repeat-unit SMILES with two '*'.")
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
def phase(polymer, solvent, chain_length, tmin, tmax, points, kelvin, plot_path, dpi, fmt, model_dir, threads) -> None:
    """Binodal, spinodal and critical temperature of a pair at chain length N (polymer volume fractions)."""
    from ..flory_huggins import check_chain_length
    from ..phase import POINT_COLUMNS, temperature_grid
    from ..predictor import ChiPredictor

    check_chain_length(chain_length)
    temperature_grid(tmin, tmax, points, kelvin)  # refuse a bad range before loading anything
    if plot_path is not None:
        from ..plot import _pyplot, check_plot_path

        check_plot_path(plot_path, dpi)  # refuse an unknown extension or missing matplotlib before any work
        _pyplot()
    diagram = ChiPredictor(model_dir, threads=threads).phase_diagram(
        polymer, solvent, chain_length, tmin, tmax, points=points, kelvin=kelvin
    )
    rows = [p.to_dict() for p in diagram.points]
    if fmt == "json":
        click.echo(json.dumps(diagram.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(render(rows, POINT_COLUMNS, "csv"), nl=False)
    else:
        click.echo(_summary(diagram) + "\n" + render(rows, POINT_COLUMNS, "table"), nl=False)
    if plot_path is not None:
        from ..plot import plot_phase_diagram

        plot_phase_diagram(diagram, plot_path, dpi=dpi)
        click.echo(f"wrote {plot_path}", err=True)
