"""`chi-lite screen` and `chi-lite names` as a user runs them (subprocesses, piped output)."""

from __future__ import annotations

import csv
import json

from .test_cli import run


def test_screen_by_name_prints_a_ranked_csv_when_piped(tiny_model_dir, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("Cc1ccccc1 toluene\nC1CC\nO water\nClC(Cl)Cl\n")
    out = run("screen", "--polymer", "polystyrene", "--library", str(lib), "--top", "2", model=tiny_model_dir)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(out.stdout.splitlines()))
    assert [r["rank"] for r in rows] == ["1", "2"] and float(rows[0]["chi"]) <= float(rows[1]["chi"])
    assert "line 2: invalid solvent SMILES" in out.stderr and "screened 3 of 4" in out.stderr
    assert "\r" not in out.stderr  # no progress bar when not on a terminal
    assert "note: stdout is not a terminal, so writing CSV" in out.stderr
    chosen = run("screen", "--polymer", "PS", "--library", str(lib), "--format", "csv", model=tiny_model_dir)
    assert "not a terminal" not in chosen.stderr  # said only when the format was chosen for the user


def test_top_level_help_shows_every_command_summary_in_full():
    out = run("--help")
    commands = out.stdout.split("Commands:")[1]
    assert out.returncode == 0 and "..." not in commands  # click's default cuts summaries with '...'
    assert "(several polymers: a matrix, ranked by the first)" in " ".join(commands.split())


def test_screen_matrix_json_and_output_file(tiny_model_dir, tmp_path):
    dst = tmp_path / "ranked.json"
    out = run("screen", "--polymer", "PS", "--polymer", "*CCO*", "--format", "json", "--output", str(dst), model=tiny_model_dir)
    assert out.returncode == 0, out.stderr
    record = json.loads(dst.read_text())
    assert [p["smiles"] for p in record["polymers"]] == ["*CC(*)c1ccccc1", "*CCO*"]
    assert {"chi[PS]", "chi[*CCO*]"} <= set(record["ranking"][0])


def test_screen_refusals_are_one_line_with_exit_2(tiny_model_dir, tmp_path):
    for args, message in [
        (("--polymer", "PS", "--sort", "p_miscible"), "miscibility head is not trained"),
        (("--polymer", "polystyrne"), "did you mean polystyrene"),
        (("--polymer", "PS", "--library", str(tmp_path / "none.csv")), "does not exist"),
        (("--polymer", "PS", "--temperature", "-300"), "absolute zero"),
    ]:
        out = run("screen", *args, model=tiny_model_dir)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_names_lists_and_searches():
    out = run("names", "--kind", "solvents", "--search", "THF", "--format", "csv")
    assert out.returncode == 0, out.stderr
    names = [r["name"] for r in csv.DictReader(out.stdout.splitlines())]
    assert names[0] == "tetrahydrofuran" and all(r for r in names)
    both = run("names", "--format", "json")
    kinds = {r["kind"] for r in json.loads(both.stdout)}
    assert kinds == {"solvent", "polymer"}
