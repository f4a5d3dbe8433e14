"""Few-shot calibration, measured honestly: leave-polymers-out folds, k tests of the held-out polymer.

For every fold an ensemble is trained without the held-out polymers (the usual grouped-CV
pipeline, small member count). Each held-out polymer then gets k of its own χ rows as lab
tests (k = 0, 1, 3, 5, 10; 5 random draws, fixed seed), the runtime's calibration fits its
embedding (chi_lite.calibration), and its other rows are scored. The same draws are repeated
as soluble/insoluble tests (label χ < 0.5), scored by accuracy, next to the Hansen-sphere
route users have today: a sphere fitted to the same tests from the solvents' δ in
hansen/hsp_solvents.csv (read here, never copied), classifying the other solvents by RED < 1.

Training (torch) runs once per fold and its embeddings are kept in a cache directory;
everything after that is numpy and takes seconds.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np
import pandas as pd

from chi_lite import calibration
from chi_lite.calibration import fit_embedding, predict_members, sigmoid
from chi_lite.factorized import HeadWeights

KS = (0, 1, 3, 5, 10)
DRAWS = 5
DRAW_SEED = 12345
SOLUBLE_CHI = 0.5  # label of a soluble/insoluble test: χ < 0.5
REPORT_SEED = 0  # split seed of the reported figures
TUNE_SEED = 1  # split seed on which the fit's settings are chosen
# Chosen on TUNE_SEED in three stages (choose_settings): the χ-test settings by the mean calibrated χ
# RMSE over k = 1, 3, 5, 10, then the χ slope prior the same way (adopted only when it lowers that
# RMSE by more than PARSIMONY: an extra parameter must earn its place), then the soluble-test
# likelihood's scale by the mean accuracy (χ < 0.5) over k = 1, 3, 5, 10. The miscibility head's
# weight is not tuned: it stays 1 so the verdict users see (p_miscible) follows soluble tests too.
CHI_GRID = {"strength": (10.0, 30.0, 100.0), "noise": (0.15, 0.25, 0.35), "offset_prior": (0.0, 0.15, 0.3)}
SLOPE_GRID = (0.05, 0.15)
SOLUBLE_GRID = {"soluble_scale": (0.03, 0.05, 0.1, 0.2)}
PARSIMONY = 0.001
HANSEN_FILE = "hansen/hsp_solvents.csv"


# ---- training: one small ensemble per fold, embeddings cached -----------------------------------

def _fold_bundle(data, labels, config, test_pos: np.ndarray) -> dict[str, np.ndarray]:
    """Train on the fold's training rows; return the head and the held-out molecules' embeddings."""
    import torch

    from chi_lite.featurize.featurizer import Featurizer

    from .evaluate import _canonical_keys, _labels_outside, fold_training_rows
    from .fit import train_ensemble

    exp = data.exp
    test = exp.iloc[test_pos]
    train, cosmo = fold_training_rows(data, test_pos)
    fold_labels = None
    if labels is not None:
        keys = _canonical_keys(exp)
        fold_labels = _labels_outside(labels, keys.iloc[test_pos], keys.drop(keys.index[test_pos]))
    ensemble, vocabulary, _ = train_ensemble(train, cosmo, config, hansen=data.hansen, labels=fold_labels)
    featurizer = Featurizer(vocabulary, check_rdkit=False)
    polymers = sorted(set(test["polymer"]))
    solvents = sorted(set(test["solvent"]))
    with torch.no_grad():
        xp = ensemble.polymer_scaler(torch.tensor(np.stack([featurizer.polymer(p) for p in polymers]), dtype=torch.float32))
        xs = ensemble.solvent_scaler(torch.tensor(np.stack([featurizer.solvent(s) for s in solvents]), dtype=torch.float32))
        ep = torch.stack([m.embed_polymer(xp) for m in ensemble.members], dim=1).numpy()
        es = torch.stack([m.embed_solvent(xs) for m in ensemble.members], dim=1).numpy()
        weight = torch.stack([m.head.weight for m in ensemble.members]).numpy()
        bias = torch.stack([m.head.bias for m in ensemble.members]).numpy()
    return {
        "rows": test["row"].to_numpy(), "polymers": np.array(polymers), "solvents": np.array(solvents),
        "polymer_embedding": ep, "solvent_embedding": es, "weight": weight, "bias": bias,
        "chi_mean": np.array(float(ensemble.chi_mean)), "chi_scale": np.array(float(ensemble.chi_scale)),
        "t_ref": np.array(float(ensemble.t_ref)),
    }


def train_folds(data, labels, config, seed: int, folds_n: int, cache: Path, log: Callable[[str], None]) -> list[Path]:
    """One bundle per fold of split ``seed`` in ``cache`` (reused when the same config made it)."""
    from .evaluate import scheme_folds

    import hashlib

    cache.mkdir(parents=True, exist_ok=True)
    # The stamp covers what the fold models learn from: the config, the χ data and the labels
    # (a cache made before the PolySol labels changed must not be reused).
    labels_sha = None if labels is None else hashlib.sha256(labels.to_csv(index=False).encode()).hexdigest()
    stamp = json.dumps({"config": config.to_dict(), "data": data.fingerprint, "labels": labels_sha}, sort_keys=True)
    paths = []
    for k, test_pos in enumerate(scheme_folds(data, "polymers", folds_n, seed)):
        path = cache / f"seed{seed}_fold{k}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as old:
                if str(old["config"]) == stamp:
                    paths.append(path)
                    log(f"split seed {seed} fold {k + 1}/{folds_n}: cached")
                    continue
        started = time.perf_counter()
        bundle = _fold_bundle(data, labels, config, test_pos)
        np.savez(path, config=np.array(stamp), **bundle)
        paths.append(path)
        log(f"split seed {seed} fold {k + 1}/{folds_n}: trained {config.members} members in {time.perf_counter() - started:.0f} s")
    return paths


# ---- the Hansen-sphere baseline -------------------------------------------------------------------

def load_solvent_hsp(data_dir: Path) -> dict[str, np.ndarray]:
    """δD, δP, δH by canonical SMILES from hsp_solvents.csv (the solvents table only)."""
    from .data import canonical

    raw = pd.read_csv(Path(data_dir) / HANSEN_FILE).dropna(subset=["SMILES", "D", "P", "H"])
    table: dict[str, np.ndarray] = {}
    for smiles, d, p, h in raw[["SMILES", "D", "P", "H"]].itertuples(index=False):
        key = canonical(smiles)
        if key is not None and key not in table:
            table[key] = np.array([d, p, h], dtype=float)
    return table


_GRID = np.stack(np.meshgrid(np.arange(13.0, 23.01, 0.5), np.arange(0.0, 25.01, 0.5), np.arange(0.0, 30.01, 0.5),
                             indexing="ij"), axis=-1).reshape(-1, 3)


def hansen_distance(center: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Ra = sqrt(4ΔδD² + ΔδP² + ΔδH²) between centres (..., 3) and solvents (n, 3)."""
    diff = delta[None, :, :] - np.atleast_2d(center)[:, None, :]
    return np.sqrt(4 * diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)


def fit_hansen_sphere(delta: np.ndarray, good: np.ndarray) -> tuple[np.ndarray, float]:
    """Classic sphere fit (Hansen's SPHERE / HSPiP): good solvents inside (RED < 1), bad outside.

    Minimises the summed distance of wrongly placed solvents to the sphere's surface, then the
    radius (the smallest sphere that fits), over a 0.5 MPa½ grid of centres; R0 is exact per centre.
    """
    good = np.asarray(good, bool)
    if not good.any():
        return np.array([0.0, 0.0, 0.0]), 0.0  # nothing dissolves it: an empty sphere
    ra = hansen_distance(_GRID, delta)  # (centres, n)
    eps = 1e-6
    candidates = np.concatenate([ra[:, good] + eps, ra[:, ~good]], axis=1)  # (centres, c)
    miss_good = np.maximum(0.0, ra[:, None, good] - candidates[:, :, None]).sum(axis=2) if good.any() else 0.0
    miss_bad = np.maximum(0.0, candidates[:, :, None] - ra[:, None, ~good] + eps).sum(axis=2) if (~good).any() else 0.0
    objective = miss_good + miss_bad + 1e-3 * candidates
    best = np.unravel_index(np.argmin(objective), objective.shape)
    return _GRID[best[0]], float(candidates[best])


# ---- evaluation ---------------------------------------------------------------------------------

def _head(bundle) -> HeadWeights:
    return HeadWeights(weight=bundle["weight"], bias=bundle["bias"], chi_mean=float(bundle["chi_mean"]),
                       chi_scale=float(bundle["chi_scale"]), t_ref=float(bundle["t_ref"]))


def _draws(n_rows: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    return [np.sort(rng.choice(n_rows, size=k, replace=False)) for _ in range(DRAWS)]


def runtime_settings() -> dict[str, float]:
    """The fit settings the runtime uses (chi_lite.calibration's constants)."""
    return {"strength": calibration.PRIOR_STRENGTH, "noise": calibration.CHI_NOISE,
            "offset_prior": calibration.OFFSET_PRIOR, "slope_prior": calibration.SLOPE_PRIOR,
            "soluble_scale": calibration.SOLUBLE_SCALE, "miscibility_weight": calibration.MISCIBILITY_WEIGHT}


def evaluate_split(data, bundles: list[Path], fit: dict[str, float], hsp: dict[str, np.ndarray] | None,
                   modes: tuple[str, ...] = ("chi", "soluble")) -> pd.DataFrame:
    """One row per (k, draw, held-out polymer, scored row): observations and every prediction.

    ``fit``: fit_embedding's settings; ``modes``: which kind of test to fit (the other's predictions are NaN).
    """
    from .data import canonical

    records = []
    exp = data.exp.set_index("row")
    for path in bundles:
        with np.load(path, allow_pickle=False) as b:
            bundle = {key: b[key] for key in b.files}
        head = _head(bundle)
        p_index = {p: i for i, p in enumerate(bundle["polymers"])}
        s_index = {s: i for i, s in enumerate(bundle["solvents"])}
        test = exp.loc[bundle["rows"]].reset_index()
        for polymer, rows in test.groupby("polymer", sort=True):
            prior = bundle["polymer_embedding"][p_index[polymer]].astype(np.float64)
            solvents = bundle["solvent_embedding"][[s_index[s] for s in rows["solvent"]]].astype(np.float64)
            temps, chi_obs = rows["temp_k"].to_numpy(), rows["chi"].to_numpy()
            soluble = (chi_obs < SOLUBLE_CHI).astype(float)
            keys = [canonical(s) for s in rows["solvent"]]
            delta = np.array([hsp.get(k, [np.nan] * 3) if hsp else [np.nan] * 3 for k in keys])
            chi0, logit0 = predict_members(head, prior, solvents, temps)
            rng = np.random.default_rng([DRAW_SEED, int(rows["row"].min())])
            for k in KS:
                if len(rows) <= k:
                    continue
                for draw, tests in enumerate(_draws(len(rows), k, rng)):
                    other = np.setdiff1d(np.arange(len(rows)), tests)
                    nan = np.full(k, np.nan)
                    fits = {}
                    for mode, chi_t, sol_t in (("chi", chi_obs[tests], nan), ("soluble", nan, soluble[tests])):
                        if mode not in modes:
                            fits[mode] = np.full((len(other), 1), np.nan), np.full((len(other), 1), np.nan)
                        elif k == 0:
                            fits[mode] = chi0[other], logit0[other]
                        else:
                            result = fit_embedding(head, prior, solvents[tests], temps[tests], chi_t, sol_t, **fit)
                            fits[mode] = predict_members(head, result.embedding, solvents[other], temps[other], result.offset)
                    red = np.full(len(other), np.nan)
                    known = ~np.isnan(delta[tests]).any(axis=1)
                    if hsp and k > 0 and known.any():
                        center, radius = fit_hansen_sphere(delta[tests][known], soluble[tests][known] > 0.5)
                        ra = hansen_distance(center, delta[other])[0]
                        red = ra / radius if radius > 0 else np.where(np.isnan(ra), np.nan, np.inf)
                    tested = set(rows["solvent"].iloc[tests])
                    for j, i in enumerate(other):
                        records.append({
                            "k": k, "draw": draw, "polymer": polymer, "row": int(rows["row"].iloc[i]),
                            "new_solvent": rows["solvent"].iloc[i] not in tested,
                            "chi": chi_obs[i], "pred0": chi0[i].mean(), "pred_chi": fits["chi"][0][j].mean(),
                            "soluble": soluble[i], "p0": sigmoid(logit0[i]).mean(),
                            "chi_sol": fits["soluble"][0][j].mean(), "p_sol": sigmoid(fits["soluble"][1][j]).mean(),
                            "red": red[j],
                        })
    return pd.DataFrame.from_records(records)


def _regression(y: pd.Series, pred: pd.Series) -> dict[str, float]:
    from .evaluate import regression_metrics

    return {key: round(value, 4) for key, value in regression_metrics(y, pred).items()}


def summarize(frame: pd.DataFrame) -> dict[str, Any]:
    """χ metrics (calibrated vs uncalibrated on the same rows) and verdict accuracies per k."""
    out: dict[str, Any] = {"chi": [], "chi_new_solvents": [], "soluble": []}
    for k, rows in frame.groupby("k"):
        for key, part in (("chi", rows), ("chi_new_solvents", rows[rows["new_solvent"]])):
            if len(part):
                out[key].append({"k": int(k), "polymers": int(part["polymer"].nunique()),
                                 "calibrated": _regression(part["chi"], part["pred_chi"]),
                                 "uncalibrated": _regression(part["chi"], part["pred0"])})
        y = rows["soluble"] > 0.5
        with_hsp = rows[rows["red"].notna()]
        y_h = with_hsp["soluble"] > 0.5
        out["soluble"].append({
            "k": int(k), "n": int(len(rows)), "polymers": int(rows["polymer"].nunique()),
            "accuracy_chi_rule": round(float(np.mean((rows["chi_sol"] < SOLUBLE_CHI) == y)), 4),
            "accuracy_p_miscible": round(float(np.mean((rows["p_sol"] >= 0.5) == y)), 4),
            "accuracy_uncalibrated_chi_rule": round(float(np.mean((rows["pred0"] < SOLUBLE_CHI) == y)), 4),
            "majority_of_scored_rows": round(float(max(y.mean(), 1 - y.mean())), 4),
            "hansen_rows": int(len(with_hsp)),
            "accuracy_hansen_sphere": round(float(np.mean((with_hsp["red"] < 1) == y_h)), 4) if len(with_hsp) else None,
            "accuracy_chi_rule_on_hansen_rows": round(float(np.mean((with_hsp["chi_sol"] < SOLUBLE_CHI) == y_h)), 4)
            if len(with_hsp) else None,
        })
    return out


def _mean_rmse(frame: pd.DataFrame) -> float:
    """Mean over k > 0 of the calibrated χ RMSE of the scored rows."""
    part = frame[frame["k"] > 0]
    return float(part.groupby("k").apply(lambda g: np.sqrt(np.mean((g["pred_chi"] - g["chi"]) ** 2))).mean())


def _mean_accuracy(frame: pd.DataFrame) -> float:
    """Mean over k > 0 of the accuracy of χ < 0.5 after soluble/insoluble tests."""
    part = frame[frame["k"] > 0]
    return float(part.groupby("k").apply(lambda g: np.mean((g["chi_sol"] < SOLUBLE_CHI) == (g["soluble"] > 0.5))).mean())


def choose_settings(data, bundles: list[Path], log: Callable[[str], None]) -> tuple[dict[str, float], list[dict]]:
    """The fit settings chosen on the tuning split (see CHI_GRID): χ settings, then the slope, then the soluble likelihood."""
    settings = runtime_settings()
    tuning: list[dict] = []

    def score(stage: str, trial: dict[str, float], mode: str) -> float:
        frame = evaluate_split(data, bundles, {**settings, **trial}, None, (mode,))
        value = _mean_rmse(frame) if mode == "chi" else _mean_accuracy(frame)
        tuning.append({"stage": stage, **trial, "mean_rmse" if mode == "chi" else "mean_accuracy": round(value, 4)})
        log(f"{stage}: {trial} → {'mean χ RMSE' if mode == 'chi' else 'mean accuracy'} {value:.4f}")
        return value

    keys = list(CHI_GRID)
    trials = [dict(zip(keys, values)) for values in itertools.product(*CHI_GRID.values())]
    settings.update(min(trials, key=lambda trial: score("chi", {**trial, "slope_prior": 0.0}, "chi")), slope_prior=0.0)
    best = score("slope", {"slope_prior": 0.0}, "chi")
    for value in SLOPE_GRID:
        rmse = score("slope", {"slope_prior": value}, "chi")
        if rmse < best - PARSIMONY:
            best, settings["slope_prior"] = rmse, value
    keys = list(SOLUBLE_GRID)
    trials = [dict(zip(keys, values)) for values in itertools.product(*SOLUBLE_GRID.values())]
    settings.update(max(trials, key=lambda trial: score("soluble", trial, "soluble")))
    return settings, tuning


def plot(report: dict, path: Path) -> None:
    """RMSE and accuracy against k: docs/fewshot.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    chi = report["results"]["chi"]
    ks = [e["k"] for e in chi]
    ax1.plot(ks, [e["calibrated"]["rmse"] for e in chi], "o-", label="calibrated (χ tests)")
    ax1.plot(ks, [e["uncalibrated"]["rmse"] for e in chi], "s--", label="uncalibrated, same rows")
    ax1.set_xlabel("k χ tests of the held-out polymer")
    ax1.set_ylabel("RMSE of its other rows")
    ax1.set_title("χ, leave-polymers-out")
    ax1.legend()
    sol = report["results"]["soluble"]
    ks = [e["k"] for e in sol]
    ax2.plot(ks, [e["accuracy_chi_rule"] for e in sol], "o-", label="calibrated, χ < 0.5")
    ax2.plot(ks, [e["accuracy_p_miscible"] for e in sol], "^-", label="calibrated, p_miscible ≥ 0.5")
    hk = [e["k"] for e in sol if e["accuracy_hansen_sphere"] is not None and e["k"] > 0]
    ax2.plot(hk, [e["accuracy_hansen_sphere"] for e in sol if e["k"] in hk and e["accuracy_hansen_sphere"] is not None],
             "s--", label="Hansen sphere (RED < 1)")
    ax2.plot(hk, [e["accuracy_chi_rule_on_hansen_rows"] for e in sol if e["k"] in hk and e["accuracy_hansen_sphere"] is not None],
             "o:", label="calibrated χ < 0.5, Hansen's rows")
    ax2.set_xlabel("k soluble/insoluble tests")
    ax2.set_ylabel("accuracy on other rows")
    ax2.set_title("soluble (χ < 0.5), leave-polymers-out")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


@click.command("fewshot")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/data"), show_default=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Training configuration (default: train/chosen_config.json).")
@click.option("--members", type=click.IntRange(1), default=3, show_default=True, help="Members per fold ensemble (CPU budget).")
@click.option("--folds", type=click.IntRange(2), default=5, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=Path("build/fewshot"), show_default=True,
              help="Fold embeddings are kept here and reused while the configuration is unchanged.")
@click.option("--tune/--no-tune", default=True, show_default=True,
              help=f"Choose the fit's settings on split seed {TUNE_SEED} (else use the runtime's constants).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("train/reports/fewshot.json"), show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/fewshot.png"), show_default=True)
def fewshot(data_dir: Path, config_path, members: int, folds: int, cache: Path, tune: bool, out: Path, plot_path: Path) -> None:
    """Few-shot calibration: leave-polymers-out, k tests per held-out polymer, vs the Hansen sphere."""
    from .cli import _config, _load_data, _load_labels, _log, _require_training_extra

    _require_training_extra()
    started = time.perf_counter()
    config = _config(config_path, members=members)
    data = _load_data(data_dir)
    labels = _load_labels(data_dir)[0] if config.miscibility_weight > 0 else None
    settings, tuning = runtime_settings(), []
    if tune:
        tune_bundles = train_folds(data, labels, config, TUNE_SEED, folds, cache, _log)
        settings, tuning = choose_settings(data, tune_bundles, _log)
        if settings != runtime_settings():
            _log(f"note: the tuned settings {settings} differ from chi_lite.calibration's constants {runtime_settings()}")
    bundles = train_folds(data, labels, config, REPORT_SEED, folds, cache, _log)
    frame = evaluate_split(data, bundles, settings, load_solvent_hsp(data_dir))
    report = {
        "protocol": {"scheme": "polymers", "folds": folds, "split_seed": REPORT_SEED, "members": members,
                     "ks": list(KS), "draws": DRAWS, "draw_seed": DRAW_SEED, "fit": settings,
                     "settings_chosen_on_split_seed": TUNE_SEED if tune else None,
                     "prior_strength": settings["strength"], "chi_noise": settings["noise"],  # as MODEL_CARD reads them
                     "prior_chosen_on_split_seed": TUNE_SEED if tune else None,
                     "soluble_label": f"chi < {SOLUBLE_CHI}", "hansen_table": HANSEN_FILE},
        "tuning": tuning,
        "results": summarize(frame),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    plot(report, plot_path)
    for entry in report["results"]["chi"]:
        c, u = entry["calibrated"], entry["uncalibrated"]
        click.echo(f"k={entry['k']:2d} χ: R² {c['r2']:.3f} RMSE {c['rmse']:.3f} MAE {c['mae']:.3f} | "
                   f"uncalibrated RMSE {u['rmse']:.3f} ({entry['polymers']} polymers, n={c['n']})")
    for entry in report["results"]["soluble"]:
        click.echo(f"k={entry['k']:2d} soluble: accuracy χ-rule {entry['accuracy_chi_rule']:.3f}, p_miscible "
                   f"{entry['accuracy_p_miscible']:.3f}, Hansen sphere {entry['accuracy_hansen_sphere']} "
                   f"(model on Hansen's rows {entry['accuracy_chi_rule_on_hansen_rows']})")
