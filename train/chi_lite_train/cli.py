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


def _load_labels(data_dir: Path):
    """PolySol rows that have a repeat unit (polymer, solvent, label) and the file's hash."""
    from .polysol import load_polysol

    try:
        rows, fingerprint = load_polysol(data_dir)
    except FileNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    return rows[rows["polymer"].notna()][["polymer", "solvent", "label"]].reset_index(drop=True), fingerprint


def _config(members=None, max_steps=None, seed=None, miscibility_weight=None, balance=None):
    from .fit import TrainConfig

    config = TrainConfig()
    for name, value in (("members", members), ("max_steps", max_steps), ("seed", seed),
                        ("miscibility_weight", miscibility_weight), ("miscibility_balance", balance)):
        if value is not None:
            setattr(config, name, value)
    return config


def _miscibility_line(m: dict) -> str:
    return (f"polymer-grouped {m['folds_n']}-fold miscibility CV ({m['model']['n']} labels, {m['n_polymers']} polymers): "
            f"accuracy {m['model']['accuracy']:.3f}, ROC AUC {m['model']['roc_auc']:.3f} | "
            f"rule χ(25 °C) < 0.5: accuracy {m['chi_rule']['accuracy']:.3f}, AUC {m['chi_rule']['roc_auc']:.3f} | "
            f"majority class {max(m['positive_fraction'], 1 - m['positive_fraction']):.3f}")


miscibility_weight_option = click.option(
    "--miscibility-weight", type=click.FloatRange(0), default=None,
    help="Weight of the miscibility BCE (0: χ tasks only; default from the config).")
balance_option = click.option("--balance/--no-balance", default=None, help="Class-balanced BCE (default from the config).")


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
@click.option("--limit-labels", type=click.IntRange(1), default=None, help="Train on the labels of the first N polymers only (for quick tests).")
@click.option("--miscibility-cv-folds", type=click.IntRange(0), default=5, show_default=True,
              help="Polymer-grouped miscibility CV folds to report in the manifest (0: skip).")
@miscibility_weight_option
@balance_option
def fit(data_dir: Path, out: Path, members, max_steps, seed, cv_folds: int, limit_pairs, limit_labels,
        miscibility_cv_folds: int, miscibility_weight, balance) -> None:
    """Train on DATA_DIR, evaluate by grouped CV, export ONNX + manifest to OUT."""
    _require_training_extra()
    from .evaluate import cross_validate, cross_validate_miscibility
    from .export import parity_error, write_artifact
    from .factorized import composition_error
    from .features import row_matrices
    from .fit import train_ensemble

    data = _load_data(data_dir)
    if limit_pairs is not None:
        keep = set(sorted(data.exp["pair"].unique())[:limit_pairs])
        data.exp = data.exp[data.exp["pair"].isin(keep)]
        data.cosmo = data.cosmo[data.cosmo["pair"].isin(keep)]
    config = _config(members, max_steps, seed, miscibility_weight, balance)
    labels, label_fingerprint = None, {}
    if config.miscibility_weight > 0:
        labels, label_fingerprint = _load_labels(data_dir)
        if limit_labels is not None:
            labels = labels[labels["polymer"].isin(sorted(labels["polymer"].unique())[:limit_labels])]

    metrics = {}
    if labels is not None and miscibility_cv_folds >= 2:
        started = time.perf_counter()
        mcv = cross_validate_miscibility(data, labels, config, miscibility_cv_folds, config.seed, log=_log)
        mcv.pop("predictions")
        mcv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_miscibility"] = mcv
        _log(_miscibility_line(mcv))
    if cv_folds >= 2:
        started = time.perf_counter()
        cv = cross_validate(data, config, "pairs", cv_folds, config.seed, log=_log, labels=labels)
        cv.pop("predictions")
        cv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_pairs"] = cv
        _log(f"pair-grouped {cv_folds}-fold CV: R² {cv['model']['r2']:.3f}, RMSE {cv['model']['rmse']:.3f} "
             f"(COSMO-RS on its rows: R² {cv['cosmo_rs']['r2']:.3f}, RMSE {cv['cosmo_rs']['rmse']:.3f})")
    ensemble, vocabulary, info = train_ensemble(data.exp, data.cosmo, config, log=_log, labels=labels)
    manifest = write_artifact(
        ensemble,
        vocabulary,
        out,
        training={"config": config.to_dict(), **info},
        data={"files": {**data.fingerprint, **label_fingerprint}, "exp_rows": int(len(data.exp)),
              "cosmo_rows": int(len(data.cosmo)), "label_rows": info["n_label_rows"],
              "temperature_k": [float(data.exp["temp_k"].min()), float(data.exp["temp_k"].max())]},
        metrics=metrics,
        miscibility=info["n_label_rows"] > 0,
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
@click.option("--task", type=click.Choice(["chi", "miscibility"]), default="chi", show_default=True,
              help="chi: grouped CV of experimental χ; miscibility: polymer-grouped CV on the PolySol labels.")
@miscibility_weight_option
@balance_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="metrics.json to write.")
def cv(data_dir: Path, scheme: str, folds: int, seed: int, members, task: str, miscibility_weight, balance, out: Path) -> None:
    """Grouped K-fold cross-validation of the shipped configuration (labels join training unless weight 0)."""
    _require_training_extra()
    from .evaluate import cross_validate, cross_validate_miscibility

    data = _load_data(data_dir)
    config = _config(members, None, None, miscibility_weight, balance)
    labels = _load_labels(data_dir)[0] if config.miscibility_weight > 0 else None
    if task == "miscibility":
        if labels is None:
            click.echo("error: --task miscibility needs --miscibility-weight > 0", err=True)
            sys.exit(2)
        if scheme != "polymers":
            _log("note: the miscibility CV is always grouped by polymer")
        started = time.perf_counter()
        result = cross_validate_miscibility(data, labels, config, folds, seed, log=_log)
        result["seconds"] = round(time.perf_counter() - started, 1)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        click.echo(_miscibility_line(result))
        return
    started = time.perf_counter()
    result = cross_validate(data, config, scheme, folds, seed, log=_log, labels=labels)
    result["seconds"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    m, c = result["model"], result["cosmo_rs"]
    click.echo(f"{scheme}-grouped {folds}-fold: R² {m['r2']:.3f} RMSE {m['rmse']:.3f} MAE {m['mae']:.3f} | "
               f"COSMO-RS (n={c['n']}): R² {c['r2']:.3f} RMSE {c['rmse']:.3f}")


@main.command("polysol-report")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
def polysol_report(data_dir: Path) -> None:
    """Coverage of the PolySol monomer → repeat-unit rules, and every polymer left unconverted, with why."""
    import collections

    from .polysol import load_polysol

    try:
        rows, _ = load_polysol(data_dir)
    except FileNotFoundError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
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
