"""Artifact loading: manifests round-trip, hashes are checked, bad directories are refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from chi_lite.limits import LimitError
from chi_lite.artifact import load_artifact
from chi_lite.config import ModelManifest
from chi_lite.errors import ArtifactError
from chi_lite.session import resolve_threads


def test_manifest_round_trips(tiny_model_dir):
    manifest = ModelManifest.load(tiny_model_dir)
    assert ModelManifest.from_dict(json.loads(json.dumps(manifest.to_dict()))) == manifest
    assert manifest.inputs == ["polymer_descriptors", "solvent_descriptors", "temperature_k"]
    assert manifest.outputs == ["chi", "chi_spread", "A", "B", "p_miscible", "polymer_novelty", "solvent_novelty"]
    assert manifest.uncertainty == {}  # uncalibrated: chi_std is the spread
    assert manifest.tasks["miscibility"] is False


def test_tampered_model_is_refused_naming_the_file(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    with open(copy / "chi_model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="chi_model.onnx does not match its manifest hash"):
        load_artifact(copy)


def test_missing_file_and_missing_manifest_are_refused(tiny_model_dir, tmp_path):
    with pytest.raises(ArtifactError, match="manifest.json not found"):
        load_artifact(tmp_path)
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "chi_model.onnx").unlink()
    with pytest.raises(ArtifactError, match="is missing"):
        load_artifact(copy)


def test_corrupt_manifest_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not a valid chi-lite manifest"):
        load_artifact(tmp_path)


def test_thread_count_defaults_to_one_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv("CHI_LITE_THREADS", raising=False)
    assert resolve_threads() == 1
    monkeypatch.setenv("CHI_LITE_THREADS", "2")
    assert resolve_threads() == 2
    assert resolve_threads(3) == 3
    monkeypatch.setenv("CHI_LITE_THREADS", "many")
    with pytest.raises(LimitError, match="whole number"):
        resolve_threads()


@pytest.mark.needs_torch
def test_committed_tiny_model_has_the_exporters_signature(tiny_model_dir, tiny_torch_model):
    fresh_dir, _ = tiny_torch_model
    committed, fresh = ModelManifest.load(tiny_model_dir), ModelManifest.load(fresh_dir)
    hint = "the exported graph changed: regenerate with `make tiny-model`"
    assert (committed.inputs, committed.outputs) == (fresh.inputs, fresh.outputs), hint
    assert committed.graphs == fresh.graphs and set(committed.files) == set(fresh.files), hint
    assert committed.featurizer == fresh.featurizer, hint


@pytest.mark.needs_torch
def test_onnx_graph_matches_torch_on_real_pairs(tiny_torch_model):
    import torch

    from chi_lite.predictor import ChiPredictor

    model_dir, ensemble = tiny_torch_model
    predictor = ChiPredictor(model_dir)
    pairs = [("*CC(*)c1ccccc1", "Cc1ccccc1", 25.0), ("*CC(*)OC(C)=O", "ClC(Cl)Cl", 60.0), ("*CCO*", "O", 5.0)]
    xp = np.stack([predictor.polymer_descriptors(p) for p, _, _ in pairs]).astype(np.float32)
    xs = np.stack([predictor.solvent_descriptors(s) for _, s, _ in pairs]).astype(np.float32)
    t = np.array([c + 273.15 for _, _, c in pairs], dtype=np.float32)
    with torch.no_grad():
        chi, std, a, b, p, *_ = (v.numpy() for v in ensemble(torch.tensor(xp), torch.tensor(xs), torch.tensor(t)))
    got = predictor.predict_many(pairs)
    assert np.max(np.abs(chi - [o.result.chi for o in got])) <= 1e-4
    assert np.max(np.abs(std - [o.result.chi_std for o in got])) <= 1e-4
    assert np.max(np.abs(p - [o.result.p_classifier for o in got])) <= 1e-5
    assert all(0 < o.result.p_classifier < 1 for o in got)
    # χ = A + B/T holds for the reported coefficients
    for o in got:
        r = o.result
        assert r.chi == pytest.approx(r.A + r.B / r.temperature_k, abs=1e-4)


def test_thread_count_reaches_the_onnxruntime_session(tiny_model_dir, monkeypatch):
    from chi_lite.predictor import ChiPredictor

    def intra_op(predictor: ChiPredictor) -> int:
        return predictor.loaded.graph.session.get_session_options().intra_op_num_threads

    monkeypatch.delenv("CHI_LITE_THREADS", raising=False)
    assert intra_op(ChiPredictor(tiny_model_dir)) == 1
    monkeypatch.setenv("CHI_LITE_THREADS", "2")
    assert intra_op(ChiPredictor(tiny_model_dir)) == 2
    assert intra_op(ChiPredictor(tiny_model_dir, threads=3)) == 3
