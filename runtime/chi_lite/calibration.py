"""Fit one polymer's solubility sphere (u_p, r_p per member) to a handful of lab tests.

Why a MAP fit: the structure-based embedding is a good guess that a few tests should
nudge and many tests should override. The loss of member k is

    ½ Σ_χ-rows ((χ_k − χ_obs) / σ)²  +  Σ_soluble-rows BCE(logit_k, y)  +  ½ λ ‖θ_k − θ0_k‖²

with θ_k = (u_p, r_p) of member k, the solvents' embeddings fixed, σ the χ noise and λ the
prior strength. Members are fitted independently, so the ensemble keeps its spread.
Minimised by Levenberg–Marquardt on the Gauss–Newton Hessian (2Z parameters per member),
vectorised over members: numpy only, milliseconds for twenty tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .factorized import HeadWeights, head_outputs

# χ noise σ: two literature sources for the same pair and temperature disagree by RMSE ≈ 0.15.
CHI_NOISE = 0.15
# Prior strength λ (per embedding coordinate, in the loss above). Chosen by the few-shot
# protocol on split seed 1 (chi-lite-train fewshot; train/reports/fewshot.json "tuning": lowest
# mean held-out χ RMSE over k = 1, 3, 5, 10 among 1…1000); split seed 0 is the one reported.
# Weaker priors fit three or more tests slightly better but let a single test do harm.
PRIOR_STRENGTH = 100.0
MAX_ITERATIONS = 60


# ---- the head: the one place that knows how (polymer, solvent, T) become χ and the logit -------
# The lead may switch this to the model's shared head function at merge: the fit needs per-member
# χ and miscibility logit and their derivatives with respect to z0 = (u_p − u_s)² − r_p² − r_s².

def head_with_gradients(
    head: HeadWeights, polymer: np.ndarray, solvents: np.ndarray, tau: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-member χ (n, K), logit (n, K) (factorized.head_outputs) and their gradients with respect to z0 (n, K, Z).

    ``polymer`` (K, 2Z), ``solvents`` (n, K, 2Z), ``tau`` = T_REF / T (n,).
    """
    out = head_outputs(head, polymer, solvents, head.t_ref / np.asarray(tau, dtype=np.float64))
    w = head.weight.astype(np.float64)  # (K, 5, Z)
    dchi = head.chi_scale * (w[None, :, 0, :] + tau[:, None, None] * w[None, :, 1, :])  # (n, K, Z)
    dlogit = np.broadcast_to(w[None, :, 4, :], dchi.shape)
    return out.chi, out.logit, dchi, dlogit


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function without overflow for large |x|."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


# ---- the fit ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FitResult:
    """The fitted embedding (K, 2Z) and how the optimiser ended."""

    embedding: np.ndarray
    iterations: int
    loss_before: np.ndarray  # (K,)
    loss_after: np.ndarray  # (K,)


def _loss_and_system(head, theta, prior, solvents, tau, chi_obs, soluble, strength, noise):
    """Per-member loss (K,), gradient (K, 2Z) and Gauss–Newton Hessian (K, 2Z, 2Z)."""
    z = theta.shape[1] // 2
    chi, logit, dchi, dlogit = head_with_gradients(head, theta, solvents, tau)
    up, rp = theta[None, :, :z], theta[None, :, z:]
    dz_du = 2.0 * (up - solvents[..., :z])  # (n, K, Z)
    dz_dr = np.broadcast_to(-2.0 * rp, dz_du.shape)
    delta = theta - prior
    weights = np.broadcast_to(np.asarray(strength, dtype=np.float64), (2 * z,))  # per coordinate: u_p then r_p
    loss = 0.5 * np.sum(weights * delta**2, axis=1)
    grad = weights * delta
    hess = np.broadcast_to(np.diag(weights), (theta.shape[0], 2 * z, 2 * z)).copy()
    has_chi = ~np.isnan(chi_obs)
    if has_chi.any():
        jac = np.concatenate([dchi * dz_du, dchi * dz_dr], axis=2)[has_chi] / noise  # (m, K, 2Z)
        residual = (chi[has_chi] - chi_obs[has_chi, None]) / noise  # (m, K)
        loss += 0.5 * np.sum(residual**2, axis=0)
        grad += np.einsum("mk,mkp->kp", residual, jac)
        hess += np.einsum("mkp,mkq->kpq", jac, jac)
    has_sol = ~np.isnan(soluble)
    if has_sol.any():
        jac = np.concatenate([dlogit * dz_du, dlogit * dz_dr], axis=2)[has_sol]
        s = logit[has_sol]
        y = soluble[has_sol, None]
        loss += np.sum(np.logaddexp(0.0, s) - y * s, axis=0)  # BCE with logits, stable
        p = sigmoid(s)
        grad += np.einsum("mk,mkp->kp", p - y, jac)
        hess += np.einsum("mk,mkp,mkq->kpq", p * (1 - p), jac, jac)
    return loss, grad, hess


def fit_embedding(
    head: HeadWeights,
    prior: np.ndarray,
    solvents: np.ndarray,
    temperature_k: np.ndarray,
    chi: np.ndarray,
    soluble: np.ndarray,
    *,
    strength: float = PRIOR_STRENGTH,
    noise: float = CHI_NOISE,
) -> FitResult:
    """MAP embedding of one polymer (K, 2Z) from tests against fixed solvent embeddings (n, K, 2Z).

    ``chi`` and ``soluble`` (1/0) are (n,) with NaN where a row has no such measurement.
    """
    if np.any(np.asarray(strength) <= 0) or noise <= 0:
        raise ValueError("prior strength and χ noise must be positive")
    prior = np.asarray(prior, dtype=np.float64)
    solvents = np.asarray(solvents, dtype=np.float64)
    tau = head.t_ref / np.asarray(temperature_k, dtype=np.float64)
    chi = np.asarray(chi, dtype=np.float64)
    soluble = np.asarray(soluble, dtype=np.float64)
    args = (solvents, tau, chi, soluble, strength, noise)
    theta = prior.copy()
    loss, grad, hess = _loss_and_system(head, theta, prior, *args)
    before = loss.copy()
    damping = np.full(len(theta), 1e-3)
    eye = np.eye(theta.shape[1])
    iterations = 0
    for iterations in range(1, MAX_ITERATIONS + 1):
        scale = np.einsum("kpp->kp", hess)[:, :, None] * eye  # Marquardt: damp along the Hessian's diagonal
        step = np.linalg.solve(hess + damping[:, None, None] * (scale + eye), grad[..., None])[..., 0]
        trial = theta - step
        trial_loss, trial_grad, trial_hess = _loss_and_system(head, trial, prior, *args)
        better = trial_loss < loss
        theta = np.where(better[:, None], trial, theta)
        improvement = np.where(better, loss - trial_loss, 0.0)
        loss = np.where(better, trial_loss, loss)
        grad = np.where(better[:, None], trial_grad, grad)
        hess = np.where(better[:, None, None], trial_hess, hess)
        damping = np.where(better, damping / 3.0, damping * 4.0)
        if np.all((better & (improvement <= 1e-10 * (1.0 + loss))) | (damping > 1e8)):
            break
    return FitResult(embedding=theta, iterations=iterations, loss_before=before, loss_after=loss)


def predict_members(head: HeadWeights, polymer: np.ndarray, solvents: np.ndarray, temperature_k: np.ndarray):
    """Per-member χ and miscibility logit (n, K) of one polymer embedding against solvent embeddings."""
    tau = head.t_ref / np.asarray(temperature_k, dtype=np.float64)
    chi, logit, _, _ = head_with_gradients(head, np.asarray(polymer, np.float64), np.asarray(solvents, np.float64), tau)
    return chi, logit
