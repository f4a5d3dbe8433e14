"""Cross-validation inputs: split files, what each fold may train on, the card built from reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner


@pytest.fixture(scope="module")
def chi_data(data_dir):
    from chi_lite_train.data import load_chi_data

    return load_chi_data(data_dir)


def test_split_file_round_trip_on_a_subset(chi_data, tmp_path):
    from chi_lite_train.evaluate import grouped_folds
    from chi_lite_train.splits import fold_positions, read_split_file, write_split_file

    subset = chi_data.exp.iloc[::7]  # rows whose ids are not their positions
    folds = grouped_folds(subset["pair"], 3, seed=2)
    path = tmp_path / "splits.json"
    write_split_file(path, folds, subset["row"])
    again = fold_positions(read_split_file(path), subset["row"])
    assert [sorted(f.tolist()) for f in again] == [sorted(f.tolist()) for f in folds]


def test_fold_trains_on_no_test_row_and_no_cosmo_of_a_test_pair(chi_data):
    from chi_lite_train.evaluate import fold_training_rows, scheme_folds

    # A row-level split (as an outside file may give) puts some pairs on both sides.
    test_pos = np.arange(0, len(chi_data.exp), 5)
    train, cosmo = fold_training_rows(chi_data, test_pos)
    test = chi_data.exp.iloc[test_pos]
    assert not set(train["row"]) & set(test["row"])
    assert len(train) + len(test) == len(chi_data.exp)
    assert not set(cosmo["pair"]) & set(test["pair"])
    kept = chi_data.cosmo[~chi_data.cosmo["pair"].isin(set(test["pair"]))]
    assert len(cosmo) == len(kept) > 0

    for test_pos in scheme_folds(chi_data, "polymers", 5, seed=0):
        train, cosmo = fold_training_rows(chi_data, test_pos)
        held_out = set(chi_data.exp.iloc[test_pos]["polymer"])
        assert not held_out & (set(train["polymer"]) | set(cosmo["polymer"]))


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"folds": [{"test_rows": [0, 1, ', "not valid JSON"),
        ('{"folds": [{"test_rows": [0, 1, 999999]}]}', "unknown row id"),
        ('{"folds": [{"test_rows": [0, 1]}, {"test_rows": [1, 2]}]}', "folds 1 and 2"),
        ('{"folds": [{"test_rows": ["a"]}]}', "not integer row ids"),
        ('[1, 2]', '"folds" list'),
    ],
)
def test_bad_split_file_is_one_line_exit_2(data_dir, tmp_path, content, message):
    from chi_lite_train.cli import main

    path = tmp_path / "splits.json"
    path.write_text(content)
    res = CliRunner().invoke(main, ["cv", "--data-dir", str(data_dir), "--splits", str(path), "--out", str(tmp_path / "m.json")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "m.json").exists()


def test_unknown_config_setting_is_refused(tmp_path):
    from chi_lite_train.cli import main

    path = tmp_path / "config.json"
    path.write_text('{"config": {"laten": 4}}')
    res = CliRunner().invoke(main, ["cv", "--config", str(path), "--out", str(tmp_path / "m.json")])
    assert res.exit_code == 2 and "unknown training setting(s) laten" in res.output


@pytest.mark.slow
def test_cv_with_a_split_file_writes_the_metrics_format(data_dir, tmp_path):
    from chi_lite_train.cli import main

    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({"folds": [{"test_rows": [0, 1, 2, 40, 41]}, {"test_rows": [100, 101, 700]}]}))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"config": {"members": 2, "max_steps": 30}}))
    out = tmp_path / "metrics.json"
    res = CliRunner().invoke(main, ["cv", "--data-dir", str(data_dir), "--splits", str(splits), "--config", str(config), "--out", str(out)])
    assert res.exit_code == 0, res.output
    metrics = json.loads(out.read_text())
    assert set(metrics["model"]) >= {"r2", "rmse", "mae"}
    assert set(metrics["cosmo_rs"]) >= {"r2", "rmse", "mae", "n"}
    assert [p["row"] for p in metrics["predictions"]] == [0, 1, 2, 40, 41, 100, 101, 700]
    assert all(set(p) >= {"row", "chi", "pred", "std", "polymer_novelty", "solvent_novelty"} and np.isfinite(p["pred"]) for p in metrics["predictions"])
    assert len(metrics["folds"]) == 2 and metrics["config"]["members"] == 2


def _reports(tmp_path, config):
    figures = {"r2": 0.5, "rmse": 0.4, "mae": 0.3, "n": 10}
    lpo = tmp_path / "lpo.json"
    lpo.write_text(json.dumps({"scheme": "polymers", "folds_n": 5, "seed": 0, "model": figures,
                               "cosmo_rs": {**figures, "r2": 0.123}, "config": config}))
    ablation = tmp_path / "ablation.json"
    row = {"name": "baseline", "set": {}, "pairs": {"r2": 0.777, "rmse": 0.3, "mae": 0.2, "seconds": 60.0}}
    ablation.write_text(json.dumps({"seed": 0, "folds": 5, "screen_members": 3, "chosen": "baseline", "rows": [row]}))
    return lpo, ablation


def test_card_and_info_show_the_stored_figures(tiny_model_dir, tmp_path):
    import shutil

    from chi_lite.cli import cli as chi_lite
    from chi_lite_train.card import lpo_summary, render_card
    from chi_lite_train.fit import TrainConfig

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    manifest = json.loads((model / "manifest.json").read_text())
    config = TrainConfig(members=3)
    lpo, ablation = _reports(tmp_path, config.to_dict())
    figures = {"r2": 0.8, "rmse": 0.3, "mae": 0.2, "n": 10}
    manifest["training"] = {"config": config.to_dict()}
    manifest["metrics"] = {"cv_pairs": {"folds_n": 5, "model": figures, "cosmo_rs": figures},
                           "cv_polymers": lpo_summary(lpo, config)}
    (model / "manifest.json").write_text(json.dumps(manifest))

    card = render_card(model, lpo, ablation)
    assert "| leave-polymers-out 5-fold | 0.500 | 0.400 | 0.300 | 0.123" in card
    assert "| baseline | — | 0.777 |" in card and "other configuration" not in card
    res = CliRunner().invoke(chi_lite, ["info", "--model", str(model)])
    assert res.exit_code == 0 and "leave-polymers-out 5-fold CV (3 members): R² 0.500" in res.output

    assert not lpo_summary(lpo, TrainConfig(latent=4))["config_matches"]

    # Chosen configuration newer than the shipped model: a stored pairs report of it stands in.
    chosen = TrainConfig(latent=4).to_dict()
    doc = json.loads(ablation.read_text())
    ablation.write_text(json.dumps({**doc, "config": chosen}))
    stored = tmp_path / "pairs.json"
    stored.write_text(json.dumps({"folds_n": 5, "seed": 0, "model": {**figures, "r2": 0.654}, "cosmo_rs": figures, "config": chosen}))
    card = render_card(model, lpo, ablation, pairs_path=stored)
    assert "| 0.654 | 0.300 | 0.200 |" in card and "not yet retrained" in card and "make train card" in card


def test_tune_combines_winners_and_reuses_measured_candidates(chi_data):
    from chi_lite_train.tune import _combine, tune

    def row(name, settings, r2, lpo=None):
        out = {"name": name, "set": settings, "pairs": {"r2": r2, "rmse": 0.3, "mae": 0.2, "seconds": 1.0}}
        return {**out, "polymers": lpo} if lpo else out

    winners = [row("a", {"latent": 4, "input_noise": 0.1}, 0.80), row("b", {"latent": 6}, 0.82)]
    assert _combine({}, winners) == {"latent": 6, "input_noise": 0.1}

    lpo = {"r2": 0.3, "rmse": 0.5, "mae": 0.4, "seconds": 1.0}
    grid = {"members": 3, "folds": 5, "min_gain": 0.01, "lpo_top": 1,
            "levers": [{"name": "noise", "set": {"input_noise": 0.3}}, {"name": "Z4", "set": {"latent": 4}}]}
    previous = {"seed": 0, "folds": 5, "screen_members": 3, "base": {},
                "rows": [row("baseline", {}, 0.76, lpo), row("noise", {"input_noise": 0.3}, 0.80, lpo), row("Z4", {"latent": 4}, 0.765)]}
    saved = []
    result = tune(chi_data, grid, seed=0, previous=previous, save=saved.append)  # everything cached: no training
    assert result["chosen"] == "noise" and result["config"]["input_noise"] == 0.3 and result["config"]["members"] == 10
    assert [r["name"] for r in result["rows"]] == ["baseline", "noise", "Z4"] and len(saved) == 3


def test_hansen_targets_join_solvents_by_canonical_smiles(chi_data):
    from chi_lite_train.fit import _hansen_targets

    targets = _hansen_targets(["OCC", "c1ccccc1", "ClCCCCCCCCCCCCCCCCCCBr"], chi_data.hansen)  # ethanol written backwards
    assert not targets[:2].isnan().any() and targets[2].isnan().all()
    assert chi_data.hansen["CCO"] == (15.8, 8.8, 19.4)


def test_committed_grids_and_chosen_config_name_real_settings():
    from pathlib import Path

    from chi_lite_train.fit import CHOSEN_CONFIG, load_config
    from chi_lite_train.tune import read_grid

    train = Path(__file__).resolve().parent.parent / "train"
    for grid in ("tune_grid.json", "tune_grid_reduced.json"):
        assert read_grid(train / grid)["levers"]
    assert load_config(CHOSEN_CONFIG).members >= 1


def test_a_neutral_lever_is_chosen_only_for_a_clear_leave_polymers_out_gain():
    from chi_lite_train.tune import _choose

    def row(pairs, lpo=None):
        out = {"set": {}, "pairs": {"r2": pairs}}
        return {**out, "polymers": {"r2": lpo}} if lpo is not None else out

    baseline = row(0.76, 0.30)
    assert _choose(baseline, [row(0.765, 0.33), row(0.70, 0.60)], 0.01, 0.05) is baseline
    better_lpo = row(0.755, 0.40)
    assert _choose(baseline, [row(0.765, 0.33), better_lpo], 0.01, 0.05) is better_lpo
    clear = row(0.78)
    assert _choose(baseline, [better_lpo, clear], 0.01, 0.05) is clear
