"""The hand-written name tables: they parse, agree with the Hansen table, and resolve as promised."""

from __future__ import annotations

import csv

import pytest
from rdkit import Chem

from chi_lite.errors import InvalidSmilesError, UnknownNameError
from chi_lite.featurize.oligomer import parse_repeat_unit, parse_smiles
from chi_lite.names import _key, _loose_key, resolve_polymer, resolve_solvent, search, table, typed_name


def test_tables_are_large_enough_and_every_entry_parses():
    solvents, polymers = table("solvents"), table("polymers")
    assert len(solvents) >= 150 and len(polymers) >= 40
    for entry in solvents:
        mol = parse_smiles(entry.smiles, "solvent")
        assert not any(a.GetAtomicNum() == 0 for a in mol.GetAtoms()), entry.name
    for entry in polymers:
        parse_repeat_unit(entry.smiles)  # exactly two singly bonded '*'


@pytest.mark.parametrize("key", [_key, _loose_key], ids=["exact", "loose"])
@pytest.mark.parametrize("kind", ["solvents", "polymers"])
def test_no_name_or_alias_points_at_two_molecules(kind, key):
    """Also when punctuation is ignored (1,2- vs 1,3-…): a loose spelling picks one molecule or none."""
    seen: dict[str, str] = {}
    for entry in table(kind):
        for label in {key(x) for x in (entry.name, *entry.aliases)}:
            assert seen.setdefault(label, entry.name) == entry.name, f"{label!r}: {seen[label]} and {entry.name}"


# Rows of hsp_solvents.csv whose SMILES is another molecule (checked by hand): the first carries
# BHT's SMILES, the second 2-methoxyethanol's. Our table has the molecules the names say.
HANSEN_DEFECTS = {"Ethylene glycol monomethyl ether", "Ethylene glycol monoethyl ether"}


def _flat(smiles: str) -> str:
    """Canonical SMILES without stereo: the Hansen table omits it (e.g. oleic acid's cis bond)."""
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles), isomericSmiles=False)


def test_solvents_agree_with_the_hansen_table(data_dir):
    """Every table solvent whose name or alias the Hansen table also lists has the same molecule."""
    hansen: dict[str, set[str]] = {}
    with open(data_dir / "hansen" / "hsp_solvents.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] in HANSEN_DEFECTS or not row["SMILES"] or Chem.MolFromSmiles(row["SMILES"]) is None:
                continue
            for label in [row["Name"], *row["alias"].split(";"), *row["synonyms"].split(";")]:
                if label.strip():
                    hansen.setdefault(_key(label), set()).add(_flat(row["SMILES"]))
    compared = 0
    for entry in table("solvents"):
        for label in (entry.name, *entry.aliases):
            for expected in hansen.get(_key(label), ()):
                assert _flat(entry.smiles) == expected, f"{entry.name} ({label}): {entry.smiles} vs Hansen {expected}"
                compared += 1
    assert compared >= 200


def test_names_resolve_case_insensitively_with_aliases_and_smiles_pass_through():
    assert resolve_solvent("THF") == resolve_solvent("tetrahydrofuran") == resolve_solvent("  Tetrahydrofuran ")
    assert resolve_solvent("MEK") == resolve_solvent("butan-2-one")
    assert resolve_solvent("Cc1ccccc1") == "Cc1ccccc1"
    assert resolve_polymer("ps") == resolve_polymer("Polystyrene") == "*CC(*)c1ccccc1"
    assert resolve_polymer("*CCO*") == "*CCO*"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="did you mean toluene"):
        resolve_solvent("tolune")
    with pytest.raises(InvalidSmilesError, match="polystyrene"):
        resolve_polymer("polystyrne")


def test_search_finds_by_name_alias_and_smiles():
    assert [e.name for e in search("solvents", "dimethylformamide")] == ["N,N-dimethylformamide"]
    assert "poly(ethylene oxide)" in [e.name for e in search("polymers", "peg")]


@pytest.mark.parametrize(
    "typed, canonical_name",
    [
        ("nylon-6", "nylon 6"),
        ("nylon6", "nylon 6"),
        ("Nylon-6,6", "nylon 6,6"),
        ("nylon 6/6", "nylon 6,6"),
        ("polyvinyl chloride", "poly(vinyl chloride)"),
        ("polymethyl methacrylate", "poly(methyl methacrylate)"),
        ("poly methyl methacrylate", "poly(methyl methacrylate)"),
    ],
)
def test_common_polymer_spellings_resolve(typed, canonical_name):
    expected = next(e.smiles for e in table("polymers") if e.name == canonical_name)
    assert resolve_polymer(typed) == expected
    assert typed_name("polymers", typed) == typed  # outputs echo what was typed


def test_xylene_is_the_main_isomer_of_commercial_xylene():
    assert resolve_solvent("xylene") == resolve_solvent("Xylenes") == resolve_solvent("m-xylene")


def test_smiles_is_never_read_as_a_loose_name_and_has_no_typed_name():
    assert resolve_solvent("C(C)O") == "C(C)O"
    assert typed_name("solvents", "CCO") is None and typed_name("polymers", "*CC(*)c1ccccc1") is None
    with pytest.raises(UnknownNameError, match="did you mean"):
        resolve_polymer("nylon-7,7")
