"""Flory–Huggins mathematics against known limits, closed forms and the equal-chemical-potential conditions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chi_lite.errors import InvalidChainLengthError
from chi_lite.flory_huggins import (
    binodal,
    check_chain_length,
    chemical_potentials,
    critical_chi,
    critical_phi,
    critical_temperature,
    miscibility_probability,
    spinodal,
)

CHAIN_LENGTHS = [1, 10, 1000, 1e5]
CHI_ABOVE_CRITICAL = [1e-4, 0.01, 0.1, 1.0, 5.0, 20.0]


def test_critical_point_limits():
    assert critical_chi(1) == 2.0 and critical_phi(1) == 0.5
    values = [critical_chi(n) for n in (1, 10, 100, 1e4, 1e8)]
    assert values == sorted(values, reverse=True)
    assert critical_chi(1e8) == pytest.approx(0.5, abs=2e-4) and critical_chi(1e8) > 0.5
    assert critical_phi(1e4) == pytest.approx(1 / 101)


def test_symmetric_mixture_has_the_closed_form_binodal():
    """N = 1: φ₂ = 1 − φ₁ and χ = ln((1−φ)/φ) / (1 − 2φ) on the binodal."""
    chi = np.array([2.0001, 2.1, 2.5, 3.0, 5.0, 12.0])
    b = binodal(chi, 1)
    np.testing.assert_allclose(b.phi_poor + b.phi_rich, 1.0, atol=1e-12)
    phi = b.phi_poor
    np.testing.assert_allclose(np.log((1 - phi) / phi) / (1 - 2 * phi), chi, rtol=1e-10)
    s_poor, s_rich = spinodal(chi, 1)
    np.testing.assert_allclose(s_poor + s_rich, 1.0, atol=1e-12)


@pytest.mark.parametrize("n", CHAIN_LENGTHS)
def test_binodal_has_equal_chemical_potentials(n):
    chi = critical_chi(n) + np.array(CHI_ABOVE_CRITICAL)
    b = binodal(chi, n)
    assert np.all(np.isfinite(b.log_phi_poor)) and np.all(np.isfinite(b.log1m_phi_rich))
    mu_s_poor, mu_p_poor = chemical_potentials(b.log_phi_poor, np.log1p(-b.phi_poor), chi, n)
    mu_s_rich, mu_p_rich = chemical_potentials(np.log(b.phi_rich), b.log1m_phi_rich, chi, n)
    np.testing.assert_allclose(mu_s_poor, mu_s_rich, rtol=0, atol=1e-8)
    np.testing.assert_allclose(mu_p_poor, mu_p_rich, rtol=0, atol=1e-8)  # per chain, i.e. N × per segment
    s_poor, s_rich = spinodal(chi, n)
    assert np.all(b.phi_poor < s_poor) and np.all(s_poor < s_rich) and np.all(s_rich < b.phi_rich)


def test_dilute_phase_far_below_the_smallest_double_stays_exact():
    """At N = 1e5 the polymer-poor phase is e^(−10⁵) or less: only its logarithm is representable.

    With φ₁ → 0, μ_s = 0 fixes φ₂, and μ_p equality then gives ln φ₁ in closed form.
    """
    n, chi = 1e5, critical_chi(1e5) + 5.0
    b = binodal([chi], n)
    assert b.log_phi_poor[0] < -1e5 and b.phi_poor[0] == 0.0
    phi2 = b.phi_rich[0]
    assert math.log1p(-phi2) + (1 - 1 / n) * phi2 + chi * phi2**2 == pytest.approx(0.0, abs=1e-12)
    expected_t = math.log(phi2) - (n - 1) * (1 - phi2) + chi * n * (1 - phi2) ** 2 + (n - 1) - chi * n
    assert b.log_phi_poor[0] == pytest.approx(expected_t, rel=1e-12)


@pytest.mark.parametrize("n", CHAIN_LENGTHS)
def test_spinodal_and_binodal_meet_at_the_critical_point(n):
    phi_c = critical_phi(n)
    s_poor, s_rich = spinodal(critical_chi(n), n)
    assert s_poor[0] == pytest.approx(phi_c, rel=1e-6) and s_rich[0] == pytest.approx(phi_c, rel=1e-6)
    chi = critical_chi(n) * (1 + np.array([1e-4, 1e-6, 1e-8, 1e-10, 1e-12]))
    b = binodal(chi, n)
    widths = b.phi_rich - b.phi_poor
    np.testing.assert_allclose(widths[:-1] / widths[1:], 10.0, rtol=0.02)  # mean field: width ∝ (χ − χ_c)^½
    np.testing.assert_allclose([b.phi_poor[-1], b.phi_rich[-1]], phi_c, rtol=1e-4)
    s_poor, _ = spinodal(chi, n)  # f'' = 0 there: χ = ½(1/(Nφ) + 1/(1−φ))
    np.testing.assert_allclose(0.5 * (1 / (n * s_poor) + 1 / (1 - s_poor)), chi, rtol=1e-9)


def test_one_phase_below_the_critical_chi():
    n = 100
    chi = np.array([0.0, -1.0, critical_chi(n), critical_chi(n) - 1e-9])
    b = binodal(chi, n)
    assert np.all(np.isnan(b.phi_poor)) and np.all(np.isnan(b.phi_rich))
    assert np.all(np.isnan(spinodal(chi[:2], n)[0]))


@pytest.mark.parametrize(
    "a, b, behaviour, kind, in_range",
    [
        (0.2, 92.3, "UCST", "UCST", True),  # χ falls with T: demixes on cooling
        (1.0, -150.0, "LCST", "LCST", True),  # χ rises with T: demixes on heating
        (0.2, -50.0, "always miscible", None, False),
        (0.7, 10.0, "never miscible", None, False),
        (0.2, 2000.0, "never miscible", "UCST", False),  # UCST far above the range
        (0.2, 10.0, "always miscible", "UCST", False),  # UCST far below the range
        (0.3, 0.0, "always miscible", None, False),
        (0.9, 0.0, "never miscible", None, False),
    ],
)
def test_critical_temperature_cases(a, b, behaviour, kind, in_range):
    n = 1000
    result = critical_temperature(a, b, n, 273.15, 423.15)
    assert (result.behaviour, result.kind, result.in_range) == (behaviour, kind, in_range)
    if result.temperature_k is not None:
        assert a + b / result.temperature_k == pytest.approx(critical_chi(n), abs=1e-12)
    assert result.describe()


def test_miscibility_probability():
    n = 1000
    chi_c = critical_chi(n)
    assert miscibility_probability(chi_c, 0.05, n) == pytest.approx(0.5)
    assert miscibility_probability(chi_c - 0.05, 0.05, n) == pytest.approx(0.841344746, abs=1e-8)
    assert miscibility_probability(chi_c + 0.05, 0.05, n) == pytest.approx(1 - 0.841344746, abs=1e-8)
    assert miscibility_probability(chi_c - 0.01, 0.0, n) == 1.0 and miscibility_probability(chi_c + 0.01, 0.0, n) == 0.0
    p = miscibility_probability(np.linspace(0, 1, 11), np.full(11, 0.1), n)
    assert p.shape == (11,) and np.all(np.diff(p) < 0)


@pytest.mark.parametrize("bad", [0, -5, "abc", "", float("nan"), float("inf"), 0.5, None])
def test_bad_chain_lengths_are_refused(bad):
    with pytest.raises(InvalidChainLengthError):
        check_chain_length(bad)


def test_chain_length_accepts_numbers_and_numeric_text():
    assert check_chain_length("1e5") == 1e5 and check_chain_length(1) == 1.0 and check_chain_length(" 250 ") == 250.0
    assert math.isclose(critical_chi(check_chain_length("4")), 1.125)
