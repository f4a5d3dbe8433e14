"""PolySol polymer → repeat unit: the name reader, one test per monomer rule with known polymers, the refusals, the real table."""

from __future__ import annotations

import pytest
from rdkit import Chem

from chi_lite.featurize.chemistry import check_polymer
from chi_lite.featurize.oligomer import cyclic_oligomer, parse_repeat_unit
from chi_lite_train.polysol import NAME_CAPPED, NAME_ONLY, NAME_RULE, monomer_to_repeat_unit, polymer_to_repeat_unit
from chi_lite_train.polysol_names import NameNotRead, candidate_repeat_units


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
        ("Nc1ccccc1", "*Nc1ccc(*)cc1", "aniline coupling"),  # polyaniline, leucoemeraldine
        ("CCCCc1ccccc1N", "*Nc1ccc(*)cc1CCCC", "aniline coupling"),  # 2-butylaniline
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
        ("Cc1ccc(N)cc1", "no polymerizable group"),  # p-toluidine: the para carbon is taken
        ("Nc1ccc(N)cc1", "no polymerizable group"),  # two amines: no single coupling
        ("CN(C)c1ccccc1", "no polymerizable group"),  # no N–H to couple
    ],
)
def test_unconvertible_monomers_say_why(monomer, reason):
    conversion = monomer_to_repeat_unit(monomer)
    assert not conversion.ok and reason in conversion.reason


@pytest.mark.parametrize(
    "name, repeat_unit",
    [
        ("Poly(oxyethylene)", "*CCO*"),
        ("Poly(oxymethylene)", "*CO*"),
        ("Poly(oxytetramethylene)", "*CCCCO*"),
        ("Poly(oxyethylidene)", "*OC(*)C"),  # polyacetaldehyde, not PEO
        ("Poly(oxyisopropylidene)", "*OC(*)(C)C"),
        ("Poly(propylene)", "*CC(*)C"),  # propylene is propane-1,2-diyl
        ("Poly(oxycarbonyl-1,3-propylene)", "*OC(=O)CCC*"),
        ("Poly(oxy-3-chloro-1,2-propylene)", "*OCC(*)CCl"),
        ("Poly[imino-(1-oxohexamethylene)]", "*NCCCCCC(*)=O"),  # nylon 6
        ("Poly(iminoadipoyliminohexamethylene)", "*NCCCCCCNC(=O)CCCCC(*)=O"),  # nylon 6,6
        ("Poly(hexamethylene adipamide)", "*NCCCCCCNC(=O)CCCCC(*)=O"),  # source-based, same polymer
        ("Poly(1,5-pentamethylene glutaramide)", "*NCCCCCNC(=O)CCCC(*)=O"),
        ("Poly(ethylene adipate)", "*OCCOC(=O)CCCCC(*)=O"),
        ("Poly(oxyterephthaloyloxyethylene)", "*OCCOC(=O)c1ccc(C(*)=O)cc1"),  # PET
        ("Poly(oxy-2,6-dimethyl-1,4-phenylene)", "*Oc1c(C)cc(*)cc1C"),  # PPO: methyls beside the oxygen
        ("Poly(oxy-1,3-phenylene)", "*Oc1cccc(*)c1"),
        ("Poly(oxycarbonyloxy-1,4-phenylene-isopropylidene-1,4-phenylene)", "*OC(=O)Oc1ccc(C(C)(C)c2ccc(*)cc2)cc1"),
        ("Poly(carbonyl-1,4-phenylenehexafluoroisopropylidene-1,4-phenylene)",
         "*C(=O)c1ccc(C(c2ccc(*)cc2)(C(F)(F)F)C(F)(F)F)cc1"),
        ("Poly(oxycarbonyloxy-1,4-phenylene-2-pentylidene-1,4-phenylene)", "*OC(=O)Oc1ccc(C(C)(CCC)c2ccc(*)cc2)cc1"),
        ("Poly(2,5-di-n-decyloxy-1,4-phenylene)", "*c1cc(OCCCCCCCCCC)c(*)cc1OCCCCCCCCCC"),
        ("Poly(iminocarbonylimino-2-methyl-5-sulfo-1,3-phenylene)", "*NC(=O)Nc1cc(S(=O)(=O)O)cc(*)c1C"),
        ("Poly(thiomethylene-1,4-trans-cyclohexylene-methylene)", "*SCC1CCC(C*)CC1"),
        ("Poly(oxymethylenecyclopropylidenemethylene)", "*OCC1(C*)CC1"),
        ("Poly(carbonyl-1,4-cyclohexan-3-onediyl)", "*C(=O)C1CCC(*)C(=O)C1"),
        ("Poly(oxyisophthaloyloxy-1,4-phenylene-fluorenylidene-1,4-phenylene)",
         "*OC(=O)c1cccc(C(=O)Oc2ccc(C3(c4ccc(*)cc4)c4ccccc4-c4ccccc43)cc2)c1"),
        ("Poly(N-methyliminoterephthaloyl-N-methyliminoethylene)", "*N(C)C(=O)c1ccc(C(=O)N(C)CC*)cc1"),
        ("Poly(N-n-hexyliminocarbonyl)", "*N(CCCCCC)C(*)=O"),
        ("Poly(hydrazoisophthaloyl)", "*NNC(=O)c1cccc(C(*)=O)c1"),
        ("Poly(dichlorophosphazene)", "*N=P(*)(Cl)Cl"),
        ("Poly[bis(trifluoroethoxy)phosphazene]", "*N=P(*)(OCC(F)(F)F)OCC(F)(F)F"),
        ("Poly(di-n-hexylsilylene)", "*[Si](*)(CCCCCC)CCCCCC"),
        ("Poly(oxyhydrophenylsilylene)", "*O[SiH](*)c1ccccc1"),
        ("Poly(methylphenylsiloxane)", "*O[Si](*)(C)c1ccccc1"),
        ("Poly(carbonylphenylethylene)", "*C(=O)C(c1ccccc1)C*"),  # either direction is the same chain
        ("Poly(oxycarbonylethynylene-1,4-phenylene)", "*OC(=O)C#Cc1ccc(*)cc1"),
    ],
)
def test_structure_based_name_gives_the_repeat_unit(name, repeat_unit):
    candidates = candidate_repeat_units(name)
    assert len(candidates) == 1 and same(candidates[0], repeat_unit), candidates
    check_polymer(candidates[0])


@pytest.mark.parametrize(
    "name",
    [
        "Poly(vinyl acetate) atactic",  # source-based: left to the monomer rules
        "Poly(styrene)",
        "Poly(butylene terephthalate)",  # butylene without locants: 1,2 or 1,4
        "Poly(oxyhexanoyl)",  # hexanoyl as a bivalent unit: 1-oxohexamethylene or hexanedioyl
        "Poly(oxyfoobarylene)",
        "Poly(dihydroxyl-1,4-phenylene)",  # substituents without locants on a ring
        "Poly(2,2-methyltrimethylene)",  # two locants, one methyl
        "Poly(oxy-7-chloro-1,2-propylene)",  # no carbon 7
    ],
)
def test_names_outside_the_vocabulary_are_not_read(name):
    with pytest.raises(NameNotRead):
        candidate_repeat_units(name)


def test_unsymmetrical_subunit_is_resolved_by_the_smiles_or_refused():
    name = "Poly(oxycarbonyl-1,2-propylene)"  # –O–CO–CH(CH3)–CH2– or –O–CO–CH2–CH(CH3)–
    assert len(candidate_repeat_units(name)) == 2
    capped = polymer_to_repeat_unit(name, "CC(C)C(=O)O")  # isobutyric acid: the first, with H ends
    assert capped.rule == NAME_CAPPED and same(capped.repeat_unit, "*OC(=O)C(C)C*")
    by_rule = polymer_to_repeat_unit(name, "CC(O)CC(=O)O")  # 3-hydroxybutyric acid → poly(3-hydroxybutyrate)
    assert by_rule.rule == NAME_RULE and same(by_rule.repeat_unit, "*OC(C)CC(*)=O")
    refused = polymer_to_repeat_unit(name, "CCCOC=O")  # propyl formate: neither
    assert not refused.ok and "reads as 2 polymers" in refused.reason


def test_the_name_wins_over_a_smiles_that_is_not_the_polymer():
    # PolySol's SMILES for PPO is a quinone-like ring; a C=C rule on it gives a wrong unit.
    conversion = polymer_to_repeat_unit("Poly(oxy-2,6-dimethyl-1,4-phenylene)", "CC1=CCC(=O)C(C)=C1")
    assert conversion.rule == NAME_ONLY and same(conversion.repeat_unit, "*Oc1c(C)cc(*)cc1C")
    ketene = polymer_to_repeat_unit("Poly(oxyethylene)", "C=C=O")
    assert ketene.rule == NAME_ONLY and same(ketene.repeat_unit, "*CCO*")
    capped = polymer_to_repeat_unit("Poly(oxytetramethylene)", "CCCCO")
    assert capped.rule == NAME_CAPPED and same(capped.repeat_unit, "*CCCCO*")


def test_an_unread_name_falls_back_to_the_monomer_rules():
    assert polymer_to_repeat_unit("Poly(styrene)", "C=Cc1ccccc1").rule == "vinyl addition"
    assert not polymer_to_repeat_unit("Poly(styrene)", "CCCCO").ok


def test_real_table_coverage_and_every_unit_is_accepted(data_dir):
    from chi_lite_train.polysol import load_polysol

    rows, fingerprint = load_polysol(data_dir)
    assert len(rows) == 1476 and set(rows["label"]) == {0, 1} and fingerprint
    converted = rows[rows["polymer"].notna()]
    assert len(converted) >= 1300 and converted["polymer_name"].nunique() >= 320
    assert rows[rows["polymer"].isna()]["reason"].notna().all()
    for unit in converted["polymer"].unique():
        parse_repeat_unit(unit)
        check_polymer(unit)
    styrene = converted[converted["polymer_name"] == "Poly(styrene) atactic"]["polymer"].iloc[0]
    assert Chem.MolToSmiles(Chem.MolFromSmiles(styrene)) == Chem.MolToSmiles(Chem.MolFromSmiles("*CC(*)c1ccccc1"))
