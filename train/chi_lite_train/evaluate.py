"""Grouped cross-validation: the whole pipeline is refit inside every fold."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from .data import ChiData, canonical
from .fit import TrainConfig, predict_frame, train_ensemble

from chi_lite.units import ROOM_TEMPERATURE_K
CHI_CRITICAL_LONG_CHAIN = 0.5  # χ_c(N) = ½(1 + N^−½)² → ½ as N → ∞

SCHEMES = {"pairs": "pair", "polymers": "polymer", "solvents": "solvent"}


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    residual = y - pred
    return {
        "r2": float(1 - np.sum(residual**2) / np.sum((y - y.mean()) ** 2)),
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "n": int(len(y)),
    }


def grouped_folds(groups: pd.Series, n_folds: int, seed: int) -> list[np.ndarray]:
    """Row positions of each test fold; every group lands in exactly one fold."""
    unique = np.array(sorted(groups.unique()))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {g: i % n_folds for i, g in enumerate(unique[order])}
    assignment = groups.map(fold_of).to_numpy()
    return [np.flatnonzero(assignment == k) for k in range(n_folds)]


def cosmo_baseline(data: ChiData, rows: pd.DataFrame) -> pd.Series:
    """Raw COSMO-RS χ at the same pair and temperature, where one exists (NaN elsewhere)."""
    cosmo = data.cosmo.assign(t=data.cosmo["temp_k"].round(3)).groupby(["pair", "t"])["chi"].mean()
    keys = list(zip(rows["pair"], rows["temp_k"].round(3)))
    return pd.Series([cosmo.get(k, np.nan) for k in keys], index=rows.index)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney, ties count half)."""
    y, score = np.asarray(y, bool), np.asarray(score, float)
    ranks = pd.Series(score).rank(method="average").to_numpy()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """Accuracy at ``threshold`` (score above it means miscible) and ROC AUC."""
    y, score = np.asarray(y, int), np.asarray(score, float)
    return {
        "accuracy": float(np.mean((score > threshold) == (y == 1))),
        "roc_auc": roc_auc(y, score),
        "n": int(len(y)),
    }


def _canonical_keys(frame: pd.DataFrame) -> pd.DataFrame:
    cache: dict[str, str] = {}

    def key(smiles: str) -> str:
        if smiles not in cache:
            cache[smiles] = canonical(smiles)
        return cache[smiles]

    return pd.DataFrame({"polymer": frame["polymer"].map(key), "solvent": frame["solvent"].map(key)}, index=frame.index)


def _labels_outside(labels: pd.DataFrame, test_keys: pd.DataFrame, train_keys: pd.DataFrame) -> pd.DataFrame:
    """Labels that share nothing held out with the test χ rows.

    A label of a test pair is dropped, and so is every label of a polymer or solvent that the
    fold holds out entirely (absent from its training χ rows): leave-polymers-out stays strict.
    """
    held_pairs = set(zip(test_keys["polymer"], test_keys["solvent"]))
    held_polymers = set(test_keys["polymer"]) - set(train_keys["polymer"])
    held_solvents = set(test_keys["solvent"]) - set(train_keys["solvent"])
    keep = [
        (p, s) not in held_pairs and p not in held_polymers and s not in held_solvents
        for p, s in zip(labels["polymer"], labels["solvent"])
    ]
    return labels[keep]


def hansen_outside(hansen: dict[str, tuple[float, float, float]], test: pd.DataFrame, train: pd.DataFrame) -> dict:
    """The Hansen table without the solvents a fold holds out entirely (their δ must not train the encoder)."""
    held = {canonical(s) for s in set(test["solvent"]) - set(train["solvent"])}
    return {k: v for k, v in hansen.items() if k not in held}


def scheme_folds(data: ChiData, scheme: str, n_folds: int, seed: int) -> list[np.ndarray]:
    """Grouped folds of the experimental rows: by pair, polymer or solvent."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {sorted(SCHEMES)}")
    return grouped_folds(data.exp[SCHEMES[scheme]], n_folds, seed)


def fold_training_rows(data: ChiData, test_pos: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Experimental and COSMO-RS rows a fold may train on.

    Every experimental row outside the test fold, and the COSMO-RS rows of pairs that
    have no test row: COSMO χ of a held-out pair would leak that pair into training.
    """
    exp = data.exp
    test = exp.iloc[test_pos]
    train = exp.drop(exp.index[test_pos])
    cosmo = data.cosmo[~data.cosmo["pair"].isin(set(test["pair"]))]
    return train, cosmo


def cross_validate(
    data: ChiData,
    config: TrainConfig,
    folds: list[np.ndarray],
    log: Callable[[str], None] = lambda _: None,
    labels: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Pooled test metrics over the folds (row positions), next to raw COSMO-RS on the same rows.

    Everything learned — descriptor vocabulary, scalers, χ standardization, every member —
    is fit inside ``train_ensemble`` on the fold's training rows only. ``labels`` (miscibility,
    canonical SMILES) join training when the config weights them; labels of held-out pairs,
    polymers or solvents are dropped like their COSMO-RS rows.
    """
    exp = data.exp
    keys = _canonical_keys(exp) if labels is not None else None  # once, not per fold
    predictions, fold_metrics = [], []
    for k, test_pos in enumerate(folds):
        test = exp.iloc[test_pos]
        train, cosmo = fold_training_rows(data, test_pos)
        ensemble, vocabulary, _ = train_ensemble(
            train, cosmo, config, hansen=hansen_outside(data.hansen, test, train),
            labels=None if keys is None else _labels_outside(labels, keys.iloc[test_pos], keys.drop(keys.index[test_pos])),
        )
        pred = predict_frame(ensemble, vocabulary, test)
        frame = test[["row", "chi"]].assign(pred=pred["pred"], std=pred["std"], polymer_novelty=pred["polymer_novelty"],
                                            solvent_novelty=pred["solvent_novelty"])
        predictions.append(frame)
        fold_metrics.append(regression_metrics(frame["chi"], frame["pred"]))
        log(f"fold {k + 1}/{len(folds)}: R² {fold_metrics[-1]['r2']:.3f}, RMSE {fold_metrics[-1]['rmse']:.3f}")
    pooled = pd.concat(predictions).sort_values("row")
    baseline = cosmo_baseline(data, exp).loc[pooled.index]
    has = baseline.notna()
    return {
        "folds_n": len(folds),
        "model": regression_metrics(pooled["chi"], pooled["pred"]),
        "model_on_cosmo_rows": regression_metrics(pooled["chi"][has], pooled["pred"][has]),
        "cosmo_rs": regression_metrics(pooled["chi"][has], baseline[has]),
        "folds": fold_metrics,
        "predictions": [
            {"row": int(r.row), "chi": float(r.chi), "pred": float(r.pred), "std": float(r.std),
             "polymer_novelty": float(r.polymer_novelty), "solvent_novelty": float(r.solvent_novelty)}
            for r in pooled.itertuples()
        ],
    }


def cross_validate_miscibility(
    data: ChiData,
    labels: pd.DataFrame,
    config: TrainConfig,
    n_folds: int = 5,
    seed: int = 0,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Polymer-grouped K-fold CV of the miscibility head on the labels, strictly.

    A held-out polymer (by canonical repeat unit) contributes nothing to training: its labels,
    and its experimental and COSMO-RS χ rows, are all dropped. The same test pairs are also
    classified by the physics rule χ(298 K) < ½ with the χ head (score −χ for the AUC).
    """
    labels = labels.reset_index(drop=True)
    exp_keys = _canonical_keys(data.exp)["polymer"]
    cosmo_keys = _canonical_keys(data.cosmo)["polymer"]
    predictions, fold_metrics = [], []
    for k, test_pos in enumerate(grouped_folds(labels["polymer"], n_folds, seed)):
        test = labels.iloc[test_pos]
        held = set(test["polymer"])
        exp = data.exp[~exp_keys.isin(held)]
        cosmo = data.cosmo[~cosmo_keys.isin(held)]
        ensemble, vocabulary, _ = train_ensemble(
            exp, cosmo, config, labels=labels.drop(labels.index[test_pos]), hansen=data.hansen
        )
        pred = predict_frame(ensemble, vocabulary, test.assign(temp_k=ROOM_TEMPERATURE_K))
        frame = test[["polymer", "solvent", "label"]].assign(p_miscible=pred["p_miscible"], chi=pred["pred"], chi_std=pred["std"],
                                                             polymer_novelty=pred["polymer_novelty"], solvent_novelty=pred["solvent_novelty"])
        predictions.append(frame)
        fold_metrics.append(classification_metrics(frame["label"], frame["p_miscible"], 0.5))
        log(f"fold {k + 1}/{n_folds}: accuracy {fold_metrics[-1]['accuracy']:.3f}, AUC {fold_metrics[-1]['roc_auc']:.3f} "
            f"({len(held)} polymers held out, {len(data.exp) - len(exp)} χ rows dropped)")
    pooled = pd.concat(predictions).sort_index()
    y = pooled["label"].to_numpy()
    return {
        "scheme": "polymers",
        "folds_n": n_folds,
        "seed": seed,
        "n_polymers": int(labels["polymer"].nunique()),
        "positive_fraction": float(y.mean()),
        "model": classification_metrics(y, pooled["p_miscible"], 0.5),
        "chi_rule": classification_metrics(y, -pooled["chi"], -CHI_CRITICAL_LONG_CHAIN),
        "folds": fold_metrics,
        "predictions": [
            {"polymer": r.polymer, "solvent": r.solvent, "label": int(r.label), "p_miscible": float(r.p_miscible), "chi": float(r.chi),
             "chi_std": float(r.chi_std), "polymer_novelty": float(r.polymer_novelty), "solvent_novelty": float(r.solvent_novelty)}
            for r in pooled.itertuples()
        ],
    }
