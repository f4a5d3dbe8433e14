"""Reading pair files for batch prediction: clear refusals for files that cannot be read as pairs."""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import InputFileError

REQUIRED_COLUMNS = ("polymer", "solvent", "temperature")


def read_pairs(path: Path, required: tuple[str, ...] = REQUIRED_COLUMNS) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV with polymer, solvent and temperature columns (extra columns kept)."""
    return read_rows(path, required, "input file", ",".join(required))


def read_rows(path: Path, required: tuple[str, ...], label: str, expected: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV that must name the ``required`` columns (``label`` and ``expected`` word the errors)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{label} {path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not header:
                raise InputFileError(f"{label} {path} is empty: expected a header '{expected}'")
            reader.fieldnames = header
            missing = [c for c in required if c not in header]
            if missing:
                raise InputFileError(
                    f"{label} {path} lacks column(s) {', '.join(missing)}: the header must name {expected}"
                )
            rows = [{k: (v if v is not None else "") for k, v in row.items() if k is not None} for row in reader]
    except UnicodeDecodeError:
        raise InputFileError(f"{label} {path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(f"{label} {path} is not valid CSV: {exc}") from None
    if not rows:
        raise InputFileError(f"{label} {path} has a header but no rows")
    return header, rows
