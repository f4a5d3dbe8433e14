"""Grouped cross-validation: the whole pipeline is refit inside every fold."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from .data import ChiData
from .fit import TrainConfig, predict_frame, train_ensemble

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
) -> dict[str, Any]:
    """Pooled test metrics over the folds (row positions), next to raw COSMO-RS on the same rows.

    Everything learned — descriptor vocabulary, scalers, χ standardization, every member —
    is fit inside ``train_ensemble`` on the fold's training rows only.
    """
    exp = data.exp
    predictions, fold_metrics = [], []
    for k, test_pos in enumerate(folds):
        test = exp.iloc[test_pos]
        train, cosmo = fold_training_rows(data, test_pos)
        ensemble, vocabulary, _ = train_ensemble(train, cosmo, config, hansen=data.hansen)
        pred = predict_frame(ensemble, vocabulary, test)
        frame = test[["row", "chi"]].assign(pred=pred["pred"], std=pred["std"])
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
            {"row": int(r.row), "chi": float(r.chi), "pred": float(r.pred), "std": float(r.std)}
            for r in pooled.itertuples()
        ],
    }
