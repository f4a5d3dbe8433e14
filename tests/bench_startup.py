"""`make bench`: cold start of `chi-lite predict` for one pair, where the time goes, and serve round trips (not a test).

Each run is a fresh process timed from spawn to exit, so it includes the
interpreter, every import, loading and hash-checking the model, building the
onnxruntime session, featurizing both molecules and printing the answer.
Usage: python tests/bench_startup.py [--runs N] [--chi-lite PATH]  (PATH: e.g. an offline-installed env's chi-lite)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ARGS = ["predict", "--polymer", "*CC(*)c1ccccc1", "--solvent", "Cc1ccccc1", "--temperature", "25"]
BUDGET_S = 0.5
ROOT = Path(__file__).resolve().parent.parent

# Cumulative wall time after each step of a cold predict, measured inside one fresh process.
PHASES = r"""
import time; t0 = time.perf_counter(); marks = []
def mark(label): marks.append((label, time.perf_counter() - t0))
import click; mark("import click")
import numpy; mark("import numpy")
import rdkit.Chem; mark("import rdkit.Chem")
import rdkit.Chem.Descriptors; mark("import rdkit.Chem.Descriptors")
import onnxruntime; mark("import onnxruntime")
from chi_lite.predictor import ChiPredictor; mark("import chi_lite.predictor")
p = ChiPredictor(); mark("load + verify model, build session")
p.predict("*CC(*)c1ccccc1", "Cc1ccccc1", 25); mark("featurize both + predict")
print(repr(marks))
"""


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one fresh process; CPU time barely moves when other jobs load the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _summary(runs: list[tuple[float, float]]) -> str:
    wall = [w for w, _ in runs]
    cpu = statistics.median(c for _, c in runs)
    return (f"wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}, max {max(wall):.3f}, n={len(wall)}), "
            f"CPU median {cpu:.3f} s")


def _serve_round_trips(chi_lite: str, n: int) -> None:
    """Per-request latency of an already running `serve`: what a process-control caller pays per call."""
    request = {"op": "predict", "polymer": "*CC(*)c1ccccc1", "solvent": "Cc1ccccc1", "temperature": 25}
    proc = subprocess.Popen([chi_lite, "serve", "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    times = []
    for i in range(n + 1):
        start = time.perf_counter()
        proc.stdin.write(json.dumps({"id": i, **request}) + "\n")
        proc.stdin.flush()
        assert "result" in json.loads(proc.stdout.readline())
        times.append(time.perf_counter() - start)
    proc.stdin.close()
    proc.wait()
    print(f"serve --stdio, one pair per request (descriptors cached): median {1e3 * statistics.median(times[1:]):.2f} ms "
          f"per round trip, n={n}")

    proc = subprocess.Popen([chi_lite, "serve", "--http", "--port", "0"], stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"(http://\S+)", proc.stderr.readline()).group(1) + "/predict"
        body = json.dumps({k: v for k, v in request.items() if k != "op"}).encode()
        times = []
        for _ in range(n + 1):
            start = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"}), timeout=30) as response:
                assert "result" in json.loads(response.read())
            times.append(time.perf_counter() - start)
        print(f"serve --http, POST /predict one pair (new connection each): median {1e3 * statistics.median(times[1:]):.2f} ms "
              f"per round trip, n={n}")
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--chi-lite", default=str(Path(sys.executable).with_name("chi-lite")))
    args = parser.parse_args()
    python = str(Path(args.chi_lite).with_name("python"))

    _timed([args.chi_lite, *ARGS])  # warm the OS file cache once; every timed run is still a fresh process
    cold = [_timed([args.chi_lite, *ARGS]) for _ in range(args.runs)]
    bare = [_timed([python, "-c", "pass"]) for _ in range(args.runs)]
    deps = [_timed([python, "-c", "import numpy, rdkit.Chem.Descriptors, onnxruntime, click"]) for _ in range(args.runs)]
    verdict = "within" if statistics.median(w for w, _ in cold) <= BUDGET_S else "OVER"
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (wall times stretch with load; CPU times do not)")
    print(f"cold `chi-lite predict` one pair ({args.chi_lite}):\n  {_summary(cold)}; {verdict} the {BUDGET_S} s wall budget")
    print(f"  floor, bare interpreter:                    {_summary(bare)}")
    print(f"  floor, import numpy+rdkit+onnxruntime+click: {_summary(deps)}")

    runs = [eval(subprocess.run([python, "-c", PHASES], check=True, capture_output=True, text=True).stdout)
            for _ in range(max(3, args.runs // 3))]
    print("  where it goes (cumulative, median of in-process marks):")
    for i, (label, _) in enumerate(runs[0]):
        print(f"    {label:38s} {1e3 * statistics.median(r[i][1] for r in runs):6.0f} ms")

    _serve_round_trips(args.chi_lite, max(50, 20 * args.runs))

    dist = ROOT / "dist"
    wheels = sorted(dist.glob("chi_lite-*.whl"))
    if wheels:
        house = dist / "wheelhouse"
        size = sum(f.stat().st_size for f in house.glob("*.whl")) if house.is_dir() else 0
        print(f"sizes: {wheels[-1].name} {wheels[-1].stat().st_size / 1e6:.1f} MB"
              + (f"; dist/wheelhouse {size / 1e6:.0f} MB" if size else " (run make wheelhouse for the wheelhouse)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
