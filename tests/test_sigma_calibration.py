"""Fitting the σ calibration on stored CV reports: it repairs an overconfident spread."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _report(path, rng, n, novelty_range):
    """Out-of-fold rows whose true σ is twice the spread plus a novelty term (polymers count more)."""
    spread = rng.uniform(0.02, 0.1, n)
    novelty_p, novelty_s = rng.uniform(0, novelty_range, n), rng.uniform(0, novelty_range, n)
    true_sigma = np.hypot(2.0 * spread, 0.05 + 0.15 * novelty_p + 0.03 * novelty_s)
    err = rng.normal(0, true_sigma)
    rows = [{"row": i, "chi": float(e), "pred": 0.0, "std": float(s), "polymer_novelty": float(p), "solvent_novelty": float(q)}
            for i, (e, s, p, q) in enumerate(zip(err, spread, novelty_p, novelty_s))]
    path.write_text(json.dumps({"predictions": rows}))
    return path


def test_calibration_reaches_nominal_coverage_where_the_spread_is_overconfident(tmp_path):
    from chi_lite_train.sigma_calibration import fit_calibration

    rng = np.random.default_rng(3)
    reports = {name: _report(tmp_path / f"{name}.json", rng, 800, novelty)
               for name, novelty in (("pairs", 0.3), ("polymers", 3.0), ("solvents", 1.5))}
    fit = fit_calibration(reports, steps=800)
    for scheme, c in fit["coverage"].items():
        assert c["before"]["within_1sigma"] < 0.5, scheme
        assert 0.6 <= c["after"]["within_1sigma"] <= 0.8 and c["after"]["within_2sigma"] >= 0.9, (scheme, c)
    assert fit["polymer_scale"] > fit["solvent_scale"]
    assert fit_calibration(reports, steps=800) == fit  # deterministic: make train reproduces the manifest


def test_report_without_novelty_is_refused(tmp_path):
    from chi_lite_train.sigma_calibration import CalibrationInputError, fit_calibration

    old = tmp_path / "old.json"
    old.write_text(json.dumps({"predictions": [{"row": 0, "chi": 0.5, "pred": 0.4, "std": 0.1}]}))
    with pytest.raises(CalibrationInputError, match="no per-row novelty"):
        fit_calibration({"pairs": old})
    with pytest.raises(CalibrationInputError, match="not found"):
        fit_calibration({"pairs": tmp_path / "missing.json"})
