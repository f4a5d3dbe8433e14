"""The `chi-lite` command: outputs, batch files, and one-line errors with exit code 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

PS, TOLUENE = "*CC(*)c1ccccc1", "Cc1ccccc1"


def run(*args: str, model=None) -> subprocess.CompletedProcess:
    extra = ["--model", str(model)] if model is not None and args and args[0] in ("predict", "info", "screen", "phase") else []
    return subprocess.run(
        [sys.executable, "-c", "from chi_lite.cli import main; main()", *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_predict_single_table_and_json(tiny_model_dir):
    out = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", model=tiny_model_dir)
    assert out.returncode == 0, out.stderr
    assert "chi " in out.stdout and "±" in out.stdout and "A + B/T" in out.stdout
    js = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "298.15", "--kelvin", "--format", "json", model=tiny_model_dir)
    record = json.loads(js.stdout)
    assert record["temperature_k"] == pytest.approx(298.15, abs=1e-3)
    assert set(record) >= {"chi", "chi_std", "A", "B", "polymer", "solvent"}
    csv_out = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--format", "csv", model=tiny_model_dir)
    rows = list(csv.DictReader(csv_out.stdout.splitlines()))
    assert float(rows[0]["chi"]) == pytest.approx(record["chi"], abs=1e-4)


def test_batch_file_keeps_every_row_in_order(tiny_model_dir, tmp_path):
    src = tmp_path / "pairs.csv"
    src.write_text(
        "polymer,solvent,temperature,note\n"
        f"{PS},{TOLUENE},25,a\n"
        f"{PS},XX((,25,b\n"
        f"*CCO*,O,40,c\n"
        f"{PS},{TOLUENE},cold,d\n"
    )
    dst = tmp_path / "out.csv"
    out = run("predict", "--input", str(src), "--output", str(dst), model=tiny_model_dir)
    assert out.returncode == 0, out.stderr
    assert "2 of 4 rows failed" in out.stderr
    rows = list(csv.DictReader(dst.read_text().splitlines()))
    assert [r["note"] for r in rows] == ["a", "b", "c", "d"]
    assert [bool(r["chi"]) for r in rows] == [True, False, True, False]
    assert "invalid solvent SMILES" in rows[1]["error"] and rows[0]["error"] == ""
    assert list(rows[0])[-5:] == ["chi", "chi_std", "A", "B", "error"]


def test_chain_length_adds_the_flory_huggins_verdict(tiny_model_dir, tmp_path):
    base = ["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--chain-length", "1000"]
    table = run(*base, model=tiny_model_dir)
    assert table.returncode == 0 and "chi_critical 0.5321" in table.stdout and "miscible " in table.stdout
    record = json.loads(run(*base, "--format", "json", model=tiny_model_dir).stdout)
    assert record["chi_critical"] == pytest.approx(0.5 * (1 + 1000**-0.5) ** 2)
    assert record["miscible"] is (record["chi"] < record["chi_critical"]) and 0 <= record["p_miscible_fh"] <= 1
    row = next(csv.DictReader(run(*base, "--format", "csv", model=tiny_model_dir).stdout.splitlines()))
    assert row["miscible"] in ("yes", "no") and float(row["p_miscible_fh"]) == pytest.approx(record["p_miscible_fh"], abs=1e-5)
    src = tmp_path / "pairs.csv"
    src.write_text(f"polymer,solvent,temperature\n{PS},{TOLUENE},25\n{PS},C(,25\n")
    rows = list(csv.DictReader(run("predict", "--input", str(src), "--chain-length", "1000", model=tiny_model_dir).stdout.splitlines()))
    assert list(rows[0])[-5:] == ["B", "chi_critical", "miscible", "p_miscible_fh", "error"]
    assert rows[0]["miscible"] == row["miscible"] and rows[1]["miscible"] == "" and rows[1]["error"]
    batch_json = json.loads(run("predict", "--input", str(src), "--chain-length", "1000", "--format", "json", model=tiny_model_dir).stdout)
    assert batch_json[0]["miscible"] is record["miscible"] and batch_json[1]["miscible"] is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "--polymer", "C1CC", "--solvent", TOLUENE, "--temperature", "25"], "invalid polymer SMILES"),
        (["predict", "--polymer", "*CC", "--solvent", TOLUENE, "--temperature", "25"], "exactly two '*'"),
        (["predict", "--polymer", PS, "--solvent", "C(", "--temperature", "25"], "invalid solvent SMILES"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "hot"], "not a number"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "-300"], "absolute zero"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "0", "--kelvin"], "absolute zero"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE], "missing --temperature"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--format", "xml"], "xml"),
        (["predict", "--input", "/nonexistent/pairs.csv"], "does not exist"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--chain-length", "0"], "below 1"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--chain-length", "-3"], "below 1"),
        (["predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--chain-length", "long"], "not a number"),
        (["phase", "--polymer", PS, "--solvent", TOLUENE, "--chain-length", "100", "--plot", "/nonexistent/dir/p.png"],
         "No such file or directory: /nonexistent/dir/p.png"),
        (["screen", "--polymer", PS, "--top", "3", "--output", "/nonexistent/dir/ranked.csv"], "No such file or directory"),
    ],
)
def test_bad_input_is_one_line_exit_2(tiny_model_dir, args, message):
    out = run(*args, model=tiny_model_dir)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: "), out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "content, message",
    [("", "is empty"), ("polymer,solvent\n*CC*,O\n", "lacks column(s) temperature"), ("polymer,solvent,temperature\n", "no rows")],
)
def test_bad_batch_files_are_one_line_exit_2(tiny_model_dir, tmp_path, content, message):
    src = tmp_path / "pairs.csv"
    src.write_text(content)
    out = run("predict", "--input", str(src), model=tiny_model_dir)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def test_bad_model_directory_is_one_line_exit_2(tmp_path):
    out = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--model", str(tmp_path))
    assert out.returncode == 2 and "manifest.json not found" in out.stderr and out.stderr.count("\n") == 1


def test_info_shows_the_model_card(tiny_model_dir):
    out = run("info", model=tiny_model_dir)
    assert out.returncode == 0 and "vocabulary" in out.stdout and "5 polymer + 4 solvent" in out.stdout
    card = json.loads(run("info", "--format", "json", model=tiny_model_dir).stdout)
    assert card["featurizer"]["polymer_descriptors"][0] == "MolWt"
    assert card["files"]["chi_model.onnx"]


def test_model_and_threads_from_the_environment(tiny_model_dir):
    import os

    env = {**os.environ, "CHI_LITE_MODEL": str(tiny_model_dir), "CHI_LITE_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", "from chi_lite.cli import main; main()", "info", "--format", "json"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert out.returncode == 0 and json.loads(out.stdout)["directory"] == str(tiny_model_dir)
    out = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--threads", "2", model=tiny_model_dir)
    assert out.returncode == 0, out.stderr
    bad = run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--threads", "0", model=tiny_model_dir)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_bare_command_shows_help_and_unknown_command_is_one_line():
    bare = run()
    assert bare.returncode == 0 and "predict" in bare.stdout and bare.stderr == ""
    bogus = run("bogus")
    assert bogus.returncode == 2 and bogus.stderr == "error: No such command 'bogus'.\n"


def test_outputs_echo_the_name_that_was_typed(tiny_model_dir):
    base = ("predict", "--polymer", "nylon-6,6", "--solvent", "xylene", "--temperature", "25")
    table = run(*base, model=tiny_model_dir)
    assert table.returncode == 0, table.stderr
    assert "polymer      nylon-6,6 (*NCCCCCCNC(=O)CCCCC(*)=O)" in table.stdout and "solvent      xylene (" in table.stdout
    record = json.loads(run(*base, "--format", "json", model=tiny_model_dir).stdout)
    assert record["polymer_name"] == "nylon-6,6" and record["solvent_name"] == "xylene"
    smiles_only = json.loads(run("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--format", "json", model=tiny_model_dir).stdout)
    assert "polymer_name" not in smiles_only
