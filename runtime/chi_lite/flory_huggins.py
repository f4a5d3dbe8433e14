"""Flory–Huggins phase behaviour of a polymer (N segments) in a solvent (1 segment), numpy only.

Free energy of mixing per lattice site, φ the polymer volume fraction:
    f(φ) = φ/N ln φ + (1−φ) ln(1−φ) + χ φ(1−φ)
Chemical potentials (in kT): solvent per molecule  μ_s = ln(1−φ) + (1−1/N) φ + χ φ²,
polymer per chain  μ_p = ln φ − (N−1)(1−φ) + χ N (1−φ)².

At large N the polymer-poor coexisting phase is exponentially dilute (ln φ ≈ −N·const, far below
the smallest double), so the binodal is solved in log variables: t = ln φ on the polymer-poor
branch and v = ln(1−φ) on the polymer-rich branch. Everything here is vectorised over χ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .units import KELVIN_OFFSET, check_chain_length

_MAX_ITERATIONS = 200
# Closer than this (relative) to χ_c the two phases differ by less than the equations resolve in
# double precision; there the binodal is the mean-field asymptote φ = φ_c ± c·(χ − χ_c)^½ scaled
# from the solution at this distance (relative error O(distance)).
_NEAR_CRITICAL = 1e-7


def critical_chi(n: float) -> float:
    """χ_c(N) = ½(1 + N^−½)²: above it the pair demixes at some composition."""
    return 0.5 * (1.0 + 1.0 / math.sqrt(n)) ** 2


def critical_phi(n: float) -> float:
    """Polymer volume fraction at the critical point, 1/(1 + √N)."""
    return 1.0 / (1.0 + math.sqrt(n))


def miscibility_probability(chi: np.ndarray | float, chi_std: np.ndarray | float, n: float) -> np.ndarray | float:
    """P[χ < χ_c(N)] with χ ~ Normal(chi, chi_std) (the ensemble's spread); a step when chi_std is 0."""
    if np.ndim(chi) == 0 and np.ndim(chi_std) == 0:  # one pair (predict, serve, screen rows): plain floats
        c, sd = float(chi), float(chi_std)
        if not (math.isfinite(c) and math.isfinite(sd)):
            return math.nan
        margin = critical_chi(n) - c
        if sd > 0:
            return 0.5 * math.erfc(-(margin / sd) / math.sqrt(2.0))
        return 1.0 if margin > 0 else 0.0 if margin < 0 else 0.5
    chi_a = np.asarray(chi, dtype=float)
    std_a = np.asarray(chi_std, dtype=float)
    margin = critical_chi(n) - chi_a
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std_a > 0, margin / np.where(std_a > 0, std_a, 1.0), np.sign(margin) * np.inf)
    p = 0.5 * np.vectorize(math.erfc, otypes=[float])(-z / math.sqrt(2.0))
    p = np.where(std_a > 0, p, np.where(margin > 0, 1.0, np.where(margin < 0, 0.0, 0.5)))
    p = np.where(np.isfinite(chi_a) & np.isfinite(std_a), p, np.nan)
    return float(p) if p.ndim == 0 else p


def chemical_potentials(
    log_phi: np.ndarray, log1m_phi: np.ndarray, chi: np.ndarray, n: float
) -> tuple[np.ndarray, np.ndarray]:
    """(μ_s per solvent molecule, μ_p per chain) in kT, from ln φ and ln(1−φ) so tiny φ stays exact."""
    phi = np.exp(log_phi)
    one_minus = np.exp(log1m_phi)
    mu_s = log1m_phi + (1.0 - 1.0 / n) * phi + chi * phi**2
    mu_p = log_phi - (n - 1.0) * one_minus + chi * n * one_minus**2
    return mu_s, mu_p


def spinodal(chi: np.ndarray | float, n: float) -> tuple[np.ndarray, np.ndarray]:
    """The two φ where f''(φ) = 0 (NaN where χ < χ_c): roots of 2χN φ² − (2χN + 1 − N) φ + 1 = 0."""
    chi_a = np.atleast_1d(np.asarray(chi, dtype=float))
    a = 2.0 * chi_a * n
    b = a + 1.0 - n
    disc = b * b - 4.0 * a
    inside = chi_a >= critical_chi(n)
    root = np.sqrt(np.where(inside, np.maximum(disc, 0.0), np.nan))
    rich = (b + root) / (2.0 * a)
    poor = 1.0 / (a * rich)  # product of roots is 1/a: no cancellation for the dilute root
    return poor, rich


def _mu_s_poor(t: np.ndarray, chi: np.ndarray, n: float) -> np.ndarray:
    phi = np.exp(t)
    return np.log1p(-phi) + (1.0 - 1.0 / n) * phi + chi * phi**2


def _mu_p_segment(log_phi: np.ndarray, one_minus: np.ndarray, chi: np.ndarray, n: float) -> np.ndarray:
    return log_phi / n - (1.0 - 1.0 / n) * one_minus + chi * one_minus**2


def _solve_increasing(
    f: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], lo: np.ndarray, hi: np.ndarray, guess: np.ndarray
) -> np.ndarray:
    """Root of an increasing f on [lo, hi] (elementwise): Newton from ``guess`` kept inside a shrinking bracket.

    Where f has no sign change the answer is the nearer end, which the callers rely on.
    """
    lo, hi = lo.copy(), hi.copy()
    at_hi = f(hi)[0] <= 0
    at_lo = f(lo)[0] >= 0
    x = np.clip(guess, lo, hi)
    for _ in range(_MAX_ITERATIONS):
        value, slope = f(x)
        negative = value < 0
        lo = np.where(negative, x, lo)
        hi = np.where(negative, hi, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - value / slope
        ok = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        x_next = np.where(ok, newton, 0.5 * (lo + hi))
        tight = (hi - lo) <= 4e-16 * np.maximum(np.abs(lo), np.abs(hi))
        still = np.abs(x_next - x) <= 1e-15 * np.maximum(1.0, np.abs(x))
        cycling = ok & (x_next != x) & ((x_next == lo) | (x_next == hi))  # f resolved to roundoff
        if np.all(still | cycling | (value == 0) | tight | ~np.isfinite(x) | at_hi | at_lo):
            break
        x = x_next
    return np.where(at_hi, hi, np.where(at_lo, lo, x_next))


@dataclass(frozen=True)
class Binodal:
    """Coexisting compositions for each χ, also as logs (the dilute phase can be below 1e−308)."""

    chi: np.ndarray
    log_phi_poor: np.ndarray  # ln φ of the polymer-poor phase
    log1m_phi_rich: np.ndarray  # ln(1−φ) of the polymer-rich phase

    @property
    def phi_poor(self) -> np.ndarray:
        return np.exp(self.log_phi_poor)

    @property
    def phi_rich(self) -> np.ndarray:
        return -np.expm1(self.log1m_phi_rich)


def binodal(chi: np.ndarray | float, n: float) -> Binodal:
    """Coexisting phases at each χ from μ_s and μ_p equal in both (NaN where χ ≤ χ_c).

    For a polymer-poor φ₁ (below its spinodal) the polymer-rich φ₂ with the same μ_s is unique
    (μ_s decreases along each stable branch); the polymer potential difference then increases
    with φ₁ (Gibbs–Duhem), so both are one-dimensional bracketed solves.
    """
    n = check_chain_length(n)
    chi_all = np.atleast_1d(np.asarray(chi, dtype=float))
    out_t = np.full(chi_all.shape, np.nan)
    out_v = np.full(chi_all.shape, np.nan)
    two_phase = np.isfinite(chi_all) & (chi_all > critical_chi(n))
    if not two_phase.any():
        return Binodal(chi_all, out_t, out_v)
    chi_a = chi_all[two_phase]
    near = chi_a < critical_chi(n) * (1.0 + _NEAR_CRITICAL)
    chi_a = np.where(near, critical_chi(n) * (1.0 + _NEAR_CRITICAL), chi_a)
    s_poor, s_rich = spinodal(chi_a, n)
    v_spinodal = np.log1p(-s_rich)
    last_v: list = []  # the previous inner answer: the next outer step starts there

    def rich_for(target: np.ndarray) -> np.ndarray:
        """v = ln(1−φ₂) on the rich branch with μ_s(φ₂) = target (the spinodal end if out of reach)."""

        def f(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            phi = -np.expm1(v)
            one_minus = np.exp(v)
            value = v + (1.0 - 1.0 / n) * phi + chi_a * phi**2 - target
            slope = 1.0 - one_minus * ((1.0 - 1.0 / n) + 2.0 * chi_a * phi)
            return value, slope

        v_lo = target - (1.0 - 1.0 / n + chi_a) - 1.0  # μ_s(v) ≤ v + 1 − 1/N + χ
        guess = target - (1.0 - 1.0 / n + chi_a) if not last_v else last_v[0]  # φ₂ → 1, then warm
        v = _solve_increasing(f, np.minimum(v_lo, v_spinodal), v_spinodal, guess)
        last_v[:] = [v]
        return v

    def difference(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """μ_p per segment, poor minus rich, and its derivative in t = ln φ₁."""
        phi1 = np.exp(t)
        v = rich_for(_mu_s_poor(t, chi_a, n))
        phi2 = -np.expm1(v)
        one_minus2 = np.exp(v)
        value = _mu_p_segment(t, 1.0 - phi1, chi_a, n) - _mu_p_segment(np.log(phi2), one_minus2, chi_a, n)
        curvature = 1.0 / n + phi1 / (1.0 - phi1) - 2.0 * chi_a * phi1  # φ₁ f''(φ₁)
        slope = curvature * ((1.0 - phi1) - phi1 * one_minus2 / phi2)
        return value, slope

    t_hi = np.log(s_poor)
    t_lo = math.log(critical_phi(n)) - 2.0 * n * chi_a - 1.0  # ln φ₁ ≥ ln φ₂ − 2Nχ from μ_p equality
    guess = np.log(s_rich) + n * s_rich * ((1.0 - 1.0 / n) - chi_a * (2.0 - s_rich))  # φ₁ ≪ φ₂ ≈ spinodal
    t = _solve_increasing(difference, t_lo, t_hi, guess)
    v = rich_for(_mu_s_poor(t, chi_a, n))
    if near.any():
        phi_c = critical_phi(n)
        scale = np.sqrt((chi_all[two_phase][near] - critical_chi(n)) / (chi_a[near] - critical_chi(n)))
        t[near] = np.log(phi_c - (phi_c - np.exp(t[near])) * scale)
        v[near] = np.log((1.0 - phi_c) + (np.exp(v[near]) - (1.0 - phi_c)) * scale)
    out_t[two_phase] = t
    out_v[two_phase] = v
    return Binodal(chi_all, out_t, out_v)


@dataclass(frozen=True)
class CriticalTemperature:
    """Where χ(T) = A + B/T crosses χ_c(N), and what that means over [tmin, tmax] (kelvin)."""

    behaviour: str  # over the range: "UCST", "LCST", "always miscible", "never miscible"
    temperature_k: float | None  # the crossing, if one exists at T > 0 (it may lie outside the range)
    kind: str | None  # "UCST" (B > 0) or "LCST" (B < 0) for that crossing
    chi_critical: float

    @property
    def in_range(self) -> bool:
        """True when a critical temperature falls inside the scanned range."""
        return self.behaviour in ("UCST", "LCST")

    def describe(self) -> str:
        """One line for people, e.g. 'UCST at 307.65 K (34.50 °C)'."""
        if self.temperature_k is None:
            return f"{self.behaviour} (no critical temperature above 0 K)"
        at = f"{self.temperature_k:.2f} K ({self.temperature_k - KELVIN_OFFSET:.2f} °C)"
        if self.in_range:
            return f"{self.kind} at {at}"
        return f"{self.behaviour} in this range ({self.kind} at {at})"


def critical_temperature(a: float, b: float, n: float, tmin_k: float, tmax_k: float) -> CriticalTemperature:
    """UCST (B > 0) or LCST (B < 0) at T_c = B/(χ_c − A) when that is a positive temperature.

    Over [tmin_k, tmax_k] without a crossing the pair is "always miscible" or "never miscible";
    the crossing outside the range is still reported.
    """
    chi_c = critical_chi(n)
    tc: float | None = None
    if b != 0 and chi_c != a:
        candidate = b / (chi_c - a)
        tc = candidate if candidate > 0 else None
    kind = None if tc is None else ("UCST" if b > 0 else "LCST")
    if tc is not None and tmin_k <= tc <= tmax_k:
        return CriticalTemperature(kind, tc, kind, chi_c)  # type: ignore[arg-type]
    mid = 0.5 * (tmin_k + tmax_k)  # no crossing inside: χ − χ_c keeps one sign over the range
    miscible = a + b / mid < chi_c
    return CriticalTemperature("always miscible" if miscible else "never miscible", tc, kind, chi_c)
