"""Hansen solubility parameters and molar volume by group contribution (RDKit + numpy only).

Why: 46 polymers pin the learned encoders down poorly; δD, δP, δH and the molar volume are
physics that transfers to molecules unlike the training ones (a Hansen distance predicts χ).

Method: Hoftyzer–Van Krevelen, as tabulated in D. W. van Krevelen & K. te Nijenhuis,
*Properties of Polymers*, 4th ed. (Elsevier 2009), Table 7.10 (F_di, F_pi in J^½ cm^{3/2} mol⁻¹,
E_hi in J mol⁻¹):
    δD = ΣF_d / V,   δP = √(ΣF_p²) / V,   δH = √(ΣE_h / V)        [MPa^½]
Molar volume: R. F. Fedors, Polym. Eng. Sci. 14 (1974) 147, Table 5 (cm³ mol⁻¹).

The groups are assigned atom by atom in one pass (a carbonyl carbon takes its =O and its
ester/acid oxygen, a nitrile carbon its N, a nitro N its oxygens). Phenyl (F_d 1430, V 71.4) and
phenylene (F_d 1270, V 52.4) are split per aromatic carbon so that any substitution pattern adds
up: aromatic CH F_d 265 / V 15.07, substituted aromatic C F_d 105 / V −3.93; F_p 110 per ring.
Simplifications, stated: the symmetry factors of the method (0.5, 0.25, 0 on F_p) are not applied;
an amide is counted as >CO + –NH–/>N– (van Krevelen's own suggestion for missing groups).

Not covered (listed by :func:`estimate` in ``uncovered``): aromatic heteroatoms, =N–, triple
bonds other than nitrile, S other than –S–, I, Si, P, metals, water. Their atoms count in the
molar volume by a per-element Fedors value but not in the δ sums; ``coverage`` is the covered
fraction of heavy atoms, and a molecule with nothing covered gets δ = NaN (the descriptor
vector then uses 0 and coverage 0, so the network can tell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rdkit import Chem

# group: (F_d, F_p, E_h, V_fedors)
_GROUPS: dict[str, tuple[float, float, float, float]] = {
    "CH3": (420.0, 0.0, 0.0, 33.5),
    "CH2": (270.0, 0.0, 0.0, 16.1),
    "CH": (80.0, 0.0, 0.0, -1.0),
    "C": (-70.0, 0.0, 0.0, -19.2),
    "=CH2": (400.0, 0.0, 0.0, 28.5),
    "=CH": (200.0, 0.0, 0.0, 13.5),
    "=C": (70.0, 0.0, 0.0, -5.5),
    "aromatic CH": (265.0, 0.0, 0.0, 15.07),
    "aromatic C": (105.0, 0.0, 0.0, -3.93),
    "F": (220.0, 0.0, 0.0, 18.0),
    "Cl": (450.0, 550.0, 400.0, 24.0),
    "Br": (550.0, 0.0, 0.0, 30.0),
    "CN": (430.0, 1100.0, 2500.0, 24.0),
    "OH": (210.0, 500.0, 20000.0, 10.0),
    "O": (100.0, 400.0, 3000.0, 3.8),
    "CHO": (470.0, 800.0, 4500.0, 22.3),
    "CO": (290.0, 770.0, 2000.0, 10.8),
    "COOH": (530.0, 420.0, 10000.0, 28.5),
    "COO": (390.0, 490.0, 7000.0, 18.0),
    "NH2": (280.0, 0.0, 8400.0, 19.2),
    "NH": (160.0, 210.0, 3100.0, 4.5),
    "N": (20.0, 800.0, 5000.0, -9.0),
    "NO2": (500.0, 1070.0, 1500.0, 24.0),
    "S": (440.0, 0.0, 0.0, 12.0),
}
AROMATIC_RING_FP = 110.0  # F_p of a phenyl or phenylene ring
RING_FD = 190.0  # F_d of a non-aromatic ring
RING_V_SMALL, RING_V = 18.0, 16.0  # Fedors ring closure: 3–4 atoms, ≥ 5 atoms
MAX_RING = 8  # larger rings are the oligomer's macrocycle, not a chemical ring
# Fedors V of atoms the δ groups do not cover (cm³/mol, element with its usual hydrogens).
_FALLBACK_V = {6: 16.1, 7: 4.5, 8: 3.8, 9: 18.0, 14: 0.0, 15: -1.0, 16: 12.0, 17: 24.0, 35: 30.0, 53: 31.5}
_FALLBACK_V_OTHER = 10.0
REPEAT_UNITS_PROP = "chi_lite_repeat_units"  # set on cyclic oligomers: sums are per repeat unit


@dataclass(frozen=True)
class HansenEstimate:
    """Group-contribution estimate for one molecule (polymers: per repeat unit)."""

    delta_d: float
    delta_p: float
    delta_h: float
    molar_volume: float  # cm³/mol (per repeat unit for a polymer)
    coverage: float  # covered fraction of heavy atoms
    uncovered: tuple[str, ...]  # descriptions of the atoms no group covers

    @property
    def delta_total(self) -> float:
        return math.sqrt(self.delta_d**2 + self.delta_p**2 + self.delta_h**2)


def _carbonyl_group(atom: Chem.Atom, consumed: set[int]) -> str | None:
    """CHO, CO, COO or COOH for a carbon double-bonded to a terminal oxygen (marks its atoms)."""
    oxo = None
    single_o = []
    for bond in atom.GetBonds():
        other = bond.GetOtherAtom(atom)
        if other.GetAtomicNum() != 8 or other.GetIsAromatic():
            continue
        if bond.GetBondType() == Chem.BondType.DOUBLE and other.GetDegree() == 1:
            oxo = other
        elif bond.GetBondType() == Chem.BondType.SINGLE and other.GetIdx() not in consumed:
            single_o.append(other)
    if oxo is None:
        return None
    consumed.update((atom.GetIdx(), oxo.GetIdx()))
    acid = [o for o in single_o if o.GetTotalNumHs() == 1]
    if acid:
        consumed.add(acid[0].GetIdx())
        return "COOH"
    if single_o:  # ester; a carbonate's second oxygen stays an ether –O–
        consumed.add(single_o[0].GetIdx())
        return "COO"
    return "CHO" if atom.GetTotalNumHs() == 1 else "CO"


def _special_group(atom: Chem.Atom, consumed: set[int]) -> str | None:
    """Multi-atom groups owned by this atom: carbonyls, nitrile, nitro."""
    z = atom.GetAtomicNum()
    if z == 6 and not atom.GetIsAromatic():
        group = _carbonyl_group(atom, consumed)
        if group:
            return group
        for bond in atom.GetBonds():
            other = bond.GetOtherAtom(atom)
            if bond.GetBondType() == Chem.BondType.TRIPLE and other.GetAtomicNum() == 7:
                consumed.update((atom.GetIdx(), other.GetIdx()))
                return "CN"
    if z == 7 and not atom.GetIsAromatic():
        oxygens = [n for n in atom.GetNeighbors() if n.GetAtomicNum() == 8 and n.GetDegree() == 1]
        if len(oxygens) == 2:
            consumed.update([atom.GetIdx()] + [o.GetIdx() for o in oxygens])
            return "NO2"
    return None


_SP3 = Chem.HybridizationType.SP3
_SP3_CARBON = {3: "CH3", 2: "CH2", 1: "CH", 0: "C"}


def _single_group(atom: Chem.Atom) -> str | None:
    """The one-atom group of an atom no multi-atom group took, or None if not covered."""
    z, hs, aromatic = atom.GetAtomicNum(), atom.GetTotalNumHs(), atom.GetIsAromatic()
    if atom.GetFormalCharge() != 0:
        return None
    if z == 6:
        if aromatic:
            return "aromatic CH" if hs == 1 else "aromatic C"
        if atom.GetHybridization() == _SP3:  # the common case, without walking the bonds
            return _SP3_CARBON.get(hs)
        orders = [b.GetBondType() for b in atom.GetBonds()]
        if Chem.BondType.TRIPLE in orders or orders.count(Chem.BondType.DOUBLE) > 1:
            return None
        if Chem.BondType.DOUBLE in orders:
            return {2: "=CH2", 1: "=CH", 0: "=C"}.get(hs)
        return _SP3_CARBON.get(hs)
    if aromatic:
        return None
    double = any(b.GetBondType() != Chem.BondType.SINGLE for b in atom.GetBonds())
    if double:
        return None
    if z == 8:
        return {1: "OH", 0: "O"}.get(hs) if atom.GetDegree() >= 1 else None
    if z == 7:
        return {2: "NH2", 1: "NH", 0: "N"}.get(hs)
    if z == 16:
        return "S" if hs == 0 and atom.GetDegree() == 2 else None
    return {9: "F", 17: "Cl", 35: "Br"}.get(z)


def _describe(atom: Chem.Atom) -> str:
    kind = "aromatic " if atom.GetIsAromatic() else ""
    return f"{kind}{atom.GetSymbol()} (H{atom.GetTotalNumHs()}, degree {atom.GetDegree()})"


def estimate(mol: Chem.Mol) -> HansenEstimate:
    """δD, δP, δH [MPa^½] and Fedors molar volume [cm³/mol] of a heavy-atom molecule.

    A cyclic oligomer carrying the ``chi_lite_repeat_units`` property gives per-repeat-unit
    sums (δD and δH are ratios, so unchanged; δP and V are divided accordingly).
    """
    n_units = mol.GetIntProp(REPEAT_UNITS_PROP) if mol.HasProp(REPEAT_UNITS_PROP) else 1
    fd = fp2 = eh = v_covered = v_other = 0.0
    consumed: set[int] = set()
    atom_at = mol.GetAtomWithIdx  # indexing is cheaper than RDKit's Python atom-sequence wrapper
    atoms = [a for a in (atom_at(i) for i in range(mol.GetNumAtoms())) if a.GetAtomicNum() > 1]
    groups = []
    for atom in atoms:  # first the groups that own several atoms (carbonyls, nitrile, nitro: never sp3)
        if atom.GetHybridization() != _SP3 and atom.GetIdx() not in consumed:
            group = _special_group(atom, consumed)
            if group:
                groups.append(group)
    uncovered: list[str] = []
    for atom in atoms:
        if atom.GetIdx() in consumed:
            continue
        group = _single_group(atom)
        if group is None:
            v_other += _FALLBACK_V.get(atom.GetAtomicNum(), _FALLBACK_V_OTHER)
            uncovered.append(_describe(atom))
            continue
        consumed.add(atom.GetIdx())
        groups.append(group)
    for group in groups:
        d, p, h, v = _GROUPS[group]
        fd, fp2, eh, v_covered = fd + d, fp2 + p * p, eh + h, v_covered + v
    heavy = len(atoms)
    covered = len(consumed)
    for ring in mol.GetRingInfo().AtomRings():
        if len(ring) > MAX_RING:
            continue
        if all(mol.GetAtomWithIdx(i).GetIsAromatic() for i in ring):
            if all(mol.GetAtomWithIdx(i).GetAtomicNum() == 6 for i in ring):
                fp2 += AROMATIC_RING_FP**2
        else:
            fd += RING_FD
            v_covered += RING_V_SMALL if len(ring) < 5 else RING_V
    volume = (v_covered + v_other) / n_units
    if covered == 0 or v_covered <= 0:
        nan = float("nan")
        return HansenEstimate(nan, nan, nan, volume, 0.0, tuple(sorted(set(uncovered))))
    return HansenEstimate(
        delta_d=fd / v_covered,
        delta_p=math.sqrt(fp2 / n_units) / (v_covered / n_units),
        delta_h=math.sqrt(eh / v_covered),
        molar_volume=volume,
        coverage=covered / max(heavy, 1),
        uncovered=tuple(sorted(set(uncovered))),
    )


GC_NAMES = ("gc_delta_d", "gc_delta_p", "gc_delta_h", "gc_delta_total", "gc_molar_volume", "gc_coverage")


def gc_descriptors(mol: Chem.Mol) -> dict[str, float]:
    """The featurizer's gc_* descriptors: always finite (δ = 0 where nothing is covered, coverage says so)."""
    e = estimate(mol)
    if e.coverage == 0.0:
        return dict(zip(GC_NAMES, (0.0, 0.0, 0.0, 0.0, e.molar_volume, 0.0)))
    return dict(zip(GC_NAMES, (e.delta_d, e.delta_p, e.delta_h, e.delta_total, e.molar_volume, e.coverage)))
