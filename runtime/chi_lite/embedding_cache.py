"""Caches of solvent embeddings (as linear-head features): in memory by canonical SMILES, on disk per library file.

An embedding belongs to one model, so the in-memory cache carries the model's
hash and the on-disk cache stores it beside the library's hash. A disk cache
whose model or library hash differs from the current ones is thrown away and
rebuilt; one whose run was interrupted (no ``complete`` mark) too.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import InputFileError

SQLITE_MAGIC = b"SQLite format 3\x00"
MEMORY_ENTRIES = 100_000  # ~64 MB of float32 embeddings for a 10 × 16 ensemble


class MemoryCache:
    """Bounded LRU: canonical SMILES → feature vector (K·2Z,) of the model with hash ``model_sha``."""

    def __init__(self, model_sha: str, size: int = MEMORY_ENTRIES) -> None:
        self.model_sha = model_sha
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, canonical: str) -> np.ndarray | None:
        value = self._data.get(canonical)
        if value is not None:
            self._data.move_to_end(canonical)
        return value

    def put(self, canonical: str, embedding: np.ndarray) -> None:
        self._data[canonical] = embedding
        self._data.move_to_end(canonical)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class DiskCache:
    """One library's rows and embeddings under one model, in an SQLite file.

    Rows are stored in library order with their line number, SMILES, name and
    canonical SMILES (or their error); embeddings once per canonical SMILES. A
    later screen of the same library reads them back without parsing a molecule.
    """

    def __init__(self, path: Path, model_sha: str, library_sha: str, width: int) -> None:
        self.path = Path(path)
        self.meta = {"model_sha256": model_sha, "library_sha256": library_sha, "width": str(width), "format": "features-1"}
        self.width = width
        self._reader: sqlite3.Connection | None = None  # held open while reading: a concurrent rebuild cannot swap it
        self.valid = self._is_valid()
        self._conn: sqlite3.Connection | None = None
        self._temp: Path | None = None
        self._ids: dict[str, int] = {}

    def _is_valid(self) -> bool:
        """True (and the reader open) for a complete cache of this model and library.

        A file that is not a chi-lite cache is refused, never replaced; a chi-lite cache for another
        model or library, or an unfinished, corrupt or truncated one, is rebuilt.
        """
        if not self.path.exists():
            return False
        if not self.path.is_file():
            raise InputFileError(f"cache path {self.path} is not a file")
        with open(self.path, "rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
        if magic and magic != SQLITE_MAGIC[: len(magic)]:
            raise InputFileError(
                f"{self.path} exists and is not a chi-lite cache: refusing to overwrite it; choose another --cache path"
            )
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            stored = dict(conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):
                raise InputFileError(
                    f"{self.path} is an SQLite database but not a chi-lite cache: refusing to overwrite it; "
                    "choose another --cache path"
                ) from None
            warnings.warn(f"cache file {self.path} is corrupt or truncated ({exc}); rebuilding it", RuntimeWarning, stacklevel=2)
            return False
        if stored.get("format") != self.meta["format"]:
            conn.close()
            raise InputFileError(f"{self.path} is not a chi-lite cache: refusing to overwrite it; choose another --cache path")
        if stored.get("complete") == "1" and all(stored.get(k) == v for k, v in self.meta.items()):
            self._reader = conn
            return True
        conn.close()
        return False

    def start_writing(self) -> None:
        """Build a new cache in a temporary file beside the target; ``finish`` renames it into place.

        Screens sharing one cache file never see each other's half-written tables: each writes its
        own file, and the rename is atomic.
        """
        try:
            handle, temp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent or ".")
            os.close(handle)
            self._temp = Path(temp)
            self._conn = sqlite3.connect(self._temp)
        except (OSError, sqlite3.Error) as exc:
            raise InputFileError(f"cannot write cache file {self.path}: {exc}") from None
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        self._conn.execute("CREATE TABLE rows (line INTEGER PRIMARY KEY, smiles TEXT, name TEXT, embedding_id INTEGER, error TEXT)")
        self._conn.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, canonical TEXT UNIQUE, features BLOB)")
        # the same rows again as one record per chunk: line numbers and embedding ids (-1: invalid) as
        # int64 arrays, so a cached screen reads a million rows as a few hundred blobs
        self._conn.execute("CREATE TABLE row_blocks (block INTEGER PRIMARY KEY, lines BLOB, ids BLOB)")
        self._conn.executemany("INSERT INTO meta VALUES (?, ?)", self.meta.items())
        self._ids = {}

    def write(self, lines: list[int], smiles: list[str], names: list[str], keys: list[str | None],
              embeddings: list[np.ndarray | None], errors: list[str | None]) -> None:
        """Store one chunk of rows; ``keys`` are canonical SMILES (None for rows that failed)."""
        assert self._conn is not None
        new = []
        for key, emb in zip(keys, embeddings):
            if key is not None and emb is not None and key not in self._ids:
                self._ids[key] = len(self._ids)
                new.append((self._ids[key], key, np.ascontiguousarray(emb, dtype=np.float32).tobytes()))
        self._conn.executemany("INSERT INTO embeddings VALUES (?, ?, ?)", new)
        ids = [self._ids[k] if k is not None and e is not None else None for k, e in zip(keys, embeddings)]
        self._conn.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", zip(lines, smiles, names, ids, errors))
        self._conn.execute(
            "INSERT INTO row_blocks (lines, ids) VALUES (?, ?)",
            (np.asarray(lines, dtype=np.int64).tobytes(), np.array([-1 if i is None else i for i in ids], dtype=np.int64).tobytes()),
        )

    def finish(self) -> None:
        """Mark the new cache complete and move it over the target in one atomic rename."""
        assert self._conn is not None and self._temp is not None
        self._conn.execute("INSERT INTO meta VALUES ('complete', '1')")
        self._conn.commit()
        self._conn.close()
        self._conn = None
        self._reader = sqlite3.connect(f"file:{self._temp}?mode=ro", uri=True, check_same_thread=False)
        try:
            os.replace(self._temp, self.path)
        except OSError as exc:
            self.abandon()
            raise InputFileError(f"cannot write cache file {self.path}: {exc.strerror or exc}") from None
        self._temp = None
        self.valid = True

    def abandon(self) -> None:
        """Drop an unfinished cache: the target file is left as it was."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None

    def close(self) -> None:
        """Close the reader (the cache file stays)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def read(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(line numbers, features (n, K·2Z)) of the valid rows, in library order, ``size`` rows at a time.

        The distinct feature vectors are loaded once; rows are read as pairs of integers,
        so no string is built for a row that does not make the ranking (see ``strings``).
        ``size`` is a target: blocks are whole written chunks.
        """
        conn = self._reader
        assert conn is not None
        stored = conn.execute("SELECT features FROM embeddings ORDER BY id").fetchall()
        table = np.frombuffer(b"".join(r[0] for r in stored), dtype=np.float32).reshape(len(stored), self.width)
        lines: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        pending = 0
        for line_blob, id_blob in conn.execute("SELECT lines, ids FROM row_blocks ORDER BY block"):
            block_ids = np.frombuffer(id_blob, dtype=np.int64)
            valid = block_ids >= 0
            lines.append(np.frombuffer(line_blob, dtype=np.int64)[valid])
            ids.append(block_ids[valid])
            pending += int(valid.sum())
            if pending >= size:
                yield np.concatenate(lines), table[np.concatenate(ids)]
                lines, ids, pending = [], [], 0
        if pending:
            yield np.concatenate(lines), table[np.concatenate(ids)]

    def bad_rows(self) -> list[tuple[int, str]]:
        assert self._reader is not None
        return list(self._reader.execute("SELECT line, error FROM rows WHERE embedding_id IS NULL ORDER BY line"))

    def strings(self, lines: list[int]) -> dict[int, tuple[str, str]]:
        """line → (SMILES, name) for the given lines."""
        out: dict[int, tuple[str, str]] = {}
        conn = self._reader
        assert conn is not None
        for start in range(0, len(lines), 900):  # SQLite's bound-parameter limit
            part = lines[start : start + 900]
            query = f"SELECT line, smiles, name FROM rows WHERE line IN ({','.join('?' * len(part))})"
            out.update((line, (smiles, name)) for line, smiles, name in conn.execute(query, part))
        return out
