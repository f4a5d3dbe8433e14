"""PolySol polymers → repeat units with two '*': from the structure-based name, else by polymerization rules.

PolySol gives each polymer a name and the SMILES of its "monomer". Many of those SMILES are not
monomers: end-capped repeat units (``CCCCO`` for poly(oxytetramethylene)), radicals or ketenes
written from the name by a tool. So a structure-based name ("poly(oxyethylene)",
"poly(iminoadipoyliminohexamethylene)") is read first (``polysol_names``): it states the repeat
unit. Otherwise the SMILES rules below are tried in order and the first that applies exactly once
wins; a monomer that matches no rule, or one rule at more than one site, is left unconverted with
the reason (``chi-lite-train polysol-report`` lists them). Every repeat unit is checked with the
runtime's own parser, ring builder and polymer check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rdkit import Chem

from chi_lite.errors import ChiLiteError
from chi_lite.featurize.chemistry import check_polymer
from chi_lite.featurize.oligomer import cyclic_oligomer, parse_repeat_unit, parse_smiles

from .data import canonical
from .polysol_names import NameNotRead, candidate_repeat_units, capped, polymer_key

POLYSOL_FILE = "polysol/polysol_homopolymers.csv"
STAR = 0

# Reactive groups, as SMARTS. Aromatic bonds never match "=" here.
_CC_DOUBLE = Chem.MolFromSmarts("[C]=[C]")
_CC_TRIPLE = Chem.MolFromSmarts("[C]#;!@[C]")
MAX_OLEFIN_RING = 8  # a C=C in a larger ring is a macrocycle, not a cyclo-olefin monomer
_CUMULENE = Chem.MolFromSmarts("[*]=[#6]=[*]")
_ISOCYANATE = Chem.MolFromSmarts("[N;!R](-[#6])=[C;!R]=[O]")
_CARBODIIMIDE = Chem.MolFromSmarts("[N;!R](-[#6])=[C;!R]=[N;!R]-[#6]")
# Only aliphatic aldehydes (and formaldehyde) form polyacetals; formates and formamides do not.
_ALDEHYDE = Chem.MolFromSmarts("[$([CH2]=[OX1]),$([CX3H1](=[OX1])[CX4])]=[OX1]")
_OXAZOLINE = Chem.MolFromSmarts("[#6]-[C;R1]1=[N;R1][CH2;R1][CH2;R1][O;R1]1")
_ACID = Chem.MolFromSmarts("[CX3](=O)[OX2H1]")
_ARYL_NH2 = Chem.MolFromSmarts("[NX3H2]-c1ccccc1")
_NUCLEOPHILE = Chem.MolFromSmarts("[$([OX2H1][#6;!$(C=O)]),$([NX3;H2,H1;!$(NC=O)][#6])]")
# Ring bonds a ring-opening polymerization breaks: acyl–O (lactones, cyclic carbonates and
# esters), acyl–N (lactams), then C–O (cyclic ethers and acetals).
_RING_ACYL_O = Chem.MolFromSmarts("[C;R](=[O;!R])-;@[O;R]")
_RING_ACYL_N = Chem.MolFromSmarts("[C;R](=[O;!R])-;@[N;R]")
_RING_ETHER = Chem.MolFromSmarts("[CX4;R]-;@[OX2;R]")


@dataclass(frozen=True)
class Conversion:
    """The result for one monomer: a canonical repeat unit and the rule used, or why there is none."""

    monomer: str
    repeat_unit: str | None
    rule: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.repeat_unit is not None


class NoRule(Exception):
    """Raised by a rule that recognises its group but cannot apply it unambiguously."""


def _add_star(mol: Chem.RWMol, atom: int) -> None:
    star = mol.AddAtom(Chem.Atom(STAR))
    mol.AddBond(atom, star, Chem.BondType.SINGLE)
    a = mol.GetAtomWithIdx(atom)
    if a.GetNoImplicit() and a.GetNumExplicitHs() > 0:
        a.SetNumExplicitHs(a.GetNumExplicitHs() - 1)


def _finish(mol: Chem.RWMol) -> str:
    out = mol.GetMol()
    out.UpdatePropertyCache(strict=False)
    Chem.SanitizeMol(out)
    return Chem.MolToSmiles(out)


def _open_bond(mol: Chem.Mol, a: int, b: int, new_order: Chem.BondType) -> str:
    """Lower bond a–b to ``new_order`` and put a '*' on each end (addition polymerization)."""
    rw = Chem.RWMol(mol)
    rw.GetBondBetweenAtoms(a, b).SetBondType(new_order)
    rw.GetBondBetweenAtoms(a, b).SetStereo(Chem.BondStereo.STEREONONE)
    _add_star(rw, a)
    _add_star(rw, b)
    return _finish(rw)


def _break_bond(mol: Chem.Mol, a: int, b: int) -> str:
    """Cut ring bond a–b and put a '*' on each end (ring-opening polymerization)."""
    rw = Chem.RWMol(mol)
    rw.RemoveBond(a, b)
    _add_star(rw, a)
    _add_star(rw, b)
    return _finish(rw)


def _one(matches: list, what: str) -> tuple:
    if len(matches) > 1:
        raise NoRule(f"{len(matches)} {what} (cross-linking or cyclopolymerization: no single repeat unit)")
    return matches[0]


def _double_bonds(mol: Chem.Mol) -> list[tuple[int, int]]:
    return sorted({tuple(sorted(m)) for m in mol.GetSubstructMatches(_CC_DOUBLE)})


def _conjugated_diene(mol: Chem.Mol, bonds: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """Ends a, d of a C=C–C=C whose two double bonds are both acyclic or both in one ring."""
    for i, (p, q) in enumerate(bonds):
        for r, s in bonds[i + 1 :]:
            for a, b in ((p, q), (q, p)):
                for c, d in ((r, s), (s, r)):
                    link = mol.GetBondBetweenAtoms(b, c)
                    if link is None or link.GetBondType() != Chem.BondType.SINGLE:
                        continue
                    first, second = mol.GetBondBetweenAtoms(a, b), mol.GetBondBetweenAtoms(c, d)
                    ring_info = mol.GetRingInfo()
                    both_acyclic = not first.IsInRing() and not second.IsInRing()
                    same_ring = any(
                        {a, b, c, d} <= set(ring) for ring in ring_info.AtomRings()
                    )
                    if both_acyclic or same_ring:
                        return a, b, c, d
    return None


def rule_diene(mol: Chem.Mol) -> str | None:
    """Conjugated diene, 1,4-addition: C=C–C=C → *C–C=C–C*."""
    bonds = _double_bonds(mol)
    if len(bonds) != 2:
        return None
    found = _conjugated_diene(mol, bonds)
    if found is None:
        return None
    a, b, c, d = found
    rw = Chem.RWMol(mol)
    rw.GetBondBetweenAtoms(a, b).SetBondType(Chem.BondType.SINGLE)
    rw.GetBondBetweenAtoms(c, d).SetBondType(Chem.BondType.SINGLE)
    rw.GetBondBetweenAtoms(b, c).SetBondType(Chem.BondType.DOUBLE)
    for x, y in ((a, b), (c, d)):
        rw.GetBondBetweenAtoms(x, y).SetStereo(Chem.BondStereo.STEREONONE)
    _add_star(rw, a)
    _add_star(rw, d)
    return _finish(rw)


def rule_vinyl(mol: Chem.Mol) -> str | None:
    """Vinyl, vinylidene and cyclo-olefin addition: C=C → *C–C*.

    An acyclic C=C wins over a ring C=C (cyclohexenylethylene polymerizes through its vinyl group).
    """
    bonds = _double_bonds(mol)
    if not bonds:
        return None
    if mol.HasSubstructMatch(_CUMULENE):
        raise NoRule("cumulated double bonds (allene/ketene/ketenimine): mechanism ambiguous")
    acyclic = [b for b in bonds if not mol.GetBondBetweenAtoms(*b).IsInRing()]
    small_ring = [b for b in bonds if mol.GetRingInfo().MinBondRingSize(mol.GetBondBetweenAtoms(*b).GetIdx()) <= MAX_OLEFIN_RING
                  and b not in acyclic]
    if not acyclic and not small_ring:
        return None
    a, b = _one(acyclic or small_ring, "polymerizable C=C")
    return _open_bond(mol, a, b, Chem.BondType.SINGLE)


def rule_alkyne(mol: Chem.Mol) -> str | None:
    """Alkyne addition: C≡C → *C=C* (polyacetylenes)."""
    matches = sorted({tuple(sorted(m)) for m in mol.GetSubstructMatches(_CC_TRIPLE)})
    if not matches:
        return None
    a, b = _one(matches, "C≡C")
    return _open_bond(mol, a, b, Chem.BondType.DOUBLE)


def rule_isocyanate(mol: Chem.Mol) -> str | None:
    """Isocyanate addition (nylon-1): R–N=C=O → *N(R)C(*)=O."""
    matches = mol.GetSubstructMatches(_ISOCYANATE)
    if not matches:
        return None
    n, _, c, _ = _one(matches, "isocyanate groups")
    return _open_bond(mol, n, c, Chem.BondType.SINGLE)


def rule_carbodiimide(mol: Chem.Mol) -> str | None:
    """Carbodiimide addition: R–N=C=N–R → *N(R)C(*)=NR."""
    matches = mol.GetSubstructMatches(_CARBODIIMIDE)
    if not matches:
        return None
    n, _, c, _, _ = _one(matches, "carbodiimide groups")
    return _open_bond(mol, n, c, Chem.BondType.SINGLE)


def rule_oxazoline(mol: Chem.Mol) -> str | None:
    """2-Oxazoline cationic ring opening: → *CH2CH2N(*)C(=O)R."""
    matches = mol.GetSubstructMatches(_OXAZOLINE)
    if not matches:
        return None
    _, c2, n, c4, c5, o = _one(matches, "oxazoline rings")
    rw = Chem.RWMol(mol)
    rw.RemoveBond(c5, o)
    rw.GetBondBetweenAtoms(c2, n).SetBondType(Chem.BondType.SINGLE)
    rw.GetBondBetweenAtoms(c2, o).SetBondType(Chem.BondType.DOUBLE)
    _add_star(rw, n)
    _add_star(rw, c5)
    return _finish(rw)


def rule_ring_opening(mol: Chem.Mol) -> str | None:
    """Ring opening of lactones, cyclic esters/carbonates, lactams and cyclic ethers/acetals.

    The ring must be non-aromatic and share no atom with another ring; cutting any of its bonds
    gives the same chain, so the first acyl–O, else acyl–N, else C–O bond is cut.
    """
    ring_info = mol.GetRingInfo()
    rings = [set(r) for r in ring_info.AtomRings()]
    for pattern in (_RING_ACYL_O, _RING_ACYL_N, _RING_ETHER):
        candidates = []
        for match in mol.GetSubstructMatches(pattern):
            a, b = match[0], match[-1]
            ring = [r for r in rings if a in r and b in r]
            if len(ring) != 1:
                continue
            isolated = all(not (ring[0] & other) for other in rings if other != ring[0])
            if isolated and not any(mol.GetAtomWithIdx(i).GetIsAromatic() for i in ring[0]):
                candidates.append((a, b, frozenset(ring[0])))
        if candidates:
            if len({c[2] for c in candidates}) > 1:
                raise NoRule("several openable rings")
            a, b, _ = candidates[0]
            return _break_bond(mol, a, b)
    return None


def rule_aldehyde(mol: Chem.Mol) -> str | None:
    """Aldehyde addition (polyacetals): R–CH=O → *C(R)O*."""
    matches = mol.GetSubstructMatches(_ALDEHYDE)
    if not matches:
        return None
    c, o = _one(matches, "aldehyde groups")
    if sum(1 for atom in mol.GetAtoms() if atom.GetAtomicNum() not in (1, 6)) > 1:
        return None  # other heteroatoms: an end-capped repeat unit written with a formyl end
    return _open_bond(mol, c, o, Chem.BondType.SINGLE)


def rule_ab_condensation(mol: Chem.Mol) -> str | None:
    """AB self-condensation of a hydroxy or amino acid: HX–R–COOH → *X–R–C(*)=O."""
    acids = mol.GetSubstructMatches(_ACID)
    if not acids:
        return None
    acid_oh = {m[2] for m in acids}
    nucleophiles = [m[0] for m in mol.GetSubstructMatches(_NUCLEOPHILE) if m[0] not in acid_oh]
    if len(acids) != 1 or len(nucleophiles) != 1:
        return None
    c, _, oh = acids[0]
    rw = Chem.RWMol(mol)
    star_c = rw.AddAtom(Chem.Atom(STAR))
    rw.AddBond(c, star_c, Chem.BondType.SINGLE)
    _add_star(rw, nucleophiles[0])
    rw.RemoveAtom(oh)
    return _finish(rw)


def rule_aniline(mol: Chem.Mol) -> str | None:
    """Oxidative coupling of an aniline, N to the free para carbon: Ar–NH2 → *N–C6H4–* (leucoemeraldine form).

    Only for one primary amine on a benzene ring whose para carbon carries a hydrogen; polyaniline's
    oxidized (emeraldine) units differ by two hydrogens per ring, the fully reduced form is the unit.
    """
    sites = []
    for n, c1, *_ in mol.GetSubstructMatches(_ARYL_NH2):
        ring = next(r for r in mol.GetRingInfo().AtomRings() if c1 in r and len(r) == 6)
        para = ring[(ring.index(c1) + 3) % 6]
        atom = mol.GetAtomWithIdx(para)
        if atom.GetAtomicNum() == 6 and atom.GetTotalNumHs() == 1:
            sites.append((n, para))
    if len(mol.GetSubstructMatches(_ARYL_NH2)) != 1 or len(sites) != 1:
        return None
    rw = Chem.RWMol(mol)
    for atom in sites[0]:
        _add_star(rw, atom)
    return _finish(rw)


# Order matters: C=C chemistry before ring opening (N-vinylpyrrolidone is a vinyl monomer),
# dienes before single C=C, and the carbonyl additions last.
RULES: list[tuple[str, Callable[[Chem.Mol], str | None]]] = [
    ("oxazoline ring opening", rule_oxazoline),
    ("diene 1,4-addition", rule_diene),
    ("vinyl addition", rule_vinyl),
    ("alkyne addition", rule_alkyne),
    ("isocyanate addition", rule_isocyanate),
    ("carbodiimide addition", rule_carbodiimide),
    ("ring opening", rule_ring_opening),
    ("aldehyde addition", rule_aldehyde),
    ("AB condensation", rule_ab_condensation),
    ("aniline coupling", rule_aniline),
]


def _check_atoms(mol: Chem.Mol) -> None:
    for atom in mol.GetAtoms():
        if atom.GetNumRadicalElectrons():
            raise NoRule(f"radical on {atom.GetSymbol()} (not a real monomer)")
        if atom.GetFormalCharge():
            raise NoRule("charged atoms (salt or zwitterion)")


def _check_unit(unit: str, rule: str) -> None:
    """The runtime must accept the unit: two singly bonded '*', a ring oligomer, no radical or net charge."""
    try:
        parse_repeat_unit(unit)
        cyclic_oligomer(unit, 4, explicit_hydrogens=False)
        check_polymer(unit)
    except ChiLiteError as exc:
        raise NoRule(f"{rule} gives a unit the runtime refuses: {exc}") from None


def monomer_to_repeat_unit(monomer: str) -> Conversion:
    """Apply the first matching rule; the repeat unit is canonical and accepted by the runtime."""
    try:
        mol = parse_smiles(monomer, "monomer")
    except ChiLiteError as exc:
        return Conversion(monomer, None, None, str(exc))
    try:
        _check_atoms(mol)
        for name, rule in RULES:
            unit = rule(mol)
            if unit is None:
                continue
            _check_unit(unit, name)
            return Conversion(monomer, unit, name)
    except NoRule as exc:
        return Conversion(monomer, None, None, str(exc))
    return Conversion(
        monomer, None, None,
        "no polymerizable group (no C=C, C≡C, N=C=O, N=C=N, openable ring, aldehyde, AB acid or aniline); "
        "often an end-capped repeat unit rather than a monomer",
    )


NAME_CAPPED = "name = end-capped SMILES"
NAME_RULE = "name = monomer rule"
NAME_ONLY = "name (SMILES differs)"


def _same_molecule(a: str, b: str) -> bool:
    """Equal constitution (stereo ignored); False when either does not parse."""
    mols = [Chem.MolFromSmiles(x) for x in (a, b)]
    return all(m is not None for m in mols) and len({Chem.MolToSmiles(m, isomericSmiles=False) for m in mols}) == 1


def _is_capped_form(unit: str, monomer: str) -> bool:
    try:
        return _same_molecule(capped(unit), monomer)
    except Chem.rdchem.MolSanitizeException:
        return False


def polymer_to_repeat_unit(name: str, monomer: str) -> Conversion:
    """The repeat unit a structure-based name states, else the monomer rules (``monomer_to_repeat_unit``).

    The rule says how the monomer SMILES relates to the name's unit: it is the same unit with
    hydrogen ends (``NAME_CAPPED``), a monomer whose rule gives the same polymer (``NAME_RULE``),
    or something else (``NAME_ONLY``: the name wins, PolySol's SMILES were written from the names).
    A name with an unsymmetrical subunit and no direction (oxycarbonyl-1,2-propylene) reads as two
    polymers; the SMILES must then pick one, or the polymer is refused.
    """
    from_smiles = monomer_to_repeat_unit(monomer)
    try:
        candidates = candidate_repeat_units(name)
    except NameNotRead:
        return from_smiles
    as_capped = [u for u in candidates if _is_capped_form(u, monomer)]
    as_rule = [u for u in candidates if from_smiles.ok and polymer_key(u) == polymer_key(from_smiles.repeat_unit)]
    if as_capped and len(as_capped) == 1:
        unit, rule = as_capped[0], NAME_CAPPED
    elif as_rule and len(as_rule) == 1:
        unit, rule = as_rule[0], NAME_RULE
    elif len(candidates) == 1:
        unit, rule = candidates[0], NAME_ONLY
    else:
        return Conversion(monomer, None, None, f"the name reads as {len(candidates)} polymers (unsymmetrical subunit, "
                                               "no direction) and the monomer SMILES picks none")
    try:
        _check_unit(unit, rule)
    except NoRule as exc:
        return Conversion(monomer, None, None, str(exc))
    return Conversion(monomer, unit, rule)


def load_polysol(data_dir: Path):
    """PolySol rows with their repeat unit (or why none), canonical solvent and 0/1 label.

    Returns (rows, fingerprint): columns polymer_name, monomer, polymer (canonical repeat unit or
    None), rule, reason, solvent, label.
    """
    import pandas as pd

    from chi_lite.artifact import sha256_of

    path = Path(data_dir) / POLYSOL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: pass --data-dir pointing at shared/data")
    raw = pd.read_csv(path, sep=";")
    pairs = list(zip(raw["polymer"], raw["mono_smiles"]))
    conversions = {p: polymer_to_repeat_unit(*p) for p in dict.fromkeys(pairs)}
    solvents = {s: canonical(s) for s in raw["solvent_smiles"].unique()}
    rows = pd.DataFrame(
        {
            "polymer_name": raw["polymer"],
            "monomer": raw["mono_smiles"],
            "polymer": [conversions[p].repeat_unit for p in pairs],
            "rule": [conversions[p].rule for p in pairs],
            "reason": [conversions[p].reason for p in pairs],
            "solvent": raw["solvent_smiles"].map(solvents),
            "label": raw["solvent_characteristic"].astype(int),
        }
    )
    return rows, {POLYSOL_FILE: sha256_of(path)}
