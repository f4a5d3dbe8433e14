"""Screening on the tiny model: rankings equal single predictions, bad rows are skipped by line, caches work."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest

from chi_lite import ChiLiteError, ChiPredictor
from chi_lite.library import iter_rows
from chi_lite.names import table
from chi_lite.screening import Screener

PS = "*CC(*)c1ccccc1"


@pytest.fixture(scope="module")
def screener(tiny_model_dir):
    with Screener(tiny_model_dir) as s:
        yield s


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "lib.csv"
    path.write_text("name,smiles\ntoluene,Cc1ccccc1\nbroken,C1CC\nwater,O\n\nchloroform,ClC(Cl)Cl\npolymer,*CC*\nagain,Cc1ccccc1\n")
    return path


def test_builtin_screen_ranks_every_named_solvent_like_predict(tiny_model_dir, screener):
    result = screener.screen(["polystyrene"], "builtin", 25)
    assert len(result.rows) == len(table("solvents")) and not result.bad_rows
    chis = [r["chi"] for r in result.rows]
    assert chis == sorted(chis)
    predictor = ChiPredictor(tiny_model_dir)
    for row in result.rows[:: len(result.rows) // 7]:
        single = predictor.predict(PS, row["smiles"], 25)
        assert row["chi"] == pytest.approx(single.chi, abs=1e-5)
        assert row["chi_std"] == pytest.approx(single.chi_std, abs=1e-5)
    assert "p_classifier" not in result.rows[0]  # the tiny model's miscibility head is not trained
    for row in result.rows[:: len(result.rows) // 7]:  # the verdict is predict's, field for field
        single = predictor.predict(PS, row["smiles"], 25)
        assert row["p_miscible"] == pytest.approx(single.p_miscible, abs=1e-5)
        assert (row["miscible"], row["verdict"], row["domain"]) == (single.miscible, single.verdict, single.domain)


def test_bad_rows_are_skipped_with_their_line_numbers(screener, library):
    result = screener.screen([PS], library, 40, top=2)
    assert sorted(ln for ln, _ in result.bad_rows) == [3, 7]
    assert "invalid solvent SMILES" in dict(result.bad_rows)[3] and "'*'" in dict(result.bad_rows)[7]
    assert result.rows_read == 6 and len(result.rows) == 2
    everything = screener.screen([PS], library, 40)
    assert [r["line"] for r in everything.rows[:2]] == [r["line"] for r in result.rows]
    assert {r["name"] for r in everything.rows} == {"toluene", "water", "chloroform", "again"}


def test_several_polymers_make_a_matrix_ranked_by_the_first(screener, library):
    result = screener.screen(["PS", "PMMA"], library, 25)
    columns = screener.columns(result)
    assert columns[3:5] == ["chi[PS]", "chi_std[PS]"] and "domain[PS]" in columns and "p_miscible[PMMA]" in columns
    assert columns.index("chi[PMMA]") > columns.index("domain_note[PS]")
    first = [r["chi[PS]"] for r in result.rows]
    assert first == sorted(first)
    alone = {r["line"]: r["chi"] for r in screener.screen(["PMMA"], library, 25).rows}
    assert all(r["chi[PMMA]"] == pytest.approx(alone[r["line"]], abs=1e-6) for r in result.rows)


def test_refusals(screener, library):
    ranked = [r["p_miscible"] for r in screener.screen([PS], library, 25, sort="p_miscible").rows]
    assert ranked == sorted(ranked, reverse=True)  # the verdict exists without a classifier (Flory–Huggins basis)
    with pytest.raises(ChiLiteError, match="did you mean polystyrene"):
        screener.screen(["polystyrne"], library, 25)
    with pytest.raises(ChiLiteError, match="does not exist"):
        screener.screen([PS], library.parent / "missing.csv", 25)


def test_smiles_files_with_names_and_a_header(tmp_path):
    path = tmp_path / "lib.smi"
    path.write_text("smiles\nCCO ethanol\n# a comment\n\nO\n")
    assert [(r.line, r.smiles, r.name) for r in iter_rows(path)] == [(2, "CCO", "ethanol"), (5, "O", "")]


def test_disk_cache_is_reused_and_invalidated(tiny_model_dir, tmp_path, library):
    cache = tmp_path / "emb.sqlite"
    with Screener(tiny_model_dir) as fresh:
        first = fresh.screen([PS], library, 25, cache=cache)
        assert first.descriptors_computed == 3 and not first.from_disk_cache
    with sqlite3.connect(cache) as conn:  # rows in library order, one embedding per distinct molecule
        assert conn.execute("SELECT COUNT(*) FROM rows").fetchone()[0] == 6
        assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 3
    with Screener(tiny_model_dir) as fresh:  # new process state: only the disk cache can help
        again = fresh.screen(["PMMA"], library, 60, cache=cache)
        assert again.from_disk_cache and again.descriptors_computed == 0
        assert sorted(ln for ln, _ in again.bad_rows) == [3, 7]
        assert again.rows == fresh.screen(["PMMA"], library, 60).rows

        library.write_text(library.read_text() + "benzene,c1ccccc1\n")  # the library changed: rebuild
        changed = fresh.screen([PS], library, 25, cache=cache)
        assert not changed.from_disk_cache and len(changed.rows) == 5

    other = tmp_path / "other_model"
    shutil.copytree(tiny_model_dir, other)
    with sqlite3.connect(cache) as conn:  # pretend the cache was written by a different model
        conn.execute("UPDATE meta SET value = 'another' WHERE key = 'model_sha256'")
    with Screener(other) as s:
        assert not s.screen([PS], library, 25, cache=cache).from_disk_cache
        assert s.screen([PS], library, 25, cache=cache).from_disk_cache


def test_parallel_descriptors_give_the_same_ranking(tiny_model_dir, screener):
    with Screener(tiny_model_dir, jobs=2) as parallel:
        got = parallel.screen([PS], "builtin", 25, top=15)
    want = screener.screen([PS], "builtin", 25, top=15)
    assert [r["line"] for r in got.rows] == [r["line"] for r in want.rows]
    assert np.allclose([r["chi"] for r in got.rows], [r["chi"] for r in want.rows], atol=1e-6)


def test_chain_length_sets_the_screen_verdict(screener, library):
    from chi_lite.flory_huggins import critical_chi

    result = screener.screen([PS], library, 25, chain_length=1000)
    assert screener.columns(result)[5:9] == ["chi_critical", "p_miscible", "miscible", "verdict"]
    for row in result.rows:
        assert row["chi_critical"] == pytest.approx(critical_chi(1000))
        assert row["miscible"] == (row["p_miscible"] >= 0.5) and "p_miscible_fh" not in row
    with pytest.raises(ChiLiteError):
        screener.screen([PS], library, 25, chain_length=0.5)


def test_one_loaded_model_two_views(tiny_model_dir):
    """A Screener built from a predictor shares its model; a screen never builds the whole-model graph."""
    predictor = ChiPredictor(tiny_model_dir)
    with Screener(predictor) as shared:
        assert shared.loaded is predictor.loaded and shared.predictor.loaded is predictor.loaded
        assert shared.model is predictor.factorized  # the encoders and head are loaded once
        before = predictor.loaded.sha256
        assert shared.screen(["polystyrene"], "builtin", 25, top=3).rows and shared.loaded.sha256 == before
    with Screener(tiny_model_dir) as alone:
        alone.screen(["polystyrene"], "builtin", 25, top=3)
        assert "_graph" not in vars(alone.loaded), "a screen of an amorphous polymer runs only encoders and head"
        assert alone.predictor.predict(PS, "toluene", 25).chi == pytest.approx(predictor.predict(PS, "toluene", 25).chi)
        assert "_graph" in vars(alone.loaded)
