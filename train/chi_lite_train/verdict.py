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
from chi_lite.crystalline import known_crystalline, melting_critical_chi, solvent_molar_volume
from chi_lite.uncertainty import calibrated_std, is_calibrated
from chi_lite.verdict import logit, margin, melt_probability

CHI_STD_FLOOR = 0.30  # χ error a raw ensemble spread misses (pair-grouped CV RMSE ≈ 0.30): P_melt's floor without calibration
FLOOR_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)  # stacking-margin floor candidates (grouped-CV log loss, TUNING_SEEDS)
TUNING_SEEDS = (1, 2, 3, 4)  # split seeds for choices; seed 0 is the reported one
LABEL_TEMPERATURE_K = 298.15  # PolySol labels: room temperature implied
L2 = 1e-3  # ridge on the two weights (not the intercept): keeps IRLS finite on separable folds
OUT_SHARE = (0.10, 0.30)  # `out` must be a minority of the held-out rows: 10–30 %
OUT_QUANTILES = (0.70, 0.75, 0.80, 0.85, 0.90)  # candidates for the out threshold (held-out novelty quantiles)
MIN_OUT_RATIO = 1.25  # out-row MAE ≥ 1.25 × the other held-out rows', else the role gets no out threshold


def row_sigma(rows: list[dict[str, Any]], uncertainty: dict[str, Any] | None = None) -> np.ndarray:
    """σ of χ per row as the runtime computes it: the calibrated σ when the model has one and the rows carry novelties."""
    spread = np.array([r["chi_std"] for r in rows], dtype=float)
    if is_calibrated(uncertainty) and all(r.get("polymer_novelty") is not None and r.get("solvent_novelty") is not None for r in rows):
        return calibrated_std(spread, np.array([r["polymer_novelty"] for r in rows], dtype=float),
                              np.array([r["solvent_novelty"] for r in rows], dtype=float), uncertainty)
    return spread


def melt_chi(rows: list[dict[str, Any]], temperature_k: float = LABEL_TEMPERATURE_K) -> np.ndarray:
    """χ_melt at the label temperature for semicrystalline polymers of the names table; NaN for the others."""
    out = np.full(len(rows), np.nan)
    for i, r in enumerate(rows):
        props = known_crystalline(r["polymer"])
        if props is not None:
            out[i] = melting_critical_chi(props, temperature_k, solvent_molar_volume(r["solvent"]))
    return out


def stacking_features(rows: list[dict[str, Any]], sigma: np.ndarray | None = None, floor: float = CHI_STD_FLOOR) -> np.ndarray:
    """[logit p_classifier, (χ_c − χ)/√(σ² + floor²) clipped] per row."""
    sigma = np.array([r["chi_std"] for r in rows], dtype=float) if sigma is None else sigma
    return np.array([[logit(r["p_miscible"]), margin(r["chi"], float(s), LONG_CHAIN_CHI_CRITICAL, floor)] for r, s in zip(rows, sigma)])


def melt_factor(rows: list[dict[str, Any]], sigma: np.ndarray, chi_melt: np.ndarray, floor: float) -> np.ndarray:
    """P_melt per row (1 for amorphous polymers), as the runtime multiplies it on."""
    return np.array([melt_probability(r["chi"], float(s), None if np.isnan(c) else float(c), floor)
                     for r, s, c in zip(rows, sigma, chi_melt)])


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


def polymer_folds(rows: list[dict[str, Any]], folds: int, seed: int) -> np.ndarray:
    """Fold index per row, whole polymers per fold."""
    polymers = sorted({r["polymer"] for r in rows})
    order = np.random.default_rng(seed).permutation(len(polymers))
    fold_of = {polymers[i]: k % folds for k, i in enumerate(order)}
    return np.array([fold_of[r["polymer"]] for r in rows])


def grouped_oof(x: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Out-of-fold stacking probabilities."""
    out = np.zeros(len(y))
    for k in np.unique(fold):
        test = fold == k
        out[test] = predict_logistic(fit_logistic(x[~test], y[~test]), x[test])
    return out


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose_floor(rows: list[dict[str, Any]], sigma: np.ndarray, folds: int = 5) -> tuple[float, dict[str, float]]:
    """The stacking margin's σ floor: lowest polymer-grouped CV log loss of the stacking on TUNING_SEEDS.

    Scored without the crystalline factor: the room-temperature labels cannot grade it (crystalline_evidence).
    """
    y = np.array([r["label"] for r in rows], dtype=float)
    losses = {}
    for floor in FLOOR_GRID:
        x = stacking_features(rows, sigma, floor)
        losses[str(floor)] = round(float(np.mean([log_loss(y, grouped_oof(x, y, polymer_folds(rows, folds, s))) for s in TUNING_SEEDS])), 5)
    best = min(FLOOR_GRID, key=lambda f: losses[str(f)])
    return best, losses


def grouped_stacking_cv(rows: list[dict[str, Any]], folds: int = 5, seed: int = 0, sigma: np.ndarray | None = None,
                        floor: float = CHI_STD_FLOOR, melt_floor: float = CHI_STD_FLOOR) -> dict[str, Any]:
    """Verdict (stacking × P_melt) vs classifier vs χ rule, each scored on polymers the stacking fit did not see."""
    sigma = np.array([r["chi_std"] for r in rows], dtype=float) if sigma is None else sigma
    x, y = stacking_features(rows, sigma, floor), np.array([r["label"] for r in rows], dtype=float)
    stacked = grouped_oof(x, y, polymer_folds(rows, folds, seed))
    out = stacked * melt_factor(rows, sigma, melt_chi(rows), melt_floor)
    chi = np.array([r["chi"] for r in rows])
    return {
        "verdict": _scores(y, out, 0.5),
        "stacking_without_crystalline": _scores(y, stacked, 0.5),
        "classifier": _scores(y, np.array([r["p_miscible"] for r in rows]), 0.5),
        "chi_rule": _scores(y, -chi, -LONG_CHAIN_CHI_CRITICAL),
        "folds_n": folds,
        "seed": seed,
    }


def crystalline_evidence(rows: list[dict[str, Any]], sigma: np.ndarray, floor: float, melt_floor: float,
                         folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Can the labels fit the crystalline term? Rows of table polymers, the weight a fitted melt margin gets, and
    polymer-grouped CV accuracy on those rows for: no crystalline term, the margin as a fitted feature, the product."""
    y = np.array([r["label"] for r in rows], dtype=float)
    chi_melt = melt_chi(rows)
    crystalline = ~np.isnan(chi_melt)
    if not crystalline.any():
        return {"rows": 0}
    base = stacking_features(rows, sigma, floor)
    z = np.array([0.0 if np.isnan(c) else margin(r["chi"], float(s), float(c), melt_floor) for r, s, c in zip(rows, sigma, chi_melt)])
    with_feature = np.hstack([base, z[:, None]])
    fold = polymer_folds(rows, folds, seed)
    variants = {"none": grouped_oof(base, y, fold), "fitted_margin": grouped_oof(with_feature, y, fold),
                "product": grouped_oof(base, y, fold) * melt_factor(rows, sigma, chi_melt, melt_floor)}
    yc = y[crystalline]
    return {
        "rows": int(crystalline.sum()),
        "polymers": len({r["polymer"] for r, c in zip(rows, crystalline) if c}),
        "positive_fraction": round(float(yc.mean()), 4),
        "fitted_margin_weight": round(float(fit_logistic(with_feature, y)[3]), 4),
        "melt_margin_auc_on_these_rows": round(roc_auc(yc, z[crystalline]), 4),
        "classifier_auc_on_these_rows": round(roc_auc(yc, np.array([r["p_miscible"] for r in rows])[crystalline]), 4),
        "cv_accuracy_on_these_rows": {k: round(float(np.mean((v[crystalline] >= 0.5) == (yc == 1))), 4) for k, v in variants.items()},
        "combination": "product",
    }


def _held_out_rows(reports: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    scheme = {"polymer": "polymers", "solvent": "solvents"}[role]
    return [r for report in reports if report.get("scheme") == scheme for r in report.get("predictions", [])
            if r.get(f"{role}_novelty") is not None]


def novelty_thresholds(reports: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Per role, near/out novelty thresholds chosen on the CV that holds that role out (LPO for polymers, LSO for solvents).

    near: the smallest novelty a held-out molecule showed (closer is indistinguishable from a training molecule).
    out: the held-out novelty quantile of OUT_QUANTILES whose rows have the largest MAE relative to the other
    held-out rows, among those leaving 10–30 % of the rows out; none when no candidate reaches MIN_OUT_RATIO
    (then novelty does not predict the error for that role and only grades near). Roles without a held-out
    report with novelties get no thresholds (the runtime skips the criterion). Returns the thresholds and,
    per role, the held-out rows' MAE on each side with the candidates tried.
    """
    thresholds: dict[str, dict[str, float]] = {}
    evidence: dict[str, Any] = {}
    for role in ("polymer", "solvent"):
        have = _held_out_rows(reports, role)
        if not have:
            continue
        novelty = np.array([r[f"{role}_novelty"] for r in have], dtype=float)
        error = np.abs(np.array([r["pred"] - r["chi"] for r in have], dtype=float))
        limits = {"near": float(novelty.min())}
        tried = {}
        for q in OUT_QUANTILES:
            cut = float(np.quantile(novelty, q))
            out = novelty > cut
            share = float(out.mean())
            if out.all() or not out.any():
                continue
            ratio = float(error[out].mean() / error[~out].mean())
            tried[str(q)] = {"threshold": round(cut, 4), "share": round(share, 4), "mae_out": round(float(error[out].mean()), 4),
                             "mae_rest": round(float(error[~out].mean()), 4), "ratio": round(ratio, 3)}
        fit = {k: v for k, v in tried.items() if OUT_SHARE[0] <= v["share"] <= OUT_SHARE[1] and v["ratio"] >= MIN_OUT_RATIO}
        if fit:
            best = max(fit, key=lambda k: fit[k]["ratio"])
            limits["out"] = fit[best]["threshold"]
        thresholds[role] = limits
        evidence[role] = {"held_out_rows": len(have), "near": round(limits["near"], 4), "out": limits.get("out"), "candidates": tried}
    return thresholds, evidence


def domain_class_mae(exp: Any, report: dict[str, Any], novelty: dict[str, dict[str, float]] | None = None) -> dict[str, list[float]]:
    """Absolute errors of a grouped χ CV report per domain class, each test row graded as the runtime would grade it
    against its fold's training rows (with the row's novelties and the ``novelty`` thresholds).

    The folds are regenerated from the report's scheme/folds/seed exactly as `chi-lite-train cv` made them.
    """
    from chi_lite.domain import DomainFacts, assess

    from .evaluate import SCHEMES, grouped_folds

    predicted = {r["row"]: r for r in report["predictions"]}
    errors: dict[str, list[float]] = {"in": [], "near": [], "out": []}
    for test_pos in grouped_folds(exp[SCHEMES[report["scheme"]]], report["folds_n"], report["seed"]):
        train = exp.drop(exp.index[test_pos])
        facts = DomainFacts.from_manifest({**domain_facts(list(train["polymer"]), list(train["solvent"]), list(train["temp_k"])),
                                           "novelty": novelty or {}})
        for row in exp.iloc[test_pos].itertuples():
            r = predicted.get(row.row)
            if r is not None:
                distances = {role: r.get(f"{role}_novelty") for role in ("polymer", "solvent")}
                level = assess(facts, row.polymer, row.solvent, row.temp_k, distances).domain
                errors[level].append(abs(r["pred"] - row.chi))
    return errors


def summarize_errors(errors: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """MAE, row count and row share per domain class."""
    total = sum(len(e) for e in errors.values())
    return {c: {"mae": round(float(np.mean(e)), 4), "n": len(e), "share": round(len(e) / total, 4)} for c, e in errors.items() if e}


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
    manifest = ModelManifest.load(model_dir)
    sigma = row_sigma(rows, manifest.uncertainty)
    sigma_basis = "calibrated" if is_calibrated(manifest.uncertainty) and all(
        r.get("polymer_novelty") is not None and r.get("solvent_novelty") is not None for r in rows) else "raw spread"
    floor, floor_losses = choose_floor(rows, sigma)
    melt_floor = 0.0 if sigma_basis == "calibrated" else CHI_STD_FLOOR  # a calibrated σ already is the χ error
    log(f"σ of the OOF rows: {sigma_basis}; stacking floor {floor} (grouped-CV log loss on seeds {TUNING_SEEDS}: {floor_losses}); "
        f"P_melt floor {melt_floor}")
    w = fit_logistic(stacking_features(rows, sigma, floor), np.array([r["label"] for r in rows], dtype=float))
    cv = grouped_stacking_cv(rows, sigma=sigma, floor=floor, melt_floor=melt_floor)
    log(f"verdict (polymer-grouped stacking CV, {cv['verdict']['n']} labels): accuracy {cv['verdict']['accuracy']:.3f}, "
        f"AUC {cv['verdict']['roc_auc']:.3f} | classifier {cv['classifier']['accuracy']:.3f} / {cv['classifier']['roc_auc']:.3f} | "
        f"χ rule {cv['chi_rule']['accuracy']:.3f} / {cv['chi_rule']['roc_auc']:.3f} | stacking without the crystalline factor "
        f"{cv['stacking_without_crystalline']['accuracy']:.3f} / {cv['stacking_without_crystalline']['roc_auc']:.3f}")
    crystalline = crystalline_evidence(rows, sigma, floor, melt_floor)
    log(f"crystalline term on the labels: {json.dumps(crystalline, ensure_ascii=False)}")
    verdict = {
        "form": "logit p = intercept + classifier_logit·logit(p_classifier) + chi_margin·clip((chi_c − chi)/sqrt(chi_std² + chi_std_floor²), ±6); "
                "semicrystalline polymers: × Φ((chi_melt(T) − chi)/sqrt(chi_std² + melt_std_floor²))",
        "chi_std_floor": floor,
        "melt_std_floor": melt_floor,
        "chi_std_floor_choice": {"grid_log_loss": floor_losses, "seeds": list(TUNING_SEEDS), "sigma": sigma_basis},
        "coefficients": {"intercept": round(float(w[0]), 6), "classifier_logit": round(float(w[1]), 6), "chi_margin": round(float(w[2]), 6)},
        "fitted_on": {"oof_report": Path(oof_path).name, "labels": len(rows), "scheme": oof.get("scheme", "polymers")},
        "crystalline": crystalline,
        "cv": cv,
    }
    reports = [json.loads(Path(p).read_text(encoding="utf-8")) for p in cv_reports if Path(p).exists()]
    thresholds, evidence = novelty_thresholds(reports)
    for role, e in evidence.items():
        log(f"{role} novelty thresholds (held-out CV rows {e['held_out_rows']}): near {e['near']}, out {e['out']}")
    errors = {r["scheme"]: domain_class_mae(exp, r, thresholds) for r in reports}
    class_mae = {scheme: summarize_errors(e) for scheme, e in errors.items()}
    if errors:
        class_mae["all"] = summarize_errors({c: [x for e in errors.values() for x in e[c]] for c in ("in", "near", "out")})
    for scheme, classes in class_mae.items():
        log(f"χ MAE per domain class, {scheme} CV: " + ", ".join(f"{c} {v['mae']:.3f} (n={v['n']}, {100 * v['share']:.0f} %)" for c, v in classes.items()))
    domain = {**domain_facts(list(exp["polymer"]), list(exp["solvent"]), list(exp["temp_k"])),
              "novelty": thresholds, "novelty_choice": evidence, "class_mae": class_mae}
    manifest.verdict, manifest.domain = verdict, domain
    manifest.save(model_dir)
    return {"verdict": verdict, "domain": domain}
