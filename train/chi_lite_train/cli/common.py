"""What every `chi-lite-train` command shares: the training-extra check, data loading, config, errors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

INSTALL_HINT = "chi-lite-train needs the training extra: pip install 'chi-lite[train]' (or 'make venv' in a checkout)"


def log(message: str) -> None:
    """Progress goes to stderr, so stdout carries only a command's result."""
    click.echo(message, err=True)


def fail(message: str) -> NoReturn:
    """A bad input: one line on stderr, exit code 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def require_training_extra() -> None:
    """Refuse with an install hint when torch, onnx or pandas is missing (the runtime-only install)."""
    missing = [m for m in ("torch", "onnx", "pandas") if importlib.util.find_spec(m) is None]
    if missing:
        fail(f"{', '.join(missing)} not installed; {INSTALL_HINT}")


def load_data(data_dir: Path):
    """The χ data sets, or a one-line error naming what is missing."""
    from ..data import load_chi_data

    try:
        return load_chi_data(data_dir)
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))


def load_labels(data_dir: Path):
    """PolySol rows that have a repeat unit (polymer, solvent, label) and the file's hash."""
    from ..polysol import load_polysol

    try:
        rows, fingerprint = load_polysol(data_dir)
    except FileNotFoundError as exc:
        fail(str(exc))
    return rows[rows["polymer"].notna()][["polymer", "solvent", "label"]].reset_index(drop=True), fingerprint


def config_with(path: Path | None, **overrides: Any):
    """The chosen configuration (or FILE), with the command-line overrides that were given."""
    from ..fit import load_config

    try:
        return load_config(path).with_overrides({k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        fail(str(exc))


def miscibility_line(m: dict) -> str:
    """One line summing up a polymer-grouped miscibility CV against the χ rule and the majority class."""
    return (f"polymer-grouped {m['folds_n']}-fold miscibility CV ({m['model']['n']} labels, {m['n_polymers']} polymers): "
            f"accuracy {m['model']['accuracy']:.3f}, ROC AUC {m['model']['roc_auc']:.3f} | "
            f"rule χ(25 °C) < 0.5: accuracy {m['chi_rule']['accuracy']:.3f}, AUC {m['chi_rule']['roc_auc']:.3f} | "
            f"majority class {max(m['positive_fraction'], 1 - m['positive_fraction']):.3f}")


DATA_DIR_OPTION = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Training configuration JSON (default: train/chosen_config.json, written by `make tune`).",
)
miscibility_weight_option = click.option(
    "--miscibility-weight", type=click.FloatRange(0), default=None,
    help="Weight of the miscibility BCE (0: χ tasks only; default from the config).")
balance_option = click.option("--balance/--no-balance", default=None, help="Class-balanced BCE (default from the config).")
