"""The calibrated σ: one function, applied by predict and by the screener's numpy path alike."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from chi_lite.config import ModelManifest
from chi_lite.uncertainty import calibrated_std, is_calibrated

PARAMS = {"spread_scale": 1.5, "floor": 0.05, "polymer_scale": 0.2, "solvent_scale": 0.1}


def test_calibrated_std_formula_and_monotonicity():
    sigma = calibrated_std(np.array([0.1, 0.1, 0.3]), np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 2.0]), PARAMS)
    assert sigma[0] == pytest.approx(np.hypot(0.15, 0.05))
    assert sigma[1] == pytest.approx(np.hypot(0.15, 0.25))
    assert sigma[2] == pytest.approx(np.hypot(0.45, 0.45))
    assert np.all(np.diff(sigma) > 0)


def test_uncalibrated_model_keeps_the_spread():
    assert not is_calibrated({}) and not is_calibrated({"floor": 0.1})
    assert calibrated_std(np.array([0.2]), np.array([5.0]), np.array([5.0]), {}).tolist() == [0.2]


@pytest.fixture(scope="module")
def calibrated_model_dir(tiny_miscible_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_calibrated")
    for item in tiny_miscible_model_dir.iterdir():
        shutil.copy(item, out / item.name)
    manifest = ModelManifest.load(out)
    manifest.uncertainty = dict(PARAMS)
    manifest.save(out)
    return out


def test_predict_and_screen_report_the_same_calibrated_sigma(tiny_miscible_model_dir, calibrated_model_dir):
    from chi_lite.predictor import ChiPredictor
    from chi_lite.screening import Screener

    raw = ChiPredictor(tiny_miscible_model_dir).predict("*CC(*)c1ccccc1", "CCO", 25)
    cal = ChiPredictor(calibrated_model_dir).predict("*CC(*)c1ccccc1", "CCO", 25)
    assert cal.chi == raw.chi and cal.polymer_novelty >= 0 and cal.solvent_novelty >= 0
    assert cal.chi_std == pytest.approx(float(calibrated_std(raw.chi_std, cal.polymer_novelty, cal.solvent_novelty, PARAMS)), rel=1e-5)
    assert cal.chi_std > raw.chi_std
    screener = Screener(calibrated_model_dir)
    features = screener.solvent_features(["CCO"])[0][0]
    _, scorer = screener.scorer("*CC(*)c1ccccc1", 298.15)
    chi, std, _ = scorer.score(features[None, :])
    assert chi[0] == pytest.approx(cal.chi, abs=1e-5) and std[0] == pytest.approx(cal.chi_std, rel=1e-4)
