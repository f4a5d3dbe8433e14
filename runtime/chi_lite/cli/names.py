"""`chi-lite names`: the built-in polymer and solvent names, and what SMILES they stand for."""

from __future__ import annotations

import click

from .output import render


@click.command()
@click.option("--kind", type=click.Choice(["solvents", "polymers"]), default=None, help="Only this table (default: both).")
@click.option("--search", "text", default=None, help="Only entries whose name, alias or SMILES contains TEXT.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def names(kind: str | None, text: str | None, fmt: str) -> None:
    """List the names --polymer and --solvent accept (case-insensitive, aliases too)."""
    from ..names import KINDS, search

    rows = []
    for k in [kind] if kind else list(KINDS):
        for entry in search(k, text):
            rows.append({"kind": k[:-1], "name": entry.name, "aliases": "; ".join(entry.aliases), "smiles": entry.smiles})
    if not rows:
        click.echo(f"no {kind or 'polymer or solvent'} name matches {text!r}", err=True)
        return
    click.echo(render(rows, ["kind", "name", "aliases", "smiles"], fmt), nl=False)
