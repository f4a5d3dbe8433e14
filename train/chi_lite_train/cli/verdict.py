"""`chi-lite-train verdict`: fit the verdict's stacking model and the applicability domain into the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import DATA_DIR_OPTION, fail, load_data, log, require_training_extra


@click.command()
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--oof", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/miscibility_oof.json"),
              show_default=True, help="Polymer-grouped out-of-fold miscibility predictions (`cv --task miscibility`).")
@click.option("--cv-report", "cv_reports", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              default=[Path("train/reports/pairs_metrics.json"), Path("train/reports/lpo_metrics.json"),
                       Path("train/reports/lso_metrics.json")], show_default=True,
              help="χ CV reports: per-row novelty sets the domain thresholds; MAE per domain class is reported.")
@DATA_DIR_OPTION
def verdict(model_dir: Path, oof: Path, cv_reports, data_dir: Path) -> None:
    """Fit the verdict's stacking model and write it and the applicability domain into the manifest."""
    require_training_extra()
    from ..verdict import write_answer_layer

    data = load_data(data_dir)
    try:
        written = write_answer_layer(model_dir, oof, data.exp, list(cv_reports), log=log)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        fail(str(exc))
    click.echo(json.dumps(written["verdict"]["cv"]))
