"""The ensemble split into three graphs so that a pair costs only the small head.

polymer_encoder.onnx   polymer_descriptors (N, P) → polymer_embedding (N, K, 2Z), polymer_novelty (N)
solvent_encoder.onnx   solvent_descriptors (N, S) → solvent_embedding (N, K, 2Z), solvent_novelty (N)
pair_head.onnx         both embeddings + temperature_k (N) → chi, chi_spread, A, B, p_miscible

The descriptor scalers sit inside the encoders and the target scaling inside the
head, exactly as in the whole-model graph, so composing the three gives the same
numbers. ``pair_head.npz`` holds the head's weights for the runtime's numpy
screening path (χ for a fixed polymer and temperature is linear in features of
the solvent embedding; see chi_lite.factorized).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .model import ChiEnsemble

from chi_lite import contract
from chi_lite.contract import HEAD_WEIGHTS_FILE, OPSET, PAIR_HEAD_FILE, POLYMER_ENCODER_FILE, SOLVENT_ENCODER_FILE, T_REF

PAIR_HEAD_OUTPUTS = list(contract.HEAD_OUTPUTS)


class _Encoder(nn.Module):
    """Raw descriptors → every member's embedding, stacked as (N, K, 2Z)."""

    def __init__(self, ensemble: ChiEnsemble, role: str) -> None:
        super().__init__()
        self.scaler = ensemble.polymer_scaler if role == "polymer" else ensemble.solvent_scaler
        self.novelty = ensemble.polymer_novelty if role == "polymer" else ensemble.solvent_novelty
        self.encoders = nn.ModuleList(m.polymer_encoder if role == "polymer" else m.solvent_encoder for m in ensemble.members)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.scaler(x)
        return torch.stack([e(z) for e in self.encoders], dim=1), self.novelty(z)


class _PairHead(nn.Module):
    """Two stacked embeddings + T [K] → the ensemble's χ mean, σ, A, B and p_miscible."""

    def __init__(self, ensemble: ChiEnsemble) -> None:
        super().__init__()
        self.latent = ensemble.members[0].latent
        self.register_buffer("weight", torch.stack([m.head.weight.detach() for m in ensemble.members]))  # (K, 5, Z)
        self.register_buffer("bias", torch.stack([m.head.bias.detach() for m in ensemble.members]))  # (K, 5)
        self.chi_mean, self.chi_scale, self.t_ref = ensemble.chi_mean, ensemble.chi_scale, ensemble.t_ref
        self.n_members = len(ensemble.members)

    def forward(self, polymer_embedding: torch.Tensor, solvent_embedding: torch.Tensor, temperature_k: torch.Tensor):
        z = self.latent
        up, rp = polymer_embedding[..., :z], polymer_embedding[..., z:]
        us, rs = solvent_embedding[..., :z], solvent_embedding[..., z:]
        z0 = (up - us) ** 2 - rp**2 - rs**2  # (N, K, Z)
        heads = torch.einsum("nkz,koz->nko", z0, self.weight) + self.bias  # (N, K, 5)
        a = self.chi_mean + self.chi_scale * heads[..., 0]
        b = self.chi_scale * self.t_ref * heads[..., 1]
        chi = a + b / temperature_k.unsqueeze(1)
        mean = chi.mean(dim=1)
        std = torch.sqrt(((chi - mean.unsqueeze(1)) ** 2).sum(dim=1) / max(self.n_members - 1, 1))
        p_miscible = torch.sigmoid(heads[..., 4]).mean(dim=1)
        return mean, std, a.mean(dim=1), b.mean(dim=1), p_miscible


def _onnx_export(module: nn.Module, example: tuple, path: Path, inputs: list[str], outputs: list[str]) -> None:
    module.eval()
    with warnings.catch_warnings():  # see export._export: the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )


def export_factorized(ensemble: ChiEnsemble, n_polymer: int, n_solvent: int, out_dir: Path) -> dict[str, str]:
    """Write the three graphs and the head weights; return {role: file name}."""
    out_dir = Path(out_dir)
    n, k, width = 3, len(ensemble.members), 2 * ensemble.members[0].latent
    _onnx_export(_Encoder(ensemble, "polymer"), (torch.zeros(n, n_polymer),), out_dir / POLYMER_ENCODER_FILE,
                 [contract.POLYMER_INPUT], list(contract.POLYMER_ENCODER_OUTPUTS))
    _onnx_export(_Encoder(ensemble, "solvent"), (torch.zeros(n, n_solvent),), out_dir / SOLVENT_ENCODER_FILE,
                 [contract.SOLVENT_INPUT], list(contract.SOLVENT_ENCODER_OUTPUTS))
    head = _PairHead(ensemble)
    example = (torch.zeros(n, k, width), torch.zeros(n, k, width), torch.full((n,), T_REF))
    _onnx_export(head, example, out_dir / PAIR_HEAD_FILE, list(contract.HEAD_INPUTS),
                 PAIR_HEAD_OUTPUTS)
    with open(out_dir / HEAD_WEIGHTS_FILE, "wb") as handle:  # np.savez adds no timestamps: bytes are reproducible
        np.savez(
            handle,
            weight=head.weight.numpy().astype(np.float32),
            bias=head.bias.numpy().astype(np.float32),
            chi_mean=np.float32(head.chi_mean.item()),
            chi_scale=np.float32(head.chi_scale.item()),
            t_ref=np.float32(head.t_ref.item()),
        )
    return dict(contract.GRAPH_FILES)


def composition_error(model_dir: Path, whole_file: str, graphs: dict[str, str], polymer: np.ndarray,
                      solvent: np.ndarray, temperature_k: np.ndarray) -> float:
    """Largest |Δ| between the whole graph and encoder → encoder → head over χ, spread, A, B/T and the novelties.

    B is compared as its share of χ (B/T): B itself is hundreds of kelvin, where
    float32 steps are ~1e-4 K whatever the order of the arithmetic.
    """
    from chi_lite.session import create_session

    def session(name: str):  # built as production builds them
        return create_session(Path(model_dir) / name)

    xp, xs, t = polymer.astype(np.float32), solvent.astype(np.float32), temperature_k.astype(np.float32)
    whole = session(whole_file).run(None, dict(zip(contract.MODEL_INPUTS, (xp, xs, t))))
    ep, novelty_p = session(graphs["polymer_encoder"]).run(None, {contract.POLYMER_INPUT: xp})
    es, novelty_s = session(graphs["solvent_encoder"]).run(None, {contract.SOLVENT_INPUT: xs})
    parts = session(graphs["pair_head"]).run(None, dict(zip(contract.HEAD_INPUTS, (ep, es, t))))
    whole[3], parts[3] = whole[3] / t, parts[3] / t
    parts = parts[:4] + [novelty_p, novelty_s]
    return float(max(np.max(np.abs(w - p)) for w, p in zip(whole[:4] + whole[5:], parts)))
