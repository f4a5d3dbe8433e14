"""SMILES → descriptor vectors, under a frozen vocabulary. Shared by training and runtime."""

from __future__ import annotations

import warnings

import numpy as np
import rdkit
from rdkit import Chem

from ..config import FEATURIZER_VERSION, FeaturizerConfig
from ..errors import ArtifactError, FeaturizationError, InvalidSmilesError
from .descriptors import compute_descriptors, unknown_descriptors
from .oligomer import cyclic_oligomer, has_dummy_atom, parse_smiles


class Featurizer:
    """Computes exactly the descriptors a model was trained on, in its order."""

    def __init__(self, config: FeaturizerConfig, check_rdkit: bool = True) -> None:
        if config.version != FEATURIZER_VERSION:
            raise ArtifactError(
                f"the model needs featurizer version {config.version}, this chi-lite has {FEATURIZER_VERSION}: "
                "install the chi-lite version the model was trained with, or retrain it (make train)"
            )
        if config.oligomer_length < 2:
            raise ArtifactError(
                f"the manifest's oligomer_length is {config.oligomer_length}; a cyclic oligomer needs at least 2 units"
            )
        if config.hydrogens != "implicit":
            raise ArtifactError(f"unsupported featurizer hydrogens setting {config.hydrogens!r}")
        missing = unknown_descriptors(config.polymer_descriptors + config.solvent_descriptors)
        if missing:
            same_rdkit = config.rdkit_version == rdkit.__version__
            fix = (
                "retrain the model with this chi-lite (make train) or install the chi-lite version that trained it"
                if same_rdkit
                else f"install RDKit {config.rdkit_version} or retrain the model (make train)"
            )
            raise ArtifactError(
                f"the model's vocabulary has {len(missing)} descriptor(s) this installation cannot compute "
                f"(first: {missing[0]!r}; trained with RDKit {config.rdkit_version or 'unknown'}, "
                f"installed {rdkit.__version__}): {fix}"
            )
        if check_rdkit and config.rdkit_version and config.rdkit_version != rdkit.__version__:
            warnings.warn(
                f"model was trained with RDKit {config.rdkit_version}, installed is {rdkit.__version__}: "
                "descriptor values may differ slightly",
                RuntimeWarning,
                stacklevel=2,
            )
        self.config = config

    def polymer_mol(self, repeat_unit: str) -> Chem.Mol:
        return cyclic_oligomer(repeat_unit, self.config.oligomer_length, explicit_hydrogens=False)

    def solvent_mol(self, smiles: str) -> Chem.Mol:
        mol = parse_smiles(smiles, "solvent")
        if has_dummy_atom(mol):
            raise InvalidSmilesError(f"solvent SMILES must not contain '*' (is it a polymer?): {smiles!r}")
        return mol  # MolFromSmiles has already folded explicit [H] atoms into their heavy atoms

    def polymer(self, repeat_unit: str) -> np.ndarray:
        """Descriptor vector of the cyclic oligomer built from a repeat unit."""
        return self._checked(compute_descriptors(self.polymer_mol(repeat_unit), self.config.polymer_descriptors), repeat_unit)

    def solvent(self, smiles: str) -> np.ndarray:
        """Descriptor vector of a solvent molecule."""
        return self.solvent_from_mol(self.solvent_mol(smiles), smiles)

    def solvent_from_mol(self, mol: Chem.Mol, smiles: str) -> np.ndarray:
        """Descriptor vector of an already parsed solvent (screening parses once to canonicalize)."""
        return self._checked(compute_descriptors(mol, self.config.solvent_descriptors), smiles)

    @staticmethod
    def _checked(vector: np.ndarray, smiles: str) -> np.ndarray:
        if not np.all(np.isfinite(vector)):
            raise FeaturizationError(f"descriptors are not finite for {smiles!r}")
        return vector
