"""Reading pair files for batch prediction: clear refusals for files that cannot be read as pairs."""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import InputFileError

REQUIRED_COLUMNS = ("polymer", "solvent", "temperature")


def read_pairs(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV with polymer, solvent and temperature columns (extra columns kept)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"input file {path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not header:
                raise InputFileError(f"input file {path} is empty: expected a header 'polymer,solvent,temperature'")
            reader.fieldnames = header
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise InputFileError(
                    f"input file {path} lacks column(s) {', '.join(missing)}: the header must name polymer,solvent,temperature"
                )
            rows = [{k: (v if v is not None else "") for k, v in row.items() if k is not None} for row in reader]
    except UnicodeDecodeError:
        raise InputFileError(f"input file {path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(f"input file {path} is not valid CSV: {exc}") from None
    if not rows:
        raise InputFileError(f"input file {path} has a header but no rows")
    return header, rows
