"""Shared fixtures: where the shared data lives, and a tiny generated model with the real signature."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CHI_LITE_DATA", ROOT.parent / "shared" / "data")).resolve()
SHIPPED = ROOT / "artifacts"

TINY_POLYMER_DESCRIPTORS = ["MolWt", "TPSA", "NumHDonors", "km_frac_O", "km_mean_crippen_logp"]
TINY_SOLVENT_DESCRIPTORS = ["MolWt", "TPSA", "MolLogP", "km_frac_Cl"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "mtl_chi" / "data_Chi.csv").is_file():
        pytest.fail(f"shared data not found at {DATA_DIR}: clone next to ../shared or set CHI_LITE_DATA")
    return DATA_DIR


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """An untrained 3-member ensemble over a handful of descriptors, exported like the real one."""
    import rdkit
    import torch

    from chi_lite.config import FeaturizerConfig
    from chi_lite_train.export import write_artifact
    from chi_lite_train.model import ChiEnsemble, DescriptorScaler, SphereNet

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocabulary = FeaturizerConfig(TINY_POLYMER_DESCRIPTORS, TINY_SOLVENT_DESCRIPTORS, rdkit_version=rdkit.__version__)
    p_scaler = DescriptorScaler(rng.uniform(1, 100, size=(20, len(TINY_POLYMER_DESCRIPTORS))))
    s_scaler = DescriptorScaler(rng.uniform(1, 100, size=(20, len(TINY_SOLVENT_DESCRIPTORS))))
    members = [SphereNet(len(TINY_POLYMER_DESCRIPTORS), len(TINY_SOLVENT_DESCRIPTORS), latent=2) for _ in range(3)]
    ensemble = ChiEnsemble(p_scaler, s_scaler, members, chi_mean=0.7, chi_scale=0.6).eval()
    out = tmp_path_factory.mktemp("tiny_model")
    write_artifact(ensemble, vocabulary, out, training={"tiny": True}, data={}, metrics={})
    torch.save(ensemble, out / "ensemble.pt")  # outside the manifest: lets tests compare with torch
    return out


@pytest.fixture(scope="session")
def tiny_miscible_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with its manifest saying the miscibility head was trained (the graph is the same)."""
    import shutil

    from chi_lite.config import ModelManifest

    out = tmp_path_factory.mktemp("tiny_miscible_model")
    for item in tiny_model_dir.iterdir():
        shutil.copy(item, out / item.name)
    manifest = ModelManifest.load(out)
    manifest.tasks["miscibility"] = True
    manifest.save(out)
    return out
