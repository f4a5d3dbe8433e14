"""The calibrated σ of χ: the one function that turns the ensemble spread into ``chi_std``.

Why: the spread of 10 members trained on the same 46 polymers is overconfident, most of all
for molecules unlike the training ones. Training fits (chi_lite_train.sigma_calibration) on
out-of-fold residuals of pair-, polymer- and solvent-grouped CV

    σ² = (spread_scale · spread)² + (floor + polymer_scale · polymer_novelty + solvent_scale · solvent_novelty)²

and stores the four numbers in manifest.json under "uncertainty". Novelty is the RMS distance,
in standardized descriptors, to the nearest molecule with experimental χ (an output of the graphs).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

PARAMETERS = ("spread_scale", "floor", "polymer_scale", "solvent_scale")


def is_calibrated(params: Mapping[str, Any] | None) -> bool:
    """True when ``params`` (a manifest's "uncertainty") holds a fitted calibration."""
    return bool(params) and all(k in params for k in PARAMETERS)


def calibrated_std(spread: np.ndarray | float, polymer_novelty: np.ndarray | float, solvent_novelty: np.ndarray | float,
                   params: Mapping[str, Any] | None) -> np.ndarray:
    """σ of the χ error from the ensemble spread and the two novelties; the spread itself when uncalibrated."""
    spread = np.asarray(spread, dtype=np.float64)
    if not is_calibrated(params):
        return spread
    distance = (float(params["floor"]) + float(params["polymer_scale"]) * np.asarray(polymer_novelty, dtype=np.float64)
                + float(params["solvent_scale"]) * np.asarray(solvent_novelty, dtype=np.float64))
    return np.sqrt((float(params["spread_scale"]) * spread) ** 2 + distance**2)
