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


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _config(path: Path | None, **overrides):
    """The chosen configuration (or FILE), with the command-line overrides that were given."""
    from .fit import load_config

    try:
        return load_config(path).with_overrides({k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        _fail(str(exc))


CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Training configuration JSON (default: train/chosen_config.json, written by `make tune`).",
)


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
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
    _require_training_extra()
    from .card import CardInputError, lpo_summary
    from .data import training_domain
    from .evaluate import cross_validate, cross_validate_miscibility, scheme_folds
    from .export import parity_error, write_artifact
    from .factorized import composition_error
    from .features import row_matrices
    from .fit import train_ensemble

    config = _config(config_path, members=members, max_steps=max_steps, seed=seed,
                     miscibility_weight=miscibility_weight, miscibility_balance=balance)
    metrics = {}
    if lpo_report is not None:
        try:
            metrics["cv_polymers"] = lpo_summary(lpo_report, config)
        except CardInputError as exc:
            _fail(str(exc))
        if not metrics["cv_polymers"]["config_matches"]:
            _log(f"warning: {lpo_report} was measured with another configuration; rerun `make lpo`")
    for key, report, target in (("cv_solvents", lso_report, "lso"), ("cv_pairs", pairs_report, "cv-pairs")):
        if report is not None:
            try:
                metrics[key] = lpo_summary(report, config)
            except CardInputError as exc:
                _fail(str(exc))
            if not metrics[key]["config_matches"]:
                _log(f"warning: {report} was measured with another configuration; rerun `make {target}`")
    uncertainty = None
    if calibrate:
        from .sigma_calibration import CalibrationInputError, fit_calibration

        if None in (pairs_report, lpo_report, lso_report):
            _fail("--calibrate needs --pairs-report, --lpo-report and --lso-report")
        try:
            uncertainty = fit_calibration({"pairs": pairs_report, "polymers": lpo_report, "solvents": lso_report})
        except CalibrationInputError as exc:
            _fail(str(exc))
        _log("σ calibration: " + ", ".join(f"{k} {uncertainty[k]:.3g}" for k in ("spread_scale", "floor", "polymer_scale", "solvent_scale"))
             + " | coverage ±1σ/±2σ after: " + ", ".join(
                 f"{s} {c['after']['within_1sigma']:.2f}/{c['after']['within_2sigma']:.2f}" for s, c in uncertainty["coverage"].items()))
    data = _load_data(data_dir)
    if limit_pairs is not None:
        keep = set(sorted(data.exp["pair"].unique())[:limit_pairs])
        data.exp = data.exp[data.exp["pair"].isin(keep)]
        data.cosmo = data.cosmo[data.cosmo["pair"].isin(keep)]
    labels, label_fingerprint = None, {}
    if config.miscibility_weight > 0:
        labels, label_fingerprint = _load_labels(data_dir)
        if limit_labels is not None:
            labels = labels[labels["polymer"].isin(sorted(labels["polymer"].unique())[:limit_labels])]

    if labels is not None and miscibility_cv_folds >= 2:
        started = time.perf_counter()
        mcv = cross_validate_miscibility(data, labels, config, miscibility_cv_folds, config.seed, log=_log)
        mcv.pop("predictions")
        mcv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_miscibility"] = mcv
        _log(_miscibility_line(mcv))
    if cv_folds >= 2 and pairs_report is None:
        started = time.perf_counter()
        cv = cross_validate(data, config, scheme_folds(data, "pairs", cv_folds, config.seed), log=_log, labels=labels)
        cv.pop("predictions")
        cv.update(scheme="pairs", seed=config.seed)
        cv["seconds"] = round(time.perf_counter() - started, 1)
        metrics["cv_pairs"] = cv
        _log(f"pair-grouped {cv_folds}-fold CV: R² {cv['model']['r2']:.3f}, RMSE {cv['model']['rmse']:.3f} "
             f"(COSMO-RS on its rows: R² {cv['cosmo_rs']['r2']:.3f}, RMSE {cv['cosmo_rs']['rmse']:.3f})")
    ensemble, vocabulary, info = train_ensemble(data.exp, data.cosmo, config, log=_log, labels=labels, hansen=data.hansen)
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
    from .evaluate import regression_metrics
    from .fit import predict_frame

    # How close the fit gets to its own rows (the noise floor is RMSE ≈ 0.15): shown beside the CV figures.
    manifest.metrics["train_set"] = regression_metrics(data.exp["chi"], predict_frame(ensemble, vocabulary, data.exp)["pred"])
    sample = data.exp.drop_duplicates("pair").head(200)
    inputs = row_matrices(vocabulary, sample)  # featurized once for both checks
    error = parity_error(ensemble, out / manifest.model_file, *inputs)
    manifest.metrics["parity_max_abs_chi"] = error
    composed = composition_error(out, manifest.model_file, manifest.graphs, *inputs)
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
    _require_training_extra()
    from .evaluate import cross_validate, cross_validate_miscibility, scheme_folds
    from .splits import SplitFileError, fold_positions, read_split_file, write_split_file

    config = _config(config_path, members=members, miscibility_weight=miscibility_weight, miscibility_balance=balance)
    data = _load_data(data_dir)
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
    try:
        if splits_path is not None:
            positions = fold_positions(read_split_file(splits_path), data.exp["row"], splits_path)
            source = {"splits": str(splits_path)}
        else:
            positions = scheme_folds(data, scheme, folds, seed)
            source = {"scheme": scheme, "seed": seed}
    except SplitFileError as exc:
        _fail(str(exc))
    if write_splits is not None:
        write_split_file(write_splits, positions, data.exp["row"])
    started = time.perf_counter()
    result = cross_validate(data, config, positions, log=_log, labels=labels)
    result = {**source, **result, "seconds": round(time.perf_counter() - started, 1), "config": config.to_dict()}
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    m, c = result["model"], result["cosmo_rs"]
    label = f"splits {splits_path.name}" if splits_path is not None else f"{scheme}-grouped"
    click.echo(f"{label} {len(positions)}-fold: R² {m['r2']:.3f} RMSE {m['rmse']:.3f} MAE {m['mae']:.3f} | "
               f"COSMO-RS (n={c['n']}): R² {c['r2']:.3f} RMSE {c['rmse']:.3f} MAE {c['mae']:.3f} | {result['seconds']:.0f} s")


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


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
@click.option("--grid", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/tune_grid.json"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the CV splits and of every screened ensemble.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/chosen_config.json"), show_default=True,
              help="Chosen configuration, read by `make train`.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/ablation.json"),
              show_default=True, help="Ablation table (every candidate's CV figures).")
@click.option("--reuse", is_flag=True, help="Reuse candidates already measured in REPORT under the same protocol.")
def tune(data_dir: Path, grid: Path, seed: int, out: Path, report: Path, reuse: bool) -> None:
    """Screen the accuracy levers by grouped CV and write the best configuration."""
    _require_training_extra()
    from .tune import read_grid, tune as run_tune

    try:
        spec = read_grid(grid)
    except ValueError as exc:
        _fail(str(exc))
    data = _load_data(data_dir)
    previous = json.loads(report.read_text(encoding="utf-8")) if reuse and report.is_file() else None
    report.parent.mkdir(parents=True, exist_ok=True)

    def save(partial: dict) -> None:  # after every candidate: an interrupted search loses one run at most
        report.write_text(json.dumps({"grid": str(grid), **partial}, indent=1) + "\n", encoding="utf-8")

    def save_lpo(metrics: dict) -> None:  # the card's leave-polymers-out figures (screening ensemble size)
        (report.parent / "lpo_metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")

    from .fit import TrainConfig

    labels = _load_labels(data_dir)[0] if TrainConfig().with_overrides(spec.get("base", {})).miscibility_weight > 0 else None
    result = run_tune(data, spec, seed, log=_log, previous=previous, save=save, save_lpo=save_lpo, labels=labels)
    save(result)
    chosen = {"chosen_by": f"chi-lite-train tune --grid {grid} --seed {seed} (candidate: {result['chosen']})",
              "config": result["config"]}
    out.write_text(json.dumps(chosen, indent=1) + "\n", encoding="utf-8")
    click.echo(f"chose {result['chosen']!r}; wrote {out} and {report}")


@main.command()
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
    _require_training_extra()
    from .card import CardInputError, render_card

    try:
        from .fit import load_config

        text = render_card(model_dir, lpo, ablation, data_dir, pairs, levers_dir, chosen_config=load_config().to_dict())
    except CardInputError as exc:
        _fail(str(exc))
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")


@main.command()
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--oof", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/miscibility_oof.json"),
              show_default=True, help="Polymer-grouped out-of-fold miscibility predictions (`cv --task miscibility`).")
@click.option("--cv-report", "cv_reports", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              default=[Path("train/reports/pairs_metrics.json"), Path("train/reports/lpo_metrics.json"),
                       Path("train/reports/lso_metrics.json")], show_default=True,
              help="χ CV reports: per-row novelty sets the domain thresholds; MAE per domain class is reported.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
def verdict(model_dir: Path, oof: Path, cv_reports, data_dir: Path) -> None:
    """Fit the verdict's stacking model and write it and the applicability domain into the manifest."""
    _require_training_extra()
    from .verdict import write_answer_layer

    data = _load_data(data_dir)
    try:
        written = write_answer_layer(model_dir, oof, data.exp, list(cv_reports), log=_log)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        _fail(str(exc))
    click.echo(json.dumps(written["verdict"]["cv"]))


from .fewshot import fewshot as _fewshot  # noqa: E402  (few-shot calibration protocol, issue 12)

main.add_command(_fewshot)


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
@CONFIG_OPTION
@click.option("--set", "settings", multiple=True, help="A config override NAME=JSON_VALUE (repeatable), e.g. --set latent=16.")
@click.option("--name", required=True, help="Lever name (the report key).")
@click.option("--seed", type=int, default=1, show_default=True, help="Split and training seed (keep 0, the reported seed, out).")
@click.option("--members", type=click.IntRange(1), default=3, show_default=True)
@click.option("--schemes", default="pairs,polymers,solvents", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSON file to write for this lever.")
def lever(data_dir: Path, config_path, settings, name: str, seed: int, members: int, schemes: str, out: Path) -> None:
    """Measure one lever: train-set fit beside pair/polymer/solvent-grouped CV (issue 10 protocol)."""
    _require_training_extra()
    from .levers import measure_lever

    overrides = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            _fail(f"--set needs NAME=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    config = _config(config_path, members=members, seed=seed, **overrides)
    data = _load_data(data_dir)
    labels = _load_labels(data_dir)[0] if config.miscibility_weight > 0 else None
    result = measure_lever(data, config, seed, labels, tuple(schemes.split(",")), log=_log)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"name": name, "overrides": overrides, **result}, indent=1) + "\n", encoding="utf-8")
    click.echo(f"{name}: " + " | ".join(
        [f"train R² {result['train']['r2']:.3f}"]
        + [f"{s} R² {result[s]['r2']:.3f} RMSE {result[s]['rmse']:.3f} ±1σ {result[s]['within_1sigma']:.2f}"
           for s in schemes.split(",")]))
