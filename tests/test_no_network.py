"""The runtime makes no network connection of its own: no update check, no download, no telemetry.

predict and screen run in a child process whose socket layer records and refuses every attempt
to resolve a name or connect; the test asserts nothing was attempted and the commands still worked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_GUARD = r"""
import json, socket, sys

attempts = []

def _refuse(what):
    def refuse(*args, **kwargs):
        attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
        raise OSError(f"network disabled by test: {what}")
    return refuse

class NoNetworkSocket(socket.socket):
    connect = _refuse("socket.connect")
    connect_ex = _refuse("socket.connect_ex")
    sendto = _refuse("socket.sendto")

socket.socket = NoNetworkSocket
socket.create_connection = _refuse("create_connection")
socket.getaddrinfo = _refuse("getaddrinfo")
socket.gethostbyname = _refuse("gethostbyname")

def run(argv):
    if argv[0] == "probe":  # proves the guard sees a real connection attempt
        import urllib.request
        try:
            urllib.request.urlopen(argv[1], timeout=5)
        except OSError:
            pass
        return 0
    from chi_lite.cli import main
    try:
        main(argv)
    except SystemExit as exit:
        return exit.code or 0
    return 0

codes = [run(argv) for argv in json.loads(sys.argv[1])]
print("NETWORK-GUARD " + json.dumps({"codes": codes, "attempts": attempts}))
"""


def _run_guarded(*commands: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", _GUARD, json.dumps(commands)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if l.startswith("NETWORK-GUARD "))
    return {**json.loads(line.removeprefix("NETWORK-GUARD ")), "stdout": done.stdout, "stderr": done.stderr}


def test_predict_and_screen_make_no_network_connection():
    result = _run_guarded(
        ["predict", "--polymer", "polystyrene", "--solvent", "toluene", "--temperature", "25", "--format", "json"],
        ["predict", "--polymer", "*CC(*)c1ccccc1", "--solvent", "O", "--temperature", "25", "--chain-length", "1000"],
        ["screen", "--polymer", "polystyrene", "--temperature", "25", "--top", "5", "--format", "csv"],
    )
    assert result["codes"] == [0, 0, 0], result["stderr"]
    assert result["attempts"] == []
    lines = result["stdout"].splitlines()
    assert '"chi":' in result["stdout"] and '"solvent": "Cc1ccccc1",' in [line.strip() for line in lines]  # predict answered
    assert any(line.startswith("5,") for line in lines)  # screen ranked its top 5


def test_the_guard_records_a_connection_attempt():
    # Without this, an empty record could mean the guard never saw anything.
    result = _run_guarded(["probe", "http://127.0.0.1:9/"])
    assert result["attempts"], "the socket guard missed urllib's connection"
