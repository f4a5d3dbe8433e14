"""`chi-lite calibrate`: fit a polymer's solubility sphere to a few lab tests and save it as a profile."""

from __future__ import annotations

from pathlib import Path

import click

from .options import model_option, threads_option
from .output import render

MAX_LISTED = 20  # skipped rows and flipped verdicts listed one per line


@click.command()
@click.option("--polymer", required=True, help="Polymer name (PMMA, …) or repeat-unit SMILES with two '*'.")
@click.option("--tests", "tests_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV: solvent (name or SMILES), optional temperature (°C, 25 when absent), chi and/or soluble (1/0, yes/no).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The profile (JSON) to write; use it with --profile in predict, screen, phase.")
@click.option("--kelvin", is_flag=True, help="The tests' temperatures are in kelvin.")
@click.option("--prior-strength", type=click.FloatRange(min=0, min_open=True), default=None,
              help="How strongly the fit stays near the structure-based sphere (default: the measured choice).")
@model_option
@threads_option
def calibrate(polymer, tests_path, out_path, kelvin, prior_strength, model_dir, threads) -> None:
    """Fit POLYMER's sphere (every ensemble member) to your tests; print residuals before/after and flipped verdicts."""
    from ..errors import ChiLiteError
    from ..lab_tests import read_tests
    from ..names import table
    from ..predictor import ChiPredictor
    from ..calibration import PRIOR_STRENGTH
    from ..profile import calibrate_polymer, structure_embedding, verdict_flips
    from ..units import ROOM_TEMPERATURE_K, celsius

    if out_path.resolve() == tests_path.resolve():
        raise ChiLiteError(f"--out {out_path} is the tests file: name another file for the profile")
    tests, skipped = read_tests(tests_path, kelvin)  # a bad file is refused before the model loads
    for line, error in skipped[:MAX_LISTED]:
        click.echo(f"warning: tests file line {line}: {error} (skipped)", err=True)
    if len(skipped) > MAX_LISTED:
        click.echo(f"warning: … and {len(skipped) - MAX_LISTED} more rows skipped", err=True)
    predictor = ChiPredictor(model_dir, threads=threads)
    strength = PRIOR_STRENGTH if prior_strength is None else prior_strength
    profile = calibrate_polymer(predictor, polymer, tests, skipped, strength=strength)
    profile.save(out_path)

    rows = []
    for t, before, after in zip(profile.tests, profile.residuals_before, profile.residuals_after):
        measured = f"chi {t.chi:g}" if t.chi is not None else f"soluble {'yes' if t.soluble else 'no'}"
        rows.append({"line": t.line, "solvent": t.solvent, "T_c": round(celsius(t.temperature_k), 2), "measured": measured,
                     "residual_before": before, "residual_after": after})
    click.echo(f"{profile.label}: {profile.smiles}, prior strength {profile.prior_strength:g}")
    click.echo("residuals: predicted χ − measured χ; for soluble tests p_miscible − (1 soluble, 0 not)")
    click.echo(render(rows, list(rows[0]), "table"), nl=False)
    rms = [sum(r * r for r in res) / len(res) for res in (profile.residuals_before, profile.residuals_after)]
    click.echo(f"RMS residual: before {rms[0] ** 0.5:.3f}, after {rms[1] ** 0.5:.3f}")
    named = [(entry.name, entry.smiles) for entry in table("solvents")]
    tested = list(dict.fromkeys((t.solvent, t.solvent_smiles) for t in profile.tests))
    flips = verdict_flips(predictor, structure_embedding(predictor, profile), profile,
                          tested + [n for n in named if n[1] not in {s for _, s in tested}], ROOM_TEMPERATURE_K)
    if flips:
        click.echo(f"verdict flipped at 25 °C ({len(flips)} solvents): " + ", ".join(
            f"{name} → {'soluble' if now else 'insoluble'}" for name, now in flips[:MAX_LISTED])
            + (" …" if len(flips) > MAX_LISTED else ""))
    else:
        click.echo("no solvent's verdict flipped at 25 °C")
    click.echo(f"wrote {out_path}", err=True)
