"""Hoftyzer–Van Krevelen δ and Fedors volume against literature values (tolerances stated below)."""

import math

import pytest
from rdkit import Chem

from chi_lite.featurize.group_contribution import GC_NAMES, REPEAT_UNITS_PROP, estimate, gc_descriptors
from chi_lite.featurize.oligomer import cyclic_oligomer

# Hansen δD, δ_total [MPa^½]: C. M. Hansen, Hansen Solubility Parameters: A User's Handbook, 2nd ed. (2007), Table A.1.
SOLVENTS = {
    "toluene": ("Cc1ccccc1", 18.0, 18.2),
    "acetone": ("CC(C)=O", 15.5, 19.9),
    "ethanol": ("CCO", 15.8, 26.5),
    "methanol": ("CO", 14.7, 29.6),
    "cyclohexane": ("C1CCCCC1", 16.8, 16.8),
    "n-hexane": ("CCCCCC", 14.9, 14.9),
    "tetrahydrofuran": ("C1CCOC1", 16.8, 19.4),
    "ethyl acetate": ("CCOC(C)=O", 15.8, 18.1),
    "benzene": ("c1ccccc1", 18.4, 18.6),
    "2-butanone": ("CCC(C)=O", 16.0, 19.0),
    "diethyl ether": ("CCOCC", 14.5, 15.8),
    "1-butanol": ("CCCCO", 16.0, 23.1),
    "acetic acid": ("CC(=O)O", 14.5, 21.4),
}
# Polymer δ_total [MPa^½]: Brandrup, Immergut & Grulke, Polymer Handbook, 4th ed., VII/675 (typical values).
POLYMERS = {
    "polystyrene": ("*CC(*)c1ccccc1", 18.6),
    "poly(methyl methacrylate)": ("*CC(*)(C)C(=O)OC", 19.0),
    "polyethylene": ("*CC*", 16.2),
    "polypropylene": ("*CC(*)C", 16.6),
    "polyisobutylene": ("*CC(*)(C)C", 16.5),
    "poly(vinyl acetate)": ("*CC(*)OC(C)=O", 19.2),
    "polybutadiene": ("*CC=CC*", 17.0),
}
TOTAL_TOLERANCE = 2.5  # MPa^½: the method's typical error (van Krevelen §7.4)
DISPERSION_TOLERANCE = 1.5  # MPa^½ on δD of the solvents


@pytest.mark.parametrize("name", sorted(SOLVENTS))
def test_solvent_delta_close_to_hansen(name):
    smiles, delta_d, delta_total = SOLVENTS[name]
    e = estimate(Chem.MolFromSmiles(smiles))
    assert e.coverage == 1.0 and e.uncovered == ()
    assert abs(e.delta_d - delta_d) <= DISPERSION_TOLERANCE
    assert abs(e.delta_total - delta_total) <= TOTAL_TOLERANCE


def _per_unit(repeat_unit: str, n: int = 10):
    mol = cyclic_oligomer(repeat_unit, n, explicit_hydrogens=False)
    mol.SetIntProp(REPEAT_UNITS_PROP, n)
    return estimate(mol)


@pytest.mark.parametrize("name", sorted(POLYMERS))
def test_polymer_delta_close_to_handbook(name):
    smiles, delta_total = POLYMERS[name]
    assert abs(_per_unit(smiles).delta_total - delta_total) <= TOTAL_TOLERANCE


def test_oligomer_gives_the_repeat_unit_values():
    """δ and V per repeat unit do not depend on the oligomer length (δP included)."""
    a, b = _per_unit("*CC(*)(C)C(=O)OC", 6), _per_unit("*CC(*)(C)C(=O)OC", 10)
    for field in ("delta_d", "delta_p", "delta_h", "molar_volume"):
        assert math.isclose(getattr(a, field), getattr(b, field), rel_tol=1e-12)
    assert math.isclose(b.molar_volume, 16.1 - 19.2 + 33.5 + 18.0 + 33.5)  # CH2, C, CH3, COO, CH3 (Fedors)


def test_carbonyl_found_whatever_the_atom_order():
    assert estimate(Chem.MolFromSmiles("O=C(C)C")) == estimate(Chem.MolFromSmiles("CC(C)=O"))


# Molecules whose groups the method does not cover: listed, partial δ, and finite descriptors.
UNCOVERED = {
    "water": ("O", "O (H2, degree 0)"),
    "dimethyl sulfoxide": ("CS(C)=O", "S (H0, degree 3)"),
    "pyridine": ("c1ccncc1", "aromatic N (H0, degree 2)"),
    "iodomethane": ("CI", "I (H0, degree 1)"),
}


@pytest.mark.parametrize("name", sorted(UNCOVERED))
def test_uncovered_groups_are_listed_and_descriptors_stay_finite(name):
    smiles, atom = UNCOVERED[name]
    mol = Chem.MolFromSmiles(smiles)
    e = estimate(mol)
    assert atom in e.uncovered and e.coverage < 1.0
    values = gc_descriptors(mol)
    assert list(values) == list(GC_NAMES)
    assert all(math.isfinite(v) for v in values.values())
    assert values["gc_coverage"] == e.coverage


def test_nothing_covered_gives_nan_estimate_and_zero_descriptors():
    water = Chem.MolFromSmiles("O")
    assert math.isnan(estimate(water).delta_d)
    assert gc_descriptors(water)["gc_delta_d"] == 0.0 and gc_descriptors(water)["gc_coverage"] == 0.0
