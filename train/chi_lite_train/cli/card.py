"""`chi-lite-train card`: write MODEL_CARD.md from the manifest and the stored reports."""

from __future__ import annotations

from pathlib import Path

import click

from .common import fail, require_training_extra


@click.command()
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--lpo", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/lpo_metrics.json"), show_default=True)
@click.option("--ablation", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/ablation.json"), show_default=True)
@click.option("--pairs", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/pairs_metrics.json"),
              show_default=True, help="Stored pair-grouped CV of the chosen configuration, used until the model is retrained.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True,
              help="Only read when the manifest predates its training-domain record.")
@click.option("--levers", "levers_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("train/reports/levers"),
              show_default=True, help="Folder of `chi-lite-train lever` reports (the lever table).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("MODEL_CARD.md"), show_default=True)
def card(model_dir: Path, lpo: Path, ablation: Path, pairs: Path, data_dir: Path, levers_dir: Path, out: Path) -> None:
    """Write MODEL_CARD.md from the manifest, the stored LPO metrics and the ablation table."""
    require_training_extra()
    from ..card import CardInputError, render_card

    try:
        from ..fit import load_config

        text = render_card(model_dir, lpo, ablation, data_dir, pairs, levers_dir, chosen_config=load_config().to_dict())
    except CardInputError as exc:
        fail(str(exc))
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")
