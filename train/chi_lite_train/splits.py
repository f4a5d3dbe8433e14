"""External split files: ``{"folds": [{"test_rows": [row ids of data_Chi.csv]}, ...]}``.

Someone else chooses the test rows; we only check that the file is well formed and
refers to rows that exist, then turn the ids into row positions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from chi_lite.errors import ChiLiteError


class SplitFileError(ChiLiteError, ValueError):
    """A split file that is unreadable, malformed, or names rows the data does not have."""


def _preview(ids) -> str:
    ids = sorted(ids)
    return ", ".join(str(i) for i in ids[:5]) + (", …" if len(ids) > 5 else "")


def read_split_file(path: Path) -> list[list[int]]:
    """The test row ids of each fold, exactly as the file lists them."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SplitFileError(f"split file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SplitFileError(f"split file {path} is unreadable: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SplitFileError(f"split file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    folds = doc.get("folds") if isinstance(doc, dict) else None
    if not isinstance(folds, list) or len(folds) < 1:
        raise SplitFileError(f'split file {path} must be an object with a non-empty "folds" list')
    out: list[list[int]] = []
    for k, fold in enumerate(folds, start=1):
        rows = fold.get("test_rows") if isinstance(fold, dict) else None
        if not isinstance(rows, list) or not rows:
            raise SplitFileError(f'split file {path}: fold {k} needs a non-empty "test_rows" list')
        if not all(isinstance(r, int) and not isinstance(r, bool) for r in rows):
            raise SplitFileError(f"split file {path}: fold {k} has test_rows that are not integer row ids")
        out.append(rows)
    return out


def fold_positions(folds: list[list[int]], row_ids: pd.Series, path: Path | str = "split file") -> list[np.ndarray]:
    """Row positions of each fold's test rows; unknown ids and rows in two folds are refused."""
    position = {int(r): i for i, r in enumerate(row_ids)}
    unknown = {r for fold in folds for r in fold if r not in position}
    if unknown:
        raise SplitFileError(f"{path}: {len(unknown)} unknown row id(s) not in data_Chi.csv: {_preview(unknown)}")
    seen: dict[int, int] = {}
    for k, fold in enumerate(folds, start=1):
        for r in fold:
            if r in seen:
                where = f"folds {seen[r]} and {k}" if seen[r] != k else f"fold {k} twice"
                raise SplitFileError(f"{path}: row {r} is in {where}; test folds must not overlap")
            seen[r] = k
    return [np.array([position[r] for r in fold], dtype=np.int64) for fold in folds]


def write_split_file(path: Path, folds: list[np.ndarray], row_ids: pd.Series) -> None:
    """The inverse of ``read_split_file``: lets generated splits be rerun or shared."""
    ids = row_ids.to_numpy()
    doc = {"folds": [{"test_rows": sorted(int(i) for i in ids[f])} for f in folds]}
    Path(path).write_text(json.dumps(doc) + "\n", encoding="utf-8")
