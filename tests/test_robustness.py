"""Hostile and unusual inputs against the CLI, the API, `serve --stdio` and `serve --http` (issue 13).

Every test id starts with the failure class it guards against (traceback, hang, dataloss, security,
wrong): tests/robustness_table.py runs this file and counts the outcomes per class. What every case
asserts: exit code 0 or 2, one-line errors, N rows in → N rows out in order, no file outside
--output/--cache touched, and the server still answers afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chi_lite import ChiPredictor, Screener
from chi_lite.batch_io import read_pairs
from chi_lite.cli import main
from chi_lite.config import ModelManifest
from chi_lite.errors import ArtifactError, ChiLiteError, InputFileError, InvalidTemperatureError
from chi_lite.limits import MAX_HEAVY_ATOMS, MAX_SMILES_CHARS
from chi_lite.service import ChiService, encode
from chi_lite.units import to_kelvin

from .test_serve import CLI, PS, TOLUENE, Server, start

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- helpers -------------------------------------------------------------------------------------


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit code, stdout, stderr); a traceback fails the test."""
    environment = dict(os.environ)  # the CLI may set BLAS thread variables: keep them out of later tests
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        os.environ.clear()
        os.environ.update(environment)
    out, err = capsys.readouterr()
    assert code in (0, 2), (args, code, err)
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1 and (code == 0 or len(errors) == 1), err
    return code, out, err


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_size, p.read_bytes()) for p in folder.iterdir() if p.is_file()}


def untouched_except(before: dict, folder: Path, *allowed: str) -> None:
    after = snapshot(folder)
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)} - set(allowed)
    assert not changed, f"files touched outside --output/--cache: {sorted(changed)}"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> ChiPredictor:
    return ChiPredictor(tiny_model_dir)


@pytest.fixture()
def model_env(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("CHI_LITE_MODEL", str(tiny_model_dir))
    monkeypatch.delenv("CHI_LITE_THREADS", raising=False)
    return tiny_model_dir


# --- property-based: the API and the protocol never raise anything but their own errors ----------

smiles_text = st.one_of(
    st.text(alphabet="CNOcn()=#*[]@+-123456789.%/\\Hl", max_size=40),
    st.text(max_size=30),
    st.sampled_from(["C.**", "*CC*", "*CC(*)c1ccccc1", "Cc1ccccc1", "O", "", "\ud800", "*" * 3]),
)
temperature_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=20),
    st.sampled_from(["25,5", "1e308", "nan", "-inf", "9" * 400, "\u221240"]),
)


@FAST
@given(st.lists(st.tuples(smiles_text, smiles_text, temperature_values), min_size=1, max_size=6))
def test_wrong__predict_many_keeps_every_row_in_order(predictor, rows):
    outcomes = predictor.predict_many(rows)
    assert len(outcomes) == len(rows)
    for (polymer, solvent, _), outcome in zip(rows, outcomes):
        assert outcome.polymer == str(polymer) and outcome.solvent == str(solvent)
        if outcome.ok:
            assert np.isfinite(outcome.result.chi) and 1.0 <= outcome.result.temperature_k <= 1000.0
        else:
            assert "\n" not in outcome.error and outcome.error


@FAST
@given(temperature_values, st.booleans())
def test_wrong__temperatures_are_finite_and_in_range_or_refused(value, kelvin):
    try:
        k = to_kelvin(value, kelvin)
    except InvalidTemperatureError as exc:
        assert "\n" not in str(exc)
        return
    assert np.isfinite(k) and 1.0 <= k <= 1000.0


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
requests = st.one_of(
    json_values,
    st.fixed_dictionaries({"op": st.sampled_from(["predict", "screen", "info", "health", "x"])},
                          optional={"id": json_values, "polymer": smiles_text, "solvent": smiles_text,
                                    "temperature": temperature_values, "pairs": json_values, "kelvin": json_values}),
)


@FAST
@given(requests)
def test_traceback__any_json_request_gets_one_answer_line(predictor, request_):
    service = ChiService(predictor)
    try:
        line = json.dumps(request_)
    except ValueError:
        return
    answer = service.handle_line(line)
    assert set(answer) in ({"id", "result"}, {"id", "error"})
    text = encode(answer)
    assert "\n" not in text and set(json.loads(text)) == set(answer)
    text.encode("utf-8")


cells = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)


@FAST
@given(st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=8), st.sampled_from([",", ";", "\t"]),
       st.sampled_from([("polymer", "solvent", "temperature"), ("Polymer", "Solvent", "Temperature")]))
def test_dataloss__generated_csv_files_keep_every_row(tmp_path_factory, rows, delimiter, header):
    path = tmp_path_factory.mktemp("csv") / "pairs.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        _, read = read_pairs(path)
    except InputFileError as exc:
        assert "\n" not in str(exc)
        return
    expected = [r for r in csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter=delimiter)][1:]
    assert len(read) == len([r for r in expected if r])


# --- CLI: tracebacks and limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (("predict", "--polymer", "C.**", "--solvent", "toluene", "--temperature", "25"), "disconnected"),
        (("screen", "--polymer", "C.**", "--top", "1"), "disconnected"),
        (("phase", "--polymer", "C.**", "--solvent", "toluene", "--chain-length", "100"), "disconnected"),
        (("predict", "--polymer", "*" + "C" * 1998 + "*", "--solvent", "O", "--temperature", "25"), "characters; the limit"),
        (("predict", "--polymer", "*" + "C" * (MAX_HEAVY_ATOMS + 1) + "*", "--solvent", "O", "--temperature", "25"),
         "CHI_LITE_MAX_ATOMS"),
        (("predict", "--polymer", "PS", "--solvent", "C" * (MAX_HEAVY_ATOMS + 1), "--temperature", "25"), "heavy atoms"),
        (("predict", "--polymer", "*" + "c1ccc(cc1)" * 20 + "*", "--solvent", "O", "--temperature", "25"),
         "CHI_LITE_MAX_OLIGOMER_ATOMS"),
        (("predict", "--polymer", "PS", "--solvent", "O", "--temperature", "1e308"), "outside"),
        (("predict", "--polymer", "PS", "--solvent", "O", "--temperature", "nan"), "not a finite number"),
        (("predict", "--polymer", "PS", "--solvent", "O", "--temperature", "9" * 400), "at most 64"),
        (("screen", "--polymer", "PS", "--jobs", "100"), "max jobs"),
        (("screen", "--polymer", "PS", "--threads", "100000"), "max threads"),
        (("serve", "--stdio", "--http"), "not both"),
    ],
    ids=["traceback-molzip-predict", "traceback-molzip-screen", "traceback-molzip-phase", "hang-2000-atom-argument",
         "hang-repeat-unit-over-atom-limit", "hang-solvent-over-atom-limit", "hang-oligomer-over-limit",
         "wrong-1e308-celsius", "wrong-nan-temperature", "traceback-400-digit-temperature", "hang-jobs-100",
         "hang-threads-100000", "wrong-stdio-and-http"],
)
def test_cli_refusals(capsys, model_env, args, message):
    started = time.monotonic()
    code, _, err = cli(capsys, *args)
    assert code == 2 and message in err
    assert time.monotonic() - started < 20  # refused before any descriptor work


def test_hang__threads_from_the_environment_are_capped(capsys, model_env, monkeypatch):
    monkeypatch.setenv("CHI_LITE_THREADS", "100000")
    code, _, err = cli(capsys, "predict", "--polymer", "PS", "--solvent", "O", "--temperature", "25")
    assert code == 2 and "max threads" in err


def test_traceback__lone_surrogate_and_long_text_are_refused_by_the_api(predictor):
    for text in ("\ud800", "C" * (MAX_SMILES_CHARS + 1)):
        with pytest.raises(ChiLiteError) as info:
            predictor.predict("PS", text, 25)
        assert "\n" not in str(info.value)


def test_hang__name_resolver_cache_is_bounded(predictor):
    from chi_lite.limits import NAME_CACHE_ENTRIES
    from chi_lite.names import _resolve_cached

    for i in range(NAME_CACHE_ENTRIES + 50):
        predictor.predict_many([("PS", "C" * (1 + i % 40) + "O" * (i // 40), 25)])
    assert _resolve_cached.cache_info().currsize <= NAME_CACHE_ENTRIES
    with pytest.raises(ChiLiteError):
        predictor.predict("PS", "C" * 1_000_000, 25)  # refused before the cache: nothing of it is kept
    assert _resolve_cached.cache_info().currsize <= NAME_CACHE_ENTRIES


# --- CLI: data loss ------------------------------------------------------------------------------


def test_dataloss__cache_never_deletes_a_foreign_file(capsys, model_env, tmp_path):
    precious = tmp_path / "n.txt"
    precious.write_text("precious\n")
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "screen", "--polymer", "PS", "--top", "1", "--cache", str(precious))
    assert code == 2 and "not a chi-lite cache" in err
    untouched_except(before, tmp_path)


def test_dataloss__cache_equal_to_library_or_output_is_refused(capsys, model_env, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("Cc1ccccc1 toluene\nO water\n")
    before = snapshot(tmp_path)
    for args in (("--library", str(lib), "--cache", str(lib)), ("--output", str(lib), "--cache", str(lib)),
                 ("--library", str(lib), "--output", str(lib))):
        code, _, err = cli(capsys, "screen", "--polymer", "PS", *args)
        assert code == 2 and "same file" in err
    untouched_except(before, tmp_path)


def test_dataloss__corrupt_cache_is_rebuilt_with_a_warning(capsys, model_env, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("Cc1ccccc1 toluene\nO water\nCCO\n")
    cache = tmp_path / "c.db"
    code, first, _ = cli(capsys, "screen", "--polymer", "PS", "--library", str(lib), "--cache", str(cache))
    assert code == 0
    cache.write_bytes(cache.read_bytes()[:200])  # truncated
    with pytest.warns(RuntimeWarning, match="corrupt or truncated.*rebuilding"):  # the CLI prints it as one line
        code, again, err = cli(capsys, "screen", "--polymer", "PS", "--library", str(lib), "--cache", str(cache))
    assert code == 0 and again == first
    code, cached, err = cli(capsys, "screen", "--polymer", "PS", "--library", str(lib), "--cache", str(cache))
    assert code == 0 and "embedding cache" in err and cached == first


def test_dataloss__screens_sharing_one_cache_file_stay_correct(tiny_model_dir, tmp_path):
    libraries = []
    for i, solvents in enumerate((["Cc1ccccc1", "O", "CCO"], ["ClC(Cl)Cl", "CC(C)=O", "C1CCOC1", "CCCCCC"])):
        lib = tmp_path / f"lib{i}.smi"
        lib.write_text("".join(f"{s}\n" for s in solvents))
        libraries.append(lib)
    cache = tmp_path / "shared.db"
    with Screener(tiny_model_dir) as reference:
        expected = [[r["smiles"] for r in reference.screen("PS", lib).rows] for lib in libraries]
    problems: list[str] = []

    def worker(index: int) -> None:
        with Screener(tiny_model_dir) as screener:
            for _ in range(8):
                try:
                    rows = screener.screen("PS", libraries[index], cache=cache).rows
                    if [r["smiles"] for r in rows] != expected[index]:
                        problems.append(f"library {index}: wrong ranking {rows}")
                except Exception as exc:  # noqa: BLE001 (any exception is the failure we look for)
                    problems.append(f"library {index}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i % 2,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not problems, problems[:3]
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]  # no temporary file left behind


@pytest.mark.parametrize(
    "header, message",
    [("polymer,solvent,temperature,chi\n", "named like output columns"),
     ("polymer,solvent,temperature,error\n", "named like output columns"),
     ("polymer,solvent,temperature,Polymer\n", "twice")],
    ids=["dataloss-input-column-chi", "dataloss-input-column-error", "dataloss-duplicate-header"],
)
def test_batch_header_refusals(capsys, model_env, tmp_path, header, message):
    src = tmp_path / "in.csv"
    src.write_text(header + "PS,toluene,25,x\n")
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "predict", "--input", str(src), "--output", str(tmp_path / "out.csv"))
    assert code == 2 and message in err
    untouched_except(before, tmp_path)


def test_dataloss__output_equal_to_input_is_refused(capsys, model_env, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("polymer,solvent,temperature\nPS,toluene,25\n")
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "predict", "--input", str(src), "--output", str(src))
    assert code == 2 and "same file" in err
    untouched_except(before, tmp_path)


def test_dataloss__one_bad_row_fails_only_its_row(capsys, model_env, tmp_path, predictor):
    src = tmp_path / "in.csv"
    rows = [("PS", "toluene", "25"), ("C.**", "toluene", "25"), ("PS", "O", "9" * 400), ("PS", "\udcff", "25"),
            ("PS", "C" * 200_000, "25"), ("PS", "O", "40")]
    src.write_text("polymer,solvent,temperature\n" + "".join(f"{p},{s},{t}\n" for p, s, t in rows),
                   encoding="utf-8", errors="surrogateescape")
    out = tmp_path / "out.csv"
    before = snapshot(tmp_path)
    code, _, err = cli(capsys, "predict", "--input", str(src), "--output", str(out))
    untouched_except(before, tmp_path, "out.csv")
    if code == 2:  # the lone surrogate made the file non-UTF-8: a one-line refusal is the right answer
        assert "not UTF-8" in err
        rows = [r for r in rows if "\udcff" not in r[1]]
        src.write_text("polymer,solvent,temperature\n" + "".join(f"{p},{s},{t}\n" for p, s, t in rows))
        code, _, err = cli(capsys, "predict", "--input", str(src), "--output", str(out))
    assert code == 0
    got = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["polymer"], r["temperature"]) for r in got] == [(p, t) for p, _, t in rows]
    assert [bool(r["error"]) for r in got] == [False, True, True, True, False]
    assert float(got[-1]["chi"]) == pytest.approx(predictor.predict("PS", "O", 40).chi, abs=1e-6)


def test_wrong__spreadsheet_csv_semicolons_capitals_decimal_comma(capsys, model_env, tmp_path, predictor):
    src = tmp_path / "in.csv"
    src.write_text("Polymer;Solvent;Temperature\nPS;toluene;25,5\nPS;O;40\n")
    code, out, _ = cli(capsys, "predict", "--input", str(src), "--format", "json")
    assert code == 0
    got = json.loads(out)
    assert [r["chi"] for r in got] == pytest.approx(
        [predictor.predict("PS", "toluene", 25.5).chi, predictor.predict("PS", "O", 40).chi], abs=1e-6)


@pytest.mark.parametrize("which", ["input", "polymers", "library"], ids=lambda w: f"traceback-non-utf8-{w}")
def test_non_utf8_files_are_one_line_errors(capsys, model_env, tmp_path, which):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"polymer,solvent,temperature\n\xff\xfe,PS,25\n" if which == "input" else b"\xff\xfe\xfa\n")
    args = {"input": ("predict", "--input", str(bad)), "polymers": ("screen", "--polymers", str(bad)),
            "library": ("screen", "--polymer", "PS", "--library", str(bad))}[which]
    code, _, err = cli(capsys, *args)
    assert code == 2 and "UTF-8" in err


def test_traceback__library_field_over_the_csv_limit_is_a_row_error(capsys, model_env, tmp_path):
    lib = tmp_path / "lib.csv"
    lib.write_text("smiles,name\nCc1ccccc1,toluene\n" + "C" * 140_000 + ",huge\nO,water\n")
    code, out, err = cli(capsys, "screen", "--polymer", "PS", "--library", str(lib), "--format", "csv")
    assert code == 0 and "line 3" in err and "characters; the limit" in err
    assert sorted(r["name"] for r in csv.DictReader(out.splitlines())) == ["toluene", "water"]


# --- manifest security ---------------------------------------------------------------------------


def _edited(tiny_model_dir, tmp_path, edit) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    data = json.loads((copy / "manifest.json").read_text())
    edit(data, copy)
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


def _evil_npz(data, copy):
    outside = copy.parent / "evil.npz"
    shutil.copy(copy / "pair_head.npz", outside)
    data["graphs"]["pair_head_weights"] = "../evil.npz"
    data["files"]["../evil.npz"] = data["files"]["pair_head.npz"]


def _symlink_out(data, copy):
    outside = copy.parent / "elsewhere.npz"
    shutil.copy(copy / "pair_head.npz", outside)
    (copy / "link.npz").symlink_to(outside)
    data["graphs"]["pair_head_weights"] = "link.npz"
    data["files"]["link.npz"] = data["files"]["pair_head.npz"]


MANIFEST_EDITS = {
    "security-graph-without-hash": (lambda d, c: d["files"].pop("pair_head.npz"), "no hash"),
    "security-graph-outside-directory": (_evil_npz, "inside the model directory"),
    "security-absolute-path": (lambda d, c: d["graphs"].update(pair_head_weights=str(c / "pair_head.npz")) or
                               d["files"].update({str(c / "pair_head.npz"): "0"}), "inside the model directory"),
    "security-symlink-out": (_symlink_out, "outside the model directory"),
    "security-reversed-vocabulary": (lambda d, c: d["featurizer"]["polymer_descriptors"].reverse(), "featurizer section"),
    "traceback-oligomer-length-1": (lambda d, c: d["featurizer"].update(oligomer_length=1), "oligomer_length"),
    "traceback-swapped-encoder-roles": (lambda d, c: d["graphs"].update(
        polymer_encoder=d["graphs"]["solvent_encoder"], solvent_encoder=d["graphs"]["polymer_encoder"]), "roles"),
}


@pytest.mark.parametrize("case", list(MANIFEST_EDITS), ids=list(MANIFEST_EDITS))
def test_manifest_edits_are_refused_in_one_line(capsys, tiny_model_dir, tmp_path, case):
    edit, message = MANIFEST_EDITS[case]
    copy = _edited(tiny_model_dir, tmp_path, edit)
    with pytest.raises(ArtifactError) as info:
        Screener(copy)
    assert message in str(info.value) and "\n" not in str(info.value)
    code, _, err = cli(capsys, "screen", "--polymer", "PS", "--model", str(copy))
    assert code == 2 and message in err


# --- jobs ----------------------------------------------------------------------------------------


def test_hang__a_killed_worker_is_reported_not_waited_for(tiny_model_dir):
    solvents = ["Cc1ccccc1", "O", "CCO", "ClC(Cl)Cl", "CC(C)=O", "C1CCOC1"]
    with Screener(tiny_model_dir, jobs=2) as screener:
        screener._descriptors(solvents, [None] * len(solvents))  # starts the two workers
        pid, process = next(iter(screener._pool._processes.items()))
        os.kill(pid, signal.SIGKILL)  # what the OOM killer does
        process.join(30)
        time.sleep(0.5)  # the executor notices the death; unnoticed, the other worker could finish the batch alone
        with pytest.raises(ChiLiteError, match="worker process died"):
            screener._descriptors(solvents[::-1], [None] * len(solvents))


def test_hang__script_without_main_guard_fails_fast(tiny_model_dir, tmp_path):
    script = tmp_path / "unguarded.py"
    lib = tmp_path / "lib.smi"
    lib.write_text("".join(f"{'C' * n}O\n" for n in range(1, 30)))
    script.write_text(textwrap.dedent(f"""
        from chi_lite import Screener
        screener = Screener({str(tiny_model_dir)!r}, jobs=2)
        print(screener.screen("PS", {str(lib)!r}, top=3).rows)
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode != 0 and '__name__ == "__main__"' in proc.stderr
    assert proc.stderr.count("Traceback") <= 4  # the parent and its two workers, not thousands


# --- serve --stdio -------------------------------------------------------------------------------


def test_traceback__stdio_survives_hostile_lines(tiny_model_dir):
    lines = [
        '{"id": "\\ud800", "op": "health"}',
        '{"id": ' + "9" * 5000 + ', "op": "health"}',
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"id": 4, "op": "predict", "pairs": [{"polymer": "C.**", "solvent": "O", "temperature": 25},
                                                       {"polymer": PS, "solvent": "O", "temperature": "9" * 400},
                                                       {"polymer": PS, "solvent": "\ud800", "temperature": 25},
                                                       {"polymer": PS, "solvent": "O", "temperature": 25}]}),
        json.dumps({"id": 5, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": float("nan")}),
        json.dumps({"id": 6, "op": "predict", "polymer": PS, "solvent": TOLUENE}),
    ]
    proc = start("--stdio", "--model", str(tiny_model_dir))
    out, err = proc.communicate("\n".join(lines).encode() + b"\n", timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err, err.decode()
    answers = [json.loads(line) for line in out.decode().splitlines()]
    assert len(answers) == len(lines)
    assert "result" in answers[0] and answers[0]["id"] == "\ud800"
    assert "result" in answers[1] or "error" in answers[1]
    assert "not valid JSON" in answers[2]["error"]
    batch = answers[3]["result"]
    assert [("error" in r) for r in batch] == [True, True, True, False]
    assert "error" in answers[4]  # NaN is not a temperature
    assert answers[5]["result"]["temperature_c"] == pytest.approx(25.0)


# --- serve --http --------------------------------------------------------------------------------


def launch(*args: str, model_dir: Path) -> tuple[Server, list[str]]:
    proc = start("--http", "--port", "0", "--model", str(model_dir), *args)
    lines = []
    while True:
        line = proc.stderr.readline().decode()
        lines.append(line)
        if "listening on" in line or not line:
            break
    if not line:
        proc.kill()
        pytest.fail("".join(lines) + proc.communicate()[1].decode())
    return Server(proc, line.split("listening on ")[1].split()[0]), lines


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    srv, _ = launch("--max-connections", "4", model_dir=tiny_model_dir)
    yield srv
    srv.proc.send_signal(signal.SIGTERM)
    srv.proc.wait(timeout=30)
    err = srv.proc.stderr.read().decode()
    assert "Traceback" not in err, err


def raw(server: Server, data: bytes, read: bool = True) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(data)
        reply = b""
        while read and (chunk := conn.recv(65536)):
            reply += chunk
    return reply


@pytest.mark.parametrize(
    "request_, status, message",
    [
        (b"GET /model HTTP/1.1\r\nHost: evil.example\r\n\r\n", 403, b"is not accepted"),
        (b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\n"
         b"Content-Length: 2\r\n\r\n{}", 403, b"other origins"),
        (b"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", 415,
         b"application/json"),
        (b"OPTIONS /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, b"takes POST"),
        (b"PATCH /model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, b"takes GET"),
        (b"TRACE /model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, b"takes GET"),
        (b"HEAD /model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 405, b""),
    ],
    ids=["security-dns-rebinding-host", "security-cross-origin", "security-text-plain-post", "security-options-405",
         "security-patch-405", "security-trace-405", "security-head-405"],
)
def test_http_refusals(server, request_, status, message):
    reply = raw(server, request_)
    assert reply.startswith(b"HTTP/1.0 %d" % status) and message in reply and b"<html" not in reply.lower()


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"id": ' + "9" * 5000 + ', "polymer": "PS", "solvent": "O"}',
     '{"id": "\\udc00", "polymer": "PS", "solvent": "O", "temperature": 25}'],
    ids=["traceback-http-deep-json", "traceback-http-5000-digit-id", "traceback-http-lone-surrogate-id"],
)
def test_http_hostile_bodies(server, body):
    status, answer = server.call("POST", "/predict", body.encode(), {"Content-Type": "application/json"})
    assert status in (200, 400) and ("result" in answer or "error" in answer)
    assert eventually_healthy(server)


def test_traceback__early_disconnects_leave_no_traceback(server):
    body = json.dumps({"polymer": PS, "solvent": TOLUENE, "temperature": 25}).encode()
    for _ in range(20):
        raw(server, b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body), read=False)
    assert eventually_healthy(server)  # (503 while the fixture's 4 slots finish the abandoned requests)


def eventually_healthy(server: Server, seconds: float = 30.0) -> bool:
    """The server answers /health with 200 within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.call("GET", "/health")[0] == 200:
            return True
        time.sleep(0.1)
    return False


def test_hang__connection_cap_answers_503(server):
    host, port = server.url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port)), timeout=30) for _ in range(4)]
    try:
        time.sleep(0.5)
        reply = raw(server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert reply.startswith(b"HTTP/1.0 503") and b"--max-connections" in reply
    finally:
        for conn in idle:
            conn.close()
    assert eventually_healthy(server)  # the slots free once the idle clients are gone


def test_wrong__http_predict_defaults_to_25_celsius_like_screen(server):
    status, answer = server.post("/predict", {"polymer": PS, "solvent": TOLUENE})
    assert status == 200 and answer["result"]["temperature_c"] == pytest.approx(25.0)
    status, answer = server.post("/predict", {"polymer": PS, "solvent": TOLUENE, "kelvin": True})
    assert status == 200 and answer["result"]["temperature_k"] == pytest.approx(298.15)


def test_security__token_and_network_warning(tiny_model_dir):
    srv, lines = launch("--host", "0.0.0.0", model_dir=tiny_model_dir)
    try:
        assert any("WITHOUT AUTHENTICATION" in line for line in lines)
    finally:
        srv.proc.kill()
        srv.proc.communicate()
    srv, lines = launch("--token", "s3cret", model_dir=tiny_model_dir)
    try:
        assert srv.call("GET", "/health")[0] == 401
        assert srv.call("GET", "/health", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert srv.call("GET", "/health", headers={"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        srv.proc.kill()
        srv.proc.communicate()


def test_hang__sigterm_under_load_answers_every_accepted_connection(tiny_model_dir):
    srv, _ = launch(model_dir=tiny_model_dir)
    body = json.dumps({"polymer": PS, "solvent": TOLUENE, "temperature": 25}).encode()
    request = (b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    replies: list[bytes] = []

    def client() -> None:
        try:
            replies.append(raw(srv, request))
        except ConnectionRefusedError as exc:  # the listener had closed: never accepted, so not lost
            replies.append(b"refused " + str(exc).encode())
        except OSError as exc:  # reset after the kernel accepted it: a lost request
            replies.append(b"lost " + str(exc).encode())

    threads = [threading.Thread(target=client) for _ in range(30)]
    for i, t in enumerate(threads):
        t.start()
        if i == 15:
            srv.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=60)
    assert srv.proc.wait(timeout=60) == 0
    answered = [r for r in replies if r.startswith(b"HTTP/1.0 200")]
    others = [r for r in replies if not r.startswith(b"HTTP/1.0 200")]
    assert len(replies) == 30 and answered
    assert all(r.startswith(b"refused") for r in others), others[:2]  # no reset after accept, no empty reply
