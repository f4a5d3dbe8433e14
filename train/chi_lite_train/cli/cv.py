"""`chi-lite-train cv`: grouped cross-validation of the chosen configuration (χ or miscibility)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .common import (
    CONFIG_OPTION, DATA_DIR_OPTION, balance_option, config_with, fail, load_data,
    load_labels, log, miscibility_line, miscibility_weight_option, require_training_extra,
)


@click.command()
@DATA_DIR_OPTION
@click.option("--splits", "splits_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help='Split file {"folds": [{"test_rows": [row ids]}, ...]}; overrides --scheme/--folds/--seed.')
@click.option("--scheme", type=click.Choice(["pairs", "polymers", "solvents"]), default="pairs", show_default=True,
              help="Grouping of generated splits: pairs (paper), polymers (leave-polymers-out), solvents.")
@click.option("--folds", type=click.IntRange(2), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated splits.")
@click.option("--write-splits", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the generated splits as a split file.")
@CONFIG_OPTION
@click.option("--members", type=click.IntRange(1), default=None, help="Ensemble size (default from the config).")
@click.option("--task", type=click.Choice(["chi", "miscibility"]), default="chi", show_default=True,
              help="chi: grouped CV of experimental χ; miscibility: polymer-grouped CV on the PolySol labels.")
@miscibility_weight_option
@balance_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="metrics.json to write.")
def cv(data_dir: Path, splits_path, scheme: str, folds: int, seed: int, write_splits, config_path, members, task: str,
       miscibility_weight, balance, out: Path) -> None:
    """Cross-validate the chosen configuration: every fold refits the whole pipeline on its training rows.

    Labels join training unless the miscibility weight is 0; `--task miscibility` scores the
    classifier by polymer-grouped CV on the PolySol labels instead of χ.
    """
    require_training_extra()
    from ..evaluate import cross_validate, cross_validate_miscibility, scheme_folds
    from ..splits import SplitFileError, fold_positions, read_split_file, write_split_file

    config = config_with(config_path, members=members, miscibility_weight=miscibility_weight, miscibility_balance=balance)
    data = load_data(data_dir)
    labels = load_labels(data_dir)[0] if config.miscibility_weight > 0 else None
    if task == "miscibility":
        if labels is None:
            fail("--task miscibility needs --miscibility-weight > 0")
        if scheme != "polymers":
            log("note: the miscibility CV is always grouped by polymer")
        started = time.perf_counter()
        result = cross_validate_miscibility(data, labels, config, folds, seed, log=log)
        result["seconds"] = round(time.perf_counter() - started, 1)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        click.echo(miscibility_line(result))
        return
    try:
        if splits_path is not None:
            positions = fold_positions(read_split_file(splits_path), data.exp["row"], splits_path)
            source = {"splits": str(splits_path)}
        else:
            positions = scheme_folds(data, scheme, folds, seed)
            source = {"scheme": scheme, "seed": seed}
    except SplitFileError as exc:
        fail(str(exc))
    if write_splits is not None:
        write_split_file(write_splits, positions, data.exp["row"])
    started = time.perf_counter()
    result = cross_validate(data, config, positions, log=log, labels=labels)
    result = {**source, **result, "seconds": round(time.perf_counter() - started, 1), "config": config.to_dict()}
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    m, c = result["model"], result["cosmo_rs"]
    label = f"splits {splits_path.name}" if splits_path is not None else f"{scheme}-grouped"
    click.echo(f"{label} {len(positions)}-fold: R² {m['r2']:.3f} RMSE {m['rmse']:.3f} MAE {m['mae']:.3f} | "
               f"COSMO-RS (n={c['n']}): R² {c['r2']:.3f} RMSE {c['rmse']:.3f} MAE {c['mae']:.3f} | {result['seconds']:.0f} s")
