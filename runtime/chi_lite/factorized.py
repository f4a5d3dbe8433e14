"""Factorized inference: encode each molecule once, then score pairs with the small head.

Why it is fast: for member k the head reads z0 = (u_p − u_s)² − r_p² − r_s², so
for a fixed polymer and temperature

    χ_k = c_k + Σ_d w_kd (u_s,d² − r_s,d²) − 2 Σ_d w_kd u_p,d u_s,d

is linear in the solvent features f_s = [u_s² − r_s², u_s]. Scoring a block of
cached solvents is one (N, K·2Z) × (K·2Z, K) matrix product plus a mean and a
standard deviation over the K members: no descriptors, no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import contract
from .artifact import Artifact
from .contract import GRAPH_ROLES
from .errors import ArtifactError
from .uncertainty import calibrated_std, is_calibrated



def solvent_features(embedding: np.ndarray, novelty: np.ndarray | None = None) -> np.ndarray:
    """Stacked solvent embeddings (N, K, 2Z) → linear-head features (N, K·2Z [+1]), float32.

    [u² − r², u] per member: the head needs r only as r², so this is all of the
    solvent that screening needs, and it is what the embedding caches hold. With a
    calibrated model the solvent's novelty rides along as a last column (the linear
    head gives it weight 0; the scorer reads it for the calibrated σ).
    """
    n, k, width = embedding.shape
    z = width // 2
    u, r = embedding[..., :z].astype(np.float32), embedding[..., z:].astype(np.float32)
    out = np.empty((n, k, width), dtype=np.float32)
    np.subtract(u * u, r * r, out=out[..., :z])
    out[..., z:] = u
    flat = out.reshape(n, k * width)
    if novelty is None:
        return flat
    return np.concatenate([flat, np.asarray(novelty, dtype=np.float32).reshape(n, 1)], axis=1)


@dataclass(frozen=True)
class HeadWeights:
    """The pair head of every member, read from pair_head.npz."""

    weight: np.ndarray  # (K, 5, Z)
    bias: np.ndarray  # (K, 5)
    chi_mean: float
    chi_scale: float
    t_ref: float

    @property
    def members(self) -> int:
        return self.weight.shape[0]


@dataclass(frozen=True)
class MemberOutputs:
    """Every member's head outputs for a batch of pairs, each (N, K)."""

    A: np.ndarray  # χ = A + B / T (experimental-χ task)
    B: np.ndarray  # kelvin
    chi: np.ndarray  # at the given temperatures
    logit: np.ndarray  # miscibility logit; p_miscible = mean over members of sigmoid(logit)


def head_outputs(head: HeadWeights, polymer_embedding: np.ndarray, solvent_embedding: np.ndarray,
                 temperature_k: np.ndarray | float) -> MemberOutputs:
    """The pair head in numpy, per member: the one place its math lives at run time.

    Embeddings are (N, K, 2Z) (or (K, 2Z) for one pair, broadcast against the other);
    the exported pair_head graph computes the same (tests/test_factorized.py). Calibration
    (fitting a polymer's embedding to lab tests) differentiates through this function.
    """
    z = head.weight.shape[2]
    ep = np.asarray(polymer_embedding, dtype=np.float64)
    es = np.asarray(solvent_embedding, dtype=np.float64)
    up, rp, us, rs = ep[..., :z], ep[..., z:], es[..., :z], es[..., z:]
    z0 = (up - us) ** 2 - rp**2 - rs**2  # (N, K, Z)
    heads = np.einsum("...kz,koz->...ko", z0, head.weight.astype(np.float64)) + head.bias  # (N, K, 5)
    a = head.chi_mean + head.chi_scale * heads[..., 0]
    b = head.chi_scale * head.t_ref * heads[..., 1]
    t = np.asarray(temperature_k, dtype=np.float64)
    chi = a + b / (t[..., None] if t.ndim else t)
    return MemberOutputs(A=a, B=b, chi=chi, logit=heads[..., 4])


BLOCK_ROWS = 65536  # rows per matrix product: keeps the temporaries in cache


@dataclass(frozen=True)
class PolymerScorer:
    """χ, σ and p_miscible of one polymer at one temperature against blocks of solvent features."""

    chi_coefficients: np.ndarray  # (K·2Z, K), block diagonal: member k reads only its own features
    chi_offsets: np.ndarray  # (K,)
    logit_coefficients: np.ndarray  # (K·2Z, K): the miscibility logits, same layout
    logit_offsets: np.ndarray  # (K,)
    members: int
    polymer_novelty: float = 0.0
    uncertainty: dict | None = None  # calibrated σ (the features' last column is the solvent novelty)

    def score(self, features: np.ndarray, with_p: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """features (N, K·2Z [+1]) → χ mean, χ std and p_miscible (None unless ``with_p``), each (N,).

        χ std is the calibrated σ (chi_lite.uncertainty) when the model has one, else the ensemble spread (ddof 1).
        """
        n, k = len(features), self.members
        mean = np.empty(n, dtype=np.float32)
        std = np.empty(n, dtype=np.float32)
        p = np.empty(n, dtype=np.float32) if with_p else None
        for start in range(0, n, BLOCK_ROWS):
            block = features[start : start + BLOCK_ROWS]
            chi = block @ self.chi_coefficients
            chi += self.chi_offsets
            m = chi.mean(axis=1)
            mean[start : start + len(block)] = m
            if k > 1:
                chi -= m[:, None]
                std[start : start + len(block)] = np.sqrt(np.einsum("nk,nk->n", chi, chi) / (k - 1))
            else:
                std[start : start + len(block)] = 0.0
            if self.uncertainty:
                spread = std[start : start + len(block)]
                spread[:] = calibrated_std(spread, self.polymer_novelty, block[:, -1], self.uncertainty)
            if p is not None:
                logits = block @ self.logit_coefficients
                logits += self.logit_offsets
                p[start : start + len(block)] = (1.0 / (1.0 + np.exp(-logits))).mean(axis=1)
        return mean, std, p


def polymer_scorer(head: HeadWeights, polymer_embedding: np.ndarray, temperature_k: float,
                   polymer_novelty: float = 0.0, uncertainty: dict | None = None) -> PolymerScorer:
    """Fold a polymer's embedding (K, 2Z) and a temperature into the linear scorer.

    With ``uncertainty`` (a calibrated model) the features carry the solvent novelty as a last
    column: the coefficient matrices get a zero row for it.
    """
    k, _, z = head.weight.shape
    up, rp = polymer_embedding[:, :z].astype(np.float64), polymer_embedding[:, z:].astype(np.float64)
    w = head.weight.astype(np.float64)
    b = head.bias.astype(np.float64)
    const = b + np.einsum("koz,kz->ko", w, up * up - rp * rp)  # (K, 5)
    tau = head.t_ref / temperature_k
    w_chi = head.chi_scale * (w[:, 0] + tau * w[:, 1])  # (K, Z)
    c_chi = head.chi_mean + head.chi_scale * (const[:, 0] + tau * const[:, 1])
    w_mis = w[:, 4]
    chi_coefficients = np.zeros((k, 2 * z, k))
    logit_coefficients = np.zeros((k, 2 * z, k))
    for m in range(k):
        chi_coefficients[m, :z, m] = w_chi[m]
        chi_coefficients[m, z:, m] = -2.0 * w_chi[m] * up[m]
        logit_coefficients[m, :z, m] = w_mis[m]
        logit_coefficients[m, z:, m] = -2.0 * w_mis[m] * up[m]
    extra = 1 if uncertainty else 0
    chi_coefficients = np.vstack([chi_coefficients.reshape(k * 2 * z, k), np.zeros((extra, k))])
    logit_coefficients = np.vstack([logit_coefficients.reshape(k * 2 * z, k), np.zeros((extra, k))])
    return PolymerScorer(
        chi_coefficients=chi_coefficients.astype(np.float32),
        chi_offsets=c_chi.astype(np.float32),
        logit_coefficients=logit_coefficients.astype(np.float32),
        logit_offsets=const[:, 4].astype(np.float32),
        members=k,
        polymer_novelty=float(polymer_novelty),
        uncertainty=uncertainty,
    )


class FactorizedModel:
    """The encoders and the pair head of one artifact, run separately."""

    def __init__(self, artifact: Artifact, threads: int | None = None) -> None:
        graphs = artifact.manifest.graphs
        missing = [r for r in GRAPH_ROLES if r not in graphs]
        if missing:
            raise ArtifactError(
                f"the model in {artifact.directory} has no factorized graphs ({', '.join(missing)}): "
                "it was exported by an older chi-lite; retrain it (make train) to screen libraries"
            )
        directory = artifact.directory
        self._artifact, self._threads = artifact, threads
        self.polymer_session = self._encoder(artifact, "polymer_encoder", contract.POLYMER_INPUT, threads)
        self.solvent_session = self._encoder(artifact, "solvent_encoder", contract.SOLVENT_INPUT, threads)
        uncertainty = artifact.manifest.uncertainty
        self.uncertainty = dict(uncertainty) if is_calibrated(uncertainty) else None
        with np.load(directory / graphs["pair_head_weights"], allow_pickle=False) as data:
            missing_keys = [key for key in contract.HEAD_KEYS if key not in data.files]
            if missing_keys:
                raise ArtifactError(f"{graphs['pair_head_weights']} lacks {', '.join(missing_keys)}: retrain (make train)")
            self.head = HeadWeights(
                weight=data["weight"], bias=data["bias"], chi_mean=float(data["chi_mean"]),
                chi_scale=float(data["chi_scale"]), t_ref=float(data["t_ref"]),
            )

    @staticmethod
    def _encoder(artifact: Artifact, role: str, input_name: str, threads: int | None):
        """The encoder graph of ``role``, refused when it reads another input (roles swapped in the manifest)."""
        name = artifact.manifest.graphs[role]
        session = artifact.open_graph(name, threads)
        found = [i.name for i in session.get_inputs()]
        if found != [input_name]:
            raise ArtifactError(
                f"{artifact.manifest_path} lists {name} as the {role}, but it reads {', '.join(found)} "
                f"(expected {input_name}): the graph roles are mixed up; reinstall or retrain"
            )
        return session

    @property
    def feature_width(self) -> int:
        """Length of a solvent's linear-head feature vector: K members × 2Z."""
        k, _, z = self.head.weight.shape
        return k * 2 * z + (1 if self.uncertainty else 0)

    def embed_polymers(self, descriptors: np.ndarray) -> np.ndarray:
        """(N, P) raw descriptors → (N, K, 2Z)."""
        return self.encode_polymers(descriptors)[0]

    def polymer_novelty(self, descriptors: np.ndarray) -> np.ndarray:
        """(N, P) raw descriptors → (N,) distance to the nearest χ-training polymer (0 for older models)."""
        return self.encode_polymers(descriptors)[1]

    def encode_polymers(self, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, P) raw descriptors → embeddings (N, K, 2Z) and novelties (N,) in one encoder run (0 for older models)."""
        outputs = self.polymer_session.run(None, {contract.POLYMER_INPUT: descriptors.astype(np.float32)})
        return outputs[0], outputs[1] if len(outputs) > 1 else np.zeros(len(descriptors), dtype=np.float32)

    def embed_solvents(self, descriptors: np.ndarray) -> np.ndarray:
        """(N, S) raw descriptors → (N, K, 2Z)."""
        return self.encode_solvents(descriptors)[0]

    def encode_solvents(self, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, S) raw descriptors → embeddings (N, K, 2Z) and novelties (N,) in one encoder run (0 for older models)."""
        outputs = self.solvent_session.run(None, {contract.SOLVENT_INPUT: descriptors.astype(np.float32)})
        return outputs[0], outputs[1] if len(outputs) > 1 else np.zeros(len(descriptors), dtype=np.float32)

    def solvent_features(self, descriptors: np.ndarray) -> np.ndarray:
        """(N, S) raw descriptors → the features screening caches and scores (novelty last when calibrated)."""
        embedding, novelty = self.encode_solvents(descriptors)
        return solvent_features(embedding, novelty if self.uncertainty else None)

    @cached_property
    def head_session(self):
        """The exported head graph, built on first use: screening scores with the numpy path instead."""
        return self._artifact.open_graph(self._artifact.manifest.graphs["pair_head"], self._threads)

    def pair_head(self, polymer_embedding: np.ndarray, solvent_embedding: np.ndarray, temperature_k: np.ndarray):
        """chi, spread, A, B, p_miscible through the exported head graph (the reference for the numpy path)."""
        return self.head_session.run(
            None,
            {
                contract.POLYMER_EMBEDDING: polymer_embedding.astype(np.float32),
                contract.SOLVENT_EMBEDDING: solvent_embedding.astype(np.float32),
                contract.TEMPERATURE_INPUT: np.asarray(temperature_k, dtype=np.float32),
            },
        )

    def scorer(self, polymer_embedding: np.ndarray, temperature_k: float, polymer_novelty: float = 0.0) -> PolymerScorer:
        return polymer_scorer(self.head, polymer_embedding, temperature_k, polymer_novelty, self.uncertainty)
