"""Factorized inference: encoders + pair head equal the whole graph, and the numpy scorer equals the head."""

from __future__ import annotations

import numpy as np
import pytest

from chi_lite.artifact import load_artifact
from chi_lite.factorized import FactorizedModel, solvent_features
from chi_lite.predictor import ChiPredictor

POLYMERS = ["*CC(*)c1ccccc1", "*CC(*)OC(C)=O", "*CCO*", "*CC(C)(*)C(=O)OC"]
SOLVENTS = ["Cc1ccccc1", "ClC(Cl)Cl", "O", "CCO", "C1CCOC1", "CCCCCC", "CN(C)C=O"]


@pytest.fixture(scope="module")
def parts(tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    xp = np.stack([predictor.polymer_descriptors(p) for p in POLYMERS])
    xs = np.stack([predictor.solvent_descriptors(s) for s in SOLVENTS])
    return predictor, FactorizedModel(load_artifact(tiny_model_dir)), xp, xs


def test_manifest_lists_and_hashes_every_graph(tiny_model_dir):
    manifest = load_artifact(tiny_model_dir).manifest
    assert set(manifest.graphs) == {"polymer_encoder", "solvent_encoder", "pair_head", "pair_head_weights"}
    assert set(manifest.graphs.values()) <= set(manifest.files)


@pytest.mark.needs_torch
def test_composed_graphs_equal_the_whole_model(tiny_model_dir, parts):
    from chi_lite_train.factorized import composition_error

    predictor, _, xp, xs = parts
    ip, js = np.meshgrid(np.arange(len(POLYMERS)), np.arange(len(SOLVENTS)), indexing="ij")
    t = np.linspace(250.0, 480.0, ip.size)
    error = composition_error(tiny_model_dir, predictor.manifest.model_file, predictor.manifest.graphs,
                              xp[ip.ravel()], xs[js.ravel()], t)
    assert error <= 1e-5


def test_numpy_scorer_equals_the_pair_head_graph(parts):
    _, model, xp, xs = parts
    ep, es = model.embed_polymers(xp), model.embed_solvents(xs)
    assert ep.shape == (len(POLYMERS), *es.shape[1:]) and es.shape[1] * es.shape[2] == model.feature_width
    features = solvent_features(es)
    for i in range(len(POLYMERS)):
        for t in (273.15, 298.15, 420.0):
            chi, std, p = model.scorer(ep[i], t).score(features)
            ref = model.pair_head(np.repeat(ep[i : i + 1], len(SOLVENTS), axis=0), es, np.full(len(SOLVENTS), t))
            assert np.max(np.abs(chi - ref[0])) <= 1e-5
            assert np.max(np.abs(std - ref[1])) <= 1e-5
            assert np.max(np.abs(p - ref[4])) <= 1e-5
            assert np.all((p > 0) & (p < 1))


def test_head_outputs_equal_the_pair_head_graph(parts):
    """The numpy head (per member) averages to the exported head's χ, A, B and p_miscible."""
    from chi_lite.factorized import head_outputs

    _, model, xp, xs = parts
    ep, es = model.embed_polymers(xp), model.embed_solvents(xs)
    ip, js = np.meshgrid(np.arange(len(POLYMERS)), np.arange(len(SOLVENTS)), indexing="ij")
    t = np.linspace(260.0, 450.0, ip.size)
    out = head_outputs(model.head, ep[ip.ravel()], es[js.ravel()], t)
    ref = model.pair_head(ep[ip.ravel()], es[js.ravel()], t)
    assert out.chi.shape == (ip.size, model.head.members)
    assert np.max(np.abs(out.chi.mean(axis=1) - ref[0])) <= 1e-5
    assert np.max(np.abs(out.A.mean(axis=1) - ref[2])) <= 1e-5
    assert np.max(np.abs(out.B.mean(axis=1) / t - ref[3] / t)) <= 1e-5
    assert np.max(np.abs((1 / (1 + np.exp(-out.logit))).mean(axis=1) - ref[4])) <= 1e-5
    one = head_outputs(model.head, ep[0], es[0], 300.0)  # a single pair, no batch axis
    assert one.chi.shape == (model.head.members,)
