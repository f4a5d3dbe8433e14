"""Applicability domain: is this question inside what the χ training data covered?

Reads the manifest's "domain" section (written by `chi-lite-train verdict`): elements seen, the
canonical SMILES of the χ-training polymers and solvents, the training temperature range and,
when the model outputs them, nearest-neighbour novelty thresholds chosen on grouped CV.
Criteria whose facts the model lacks are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .units import KELVIN_OFFSET

DOMAINS = ("in", "near", "out")
TEMPERATURE_OUT_MARGIN_K = 50.0  # beyond the training range by more than this → out


@lru_cache(maxsize=8192)
def canonical(smiles: str) -> str:
    """RDKit canonical SMILES (the key the manifest's molecule lists use); the text itself if it does not parse."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return smiles if mol is None else Chem.MolToSmiles(mol)


@lru_cache(maxsize=8192)
def elements(smiles: str) -> frozenset[str]:
    """Element symbols of a molecule, without the '*' ends and hydrogen."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return frozenset()
    return frozenset(a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() > 1)


@dataclass(frozen=True)
class DomainFacts:
    """What the χ training data covered (from the manifest)."""

    elements: frozenset[str] = frozenset()
    polymers: frozenset[str] = frozenset()
    solvents: frozenset[str] = frozenset()
    temperature_k: tuple[float, float] | None = None
    novelty: dict[str, dict[str, float]] = field(default_factory=dict)  # role → {"near": d, "out": d} ("out" optional)

    @classmethod
    def from_manifest(cls, section: dict[str, Any] | None) -> "DomainFacts | None":
        """None when the model carries no domain section (then every answer says so)."""
        if not section:
            return None
        t = section.get("temperature_k")
        return cls(
            elements=frozenset(section.get("elements", ())),
            polymers=frozenset(section.get("polymers", ())),
            solvents=frozenset(section.get("solvents", ())),
            temperature_k=(float(t[0]), float(t[1])) if t else None,
            novelty={k: dict(v) for k, v in section.get("novelty", {}).items()},
        )


@dataclass(frozen=True)
class DomainCheck:
    """``domain`` ∈ in/near/out and a note naming every reason (empty when in)."""

    domain: str
    note: str


def _worse(a: str, b: str) -> str:
    return a if DOMAINS.index(a) >= DOMAINS.index(b) else b


def assess(
    facts: DomainFacts | None,
    polymer: str,
    solvent: str,
    temperature_k: float,
    novelty: dict[str, float | None] | None = None,
) -> DomainCheck:
    """Grade one question; ``novelty`` maps "polymer"/"solvent" to the model's distance (None: not output)."""
    if facts is None:
        return DomainCheck("near", "the model carries no applicability-domain facts (retrain with chi-lite-train verdict)")
    level, reasons = "in", []
    if facts.elements:
        new = sorted((elements(polymer) | elements(solvent)) - facts.elements)
        if new:
            level = "out"
            reasons.append(f"element{'s' if len(new) > 1 else ''} {', '.join(new)} absent from the χ training molecules")
    if facts.solvents and canonical(solvent) not in facts.solvents:
        level = _worse(level, "near")
        reasons.append("solvent has no χ training rows")
    if facts.polymers and canonical(polymer) not in facts.polymers:
        level = _worse(level, "near")
        reasons.append("polymer has no χ training rows")
    for role, distance in (novelty or {}).items():
        limits = facts.novelty.get(role)
        if distance is None or not limits or not math.isfinite(distance):
            continue
        out = limits.get("out")  # absent when novelty did not predict the error on grouped CV
        if out is not None and distance > out:
            level = "out"
            reasons.append(f"{role} far from every training molecule (novelty {distance:.2f} > {out:.2f})")
        elif "near" in limits and distance > limits["near"]:
            level = _worse(level, "near")
            reasons.append(f"{role} unlike the training molecules (novelty {distance:.2f})")
    if facts.temperature_k is not None:
        lo, hi = facts.temperature_k
        if not lo <= temperature_k <= hi:
            beyond = max(lo - temperature_k, temperature_k - hi)
            level = _worse(level, "out" if beyond > TEMPERATURE_OUT_MARGIN_K else "near")
            reasons.append(f"temperature outside the training range {lo - KELVIN_OFFSET:.0f}–{hi - KELVIN_OFFSET:.0f} °C")
    return DomainCheck(level, "; ".join(reasons))
