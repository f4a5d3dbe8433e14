"""Choosing the descriptor vocabulary and computing descriptor matrices for training."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import rdkit

from chi_lite.config import FeaturizerConfig
from chi_lite.featurize.descriptors import candidate_descriptors
from chi_lite.featurize.featurizer import Featurizer


FAMILIES = ("all", "rdkit", "km")


def in_family(name: str, family: str) -> bool:
    """``rdkit``: RDKit's 2D descriptors; ``km``: the intensive per-atom kernel means; ``all``: both."""
    if family not in FAMILIES:
        raise ValueError(f"unknown descriptor family {family!r}; choose one of {FAMILIES}")
    if family == "all" or name.startswith("gc_"):  # group contributions join every family (see group_contribution)
        return True
    return (family == "km") == name.startswith("km_")


def _informative(matrix: np.ndarray, names: list[str], family: str = "all") -> list[str]:
    """Drop columns outside the family, non-finite somewhere, constant, or exact copies of an earlier column."""
    keep: list[str] = []
    seen: set[bytes] = set()
    for j, name in enumerate(names):
        if not in_family(name, family):
            continue
        column = matrix[:, j]
        if not np.all(np.isfinite(column)) or np.ptp(column) == 0:
            continue
        signature = np.round(column, 9).tobytes()
        if signature in seen:
            continue
        seen.add(signature)
        keep.append(name)
    return keep


def candidate_matrices(
    polymers: Sequence[str], solvents: Sequence[str], oligomer_length: int = 10
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every candidate descriptor for these molecules (rows in the order given), computed once."""
    names = candidate_descriptors()
    probe = Featurizer(FeaturizerConfig(names, names, oligomer_length, rdkit_version=rdkit.__version__))

    def vector(role: str, smiles: str) -> np.ndarray:
        key = (role, smiles, oligomer_length)
        if key not in _CANDIDATES:
            _CANDIDATES[key] = probe.polymer(smiles) if role == "polymer" else probe.solvent(smiles)
        return _CANDIDATES[key]

    return (
        names,
        np.array([vector("polymer", p) for p in polymers]),
        np.array([vector("solvent", s) for s in solvents]),
    )


# Candidate vectors per (role, SMILES, oligomer length): every CV fold, tune candidate and the
# final fit see the same molecules, and RDKit gives the same numbers each time. np.array copies,
# so no caller can change a cached vector.
_CANDIDATES: dict[tuple[str, str, int], np.ndarray] = {}


def choose_vocabulary(
    names: list[str],
    polymers: np.ndarray,
    solvents: np.ndarray,
    oligomer_length: int = 10,
    polymer_family: str = "all",
    solvent_family: str = "all",
    group_contribution: bool = True,
    required: tuple[Sequence[str], Sequence[str]] | None = None,
) -> FeaturizerConfig:
    """The descriptors of each role's family that vary across the training molecules (gc_* unless turned off).

    ``required`` (polymer names, solvent names) are kept even where constant: the model reads them raw.
    """
    if not group_contribution:
        kept = [j for j, n in enumerate(names) if not n.startswith("gc_")]
        names, polymers, solvents = [names[j] for j in kept], polymers[:, kept], solvents[:, kept]
    need_p, need_s = required or ((), ())

    def with_required(chosen: list[str], need: Sequence[str]) -> list[str]:
        return chosen + [n for n in need if n not in chosen]

    return FeaturizerConfig(
        polymer_descriptors=with_required(_informative(polymers, names, polymer_family), need_p),
        solvent_descriptors=with_required(_informative(solvents, names, solvent_family), need_s),
        oligomer_length=oligomer_length,
        rdkit_version=rdkit.__version__,
    )


def columns(matrix: np.ndarray, names: list[str], chosen: list[str]) -> np.ndarray:
    """The ``chosen`` columns of a candidate matrix, in vocabulary order."""
    position = {n: j for j, n in enumerate(names)}
    return matrix[:, [position[n] for n in chosen]]


def row_matrices(vocabulary: FeaturizerConfig, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw model inputs for rows with polymer, solvent and temp_k columns (each molecule featurized once)."""
    featurizer = Featurizer(vocabulary, check_rdkit=False)
    polymers = {p: featurizer.polymer(p) for p in set(rows["polymer"])}
    solvents = {s: featurizer.solvent(s) for s in set(rows["solvent"])}
    return (
        np.stack([polymers[p] for p in rows["polymer"]]),
        np.stack([solvents[s] for s in rows["solvent"]]),
        rows["temp_k"].to_numpy(),
    )
