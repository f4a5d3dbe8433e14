"""PolySol monomer → repeat unit: one test per rule with known polymers, the refusals, and the real table."""

from __future__ import annotations

import pytest
from rdkit import Chem

from chi_lite.featurize.oligomer import cyclic_oligomer, parse_repeat_unit
from chi_lite_train.polysol import monomer_to_repeat_unit


def same(a: str, b: str) -> bool:
    """Same polymer: equal canonical SMILES, or the same chain written from another atom (equal cyclic trimers)."""
    if Chem.MolToSmiles(Chem.MolFromSmiles(a)) == Chem.MolToSmiles(Chem.MolFromSmiles(b)):
        return True
    ring = [Chem.MolToSmiles(cyclic_oligomer(u, 3, explicit_hydrogens=False)) for u in (a, b)]
    return ring[0] == ring[1]


@pytest.mark.parametrize(
    "monomer, repeat_unit, rule",
    [
        ("C=Cc1ccccc1", "*CC(*)c1ccccc1", "vinyl addition"),  # styrene
        ("C=C(C)C(=O)OC", "*CC(*)(C)C(=O)OC", "vinyl addition"),  # methyl methacrylate
        ("C=CC(=O)OCCCC", "*CC(*)C(=O)OCCCC", "vinyl addition"),  # n-butyl acrylate
        ("C=COC(C)=O", "*CC(*)OC(C)=O", "vinyl addition"),  # vinyl acetate
        ("C=COCC", "*CC(*)OCC", "vinyl addition"),  # ethyl vinyl ether
        ("C=CCl", "*CC(*)Cl", "vinyl addition"),  # vinyl chloride
        ("C=C(F)F", "*CC(*)(F)F", "vinyl addition"),  # vinylidene fluoride
        ("C=CC#N", "*CC(*)C#N", "vinyl addition"),  # acrylonitrile
        ("C=CN1CCCC1=O", "*CC(*)N1CCCC1=O", "vinyl addition"),  # N-vinylpyrrolidone: vinyl, not ring opening
        ("C=CC1=CCCCC1", "*CC(*)C1=CCCCC1", "vinyl addition"),  # acyclic C=C wins over the ring C=C
        ("C1=Cc2ccccc2C1", "*C1Cc2ccccc2C1*", "vinyl addition"),  # indene
        ("C=CC=C", "*CC=CC*", "diene 1,4-addition"),  # butadiene
        ("C=CC(=C)C", "*CC=C(C)C*", "diene 1,4-addition"),  # isoprene
        ("C=CC(=C)Cl", "*CC=C(Cl)C*", "diene 1,4-addition"),  # chloroprene
        ("C1=CCC=C1", "*C1C=CC(*)C1", "diene 1,4-addition"),  # cyclopentadiene
        ("C#Cc1ccccc1", "*C=C(*)c1ccccc1", "alkyne addition"),  # phenylacetylene
        ("CCCCCCN=C=O", "*N(CCCCCC)C(*)=O", "isocyanate addition"),  # n-hexyl isocyanate
        ("CCN=C=NCC", "*N(CC)C(*)=NCC", "carbodiimide addition"),
        ("C1CO1", "*CCO*", "ring opening"),  # ethylene oxide
        ("C1CCOC1", "*CCCCO*", "ring opening"),  # tetrahydrofuran
        ("ClCC1CO1", "*CC(CCl)O*", "ring opening"),  # epichlorohydrin
        ("O=C1CCCCCO1", "*OCCCCCC(*)=O", "ring opening"),  # ε-caprolactone
        ("O=C1CCCCCN1", "*NCCCCCC(*)=O", "ring opening"),  # caprolactam (nylon 6)
        ("O=C1CCCCC(=O)OCCCCO1", "*OCCCCOC(=O)CCCCC(*)=O", "ring opening"),  # cyclic butylene adipate
        ("CCC1=NCCO1", "*CCN(*)C(=O)CC", "oxazoline ring opening"),  # 2-ethyl-2-oxazoline
        ("C=O", "*CO*", "aldehyde addition"),  # formaldehyde
        ("CC=O", "*C(C)O*", "aldehyde addition"),  # acetaldehyde
        ("CC(O)C(=O)O", "*OC(C)C(*)=O", "AB condensation"),  # lactic acid
        ("NCCCCCCCCCCC(=O)O", "*NCCCCCCCCCCC(*)=O", "AB condensation"),  # 11-aminoundecanoic acid (nylon 11)
    ],
)
def test_rule_gives_the_known_repeat_unit(monomer, repeat_unit, rule):
    conversion = monomer_to_repeat_unit(monomer)
    assert conversion.rule == rule, conversion
    assert same(conversion.repeat_unit, repeat_unit), conversion.repeat_unit
    parse_repeat_unit(conversion.repeat_unit)


@pytest.mark.parametrize(
    "monomer, reason",
    [
        ("CCCCO", "no polymerizable group"),  # an end-capped repeat unit, not a monomer
        ("C=COCOC=C", "2 polymerizable C=C"),  # divinyl: cross-links
        ("C=C=C", "cumulated"),
        ("[CH]C(=O)Cl", "radical"),
        ("C=COS(=O)(=O)[O-]", "charged"),
        ("O=CCCCC=O", "2 aldehyde"),
        ("CCCOC=O", "no polymerizable group"),  # a formate is not an aldehyde
        ("not a smiles", "invalid monomer SMILES"),
    ],
)
def test_unconvertible_monomers_say_why(monomer, reason):
    conversion = monomer_to_repeat_unit(monomer)
    assert not conversion.ok and reason in conversion.reason


def test_real_table_coverage_and_every_unit_is_accepted(data_dir):
    from chi_lite_train.polysol import load_polysol

    rows, fingerprint = load_polysol(data_dir)
    assert len(rows) == 1476 and set(rows["label"]) == {0, 1} and fingerprint
    converted = rows[rows["polymer"].notna()]
    assert len(converted) >= 900 and converted["polymer_name"].nunique() >= 200
    assert rows[rows["polymer"].isna()]["reason"].notna().all()
    for unit in converted["polymer"].unique():
        parse_repeat_unit(unit)
    styrene = converted[converted["polymer_name"] == "Poly(styrene) atactic"]["polymer"].iloc[0]
    assert Chem.MolToSmiles(Chem.MolFromSmiles(styrene)) == Chem.MolToSmiles(Chem.MolFromSmiles("*CC(*)c1ccccc1"))
