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
    args = ["--data-dir", str(data_dir), "--limit-pairs", "60", "--members", "2", "--max-steps", "150", "--cv-folds", "2"]
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
    again = json.loads((outs[1] / "manifest.json").read_text())
    assert again["files"] == manifest["files"], "same seed and data must give the same ONNX bytes"

    from chi_lite import ChiPredictor

    r = ChiPredictor(outs[0]).predict("*CC(*)c1ccccc1", "Cc1ccccc1", 25)
    assert np.isfinite(r.chi)


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
