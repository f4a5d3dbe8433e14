"""`chi-lite-train polysol-report`: how many PolySol monomers became repeat units, and why not the rest."""

from __future__ import annotations

from pathlib import Path

import click

from .common import DATA_DIR_OPTION, fail


@click.command("polysol-report")
@DATA_DIR_OPTION
def polysol_report(data_dir: Path) -> None:
    """Coverage of the PolySol monomer → repeat-unit rules, and every polymer left unconverted, with why."""
    import collections

    from ..polysol import load_polysol

    try:
        rows, _ = load_polysol(data_dir)
    except FileNotFoundError as exc:
        fail(str(exc))
    ok = rows["polymer"].notna()
    names = rows.drop_duplicates("polymer_name")
    click.echo(f"rows converted      {int(ok.sum())} of {len(rows)}")
    click.echo(f"polymers converted  {rows[ok]['polymer_name'].nunique()} of {rows['polymer_name'].nunique()} "
               f"({rows[ok]['polymer'].nunique()} distinct repeat units)")
    click.echo("\nby rule (polymers, rows):")
    for rule, group in rows[ok].groupby("rule"):
        click.echo(f"  {rule:24s} {group['polymer_name'].nunique():4d} {len(group):5d}")
    click.echo("\nnot converted, by reason (polymers):")
    for reason, count in collections.Counter(names[names["polymer"].isna()]["reason"]).most_common():
        click.echo(f"  {count:4d}  {reason}")
    click.echo("\nnot converted:")
    for r in names[names["polymer"].isna()].itertuples():
        click.echo(f"  {r.polymer_name}  [{r.monomer}]  {r.reason}")
