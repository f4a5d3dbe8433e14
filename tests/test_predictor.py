"""The Python API on the tiny model: single calls, batches in order, errors per row."""

from __future__ import annotations

import math

import pytest

from chi_lite import ChiPredictor, InvalidPolymerError, InvalidSmilesError, InvalidTemperatureError
from chi_lite.predictor import to_kelvin


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return ChiPredictor(tiny_model_dir)


def test_single_pair_returns_a_full_result(predictor):
    r = predictor.predict("*CC(*)c1ccccc1", "Cc1ccccc1", 25)
    assert r.polymer == "*CC(*)c1ccccc1" and r.solvent == "Cc1ccccc1"
    assert r.temperature_k == pytest.approx(298.15) and r.temperature_c == pytest.approx(25)
    assert all(math.isfinite(v) for v in (r.chi, r.chi_std, r.A, r.B)) and r.chi_std >= 0
    same = predictor.predict("*CC(*)c1ccccc1", "Cc1ccccc1", 298.15, kelvin=True)
    assert same.chi == pytest.approx(r.chi, abs=1e-6)


def test_batch_keeps_order_and_carries_errors(predictor):
    pairs = [
        ("*CC(*)c1ccccc1", "Cc1ccccc1", 25),
        ("*CC(*)c1ccccc1", "not-a-smiles", 25),
        ("CCC", "Cc1ccccc1", 25),
        ("*CC(*)c1ccccc1", "Cc1ccccc1", "warm"),
        ("*CC(*)c1ccccc1", "Cc1ccccc1", -300),
        ("*CCO*", "O", 40),
    ]
    out = predictor.predict_many(pairs)
    assert len(out) == len(pairs)
    assert [o.ok for o in out] == [True, False, False, False, False, True]
    assert "invalid solvent SMILES" in out[1].error
    assert "two '*'" in out[2].error
    assert "not a number" in out[3].error
    assert "absolute zero" in out[4].error
    assert out[5].result.polymer == "*CCO*" and out[5].result.temperature_c == pytest.approx(40)
    single = predictor.predict("*CCO*", "O", 40)
    assert out[5].result.chi == pytest.approx(single.chi, abs=1e-6)


@pytest.mark.parametrize(
    "polymer, solvent, temperature, error",
    [
        ("*CC(*)c1ccccc1", "C1CC", 25, InvalidSmilesError),
        ("c1ccccc1", "C", 25, InvalidPolymerError),
        ("*CC(*)c1ccccc1", "C", "abc", InvalidTemperatureError),
        ("*CC(*)c1ccccc1", "C", float("nan"), InvalidTemperatureError),
        ("*CC(*)c1ccccc1", "C", -273.15, InvalidTemperatureError),
    ],
)
def test_bad_single_inputs_raise_specific_errors(predictor, polymer, solvent, temperature, error):
    with pytest.raises(error):
        predictor.predict(polymer, solvent, temperature)


def test_kelvin_conversion_limits():
    assert to_kelvin("25") == pytest.approx(298.15)
    assert to_kelvin(1, kelvin=True) == 1
    with pytest.raises(InvalidTemperatureError):
        to_kelvin(0, kelvin=True)
