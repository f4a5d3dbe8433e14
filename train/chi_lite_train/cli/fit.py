"""`chi-lite-train fit`: train the ensemble, report grouped CV, export ONNX and the manifest."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .common import (
    CONFIG_OPTION, DATA_DIR_OPTION, balance_option, config_with, fail, load_data,
    load_labels, log, miscibility_line, miscibility_weight_option, require_training_extra,
)


@click.command()
@DATA_DIR_OPTION
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Artifact directory to write.")
@CONFIG_OPTION
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
@click.option("--lpo-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A stored `cv --scheme polymers` metrics file whose figures go into the manifest.")
@click.option("--lso-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A stored `cv --scheme solvents` metrics file whose figures go into the manifest.")
@click.option("--pairs-report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A stored `cv --scheme pairs` metrics file (then --cv-folds is not rerun).")
@click.option("--calibrate/--no-calibrate", default=False, show_default=True,
              help="Fit the σ calibration (manifest \"uncertainty\") on the stored pairs, LPO and LSO reports.")
def fit(data_dir: Path, out: Path, config_path, members, max_steps, seed, cv_folds: int, limit_pairs, limit_labels,
        miscibility_cv_folds: int, miscibility_weight, balance, lpo_report, lso_report, pairs_report, calibrate: bool) -> None:
    """Train on DATA_DIR, evaluate by grouped CV, export ONNX + manifest to OUT."""
    require_training_extra()
    from ..card import CardInputError, lpo_summary
    from ..data import training_domain
    from ..evaluate import cross_validate, cross_validate_miscibility, scheme_folds
    from ..export import parity_error, write_artifact
    from ..factorized import composition_error
    from ..features import row_matrices
    from ..fit import train_ensemble

    config = config_with(config_path, members=members, max_steps=max_steps, seed=seed,
                     miscibility_weight=miscibility_weight, miscibility_balance=balance)
    metrics = {}
    if lpo_report is not None:
        try:
            metrics["cv_polymers"] = lpo_summary(lpo_report, config)
        except CardInputError as exc:
            fail(str(exc))
        if not metrics["cv_polymers"]["config_matches"]:
            log(f"warning: {lpo_report} was measured with another configuration; rerun `make lpo`")
    for key, report, target in (("cv_solvents", lso_report, "lso"), ("cv_pairs", pairs_report, "cv-pairs")):
        if report is not None:
            try:
                metrics[key] = lpo_summary(report, config)
            except CardInputError as exc:
                fail(str(exc))
            if not metrics[key]["config_matches"]:
                log(f"warning: {report} was measured with another configuration; rerun `make {target}`")
    uncertainty = None
    if calibrate:
        from ..sigma_calibration import CalibrationInputError, fit_calibration

        if None in (pairs_report, lpo_report, lso_report):
            fail("--calibrate needs --pairs-report, --lpo-report and --lso-report")
        try:
            uncertainty = fit_calibration({"pairs": pairs_report, "polymers": lpo_report, "solvents": lso_report})
        except CalibrationInputError as exc:
            fail(str(exc))
        log("σ calibration: " + ", ".join(f"{k} {uncertainty[k]:.3g}" for k in ("spread_scale", "floor", "polymer_scale", "solvent_scale"))
             + " | coverage ±1σ/±2σ after: " + ", ".join(
                 f"{s} {c['after']['within_1sigma']:.2f}/{c['after']['within_2sigma']:.2f}" for s, c in uncertainty["coverage"].items()))
    data = load_data(data_dir)
    if limit_pairs is not None:
        keep = set(sorted(data.exp["pair"].unique())[:limit_pairs])
        data.exp = data.exp[data.exp["pair"].isin(keep)]
        data.cosmo = data.cosmo[data.cosmo["pair"].isin(keep)]
    labels, label_fingerprint = None, {}
    if config.miscibility_weight > 0:
        labels, label_fingerprint = load_labels(data_dir)
        if limit_labels is not None:
            labels = labels[labels["polymer"].isin(sorted(labels["polymer"].unique())[:limit_labels])]

    if labels is not None and miscibility_cv_folds >= 2:
        started = time.perf_counter()
        mcv = cross_validate_miscibility(data, labels, config, miscibility_cv_folds, config.seed, log=log)
        mcv.pop("predictions")
        mcv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_miscibility"] = mcv
        log(miscibility_line(mcv))
    if cv_folds >= 2 and pairs_report is None:
        started = time.perf_counter()
        cv = cross_validate(data, config, scheme_folds(data, "pairs", cv_folds, config.seed), log=log, labels=labels)
        cv.pop("predictions")
        cv.update(scheme="pairs", seed=config.seed)
        cv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_pairs"] = cv
        log(f"pair-grouped {cv_folds}-fold CV: R² {cv['model']['r2']:.3f}, RMSE {cv['model']['rmse']:.3f} "
             f"(COSMO-RS on its rows: R² {cv['cosmo_rs']['r2']:.3f}, RMSE {cv['cosmo_rs']['rmse']:.3f})")
    ensemble, vocabulary, info = train_ensemble(data.exp, data.cosmo, config, log=log, labels=labels, hansen=data.hansen)
    manifest = write_artifact(
        ensemble,
        vocabulary,
        out,
        training={"config": config.to_dict(), **info, "domain": training_domain(data.exp)},
        data={"files": {**data.fingerprint, **label_fingerprint}, "exp_rows": int(len(data.exp)),
              "cosmo_rows": int(len(data.cosmo)), "label_rows": info["n_label_rows"],
              "temperature_k": [float(data.exp["temp_k"].min()), float(data.exp["temp_k"].max())]},
        metrics=metrics,
        miscibility=info["n_label_rows"] > 0,
        uncertainty=uncertainty,
    )
    from ..evaluate import regression_metrics
    from ..fit import predict_frame

    # How close the fit gets to its own rows (the noise floor is RMSE ≈ 0.15): shown beside the CV figures.
    manifest.metrics["train_set"] = regression_metrics(data.exp["chi"], predict_frame(ensemble, vocabulary, data.exp)["pred"])
    sample = data.exp.drop_duplicates("pair").head(200)
    inputs = row_matrices(vocabulary, sample)  # featurized once for both checks
    error = parity_error(ensemble, out / manifest.model_file, *inputs)
    manifest.metrics["parity_max_abs_chi"] = error
    composed = composition_error(out, manifest.model_file, manifest.graphs, *inputs)
    manifest.metrics["factorized_max_abs_diff"] = composed
    manifest.save(out)
    log(f"wrote {out}/{manifest.model_file}, the factorized graphs and manifest.json; torch↔onnxruntime max |Δχ| = "
         f"{error:.2e}; encoders+head vs whole graph max |Δ| = {composed:.2e}")
    if error > 1e-4:
        click.echo(f"error: exported graph disagrees with torch by {error:.2e} (> 1e-4)", err=True)
        sys.exit(1)
    if composed > 1e-5:
        click.echo(f"error: factorized graphs disagree with the whole graph by {composed:.2e} (> 1e-5)", err=True)
        sys.exit(1)
