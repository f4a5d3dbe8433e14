"""The answer layer: one verdict, crystalline dissolution temperature, applicability domain,
chemistry refusals, temperature sanity, and one formatting of the fields everywhere."""

from __future__ import annotations

import csv
import json
import math

import pytest

from chi_lite import ChiPredictor
from chi_lite.answer import VERDICT_COLUMNS, AnswerContext, chi_of_t, json_text, verdict_fields
from chi_lite.crystalline import (
    crystalline_properties,
    dissolution_temperature,
    known_crystalline,
    melting_critical_chi,
    solvent_molar_volume,
)
from chi_lite.domain import DomainFacts, assess
from chi_lite.errors import ChiLiteError, InvalidCrystallineError, NotPolymerSolventError
from chi_lite.service import ChiService
from chi_lite.verdict import VerdictModel, melt_probability

from .conftest import SHIPPED
from .test_cli import PS, TOLUENE, run

PE, XYLENE = "*CC*", "Cc1ccc(C)cc1"


# ---- formatting ------------------------------------------------------------------------------

def test_negative_b_prints_a_minus_sign():
    assert chi_of_t(0.4671, -31.0) == "0.4671 − 31.00 K / T"
    assert chi_of_t(0.2, 24.9) == "0.2000 + 24.90 K / T"


def test_json_never_contains_nan_or_infinity():
    text = json_text({"a": math.nan, "b": [math.inf, 1.5], "c": {"d": -math.inf}})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


# ---- crystalline ---------------------------------------------------------------------------

def test_table_carries_sourced_crystalline_properties():
    for name in ("*CC*", "*NCCCCCC(*)=O", "*OCCOC(=O)c1ccc(C(*)=O)cc1", "*CCO*", "*C(F)(F)C(*)(F)F"):
        props = known_crystalline(name)
        assert props is not None and props.tm0_k > 300 and props.dhu_kj_mol > 0 and props.vu_cm3_mol > 0
        assert any(s in props.source for s in ("Wunderlich", "Brandrup", "Mark", "Van Krevelen"))
    assert known_crystalline(PS) is None  # atactic PS: amorphous


def test_flory_depression_puts_polyethylene_in_xylene_near_100_c():
    props = known_crystalline(PE)
    t_d = dissolution_temperature(props, 0.35, 0.0, solvent_molar_volume(XYLENE)) - 273.15
    assert 90 < t_d < 125
    assert 100 < solvent_molar_volume(XYLENE) < 150  # p-xylene: 123 cm³/mol
    assert 14 < solvent_molar_volume("O") < 30  # water: 18 cm³/mol


@pytest.mark.parametrize("a, b", [(5.0, 0.0), (-50.0, 0.0), (0.3, -1e6), (0.3, 1e6), (0.0, 0.0)])
def test_dissolution_temperature_is_always_finite_and_bracketed(a, b):
    props = known_crystalline(PE)
    t_d = dissolution_temperature(props, a, b, 100.0)
    assert math.isfinite(t_d) and 1.0 <= t_d <= props.tm0_k
    if a >= 1 and b == 0:
        assert t_d == props.tm0_k  # χ ≥ 1: no depression


def test_user_crystalline_properties_are_checked():
    props = crystalline_properties("141.5", 8.22, 32.8)
    assert props.tm0_k == pytest.approx(414.65)
    for bad in (("hot", 8, 30), (600, 8, 30), (100, 0, 30), (100, 8, -1)):
        with pytest.raises(InvalidCrystallineError):
            crystalline_properties(*bad)


# ---- verdict ---------------------------------------------------------------------------------

def test_verdict_moves_with_temperature_and_the_melt_probability():
    model = VerdictModel(0.5, 0.6, 0.4, 0.3, "stacked")
    cold = model.probability(0.6, 0.9, 0.1, 0.5)
    warm = model.probability(0.6, 0.3, 0.1, 0.5)
    assert warm > cold  # χ(T) falling below χ_c raises p_miscible
    assert melt_probability(0.9, 0.1, 0.5) < 1e-4 and melt_probability(0.1, 0.1, 0.5) > 0.9999
    assert melt_probability(0.5, 0.3, 0.5) == pytest.approx(0.5)  # χ̂ on χ_melt: a coin toss
    assert melt_probability(0.7, 0.0, 0.5, floor=0.2) == pytest.approx(0.5 * math.erfc(1 / math.sqrt(2)))  # 1 σ
    assert melt_probability(0.9, 0.1, None) == 1.0  # amorphous
    # σ widens the step: the same distance below χ_melt is less certain with a larger σ
    assert melt_probability(0.8, 0.1, 0.5) < melt_probability(0.8, 0.5, 0.5) < 0.5


def test_melting_critical_chi_matches_the_dissolution_temperature():
    props, volume = known_crystalline(PE), solvent_molar_volume(XYLENE)
    t_d = dissolution_temperature(props, 0.35, 0.0, volume)
    assert melting_critical_chi(props, t_d, volume) == pytest.approx(0.35, abs=1e-6)  # χ(T_d) = χ_melt(T_d)
    assert melting_critical_chi(props, props.tm0_k, volume) == pytest.approx(1.0)
    assert melting_critical_chi(props, 298.15, volume) < 0.35 < melting_critical_chi(props, 403.15, volume)
    with pytest.raises(InvalidCrystallineError):
        melting_critical_chi(props, 0.0, volume)


def test_verdict_fields_are_self_consistent():
    context = AnswerContext(VerdictModel(), None)
    below = verdict_fields(context, PE, XYLENE, 298.15, 0.35, 0.05, 0.35, 0.0, None)
    above = verdict_fields(context, PE, XYLENE, 403.15, 0.35, 0.05, 0.35, 0.0, None)
    assert below["verdict"] == "insoluble (crystalline)" and not below["miscible"]
    assert above["verdict"] == "soluble" and above["miscible"] and above["p_miscible"] >= 0.5
    assert below["t_dissolve_c"] == above["t_dissolve_c"] and 90 < below["t_dissolve_c"] < 125
    # σ on χ makes the crystalline factor a probability, not a step: near T_d a wide σ gives a doubtful answer
    t_d = below["t_dissolve_c"] + 273.15
    sure = verdict_fields(context, PE, XYLENE, t_d + 5, 0.35, 0.01, 0.35, 0.0, None)["p_miscible"]
    unsure = verdict_fields(context, PE, XYLENE, t_d + 5, 0.35, 0.5, 0.35, 0.0, None)["p_miscible"]
    assert sure > 0.9 and 0.1 < unsure < sure
    n = verdict_fields(context, PS, TOLUENE, 298.15, 0.5, 0.05, 0.5, 0.0, None, chain_length=100)
    assert n["chi_critical"] == pytest.approx(0.5 * (1 + 0.1) ** 2) and n["miscible"] is True and n["chain_length"] == 100


# ---- domain ----------------------------------------------------------------------------------

FACTS = DomainFacts(
    elements=frozenset({"C", "O", "Cl"}),
    polymers=frozenset({"*CC(*)c1ccccc1"}),
    solvents=frozenset({"Cc1ccccc1"}),
    temperature_k=(273.15, 502.15),
    novelty={"polymer": {"near": 1.0, "out": 3.0}, "solvent": {"near": 1.0, "out": 3.0}},
)


def test_domain_grades_elements_membership_temperature_and_novelty():
    assert assess(FACTS, PS, TOLUENE, 300.0) == assess(FACTS, PS, TOLUENE, 300.0, {"polymer": 0.5})
    assert assess(FACTS, PS, TOLUENE, 300.0).domain == "in"
    si = assess(FACTS, "*[Si](C)(C)O*", TOLUENE, 300.0)
    assert si.domain == "out" and "element Si" in si.note
    new = assess(FACTS, PS, "CCO", 300.0)
    assert new.domain == "near" and "solvent has no χ training rows" in new.note
    assert assess(FACTS, PS, TOLUENE, 520.0).domain == "near" and assess(FACTS, PS, TOLUENE, 600.0).domain == "out"
    assert "temperature outside the training range 0–229 °C" in assess(FACTS, PS, TOLUENE, 600.0).note
    assert assess(FACTS, PS, TOLUENE, 300.0, {"polymer": 2.0}).domain == "near"
    far = assess(FACTS, PS, TOLUENE, 300.0, {"solvent": 4.0, "polymer": None})
    assert far.domain == "out" and "solvent far from every training molecule" in far.note


def test_domain_without_novelty_thresholds_skips_that_criterion():
    facts = DomainFacts(FACTS.elements, FACTS.polymers, FACTS.solvents, FACTS.temperature_k, {})
    assert assess(facts, PS, TOLUENE, 300.0, {"polymer": 99.0, "solvent": 99.0}).domain == "in"
    assert assess(None, PS, TOLUENE, 300.0).domain == "near"  # a model without domain facts says so
    near_only = DomainFacts(FACTS.elements, FACTS.polymers, FACTS.solvents, FACTS.temperature_k, {"polymer": {"near": 1.0}})
    assert assess(near_only, PS, TOLUENE, 300.0, {"polymer": 99.0}).domain == "near"  # no out threshold: never out by novelty


def test_training_novelty_thresholds_and_stacking_on_synthetic_rows():
    np = pytest.importorskip("numpy")
    from chi_lite_train.verdict import fit_logistic, grouped_stacking_cv, novelty_thresholds

    rng = np.random.default_rng(0)
    novelty = rng.uniform(0, 10, 400)
    rows = [{"chi": 0.5, "pred": 0.5 + (0.05 if d < 8 else 1.0) * rng.choice([-1, 1]), "solvent_novelty": float(d),
             "polymer_novelty": float(d)} for d in novelty]
    limits, evidence = novelty_thresholds([{"scheme": "solvents", "predictions": rows}])
    assert set(limits) == {"solvent"}  # only the role the report holds out
    assert limits["solvent"]["near"] == pytest.approx(novelty.min()) and 7 < limits["solvent"]["out"] < 8.5
    assert evidence["solvent"]["candidates"]["0.8"]["ratio"] > 5
    flat = [{**r, "pred": 0.5 + 0.1 * rng.choice([-1, 1])} for r in rows]  # novelty says nothing about the error
    limits, _ = novelty_thresholds([{"scheme": "polymers", "predictions": flat}])
    assert "out" not in limits["polymer"] and "near" in limits["polymer"]
    assert novelty_thresholds([{"scheme": "pairs", "predictions": [{"chi": 1, "pred": 1}]}]) == ({}, {})
    x = rng.normal(size=(300, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.3, size=300) > 0).astype(float)
    w = fit_logistic(x, y)
    assert w[1] > 0 and w[2] > 0
    labelled = [{"polymer": f"P{i % 30}", "solvent": "CCO", "label": int(y[i]), "p_miscible": float(1 / (1 + math.exp(-x[i, 0]))),
                 "chi": 0.5 - 0.3 * float(x[i, 1]), "chi_std": 0.1} for i in range(300)]
    cv = grouped_stacking_cv(labelled)
    assert cv["verdict"]["accuracy"] > 0.8 and cv["verdict"]["roc_auc"] >= cv["classifier"]["roc_auc"] - 0.02


def test_crystalline_rows_get_the_melt_factor_in_training_as_at_runtime():
    np = pytest.importorskip("numpy")
    from chi_lite_train.verdict import crystalline_evidence, melt_chi, melt_factor, row_sigma

    rows = [{"polymer": PE, "solvent": TOLUENE, "label": 0, "p_miscible": 0.9, "chi": 0.35, "chi_std": 0.05,
             "polymer_novelty": 0.0, "solvent_novelty": 0.0},
            {"polymer": PS, "solvent": TOLUENE, "label": 1, "p_miscible": 0.9, "chi": 0.35, "chi_std": 0.05,
             "polymer_novelty": 0.0, "solvent_novelty": 0.0}]
    chi_melt = melt_chi(rows)
    assert chi_melt[0] < 0.35 and np.isnan(chi_melt[1])  # PE at 25 °C: crystals stay; PS: amorphous
    melt = melt_factor(rows, np.array([0.05, 0.05]), chi_melt, 0.1)
    assert melt[0] < 0.01 and melt[1] == 1.0
    params = {"spread_scale": 2.0, "floor": 0.1, "polymer_scale": 0.0, "solvent_scale": 0.0}
    assert row_sigma(rows, params) == pytest.approx([math.hypot(0.1, 0.1)] * 2)  # calibrated as the runtime does
    assert row_sigma(rows, None) == pytest.approx([0.05, 0.05])
    assert crystalline_evidence(rows[1:], np.array([0.05]), 0.1, 0.0) == {"rows": 0}


# ---- refusals: one line, exit code 2 ---------------------------------------------------------

@pytest.mark.parametrize(
    "args, message",
    [
        (["--polymer", "*C.C*", "--solvent", TOLUENE, "--temperature", "25"], "disconnected"),
        (["--polymer", PS, "--solvent", "[Na+].[Cl-]", "--temperature", "25"], "salts and mixtures"),
        (["--polymer", PS, "--solvent", "[Na+]", "--temperature", "25"], "is an ion"),
        (["--polymer", PS, "--solvent", "[CH3]", "--temperature", "25"], "radical"),
        (["--polymer", "*CC(*)[CH2]", "--solvent", TOLUENE, "--temperature", "25"], "radical"),
        (["--polymer", PS, "--solvent", TOLUENE, "--temperature", "1e308"], "outside 1–1000 K"),
        (["--polymer", PS, "--solvent", TOLUENE, "--temperature", "1e-300", "--kelvin"], "outside 1–1000 K"),
        (["--polymer", PS, "--solvent", TOLUENE, "--temperature", "nan"], "not a finite number"),
        (["--polymer", PS, "--solvent", TOLUENE, "--temperature", "inf"], "not a finite number"),
    ],
)
def test_not_a_question_is_refused_in_one_line(tiny_model_dir, args, message):
    out = run("predict", *args, model=tiny_model_dir)
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_api_refusals_are_specific_errors(tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    with pytest.raises(NotPolymerSolventError):
        predictor.predict("*C.C*", TOLUENE, 25)
    with pytest.raises(NotPolymerSolventError):
        predictor.predict(PS, "[Na+].[Cl-]", 25)
    outcomes = predictor.predict_many([(PS, "[Na+].[Cl-]", 25), (PS, TOLUENE, 25)])
    assert "salts" in outcomes[0].error and outcomes[1].ok


def test_kelvin_like_celsius_warns_on_stderr(tiny_model_dir, tmp_path):
    out = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "298", model=tiny_model_dir)
    assert out.returncode == 0 and "--kelvin" in out.stderr and "warning" in out.stderr
    quiet = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "298", "--kelvin", model=tiny_model_dir)
    assert quiet.returncode == 0 and "warning: temperature" not in quiet.stderr
    screen = run("screen", "--polymer", PS, "--temperature", "300", "--top", "1", model=tiny_model_dir)
    assert screen.returncode == 0 and "--kelvin" in screen.stderr
    phase = run("phase", "--polymer", PS, "--solvent", TOLUENE, "--chain-length", "100", "--tmin", "20", "--tmax", "250",
                "--points", "3", model=tiny_model_dir)
    assert phase.returncode == 0 and "--kelvin" in phase.stderr
    src = tmp_path / "pairs.csv"
    src.write_text(f"polymer,solvent,temperature\n{PS},{TOLUENE},310\n{PS},{TOLUENE},25\n")
    batch = run("predict", "--input", str(src), model=tiny_model_dir)
    assert batch.returncode == 0 and "1 temperature(s)" in batch.stderr


# ---- every new field everywhere --------------------------------------------------------------

ANSWER_FIELDS = ("chi_critical", "p_miscible", "miscible", "verdict", "t_dissolve_c", "domain", "domain_note")


def test_an_answer_field_is_declared_once_in_answer_py():
    """verdict_fields builds the fields, VERDICT_COLUMNS lists them; ChiPrediction and the screen take them from there."""
    from dataclasses import fields

    from chi_lite.predictor import ChiPrediction
    from chi_lite.screening import SCREEN_ANSWER_COLUMNS

    built = verdict_fields(AnswerContext(VerdictModel(), None), PS, TOLUENE, 298.15, 0.4, 0.05, 0.4, 0.0, None)
    assert set(built) == {"chain_length", *VERDICT_COLUMNS} and tuple(VERDICT_COLUMNS) == SCREEN_ANSWER_COLUMNS
    assert set(built) <= {f.name for f in fields(ChiPrediction)}
    assert tuple(VERDICT_COLUMNS) == ANSWER_FIELDS


def test_predict_table_csv_json_carry_every_answer_field(tiny_model_dir):
    base = ("predict", "--polymer", "polyethylene", "--solvent", "toluene", "--temperature", "25")
    record = json.loads(run(*base, "--format", "json", model=tiny_model_dir).stdout)
    assert all(f in record for f in ANSWER_FIELDS) and "p_miscible_fh" not in record
    assert record["t_dissolve_c"] is not None and record["miscible"] is (record["p_miscible"] >= 0.5)
    row = next(csv.DictReader(run(*base, "--format", "csv", model=tiny_model_dir).stdout.splitlines()))
    assert all(f in row for f in ANSWER_FIELDS) and row["miscible"] in ("yes", "no") and row["domain"] == record["domain"]
    table = run(*base, model=tiny_model_dir).stdout
    for label in ("verdict ", "miscible ", "t_dissolve ", "domain "):
        assert label in table
    assert ("warning: outside the training domain" in table) is (record["domain"] != "in")
    assert "True" not in table and "False" not in table


def test_serve_carries_the_answer_and_accepts_crystalline_properties(tiny_model_dir):
    from chi_lite.screening import Screener

    screener = Screener(tiny_model_dir)
    service = ChiService(screener.predictor, screener=screener)
    plain = service.handle({"op": "predict", "polymer": "*CCCC*", "solvent": TOLUENE, "temperature": 25})["result"]
    assert plain["t_dissolve_c"] is None and all(f in plain for f in ANSWER_FIELDS)
    given = service.handle({"op": "predict", "polymer": "*CCCC*", "solvent": TOLUENE, "temperature": 25,
                            "tm0_c": 141.5, "dhu_kj_mol": 16.4, "vu_cm3_mol": 65.6})["result"]
    assert given["t_dissolve_c"] is not None and given["t_dissolve_c"] < 141.5
    missing = service.handle({"op": "predict", "polymer": "*CCCC*", "solvent": TOLUENE, "temperature": 25, "tm0_c": 141.5})
    assert "missing dhu_kj_mol, vu_cm3_mol" in missing["error"]
    bad = service.handle({"op": "predict", "polymer": "*CCCC*", "solvent": TOLUENE, "temperature": 25,
                          "tm0_c": "hot", "dhu_kj_mol": 16.4, "vu_cm3_mol": 65.6})
    assert "T_m0" in bad["error"]
    warned = service.handle({"op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 300})["result"]
    assert "--kelvin" in warned["warning"]
    screened = service.handle({"op": "screen", "polymer": "polyethylene", "solvents": ["toluene", "water"]})["result"]
    assert all(f in screened["rows"][0] for f in ANSWER_FIELDS) and screened["rows"][0]["t_dissolve_c"] is not None
    refused = service.handle({"op": "predict", "polymer": PS, "solvent": "[Na+].[Cl-]", "temperature": 25})
    assert "salts" in refused["error"]


def test_api_crystalline_override_for_a_smiles_polymer(tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    props = crystalline_properties(141.5, 16.4, 65.6)
    cold = predictor.predict("*CCCC*", TOLUENE, 25, crystalline=props)
    hot = predictor.predict("*CCCC*", TOLUENE, 200, crystalline=props)
    assert cold.t_dissolve_c == pytest.approx(hot.t_dissolve_c) and cold.verdict == "insoluble (crystalline)"
    assert predictor.predict("*CCCC*", TOLUENE, 25).t_dissolve_c is None


def test_phase_carries_domain_and_verdict(tiny_model_dir):
    out = run("phase", "--polymer", "polyethylene", "--solvent", "toluene", "--chain-length", "100", "--points", "3",
              "--format", "json", model=tiny_model_dir)
    diagram = json.loads(out.stdout)
    assert diagram["t_dissolve_c"] is not None and diagram["domain"] in ("in", "near", "out")
    assert all("p_miscible" in p and "verdict" in p and "domain" in p for p in diagram["points"])


# ---- the shipped model -----------------------------------------------------------------------

@pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(), reason="no shipped model")
def test_shipped_model_answers_the_crystalline_and_domain_cases():
    predictor = ChiPredictor(SHIPPED)
    assert predictor.answer_context.verdict.basis == "stacked" and predictor.answer_context.domain is not None
    cold = predictor.predict("polyethylene", "toluene", 25)
    assert cold.verdict == "insoluble (crystalline)" and not cold.miscible
    hot = predictor.predict("polyethylene", "p-xylene", 130)
    assert hot.miscible and 90 < hot.t_dissolve_c < 125
    assert predictor.predict("PDMS", "DMSO", 25).domain == "out"
    assert predictor.predict(PS, TOLUENE, 300).domain == "out"
    a, b = predictor.predict("PNIPAM", "water", 20), predictor.predict("PNIPAM", "water", 45)
    assert a.p_miscible != b.p_miscible  # temperature moves the verdict through χ(T)


@pytest.mark.skipif(not (SHIPPED / "manifest.json").exists(), reason="no shipped model")
def test_training_writes_the_answer_layer_byte_for_byte(data_dir, tmp_path):
    pytest.importorskip("torch")
    import shutil

    from chi_lite_train.data import load_chi_data
    from chi_lite_train.verdict import write_answer_layer

    shutil.copy(SHIPPED / "manifest.json", tmp_path / "manifest.json")
    exp = load_chi_data(data_dir).exp
    reports = [SHIPPED.parent / "train" / "reports" / "pairs_metrics.json"]
    oof = SHIPPED.parent / "train" / "reports" / "miscibility_oof.json"
    written = write_answer_layer(tmp_path, oof, exp, reports)
    first = (tmp_path / "manifest.json").read_bytes()
    write_answer_layer(tmp_path, oof, exp, reports)
    assert (tmp_path / "manifest.json").read_bytes() == first
    section = json.loads(first)
    assert set(section["verdict"]["coefficients"]) == {"intercept", "classifier_logit", "chi_margin"}
    assert section["domain"]["temperature_k"][0] < section["domain"]["temperature_k"][1]
    assert {"C", "O"} <= set(section["domain"]["elements"]) and "Si" not in section["domain"]["elements"]
    assert written["domain"]["class_mae"]["pairs"]["in"]["n"] > 0
    crystalline = section["verdict"]["crystalline"]
    assert crystalline["rows"] > 0 and crystalline["combination"] == "product"  # table polymers among the labels
    assert section["verdict"]["chi_std_floor"] in (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
