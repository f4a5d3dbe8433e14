"""The multitask network of Aoki et al. (2023) and the ensemble that is exported.

All preprocessing is held in buffers, so the exported graph maps raw descriptor
vectors and a temperature in kelvin straight to χ.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from chi_lite.contract import T_REF

N_HEAD_OUTPUTS = 5  # A_exp, B_exp, A_cosmo, B_cosmo, miscibility logit
CLIP = 6.0  # standardized descriptors beyond ±CLIP are out of domain; clamp them


def signed_log1p(x: torch.Tensor) -> torch.Tensor:
    """Tames heavy-tailed counts and weights while keeping small values nearly unchanged."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


class DescriptorScaler(nn.Module):
    """signed log1p, then standardization with training statistics; NaN → 0, clamped."""

    def __init__(self, raw: np.ndarray) -> None:
        super().__init__()
        transformed = np.sign(raw) * np.log1p(np.abs(raw))
        mean = transformed.mean(axis=0)
        std = transformed.std(axis=0)
        std[std < 1e-8] = 1.0
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (signed_log1p(x) - self.mean) / self.std
        z = torch.where(torch.isnan(z), torch.zeros_like(z), z)
        return torch.clamp(z, -CLIP, CLIP)


ACTIVATIONS = {"sigmoid": nn.Sigmoid, "silu": nn.SiLU}

# Hansen–Flory–Huggins estimate (issue 10): χ_H(T) = 0.34 + V_s·R_a²/(R·T), from the featurizer's
# group-contribution δ (gc_*). Its enthalpic part at T_REF, h = V_s·R_a²/(R·T_REF), enters the head
# as a pair input ("input") or as a baseline the network corrects ("baseline").
HANSEN_CHI_MODES = ("off", "input", "baseline")
POLYMER_GC = ("gc_delta_d", "gc_delta_p", "gc_delta_h", "gc_coverage")
SOLVENT_GC = ("gc_delta_d", "gc_delta_p", "gc_delta_h", "gc_coverage", "gc_molar_volume")
GAS_CONSTANT_J = 8.314462618  # J/(mol K); δ² in MPa = J/cm³, V in cm³/mol
CHI_H_CAP = 3.0  # χ units: beyond this the estimate only says "non-solvent"


def hansen_chi_excess(polymer_gc: torch.Tensor, solvent_gc: torch.Tensor) -> torch.Tensor:
    """(h, known) per pair: h = V_s·(4ΔδD² + ΔδP² + ΔδH²)/(R·T_REF), capped; 0 where a group is uncovered.

    ``polymer_gc`` (N, 4) and ``solvent_gc`` (N, 5) are raw columns in POLYMER_GC / SOLVENT_GC order.
    """
    d = polymer_gc[:, :3] - solvent_gc[:, :3]
    ra2 = 4.0 * d[:, 0] ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2
    known = ((polymer_gc[:, 3] >= 0.999) & (solvent_gc[:, 3] >= 0.999)).to(ra2.dtype)
    h = torch.clamp(solvent_gc[:, 4] * ra2 / (GAS_CONSTANT_J * T_REF), 0.0, CHI_H_CAP)
    return h * known, known


def encoder(width_in: int, latent: int, activation: str = "sigmoid") -> nn.Sequential:
    """Three hidden layers (the paper's sigmoid, or SiLU) narrowing linearly from the input width to 2·Z."""
    widths = np.linspace(width_in, 2 * latent, 5).round().astype(int).tolist()
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-2], widths[1:-1]):
        layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
    layers.append(nn.Linear(widths[-2], 2 * latent))
    return nn.Sequential(*layers)


class SphereNet(nn.Module):
    """One ensemble member, on standardized inputs and standardized χ.

    Each molecule is a point u with a radius r in a Z-dimensional
    "generalized solubility sphere" space; z0 = (u_p − u_s)² − r_p² − r_s²
    measures how far apart the spheres are, and a linear head reads the tasks off it.
    """

    def __init__(self, n_polymer: int, n_solvent: int, latent: int, activation: str = "sigmoid",
                 hansen_chi: str = "off", chi_scale: float = 1.0) -> None:
        super().__init__()
        self.latent = latent
        self.hansen_chi = hansen_chi
        self.polymer_encoder = encoder(n_polymer, latent, activation)
        self.solvent_encoder = encoder(n_solvent, latent, activation)
        self.head = nn.Linear(latent + (2 if hansen_chi == "input" else 0), N_HEAD_OUTPUTS)
        self.chi_scale = float(chi_scale)  # χ_H baseline → standardized head units

    def embed_polymer(self, xp: torch.Tensor) -> torch.Tensor:
        return self.polymer_encoder(xp)

    def embed_solvent(self, xs: torch.Tensor) -> torch.Tensor:
        return self.solvent_encoder(xs)

    def pair_head(self, ep: torch.Tensor, es: torch.Tensor, hansen: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Head outputs; ``hansen`` = (h, known) per pair when the model uses χ_H."""
        z = self.latent
        up, rp = ep[:, :z], ep[:, z:]
        us, rs = es[:, :z], es[:, z:]
        z0 = (up - us) ** 2 - rp**2 - rs**2
        if self.hansen_chi == "input":
            z0 = torch.cat([z0, hansen[0].unsqueeze(1), hansen[1].unsqueeze(1)], dim=1)
        out = self.head(z0)
        if self.hansen_chi == "baseline":  # χ += h·T_REF/T: the 1/T coefficients of both χ tasks
            shift = hansen[0] / self.chi_scale
            zero = torch.zeros_like(shift)
            out = out + torch.stack([zero, shift, zero, shift, zero], dim=1)
        return out

    def forward(self, xp: torch.Tensor, xs: torch.Tensor, hansen=None) -> torch.Tensor:
        return self.pair_head(self.embed_polymer(xp), self.embed_solvent(xs), hansen)


class Novelty(nn.Module):
    """Distance of standardized descriptors to the nearest χ-training molecule (RMS per descriptor).

    Why: the ensemble spread alone is overconfident on molecules unlike the training ones;
    the calibrated σ (chi_lite.uncertainty) grows with this distance.
    """

    def __init__(self, reference: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("reference", reference.to(torch.float32))  # (M, D), already standardized
        self.register_buffer("reference_sq", (reference.to(torch.float32) ** 2).sum(dim=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        d2 = (z**2).sum(dim=1, keepdim=True) - 2.0 * z @ self.reference.T + self.reference_sq
        return torch.sqrt(torch.clamp(d2.min(dim=1).values, min=0.0) / z.shape[1])


class ChiEnsemble(nn.Module):
    """The exported model: raw descriptors + T [K] → χ mean, ensemble spread, A, B, p_miscible, novelties."""

    def __init__(
        self,
        polymer_scaler: DescriptorScaler,
        solvent_scaler: DescriptorScaler,
        members: list[SphereNet],
        chi_mean: float,
        chi_scale: float,
        polymer_reference: torch.Tensor | None = None,
        solvent_reference: torch.Tensor | None = None,
        gc_columns: tuple[list[int], list[int]] | None = None,
    ) -> None:
        """``*_reference``: the χ-training molecules' standardized descriptors (default: one row at the mean)."""
        super().__init__()
        self.polymer_scaler = polymer_scaler
        self.solvent_scaler = solvent_scaler
        self.polymer_novelty = Novelty(polymer_reference if polymer_reference is not None else torch.zeros(1, len(polymer_scaler.mean)))
        self.solvent_novelty = Novelty(solvent_reference if solvent_reference is not None else torch.zeros(1, len(solvent_scaler.mean)))
        self.members = nn.ModuleList(members)
        self.register_buffer("chi_mean", torch.tensor(chi_mean, dtype=torch.float32))
        self.register_buffer("chi_scale", torch.tensor(chi_scale, dtype=torch.float32))
        self.register_buffer("t_ref", torch.tensor(T_REF, dtype=torch.float32))
        # Raw-input columns of POLYMER_GC / SOLVENT_GC (only when the members use χ_H).
        self.gc_columns = gc_columns

    def _hansen(self, polymer: torch.Tensor, solvent: torch.Tensor):
        if self.gc_columns is None:
            return None
        return hansen_chi_excess(polymer[:, self.gc_columns[0]], solvent[:, self.gc_columns[1]])

    def member_heads(self, polymer: torch.Tensor, solvent: torch.Tensor) -> torch.Tensor:
        """Raw head outputs of every member, shape (members, batch, 5)."""
        xp, xs = self.polymer_scaler(polymer), self.solvent_scaler(solvent)
        hansen = self._hansen(polymer, solvent)
        return torch.stack([m(xp, xs, hansen) for m in self.members])

    def member_coefficients(self, polymer: torch.Tensor, solvent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A and B of χ = A + B/T for every member, shape (members, batch)."""
        return self._coefficients(self.member_heads(polymer, solvent))

    def _coefficients(self, heads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.chi_mean + self.chi_scale * heads[..., 0]
        b = self.chi_scale * self.t_ref * heads[..., 1]
        return a, b

    def forward(self, polymer: torch.Tensor, solvent: torch.Tensor, temperature_k: torch.Tensor):
        """χ mean, spread, mean A and B, p_miscible = mean over members of sigmoid(logit), novelties."""
        xp, xs = self.polymer_scaler(polymer), self.solvent_scaler(solvent)
        hansen = self._hansen(polymer, solvent)
        heads = torch.stack([m(xp, xs, hansen) for m in self.members])
        a, b = self._coefficients(heads)
        chi = a + b / temperature_k.unsqueeze(0)
        mean = chi.mean(dim=0)
        # Sample standard deviation across members (0 for a single member): the raw spread;
        # the runtime turns it into a calibrated σ (chi_lite.uncertainty).
        spread = torch.sqrt(((chi - mean) ** 2).sum(dim=0) / max(len(self.members) - 1, 1))
        p_miscible = torch.sigmoid(heads[..., 4]).mean(dim=0)
        return mean, spread, a.mean(dim=0), b.mean(dim=0), p_miscible, self.polymer_novelty(xp), self.solvent_novelty(xs)
