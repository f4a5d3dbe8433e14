"""`make bench-dask`: one Dask worker against two on the same generated library (not a test: machines are noisy).

Generates N distinct molecules (tests/generated_library.py; default 200,000) as a Parquet
library with row groups of 10,000 (one task each), then screens it with the shipped model
on a fresh LocalCluster of 1 and of 2 worker processes (one thread each, no embedding
cache, every row written to a Parquet output). Prints wall time, speed-up, molecules per
second per worker, peak RSS per worker, the bytes per row of the input and output Parquet,
the worker CPU seconds (molecules per CPU-second does not depend on what else the machine
runs), checks that both runs give the same top 100, and shows the machine load.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import distributed  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from chi_lite import distributed as chi_distributed  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generated_library import generated_smiles  # noqa: E402

ROW_GROUP = 10_000
TOP = 100


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(workers: int, library: Path, out: Path) -> dict:
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
    with distributed.Client(cluster) as client:
        cpu_before = client.run(_cpu_seconds)  # workers up (model not loaded yet) before the clock starts
        start = time.perf_counter()
        result = chi_distributed.screen(library, ["PS"], 25, client, top=TOP, output=out)
        seconds = time.perf_counter() - start
        peaks = sorted(client.run(_peak_rss_mb).values())
        cpu = sum(client.run(_cpu_seconds).values()) - sum(cpu_before.values())
    cluster.close()
    return {"workers": workers, "seconds": seconds, "rows": result.rows_read, "peaks_mb": peaks, "cpu": cpu,
            "top": [(r["line"], round(r["chi"], 6)) for r in result.rows], "output_bytes": _tree_bytes(out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library.parquet"
        smiles = generated_smiles(args.molecules)
        pq.write_table(pa.table({"smiles": smiles, "name": [f"m{i + 1}" for i in range(len(smiles))]}), library,
                       row_group_size=ROW_GROUP, compression="zstd")
        print(f"library: {len(smiles)} generated molecules, {library.stat().st_size / len(smiles):.1f} bytes/row as Parquet "
              f"(zstd), {-(-len(smiles) // ROW_GROUP)} row groups; load before: {os.getloadavg()[0]:.2f}")
        runs = [run(n, library, Path(tmp) / f"out{n}.parquet") for n in (1, 2)]
    for r in runs:
        rate = r["rows"] / r["seconds"]
        print(f"{r['workers']} worker(s): {r['seconds']:.1f} s, {rate:.0f} molecules/s in all, "
              f"{rate / r['workers']:.0f} per worker; peak RSS per worker {', '.join(f'{m:.0f}' for m in r['peaks_mb'])} MB; "
              f"output {r['output_bytes'] / r['rows']:.1f} bytes/row; "
              f"worker CPU {r['cpu']:.0f} s = {r['rows'] / r['cpu']:.0f} molecules per worker CPU-second")
    print(f"speed-up 2 workers / 1 worker: {runs[0]['seconds'] / runs[1]['seconds']:.2f}x; "
          f"same top {TOP}: {runs[0]['top'] == runs[1]['top']}; load after: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
