"""Where the time of `screen --jobs N` goes, and from what library size worker processes pay off.

    PYTHONPATH=runtime python tests/bench_jobs.py [--model DIR]

Measures, for the built-in library and a generated library of distinct solvents: a whole screen
with jobs 1 and 2 (fresh Screener each time, so no descriptor is cached), the worker pool's
start-up alone, and a worker's resident memory.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from chi_lite import Screener


def generated_library(folder: Path, size: int) -> Path:
    """``size`` distinct small solvents (ethers, chlorides, amines of growing chains)."""
    smiles = [f"{'C' * i}{x}{'C' * j}" for x in ("O", "N", "S", "OC(=O)") for i in range(1, 60) for j in range(0, 60)]
    path = folder / f"generated_{size}.smi"
    path.write_text("".join(s + "\n" for s in smiles[:size]))
    return path


def timed_screen(model: str | None, library, jobs: int) -> tuple[float, float, float]:
    """(load s, screen s, pool start s) with a fresh Screener."""
    started = time.perf_counter()
    with Screener(model, jobs=jobs) as screener:
        loaded = time.perf_counter()
        pool = 0.0
        if jobs > 1:  # start the workers on a tiny batch first, to separate their start-up
            screener._descriptors(["C", "O", "N", "S"] * jobs, [None] * 4 * jobs)
            pool = time.perf_counter() - loaded
            screener.descriptors_computed = 0
        t0 = time.perf_counter()
        screener.screen("PS", library, top=5)
        return loaded - started, time.perf_counter() - t0, pool


def worker_rss_mb(model: str | None) -> float:
    with Screener(model, jobs=2) as screener:
        screener._descriptors(["C", "O", "N", "S"], [None] * 4)
        pids = list(screener._pool._processes)
        total = 0.0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        return total / len(pids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        libraries = {"builtin (224)": "builtin"}
        for size in (2000, 6000):
            libraries[f"generated ({size})"] = generated_library(Path(folder), size)
        print("| library | jobs | model load s | pool start s | screen s (descriptors + scoring) |")
        print("|---|---|---|---|---|")
        for label, library in libraries.items():
            for jobs in (1, 2):
                load, screen, pool = min((timed_screen(args.model, library, jobs) for _ in range(2)), key=lambda r: r[1] + r[2])
                print(f"| {label} | {jobs} | {load:.2f} | {pool:.2f} | {screen:.2f} |")
    print(f"worker RSS: {worker_rss_mb(args.model):.0f} MB each")


if __name__ == "__main__":
    main()
