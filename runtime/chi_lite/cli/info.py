"""`chi-lite info`: the model card, read from the artifact's manifest."""

from __future__ import annotations

import json

import click

from ..units import celsius
from .options import model_option


def _card(manifest, directory) -> str:
    f = manifest.featurizer
    lines = [
        f"model        {directory / manifest.model_file}",
        f"sha256       {manifest.files.get(manifest.model_file, '')}",
        f"created      {manifest.created}",
        f"ensemble     {manifest.ensemble_size} members",
        f"tasks        " + ", ".join(f"{k} ({'trained' if v else 'not trained'})" for k, v in manifest.tasks.items()),
        f"vocabulary   {len(f.polymer_descriptors)} polymer + {len(f.solvent_descriptors)} solvent RDKit descriptors "
        f"(featurizer v{f.version}, cyclic {f.oligomer_length}-mer, {f.hydrogens} H, RDKit {f.rdkit_version})",
    ]
    data = manifest.data
    if data:
        t = data.get("temperature_k", [None, None])
        lines.append(
            f"data         {data.get('exp_rows')} experimental χ + {data.get('cosmo_rows')} COSMO-RS χ rows"
            + (f" + {data['label_rows']} miscibility labels" if data.get("label_rows") else "")
            + (f", {celsius(t[0]):.0f}–{celsius(t[1]):.0f} °C" if t[0] is not None else "")
        )
        for name, digest in data.get("files", {}).items():
            lines.append(f"             {name} sha256 {digest[:16]}…")
    cv = manifest.metrics.get("cv_pairs")
    if cv:
        m, c = cv["model"], cv["cosmo_rs"]
        lines.append(
            f"accuracy     pair-grouped {cv['folds_n']}-fold CV: R² {m['r2']:.3f}, RMSE {m['rmse']:.3f}, MAE {m['mae']:.3f} (n={m['n']})"
        )
        lines.append(f"baseline     raw COSMO-RS on {c['n']} of those rows: R² {c['r2']:.3f}, RMSE {c['rmse']:.3f}")
    mcv = manifest.metrics.get("cv_miscibility")
    if mcv:
        m, rule = mcv["model"], mcv["chi_rule"]
        lines.append(
            f"miscibility  polymer-grouped {mcv['folds_n']}-fold CV on {m['n']} PolySol labels: accuracy {m['accuracy']:.3f}, "
            f"ROC AUC {m['roc_auc']:.3f} (rule χ < 0.5: accuracy {rule['accuracy']:.3f}, AUC {rule['roc_auc']:.3f})"
        )
    verdict_cv = manifest.verdict.get("cv", {}).get("verdict")
    if verdict_cv:  # the one answer users read: classifier + χ(T) vs χ_c + crystallinity
        lines.append(f"verdict      p_miscible (one verdict), polymer-grouped CV on {verdict_cv['n']} labels: "
                     f"accuracy {verdict_cv['accuracy']:.3f}, ROC AUC {verdict_cv['roc_auc']:.3f}")
    lpo = manifest.metrics.get("cv_polymers")
    if lpo:
        m, c = lpo["model"], lpo["cosmo_rs"]
        note = "" if lpo.get("config_matches", True) else " [measured with another configuration]"
        lines.append(
            f"extrapol.    leave-polymers-out {lpo['folds_n']}-fold CV ({lpo.get('members')} members): R² {m['r2']:.3f}, "
            f"RMSE {m['rmse']:.3f}; raw COSMO-RS R² {c['r2']:.3f}, RMSE {c['rmse']:.3f}{note}"
        )
    lso = manifest.metrics.get("cv_solvents")
    if lso:
        m = lso["model"]
        lines.append(f"             leave-solvents-out {lso['folds_n']}-fold CV: R² {m['r2']:.3f}, RMSE {m['rmse']:.3f}")
    train = manifest.metrics.get("train_set")
    if train:
        lines.append(f"fit          on its own {train['n']} training rows: R² {train['r2']:.3f}, RMSE {train['rmse']:.3f}, "
                     f"MAE {train['mae']:.3f}")
    coverage = manifest.uncertainty.get("coverage")
    if coverage:
        lines.append("σ            chi_std is calibrated (spread and novelty); out-of-fold |error| within ±1σ/±2σ: " + ", ".join(
            f"{scheme} {c['after']['within_1sigma']:.2f}/{c['after']['within_2sigma']:.2f}" for scheme, c in coverage.items()))
    else:
        lines.append("σ            chi_std is the raw ensemble spread (this model has no calibration)")
    domain = manifest.training.get("domain")
    if domain:
        lines.append(
            f"domain       {domain['n_polymers']} polymers, {domain['n_solvents']} solvents, elements {' '.join(domain['elements'])}"
        )
    if "parity_max_abs_chi" in manifest.metrics:
        lines.append(f"parity       torch vs onnxruntime max |Δχ| {manifest.metrics['parity_max_abs_chi']:.1e}")
    lines.append("versions     " + ", ".join(f"{k} {v}" for k, v in manifest.versions.items()))
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@model_option
def info(fmt: str, model_dir) -> None:
    """Show the model card: data, vocabulary, accuracy and versions."""
    from ..artifact import load_artifact

    artifact = load_artifact(model_dir)
    if fmt == "json":
        click.echo(json.dumps({"directory": str(artifact.directory), **artifact.manifest.to_dict()}, indent=2, ensure_ascii=False))
    else:
        click.echo(_card(artifact.manifest, artifact.directory), nl=False)
