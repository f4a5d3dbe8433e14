"""p_classifier (the raw classifier) is reported by the API and every CLI format only when the manifest says the head was trained;
p_miscible (the verdict) always."""

from __future__ import annotations

import csv
import json

import pytest

from chi_lite import ChiPredictor

from .test_cli import PS, TOLUENE, run


def test_api_reports_p_miscible_only_for_a_trained_head(tiny_model_dir, tiny_miscible_model_dir):
    plain = ChiPredictor(tiny_model_dir).predict(PS, TOLUENE, 25)
    assert plain.p_classifier is None and "p_classifier" not in plain.to_dict() and 0 <= plain.p_miscible <= 1
    trained = ChiPredictor(tiny_miscible_model_dir).predict(PS, TOLUENE, 25)
    assert 0 < trained.p_classifier < 1 and trained.to_dict()["p_classifier"] == trained.p_classifier
    assert trained.chi == pytest.approx(plain.chi, abs=1e-6), "same graph, same χ"
    outcomes = ChiPredictor(tiny_miscible_model_dir).predict_many([(PS, TOLUENE, 25), (PS, "nope", 25)])
    assert outcomes[0].result.p_classifier == pytest.approx(trained.p_classifier, abs=1e-6) and not outcomes[1].ok


def test_cli_formats_carry_p_classifier_only_when_trained(tiny_model_dir, tiny_miscible_model_dir, tmp_path):
    args = ("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25")
    assert "p_classifier" not in run(*args, model=tiny_model_dir).stdout
    assert "p_classifier" not in json.loads(run(*args, "--format", "json", model=tiny_model_dir).stdout)
    table = run(*args, model=tiny_miscible_model_dir)
    assert table.returncode == 0 and "p_classifier" in table.stdout
    record = json.loads(run(*args, "--format", "json", model=tiny_miscible_model_dir).stdout)
    assert 0 < record["p_classifier"] < 1
    row = next(csv.DictReader(run(*args, "--format", "csv", model=tiny_miscible_model_dir).stdout.splitlines()))
    assert float(row["p_classifier"]) == pytest.approx(record["p_classifier"], abs=1e-5)

    src = tmp_path / "pairs.csv"
    src.write_text(f"polymer,solvent,temperature\n{PS},{TOLUENE},25\n{PS},bad,25\n", encoding="utf-8")
    for model, expected in ((tiny_model_dir, False), (tiny_miscible_model_dir, True)):
        out = tmp_path / "out.csv"
        res = run("predict", "--input", str(src), "--output", str(out), model=model)
        assert res.returncode == 0, res.stderr
        rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
        assert ("p_classifier" in rows[0]) is expected and len(rows) == 2
        if expected:
            assert float(rows[0]["p_classifier"]) == pytest.approx(record["p_classifier"], abs=1e-5)
            assert rows[1]["p_classifier"] == "" and rows[1]["error"]


def test_info_says_whether_the_head_was_trained(tiny_model_dir, tiny_miscible_model_dir):
    assert "miscibility (not trained)" in run("info", model=tiny_model_dir).stdout
    assert "miscibility (trained)" in run("info", model=tiny_miscible_model_dir).stdout


def test_miscibility_at_chain_length_is_the_answers_verdict(tiny_model_dir):
    """ChiPrediction.miscibility(N) re-reads the one verdict (crystalline gate included), not χ < χ_c alone."""
    from chi_lite.errors import ChiLiteError
    from chi_lite.flory_huggins import miscibility_probability
    from chi_lite.predictor import ChiPrediction

    predictor = ChiPredictor(tiny_model_dir)
    pe, xylene = "*CC*", "Cc1ccccc1C"  # semicrystalline: insoluble below its dissolution temperature
    at_25 = predictor.predict(pe, xylene, 25)
    verdict = at_25.miscibility(1000)
    direct = predictor.predict(pe, xylene, 25, chain_length=1000)
    assert (verdict.p_miscible, verdict.miscible, verdict.verdict) == (direct.p_miscible, direct.miscible, direct.verdict)
    assert verdict.verdict == "insoluble (crystalline)" and verdict.p_miscible < 1e-6
    assert miscibility_probability(at_25.chi, at_25.chi_std, 1000) > 0.1  # the χ-only rule would say otherwise
    assert "p_miscible_fh" not in verdict.to_dict() and "_answer_at" not in at_25.to_dict()
    by_hand = ChiPrediction(PS, TOLUENE, 298.15, 0.4, 0.05, 0.4, 0.0)
    with pytest.raises(ChiLiteError):
        by_hand.miscibility(1000)
