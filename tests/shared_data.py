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
