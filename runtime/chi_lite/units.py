"""Units and numbers at the edge: every temperature and chain length a user types is parsed here, once.

Temperatures travel inside chi-lite in kelvin only; °C exists at the edges (input, output).
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidChainLengthError, InvalidTemperatureError

KELVIN_OFFSET = 273.15  # °C → K
ROOM_TEMPERATURE_C = 25.0  # what "room temperature" means in the labels and the defaults
ROOM_TEMPERATURE_K = ROOM_TEMPERATURE_C + KELVIN_OFFSET
MIN_TEMPERATURE_K = 1.0  # below this (or above the maximum) a temperature is not a physical question
MAX_TEMPERATURE_K = 1000.0
KELVIN_LIKE_C = (200.0, 600.0)  # a °C value in this range probably meant kelvin
MAX_NUMBER_CHARS = 64  # a number longer than this is not a temperature or a chain length


def parse_number(value: Any, what: str, error: type[Exception]) -> float:
    """A finite float from a number or a numeric string, or ``error`` naming ``what``."""
    if isinstance(value, bool):
        raise error(f"{what} {value!r} is not a number")
    if isinstance(value, str):
        text = value.strip().replace("\u2212", "-")
        if len(text) > MAX_NUMBER_CHARS:
            raise error(f"{what} has {len(text)} characters; a number has at most {MAX_NUMBER_CHARS}")
        if text.count(",") == 1 and "." not in text:  # a decimal comma, as spreadsheets export it
            text = text.replace(",", ".")
        value = text
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        shown = value if not isinstance(value, str) or len(value) <= 40 else value[:40] + "…"
        raise error(f"{what} {shown!r} is not a number") from None
    if not math.isfinite(number):
        raise error(f"{what} {value!r} is not a finite number")
    return number


def to_kelvin(temperature: Any, kelvin: bool = False) -> float:
    """Parse a temperature (°C unless ``kelvin``); refuse what is not between 1 K and 1000 K."""
    unit = "K" if kelvin else "°C"
    value = parse_number(temperature, "temperature", InvalidTemperatureError)
    k = value if kelvin else value + KELVIN_OFFSET
    if k <= 0:
        raise InvalidTemperatureError(f"temperature {value:g} {unit} is at or below absolute zero")
    if not MIN_TEMPERATURE_K <= k <= MAX_TEMPERATURE_K:
        raise InvalidTemperatureError(
            f"temperature {value:g} {unit} ({k:g} K) is outside {MIN_TEMPERATURE_K:g}–{MAX_TEMPERATURE_K:g} K"
        )
    return k


def kelvin_warning(temperature: Any, kelvin: bool) -> str | None:
    """A warning when a °C value reads like kelvin (e.g. 298 without --kelvin), else None."""
    if kelvin:
        return None
    try:
        value = parse_number(temperature, "temperature", InvalidTemperatureError)
    except InvalidTemperatureError:
        return None
    lo, hi = KELVIN_LIKE_C
    if lo <= value <= hi:
        return (f"warning: temperature {value:g} is read as °C ({value + KELVIN_OFFSET:g} K); "
                "if you meant kelvin, add --kelvin")
    return None


def celsius(kelvin_value: float) -> float:
    """K → °C, for output."""
    return kelvin_value - KELVIN_OFFSET


def check_chain_length(n: object) -> float:
    """N as a float ≥ 1, or InvalidChainLengthError (N counts solvent-sized segments per chain)."""
    value = parse_number(n, "chain length", InvalidChainLengthError)
    if value < 1:
        raise InvalidChainLengthError(
            f"chain length {value:g} is below 1: N is the number of solvent-sized segments per chain"
        )
    return value
