"""The one place that builds and formats an answer's user-facing fields (table, CSV, JSON, serve).

Building: χ, σ, the classifier and the crystalline melting-point depression become one verdict
(p_miscible, miscible, verdict, t_dissolve_c) and an applicability domain (domain, domain_note).
Formatting: one spelling for booleans (yes/no in tables and CSV, true/false in JSON), A ± B/T with
a real minus sign, and JSON without NaN or Infinity.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .crystalline import (CrystallineProperties, dissolution_temperature, known_crystalline, melting_critical_chi,
                          solvent_molar_volume)
from .domain import DomainFacts, assess
from .flory_huggins import critical_chi
from .units import KELVIN_OFFSET
from .verdict import VerdictModel

LONG_CHAIN_CHI_CRITICAL = 0.5  # χ_c(N → ∞)
VERDICT_COLUMNS = ["chi_critical", "p_miscible", "miscible", "verdict", "t_dissolve_c", "domain", "domain_note"]


@dataclass(frozen=True)
class AnswerContext:
    """What a loaded model needs to turn χ into a verdict: its stacking model and domain facts."""

    verdict: VerdictModel
    domain: DomainFacts | None

    @classmethod
    def from_manifest(cls, manifest: Any, has_classifier: bool) -> "AnswerContext":
        """From the manifest's "verdict" and "domain" sections (either may be absent)."""
        return cls(
            VerdictModel.from_manifest(getattr(manifest, "verdict", None), has_classifier),
            DomainFacts.from_manifest(getattr(manifest, "domain", None)),
        )


@dataclass(frozen=True)
class MiscibilityVerdict:
    """The answer's verdict re-read at chain length N (ChiPrediction.miscibility): the same p_miscible as predict."""

    chain_length: float
    chi_critical: float
    p_miscible: float
    miscible: bool
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """The verdict's output fields, ready for JSON or CSV."""
        return {"chain_length": self.chain_length, "chi_critical": self.chi_critical, "p_miscible": self.p_miscible,
                "miscible": self.miscible, "verdict": self.verdict}


def verdict_fields(
    context: AnswerContext,
    polymer: str,
    solvent: str,
    temperature_k: float,
    chi: float,
    chi_std: float,
    a: float | None,
    b: float | None,
    p_classifier: float | None,
    chain_length: float | None = None,
    crystalline: CrystallineProperties | None = None,
    novelty: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """The verdict and domain fields of one answer (JSON-native values, °C for t_dissolve_c).

    A semicrystalline polymer's p_miscible is the amorphous stacking probability times
    P[χ(T) < χ_melt(T)] (verdict.melt_probability); t_dissolve_c is the point estimate of T_d.
    """
    chi_c = LONG_CHAIN_CHI_CRITICAL if chain_length is None else critical_chi(chain_length)
    p = context.verdict.probability(p_classifier, chi, chi_std, chi_c)
    crystals = crystalline if crystalline is not None else known_crystalline(polymer)
    t_dissolve = None
    if crystals is not None and a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
        volume = solvent_molar_volume(solvent)
        t_dissolve = dissolution_temperature(crystals, a, b, volume)
        p *= context.verdict.melt_probability(chi, chi_std, melting_critical_chi(crystals, temperature_k, volume))
    miscible = p >= 0.5
    if miscible:
        word = "soluble"
    elif t_dissolve is not None and temperature_k < t_dissolve:
        word = "insoluble (crystalline)"
    else:
        word = "insoluble"
    check = assess(context.domain, polymer, solvent, temperature_k, novelty)
    return {
        "chain_length": chain_length,
        "chi_critical": chi_c,
        "p_miscible": p,
        "miscible": miscible,
        "verdict": word,
        "t_dissolve_c": None if t_dissolve is None else t_dissolve - KELVIN_OFFSET,
        "domain": check.domain,
        "domain_note": check.note,
    }


# ---- formatting --------------------------------------------------------------------------

def yes_no(value: bool) -> str:
    """The one text spelling of a boolean answer field (tables and CSV)."""
    return "yes" if value else "no"


def text_value(value: Any) -> Any:
    """A field as table/CSV shows it: booleans as yes/no, everything else unchanged."""
    return yes_no(value) if isinstance(value, bool) else value


def chi_of_t(a: float, b: float) -> str:
    """'A + B K / T' with a real minus sign for negative B: 0.4671 − 31.00 K / T."""
    sign = "−" if b < 0 else "+"
    return f"{a:.4f} {sign} {abs(b):.2f} K / T"


def finite(value: Any) -> Any:
    """Non-finite floats → None, recursively (JSON has no NaN or Infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def json_text(value: Any, indent: int | None = 2) -> str:
    """JSON that never contains NaN/Infinity (mapped to null; allow_nan=False enforces it)."""
    return json.dumps(finite(value), indent=indent, ensure_ascii=False, allow_nan=False)


def domain_warning(fields: dict[str, Any]) -> str | None:
    """The warning line a table prints for a near/out answer, else None."""
    if fields.get("domain") in ("near", "out"):
        return f"warning: outside the training domain ({fields['domain']}): {fields.get('domain_note') or 'see domain_note'}"
    return None


def verdict_line(fields: dict[str, Any]) -> str:
    """'soluble (p_miscible 0.83, long chain)' for the table."""
    n = fields.get("chain_length")
    at = "long chain" if n is None else f"chain length {n:g}"
    return f"{fields['verdict']} (p_miscible {fields['p_miscible']:.2f}, {at})"
