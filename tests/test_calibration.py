"""Calibration to lab tests (issue 12): the fit, the profile file, and --profile in every command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chi_lite.calibration import fit_embedding, predict_members
from chi_lite.cli import main
from chi_lite.errors import ChiLiteError
from chi_lite.predictor import ChiPredictor
from chi_lite.profile import PolymerProfile, ProfileError

SOLVENTS = ["acetone", "toluene", "chloroform", "THF", "methanol", "ethanol", "hexane", "benzene", "DMF", "water",
            "ethyl acetate", "cyclohexane", "dichloromethane", "acetonitrile", "diethyl ether", "1-butanol",
            "dioxane", "DMSO", "pyridine", "heptane"]


@pytest.fixture(scope="module")
def predictor() -> ChiPredictor:
    return ChiPredictor()


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _shift(predictor, solvents, delta):
    """Tests that say χ is ``delta`` above the uncalibrated PMMA prediction in each solvent."""
    return [{"solvent": s, "temperature": 25, "chi": predictor.predict("PMMA", s, 25).chi + delta} for s in solvents]


def test_one_test_moves_little_twenty_move_a_lot(predictor):
    """Tests say χ is 0.4 above the model everywhere: one test carries part of that to other solvents, twenty nearly all."""
    base = {s: predictor.predict("PMMA", s, 25).chi for s in SOLVENTS}
    carried = {}
    for n in (1, 20):
        profile = predictor.calibrate("PMMA", _shift(predictor, SOLVENTS[:n], 0.4))
        assert np.abs(profile.residuals_after).mean() < np.abs(profile.residuals_before).mean()
        others = SOLVENTS[n:] or SOLVENTS
        carried[n] = float(np.mean([predictor.predict(profile, s, 25).chi - base[s] for s in others]))
    assert 0.0 < carried[1] < 0.75 * carried[20]
    assert carried[20] > 0.85 * 0.4


def pmma_setup(predictor):
    """(factorized model, PMMA's structure embedding, 20 solvent embeddings, 25 °C, per-member χ)."""
    model = predictor.factorized
    prior = model.embed_polymers(predictor.polymer_descriptors("*CC(C)(*)C(=O)OC")[None])[0]
    solvents = predictor.solvent_embeddings([predictor.predict("PS", s, 25).solvent for s in SOLVENTS])
    temps = np.full(20, 298.15)
    chi, _ = predict_members(model.head, prior, solvents, temps)
    return model, prior, solvents, temps, chi


def test_fit_lowers_every_members_loss(predictor):
    model, prior, solvents, temps, chi = pmma_setup(predictor)
    fit = fit_embedding(model.head, prior, solvents, temps, chi.mean(1) + 0.3, np.full(20, np.nan))
    assert np.all(fit.loss_after < fit.loss_before)
    with pytest.raises(ValueError):
        fit_embedding(model.head, prior, solvents, temps, chi.mean(1), np.full(20, np.nan), strength=0.0)


@pytest.mark.needs_torch
def test_hansen_sphere_baseline_fit():
    from chi_lite_train.fewshot import fit_hansen_sphere, hansen_distance

    delta = np.array([[18.0, 5.0, 5.0], [18.5, 6.0, 4.0], [17.5, 4.0, 6.0], [15.0, 16.0, 42.0], [14.9, 0.0, 0.0]])
    good = np.array([True, True, True, False, False])
    center, radius = fit_hansen_sphere(delta, good)
    red = hansen_distance(center, delta)[0] / radius
    assert np.array_equal(red < 1, good)
    assert fit_hansen_sphere(delta, np.zeros(5, bool))[1] == 0.0


def test_soluble_tests_move_the_verdict(predictor):
    tests = [{"solvent": s, "soluble": "no"} for s in ("acetone", "toluene", "chloroform", "THF", "benzene")]
    profile = predictor.calibrate("PMMA", tests)
    before = [predictor.predict("PMMA", s, 25).p_miscible for s in ("acetone", "toluene")]
    after = [predictor.predict(profile, s, 25).p_miscible for s in ("acetone", "toluene")]
    assert all(a < b for a, b in zip(after, before))


def test_profile_round_trip_and_foreign_profile(predictor, tmp_path):
    profile = predictor.calibrate("PMMA", _shift(predictor, SOLVENTS[:3], 0.2))
    path = tmp_path / "p.json"
    profile.save(path)
    loaded = predictor.load_profile(path)
    assert loaded.label == "PMMA (calibrated on 3 tests)"
    assert np.allclose(loaded.embedding, profile.embedding, atol=1e-6)
    assert loaded.tests == profile.tests and loaded.residuals_after == profile.residuals_after
    a = predictor.predict(profile, "acetone", 30)
    b = predictor.predict(loaded, "acetone", 30)
    assert a.polymer == "PMMA (calibrated on 3 tests)" and abs(a.chi - b.chi) < 1e-5
    doc = json.loads(path.read_text())
    doc["model_sha256"] = "f" * 64
    with pytest.raises(ProfileError, match="calibrated with model ffffffffffff"):
        predictor.load_profile(doc)
    with pytest.raises(ProfileError, match="not a chi-lite polymer profile"):
        predictor.load_profile({"polymer": "PMMA"})


def test_profile_matches_whole_graph_before_calibration(predictor):
    """A profile whose embedding is the structure's gives the uncalibrated model's χ (encoder + head path)."""
    profile = predictor.calibrate("PMMA", [{"solvent": "toluene", "chi": 0.45}])
    same = PolymerProfile(**{**profile.__dict__, "embedding": predictor.factorized.embed_polymers(
        predictor.polymer_descriptors(profile.smiles)[None])[0]})
    for solvent, t in (("acetone", 25), ("toluene", 80)):
        assert abs(predictor.predict(same, solvent, t).chi - predictor.predict("PMMA", solvent, t).chi) < 1e-4


@pytest.mark.parametrize(
    "text, message",
    [
        ("temperature,chi\n25,0.4\n", "lacks column(s) solvent"),
        ("solvent,temperature\ntoluene,25\n", "needs a chi or a soluble column"),
        ("solvent,chi\nnotasolvent,0.4\n", "no usable test (line 2: invalid solvent"),
        ("solvent,chi\ntoluene,abc\n", "no usable test (line 2: chi must be a number"),
        ("solvent,soluble\ntoluene,maybe\n", "no usable test (line 2: soluble must be"),
        ("solvent,chi\n", "has a header but no rows"),
        ("", "is empty"),
    ],
)
def test_bad_tests_file_one_line_exit_2(capsys, tmp_path, text, message):
    tests = tmp_path / "tests.csv"
    tests.write_text(text)
    code, _, err = _cli(capsys, "calibrate", "--polymer", "PMMA", "--tests", str(tests), "--out", str(tmp_path / "p.json"))
    assert code == 2
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "p.json").exists()


def test_unusable_row_reported_rest_fit(capsys, tmp_path):
    tests = tmp_path / "tests.csv"
    tests.write_text("solvent,temperature,chi,soluble\ntoluene,25,0.45,\nbogus-solvent,25,0.4,\nacetone,,,yes\nhexane,25,x,\n")
    out_path = tmp_path / "p.json"
    code, out, err = _cli(capsys, "calibrate", "--polymer", "PMMA", "--tests", str(tests), "--out", str(out_path))
    assert code == 0
    assert "tests file line 3:" in err and "tests file line 5: chi must be a number" in err
    assert "PMMA (calibrated on 2 tests)" in out and "RMS residual: before" in out
    doc = json.loads(out_path.read_text())
    assert [t["line"] for t in doc["tests"]] == [2, 4] and [s["line"] for s in doc["skipped"]] == [3, 5]


def test_calibrate_kelvin_temperatures(capsys, tmp_path):
    tests = tmp_path / "tests.csv"
    tests.write_text("solvent,temperature,chi\ntoluene,333.15,0.45\n")
    code, _, _ = _cli(capsys, "calibrate", "--polymer", "PMMA", "--tests", str(tests), "--out", str(tmp_path / "p.json"),
                      "--kelvin")
    assert code == 0
    assert abs(json.loads((tmp_path / "p.json").read_text())["tests"][0]["temperature_k"] - 333.15) < 1e-9


def test_calibrate_refuses_to_overwrite_its_tests(capsys, tmp_path):
    tests = tmp_path / "tests.csv"
    tests.write_text("solvent,chi\ntoluene,0.45\n")
    code, _, err = _cli(capsys, "calibrate", "--polymer", "PMMA", "--tests", str(tests), "--out", str(tests))
    assert code == 2 and "is the tests file" in err and tests.read_text() == "solvent,chi\ntoluene,0.45\n"


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "pmma.json"
    example = Path(__file__).resolve().parent.parent / "docs" / "examples" / "lab_tests.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", "--polymer", "PMMA", "--tests", str(example), "--out", str(path)])
    assert exit_info.value.code == 0
    return path


def test_predict_single_and_batch_with_profile(capsys, tmp_path, profile_path):
    code, out, _ = _cli(capsys, "predict", "--profile", str(profile_path), "--solvent", "acetone", "--temperature", "25",
                        "--format", "json")
    assert code == 0 and json.loads(out)["polymer"] == "PMMA (calibrated on 9 tests)"
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("solvent,temperature,polymer\ntoluene,25,\nacetone,40,PMMA\nwater,25,PS\n")
    code, out, err = _cli(capsys, "predict", "--profile", str(profile_path), "--input", str(pairs), "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["error"] for r in rows][:2] == ["", ""]
    assert "not the profile's polymer" in rows[2]["error"] and "calibrated on 9 tests" in err
    pairs.write_text("solvent,temperature\ntoluene,25\n")
    code, out, _ = _cli(capsys, "predict", "--profile", str(profile_path), "--input", str(pairs), "--format", "json")
    assert code == 0 and json.loads(out)[0]["chi"] is not None


def test_screen_and_phase_with_profile(capsys, profile_path):
    code, out, err = _cli(capsys, "screen", "--profile", str(profile_path), "--polymer", "PS", "--top", "3", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and [p["input"] for p in doc["polymers"]] == ["PMMA (calibrated on 9 tests)", "PS"]
    assert "chi[PMMA (calibrated on 9 tests)]" in doc["ranking"][0]
    code, out, _ = _cli(capsys, "phase", "--profile", str(profile_path), "--solvent", "toluene", "--chain-length", "100",
                        "--points", "3", "--format", "json")
    assert code == 0 and json.loads(out)["polymer"] == "PMMA (calibrated on 9 tests)"
    code, _, err = _cli(capsys, "phase", "--profile", str(profile_path), "--polymer", "PS", "--solvent", "toluene",
                        "--chain-length", "100")
    assert code == 2 and "one of them" in err


def test_serve_inline_profile(profile_path):
    from chi_lite.screening import Screener
    from chi_lite.service import ChiService

    screener = Screener()
    service = ChiService(screener.predictor, screener=screener)
    doc = json.loads(profile_path.read_text())
    answer = service.handle({"id": 1, "op": "predict", "profile": doc, "solvent": "toluene", "temperature": 25})
    assert answer["result"]["polymer"] == "PMMA (calibrated on 9 tests)"
    answer = service.handle({"id": 2, "op": "screen", "profile": doc, "top": 2})
    assert answer["result"]["polymers"] == ["PMMA (calibrated on 9 tests)"]
    answer = service.handle({"id": 3, "op": "predict", "profile": {**doc, "model_sha256": "0" * 64}, "solvent": "toluene",
                             "temperature": 25})
    assert "calibrate again" in answer["error"]
    answer = service.handle({"id": 4, "op": "predict", "profile": doc, "polymer": "PS", "solvent": "toluene", "temperature": 25})
    assert "not both" in answer["error"]
    answer = service.handle({"id": 5, "op": "calibrate", "polymer": "PMMA",
                             "tests": [{"solvent": "toluene", "chi": 0.3}, {"solvent": "nope", "soluble": 1}]})
    made = answer["result"]
    assert made["format"] == doc["format"] and [s["line"] for s in made["skipped"]] == [2]
    assert service.handle({"id": 6, "op": "predict", "profile": made, "solvent": "toluene", "temperature": 25})["result"]
    assert "non-empty list" in service.handle({"id": 7, "op": "calibrate", "polymer": "PMMA", "tests": "x"})["error"]


def test_api_refuses_bad_tests(predictor):
    with pytest.raises(ChiLiteError, match="non-empty list"):
        predictor.calibrate("PMMA", [])
    with pytest.raises(ChiLiteError, match="no usable test"):
        predictor.calibrate("PMMA", [{"solvent": "toluene"}])


def test_offset_absorbs_a_uniform_shift(predictor):
    """With the sphere pinned (huge λ), twenty tests 0.3 above the ensemble put each member's gap into its χ offset."""
    model, prior, solvents, temps, chi = pmma_setup(predictor)
    fit = fit_embedding(model.head, prior, solvents, temps, chi.mean(1) + 0.3, np.full(20, np.nan), strength=1e8,
                        offset_prior=1.0, slope_prior=0.0)
    assert np.allclose(fit.offset[:, 0], 0.3 + (chi.mean(1)[:, None] - chi).mean(axis=0), atol=0.01)  # per member
    assert np.allclose(fit.offset[:, 1], 0.0, atol=1e-6)
    assert np.allclose(fit.embedding, prior, atol=1e-3)
    off = fit_embedding(model.head, prior, solvents, temps, chi.mean(1) + 0.3, np.full(20, np.nan), strength=1e8,
                        offset_prior=0.0)
    assert np.allclose(off.offset, 0.0, atol=1e-6)


def test_soluble_tests_move_chi_across_the_verdict_line(predictor):
    """Soluble tests enter through χ < 0.5: 'no' in solvents the model calls good pushes their χ up past 0.5."""
    good = [s for s in SOLVENTS if predictor.predict("PMMA", s, 25).chi < 0.4][:4]
    assert good
    profile = predictor.calibrate("PMMA", [{"solvent": s, "soluble": "no"} for s in good])
    assert all(predictor.predict(profile, s, 25).chi > predictor.predict("PMMA", s, 25).chi for s in good)


def _offset_profile(predictor, delta):
    """A PMMA profile whose χ offset is ``delta`` (ΔA) on top of its fitted sphere."""
    profile = predictor.calibrate("PMMA", _shift(predictor, SOLVENTS[:3], 0.2))
    return PolymerProfile(**{**profile.__dict__, "chi_offset": np.tile([delta, 0.0], (len(profile.embedding), 1))})


def test_every_path_applies_the_offset(predictor, tmp_path):
    """predict, the phase grid, screen and the distributed screen all add the profile's χ offset."""
    from chi_lite import distributed
    from chi_lite.screening import Screener

    plain, shifted = _offset_profile(predictor, 0.0), _offset_profile(predictor, 0.25)
    a, b = predictor.predict(plain, "toluene", 40), predictor.predict(shifted, "toluene", 40)
    assert abs(b.chi - a.chi - 0.25) < 1e-5 and abs(b.A - a.A - 0.25) < 1e-5 and abs(b.B - a.B) < 1e-3
    grid = predictor.predict_temperatures(shifted, "toluene", [313.15, 350.0])
    assert abs(grid[0].chi - b.chi) < 1e-5
    library = tmp_path / "lib.smi"
    library.write_text("Cc1ccccc1 toluene\nCC(C)=O acetone\n")
    screener = Screener()
    for run in (lambda p: screener.screen([p], library, 40),
                lambda p: distributed.screen(library, [p], 40, screener=screener)):
        chis = [{row["smiles"]: row["chi"] for row in run(p).rows} for p in (plain, shifted)]
        assert chis[0].keys() == chis[1].keys() and len(chis[0]) == 2
        for smiles, chi in chis[0].items():
            assert abs(chis[1][smiles] - chi - 0.25) < 1e-4
        assert abs(chis[1]["Cc1ccccc1"] - b.chi) < 1e-4


def test_format_1_profile_reads_with_zero_offset(predictor):
    """Profiles written before the χ offset (format 1) still load and predict exactly as their sphere does."""
    profile = _offset_profile(predictor, 0.0)
    doc = profile.to_dict()
    doc["format"] = "chi-lite polymer profile 1"
    del doc["chi_offset"]
    old = predictor.load_profile(doc)
    assert old.chi_offset is None and old.offset_ab == (0.0, 0.0)
    assert abs(predictor.predict(old, "acetone", 25).chi - predictor.predict(profile, "acetone", 25).chi) < 1e-6
    bad = {**profile.to_dict(), "chi_offset": [[0.1]]}
    with pytest.raises(ProfileError, match="chi_offset must be"):
        predictor.load_profile(bad)
