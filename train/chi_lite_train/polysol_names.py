"""Repeat units from structure-based polymer names ("poly(oxyethylene)", "poly(iminoadipoyliminohexamethylene)").

PolySol's monomer SMILES were written from the polymer names and are often not monomers at all:
end-capped repeat units (``CCCCO`` for poly(oxytetramethylene)), radicals (``[C]COC(=O)...``) or
ketenes (``C=C=O`` for poly(oxyethylene)). A structure-based name (IUPAC/CAS style) lists the
constitutional repeat unit's subunits from one end to the other, so it fixes the repeat unit
exactly: this module reads such names with a small, closed vocabulary of subunits and
substituents, and builds the unit by joining the subunits head to tail. Source-based names of
step-growth polymers, "poly(<alkylene> <diacid>ate|amide)" and "poly(<substituents>siloxane)", are
read the same way. A name with any word outside the vocabulary is not read (no guessing).

Direction: where a subunit is unsymmetrical (1,2-propylene, 1-oxotrimethylene, 3-amino-1,4-phenylene)
both orientations are built; when they give different polymers, the caller decides (with the
monomer SMILES) or refuses. Words with two readings are left out on purpose: a bivalent
"hexanoyl" (1-oxohexamethylene or hexanedioyl?), unlocanted "butylene", substituents on a ring
without locants.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from rdkit import Chem

NUMERALS = {
    "": 1, "mono": 1, "di": 2, "tri": 3, "tetra": 4, "penta": 5, "hexa": 6, "hepta": 7, "octa": 8,
    "nona": 9, "deca": 10, "undeca": 11, "dodeca": 12, "trideca": 13, "tetradeca": 14,
    "pentadeca": 15, "hexadeca": 16, "heptadeca": 17, "octadeca": 18,
}
_NUM = "|".join(sorted((k for k in NUMERALS if k), key=len, reverse=True))
MULTIPLIERS = {"di": 2, "bis": 2, "tri": 3, "tris": 3, "tetra": 4}

ALKANES = {"meth": 1, "eth": 2, "prop": 3, "but": 4, "pent": 5, "hex": 6, "hept": 7, "oct": 8,
           "non": 9, "dec": 10, "undec": 11, "dodec": 12, "tridec": 13, "tetradec": 14,
           "pentadec": 15, "hexadec": 16, "heptadec": 17, "octadec": 18}
_ALK = "|".join(sorted(ALKANES, key=len, reverse=True))

# Monovalent substituents (SMILES from the attachment atom); "=O" is oxo.
SUBSTITUENTS = {
    "oxo": "=O", "chloro": "Cl", "fluoro": "F", "bromo": "Br", "hydroxyl": "O", "hydroxy": "O",
    "amino": "N", "carboxy": "C(=O)O", "sulfo": "S(=O)(=O)O", "cyano": "C#N", "hydro": "[H]",
    "phenyl": "c1ccccc1", "phenoxy": "Oc1ccccc1", "benzyl": "Cc1ccccc1", "benzoyl": "C(=O)c1ccccc1",
    "m-tolyl": "c1cccc(C)c1", "p-tolyl": "c1ccc(C)cc1", "o-tolyl": "c1ccccc1C",
    "trifluoroethoxy": "OCC(F)(F)F", "trifluoromethyl": "C(F)(F)F", "propanoyl": "C(=O)CC",
    "acetyl": "C(=O)C", "furfuryl": "Cc1ccco1", "isopropyl": "C(C)C", "tert-butyl": "C(C)(C)C", "vinyl": "C=C",
}
for _stem, _n in ALKANES.items():
    SUBSTITUENTS[f"{_stem}yl"] = "C" * _n
    SUBSTITUENTS[f"n-{_stem}yl"] = "C" * _n
    _oxy = {"meth": "methoxy", "eth": "ethoxy", "prop": "propoxy", "but": "butoxy"}.get(_stem, f"{_stem}yloxy")
    SUBSTITUENTS[_oxy] = SUBSTITUENTS[f"n-{_oxy}"] = "O" + "C" * _n
_SUB = "|".join(re.escape(s) for s in sorted(SUBSTITUENTS, key=len, reverse=True))

# Diacyl subunits (dicarboxylic acids): head carbonyl … tail carbonyl.
DIACYLS = {
    "oxalyl": "C(=O)C(=O)", "malonyl": "C(=O)CC(=O)", "succinoyl": "C(=O)CCC(=O)",
    "glutaroyl": "C(=O)CCCC(=O)", "glutaryl": "C(=O)CCCC(=O)", "adipoyl": "C(=O)CCCCC(=O)",
    "pimeloyl": "C(=O)CCCCCC(=O)", "suberoyl": "C(=O)CCCCCCC(=O)", "azelaoyl": "C(=O)CCCCCCCC(=O)",
    "sebacoyl": "C(=O)CCCCCCCCC(=O)", "dodecanedioyl": "C(=O)CCCCCCCCCCC(=O)",
    "terephthaloyl": "C(=O)c1ccc(cc1)C(=O)", "isophthaloyl": "C(=O)c1cccc(c1)C(=O)",
    "phthaloyl": "C(=O)c1ccccc1C(=O)",
}
# Source-based acid names → the same diacyl subunit ("ethylene adipate", "hexamethylene sebacamide").
ACID_STEMS = {
    "oxal": "oxalyl", "malon": "malonyl", "succin": "succinoyl", "glutar": "glutaroyl", "adip": "adipoyl",
    "pimel": "pimeloyl", "suber": "suberoyl", "azela": "azelaoyl", "sebac": "sebacoyl",
    "terephthal": "terephthaloyl", "isophthal": "isophthaloyl",
}

# Fixed bivalent subunits: SMILES with head [*:1] and tail [*:2].
FIXED = {
    "oxy": "[*:1]O[*:2]", "thio": "[*:1]S[*:2]", "dithio": "[*:1]SS[*:2]", "imino": "[*:1]N[*:2]",
    "hydrazo": "[*:1]NN[*:2]", "carbonyl": "[*:1]C(=O)[*:2]", "sulfonyl": "[*:1]S(=O)(=O)[*:2]",
    "sulfinyl": "[*:1]S(=O)[*:2]", "ethynylene": "[*:1]C#C[*:2]", "vinylene": "[*:1]C=C[*:2]",
    "ethenylene": "[*:1]C=C[*:2]", "cyclopropylidene": "[*:1]C1([*:2])CC1",
    "2,6-naphthalenediyl": "[*:1]c1ccc2cc([*:2])ccc2c1", "naphthalene-2,6-diyl": "[*:1]c1ccc2cc([*:2])ccc2c1",
    "pyridine-2,6-diyl": "[*:1]c1cccc([*:2])n1",
    "2,5-dioxopyrrolidine-1,3-diyl": "[*:1]N1C(=O)CC([*:2])C1=O",
    "fluorenylidene": "[*:1]C1([*:2])c2ccccc2-c2ccccc21",  # 9H-fluorene-9,9-diyl (cardo polymers)
}
for _name, _core in DIACYLS.items():
    FIXED[_name] = f"[*:1]{_core}[*:2]"
FIXED["2,6-naphthalenedicarbonyl"] = "[*:1]C(=O)c1ccc2cc(C([*:2])=O)ccc2c1"


class NameNotRead(Exception):
    """The name uses a word or form outside the vocabulary."""


@dataclass(frozen=True)
class Unit:
    """One subunit: heavy-atom skeleton as SMILES with a [*:1] head and a [*:2] tail."""

    smiles: str

    def reversed(self) -> "Unit":
        return Unit(self.smiles.replace("[*:1]", "[*:9]").replace("[*:2]", "[*:1]").replace("[*:9]", "[*:2]"))


def _substituted(skeleton: Chem.RWMol, substituents: list[tuple[int, str]]) -> None:
    """Attach each (atom index, substituent SMILES) to the skeleton; raise NameNotRead when valence fails."""
    for atom, sub in substituents:
        if sub == "=O":
            o = skeleton.AddAtom(Chem.Atom(8))
            skeleton.AddBond(atom, o, Chem.BondType.DOUBLE)
            continue
        if sub == "[H]":
            continue  # "hydro": the hydrogen is implicit
        offset = skeleton.GetNumAtoms()
        skeleton.InsertMol(Chem.MolFromSmiles(sub))
        skeleton.AddBond(atom, offset, Chem.BondType.SINGLE)


def _skeleton_unit(skeleton: Chem.RWMol, head: int, tail: int, substituents: list[tuple[int, str]]) -> Unit:
    _substituted(skeleton, substituents)
    for atom, label in ((head, 1), (tail, 2)):
        star = Chem.Atom(0)
        star.SetAtomMapNum(label)
        idx = skeleton.AddAtom(star)
        skeleton.AddBond(atom, idx, Chem.BondType.SINGLE)
    mol = skeleton.GetMol()
    for a in mol.GetAtoms():
        a.SetNoImplicit(False)
        a.SetNumExplicitHs(0)
    try:
        Chem.SanitizeMol(mol)
    except Chem.rdchem.MolSanitizeException as exc:
        raise NameNotRead(f"impossible valence ({exc})") from None
    return Unit(Chem.MolToSmiles(mol))


def _chain(n: int, head: int, tail: int, subs: list[tuple[int, str]], ring: bool = False) -> Unit:
    """Carbons 1..n (a ring if ``ring``), attached at locants head and tail, substituted at locants."""
    if not (1 <= head <= n and 1 <= tail <= n) or any(not 1 <= loc <= n for loc, _ in subs):
        raise NameNotRead(f"locant outside a {n}-carbon chain")
    rw = Chem.RWMol()
    for _ in range(n):
        rw.AddAtom(Chem.Atom(6))
    for i in range(n - 1):
        rw.AddBond(i, i + 1, Chem.BondType.SINGLE)
    if ring:
        rw.AddBond(n - 1, 0, Chem.BondType.SINGLE)
    return _skeleton_unit(rw, head - 1, tail - 1, [(loc - 1, s) for loc, s in subs])


def _benzene(head: int, tail: int, subs: list[tuple[int, str]]) -> Unit:
    if any(not 1 <= loc <= 6 for loc, _ in subs) or {head, tail} & {loc for loc, _ in subs}:
        raise NameNotRead("phenylene locants")
    rw = Chem.RWMol(Chem.MolFromSmiles("c1ccccc1"))
    return _skeleton_unit(rw, head - 1, tail - 1, [(loc - 1, s) for loc, s in subs])


def _single_atom(symbol: str, subs: list[str]) -> Unit:
    rw = Chem.RWMol()
    rw.AddAtom(Chem.Atom(symbol))
    return _skeleton_unit(rw, 0, 0, [(0, s) for s in subs])


# ----------------------------------------------------------------------------------------------
# Tokenizer: a name is a run of subunits, each optionally preceded by substituent prefixes.

_LOCANTS = r"(?P<loc>\d+(?:,\d+)*)-"
# A substituent word never runs on into a subunit ending: "phenyl" in "phenylene", "ethyl" in "ethylidene".
_PREFIX = re.compile(rf"{_LOCANTS}(?P<mult>di|tri|tetra|bis|tris)?-?(?P<sub>{_SUB})(?!ene|idene)-?")
_BARE_PREFIX = re.compile(rf"(?P<mult>di|bis)?-?(?P<sub>{_SUB})(?!ene|idene)-?")
_N_PREFIX = re.compile(rf"N-(?P<sub>{_SUB}|[a-z]+)")

_METHYLENES = re.compile(rf"(?P<num>{_NUM})?-?methylene")
_ALKANEDIYL = re.compile(rf"(?:(?P<loc>\d+,\d+)-)?(?P<stem>{_ALK})(?:ylene|ane-(?P<loc2>\d+,\d+)-diyl)")
_IDENE = re.compile(rf"(?P<hexafluoro>hexafluoro)?(?P<stem>iso-?propyl)idene|(?:(?P<loc>\d+)-)?(?P<alk>{_ALK})ylidene")
_RINGDIYL = re.compile(r"(?P<loc>\d,\d)-(?P<trans>(?:trans|cis)-)?(?P<ring>phenylene|cyclohexylene|cyclopropylene|cyclopentylene)")
# "1,4-cyclohexan-3-onediyl": ring carbons 1..n bonded at the first locants, oxo at the "-one" locant.
_RING_ONE_DIYL = re.compile(r"(?P<loc>\d,\d)-cyclo(?P<ring>prop|but|pent|hex|hept)an-(?P<oxo>\d(?:,\d)*)-(?:di)?onediyl")


def _locants(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def _read_prefixes(text: str, pos: int) -> tuple[list[tuple[int | None, str]], int]:
    """Substituent prefixes at ``pos``: [(locant or None, substituent SMILES)], new position."""
    found: list[tuple[int | None, str]] = []
    while True:
        m = _PREFIX.match(text, pos)
        if m:
            locs = _locants(m["loc"])
            mult = MULTIPLIERS.get(m["mult"] or "", 1)
            if mult != len(locs):
                return found, pos
            found += [(loc, SUBSTITUENTS[m["sub"]]) for loc in locs]
            pos = m.end()
            continue
        return found, pos


def _read_bare(text: str, pos: int) -> tuple[list[str], int]:
    """Unlocanted substituents (on a single atom: silylene, phosphazene, ethylene)."""
    found: list[str] = []
    while True:
        m = _BARE_PREFIX.match(text, pos)
        if not m or m.end() == pos:
            return found, pos
        found += [SUBSTITUENTS[m["sub"]]] * MULTIPLIERS.get(m["mult"] or "", 1)
        pos = m.end()


def _core(text: str, pos: int, subs: list[tuple[int | None, str]]) -> tuple[Unit, int] | None:
    """The subunit at ``pos`` with its (already read) substituent prefixes, or None."""
    located = [(loc, s) for loc, s in subs if loc is not None]  # prefixes always carry locants
    m = _METHYLENES.match(text, pos)
    if m:
        n = NUMERALS[m["num"] or ""]
        return _chain(n, 1, n, located), m.end()
    m = _ALKANEDIYL.match(text, pos)
    if m and m["stem"] != "meth":
        n = ALKANES[m["stem"]]
        loc = m["loc"] or m["loc2"]
        if loc is None:
            if n == 2:
                head, tail = 1, 2  # ethylene
            elif n == 3:
                head, tail = 1, 2  # propylene is propane-1,2-diyl (IUPAC); trimethylene is 1,3
            else:
                return None
        else:
            head, tail = _locants(loc)
        return _chain(n, head, tail, located), m.end()
    m = _IDENE.match(text, pos)
    if m:
        if m["alk"]:  # alkylidene: both bonds on one carbon (ethylidene: C1; 2-pentylidene: C2)
            n, at = ALKANES[m["alk"]], int(m["loc"] or 1)
            return (_chain(n, at, at, located), m.end()) if n > 1 else None
        if located:
            return None
        methyl = "C(F)(F)F" if m["hexafluoro"] else "C"
        return _skeleton_unit(Chem.RWMol(Chem.MolFromSmiles("C")), 0, 0, [(0, methyl), (0, methyl)]), m.end()
    m = _RING_ONE_DIYL.match(text, pos)
    if m:
        head, tail = _locants(m["loc"])
        oxo = [(loc, "=O") for loc in _locants(m["oxo"])]
        return _chain(ALKANES[m["ring"]], head, tail, located + oxo, ring=True), m.end()
    m = _RINGDIYL.match(text, pos)
    if m:
        head, tail = _locants(m["loc"])
        if m["ring"] == "phenylene":
            return _benzene(head, tail, located), m.end()
        size = {"cyclohexylene": 6, "cyclopropylene": 3, "cyclopentylene": 5}[m["ring"]]
        return _chain(size, head, tail, located, ring=True), m.end()
    for name, smiles in sorted(FIXED.items(), key=lambda kv: -len(kv[0])):
        if text.startswith(name, pos) and not located:
            return Unit(smiles), pos + len(name)
    return None


def _subunits(text: str) -> list[Unit]:
    """Split a structure-based name (parentheses removed) into subunits; NameNotRead if any part is unknown."""
    units: list[Unit] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "-":
            pos += 1
            continue
        m = _N_PREFIX.match(text, pos)
        if m and text.startswith("imino", m.end()):
            if m["sub"] not in SUBSTITUENTS:
                raise NameNotRead(f"unknown N-substituent {m['sub']!r}")
            units.append(_skeleton_unit(Chem.RWMol(Chem.MolFromSmiles("N")), 0, 0, [(0, SUBSTITUENTS[m["sub"]])]))
            pos = m.end() + len("imino")
            continue
        fixed = [name for name in FIXED if name[0].isdigit() and text.startswith(name, pos)]
        if fixed:  # "2,5-dioxopyrrolidine-1,3-diyl" is one subunit, not prefixes on "pyrrolidine"
            units.append(Unit(FIXED[fixed[0]]))
            pos += len(fixed[0])
            continue
        subs, after = _read_prefixes(text, pos)
        core = _core(text, after, subs)
        if core is not None:
            units.append(core[0])
            pos = core[1]
            continue
        bare, after = _read_bare(text, pos)
        if bare:
            if text.startswith("silylene", after):
                units.append(_single_atom("Si", bare))
                pos = after + len("silylene")
                continue
            if text.startswith("phosphazene", after):
                units.append(_phosphazene(bare))
                pos = after + len("phosphazene")
                continue
            if text.startswith("ethylene", after) and len(bare) == 1:
                units.append(_chain(2, 1, 2, [(1, bare[0])]))
                pos = after + len("ethylene")
                continue
        raise NameNotRead(f"cannot read {text[pos:]!r}")
    if not units:
        raise NameNotRead("empty name")
    return units


def _phosphazene(subs: list[str]) -> Unit:
    if len(subs) != 2:
        raise NameNotRead("a phosphazene needs two substituents on P")
    rw = Chem.RWMol(Chem.MolFromSmiles("N=P"))
    return _skeleton_unit(rw, 0, 1, [(1, s) for s in subs])


def _join(units: list[Unit]) -> str:
    """Bond each unit's tail to the next unit's head; the first head and last tail become the two '*'."""
    rw = Chem.RWMol()
    ends: list[tuple[int, int]] = []  # (head dummy, tail dummy) per unit
    for unit in units:
        mol = Chem.MolFromSmiles(unit.smiles)
        offset = rw.GetNumAtoms()
        rw.InsertMol(mol)
        head = tail = -1
        for a in mol.GetAtoms():
            if a.GetAtomicNum() == 0:
                if a.GetAtomMapNum() == 1:
                    head = offset + a.GetIdx()
                elif a.GetAtomMapNum() == 2:
                    tail = offset + a.GetIdx()
        ends.append((head, tail))
    remove = []
    for (_, tail), (head, _) in zip(ends, ends[1:]):
        a = rw.GetAtomWithIdx(tail).GetNeighbors()[0].GetIdx()
        b = rw.GetAtomWithIdx(head).GetNeighbors()[0].GetIdx()
        rw.AddBond(a, b, Chem.BondType.SINGLE)
        remove += [tail, head]
    for idx in sorted(remove, reverse=True):
        rw.RemoveAtom(idx)
    for a in rw.GetAtoms():
        a.SetAtomMapNum(0)
    mol = rw.GetMol()
    Chem.SanitizeMol(mol)
    return Chem.MolToSmiles(mol)


_SOURCE_STEP = re.compile(
    rf"^(?:(?P<loc>\d+,\d+)-)?(?P<diol>(?:{_NUM})methylene|ethylene|(?P<stem>{_ALK})ylene) "
    r"(?:(?P<naph>2,6-naph?thalenedicarboxyl)|(?P<acid>[a-z]+?))(?P<kind>ate|amide)$"
)
_SILOXANE = re.compile(r"^(?P<subs>.+)siloxane$")


def _source_based(body: str) -> list[Unit] | None:
    """'ethylene adipate' → oxy-ethylene-oxy-adipoyl; 'hexamethylene sebacamide' → imino…; 'dimethylsiloxane'."""
    m = _SOURCE_STEP.match(body)
    if m:
        link = "oxy" if m["kind"] == "ate" else "imino"
        if m["naph"]:
            acyl = FIXED["2,6-naphthalenedicarbonyl"]
        elif m["acid"] in ACID_STEMS:
            acyl = FIXED[ACID_STEMS[m["acid"]]]
        else:
            raise NameNotRead(f"unknown diacid {m['acid']!r}")
        diol_name = m["diol"]
        if m["loc"] and "methylene" in diol_name:  # "1,5-pentamethylene": the locants must be the chain ends
            n = NUMERALS[diol_name[: -len("methylene")]]
            if _locants(m["loc"]) != [1, n]:
                raise NameNotRead(f"locants {m['loc']} on a {n}-methylene chain")
        elif m["loc"]:
            diol_name = f"{m['loc']}-{diol_name}"
        diol = _subunits(diol_name)
        if len(diol) != 1:
            raise NameNotRead("alkylene")
        return [Unit(FIXED[link]), diol[0], Unit(FIXED[link]), Unit(acyl)]
    m = _SILOXANE.match(body)
    if m:
        bare, end = _read_bare(m["subs"], 0)
        if end != len(m["subs"]) or len(bare) != 2:
            raise NameNotRead("siloxane substituents")
        return [Unit(FIXED["oxy"]), _single_atom("Si", bare)]
    return None


def _body(name: str) -> str:
    m = re.fullmatch(r"\s*[Pp]oly\s*[(\[](.*)[)\]]\s*(?:atactic|isotactic|syndiotactic)?\s*", name)
    if not m:
        # PolySol has one name with an unclosed parenthesis; a missing ')' at the very end is tolerated.
        m = re.fullmatch(r"\s*[Pp]oly\s*\((.*[a-z])\s*", name)
    if not m:
        raise NameNotRead("not of the form poly(...)")
    return m.group(1)


def candidate_repeat_units(name: str) -> list[str]:
    """Distinct polymers (canonical repeat units) the name can mean, one per reading of unsymmetrical subunits.

    Raises NameNotRead when the name is not a structure-based (or simple source-based step-growth) name
    made of known words.
    """
    body = _body(name)
    units = _source_based(body)
    if units is None:
        text = body.replace("(", "").replace(")", "").replace("[", "").replace("]", "")
        if " " in text:
            raise NameNotRead("source-based name")
        units = _subunits(text)
    options = [[u] if u.reversed().smiles == u.smiles or _symmetric(u) else [u, u.reversed()] for u in units]
    found: dict[str, str] = {}
    for choice in itertools.product(*options):
        unit = _join(list(choice))
        found.setdefault(polymer_key(unit), unit)
    return list(found.values())


def _symmetric(unit: Unit) -> bool:
    return Chem.MolToSmiles(Chem.MolFromSmiles(unit.reversed().smiles)) == Chem.MolToSmiles(Chem.MolFromSmiles(unit.smiles))


def polymer_key(repeat_unit: str) -> str:
    """Same key for two repeat units of the same chain (any start atom or direction): the cyclic trimer."""
    from chi_lite.featurize.oligomer import cyclic_oligomer

    return Chem.MolToSmiles(cyclic_oligomer(repeat_unit, 3, explicit_hydrogens=False))


def capped(repeat_unit: str) -> str:
    """The repeat unit with both '*' replaced by hydrogen (how PolySol writes many polymers), canonical."""
    mol = Chem.MolFromSmiles(repeat_unit)
    rw = Chem.RWMol(mol)
    for idx in sorted((a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0), reverse=True):
        rw.RemoveAtom(idx)
    out = rw.GetMol()
    Chem.SanitizeMol(out)
    return Chem.MolToSmiles(Chem.RemoveHs(out))
