"""`chi-lite-train`: fit and export the shipped model. Torch is imported only inside commands."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import click

INSTALL_HINT = "chi-lite-train needs the training extra: pip install 'chi-lite[train]' (or 'make venv' in a checkout)"


def _require_training_extra() -> None:
    missing = [m for m in ("torch", "onnx", "pandas") if importlib.util.find_spec(m) is None]
    if missing:
        click.echo(f"error: {', '.join(missing)} not installed; {INSTALL_HINT}", err=True)
        sys.exit(2)


def _log(message: str) -> None:
    click.echo(message, err=True)


def _load_data(data_dir: Path):
    """The χ data sets, or a one-line error naming what is missing."""
    from .data import load_chi_data

    try:
        return load_chi_data(data_dir)
    except (FileNotFoundError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Train the chi-lite multitask χ ensemble and export it to ONNX."""


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Artifact directory to write.")
@click.option("--members", type=click.IntRange(1), default=None, help="Ensemble size (default from the config).")
@click.option("--max-steps", type=click.IntRange(1), default=None, help="Training steps per member (default from the config).")
@click.option("--seed", type=int, default=None, help="Base seed (default from the config).")
@click.option("--cv-folds", type=click.IntRange(0), default=5, show_default=True, help="Pair-grouped CV folds to report in the manifest (0: skip).")
@click.option("--limit-pairs", type=click.IntRange(1), default=None, help="Train on the first N pairs only (for quick tests).")
def fit(data_dir: Path, out: Path, members, max_steps, seed, cv_folds: int, limit_pairs) -> None:
    """Train on DATA_DIR, evaluate by pair-grouped CV, export ONNX + manifest to OUT."""
    _require_training_extra()
    from .evaluate import cross_validate
    from .export import parity_error, write_artifact
    from .factorized import composition_error
    from .features import row_matrices
    from .fit import TrainConfig, train_ensemble

    data = _load_data(data_dir)
    if limit_pairs is not None:
        keep = set(sorted(data.exp["pair"].unique())[:limit_pairs])
        data.exp = data.exp[data.exp["pair"].isin(keep)]
        data.cosmo = data.cosmo[data.cosmo["pair"].isin(keep)]
    config = TrainConfig()
    for name, value in (("members", members), ("max_steps", max_steps), ("seed", seed)):
        if value is not None:
            setattr(config, name, value)

    metrics = {}
    if cv_folds >= 2:
        started = time.perf_counter()
        cv = cross_validate(data, config, "pairs", cv_folds, config.seed, log=_log)
        cv.pop("predictions")
        cv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_pairs"] = cv
        _log(f"pair-grouped {cv_folds}-fold CV: R² {cv['model']['r2']:.3f}, RMSE {cv['model']['rmse']:.3f} "
             f"(COSMO-RS on its rows: R² {cv['cosmo_rs']['r2']:.3f}, RMSE {cv['cosmo_rs']['rmse']:.3f})")
    ensemble, vocabulary, info = train_ensemble(data.exp, data.cosmo, config, log=_log)
    manifest = write_artifact(
        ensemble,
        vocabulary,
        out,
        training={"config": config.to_dict(), **info},
        data={"files": data.fingerprint, "exp_rows": int(len(data.exp)), "cosmo_rows": int(len(data.cosmo)),
              "temperature_k": [float(data.exp["temp_k"].min()), float(data.exp["temp_k"].max())]},
        metrics=metrics,
    )
    sample = data.exp.drop_duplicates("pair").head(200)
    error = parity_error(ensemble, out / manifest.model_file, *row_matrices(vocabulary, sample))
    manifest.metrics["parity_max_abs_chi"] = error
    composed = composition_error(out, manifest.model_file, manifest.graphs, *row_matrices(vocabulary, sample))
    manifest.metrics["factorized_max_abs_diff"] = composed
    manifest.save(out)
    _log(f"wrote {out}/{manifest.model_file}, the factorized graphs and manifest.json; torch↔onnxruntime max |Δχ| = "
         f"{error:.2e}; encoders+head vs whole graph max |Δ| = {composed:.2e}")
    if error > 1e-4:
        click.echo(f"error: exported graph disagrees with torch by {error:.2e} (> 1e-4)", err=True)
        sys.exit(1)
    if composed > 1e-5:
        click.echo(f"error: factorized graphs disagree with the whole graph by {composed:.2e} (> 1e-5)", err=True)
        sys.exit(1)


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
@click.option("--scheme", type=click.Choice(["pairs", "polymers", "solvents"]), default="pairs", show_default=True)
@click.option("--folds", type=click.IntRange(2), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--members", type=click.IntRange(1), default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="metrics.json to write.")
def cv(data_dir: Path, scheme: str, folds: int, seed: int, members, out: Path) -> None:
    """Grouped K-fold cross-validation of the shipped configuration."""
    _require_training_extra()
    from .evaluate import cross_validate
    from .fit import TrainConfig

    data = _load_data(data_dir)
    config = TrainConfig()
    if members is not None:
        config.members = members
    result = cross_validate(data, config, scheme, folds, seed, log=_log)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    m, c = result["model"], result["cosmo_rs"]
    click.echo(f"{scheme}-grouped {folds}-fold: R² {m['r2']:.3f} RMSE {m['rmse']:.3f} MAE {m['mae']:.3f} | "
               f"COSMO-RS (n={c['n']}): R² {c['r2']:.3f} RMSE {c['rmse']:.3f}")
