"""Regenerate tests/data/tiny_model/: an untrained 3-member ensemble with the real graph signature.

The runtime tests read the committed copy, so they run without torch (`make test-runtime`).
It is written by the training exporter itself (chi_lite_train.export.write_artifact), so after a
change to the exported graph one command brings it up to date:

    make tiny-model        (= .venv/bin/python tests/make_tiny_model.py)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

TINY_MODEL_DIR = Path(__file__).resolve().parent / "data" / "tiny_model"
TINY_POLYMER_DESCRIPTORS = ["MolWt", "TPSA", "NumHDonors", "km_frac_O", "km_mean_crippen_logp"]
TINY_SOLVENT_DESCRIPTORS = ["MolWt", "TPSA", "MolLogP", "km_frac_Cl"]


def build_tiny_ensemble():
    """The untrained ensemble and its descriptor vocabulary, the same on every call (seed 0)."""
    import rdkit
    import torch

    from chi_lite.config import FeaturizerConfig
    from chi_lite_train.model import ChiEnsemble, DescriptorScaler, SphereNet

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocabulary = FeaturizerConfig(TINY_POLYMER_DESCRIPTORS, TINY_SOLVENT_DESCRIPTORS, rdkit_version=rdkit.__version__)
    p_scaler = DescriptorScaler(rng.uniform(1, 100, size=(20, len(TINY_POLYMER_DESCRIPTORS))))
    s_scaler = DescriptorScaler(rng.uniform(1, 100, size=(20, len(TINY_SOLVENT_DESCRIPTORS))))
    members = [SphereNet(len(TINY_POLYMER_DESCRIPTORS), len(TINY_SOLVENT_DESCRIPTORS), latent=2) for _ in range(3)]
    ensemble = ChiEnsemble(p_scaler, s_scaler, members, chi_mean=0.7, chi_scale=0.6).eval()
    return ensemble, vocabulary


def write_tiny_model(out_dir: Path):
    """Export the tiny ensemble to out_dir exactly as `chi-lite-train fit` exports the real one."""
    from chi_lite_train.export import write_artifact

    ensemble, vocabulary = build_tiny_ensemble()
    write_artifact(ensemble, vocabulary, out_dir, training={"tiny": True}, data={}, metrics={})
    return ensemble


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else TINY_MODEL_DIR
    if out.exists():
        for item in out.iterdir():  # only the files a previous run wrote: the directory is ours
            item.unlink()
    write_tiny_model(out)
    print(f"wrote {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
