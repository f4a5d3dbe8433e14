"""Descriptor computation: finite on all data molecules, and the vocabulary contract."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rdkit

from chi_lite.config import FeaturizerConfig
from chi_lite.errors import ArtifactError, FeaturizationError, InvalidSmilesError
from chi_lite.featurize.descriptors import candidate_descriptors, compute_descriptors
from chi_lite.featurize.featurizer import Featurizer

from .shared_data import chi_molecules


def _all_names() -> FeaturizerConfig:
    names = candidate_descriptors()
    return FeaturizerConfig(names, names, rdkit_version=rdkit.__version__)


def test_every_candidate_is_finite_for_every_data_molecule(data_dir):
    polymers, solvents = chi_molecules(data_dir)
    featurizer = Featurizer(_all_names())
    for p in polymers:
        assert np.all(np.isfinite(featurizer.polymer(p))), p
    for s in solvents:
        assert np.all(np.isfinite(featurizer.solvent(s))), s


def test_values_follow_the_requested_order():
    from rdkit import Chem

    mol = Chem.MolFromSmiles("CCO")
    a = compute_descriptors(mol, ["MolWt", "TPSA"])
    b = compute_descriptors(mol, ["TPSA", "MolWt"])
    assert a[0] == pytest.approx(46.069, abs=1e-3) and a[1] == pytest.approx(20.23, abs=1e-2)
    assert list(b) == list(a[::-1])


def test_intensive_descriptors_match_between_oligomer_and_monomer_like_unit():
    featurizer = Featurizer(FeaturizerConfig(["km_frac_O", "km_h_per_heavy"], ["km_frac_O"], rdkit_version=rdkit.__version__))
    # poly(ethylene oxide): C2H4O per unit -> 1/3 oxygen, 4/3 H per heavy atom, at any ring size
    assert featurizer.polymer("*CCO*") == pytest.approx([1 / 3, 4 / 3])


def test_unknown_vocabulary_is_refused_with_the_fix():
    config = FeaturizerConfig(["MolWt", "NotADescriptor"], ["MolWt"], rdkit_version=rdkit.__version__)
    with pytest.raises(ArtifactError, match="cannot compute.*NotADescriptor.*retrain the model with this chi-lite"):
        Featurizer(config)


def test_newer_featurizer_version_is_refused():
    config = FeaturizerConfig(["MolWt"], ["MolWt"], version="99", rdkit_version=rdkit.__version__)
    with pytest.raises(ArtifactError, match="featurizer version 99"):
        Featurizer(config)


def test_other_rdkit_version_warns():
    config = FeaturizerConfig(["MolWt"], ["MolWt"], rdkit_version="2001.01.1")
    with pytest.warns(RuntimeWarning, match="RDKit 2001.01.1"):
        Featurizer(config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Featurizer(FeaturizerConfig(["MolWt"], ["MolWt"], rdkit_version=rdkit.__version__))


def test_solvent_with_star_is_refused():
    featurizer = Featurizer(FeaturizerConfig(["MolWt"], ["MolWt"], rdkit_version=rdkit.__version__))
    with pytest.raises(InvalidSmilesError, match="must not contain"):
        featurizer.solvent("*CC*")
    with pytest.raises(InvalidSmilesError):
        featurizer.solvent("C1CC")
    assert issubclass(FeaturizationError, ValueError)


def _reference_atom_means(mol) -> dict[str, float]:
    """The earlier numpy formulation of the km_* means: the faster one must give the same bits."""
    from rdkit.Chem import rdMolDescriptors, rdPartialCharges

    rdPartialCharges.ComputeGasteigerCharges(mol)
    atoms = list(mol.GetAtoms())
    z = np.array([a.GetAtomicNum() for a in atoms])
    heavy = z > 1
    n_heavy = max(int(heavy.sum()), 1)
    symbols = np.array([a.GetSymbol() for a in atoms])[heavy]
    out = {f"km_frac_{el}": float((symbols == el).sum()) / n_heavy for el in ("C", "N", "O", "F", "Cl", "Br", "I", "S", "Si", "P")}
    hs = np.array([a.GetTotalNumHs() for a in atoms], dtype=np.float64)
    out["km_h_per_heavy"] = float(hs.sum() + (~heavy).sum()) / n_heavy
    out["km_frac_aromatic"] = float(np.array([a.GetIsAromatic() for a in atoms], dtype=np.float64)[heavy].sum()) / n_heavy
    out["km_frac_in_ring"] = float(np.array([a.IsInRing() for a in atoms], dtype=np.float64)[heavy].sum()) / n_heavy
    out["km_mean_degree"] = float(np.array([a.GetDegree() for a in atoms], dtype=np.float64)[heavy].mean())
    contribs = np.array(rdMolDescriptors._CalcCrippenContribs(mol), dtype=np.float64).reshape(-1, 2)
    out["km_mean_crippen_logp"] = float(contribs[:, 0].mean())
    out["km_mean_crippen_mr"] = float(contribs[:, 1].mean())
    charges = np.nan_to_num(np.array([a.GetDoubleProp("_GasteigerCharge") for a in atoms]), nan=0.0, posinf=0.0, neginf=0.0)
    out["km_mean_abs_charge"] = float(np.mean(np.abs(charges)))
    out["km_std_charge"] = float(np.std(charges))
    return out


def test_fast_paths_give_exactly_rdkits_values():
    from chi_lite.featurize.group_contribution import gc_descriptors
    """Shared charges, index loops and the km_* pass are speed-ups only: every value is bit-identical."""
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    from chi_lite.names import table

    names = candidate_descriptors()
    rdkit_fns = dict(Descriptors._descList)
    featurizer = Featurizer(_all_names())
    mols = [Chem.MolFromSmiles(e.smiles) for e in table("solvents")]
    mols += [featurizer.polymer_mol(p) for p in ("*CC(*)c1ccccc1", "*[Si](C)(C)O*")]
    for mol in mols:
        got = dict(zip(names, compute_descriptors(mol, names)))
        plain = Chem.Mol(mol)  # RDKit's functions on their own, with their own caching
        want = {n: float(rdkit_fns[n](plain)) for n in names if n in rdkit_fns}
        want.update(_reference_atom_means(Chem.Mol(mol)))
        want.update(gc_descriptors(Chem.Mol(mol)))  # group contributions: tests/test_group_contribution.py
        assert got == want or all(got[n] == want[n] or (np.isnan(got[n]) and np.isnan(want[n])) for n in names), [
            n for n in names if got[n] != want[n]
        ]
