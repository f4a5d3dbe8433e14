"""Reading the molecules of ../shared/data/mtl_chi in place (used by tests and the benchmark)."""

from __future__ import annotations

import csv
from pathlib import Path


def chi_molecules(data_dir: Path) -> tuple[set[str], set[str]]:
    """Repeat units and solvent SMILES that occur in data_Chi.csv."""
    polymers, solvents = set(), set()
    with open(Path(data_dir) / "mtl_chi" / "data_Chi.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            polymer, solvent = row["ps_pair_nonCyclic"].split("_")
            polymers.add(polymer)
            solvents.add(solvent)
    return polymers, solvents


def heavy_modules_after(body: str, roots: tuple[str, ...] = ("torch", "onnx", "chi_lite_train")) -> tuple[str, list[str]]:
    """Run Python code in a fresh interpreter; return its stdout and the modules under ``roots`` it loaded."""
    import ast
    import subprocess
    import sys

    code = (
        body
        + "\nimport sys as _sys\n"
        + f"print(sorted(m for m in _sys.modules if m.split('.')[0] in {roots!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    *printed, last = out.stdout.rstrip("\n").split("\n")
    return "\n".join(printed), ast.literal_eval(last)
