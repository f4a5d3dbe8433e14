"""A polymer's lab tests (solvent, temperature, measured χ and/or soluble yes/no) from CSV or the API.

Why a module of its own: calibrate (CLI), ChiPredictor.calibrate (API) and the serve protocol
read the same rows, and a row that cannot be used must be reported by its line while the
rest still fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .batch_io import read_rows
from .errors import ChiLiteError, InputFileError
from .names import resolve_solvent
from .units import ROOM_TEMPERATURE_C, to_kelvin

MAX_TESTS = 1000  # rows per tests file or request: a calibration uses a handful, this bounds the work
MAX_TESTS_FILE_BYTES = 1 << 20
VALUE_COLUMNS = ("chi", "soluble")
_TRUE, _FALSE = {"1", "yes", "true", "y"}, {"0", "no", "false", "n"}


class TestsFileError(InputFileError):
    """A tests file (or list) that cannot calibrate anything: unreadable, missing columns, no usable row."""


@dataclass(frozen=True)
class LabTest:
    """One usable test: the solvent as given and as SMILES, the temperature, and what was measured."""

    line: int  # line in the file (header is line 1); position + 1 for API lists
    solvent: str
    solvent_smiles: str
    temperature_k: float
    chi: float | None = None
    soluble: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "solvent": self.solvent, "solvent_smiles": self.solvent_smiles,
                "temperature_k": self.temperature_k, "chi": self.chi, "soluble": self.soluble}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LabTest":
        return cls(int(data["line"]), str(data["solvent"]), str(data["solvent_smiles"]), float(data["temperature_k"]),
                   None if data.get("chi") is None else float(data["chi"]),
                   None if data.get("soluble") is None else bool(data["soluble"]))


def _soluble(text: Any) -> bool | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        return text
    key = str(text).strip().lower()
    if key in _TRUE or key in ("1.0",):
        return True
    if key in _FALSE or key in ("0.0",):
        return False
    raise ChiLiteError(f"soluble must be 1/0, yes/no or true/false, not {text!r}")


def _chi(text: Any) -> float | None:
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ChiLiteError(f"chi must be a number, not {text!r}") from None
    if not math.isfinite(value) or abs(value) > 100:
        raise ChiLiteError(f"chi must be a finite number within ±100, not {text!r}")
    return value


def parse_test(line: int, row: Mapping[str, Any], kelvin: bool) -> LabTest:
    """One row → a LabTest, or a ChiLiteError saying why the row cannot be used."""
    solvent = row.get("solvent")
    if not isinstance(solvent, str) or not solvent.strip():
        raise ChiLiteError("no solvent")
    temperature = row.get("temperature")
    if temperature is None or (isinstance(temperature, str) and not temperature.strip()):
        t = to_kelvin(ROOM_TEMPERATURE_C, kelvin=False)
    else:
        t = to_kelvin(temperature, kelvin)
    chi, soluble = _chi(row.get("chi")), _soluble(row.get("soluble"))
    if chi is None and soluble is None:
        raise ChiLiteError("neither chi nor soluble is given")
    return LabTest(line, solvent.strip(), resolve_solvent(solvent.strip()), t, chi, soluble)


def parse_tests(rows: Iterable[tuple[int, Mapping[str, Any]]], kelvin: bool, source: str) -> tuple[list[LabTest], list[tuple[int, str]]]:
    """Usable tests and (line, reason) of every row skipped; no usable row at all is an error."""
    tests, skipped = [], []
    for line, row in rows:
        try:
            tests.append(parse_test(line, row, kelvin))
        except ChiLiteError as exc:
            skipped.append((line, str(exc)))
    if len(tests) + len(skipped) > MAX_TESTS:
        raise TestsFileError(f"{source} has {len(tests) + len(skipped)} tests; the limit is {MAX_TESTS}")
    if not tests:
        first = f" (line {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise TestsFileError(f"{source} has no usable test{first}")
    return tests, skipped


def read_tests(path: Path | str, kelvin: bool = False) -> tuple[list[LabTest], list[tuple[int, str]]]:
    """Tests from a CSV with solvent, optional temperature (°C unless ``kelvin``; 25 °C when absent), chi and/or soluble."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_TESTS_FILE_BYTES:
        raise TestsFileError(f"tests file {path} is larger than {MAX_TESTS_FILE_BYTES >> 20} MB")
    expected = "solvent[,temperature],chi and/or soluble"
    header, rows = read_rows(path, ("solvent",), "tests file", expected)
    if not any(c in header for c in VALUE_COLUMNS):
        raise TestsFileError(f"tests file {path} needs a chi or a soluble column: the header must name {expected}")
    return parse_tests(((i + 2, row) for i, row in enumerate(rows)), kelvin, f"tests file {path}")


def tests_from_records(records: Any, kelvin: bool = False) -> tuple[list[LabTest], list[tuple[int, str]]]:
    """Tests from the API or a serve request: a list of {solvent, temperature?, chi?, soluble?} (line = position)."""
    if not isinstance(records, (list, tuple)) or not records:
        raise TestsFileError("tests must be a non-empty list of {solvent, temperature, chi and/or soluble} objects")
    if len(records) > MAX_TESTS:
        raise TestsFileError(f"{len(records)} tests; the limit is {MAX_TESTS}")
    rows = []
    for i, record in enumerate(records, start=1):
        rows.append((i, record if isinstance(record, Mapping) else {}))
    return parse_tests(rows, kelvin, "the tests")
