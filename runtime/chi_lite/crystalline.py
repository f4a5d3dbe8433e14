"""Semicrystalline polymers: Flory's melting-point depression gives the dissolution temperature T_d.

A crystalline polymer dissolves only where its crystals melt in the solvent. With φ_s → 1,
    1/T_d − 1/T_m⁰ = (R/ΔH_u)(V_u/V_s)(1 − χ(T_d)),
solved for T_d with the predicted χ(T) = A + B/T. At a given T the same equation gives the largest
χ at which the crystals still melt, χ_melt(T) = 1 − (ΔH_u/R)(V_s/V_u)(1/T − 1/T_m⁰): the verdict
uses P[χ(T) < χ_melt(T)] under the calibrated σ, t_dissolve is the point estimate. T_m⁰, ΔH_u, V_u come from the polymer names
table (literature values, each row citing its source) or from the caller for a SMILES polymer.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .domain import canonical
from .errors import InvalidCrystallineError
from .units import KELVIN_OFFSET, parse_number

GAS_CONSTANT = 8.314462618e-3  # kJ/(mol K)
LIQUID_PER_MCGOWAN = 1.25  # liquid molar volume ≈ 1.25 × McGowan volume (toluene 1.25, xylene 1.23, hexane 1.37)
# McGowan characteristic volumes (cm³/mol per atom; 6.56 subtracted per bond), Abraham & McGowan 1987
_MCGOWAN = {1: 8.71, 6: 16.35, 7: 14.39, 8: 12.43, 9: 10.48, 14: 26.83, 15: 24.87, 16: 22.91, 17: 20.95, 35: 26.21, 53: 34.53}
_TABLE = Path(__file__).resolve().parent / "names" / "polymers.csv"


@dataclass(frozen=True)
class CrystallineProperties:
    """Equilibrium melting point (K), heat of fusion (kJ/mol repeat unit), repeat-unit volume (cm³/mol)."""

    tm0_k: float
    dhu_kj_mol: float
    vu_cm3_mol: float
    source: str = ""


def crystalline_properties(tm0_c: object, dhu_kj_mol: object, vu_cm3_mol: object, source: str = "given") -> CrystallineProperties:
    """Checked properties from user input (T_m⁰ in °C); all three or an error naming the range."""
    tm0 = parse_number(tm0_c, "T_m0 (°C)", InvalidCrystallineError)
    dhu = parse_number(dhu_kj_mol, "ΔH_u (kJ/mol)", InvalidCrystallineError)
    vu = parse_number(vu_cm3_mol, "V_u (cm³/mol)", InvalidCrystallineError)
    if not -50.0 <= tm0 <= 500.0:
        raise InvalidCrystallineError(f"T_m0 {tm0:g} °C is outside −50–500 °C")
    if not 0.1 <= dhu <= 500.0:
        raise InvalidCrystallineError(f"ΔH_u {dhu:g} kJ/mol is outside 0.1–500 kJ/mol")
    if not 1.0 <= vu <= 5000.0:
        raise InvalidCrystallineError(f"V_u {vu:g} cm³/mol is outside 1–5000 cm³/mol")
    return CrystallineProperties(tm0 + KELVIN_OFFSET, dhu, vu, source)


@lru_cache(maxsize=1)
def _known() -> dict[str, CrystallineProperties]:
    with open(_TABLE, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if (r.get("tm0_c") or "").strip()]
    return {
        canonical(r["smiles"]): crystalline_properties(r["tm0_c"], r["dhu_kj_mol"], r["vu_cm3_mol"], r["crystalline_source"])
        for r in rows
    }


def known_crystalline(repeat_unit: str) -> CrystallineProperties | None:
    """The table's properties for a repeat unit (by canonical SMILES), or None for an amorphous/unknown polymer."""
    return _known().get(canonical(repeat_unit))  # cached: answers call this once per row


@lru_cache(maxsize=4096)
def solvent_molar_volume(smiles: str) -> float:
    """Liquid molar volume estimate (cm³/mol): 1.25 × McGowan volume from the heavy-atom graph plus hydrogens."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InvalidCrystallineError(f"cannot estimate the molar volume of {smiles!r}")
    mol = Chem.AddHs(mol)
    volume = sum(_MCGOWAN.get(a.GetAtomicNum(), 20.0) for a in mol.GetAtoms()) - 6.56 * mol.GetNumBonds()
    return LIQUID_PER_MCGOWAN * max(volume, 5.0)


def melting_critical_chi(props: CrystallineProperties, temperature_k: float, solvent_volume: float) -> float:
    """χ_melt(T) = 1 − (ΔH_u/R)(V_s/V_u)(1/T − 1/T_m⁰): the crystals melt in the pure solvent (φ_s → 1) iff χ(T) < χ_melt(T).

    Above T_m⁰ it exceeds 1 (the crystals melt whatever χ); far below it falls steeply.
    """
    if not (temperature_k > 0 and solvent_volume > 0):
        raise InvalidCrystallineError(f"χ_melt needs T > 0 K and a positive solvent volume, got {temperature_k!r} K, {solvent_volume!r} cm³/mol")
    return 1.0 - props.dhu_kj_mol / GAS_CONSTANT * solvent_volume / props.vu_cm3_mol * (1.0 / temperature_k - 1.0 / props.tm0_k)


def dissolution_temperature(props: CrystallineProperties, a: float, b: float, solvent_volume: float) -> float:
    """T_d (K): the highest T ≤ T_m⁰ where 1/T − 1/T_m⁰ = (R/ΔH_u)(V_u/V_s)(1 − A − B/T).

    T_m⁰ when χ ≥ 1 there (no depression), 1 K when the crystals melt at every temperature scanned.
    Bracketed (scan, then bisection): always a finite number.
    """
    slope = GAS_CONSTANT / props.dhu_kj_mol * props.vu_cm3_mol / solvent_volume

    def g(t: float) -> float:
        return 1.0 / t - 1.0 / props.tm0_k - slope * (1.0 - a - b / t)

    hi = props.tm0_k
    if not math.isfinite(g(hi)) or g(hi) >= 0:
        return props.tm0_k
    step = 2.0
    lo = hi - step
    while lo > 1.0 and g(lo) < 0:
        hi, lo = lo, lo - step
    if lo <= 1.0:
        return 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if g(mid) >= 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
