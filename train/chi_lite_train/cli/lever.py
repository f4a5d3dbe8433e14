"""`chi-lite-train lever`: measure one configuration lever (train fit beside grouped CV)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import (
    CONFIG_OPTION, DATA_DIR_OPTION, config_with, fail, load_data, load_labels,
    log, require_training_extra,
)


@click.command()
@DATA_DIR_OPTION
@CONFIG_OPTION
@click.option("--set", "settings", multiple=True, help="A config override NAME=JSON_VALUE (repeatable), e.g. --set latent=16.")
@click.option("--name", required=True, help="Lever name (the report key).")
@click.option("--seed", type=int, default=1, show_default=True, help="Split and training seed (keep 0, the reported seed, out).")
@click.option("--members", type=click.IntRange(1), default=3, show_default=True)
@click.option("--schemes", default="pairs,polymers,solvents", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSON file to write for this lever.")
def lever(data_dir: Path, config_path, settings, name: str, seed: int, members: int, schemes: str, out: Path) -> None:
    """Measure one lever: train-set fit beside pair/polymer/solvent-grouped CV (issue 10 protocol)."""
    require_training_extra()
    from ..levers import measure_lever

    overrides = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--set needs NAME=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    config = config_with(config_path, members=members, seed=seed, **overrides)
    data = load_data(data_dir)
    labels = load_labels(data_dir)[0] if config.miscibility_weight > 0 else None
    result = measure_lever(data, config, seed, labels, tuple(schemes.split(",")), log=log)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"name": name, "overrides": overrides, **result}, indent=1) + "\n", encoding="utf-8")
    click.echo(f"{name}: " + " | ".join(
        [f"train R² {result['train']['r2']:.3f}"]
        + [f"{s} R² {result[s]['r2']:.3f} RMSE {result[s]['rmse']:.3f} ±1σ {result[s]['within_1sigma']:.2f}"
           for s in schemes.split(",")]))
