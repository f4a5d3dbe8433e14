"""One solubility verdict: p_miscible from the classifier, χ(T) against χ_c(N) and crystallinity.

A logistic stacking model (coefficients in the manifest's "verdict" section, fitted by
`chi-lite-train verdict` on polymer-grouped out-of-fold predictions of the PolySol labels):
    logit p = b0 + b1·logit(p_classifier) + b2·clip((χ_c(N) − χ(T))/√(σ² + σ_floor²), ±6)
then, for a semicrystalline polymer, times P[T > T_d] = sigmoid((T − T_d)/w): below its
dissolution temperature a crystalline polymer is insoluble. Without a "verdict" section (or
without a classifier) the χ term alone is used, P[χ < χ_c] under the ensemble's σ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MARGIN_CLIP = 6.0
MELT_WIDTH_K = 3.0  # width of the crystalline gate around T_d
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

    @classmethod
    def from_manifest(cls, section: dict[str, Any] | None, has_classifier: bool) -> "VerdictModel":
        """The fitted model, or the Flory–Huggins probability when the model carries none."""
        if not section or not has_classifier:
            return cls()
        w = section["coefficients"]
        return cls(float(w["intercept"]), float(w["classifier_logit"]), float(w["chi_margin"]),
                   float(section.get("chi_std_floor", 0.0)), "stacked")

    def probability(self, p_classifier: float | None, chi: float, chi_std: float, chi_critical: float) -> float:
        """p_miscible before the crystalline gate."""
        if self.basis == "flory-huggins" or p_classifier is None:
            z = margin(chi, chi_std, chi_critical)
            return 0.5 * math.erfc(-z / math.sqrt(2.0))
        z = margin(chi, chi_std, chi_critical, self.chi_std_floor)
        return _sigmoid(self.intercept + self.w_classifier * logit(p_classifier) + self.w_margin * z)


def crystalline_gate(temperature_k: float, t_dissolve_k: float | None) -> float:
    """P[the crystals have melted in the solvent] = sigmoid((T − T_d)/w); 1 for an amorphous polymer."""
    if t_dissolve_k is None:
        return 1.0
    return _sigmoid((temperature_k - t_dissolve_k) / MELT_WIDTH_K)


def probability_array(model: VerdictModel, p_classifier, chi, chi_std, chi_critical: float):
    """``model.probability`` over arrays (screening ranks whole libraries by it)."""
    import numpy as np

    values = [model.probability(None if p is None or p != p else float(p), float(c), float(s), chi_critical)
              for p, c, s in zip(p_classifier, chi, chi_std)]
    return np.array(values, dtype=float)
