"""Repeat unit → cyclic oligomer, the polymer representation of Aoki et al.

A cyclic n-mer has no end groups, so its descriptors describe the chain itself
rather than whatever happened to cap it.
"""

from __future__ import annotations

from rdkit import Chem

from .group_contribution import REPEAT_UNITS_PROP

from ..errors import InvalidPolymerError, InvalidSmilesError
from ..limits import check_heavy_atoms, check_oligomer_atoms, check_text_length

_RDLOG_DISABLED = False


def _quiet_rdkit() -> None:
    """RDKit prints parse errors to stderr; we raise our own one-line errors instead."""
    global _RDLOG_DISABLED
    if not _RDLOG_DISABLED:
        from rdkit import RDLogger

        RDLogger.DisableLog("rdApp.*")
        _RDLOG_DISABLED = True


_FLAGS = Chem.SanitizeFlags
# The units were sanitized when parsed and joining them cannot create an aromatic ring, so
# aromaticity perception (~7 ms on a 230-atom ring) is skipped, and so is kekulization, which
# would clear the aromatic flags the units brought. Symmetrized ring perception is skipped too:
# a macrocycle through n para-phenylenes has 2^n equally small ring paths, and enumerating them
# took 28 s for bisphenol-A polycarbonate; the plain SSSR below takes about a millisecond.
_SANITIZE_OPS = _FLAGS.SANITIZE_ALL ^ _FLAGS.SANITIZE_KEKULIZE ^ _FLAGS.SANITIZE_SETAROMATICITY ^ _FLAGS.SANITIZE_SYMMRINGS


def parse_smiles(smiles: str, what: str = "molecule") -> Chem.Mol:
    """Parse a SMILES or raise ``InvalidSmilesError`` naming what it was meant to be."""
    _quiet_rdkit()
    if not isinstance(smiles, str) or not smiles.strip():
        raise InvalidSmilesError(f"empty {what} SMILES")
    check_text_length(smiles.strip(), f"{what} SMILES")
    mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None or mol.GetNumAtoms() == 0:
        raise InvalidSmilesError(f"invalid {what} SMILES: {_shown(smiles)}")
    check_heavy_atoms(heavy_atoms(mol), what)  # before any descriptor: their cost grows with the cube of the size
    return mol


def heavy_atoms(mol: Chem.Mol) -> int:
    """Atoms other than '*' and hydrogen (RDKit folds [H] into its neighbour when parsing)."""
    atom = mol.GetAtomWithIdx
    return sum(1 for i in range(mol.GetNumAtoms()) if atom(i).GetAtomicNum() > 1)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "…")


def has_dummy_atom(mol: Chem.Mol) -> bool:
    """Whether the molecule has a '*' (by index: RDKit's Python atom sequence costs ~0.1 ms per small molecule)."""
    atom = mol.GetAtomWithIdx
    return any(atom(i).GetAtomicNum() == 0 for i in range(mol.GetNumAtoms()))


def parse_repeat_unit(smiles: str) -> Chem.Mol:
    """Parse a repeat unit and check it has exactly two singly bonded ``*`` ends."""
    mol = parse_smiles(smiles, "polymer")
    stars = [a for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    if len(stars) != 2:
        raise InvalidPolymerError(
            f"polymer SMILES must mark the repeat unit with exactly two '*' (found {len(stars)}): {smiles!r}"
        )
    for star in stars:
        if star.GetDegree() != 1:
            raise InvalidPolymerError(f"each '*' must have exactly one neighbour: {smiles!r}")
        bond = star.GetBonds()[0]
        if bond.GetBondType() != Chem.BondType.SINGLE:
            raise InvalidPolymerError(f"each '*' must be joined by a single bond: {smiles!r}")
    if mol.GetNumAtoms() == 2:
        raise InvalidPolymerError(f"polymer repeat unit has no atoms besides '*': {smiles!r}")
    return mol


def cyclic_oligomer(repeat_unit: str, n_units: int = 10, explicit_hydrogens: bool = True) -> Chem.Mol:
    """Join ``n_units`` copies head to tail and close the ring.

    The first ``*`` (in SMILES order) is the head, the second the tail; tail of
    unit i bonds to head of unit i+1, and the last tail to the first head.
    ``Chem.molzip`` does the joining so that double-bond and atom stereo written
    against a ``*`` carry over to the real neighbour.
    """
    if n_units < 2:
        raise ValueError("a cyclic oligomer needs at least 2 repeat units")
    unit = parse_repeat_unit(repeat_unit)
    check_oligomer_atoms(heavy_atoms(unit) * n_units, n_units)
    head, tail = [a.GetIdx() for a in unit.GetAtoms() if a.GetAtomicNum() == 0]
    combined = None
    for i in range(n_units):
        copy = Chem.RWMol(unit)
        # Dummy pairs sharing an atom-map number are zipped together by molzip.
        copy.GetAtomWithIdx(head).SetAtomMapNum(i + 1)
        copy.GetAtomWithIdx(tail).SetAtomMapNum((i + 1) % n_units + 1)
        combined = copy.GetMol() if combined is None else Chem.CombineMols(combined, copy.GetMol())
    try:
        ring = Chem.molzip(combined)
        Chem.SanitizeMol(ring, sanitizeOps=_SANITIZE_OPS)
        Chem.GetSSSR(ring)  # initializes the ring info every descriptor reads
    except Exception as exc:  # RDKit raises several sanitization exception types
        reason = " ".join(str(exc).split())[:160]  # RDKit messages span lines and run long: errors are one line
        raise InvalidPolymerError(f"cannot build a ring from repeat unit {_shown(repeat_unit)}: {reason}") from None
    if any(a.GetAtomicNum() == 0 for a in ring.GetAtoms()):
        raise InvalidPolymerError(f"cannot join the ends of repeat unit {repeat_unit!r}")
    ring.SetIntProp(REPEAT_UNITS_PROP, n_units)  # group contributions are reported per repeat unit
    return Chem.AddHs(ring) if explicit_hydrogens else ring
