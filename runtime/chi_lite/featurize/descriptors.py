"""Named molecular descriptors, computed with RDKit alone.

The candidate set is RDKit's 2D descriptor list minus those that are slow on
200-atom macrocycles (NumBridgeheadAtoms ~9 s, Ipc, BertzCT, BCUT2D, qed, ...)
or that only repeat others, plus a few per-atom means ("km_*", kernel means in
the spirit of RadonPy's force-field descriptors) that are intensive, so a
10-mer and its repeat unit get the same value. Training keeps the informative
subset of these names; that ordered subset is the frozen vocabulary.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdMolDescriptors, rdPartialCharges

from ..errors import FeaturizationError
from .group_contribution import GC_NAMES, gc_descriptors

# Slow on cyclic oligomers (measured in ms per 230-heavy-atom ring), constant, or redundant.
_EXCLUDED = frozenset(
    {
        "NumBridgeheadAtoms",  # ~9000 ms
        "NumSpiroAtoms",  # ~480 ms
        "Ipc",  # ~150 ms, and overflows on large rings
        "AvgIpc",  # ~100 ms
        "BertzCT",  # ~24 ms
        "BalabanJ",  # ~16 ms
        "qed",  # ~15 ms, drug-likeness is meaningless here
        "SPS",  # ~8 ms
        "NumSaturatedRings",  # ~25-40 ms on sugar rings
        "NumSaturatedHeterocycles",
        "NumAliphaticHeterocycles",
        "NumRadicalElectrons",  # always 0 for closed-shell inputs
        "MaxEStateIndex",  # electrotopological states: see _EXCLUDED_PREFIXES
        "MinEStateIndex",
        "MaxAbsEStateIndex",
        "MinAbsEStateIndex",
    }
)
_EXCLUDED_PREFIXES = (
    "BCUT2D_",  # ~60 ms: an eigen-decomposition of the full Burden matrix
    # Electrotopological states need the all-pairs distance matrix (~10 ms, O(n^3), per
    # 230-atom ring) and the Python double loop behind them another ~30 ms.
    "EState_VSA",
    "VSA_EState",
)


def _rdkit_functions() -> dict[str, Callable[[Chem.Mol], float]]:
    return {
        name: fn
        for name, fn in Descriptors._descList
        if name not in _EXCLUDED and not name.startswith(_EXCLUDED_PREFIXES)
    }


def _num_valence_electrons(mol: Chem.Mol) -> int:
    """RDKit's NumValenceElectrons (an exact integer sum) without its Python atom-sequence wrapper."""
    table = Chem.GetPeriodicTable()
    atom = mol.GetAtomWithIdx
    total = 0
    for i in range(mol.GetNumAtoms()):
        a = atom(i)
        total += table.GetNOuterElecs(a.GetAtomicNum()) - a.GetFormalCharge() + a.GetTotalNumHs()
    return total


def _chi0(mol: Chem.Mol) -> float:
    """RDKit's GraphDescriptors.Chi0, same arithmetic in the same order, atoms fetched by index."""
    atom = mol.GetAtomWithIdx
    deltas = [d for d in (atom(i).GetDegree() for i in range(mol.GetNumAtoms())) if d != 0]
    return sum(np.sqrt(1.0 / np.array(deltas, float)))


def _chi1(mol: Chem.Mol) -> float:
    """RDKit's GraphDescriptors.Chi1, same arithmetic in the same order, bonds fetched by index."""
    bond = mol.GetBondWithIdx
    products = []
    for i in range(mol.GetNumBonds()):
        b = bond(i)
        products.append(b.GetBeginAtom().GetDegree() * b.GetEndAtom().GetDegree())
    products = [c for c in products if c != 0]
    return sum(np.sqrt(1.0 / np.array(products, float)))


# Drop-in replacements for RDKit descriptors whose cost is mostly Python iteration over
# atoms; tests/test_descriptors.py checks they return exactly RDKit's values.
_FASTER = {"NumValenceElectrons": _num_valence_electrons, "Chi0": _chi0, "Chi1": _chi1}
_RDKIT = {**_rdkit_functions()}
_RDKIT.update({name: fn for name, fn in _FASTER.items() if name in _RDKIT})
_ELEMENTS = ("C", "N", "O", "F", "Cl", "Br", "I", "S", "Si", "P")


_ELEMENT_Z = {"C": 6, "N": 7, "O": 8, "F": 9, "Cl": 17, "Br": 35, "I": 53, "S": 16, "Si": 14, "P": 15}


def _atom_means(mol: Chem.Mol) -> dict[str, float]:
    """Per-heavy-atom means from one Python pass over the atoms.

    Counts are summed as integers (exact), so the values equal those of the
    earlier numpy formulation bit for bit; the float means (Crippen
    contributions, charges) still go through numpy's summation.
    """
    n_heavy = n_light = hs = aromatic = in_ring = degree = 0
    per_z: dict[int, int] = {}
    charges = []
    atom = mol.GetAtomWithIdx  # indexing is cheaper than RDKit's Python atom-sequence wrapper
    for i in range(mol.GetNumAtoms()):
        a = atom(i)
        charges.append(a.GetDoubleProp("_GasteigerCharge"))
        z = a.GetAtomicNum()
        hs += a.GetTotalNumHs()
        if z <= 1:
            n_light += 1
            continue
        n_heavy += 1
        per_z[z] = per_z.get(z, 0) + 1
        aromatic += a.GetIsAromatic()
        in_ring += a.IsInRing()
        degree += a.GetDegree()
    n = max(n_heavy, 1)
    out = {f"km_frac_{el}": float(per_z.get(z, 0)) / n for el, z in _ELEMENT_Z.items()}
    out["km_h_per_heavy"] = float(hs + n_light) / n
    out["km_frac_aromatic"] = float(aromatic) / n
    out["km_frac_in_ring"] = float(in_ring) / n
    out["km_mean_degree"] = float(degree) / n_heavy if n_heavy else float("nan")
    contribs = np.array(rdMolDescriptors._CalcCrippenContribs(mol), dtype=np.float64).reshape(-1, 2)
    out["km_mean_crippen_logp"] = float(contribs[:, 0].mean())
    out["km_mean_crippen_mr"] = float(contribs[:, 1].mean())
    values = np.array(charges)
    values = np.where(np.isfinite(values), values, 0.0)  # = nan_to_num(nan=0, posinf=0, neginf=0), cheaper
    out["km_mean_abs_charge"] = float(np.mean(np.abs(values)))
    out["km_std_charge"] = float(np.std(values))
    return out


_KM_NAMES = tuple(
    [f"km_frac_{el}" for el in _ELEMENTS]
    + [
        "km_h_per_heavy",
        "km_frac_aromatic",
        "km_frac_in_ring",
        "km_mean_degree",
        "km_mean_crippen_logp",
        "km_mean_crippen_mr",
        "km_mean_abs_charge",
        "km_std_charge",
    ]
)


def candidate_descriptors() -> list[str]:
    """Every name this featurizer version can compute, in a stable order."""
    return list(_RDKIT) + list(_KM_NAMES) + list(GC_NAMES)


def unknown_descriptors(names: Sequence[str]) -> list[str]:
    """Names an artifact asks for that this installation cannot compute."""
    known = set(candidate_descriptors())
    return [n for n in names if n not in known]


def _share_charge_extremes(mol: Chem.Mol) -> None:
    """Hand RDKit's Max/MinPartialCharge the Gasteiger charges already on the atoms.

    RDKit's ``Descriptors._ChargeDescriptors`` recomputes the charges unless the
    molecule carries ``_chargeDescriptors``; this is its own loop (same parsing of
    the property, same NaN behaviour of min/max), so the values are unchanged.
    """
    min_charge, max_charge = 500.0, -500.0
    atom = mol.GetAtomWithIdx
    for i in range(mol.GetNumAtoms()):
        charge = float(atom(i).GetProp("_GasteigerCharge"))
        min_charge = min(charge, min_charge)
        max_charge = max(charge, max_charge)
    mol._chargeDescriptors = (min_charge, max_charge)


@lru_cache(maxsize=16)
def _needs_atom_means(names: tuple[str, ...]) -> bool:
    return any(n.startswith("km_") for n in names)


@lru_cache(maxsize=16)
def _needs_group_contributions(names: tuple[str, ...]) -> bool:
    return any(n.startswith("gc_") for n in names)


def compute_descriptors(mol: Chem.Mol, names: Sequence[str]) -> np.ndarray:
    """Descriptor vector (float64, in ``names`` order) for a heavy-atom molecule."""
    mol = Chem.Mol(mol)  # Gasteiger charges are stored on the atoms; keep callers' molecules clean
    try:
        km: dict[str, float] = {}
        if _needs_atom_means(tuple(names)):
            rdPartialCharges.ComputeGasteigerCharges(mol)
            km = _atom_means(mol)
            _share_charge_extremes(mol)
        if _needs_group_contributions(tuple(names)):
            km.update(gc_descriptors(mol))
        values = [km[name] if name in km else float(_RDKIT[name](mol)) for name in names]
    except KeyError as exc:
        raise FeaturizationError(f"descriptor {exc.args[0]!r} is not computable by this chi-lite version") from None
    except Exception as exc:  # RDKit raises plain RuntimeError/ValueError for odd chemistry
        raise FeaturizationError(f"descriptor computation failed: {exc}") from None
    return np.asarray(values, dtype=np.float64)
