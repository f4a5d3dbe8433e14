"""The page's protocol ops (phase, names, ops), its static files over HTTP, and `chi-lite ui`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from chi_lite.errors import RequestError
from chi_lite.names import table
from chi_lite.predictor import ChiPredictor
from chi_lite.service import ChiService
from chi_lite.web.ops import MAX_PHASE_POINTS
from chi_lite.web.static import PAGE_FILES, page_size

PS = "*CC(*)c1ccccc1"
CLI = [sys.executable, "-c", "from chi_lite.cli import main; main()"]


@pytest.fixture(scope="module")
def service(tiny_model_dir):
    return ChiService(ChiPredictor(tiny_model_dir))


def test_phase_op_is_the_cli_diagram_plus_its_summary_line(service, tiny_model_dir):
    answer = service.handle({"id": 3, "op": "phase", "polymer": "polystyrene", "solvent": "toluene",
                             "chain_length": 500, "tmin": 10, "tmax": 90, "points": 9})
    diagram = ChiPredictor(tiny_model_dir).phase_diagram(PS, "Cc1ccccc1", 500, 10, 90, points=9)
    expected = {**diagram.to_dict(), "description": diagram.critical.describe()}
    assert answer["id"] == 3
    result = answer["result"]
    expected.pop("points")  # compared below, per field
    for key, value in expected.items():
        if key in ("polymer", "solvent"):
            continue  # the request's own words (a name here)
        assert result[key] == pytest.approx(value) if isinstance(value, float) else result[key] == value, key
    assert [p["temperature_k"] for p in result["points"]] == pytest.approx([p.temperature_k for p in diagram.points])
    assert [p["chi"] for p in result["points"]] == pytest.approx([p.chi for p in diagram.points], abs=1e-7)


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"polymer": PS, "solvent": "O"}, "needs 'chain_length'"),
        ({"polymer": PS, "solvent": "O", "chain_length": 100, "points": MAX_PHASE_POINTS + 1}, f"from 2 to {MAX_PHASE_POINTS}"),
        ({"polymer": PS, "solvent": "O", "chain_length": 100, "points": True}, "'points' must be an integer"),
        ({"polymer": PS, "solvent": 5, "chain_length": 100}, "'solvent' must be a string"),
        ({"polymer": PS, "solvent": "O", "chain_length": 100, "plot": "x.png"}, "unknown field(s) 'plot'"),
        ({"polymer": PS, "solvent": "O", "chain_length": 100, "tmin": 80, "tmax": 20}, "range is empty"),
        ({"polymer": PS, "solvent": "O", "chain_length": 0.5}, "chain length"),
        ({"polymer": PS, "solvent": "C1CC(", "chain_length": 100}, "invalid solvent SMILES"),
    ],
)
def test_phase_op_refuses_bad_requests_in_one_line(service, request_, message):
    answer = service.handle({"op": "phase", **request_})
    assert message in answer["error"] and "\n" not in answer["error"]


def test_names_op_lists_the_built_in_tables(service):
    both = service.call({"op": "names"})
    assert [e["name"] for e in both["polymers"]] == [e.name for e in table("polymers")]
    assert both["solvents"][0] == {"name": table("solvents")[0].name, "aliases": list(table("solvents")[0].aliases),
                                   "smiles": table("solvents")[0].smiles}
    assert list(service.call({"op": "names", "kind": "solvents"})) == ["solvents"]
    with pytest.raises(RequestError, match="'kind' must be one of"):
        service.call({"op": "names", "kind": "salts"})


def test_ops_op_says_what_this_server_answers(service, tiny_model_dir):
    listed = service.call({"op": "ops"})
    assert {"predict", "phase", "names", "ops", "info", "health"} <= set(listed["ops"])
    assert "screen" not in listed["ops"] and "/screen" not in listed["http"]  # this service has no screener
    assert listed["http"]["/phase"] == {"method": "POST", "op": "phase"} and listed["max_batch"] == service.max_batch
    assert "calibrate" not in listed["ops"]  # the page shows its Calibrate tab only when it is here


@pytest.fixture(scope="module")
def http_url(service):
    from chi_lite.server import ChiHTTPServer

    httpd = ChiHTTPServer(("127.0.0.1", 0), service)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.url
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_page_files_are_served_with_a_strict_policy_and_nothing_else(http_url):
    for path, (name, content_type) in PAGE_FILES.items():
        status, headers, body = fetch(http_url + path)
        assert status == 200 and headers["Content-Type"] == content_type and body
        assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    html = fetch(http_url + "/")[2].decode()
    assert "http://" not in html and "https://" not in html  # no CDN, no external font or script
    for path in ("/web/ops.py", "/../server.py", "/app.js/", "/favicon.ico"):
        status, headers, body = fetch(http_url + path)
        assert status == 404 and "no such endpoint" in json.loads(body)["error"]
    status, _, body = fetch(http_url + "/", "POST", b"{}")
    assert status == 404
    status, _, body = fetch(http_url + "/phase", "POST", json.dumps({"polymer": PS, "solvent": "O", "chain_length": 50}).encode())
    assert status == 200 and json.loads(body)["result"]["chain_length"] == 50
    status, _, body = fetch(http_url + "/phase", "POST", json.dumps({"polymer": PS, "solvent": "O"}).encode())
    assert status == 400 and "needs 'chain_length'" in json.loads(body)["error"]


def test_the_page_stays_small_and_loads_nothing_from_elsewhere():
    assert page_size() < 100_000
    from chi_lite.web.static import page_file

    for name in ("app.js", "style.css"):
        text = page_file(name).decode()
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), name  # the SVG namespace is a name, not a fetch
        assert "@import" not in text and "url(" not in text


def test_chi_lite_ui_serves_on_loopback_and_opens_the_browser(tiny_model_dir, tmp_path):
    opened = tmp_path / "opened.txt"
    fake_browser = f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\" %s"
    env = {**os.environ, "CHI_LITE_MODEL": str(tiny_model_dir), "BROWSER": fake_browser}
    proc = subprocess.Popen([*CLI, "ui"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        lines = [proc.stderr.readline().decode() for _ in range(2)]
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", "".join(lines))
        assert match, lines
        url = match.group(1)
        status, headers, body = fetch(url + "/")
        assert status == 200 and b"<title>chi-lite</title>" in body
        for _ in range(200):
            if opened.exists() and opened.read_text():
                break
            threading.Event().wait(0.05)
        assert opened.read_text() == url + "/"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.communicate()


def test_chi_lite_ui_no_browser_opens_nothing(tiny_model_dir, tmp_path):
    opened = tmp_path / "opened.txt"
    env = {**os.environ, "CHI_LITE_MODEL": str(tiny_model_dir),
           "BROWSER": f"{sys.executable} -c \"open({str(opened)!r}, 'w').write('x')\""}
    proc = subprocess.Popen([*CLI, "ui", "--no-browser", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        lines = [proc.stderr.readline().decode() for _ in range(2)]
        url = re.search(r"listening on (http://\S+)", "".join(lines)).group(1)
        assert fetch(url + "/health")[0] == 200
        threading.Event().wait(0.5)
        assert not opened.exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.communicate()
