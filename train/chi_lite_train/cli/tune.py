"""`chi-lite-train tune`: screen the accuracy levers by grouped CV and write the chosen configuration."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import DATA_DIR_OPTION, fail, load_data, load_labels, log, require_training_extra


@click.command()
@DATA_DIR_OPTION
@click.option("--grid", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/tune_grid.json"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the CV splits and of every screened ensemble.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/chosen_config.json"), show_default=True,
              help="Chosen configuration, read by `make train`.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/ablation.json"),
              show_default=True, help="Ablation table (every candidate's CV figures).")
@click.option("--reuse", is_flag=True, help="Reuse candidates already measured in REPORT under the same protocol.")
def tune(data_dir: Path, grid: Path, seed: int, out: Path, report: Path, reuse: bool) -> None:
    """Screen the accuracy levers by grouped CV and write the best configuration."""
    require_training_extra()
    from ..tune import read_grid, tune as run_tune

    try:
        spec = read_grid(grid)
    except ValueError as exc:
        fail(str(exc))
    data = load_data(data_dir)
    previous = json.loads(report.read_text(encoding="utf-8")) if reuse and report.is_file() else None
    report.parent.mkdir(parents=True, exist_ok=True)

    def save(partial: dict) -> None:  # after every candidate: an interrupted search loses one run at most
        report.write_text(json.dumps({"grid": str(grid), **partial}, indent=1) + "\n", encoding="utf-8")

    def save_lpo(metrics: dict) -> None:  # the card's leave-polymers-out figures (screening ensemble size)
        (report.parent / "lpo_metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")

    from ..fit import TrainConfig

    labels = load_labels(data_dir)[0] if TrainConfig().with_overrides(spec.get("base", {})).miscibility_weight > 0 else None
    result = run_tune(data, spec, seed, log=log, previous=previous, save=save, save_lpo=save_lpo, labels=labels)
    save(result)
    chosen = {"chosen_by": f"chi-lite-train tune --grid {grid} --seed {seed} (candidate: {result['chosen']})",
              "config": result["config"]}
    out.write_text(json.dumps(chosen, indent=1) + "\n", encoding="utf-8")
    click.echo(f"chose {result['chosen']!r}; wrote {out} and {report}")
