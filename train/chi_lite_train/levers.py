"""One lever of issue 10, measured quickly: train-set fit beside pair-, polymer- and solvent-grouped CV.

Why: a reader must see fit and generalization together; a lever that lowers the training
error but not the grouped-CV error memorizes pairs. Run on split seeds other than 0 (the
reported seed), with few members, so choices never see the reported folds.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
import pandas as pd

from .data import ChiData
from .evaluate import cross_validate, regression_metrics, scheme_folds
from .fit import TrainConfig, predict_frame, train_ensemble

SCHEMES = ("pairs", "polymers", "solvents")


def coverage(rows: list[dict[str, float]], key: str = "std") -> dict[str, float]:
    """Fraction of |error| within 1 and 2 σ (σ = the rows' ``key``)."""
    err = np.array([abs(r["chi"] - r["pred"]) for r in rows])
    sigma = np.array([r[key] for r in rows])
    return {"within_1sigma": float(np.mean(err <= sigma)), "within_2sigma": float(np.mean(err <= 2 * sigma))}


def train_set_metrics(data: ChiData, config: TrainConfig, labels: pd.DataFrame | None) -> dict[str, float]:
    """Fit on every row and score the same experimental rows (how close the fit gets to the noise floor)."""
    ensemble, vocabulary, _ = train_ensemble(data.exp, data.cosmo, config, labels=labels, hansen=data.hansen)
    pred = predict_frame(ensemble, vocabulary, data.exp)
    return regression_metrics(data.exp["chi"], pred["pred"])


def measure_lever(
    data: ChiData,
    config: TrainConfig,
    seed: int,
    labels: pd.DataFrame | None = None,
    schemes: tuple[str, ...] = SCHEMES,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Train-set metrics and pooled 5-fold CV metrics (with raw-spread coverage) per scheme."""
    started = time.perf_counter()
    result: dict[str, Any] = {"seed": seed, "config": config.to_dict(), "train": train_set_metrics(data, config, labels)}
    log(f"train set: R² {result['train']['r2']:.3f} RMSE {result['train']['rmse']:.3f}")
    for scheme in schemes:
        cv = cross_validate(data, config, scheme_folds(data, scheme, 5, seed), labels=labels)
        result[scheme] = {**cv["model"], **coverage(cv["predictions"])}
        log(f"{scheme}: R² {cv['model']['r2']:.3f} RMSE {cv['model']['rmse']:.3f}")
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
