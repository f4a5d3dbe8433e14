"""The two transports of `chi-lite serve`: JSON lines over stdio, and JSON over HTTP.

Both hand every request to one ChiService (one loaded model); this module only
moves bytes, enforces size limits and maps refusals to HTTP status codes.
Stdlib only, so the core install needs no web framework.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable

from .errors import ChiLiteError, RequestError
from .service import MAX_REQUEST_BYTES, ChiService, encode, salvage_id
from .web.ops import WEB_ROUTES
from .web.static import send_static

# path -> (method, op). Adding an op to HTTP is one entry here.
HTTP_ROUTES: dict[str, tuple[str, str]] = {
    "/predict": ("POST", "predict"),
    "/screen": ("POST", "screen"),
    "/model": ("GET", "info"),
    "/health": ("GET", "health"),
    **WEB_ROUTES,  # /phase, /names, /ops: what the browser page needs
}


def _log(message: str) -> None:
    print(f"chi-lite serve: {message}", file=sys.stderr, flush=True)


# --- stdio -------------------------------------------------------------------------------------


def serve_stdio(
    service: ChiService,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> None:
    """Answer one JSON request per input line, in order, one flushed line each, until EOF or SIGTERM.

    Blank lines are skipped. SIGTERM while waiting for input stops at once; while a request
    is being answered, it stops after that answer is written.
    """
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stdout = stdout if stdout is not None else sys.stdout.buffer
    state = {"busy": False, "stop": False}

    def on_sigterm(signum: int, frame: Any) -> None:
        if state["busy"]:
            state["stop"] = True
        else:
            raise SystemExit(0)

    previous = _install(signal.SIGTERM, on_sigterm)
    try:
        while not state["stop"]:
            line = stdin.readline(max_request_bytes + 1)
            if not line:
                break
            state["busy"] = True
            if len(line) > max_request_bytes and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # drop the rest of the oversized line
                    line = stdin.readline(1 << 16)
                response = {"id": None, "error": f"request is larger than {max_request_bytes} bytes"}
            elif not line.strip():
                state["busy"] = False
                continue
            else:
                response = _answer_line(service, line)
            try:
                stdout.write(encode(response).encode("utf-8") + b"\n")
                stdout.flush()
            except BrokenPipeError:
                break
            state["busy"] = False
    finally:
        _install(signal.SIGTERM, previous)


def _answer_line(service: ChiService, line: bytes) -> dict[str, Any]:
    try:
        return service.handle_line(line)
    except Exception as exc:  # a bug must not end the loop other programs depend on
        _log(f"internal error: {type(exc).__name__}: {exc}")
        return {"id": salvage_id(line), "error": f"internal error: {type(exc).__name__}: {exc}"}


def _install(signum: int, handler: Any) -> Any:
    """Set a signal handler when we are on the main thread (tests may call us from others)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


# --- HTTP --------------------------------------------------------------------------------------


class ChiHTTPServer(ThreadingHTTPServer):
    """One thread per request; closing waits for requests in flight (graceful shutdown)."""

    daemon_threads = False
    block_on_close = True
    # socketserver's default listen backlog is 5: a burst of clients on a busy machine
    # overflows it and some connections are reset before a thread can accept them.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: ChiService, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.service = service
        self.max_request_bytes = max_request_bytes
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: ChiHTTPServer
    server_version = "chi-lite"
    timeout = 30  # seconds a client may stall mid-request before its thread is freed

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        route = HTTP_ROUTES.get(path)
        if route is None and send_static(self, method, path):  # the browser page (/, /app.js, /style.css)
            return
        if route is None:
            known = ", ".join(f"{m} {p}" for p, (m, _) in HTTP_ROUTES.items())
            return self._send(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {path!r} (known: {known})"})
        allowed, op = route
        if method != allowed:
            return self._send(
                HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{path} takes {allowed}, not {method}"}, allow=allowed
            )
        request: Any = {}
        if method == "POST":
            body = self._read_body()
            if body is None:
                return
            try:
                request = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return self._send(HTTPStatus.BAD_REQUEST, {"error": f"request body is not valid JSON: {exc}"})
            if isinstance(request, dict) and request.get("op", op) != op:
                return self._send(HTTPStatus.BAD_REQUEST, {"error": f"op {request['op']!r} does not match {path}"})
        request_id = request.get("id") if isinstance(request, dict) else None
        try:
            result = self.server.service.call(request, op)
        except RequestError as exc:
            return self._send(exc.status, {"id": request_id, "error": str(exc)})
        except ChiLiteError as exc:
            return self._send(HTTPStatus.BAD_REQUEST, {"id": request_id, "error": str(exc)})
        except Exception as exc:
            _log(f"internal error on {method} {path}: {type(exc).__name__}: {exc}")
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"id": request_id, "error": "internal error"})
        self._send(HTTPStatus.OK, {"id": request_id, "result": result})

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering why it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(HTTPStatus.LENGTH_REQUIRED, {"error": "chunked bodies are not accepted: send Content-Length"})
            return None
        raw = self.headers.get("Content-Length")
        try:
            length = int(raw) if raw is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self._send(HTTPStatus.LENGTH_REQUIRED, {"error": "a POST needs a valid Content-Length header"})
            return None
        if length > self.server.max_request_bytes:
            self._discard(length)
            self._send(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {"error": f"request body of {length} bytes exceeds the limit of {self.server.max_request_bytes}"},
            )
            return None
        return self.rfile.read(length)

    def _discard(self, length: int) -> None:
        """Read and drop an oversized body (up to 16× the limit) so the client sees the 413, not a reset."""
        self.close_connection = True  # whatever is left unread must not be parsed as the next request
        if length > 16 * self.server.max_request_bytes:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _send(self, status: int, payload: dict[str, Any], allow: str | None = None) -> None:
        body = encode(payload).encode("utf-8") + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: a process-control caller may send thousands of requests a day."""


def serve_http(
    service: ChiService,
    host: str = "127.0.0.1",
    port: int = 8765,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGTERM or Ctrl-C, then finish the requests in flight and return.

    ``on_ready(url)`` runs once the socket listens (`chi-lite ui` opens the browser there).
    """
    try:
        server = ChiHTTPServer((host, port), service, max_request_bytes)
    except OSError as exc:
        raise ChiLiteError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() blocks: not in the loop's thread

    previous = [_install(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)]
    _log(f"listening on {server.url} (model {service.predictor.artifact.sha256[:12]})")
    if on_ready is not None:
        on_ready(server.url)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()  # joins the request threads still answering
        for s, handler in zip((signal.SIGTERM, signal.SIGINT), previous):
            _install(s, handler)
        _log("stopped")
