"""`chi-lite serve` as other programs use it: a real process, real pipes and sockets, real signals."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from chi_lite.predictor import ChiPredictor

PS, TOLUENE = "*CC(*)c1ccccc1", "Cc1ccccc1"
CLI = [sys.executable, "-c", "from chi_lite.cli import main; main()"]


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "serve", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


# --- stdio ---------------------------------------------------------------------------------------


def test_stdio_answers_every_line_in_order_and_survives_bad_ones(tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    lines = [
        json.dumps({"id": 1, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25}),
        '{"id": 2, "op": "predict", "polymer": ',  # truncated JSON: id still readable
        "",  # blank lines are skipped
        "not json at all",
        json.dumps({"id": 4, "op": "predict", "pairs": [
            {"polymer": "*CCO*", "solvent": "O", "temperature": 40},
            {"polymer": PS, "solvent": "C(", "temperature": 25},
        ]}),
        json.dumps({"id": 5, "op": "health"}),
        json.dumps({"id": 6, "op": "info"}),
        "x" * 5000,  # over --max-request-bytes
        json.dumps({"id": 8, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": -500}),
    ]
    proc = start("--stdio", "--model", str(tiny_model_dir), "--max-request-bytes", "4096")
    out, err = proc.communicate("\n".join(lines).encode() + b"\n", timeout=120)
    assert proc.returncode == 0, err.decode()
    answers = [json.loads(line) for line in out.decode().splitlines()]
    assert [a["id"] for a in answers] == [1, 2, None, 4, 5, 6, None, 8]
    assert answers[0]["result"]["chi"] == pytest.approx(predictor.predict(PS, TOLUENE, 25).chi, abs=1e-7)
    assert "not valid JSON" in answers[1]["error"] and "not valid JSON" in answers[2]["error"]
    batch = answers[3]["result"]
    assert batch[0]["chi"] == pytest.approx(predictor.predict("*CCO*", "O", 40).chi, abs=1e-7)
    assert "invalid solvent SMILES" in batch[1]["error"]
    assert answers[4]["result"]["model_sha256"] == predictor.artifact.sha256
    assert answers[5]["result"]["directory"] == str(tiny_model_dir)
    assert "larger than 4096 bytes" in answers[6]["error"]
    assert "absolute zero" in answers[7]["error"]


def test_stdio_answers_each_line_before_the_next_arrives(tiny_model_dir):
    """A caller that waits for each answer (flushed per line) must never deadlock."""
    proc = start("--stdio", "--model", str(tiny_model_dir))
    try:
        for i in range(3):
            proc.stdin.write(json.dumps({"id": i, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 20 + i}).encode() + b"\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())
            assert answer["id"] == i and answer["result"]["temperature_c"] == pytest.approx(20 + i)
        proc.send_signal(signal.SIGTERM)  # idle, waiting for input: stops at once, cleanly
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_serve_refuses_a_tampered_model_and_bad_threads_in_one_line(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    with open(copy / "chi_model.onnx", "ab") as handle:
        handle.write(b"\0")
    proc = start("--stdio", env={"CHI_LITE_MODEL": str(copy)})
    _, err = proc.communicate(b"", timeout=60)
    assert proc.returncode == 2 and err.decode().count("\n") == 1
    assert re.search(r"^error: artifact file .*chi_model\.onnx does not match its manifest hash", err.decode())
    proc = start("--stdio", "--model", str(tiny_model_dir), env={"CHI_LITE_THREADS": "zero"})
    _, err = proc.communicate(b"", timeout=60)
    assert proc.returncode == 2 and "CHI_LITE_THREADS='zero'" in err.decode() and err.decode().count("\n") == 1
    proc = start("--model", str(tiny_model_dir))
    _, err = proc.communicate(b"", timeout=60)
    assert proc.returncode == 2 and "--stdio or --http" in err.decode()


# --- HTTP ----------------------------------------------------------------------------------------


class Server:
    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc, self.url = proc, url

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def post(self, path: str, payload) -> tuple[int, dict]:
        return self.call("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def launch(model_dir) -> Server:
    """A server on a free port, model and threads from the environment (as a service manager would set them)."""
    proc = start("--http", "--port", "0", "--max-batch", "50", "--max-request-bytes", "20000",
                 env={"CHI_LITE_MODEL": str(model_dir), "CHI_LITE_THREADS": "1"})
    line = proc.stderr.readline().decode()  # printed once the socket listens and the model is loaded
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        proc.kill()
        pytest.fail(line + proc.communicate()[1].decode())
    return Server(proc, match.group(1))


@pytest.fixture(scope="module")
def http_server(tiny_model_dir):
    server = launch(tiny_model_dir)
    yield server
    server.proc.kill()
    server.proc.communicate()


def test_http_endpoints_answer_like_stdio(http_server, tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    status, answer = http_server.post("/predict", {"id": "a", "polymer": PS, "solvent": TOLUENE, "temperature": 25})
    assert status == 200 and answer["id"] == "a"
    assert answer["result"]["chi"] == pytest.approx(predictor.predict(PS, TOLUENE, 25).chi, abs=1e-7)
    status, answer = http_server.post("/predict", {"pairs": [
        {"polymer": PS, "solvent": "C(", "temperature": 25}, {"polymer": "*CCO*", "solvent": "O", "temperature": 30}]})
    assert status == 200 and "invalid solvent SMILES" in answer["result"][0]["error"]
    assert answer["result"][1]["chi"] == pytest.approx(predictor.predict("*CCO*", "O", 30).chi, abs=1e-7)
    status, ranked = http_server.post("/screen", {"id": "s", "polymer": "polystyrene", "solvents": ["O", "toluene", "C("], "top": 2})
    assert status == 200 and [r["line"] for r in ranked["result"]["rows"]] == sorted(
        [1, 2], key=lambda line: predictor.predict(PS, ["O", TOLUENE][line - 1], 25).chi)
    assert ranked["result"]["bad_rows"][0]["line"] == 3
    status, refused = http_server.post("/screen", {"polymer": PS, "library": "/etc/passwd"})
    assert status == 400 and "'library' must be" in refused["error"]
    status, card = http_server.call("GET", "/model")
    assert status == 200 and card["result"]["directory"] == str(tiny_model_dir)
    status, health = http_server.call("GET", "/health")
    assert status == 200 and health["result"]["status"] == "ok"


@pytest.mark.parametrize(
    "method, path, body, headers, status, message",
    [
        ("POST", "/predict", b"{not json", {}, 400, "not valid JSON"),
        ("POST", "/predict", json.dumps({"polymer": "*CC", "solvent": "O", "temperature": 25}).encode(), {}, 400, "exactly two '*'"),
        ("POST", "/predict", json.dumps({"polymer": PS, "solvent": "O"}).encode(), {}, 400, "lacks temperature"),
        ("POST", "/predict", json.dumps({"op": "info"}).encode(), {}, 400, "does not match /predict"),
        ("POST", "/predict", json.dumps({"pairs": [{"polymer": PS, "solvent": "O", "temperature": 1}] * 51}).encode(), {}, 413, "limit is 50"),
        ("POST", "/predict", b"[" + b" " * 300000 + b"]", {}, 413, "exceeds the limit of 20000"),
        ("GET", "/predict", None, {}, 405, "takes POST"),
        ("POST", "/health", b"{}", {}, 405, "takes GET"),
        ("DELETE", "/model", None, {}, 405, "takes GET"),
        ("GET", "/nowhere", None, {}, 404, "no such endpoint"),
    ],
)
def test_http_refusals_are_json_with_proper_status(http_server, method, path, body, headers, status, message):
    got_status, answer = http_server.call(method, path, body, headers)
    assert got_status == status and message in answer["error"]


def test_http_refuses_bodies_without_a_length(http_server):
    host, port = http_server.url.removeprefix("http://").split(":")
    for headers, message in [(b"Transfer-Encoding: chunked\r\n", b"send Content-Length"), (b"", b"needs a valid Content-Length")]:
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.0 411") and message in reply


def test_http_burst_of_concurrent_clients(http_server, tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    solvents = ["Cc1ccccc1", "O", "CCO", "ClC(Cl)Cl", "CC(C)=O", "c1ccccc1", "CCCCCC", "CO", "C1CCOC1", "CC#N"]
    expected = {(s, t): predictor.predict(PS, s, t).chi for s in solvents for t in (10, 60)}

    def client(i: int):
        s, t = solvents[i % len(solvents)], (10, 60)[i % 2]
        if i % 5 == 4:  # some clients batch, in reverse order
            pairs = [{"polymer": PS, "solvent": x, "temperature": t} for x in reversed(solvents)]
            return i, ("batch", t), http_server.post("/predict", {"id": i, "pairs": pairs})
        return i, (s, t), http_server.post("/predict", {"id": i, "polymer": PS, "solvent": s, "temperature": t})

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(client, range(80)))
    for i, key, (status, answer) in answers:
        assert status == 200 and answer["id"] == i
        if key[0] == "batch":
            chis = [r["chi"] for r in answer["result"]]
            assert chis == pytest.approx([expected[(s, key[1])] for s in reversed(solvents)], abs=1e-7)
        else:
            assert answer["result"]["chi"] == pytest.approx(expected[key], abs=1e-7)


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("Threads:")).split()[1])


def _wait_until(condition, what: str, timeout: float = 30.0) -> None:
    """Poll a condition of the live server; fail naming what never happened (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout} s: {what}")
        time.sleep(0.01)


def _refuses(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except OSError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts the server's threads through /proc (Linux)")
def test_http_sigterm_finishes_the_request_in_flight_then_exits_0(tiny_model_dir):
    server = launch(tiny_model_dir)
    try:
        host, port = server.url.removeprefix("http://").split(":")
        body = json.dumps({"id": "late", "polymer": PS, "solvent": TOLUENE, "temperature": 25}).encode()
        idle_threads = _threads(server.proc.pid)
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            # The server starts one thread per accepted request: once it exists, the request is in flight.
            _wait_until(lambda: _threads(server.proc.pid) > idle_threads, "the server never accepted the request")
            server.proc.send_signal(signal.SIGTERM)
            # Shutting down closes the listening socket first, then waits for the request threads.
            _wait_until(lambda: _refuses(host, int(port)), "the server kept listening after SIGTERM")
            conn.sendall(body)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200") and json.loads(payload)["id"] == "late"
        assert server.proc.wait(timeout=30) == 0
        assert "stopped" in server.proc.stderr.read().decode()
    finally:
        server.proc.kill()
        server.proc.communicate()


class _BrokenPredictor:
    """Stands in for a predictor with a bug: the transports must answer 500 / an error line and go on."""

    def __init__(self, real: ChiPredictor) -> None:
        self.artifact = real.artifact

    def predict(self, *args, **kwargs):
        raise RuntimeError("boom")


def test_a_bug_is_a_500_or_an_error_line_and_serving_goes_on(tiny_model_dir):
    import io
    import threading

    from chi_lite.server import ChiHTTPServer, serve_stdio
    from chi_lite.service import ChiService

    service = ChiService(_BrokenPredictor(ChiPredictor(tiny_model_dir)))
    request = {"id": 9, "polymer": PS, "solvent": TOLUENE, "temperature": 25}
    httpd = ChiHTTPServer(("127.0.0.1", 0), service)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        server = Server(None, httpd.url)
        assert server.post("/predict", request) == (500, {"id": 9, "error": "internal error"})
        assert server.call("GET", "/health")[0] == 200
    finally:
        httpd.shutdown()
        httpd.server_close()
    out = io.BytesIO()
    lines = json.dumps({"op": "predict", **request}) + "\n" + json.dumps({"id": 10, "op": "health"}) + "\n"
    serve_stdio(service, io.BytesIO(lines.encode()), out)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["id"] == 9 and "internal error: RuntimeError: boom" in first["error"] and second["result"]["status"] == "ok"
