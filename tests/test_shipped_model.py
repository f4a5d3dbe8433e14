"""The model in artifacts/: verified, traceable to the shared data, sensible, and torch-free at run time."""

from __future__ import annotations

import pytest

from chi_lite import ChiPredictor
from chi_lite.artifact import default_model_dir, load_artifact, sha256_of

from .conftest import SHIPPED
from .shared_data import heavy_modules_after


@pytest.fixture(scope="module")
def shipped():
    return load_artifact(SHIPPED)


def test_default_model_is_the_shipped_one(shipped, monkeypatch):
    monkeypatch.delenv("CHI_LITE_MODEL", raising=False)
    assert default_model_dir().resolve() == SHIPPED.resolve()
    assert shipped.manifest.ensemble_size >= 5
    assert shipped.manifest.tasks == {"chi_experimental": True, "chi_cosmo_rs": True, "miscibility": True}


def test_shipped_model_was_trained_on_these_data_files(shipped, data_dir):
    for name, digest in shipped.manifest.data["files"].items():
        assert sha256_of(data_dir / name) == digest, f"{name} changed since the shipped model was trained: make train"


def test_shipped_model_card_has_honest_metrics(shipped):
    cv = shipped.manifest.metrics["cv_pairs"]
    assert cv["folds_n"] == 5 and cv["model"]["n"] == 1190
    assert cv["model"]["r2"] > cv["cosmo_rs"]["r2"], "the model must beat raw COSMO-RS on the same rows"
    assert shipped.manifest.metrics["parity_max_abs_chi"] <= 1e-4
    assert (SHIPPED / shipped.manifest.model_file).stat().st_size < 8 * 2**20


def test_shipped_miscibility_head_beats_guessing_the_majority(shipped):
    cv = shipped.manifest.metrics["cv_miscibility"]
    assert cv["folds_n"] == 5 and cv["scheme"] == "polymers" and cv["model"]["n"] == shipped.manifest.data["label_rows"]
    majority = max(cv["positive_fraction"], 1 - cv["positive_fraction"])
    assert cv["model"]["accuracy"] > majority and cv["model"]["roc_auc"] > 0.6
    predictor = ChiPredictor(SHIPPED)
    ps = "*CC(*)c1ccccc1"
    assert predictor.predict(ps, "Cc1ccccc1", 25).p_miscible > 0.5 > predictor.predict(ps, "O", 25).p_miscible


def test_polystyrene_ranks_solvents_sensibly(shipped):
    predictor = ChiPredictor(SHIPPED)
    ps = "*CC(*)c1ccccc1"
    good = [predictor.predict(ps, s, 25).chi for s in ("Cc1ccccc1", "ClC(Cl)Cl", "C1CCOC1")]
    bad = [predictor.predict(ps, s, 25).chi for s in ("CO", "O")]
    assert max(good) < 0.6, good
    assert min(bad) > max(good), (good, bad)


def test_readme_command_answers_without_torch():
    printed, loaded = heavy_modules_after(
        "from chi_lite.cli import main\n"
        "try:\n"
        "    main(['predict', '--polymer', '*CC(*)c1ccccc1', '--solvent', 'Cc1ccccc1', '--temperature', '25'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    )
    assert "chi " in printed and loaded == []


def test_shipped_model_screens_by_name_through_factorized_graphs(shipped):
    from chi_lite.screening import Screener

    assert shipped.manifest.metrics["factorized_max_abs_diff"] <= 1e-5
    with Screener(SHIPPED) as screener:
        result = screener.screen(["polystyrene"], "builtin", 25)
    rank = {r["name"]: r["rank"] for r in result.rows}
    good = [rank[n] for n in ("toluene", "tetrahydrofuran", "chloroform")]
    bad = [rank[n] for n in ("water", "methanol", "hexane")]
    assert max(good) < min(bad), (good, bad)
    assert max(good) <= len(result.rows) // 4 and min(bad[:2]) >= 3 * len(result.rows) // 4
