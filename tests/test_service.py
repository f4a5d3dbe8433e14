"""The serve protocol, driven directly (no transport): every answer shape, every refusal, and threads."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from chi_lite.predictor import ChiPredictor
from chi_lite.service import ChiService, encode

PS, TOLUENE = "*CC(*)c1ccccc1", "Cc1ccccc1"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> ChiPredictor:
    return ChiPredictor(tiny_model_dir)


@pytest.fixture()
def service(predictor) -> ChiService:
    return ChiService(predictor, max_batch=5)


def test_single_pair_matches_the_python_api(service, predictor):
    answer = service.handle({"id": 1, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25})
    expected = predictor.predict(PS, TOLUENE, 25)
    assert answer["id"] == 1 and "error" not in answer
    assert answer["result"]["chi"] == pytest.approx(expected.chi, abs=1e-7)
    assert answer["result"]["temperature_k"] == pytest.approx(298.15)
    kelvin = service.handle({"id": 2, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 298.15, "kelvin": True})
    assert kelvin["result"]["chi"] == pytest.approx(expected.chi, abs=1e-6)


def test_chain_length_sets_the_verdict(service, predictor):
    from chi_lite.flory_huggins import critical_chi

    one = service.handle({"op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25, "chain_length": 1000})["result"]
    direct = predictor.predict(PS, TOLUENE, 25, chain_length=1000)
    assert one["chi_critical"] == pytest.approx(critical_chi(1000)) and one["miscible"] is direct.miscible
    assert one["p_miscible"] == pytest.approx(direct.p_miscible) and one["domain"] == direct.domain
    assert "p_miscible_fh" not in one and "domain_note" in one and "t_dissolve_c" in one
    many = service.handle({"op": "predict", "chain_length": 10, "pairs": [
        {"polymer": PS, "solvent": TOLUENE, "temperature": 25}, {"polymer": PS, "solvent": "C(", "temperature": 25}]})["result"]
    assert many[0]["chain_length"] == 10 and "chi_critical" not in many[1] and "error" in many[1]
    assert "below 1" in service.handle({"op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25, "chain_length": 0.5})["error"]
    assert "must be a number" in service.handle({"op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25, "chain_length": [1]})["error"]


def test_batch_keeps_order_and_each_failure_carries_its_error(service, predictor):
    pairs = [
        {"polymer": PS, "solvent": TOLUENE, "temperature": 25},
        {"polymer": PS, "solvent": "C(", "temperature": 25},
        "not a pair",
        {"polymer": "*CCO*", "solvent": "O", "temperature": "40"},
        {"polymer": PS, "solvent": TOLUENE},
    ]
    answer = service.handle({"id": "b", "op": "predict", "pairs": pairs})
    results = answer["result"]
    assert answer["id"] == "b" and len(results) == 5
    assert results[0]["chi"] == pytest.approx(predictor.predict(PS, TOLUENE, 25).chi, abs=1e-7)
    assert "invalid solvent SMILES" in results[1]["error"] and results[1]["solvent"] == "C("
    assert "must be an object" in results[2]["error"]
    assert results[3]["chi"] == pytest.approx(predictor.predict("*CCO*", "O", 40).chi, abs=1e-7)
    assert results[4]["temperature_c"] == pytest.approx(25.0)  # no temperature: 25 °C, as screen
    assert [("error" in r) for r in results] == [False, True, True, False, False]


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"id": 3, "op": "predict", "polymer": PS, "temperature": 25}, "lacks solvent"),
        ({"id": 3, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": "hot"}, "not a number"),
        ({"id": 3, "op": "predict", "polymer": "*CC", "solvent": TOLUENE, "temperature": 25}, "exactly two '*'"),
        ({"id": 3, "op": "predict", "polymer": 5, "solvent": TOLUENE, "temperature": 25}, "'polymer' must be a string"),
        ({"id": 3, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25, "temp": 1}, "unknown field(s) 'temp'"),
        ({"id": 3, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25, "kelvin": "yes"}, "'kelvin' must be"),
        ({"id": 3, "op": "predict", "pairs": []}, "non-empty list"),
        ({"id": 3, "op": "predict", "pairs": [{"polymer": PS, "solvent": TOLUENE, "temperature": 25}] * 6}, "limit is 5"),
        ({"id": 3, "op": "frobnicate"}, "unknown op 'frobnicate'"),
        ({"id": 3}, "has no 'op'"),
    ],
)
def test_refusals_answer_with_the_id_and_one_line(service, request_, message):
    answer = service.handle(request_)
    assert answer == {"id": 3, "error": answer["error"]}
    assert message in answer["error"] and "\n" not in answer["error"]


def test_malformed_lines_are_answered_with_the_id_when_it_can_be_read(service):
    truncated = service.handle_line('{"id": 17, "op": "predict", "polymer": ')
    assert truncated["id"] == 17 and "not valid JSON" in truncated["error"]
    assert service.handle_line('{"id": "abc", oops}')["id"] == "abc"
    assert service.handle_line("nonsense")["id"] is None
    assert "not valid JSON" in service.handle_line(b"\xff\xfe{")["error"]
    assert "must be a JSON object" in service.handle_line("[1, 2]")["error"]


def test_info_and_health(service, predictor, tiny_model_dir):
    info = service.handle({"id": 1, "op": "info"})["result"]
    assert info["directory"] == str(tiny_model_dir) and info["files"]["chi_model.onnx"] == predictor.artifact.sha256
    service.handle({"op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25})
    health = service.handle({"op": "health"})["result"]
    assert health["status"] == "ok" and health["model_sha256"] == predictor.artifact.sha256
    assert health["requests_served"] >= 2


def test_encode_is_one_json_line_even_for_non_finite_numbers():
    line = encode({"id": 1, "result": {"chi": float("nan"), "A": float("inf"), "note": "χ"}})
    assert "\n" not in line and json.loads(line) == {"id": 1, "result": {"chi": None, "A": None, "note": "χ"}}


def test_concurrent_callers_get_their_own_answers(predictor):
    """Many threads through one service: the descriptor LRUs are shared, answers must not mix up."""
    service = ChiService(predictor)
    solvents = ["Cc1ccccc1", "O", "CCO", "ClC(Cl)Cl", "CC(C)=O", "c1ccccc1", "CCCCCC", "CO"]
    expected = {s: predictor.predict(PS, s, 25).chi for s in solvents}
    predictor.loaded._solvents.clear()  # make the threads race on cache inserts, not only on reads

    def ask(i: int) -> tuple[str, dict]:
        s = solvents[i % len(solvents)]
        return s, service.handle({"id": i, "op": "predict", "polymer": PS, "solvent": s, "temperature": 25})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(200)))
    for i, (solvent, answer) in enumerate(answers):
        assert answer["id"] == i and answer["result"]["solvent"] == solvent
        assert answer["result"]["chi"] == pytest.approx(expected[solvent], abs=1e-7)


@pytest.fixture(scope="module")
def screening_service(tiny_model_dir) -> ChiService:
    from chi_lite.screening import Screener

    screener = Screener(tiny_model_dir)
    return ChiService(screener.predictor, max_batch=5, screener=screener)


def test_screen_builtin_ranks_like_the_screening_api(screening_service):
    answer = screening_service.handle({"id": 7, "op": "screen", "polymer": "polystyrene", "temperature": 25, "top": 4})
    result = answer["result"]
    direct = screening_service.screener.screen(["polystyrene"], "builtin", 25, top=4)
    assert answer["id"] == 7 and result["polymer_smiles"] == [PS]
    assert [r["smiles"] for r in result["rows"]] == [r["smiles"] for r in direct.rows]
    chis = [r["chi"] for r in result["rows"]]
    assert len(chis) == 4 and chis == sorted(chis)


def test_screen_inline_solvents_keep_positions_and_report_bad_ones(screening_service, predictor):
    answer = screening_service.handle(
        {"id": 8, "op": "screen", "polymers": [PS, "*CCO*"], "solvents": ["toluene", "C(", "O"], "top": 10}
    )["result"]
    assert answer["rows_read"] == 3 and answer["bad_rows"][0]["line"] == 2
    assert sorted(r["line"] for r in answer["rows"]) == [1, 3]
    toluene = next(r for r in answer["rows"] if r["line"] == 1)
    assert (toluene["name"], toluene["smiles"]) == ("toluene", TOLUENE)
    water = next(r for r in answer["rows"] if r["line"] == 3)
    assert water[f"chi[{PS}]"] == pytest.approx(predictor.predict(PS, "O", 25).chi, abs=1e-5)


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"id": 3, "op": "screen"}, "give 'polymer'"),
        ({"id": 3, "op": "screen", "polymer": PS, "library": "/etc/passwd"}, "'library' must be \"builtin\""),
        ({"id": 3, "op": "screen", "polymer": PS, "top": 0}, "'top' must be an integer"),
        ({"id": 3, "op": "screen", "polymer": PS, "solvents": ["O"] * 6}, "limit is 5"),
        ({"id": 3, "op": "screen", "polymer": PS, "solvents": ["O\nCCO"]}, "one non-empty line"),
        ({"id": 3, "op": "screen", "polymer": PS, "sort": "warmest"}, "sort must be one of"),
        ({"id": 3, "op": "screen", "polymer": "polystyrne"}, "polystyrene"),
        ({"id": 3, "op": "screen", "polymer": PS, "topp": 3}, "unknown field(s) 'topp'"),
    ],
)
def test_screen_refusals_answer_in_one_line(screening_service, request_, message):
    answer = screening_service.handle(request_)
    assert answer == {"id": 3, "error": answer["error"]}
    assert message in answer["error"] and "\n" not in answer["error"]


def test_screen_op_exists_only_with_a_screener(service):
    assert "unknown op 'screen'" in service.handle({"id": 1, "op": "screen", "polymer": PS})["error"]
