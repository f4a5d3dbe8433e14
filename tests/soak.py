"""Soak test of `chi-lite serve --http` (run by hand: `make soak`; not part of the test suite).

Concurrent clients send a mix of good, bad and hostile requests for a bounded time while the
server's RSS is sampled every few seconds. Passes when no request got a transport error or a
5xx, and memory plateaued: the RSS at the end is within 10 % (or 20 MB) of the RSS a third of the way in.

    python tests/soak.py --duration 120 --clients 8 [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

PS = "*CC(*)c1ccccc1"
SOLVENTS = ["Cc1ccccc1", "O", "CCO", "ClC(Cl)Cl", "CC(C)=O", "c1ccccc1", "CCCCCC", "CO", "C1CCOC1", "CC#N"]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def request_body(rng: random.Random) -> tuple[str, dict]:
    """One request of the mix: path and JSON body."""
    kind = rng.random()
    if kind < 0.4:
        return "/predict", {"polymer": PS, "solvent": rng.choice(SOLVENTS), "temperature": rng.uniform(0, 100)}
    if kind < 0.55:
        return "/predict", {"pairs": [{"polymer": PS, "solvent": s, "temperature": 25} for s in SOLVENTS]}
    if kind < 0.65:
        return "/screen", {"polymer": PS, "top": 5}
    if kind < 0.8:  # a distinct solvent every time: the name cache must stay bounded
        return "/predict", {"polymer": PS, "solvent": "C" * rng.randint(1, 30) + "O" * rng.randint(0, 3) + "N",
                            "temperature": 25, "id": rng.random()}
    if kind < 0.9:  # distinct over-long text: refused, and must not be kept either
        return "/predict", {"polymer": PS, "solvent": "C" * 5000 + str(rng.random()), "temperature": 25}
    return "/predict", {"polymer": "C.**", "solvent": "O", "temperature": "9" * 400}


def client(url: str, deadline: float, seed: int, counts: dict, lock: threading.Lock) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        path, body = request_body(rng)
        request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status = response.status
                response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.read()
        except OSError as exc:
            status = f"transport {type(exc).__name__}"
        with lock:
            counts[status] = counts.get(status, 0) + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    command = [sys.executable, "-c", "from chi_lite.cli import main; main()", "serve", "--http", "--port", "0"]
    if args.model:
        command += ["--model", args.model]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        print(line + server.communicate()[1], file=sys.stderr)
        return 2
    url = match.group(1)
    counts: dict = {}
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + args.duration
    threads = [threading.Thread(target=client, args=(url, deadline, i, counts, lock)) for i in range(args.clients)]
    samples = [(0.0, rss_mb(server.pid))]
    for t in threads:
        t.start()
    while time.monotonic() < deadline:
        time.sleep(args.sample)
        samples.append((time.monotonic() - started, rss_mb(server.pid)))
    for t in threads:
        t.join()
    samples.append((time.monotonic() - started, rss_mb(server.pid)))
    server.terminate()
    _, err = server.communicate(timeout=60)
    requests = sum(counts.values())
    third = next(rss for t, rss in samples if t >= args.duration / 3)
    end = samples[-1][1]
    failures = {k: v for k, v in counts.items() if not isinstance(k, int) or k >= 500}
    plateau = end <= max(third * 1.10, third + 20)
    print(f"requests {requests} in {args.duration:.0f} s with {args.clients} clients "
          f"({requests / args.duration:.0f}/s); statuses {dict(sorted(counts.items(), key=str))}")
    print("RSS MB: " + ", ".join(f"{t:.0f}s {rss:.0f}" for t, rss in samples))
    print(f"RSS start {samples[0][1]:.0f} MB, at a third {third:.0f} MB, end {end:.0f} MB: "
          f"{'plateau' if plateau else 'STILL GROWING'}; server exit {server.returncode}; "
          f"tracebacks in its log: {err.count('Traceback')}")
    return 0 if plateau and not failures and server.returncode == 0 and "Traceback" not in err else 1


if __name__ == "__main__":
    sys.exit(main())
