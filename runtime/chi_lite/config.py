"""The model manifest: one record, written by training and read by the runtime.

Everything needed to turn SMILES into the exact input the ONNX graph expects
lives here, so a model can never be run with other preprocessing than the one
it was trained with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .contract import MANIFEST_FILE as MANIFEST_NAME
MANIFEST_FORMAT = 1
FEATURIZER_VERSION = "1"


@dataclass
class FeaturizerConfig:
    """How molecules become descriptor vectors (the frozen vocabulary)."""

    polymer_descriptors: list[str]
    solvent_descriptors: list[str]
    oligomer_length: int = 10
    hydrogens: str = "implicit"  # descriptors are computed on the heavy-atom graph
    version: str = FEATURIZER_VERSION
    rdkit_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """sha256 of this section as canonical JSON: stamped into the graphs, so the two cannot drift apart."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeaturizerConfig":
        return cls(
            polymer_descriptors=list(data["polymer_descriptors"]),
            solvent_descriptors=list(data["solvent_descriptors"]),
            oligomer_length=int(data.get("oligomer_length", 10)),
            hydrogens=str(data.get("hydrogens", "implicit")),
            version=str(data.get("version", FEATURIZER_VERSION)),
            rdkit_version=str(data.get("rdkit_version", "")),
        )


@dataclass
class ModelManifest:
    """What an artifact directory holds and how it was made."""

    featurizer: FeaturizerConfig
    model_file: str
    inputs: list[str]
    outputs: list[str]
    tasks: dict[str, bool]
    ensemble_size: int
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    # Factorized graphs for screening: role (polymer_encoder, solvent_encoder, pair_head,
    # pair_head_weights) -> file name. Empty for artifacts exported before they existed.
    graphs: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    # The answer layer (chi-lite-train verdict): stacking coefficients, applicability-domain facts.
    verdict: dict[str, Any] = field(default_factory=dict)
    domain: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    format: int = MANIFEST_FORMAT
    # σ = f(ensemble spread, novelties): parameters of chi_lite.uncertainty.calibrated_std, fitted on
    # grouped-CV residuals. Empty for artifacts without calibration (chi_std is then the raw spread).
    uncertainty: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, as written to manifest.json."""
        out = asdict(self)
        out["featurizer"] = self.featurizer.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelManifest":
        """The inverse of to_dict; optional fields default."""
        return cls(
            featurizer=FeaturizerConfig.from_dict(data["featurizer"]),
            model_file=str(data["model_file"]),
            inputs=list(data["inputs"]),
            outputs=list(data["outputs"]),
            tasks=dict(data.get("tasks", {})),
            ensemble_size=int(data.get("ensemble_size", 1)),
            files=dict(data.get("files", {})),
            graphs=dict(data.get("graphs", {})),
            training=dict(data.get("training", {})),
            data=dict(data.get("data", {})),
            metrics=dict(data.get("metrics", {})),
            versions=dict(data.get("versions", {})),
            verdict=dict(data.get("verdict", {})),
            domain=dict(data.get("domain", {})),
            created=str(data.get("created", "")),
            format=int(data.get("format", MANIFEST_FORMAT)),
            uncertainty=dict(data.get("uncertainty", {})),
        )

    def save(self, directory: Path) -> Path:
        """Write manifest.json into ``directory``; returns its path."""
        path = Path(directory) / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> "ModelManifest":
        """Read manifest.json from ``directory`` (unverified: use chi_lite.artifact.load_artifact to check hashes)."""
        path = Path(directory) / MANIFEST_NAME
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
