"""Is this a polymer–solvent question at all? Refuse disconnected repeat units, salts and radicals.

Called right after name resolution, before descriptors: these molecules parse, but the model
was never meant to answer for them, so a number would be a confident-looking guess.
"""

from __future__ import annotations

from rdkit import Chem

from ..errors import NotPolymerSolventError


def _radicals(mol: Chem.Mol) -> bool:
    return any(atom.GetNumRadicalElectrons() > 0 for atom in mol.GetAtoms() if atom.GetAtomicNum() > 0)


def check_polymer(smiles: str) -> None:
    """A repeat unit must be one connected piece without radicals; salts are not handled."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return  # the featurizer names the parse error
    if len(Chem.GetMolFrags(mol)) > 1:
        raise NotPolymerSolventError(f"polymer {smiles!r} is disconnected ('.'): a repeat unit is one connected piece with two '*'")
    if _radicals(mol):
        raise NotPolymerSolventError(f"polymer {smiles!r} contains a radical; give the closed-shell repeat unit")
    if sum(a.GetFormalCharge() for a in mol.GetAtoms()) != 0:
        raise NotPolymerSolventError(f"polymer {smiles!r} carries a net charge; polyelectrolytes are outside chi-lite's scope")


def check_solvent(smiles: str) -> None:
    """A solvent must be one neutral closed-shell molecule: no ions, salts, mixtures or radicals."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return
    if len(Chem.GetMolFrags(mol)) > 1:
        raise NotPolymerSolventError(f"solvent {smiles!r} has several pieces ('.'): salts and mixtures are not solvents chi-lite can answer for")
    if sum(a.GetFormalCharge() for a in mol.GetAtoms()) != 0:
        raise NotPolymerSolventError(f"solvent {smiles!r} is an ion: chi-lite answers for neutral molecular solvents only")
    if _radicals(mol):
        raise NotPolymerSolventError(f"solvent {smiles!r} is a radical; chi-lite answers for closed-shell solvents only")
