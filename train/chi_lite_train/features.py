"""Choosing the descriptor vocabulary and computing descriptor matrices for training."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import rdkit

from chi_lite.config import FeaturizerConfig
from chi_lite.featurize.descriptors import candidate_descriptors
from chi_lite.featurize.featurizer import Featurizer


def _informative(matrix: np.ndarray, names: list[str]) -> list[str]:
    """Drop columns that are non-finite somewhere, constant, or exact copies of an earlier column."""
    keep: list[str] = []
    seen: set[bytes] = set()
    for j, name in enumerate(names):
        column = matrix[:, j]
        if not np.all(np.isfinite(column)) or np.ptp(column) == 0:
            continue
        signature = np.round(column, 9).tobytes()
        if signature in seen:
            continue
        seen.add(signature)
        keep.append(name)
    return keep


def choose_vocabulary(polymers: Iterable[str], solvents: Iterable[str], oligomer_length: int = 10) -> FeaturizerConfig:
    """The descriptors that vary across the training molecules, per role."""
    names = candidate_descriptors()
    probe = Featurizer(FeaturizerConfig(names, names, oligomer_length, rdkit_version=rdkit.__version__))
    poly = np.array([probe.polymer(p) for p in sorted(set(polymers))])
    solv = np.array([probe.solvent(s) for s in sorted(set(solvents))])
    return FeaturizerConfig(
        polymer_descriptors=_informative(poly, names),
        solvent_descriptors=_informative(solv, names),
        oligomer_length=oligomer_length,
        rdkit_version=rdkit.__version__,
    )


def descriptor_table(featurizer: Featurizer, smiles: Iterable[str], role: str) -> dict[str, np.ndarray]:
    """Descriptor vector per unique SMILES; ``role`` is 'polymer' or 'solvent'."""
    compute = featurizer.polymer if role == "polymer" else featurizer.solvent
    return {s: compute(s) for s in sorted(set(smiles))}
