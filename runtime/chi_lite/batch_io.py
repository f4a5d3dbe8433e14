"""Reading pair files for batch prediction: what a spreadsheet exports is accepted, the rest refused in one line.

Headers match case-insensitively (``Polymer,Solvent,Temperature``), the delimiter is sniffed
from the header (``,``, ``;`` or tab), and a decimal comma in a number is read by
``units.parse_number``. Refused: duplicate headers, and input columns named like an output
column (they would be overwritten, and a row's answer lost).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from .errors import InputFileError

REQUIRED_COLUMNS = ("polymer", "solvent", "temperature")
DELIMITERS = (",", ";", "\t")
# The csv module refuses a field over 131,072 characters for the whole file; fields that long are
# refused per row instead (a SMILES over the length limit is a row error), up to this bound.
CSV_FIELD_BYTES = 1 << 26


def allow_long_fields() -> None:
    """Raise the csv module's field limit so one long field is one row's problem, not the file's."""
    if csv.field_size_limit() < CSV_FIELD_BYTES:
        csv.field_size_limit(CSV_FIELD_BYTES)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter a header line uses most: ',' (default), ';' or a tab."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def pair_columns(header: Sequence[str]) -> dict[str, str]:
    """polymer/solvent/temperature → the header name that holds it (matched case-insensitively)."""
    lowered = {h.lower(): h for h in header}
    return {c: lowered[c] for c in REQUIRED_COLUMNS if c in lowered}


def read_pairs(
    path: Path, required: Sequence[str] = REQUIRED_COLUMNS, reserved: Sequence[str] = ()
) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a file with polymer, solvent and temperature columns (extra columns kept).

    ``reserved`` are the output column names: an input column with one of them is refused.
    """
    return read_rows(path, tuple(required), "input file", ",".join(required), reserved)


def read_rows(
    path: Path, required: tuple[str, ...], label: str, expected: str, reserved: Sequence[str] = ()
) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV (',', ';' or tab) that must name the ``required`` columns, any case.

    ``label`` and ``expected`` word the errors.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{label} {path} does not exist")
    allow_long_fields()
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=sniff_delimiter(first))
            header = [h.strip() for h in (reader.fieldnames or [])]
            _check_header(path, header, required, reserved, label, expected)
            reader.fieldnames = header
            rows = [{k: (v if v is not None else "") for k, v in row.items() if k is not None} for row in reader]
    except UnicodeDecodeError:
        raise InputFileError(f"{label} {path} is not UTF-8 text: save it as UTF-8 (CSV UTF-8 in a spreadsheet)") from None
    except csv.Error as exc:
        raise InputFileError(f"{label} {path} is not valid CSV: {exc}") from None
    if not rows:
        raise InputFileError(f"{label} {path} has a header but no rows")
    return header, rows


def _check_header(
    path: Path, header: list[str], required: Sequence[str], reserved: Sequence[str], label: str, expected: str
) -> None:
    if not header:
        raise InputFileError(f"{label} {path} is empty: expected a header '{expected}'")
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise InputFileError(f"{label} {path} has the column {name!r} twice: rename one")
        seen.add(name.lower())
    present = {h.lower() for h in header}
    missing = [c for c in required if c not in present]
    if missing:
        raise InputFileError(f"{label} {path} lacks column(s) {', '.join(missing)}: the header must name {expected}")
    taken = [h for h in header if h.lower() in {r.lower() for r in reserved}]
    if taken:
        raise InputFileError(
            f"{label} {path} has column(s) {', '.join(map(repr, taken))} named like output columns "
            f"({', '.join(reserved)}): rename them so the answers do not overwrite them"
        )
