"""Fit the σ calibration of chi_lite.uncertainty on stored out-of-fold CV predictions.

Why from stored reports: `make train` must stay byte-reproducible and fast; the grouped CVs
(`make cv-pairs`, `make lpo`, `make lso`) write per-row predictions with the spread and the
novelties, and this module reads them. Each scheme weighs equally in the Gaussian likelihood,
so σ is honest both for new pairs and for new polymers or solvents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chi_lite.uncertainty import PARAMETERS, calibrated_std


class CalibrationInputError(ValueError):
    """A CV report that cannot be used (missing, or without per-row spread and novelties)."""


def load_rows(path: Path) -> dict[str, np.ndarray]:
    """error, spread and novelties per row of a `chi-lite-train cv` report."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationInputError(f"CV report {path} not found: run its make target first") from None
    rows = doc.get("predictions") or []
    if not rows or "polymer_novelty" not in rows[0]:
        raise CalibrationInputError(f"CV report {path} has no per-row novelty: rerun it with this chi-lite")
    return {
        "error": np.array([r["chi"] - r["pred"] for r in rows]),
        "spread": np.array([r["std"] for r in rows]),
        "polymer_novelty": np.array([r["polymer_novelty"] for r in rows]),
        "solvent_novelty": np.array([r["solvent_novelty"] for r in rows]),
    }


def coverage(rows: dict[str, np.ndarray], sigma: np.ndarray) -> dict[str, float]:
    err = np.abs(rows["error"])
    return {"within_1sigma": round(float(np.mean(err <= sigma)), 4), "within_2sigma": round(float(np.mean(err <= 2 * sigma)), 4)}


def fit_calibration(reports: dict[str, Path], steps: int = 3000) -> dict[str, Any]:
    """Maximum-likelihood parameters over the schemes' out-of-fold rows, with coverage before and after."""
    schemes = {name: load_rows(path) for name, path in reports.items()}
    torch.manual_seed(0)
    tensors = {name: {k: torch.tensor(v, dtype=torch.float64) for k, v in rows.items()} for name, rows in schemes.items()}
    log_params = torch.zeros(len(PARAMETERS), dtype=torch.float64)
    log_params.data[:] = torch.log(torch.tensor([1.0, 0.1, 0.1, 0.1], dtype=torch.float64))
    log_params.requires_grad_(True)
    optimizer = torch.optim.Adam([log_params], lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        s, f, ps, ss = torch.exp(log_params)
        loss = torch.zeros((), dtype=torch.float64)
        for rows in tensors.values():
            var = (s * rows["spread"]) ** 2 + (f + ps * rows["polymer_novelty"] + ss * rows["solvent_novelty"]) ** 2
            loss = loss + torch.mean(0.5 * torch.log(var) + 0.5 * rows["error"] ** 2 / var)
        loss.backward()
        optimizer.step()
    params = {name: round(float(v), 6) for name, v in zip(PARAMETERS, torch.exp(log_params).detach().numpy())}
    report = {}
    for name, rows in schemes.items():
        sigma = calibrated_std(rows["spread"], rows["polymer_novelty"], rows["solvent_novelty"], params)
        report[name] = {"n": int(len(rows["error"])), "before": coverage(rows, rows["spread"]), "after": coverage(rows, sigma)}
    return {**params, "fitted_on": {k: str(v) for k, v in reports.items()}, "coverage": report}
