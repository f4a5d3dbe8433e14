"""Training end to end on a small subset, the grouped splits, and the no-torch message."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


def test_grouped_folds_never_split_a_group():
    from chi_lite_train.evaluate import grouped_folds

    groups = pd.Series(["a", "a", "b", "c", "c", "c", "d", "e", "e", "f"])
    folds = grouped_folds(groups, 3, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(groups)))
    seen = [set(groups.iloc[f]) for f in folds]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not seen[i] & seen[j]
    assert [f.tolist() for f in grouped_folds(groups, 3, seed=1)] == [f.tolist() for f in folds]


def test_cosmo_rows_join_to_their_repeat_units(data_dir):
    from chi_lite_train.data import load_chi_data

    data = load_chi_data(data_dir)
    assert len(data.exp) == 1190 and len(data.cosmo) == 1206
    assert data.cosmo["polymer"].str.count(r"\*").eq(2).all()
    assert set(data.cosmo["pair"]) <= set(data.exp["pair"])
    assert data.exp["temp_k"].between(273.15, 502.15).all()


@pytest.mark.slow
def test_fit_exports_a_working_reproducible_artifact(data_dir, tmp_path):
    args = ["--data-dir", str(data_dir), "--limit-pairs", "60", "--limit-labels", "12", "--members", "2", "--max-steps", "150",
            "--cv-folds", "2", "--miscibility-cv-folds", "2"]
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        res = subprocess.run(
            [sys.executable, "-m", "chi_lite_train", "fit", *args, "--out", str(out)],
            capture_output=True, text=True, timeout=600,
        )
        assert res.returncode == 0, res.stderr
        outs.append(out)
    manifest = json.loads((outs[0] / "manifest.json").read_text())
    assert manifest["metrics"]["parity_max_abs_chi"] <= 1e-4
    assert manifest["metrics"]["cv_pairs"]["folds_n"] == 2
    assert manifest["data"]["files"]["mtl_chi/data_Chi.csv"]
    assert manifest["ensemble_size"] == 2
    assert manifest["tasks"]["miscibility"] is True and "p_miscible" in manifest["outputs"]
    assert manifest["metrics"]["train_set"]["n"] == manifest["data"]["exp_rows"]
    assert manifest["data"]["files"]["polysol/polysol_homopolymers.csv"] and manifest["data"]["label_rows"] > 0
    assert manifest["metrics"]["cv_miscibility"]["folds_n"] == 2
    again = json.loads((outs[1] / "manifest.json").read_text())
    assert again["files"] == manifest["files"], "same seed and data must give the same ONNX bytes"

    from chi_lite import ChiPredictor

    r = ChiPredictor(outs[0]).predict("*CC(*)c1ccccc1", "Cc1ccccc1", 25)
    assert np.isfinite(r.chi) and 0 < r.p_miscible < 1


def test_train_command_without_torch_names_the_install():
    code = (
        "import importlib.util as u\n"
        "real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name == 'torch' else real(name, *a)\n"
        "from chi_lite_train.cli import main\n"
        "main(['fit', '--out', 'unused'])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "pip install 'chi-lite[train]'" in res.stderr and "Traceback" not in res.stderr


def test_roc_auc_and_accuracy_on_known_cases():
    from chi_lite_train.evaluate import classification_metrics, roc_auc

    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    m = classification_metrics([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.6], 0.5)
    assert m == {"accuracy": 0.5, "roc_auc": 0.75, "n": 4}


def test_balanced_label_weights_give_each_class_half():
    from chi_lite_train.fit import TrainConfig, _label_tensors

    labels = pd.DataFrame({"polymer": ["a", "a", "b", "c"], "solvent": ["x", "y", "x", "y"], "label": [1, 1, 1, 0]})
    t = _label_tensors(labels, {"a": 0, "b": 1, "c": 2}, {"x": 0, "y": 1}, TrainConfig(miscibility_balance=True))
    w, y = t.weight.numpy(), t.y.numpy()
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum())
    assert _label_tensors(labels, {"a": 0, "b": 1, "c": 2}, {"x": 0, "y": 1}, TrainConfig(miscibility_balance=False)).weight.tolist() == [1, 1, 1, 1]


def test_miscibility_cv_holds_out_every_trace_of_a_test_polymer(monkeypatch):
    """A held-out polymer's labels, experimental χ and COSMO-RS χ never reach training (matched by canonical SMILES)."""
    from chi_lite_train import evaluate
    from chi_lite_train.data import ChiData

    exp = pd.DataFrame({"row": range(4), "pair": ["p1_s", "p2_s", "p3_s", "p3_t"],
                        "polymer": ["C(*)C*", "*CC(*)C", "*CC(*)c1ccccc1", "*CC(*)c1ccccc1"], "solvent": ["O", "O", "CCO", "OCC"],
                        "temp_k": 300.0, "chi": 0.5})
    cosmo = exp.assign(chi=0.4)
    labels = pd.DataFrame({"polymer": ["*CC*", "*CC(*)C", "*CC(*)c1ccccc1", "*CC*", "*CC(*)c1ccccc1"],
                           "solvent": ["O", "O", "CCO", "CO", "O"], "label": [1, 0, 1, 0, 1]})
    seen = []

    def fake_train(exp_rows, cosmo_rows, config, log=None, labels=None, hansen=None):
        seen.append((exp_rows, cosmo_rows, labels))
        return None, None, {}

    def fake_predict(ensemble, vocabulary, rows):
        return pd.DataFrame({"pred": 0.3, "std": 0.1, "p_miscible": 0.6, "polymer_novelty": 0.2, "solvent_novelty": 0.1}, index=rows.index)

    monkeypatch.setattr(evaluate, "train_ensemble", fake_train)
    monkeypatch.setattr(evaluate, "predict_frame", fake_predict)
    data = ChiData(exp=exp, cosmo=cosmo, fingerprint={})
    result = evaluate.cross_validate_miscibility(data, labels, evaluate.TrainConfig(), n_folds=3, seed=0)
    assert result["model"]["n"] == len(labels)
    folds = evaluate.grouped_folds(labels["polymer"], 3, 0)
    for (exp_rows, cosmo_rows, train_labels), test_pos in zip(seen, folds):
        held = set(labels.iloc[test_pos]["polymer"])
        assert not held & set(train_labels["polymer"])
        for rows in (exp_rows, cosmo_rows):
            assert not held & {evaluate.canonical(p) for p in rows["polymer"]}
        assert len(exp_rows) + sum(evaluate.canonical(p) in held for p in exp["polymer"]) == len(exp)
