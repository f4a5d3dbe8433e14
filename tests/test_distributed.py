"""Screening on Dask (chi_lite.distributed): same answer as a local screen, Parquet in and out, a lost worker survived."""

from __future__ import annotations

import os
import pickle
import signal

import numpy as np
import pytest

from .generated_library import write_smiles_library
from .test_cli import run

distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pyarrow.compute")

from chi_lite import distributed as chi_distributed  # noqa: E402
from chi_lite.errors import ArtifactError, ChiLiteError  # noqa: E402
from chi_lite.flory_huggins import critical_chi  # noqa: E402
from chi_lite.predictor import ChiPredictor  # noqa: E402
from chi_lite.screening import Screener  # noqa: E402

ROWS = 20_000
BAD = {776: "C1CC", 15_000: "C.**"}  # 0-based rows; their ids are 777 and 15001
POLYMERS = ["PS", "*CCO*"]
TOP = 50


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return write_smiles_library(tmp_path_factory.mktemp("lib") / "generated.smi", ROWS, BAD)


@pytest.fixture(scope="module")
def parquet_library(library, tmp_path_factory):
    """The same rows as Parquet (row id = line number of the .smi file), four row groups."""
    smiles, names = zip(*(line.split(" ", 1) for line in library.read_text().splitlines()))
    path = tmp_path_factory.mktemp("plib") / "generated.parquet"
    pq.write_table(pa.table({"smiles": list(smiles), "name": list(names)}), path, row_group_size=ROWS // 4)
    return path


@pytest.fixture(scope="module")
def warm_screener(tiny_miscible_model_dir):
    """A local Screener that keeps the library's embeddings in memory once the local screen has run."""
    with Screener(tiny_miscible_model_dir) as screener:
        yield screener


@pytest.fixture(scope="module")
def local(warm_screener, library):
    return warm_screener.screen(POLYMERS, library, 25, top=TOP)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def assert_same_ranking(result, local) -> None:
    assert [r["line"] for r in result.rows] == [r["line"] for r in local.rows]
    assert [r["smiles"] for r in result.rows] == [r["smiles"] for r in local.rows]
    for column in ("chi[PS]", "chi_std[PS]", "p_miscible[PS]", "chi[*CCO*]"):
        np.testing.assert_allclose([r[column] for r in result.rows], [r[column] for r in local.rows], atol=1e-6, rtol=0)
    assert result.bad_rows == local.bad_rows
    assert result.rows_read == ROWS


def test_predictor_and_screener_pickle_by_reloading_their_model(tiny_miscible_model_dir):
    predictor = ChiPredictor(tiny_miscible_model_dir)
    copy = pickle.loads(pickle.dumps(predictor))
    assert copy.predict("PS", "toluene", 25) == predictor.predict("PS", "toluene", 25)
    state = predictor.__getstate__()
    assert set(state) == {"load_args", "sha256"}  # no session, no cache travels
    with pytest.raises(ArtifactError, match="install the same chi-lite wheel"):
        ChiPredictor.__new__(ChiPredictor).__setstate__({**state, "sha256": "0" * 64})
    with Screener(tiny_miscible_model_dir) as screener:
        twin = pickle.loads(pickle.dumps(screener))
        assert twin.screen(["PS"], "builtin", 25, top=3).rows == screener.screen(["PS"], "builtin", 25, top=3).rows


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("partition_caches")


def test_two_workers_give_the_local_top_k_with_row_ids_of_bad_rows(client, library, local, tiny_miscible_model_dir,
                                                                   cache_dir):
    result = chi_distributed.screen(library, POLYMERS, 25, client, top=TOP, model_dir=tiny_miscible_model_dir,
                                    partition_rows=2048, cache_dir=cache_dir)
    assert result.partitions == 10
    assert_same_ranking(result, local)
    assert [line for line, _ in result.bad_rows] == [777, 15_001]
    assert "invalid solvent SMILES: 'C1CC'" in result.bad_rows[0][1]
    assert result.columns == Screener(tiny_miscible_model_dir).columns(local)


def test_parquet_round_trip_without_dask(parquet_library, local, warm_screener, tmp_path):
    out = tmp_path / "scored.parquet"
    result = chi_distributed.screen(parquet_library, POLYMERS, 25, top=TOP, screener=warm_screener,
                                    output=out, cache_dir=tmp_path / "cache")
    assert_same_ranking(result, local)
    assert sorted(p.name for p in out.iterdir()) == [f"part-00000{i}.parquet" for i in range(4)]
    table = pq.read_table(out)
    assert table.num_rows == ROWS and table.column("line").to_pylist() == list(range(1, ROWS + 1))
    errors = table.column("error").to_pylist()
    assert [i + 1 for i, e in enumerate(errors) if e is not None] == [777, 15_001]
    chi = table.column("chi[PS]").to_numpy(zero_copy_only=False)
    assert np.isnan(chi[776]) and np.isfinite(np.delete(chi, [776, 15_000])).all()
    ranked = {r["line"]: r["chi[PS]"] for r in local.rows}
    np.testing.assert_allclose([chi[line - 1] for line in ranked], list(ranked.values()), atol=1e-6, rtol=0)
    # the answer columns: p_miscible is the local screen's verdict (PS is amorphous: no crystalline gate)
    assert all(r["t_dissolve_c[PS]"] is None for r in local.rows)
    p = table.column("p_miscible[PS]").to_numpy(zero_copy_only=False)
    np.testing.assert_allclose([p[r["line"] - 1] for r in local.rows], [r["p_miscible[PS]"] for r in local.rows],
                               atol=1e-9, rtol=0)
    assert table.column("miscible[PS]").to_pylist() == [None if np.isnan(x) else bool(x >= 0.5) for x in p]
    assert "p_classifier[PS]" in table.column_names
    assert not [c for c in table.column_names if c.startswith(("p_miscible_fh", "chi_critical"))]
    # a plain local screen reads the Parquet library too (row id = line of the .smi file)
    assert warm_screener.screen(POLYMERS, parquet_library, 25, top=TOP).rows == local.rows
    # a second screen against another polymer reads every partition's embeddings from the cache directory
    again = chi_distributed.screen(parquet_library, ["*CCO*"], 25, top=TOP, model_dir=warm_screener._load_args[0],
                                   cache_dir=tmp_path / "cache")
    assert again.from_disk_cache and again.descriptors_computed == 0
    np.testing.assert_allclose([r["chi"] for r in again.rows][:5],
                               sorted(table.column("chi[*CCO*]").to_numpy(zero_copy_only=False)[~np.isnan(chi)])[:5],
                               atol=1e-6, rtol=0)


def test_a_killed_worker_costs_a_retry_not_the_run(client, library, local, tiny_miscible_model_dir, cache_dir, tmp_path):
    """The partitions' embeddings are cached by the two-worker test: the restarted worker need not featurize again."""
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_one_worker(_rows: int) -> None:  # after the first partition is in, as the OOM killer would
        if not killed:
            killed.append(next(iter(pids.values())))
            os.kill(killed[0], signal.SIGKILL)

    out = tmp_path / "scored.parquet"
    result = chi_distributed.screen(library, POLYMERS, 25, client, top=TOP, model_dir=tiny_miscible_model_dir,
                                    partition_rows=2048, cache_dir=cache_dir, output=out, in_flight=4,
                                    progress=kill_one_worker)
    assert killed and killed[0] not in client.run(os.getpid).values()
    assert result.partitions == 10
    assert_same_ranking(result, local)
    table = pq.read_table(out)
    assert table.column("line").to_pylist() == list(range(1, ROWS + 1))
    assert not list(out.glob(".*.tmp"))  # no half-written part of the killed attempt is left


def test_cli_dask_address_matches_the_local_cli(client, tiny_miscible_model_dir, tmp_path):
    library = write_smiles_library(tmp_path / "small.smi", 300, {7: "C1CC"})
    args = ("screen", "--polymer", "PS", "--library", str(library), "--top", "5", "--format", "csv")
    local_out = run(*args, model=tiny_miscible_model_dir)
    dask_out = run(*args, "--dask", client.scheduler.address, model=tiny_miscible_model_dir)
    assert dask_out.returncode == 0, dask_out.stderr
    assert dask_out.stdout == local_out.stdout
    assert "line 8: invalid solvent SMILES" in dask_out.stderr and "screened 299 of 300" in dask_out.stderr


def test_cli_dask_refusals_are_one_line(tiny_miscible_model_dir, tmp_path):
    for args, message in [
        (("--dask", "local:0"), "between 1 and"),
        (("--dask", "mpi://x"), "--dask must be local"),
        (("--dask-scheduler-file", str(tmp_path / "none.json")), "does not exist"),
        (("--output", str(tmp_path / "x.parquet"), "--cache", str(tmp_path / "c.db")), "use --cache-dir"),
    ]:
        out = run("screen", "--polymer", "PS", "--top", "1", *args, model=tiny_miscible_model_dir)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_parquet_output_refuses_to_replace_what_it_did_not_write(tiny_miscible_model_dir, tmp_path):
    precious = tmp_path / "precious.parquet"
    precious.write_text("not mine")
    with pytest.raises(ChiLiteError, match="already exists: remove it or name a new directory"):
        chi_distributed.screen("builtin", ["PS"], 25, top=1, model_dir=tiny_miscible_model_dir, output=precious)
    assert precious.read_text() == "not mine"


def test_as_dataframe_gives_every_scored_row_as_a_dask_dataframe(warm_screener, tmp_path):
    pytest.importorskip("dask.dataframe")
    frame = chi_distributed.screen("builtin", ["PS"], 25, screener=warm_screener, output=tmp_path / "all.parquet",
                                   as_dataframe=True).compute()
    everything = warm_screener.screen(["PS"], "builtin", 25)
    assert len(frame) == everything.rows_read and frame["line"].is_monotonic_increasing
    scored = frame.dropna(subset=["chi"]).sort_values(["chi", "line"])
    assert list(scored["line"]) == [r["line"] for r in everything.rows]


@pytest.mark.parametrize("model", ["tiny_miscible_model_dir", "tiny_model_dir"])
def test_sort_by_the_verdict_with_a_chain_length_gives_the_local_rows(model, request, tmp_path):
    """With or without a trained classifier the verdict ranks the rows, as in a local screen."""
    with Screener(request.getfixturevalue(model)) as screener:
        local = screener.screen(["PS"], "builtin", 25, top=10, sort="p_miscible", chain_length=1000)
        out = tmp_path / "verdict.parquet"
        result = chi_distributed.screen("builtin", ["PS"], 25, top=10, sort="p_miscible", chain_length=1000,
                                        screener=screener, output=out)
    assert result.rows == local.rows
    table = pq.read_table(out)
    with_classifier = model == "tiny_miscible_model_dir"
    assert table.column_names == ["line", "name", "smiles", "chi", "chi_std", "p_miscible",
                                  *(["p_classifier"] if with_classifier else []), "chi_critical", "miscible", "error"]
    scored = table.filter(pa.compute.is_null(table.column("error")))
    assert set(scored.column("chi_critical").to_pylist()) == {critical_chi(1000)}
    p = scored.column("p_miscible").to_numpy()
    assert p.max() == pytest.approx(local.rows[0]["p_miscible"], abs=1e-12)
    assert scored.column("miscible").to_pylist() == list(p >= 0.5)
