"""Solvent libraries for screening, read as a stream of chunks.

A library is the built-in solvent table (``builtin``), a CSV with a ``smiles``
column and an optional ``name`` column, a Parquet file or directory (same
columns; chi_lite.parquet_library), or a SMILES file (one SMILES per line,
optionally followed by whitespace and a name, as in ``.smi`` files). Reading
never holds more than one chunk, so a 10-million-row file needs no more memory
than a small one. Line numbers are those of the file (1 = first line).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .batch_io import allow_long_fields, sniff_delimiter
from .errors import InputFileError
from .parquet_library import describe_parquet, is_parquet, iter_parquet_chunks

BUILTIN = "builtin"
_BUILTIN_FILE = Path(__file__).resolve().parent / "names" / "solvents.csv"


@dataclass(frozen=True)
class LibraryRow:
    line: int
    smiles: str
    name: str


@dataclass(frozen=True)
class LibraryInfo:
    """Where a library comes from and what identifies its content (for the embedding cache)."""

    path: Path
    label: str
    sha256: str
    lines: int


def library_path(library: str | Path) -> Path:
    return _BUILTIN_FILE if str(library) == BUILTIN else Path(library)


def describe(library: str | Path) -> LibraryInfo:
    """Hash and count the library file in one pass (the cache is keyed by this hash)."""
    if is_parquet(library):
        return describe_parquet(library)
    path = library_path(library)
    if not path.is_file():
        raise InputFileError(f"library file {path} does not exist")
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    label = BUILTIN if str(library) == BUILTIN else str(path)
    return LibraryInfo(path=path, label=label, sha256=digest.hexdigest(), lines=lines)


def _csv_columns(header: list[str]) -> tuple[int, int | None] | None:
    lowered = [h.strip().lower() for h in header]
    if "smiles" not in lowered:
        return None
    return lowered.index("smiles"), (lowered.index("name") if "name" in lowered else None)


def iter_rows(library: str | Path) -> Iterator[LibraryRow]:
    """Every data row in file order (header and blank/comment lines are skipped, line numbers kept)."""
    path = library_path(library)
    allow_long_fields()
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            first = handle.readline()
            if not first:
                raise InputFileError(f"library file {path} is empty")
            delimiter = sniff_delimiter(first)
            header = next(csv.reader([first], delimiter=delimiter))
            columns = _csv_columns(header) if delimiter in first else None
            if columns is not None:
                yield from _csv_rows(handle, delimiter, *columns)
            else:
                yield from _smi_rows(handle, first)
    except UnicodeDecodeError:
        raise InputFileError(f"library file {path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputFileError(f"library file {path} is not valid CSV: {exc}") from None


def _csv_rows(handle: io.TextIOBase, delimiter: str, smiles_col: int, name_col: int | None) -> Iterator[LibraryRow]:
    reader = csv.reader(handle, delimiter=delimiter)
    for row in reader:
        line = reader.line_num + 1  # +1: the header line was read before the reader started
        if not row or not any(c.strip() for c in row):
            continue
        smiles = row[smiles_col].strip() if smiles_col < len(row) else ""
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        yield LibraryRow(line, smiles, name)


def _smi_rows(handle: io.TextIOBase, first: str) -> Iterator[LibraryRow]:
    def parse(line_no: int, text: str) -> LibraryRow | None:
        text = text.strip()
        if not text or text.startswith("#"):
            return None
        parts = text.split(None, 1)
        return LibraryRow(line_no, parts[0], parts[1].strip() if len(parts) > 1 else "")

    row = parse(1, first)
    if row is not None and row.smiles.lower() != "smiles":  # a bare 'smiles' header line
        yield row
    for line_no, text in enumerate(handle, start=2):
        row = parse(line_no, text)
        if row is not None:
            yield row


def iter_chunks(library: str | Path, size: int) -> Iterator[list[LibraryRow]]:
    """Rows in chunks of at most ``size`` (a Parquet library: see chi_lite.parquet_library)."""
    if is_parquet(library):
        yield from iter_parquet_chunks(library, size)
        return
    chunk: list[LibraryRow] = []
    for row in iter_rows(library):
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
