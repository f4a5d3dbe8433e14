"""One solubility verdict: p_miscible from the classifier, χ(T) against χ_c(N) and crystallinity.

A logistic stacking model (coefficients in the manifest's "verdict" section, fitted by
`chi-lite-train verdict` on polymer-grouped out-of-fold predictions of the PolySol labels):
    logit p_amorphous = b0 + b1·logit(p_classifier) + b2·clip((χ_c(N) − χ(T))/√(σ² + floor²), ±6)
then, for a semicrystalline polymer, times the probability that its crystals melt in the solvent,
    P_melt = P[χ(T) < χ_melt(T)] = Φ((χ_melt(T) − χ̂(T))/√(σ² + melt_floor²))  (melt_floor 0 for a calibrated σ),
χ_melt from Flory's melting-point depression (crystalline.melting_critical_chi). The product
(both must hold to dissolve) is used rather than a fitted weight because the PolySol labels carry
no temperature and list hot solvents as solvents: a weight fitted on them is ≈ 0 (measured by
`chi-lite-train verdict`, manifest verdict.crystalline). Without a "verdict" section (or without
a classifier) the χ term alone is used, P[χ < χ_c] under σ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MARGIN_CLIP = 6.0
_P_EPS = 1e-6


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def logit(p: float) -> float:
    """log(p/(1−p)), p clipped away from 0 and 1."""
    p = min(max(p, _P_EPS), 1.0 - _P_EPS)
    return math.log(p / (1.0 - p))


def margin(chi: float, chi_std: float, chi_critical: float, floor: float = 0.0) -> float:
    """(χ_c − χ)/√(σ² + floor²) clipped to ±6: how many σ the pair sits on the miscible side.

    ``floor`` is the χ error a raw ensemble spread does not show (the manifest's chi_std_floor).
    """
    if not (math.isfinite(chi) and math.isfinite(chi_std)):
        return 0.0
    sigma = math.hypot(chi_std, floor)
    z = (chi_critical - chi) / sigma if sigma > 0 else math.copysign(MARGIN_CLIP, chi_critical - chi)
    return max(-MARGIN_CLIP, min(MARGIN_CLIP, z))


@dataclass(frozen=True)
class VerdictModel:
    """Stacking coefficients; ``basis`` says where they came from (shown in `chi-lite info`)."""

    intercept: float = 0.0
    w_classifier: float = 0.0
    w_margin: float = 1.0
    chi_std_floor: float = 0.0
    basis: str = "flory-huggins"
    melt_std_floor: float = 0.0

    @classmethod
    def from_manifest(cls, section: dict[str, Any] | None, has_classifier: bool) -> "VerdictModel":
        """The fitted model, or the Flory–Huggins probability when the model carries none."""
        if not section or not has_classifier:
            return cls()
        w = section["coefficients"]
        floor = float(section.get("chi_std_floor", 0.0))
        return cls(float(w["intercept"]), float(w["classifier_logit"]), float(w["chi_margin"]), floor, "stacked",
                   float(section.get("melt_std_floor", floor)))

    def probability(self, p_classifier: float | None, chi: float, chi_std: float, chi_critical: float) -> float:
        """p_miscible of the polymer as if amorphous (before the crystalline factor)."""
        if self.basis == "flory-huggins" or p_classifier is None:
            z = margin(chi, chi_std, chi_critical)
            return normal_cdf(z)
        z = margin(chi, chi_std, chi_critical, self.chi_std_floor)
        return _sigmoid(self.intercept + self.w_classifier * logit(p_classifier) + self.w_margin * z)

    def melt_probability(self, chi: float, chi_std: float, chi_melt: float | None) -> float:
        """P_melt under this model's melt σ floor (0 when σ is calibrated: it already is the χ error)."""
        return melt_probability(chi, chi_std, chi_melt, self.melt_std_floor)


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal distribution function."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def melt_probability(chi: float, chi_std: float, chi_melt: float | None, floor: float = 0.0) -> float:
    """P[the crystals melt in the solvent] = P[χ < χ_melt] with χ ~ N(χ̂, σ² + floor²); 1 for an amorphous polymer.

    ``chi_melt`` is None for an amorphous polymer. A non-finite χ̂ or σ gives ½ (nothing known).
    """
    if chi_melt is None:
        return 1.0
    if not math.isfinite(chi_melt):
        return 1.0 if chi_melt > 0 else 0.0
    return normal_cdf(margin(chi, chi_std, chi_melt, floor))


def probability_array(model: VerdictModel, p_classifier, chi, chi_std, chi_critical: float):
    """``model.probability`` over arrays (screening ranks whole libraries by it)."""
    import numpy as np

    values = [model.probability(None if p is None or p != p else float(p), float(c), float(s), chi_critical)
              for p, c, s in zip(p_classifier, chi, chi_std)]
    return np.array(values, dtype=float)
