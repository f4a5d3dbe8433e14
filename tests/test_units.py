"""The one parser of temperatures and chain lengths: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import pytest

from chi_lite.errors import InvalidChainLengthError, InvalidTemperatureError
from chi_lite.units import KELVIN_OFFSET, check_chain_length, kelvin_warning, parse_number, to_kelvin


def test_celsius_and_kelvin() -> None:
    assert to_kelvin("25") == pytest.approx(25 + KELVIN_OFFSET)
    assert to_kelvin(300, kelvin=True) == 300.0
    assert to_kelvin(" 25,5 ") == pytest.approx(25.5 + KELVIN_OFFSET)  # a spreadsheet's decimal comma
    assert to_kelvin("\u221210") == pytest.approx(KELVIN_OFFSET - 10)  # a typographic minus


@pytest.mark.parametrize(
    "value, kelvin, words",
    [
        ("1e308", False, "outside 1–1000 K"),
        (1e-300, True, "outside 1–1000 K"),
        (0, True, "absolute zero"),
        ("nan", False, "not a finite number"),
        ("inf", True, "not a finite number"),
        (10**400, False, "not a number"),
        ("9" * 400, False, "at most 64"),
        ("\ud800", False, "not a number"),
        (True, False, "not a number"),
        (None, False, "not a number"),
        ("25 C", False, "not a number"),
    ],
)
def test_refused_temperatures_name_the_problem(value, kelvin, words) -> None:
    with pytest.raises(InvalidTemperatureError, match=words):
        to_kelvin(value, kelvin)


def test_kelvin_like_celsius_gets_a_warning_naming_the_flag() -> None:
    assert "--kelvin" in kelvin_warning("298", kelvin=False)
    assert kelvin_warning("298", kelvin=True) is None
    assert kelvin_warning(25, kelvin=False) is None
    assert kelvin_warning("junk", kelvin=False) is None


def test_chain_length() -> None:
    assert check_chain_length("1e5") == 1e5 and check_chain_length(" 250 ") == 250.0
    for bad in ("0.5", "x", float("nan"), 10**400):
        with pytest.raises(InvalidChainLengthError):
            check_chain_length(bad)


def test_parse_number_uses_the_callers_error() -> None:
    with pytest.raises(ValueError, match="width 'abc' is not a number"):
        parse_number("abc", "width", ValueError)
