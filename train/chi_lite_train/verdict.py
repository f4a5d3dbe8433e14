"""Fit the answer layer: the verdict's stacking model and the applicability-domain facts.

Reads polymer-grouped out-of-fold miscibility predictions (label, classifier p, χ(25 °C), σ),
fits logit p_miscible = b0 + b1·logit(p_classifier) + b2·clip((χ_c − χ)/√(σ² + floor²), ±6) by L2-regularised
IRLS (deterministic: byte-reproducible), scores it by a second polymer-grouped CV over the same
out-of-fold rows, and writes the "verdict" and "domain" sections into the model's manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from chi_lite.answer import LONG_CHAIN_CHI_CRITICAL
from chi_lite.config import ModelManifest
from chi_lite.domain import canonical, elements
from chi_lite.verdict import logit, margin

CHI_STD_FLOOR = 0.30  # χ error on a new pair the raw spread misses (pair-grouped CV RMSE ≈ 0.30, MODEL_CARD)
L2 = 1e-3  # ridge on the two weights (not the intercept): keeps IRLS finite on separable folds
NOVELTY_QUANTILES = {"near": 0.5, "out": 0.9}  # of the CV rows' novelty: above the 90th percentile is out


def stacking_features(rows: list[dict[str, Any]]) -> np.ndarray:
    """[logit p_classifier, (χ_c − χ)/σ clipped] per row."""
    return np.array([[logit(r["p_miscible"]), margin(r["chi"], r["chi_std"], LONG_CHAIN_CHI_CRITICAL, CHI_STD_FLOOR)] for r in rows])


def fit_logistic(x: np.ndarray, y: np.ndarray, iterations: int = 50) -> np.ndarray:
    """[b0, b1, …] by Newton–IRLS with a small ridge on the weights."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(design.shape[1])
    ridge = np.diag([0.0] + [L2 * len(x)] * x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ w))
        gradient = design.T @ (p - y) + ridge @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w


def predict_logistic(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(w[0] + x @ w[1:])))


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann–Whitney AUC (ties count ½)."""
    pos, neg = score[y == 1], score[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def _scores(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    return {"accuracy": float(np.mean((score >= threshold) == (y == 1))), "roc_auc": roc_auc(y, score), "n": int(len(y))}


def grouped_stacking_cv(rows: list[dict[str, Any]], folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Verdict vs classifier vs χ rule, each scored on polymers the stacking fit did not see."""
    x, y = stacking_features(rows), np.array([r["label"] for r in rows], dtype=float)
    polymers = sorted({r["polymer"] for r in rows})
    order = np.random.default_rng(seed).permutation(len(polymers))
    fold_of = {polymers[i]: k % folds for k, i in enumerate(order)}
    fold = np.array([fold_of[r["polymer"]] for r in rows])
    out = np.zeros(len(rows))
    for k in range(folds):
        test = fold == k
        out[test] = predict_logistic(fit_logistic(x[~test], y[~test]), x[test])
    chi = np.array([r["chi"] for r in rows])
    return {
        "verdict": _scores(y, out, 0.5),
        "classifier": _scores(y, np.array([r["p_miscible"] for r in rows]), 0.5),
        "chi_rule": _scores(y, -chi, -LONG_CHAIN_CHI_CRITICAL),
        "folds_n": folds,
        "seed": seed,
    }


def novelty_thresholds(reports: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Per role, near/out thresholds from CV rows' novelty, and the MAE of each domain class.

    Rows without ``polymer_novelty``/``solvent_novelty`` (a model that does not output them) are
    skipped; no rows → no thresholds, and the runtime skips the criterion.
    """
    thresholds: dict[str, dict[str, float]] = {}
    mae: dict[str, Any] = {}
    rows = [r for report in reports for r in report.get("predictions", [])]
    for role in ("polymer", "solvent"):
        key = f"{role}_novelty"
        have = [r for r in rows if r.get(key) is not None]
        if not have:
            continue
        novelty = np.array([r[key] for r in have], dtype=float)
        error = np.abs(np.array([r["pred"] - r["chi"] for r in have], dtype=float))
        limits = {name: float(np.quantile(novelty, q)) for name, q in NOVELTY_QUANTILES.items()}
        thresholds[role] = limits
        level = np.where(novelty > limits["out"], "out", np.where(novelty > limits["near"], "near", "in"))
        mae[role] = {c: {"mae": float(error[level == c].mean()), "n": int((level == c).sum())} for c in ("in", "near", "out") if (level == c).any()}
    return thresholds, mae


def domain_class_mae(exp: Any, report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """MAE of a grouped χ CV report per domain class, each test row graded against its fold's training rows.

    The folds are regenerated from the report's scheme/folds/seed exactly as `chi-lite-train cv` made them.
    """
    from chi_lite.domain import DomainFacts, assess

    from .evaluate import SCHEMES, grouped_folds

    predicted = {r["row"]: r["pred"] for r in report["predictions"]}
    errors: dict[str, list[float]] = {"in": [], "near": [], "out": []}
    for test_pos in grouped_folds(exp[SCHEMES[report["scheme"]]], report["folds_n"], report["seed"]):
        train = exp.drop(exp.index[test_pos])
        facts = DomainFacts.from_manifest(domain_facts(list(train["polymer"]), list(train["solvent"]), list(train["temp_k"])))
        for row in exp.iloc[test_pos].itertuples():
            if row.row in predicted:
                level = assess(facts, row.polymer, row.solvent, row.temp_k).domain
                errors[level].append(abs(predicted[row.row] - row.chi))
    return {c: {"mae": round(float(np.mean(e)), 4), "n": len(e)} for c, e in errors.items() if e}


def domain_facts(exp_polymers: list[str], exp_solvents: list[str], temperatures_k: list[float]) -> dict[str, Any]:
    """Elements, canonical molecules and temperature range of the χ training rows."""
    polymers = sorted({canonical(s) for s in exp_polymers})
    solvents = sorted({canonical(s) for s in exp_solvents})
    seen = sorted(set().union(*(elements(s) for s in polymers + solvents)))
    return {
        "elements": seen,
        "polymers": polymers,
        "solvents": solvents,
        "temperature_k": [float(min(temperatures_k)), float(max(temperatures_k))],
    }


def write_answer_layer(
    model_dir: Path,
    oof_path: Path,
    exp: Any,
    cv_reports: list[Path],
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Fit and write the manifest's "verdict" and "domain" sections; returns both."""
    oof = json.loads(Path(oof_path).read_text(encoding="utf-8"))
    rows = [r for r in oof["predictions"] if r.get("chi_std") is not None]
    if not rows:
        raise ValueError(f"{oof_path} has no out-of-fold rows with chi_std: rerun `chi-lite-train cv --task miscibility`")
    w = fit_logistic(stacking_features(rows), np.array([r["label"] for r in rows], dtype=float))
    cv = grouped_stacking_cv(rows)
    log(f"verdict (polymer-grouped stacking CV, {cv['verdict']['n']} labels): accuracy {cv['verdict']['accuracy']:.3f}, "
        f"AUC {cv['verdict']['roc_auc']:.3f} | classifier {cv['classifier']['accuracy']:.3f} / {cv['classifier']['roc_auc']:.3f} | "
        f"χ rule {cv['chi_rule']['accuracy']:.3f} / {cv['chi_rule']['roc_auc']:.3f}")
    verdict = {
        "form": "logit p = intercept + classifier_logit·logit(p_classifier) + chi_margin·clip((chi_c − chi)/sqrt(chi_std² + chi_std_floor²), ±6)",
        "chi_std_floor": CHI_STD_FLOOR,
        "coefficients": {"intercept": round(float(w[0]), 6), "classifier_logit": round(float(w[1]), 6), "chi_margin": round(float(w[2]), 6)},
        "fitted_on": {"oof_report": Path(oof_path).name, "labels": len(rows), "scheme": oof.get("scheme", "polymers")},
        "cv": cv,
    }
    reports = [json.loads(Path(p).read_text(encoding="utf-8")) for p in cv_reports if Path(p).exists()]
    thresholds, mae = novelty_thresholds(reports)
    class_mae = {r["scheme"]: domain_class_mae(exp, r) for r in reports}
    for scheme, classes in class_mae.items():
        log(f"χ MAE per domain class, {scheme}-grouped CV: " + ", ".join(f"{c} {v['mae']:.3f} (n={v['n']})" for c, v in classes.items()))
    domain = {**domain_facts(list(exp["polymer"]), list(exp["solvent"]), list(exp["temp_k"])),
              "novelty": thresholds, "novelty_mae": mae, "class_mae": class_mae}
    manifest = ModelManifest.load(model_dir)
    manifest.verdict, manifest.domain = verdict, domain
    manifest.save(model_dir)
    return {"verdict": verdict, "domain": domain}
