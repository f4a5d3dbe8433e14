"""The temperature–composition phase diagram of one polymer–solvent pair from the model's χ(T)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ChiLiteError, InvalidTemperatureError
from .units import KELVIN_OFFSET, to_kelvin
from .flory_huggins import (
    CriticalTemperature,
    binodal,
    check_chain_length,
    critical_chi,
    critical_phi,
    critical_temperature,
    miscibility_probability,
    spinodal,
)

if TYPE_CHECKING:
    from .predictor import ChiPredictor



def _number(value: float) -> float | None:
    """NaN (single phase) as None, so JSON stays valid."""
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class PhasePoint:
    """One temperature of the diagram; the compositions are polymer volume fractions, None where one phase."""

    temperature_k: float
    chi: float
    chi_std: float
    p_miscible_fh: float
    binodal_poor: float | None
    binodal_rich: float | None
    binodal_poor_log10: float | None  # the dilute phase can be far below 1e-308 at large N
    spinodal_poor: float | None
    spinodal_rich: float | None

    @property
    def temperature_c(self) -> float:
        """The temperature in °C."""
        return self.temperature_k - KELVIN_OFFSET

    def to_dict(self) -> dict[str, Any]:
        """temperature_c plus every field, ready for JSON or CSV."""
        out: dict[str, Any] = {"temperature_c": self.temperature_c}
        out.update({f.name: getattr(self, f.name) for f in fields(self)})
        return out


POINT_COLUMNS = ["temperature_c"] + [f.name for f in fields(PhasePoint)]


@dataclass(frozen=True)
class PhaseDiagram:
    """Binodal, spinodal and critical point of a pair at chain length N over a temperature range."""

    polymer: str
    solvent: str
    chain_length: float
    A: float
    B: float
    chi_critical: float
    phi_critical: float
    critical: CriticalTemperature
    points: tuple[PhasePoint, ...]

    def to_dict(self) -> dict[str, Any]:
        """The whole diagram as JSON-ready data."""
        tc = self.critical.temperature_k
        return {
            "polymer": self.polymer,
            "solvent": self.solvent,
            "chain_length": self.chain_length,
            "A": self.A,
            "B": self.B,
            "chi_critical": self.chi_critical,
            "phi_critical": self.phi_critical,
            "behaviour": self.critical.behaviour,
            "critical_kind": self.critical.kind,
            "critical_temperature_k": tc,
            "critical_temperature_c": None if tc is None else tc - KELVIN_OFFSET,
            "critical_in_range": self.critical.in_range,
            "points": [p.to_dict() for p in self.points],
        }


def temperature_grid(tmin: float, tmax: float, points: int, kelvin: bool) -> np.ndarray:
    """Evenly spaced kelvin temperatures from tmin to tmax (°C unless ``kelvin``)."""

    lo, hi = to_kelvin(tmin, kelvin), to_kelvin(tmax, kelvin)
    if hi <= lo:
        raise InvalidTemperatureError(f"the temperature range is empty: tmax ({tmax}) must be above tmin ({tmin})")
    if int(points) < 2:
        raise ChiLiteError(f"a diagram needs at least 2 temperatures, got {points}")
    return np.linspace(lo, hi, int(points))


def build_phase_diagram(
    predictor: "ChiPredictor",
    polymer: str,
    solvent: str,
    chain_length: float,
    tmin: float,
    tmax: float,
    *,
    points: int = 61,
    kelvin: bool = False,
) -> PhaseDiagram:
    """Evaluate the model on a temperature grid (plus T_c when it falls inside) and solve FH at each point.

    The phase compositions use χ = A + B/T in double precision, so the curves meet exactly at the
    critical temperature; χ, its spread and p_miscible_fh are the model's own outputs.
    """
    n = check_chain_length(chain_length)
    grid = temperature_grid(tmin, tmax, points, kelvin)
    first = predictor.predict(polymer, solvent, float(grid[0]), kelvin=True)  # refuses bad molecules first
    a, b = first.A, first.B
    crit = critical_temperature(a, b, n, float(grid[0]), float(grid[-1]))
    if crit.in_range and crit.temperature_k is not None:
        grid = np.unique(np.append(grid, crit.temperature_k))
    predictions = predictor.predict_temperatures(polymer, solvent, grid.tolist())
    chi_c, phi_c = critical_chi(n), critical_phi(n)
    chi_fh = a + b / grid
    if crit.in_range:
        chi_fh[grid == crit.temperature_k] = chi_c
    coexist = binodal(chi_fh, n)
    s_poor, s_rich = spinodal(chi_fh, n)
    chi = np.array([p.chi for p in predictions])
    std = np.array([p.chi_std for p in predictions])
    p_fh = np.atleast_1d(miscibility_probability(chi, std, n))
    at_critical = np.isclose(chi_fh, chi_c, rtol=0, atol=1e-12)
    rows = []
    for i, t in enumerate(grid):
        poor, rich, log_poor = coexist.phi_poor[i], coexist.phi_rich[i], coexist.log_phi_poor[i] / math.log(10)
        if at_critical[i]:  # binodal and spinodal meet at (φ_c, T_c)
            poor = rich = phi_c
            log_poor = math.log10(phi_c)
        rows.append(
            PhasePoint(
                temperature_k=float(t),
                chi=float(chi[i]),
                chi_std=float(std[i]),
                p_miscible_fh=float(p_fh[i]),
                binodal_poor=_number(poor),
                binodal_rich=_number(rich),
                binodal_poor_log10=_number(log_poor),
                spinodal_poor=_number(phi_c if at_critical[i] else s_poor[i]),
                spinodal_rich=_number(phi_c if at_critical[i] else s_rich[i]),
            )
        )
    return PhaseDiagram(polymer, solvent, n, a, b, chi_c, phi_c, crit, tuple(rows))
