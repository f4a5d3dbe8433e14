"""Shared fixtures: where the shared data lives, and a tiny committed model with the real signature."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from chi_lite.config import ModelManifest

from .make_tiny_model import TINY_MODEL_DIR, write_tiny_model

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CHI_LITE_DATA", ROOT.parent / "shared" / "data")).resolve()
SHIPPED = ROOT / "artifacts"

# Training needs these; without them (a runtime-only install, `make test-runtime`) the training
# test files are not collected and tests marked needs_torch are skipped.
TRAINING_DEPENDENCIES = ("torch", "onnx", "pandas")
HAS_TRAINING = all(importlib.util.find_spec(name) is not None for name in TRAINING_DEPENDENCIES)
TRAINING_TEST_FILES = ["test_cv.py", "test_training.py", "test_polysol.py", "test_sigma_calibration.py"]
collect_ignore = [] if HAS_TRAINING else TRAINING_TEST_FILES


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "needs_torch: uses the training half (torch, onnx, pandas); skipped without it")


def pytest_collection_modifyitems(config, items) -> None:
    if HAS_TRAINING:
        return
    skip = pytest.mark.skip(reason=f"needs the train extra ({', '.join(TRAINING_DEPENDENCIES)})")
    for item in items:
        if "needs_torch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "mtl_chi" / "data_Chi.csv").is_file():
        pytest.fail(f"shared data not found at {DATA_DIR}: clone next to ../shared or set CHI_LITE_DATA")
    return DATA_DIR


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A copy of the committed tiny model (tests/make_tiny_model.py regenerates it): no torch needed."""
    out = tmp_path_factory.mktemp("tiny_model") / "model"
    shutil.copytree(TINY_MODEL_DIR, out)
    return out


@pytest.fixture(scope="session")
def tiny_torch_model(tmp_path_factory):
    """The tiny ensemble in torch and freshly exported beside it, for torch ↔ onnxruntime comparisons."""
    out = tmp_path_factory.mktemp("tiny_torch_model")
    ensemble = write_tiny_model(out)
    manifest = ModelManifest.load(out)
    manifest.tasks["miscibility"] = True  # report p_miscible too (the graph is the same)
    manifest.save(out)
    return out, ensemble


@pytest.fixture(scope="session")
def tiny_miscible_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with its manifest saying the miscibility head was trained (the graph is the same)."""
    out = tmp_path_factory.mktemp("tiny_miscible_model")
    for item in tiny_model_dir.iterdir():
        shutil.copy(item, out / item.name)
    manifest = ModelManifest.load(out)
    manifest.tasks["miscibility"] = True
    manifest.save(out)
    return out
