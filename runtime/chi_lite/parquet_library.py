"""Parquet solvent libraries: one file, or a directory of ``*.parquet`` files, read one row group at a time.

The columns are ``smiles`` and, optionally, ``name`` (case-insensitive). A row's id
is its 1-based position in the library (files in name order, then row groups,
then rows); screens report it in the ``line`` column, as they report the line of
a text library. pyarrow comes with the ``dask`` extra and is imported only when a
Parquet library is read, so the plain runtime never loads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .errors import InputFileError

if TYPE_CHECKING:
    from .library import LibraryInfo, LibraryRow

PARQUET_SUFFIX = ".parquet"


@dataclass(frozen=True)
class ParquetPart:
    """One row group of a Parquet library: the unit a Dask task reads."""

    index: int
    path: str
    row_group: int
    first_row: int  # row id of the row group's first row
    rows: int


def is_parquet(library: str | Path | None) -> bool:
    """A path ending in .parquet, or a directory holding .parquet files."""
    if library is None:
        return False
    path = Path(str(library))
    return path.suffix.lower() == PARQUET_SUFFIX or (path.is_dir() and any(path.glob(f"*{PARQUET_SUFFIX}")))


def _parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputFileError("Parquet libraries need pyarrow: pip install 'chi-lite[dask]'") from None
    return pq


def parquet_files(library: str | Path) -> list[Path]:
    """The library's files in name order."""
    path = Path(str(library))
    if path.is_dir():
        files = sorted(p for p in path.glob(f"*{PARQUET_SUFFIX}") if p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise InputFileError(f"library {path} does not exist")
    if not files:
        raise InputFileError(f"library directory {path} holds no {PARQUET_SUFFIX} file")
    return files


def _columns(names: list[str], path: Path) -> tuple[str, str | None]:
    lowered = {n.strip().lower(): n for n in names}
    if "smiles" not in lowered:
        raise InputFileError(f"Parquet library file {path} has no smiles column (columns: {', '.join(names)})")
    return lowered["smiles"], lowered.get("name")


def parquet_parts(library: str | Path) -> list[ParquetPart]:
    """Every row group of the library, from the file footers only (no data is read)."""
    pq = _parquet()
    parts: list[ParquetPart] = []
    first_row = 1
    for path in parquet_files(library):
        try:
            metadata = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError on a file that is not Parquet
            raise InputFileError(f"library file {path} is not a readable Parquet file ({exc})") from None
        _columns(metadata.schema.names, path)
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            parts.append(ParquetPart(len(parts), str(path), group, first_row, rows))
            first_row += rows
    return parts


def read_part(part: ParquetPart, size: int) -> Iterator[list["LibraryRow"]]:
    """The part's rows in chunks of at most ``size`` (a null SMILES becomes '', which the screen reports)."""
    from .library import LibraryRow

    pq = _parquet()
    handle = pq.ParquetFile(part.path)
    smiles_col, name_col = _columns(handle.schema_arrow.names, Path(part.path))
    columns = [smiles_col] + ([name_col] if name_col else [])
    row_id = part.first_row
    for batch in handle.iter_batches(batch_size=size, row_groups=[part.row_group], columns=columns):
        smiles = batch.column(0).to_pylist()
        names = batch.column(1).to_pylist() if name_col else [None] * len(smiles)
        yield [
            LibraryRow(row_id + i, (s or "").strip() if isinstance(s, str) else "", (n or "").strip() if isinstance(n, str) else "")
            for i, (s, n) in enumerate(zip(smiles, names))
        ]
        row_id += len(smiles)


def iter_parquet_chunks(library: str | Path, size: int) -> Iterator[list["LibraryRow"]]:
    """All rows of the library, in order, in chunks of at most ``size`` (one row group in memory at a time)."""
    for part in parquet_parts(library):
        yield from read_part(part, size)


def _footer(path: Path) -> bytes:
    """The file's Parquet footer (schema, row groups, column statistics) as stored."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size < 12:
            raise InputFileError(f"library file {path} is not a Parquet file (too short)")
        handle.seek(size - 8)
        tail = handle.read(8)
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != b"PAR1" or length > size - 12:
            raise InputFileError(f"library file {path} is not a Parquet file (no PAR1 footer)")
        handle.seek(size - 8 - length)
        return handle.read(length)


def describe_parquet(library: str | Path) -> "LibraryInfo":
    """Identity from each file's name, size, modification time and footer; the row count from the footers.

    Not a hash of every byte: a 10⁹-row library is many GB, and the client only needs to know
    whether the files changed (the embedding cache is keyed by this identity).
    """
    from .library import LibraryInfo

    digest = hashlib.sha256()
    for path in parquet_files(library):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        digest.update(_footer(path))
    rows = sum(part.rows for part in parquet_parts(library))
    path = Path(str(library))
    return LibraryInfo(path=path, label=str(path), sha256=digest.hexdigest(), lines=rows)
