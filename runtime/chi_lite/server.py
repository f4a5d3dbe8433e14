"""The two transports of `chi-lite serve`: JSON lines over stdio, and JSON over HTTP.

Both hand every request to one ChiService (one loaded model); this module only
moves bytes, enforces size limits and maps refusals to HTTP status codes.
Stdlib only, so the core install needs no web framework.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import select
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable

from .errors import ChiLiteError, RequestError
from .limits import MAX_CONNECTIONS
from .service import MAX_REQUEST_BYTES, ChiService, encode, salvage_id
from .web.ops import WEB_ROUTES
from .web.static import send_static

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
TOKEN_ENV = "CHI_LITE_TOKEN"
# Every method http.server would otherwise answer with a 501 HTML page gets the documented 405 JSON.
OTHER_METHODS = ("PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")

# path -> (method, op). Adding an op to HTTP is one entry here.
HTTP_ROUTES: dict[str, tuple[str, str]] = {
    "/predict": ("POST", "predict"),
    "/screen": ("POST", "screen"),
    "/calibrate": ("POST", "calibrate"),
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

    def __init__(
        self,
        address: tuple[str, int],
        service: ChiService,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        *,
        token: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.service = service
        self.max_request_bytes = max_request_bytes
        self.token = token or None
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self.allowed_hosts = allowed_host_names(address[0], self.token)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Answer 503 at once when every connection slot is taken, instead of starting one more thread."""
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request, self.max_connections)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One log line, never a traceback; a client that went away is not worth a line."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            _log(f"internal error with a client: {type(exc).__name__}: {exc}")

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

    def __getattr__(self, name: str) -> Any:
        """do_PUT, do_PATCH, do_HEAD, do_OPTIONS, …: every other method gets the routes' 405 (or 404)."""
        method = name[3:] if name.startswith("do_") else ""
        if method in OTHER_METHODS:
            return lambda: self._dispatch(method)
        raise AttributeError(name)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):  # the client went away early: nothing to answer, nothing to log
            self.close_connection = True

    def _dispatch(self, method: str) -> None:
        if method == "HEAD":
            self.close_connection = True  # a HEAD answer has no body; do not reuse the connection after one
        refusal = self._refusal(method)
        if refusal is not None:
            return self._send(refusal[0], {"error": refusal[1]})
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
            kind = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
            if kind != "application/json":  # a form or text/plain POST is what a cross-site page can send unasked
                return self._send(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                                  {"error": "a POST body must be sent as Content-Type: application/json"})
            try:
                request = json.loads(body)
            except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, a 5000-digit number, deep nesting
                return self._send(HTTPStatus.BAD_REQUEST, {"error": f"request body is not valid JSON: {_one_line(exc)}"})
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

    def _refusal(self, method: str) -> tuple[int, str] | None:
        """Why this request may not be answered at all (Host, Origin, token), or None.

        Host and Origin stop a web page in a local browser (DNS rebinding, cross-site POSTs) from
        reaching a loopback server; the token is what protects a server opened to the network.
        """
        host = _host_name(self.headers.get("Host", ""))
        if host and self.server.allowed_hosts is not None and host not in self.server.allowed_hosts:
            return HTTPStatus.FORBIDDEN, f"Host {host[:80]!r} is not accepted: use {self.server.allowed_hosts[0]} (or start serve with --token for other names)"
        origin = self.headers.get("Origin")
        if origin is not None and self.server.token is None and _host_name(origin.split("://", 1)[-1]) not in LOOPBACK_NAMES:
            return HTTPStatus.FORBIDDEN, "requests from web pages of other origins are refused"
        if self.server.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {self.server.token}".encode()):
                return HTTPStatus.UNAUTHORIZED, "missing or wrong token: send 'Authorization: Bearer <token>'"
        return None

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
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: a process-control caller may send thousands of requests a day."""


def is_loopback(host: str) -> bool:
    """Whether a bind address reaches only this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_host_names(bind_host: str, token: str | None) -> tuple[str, ...] | None:
    """Host header names a server answers to: loopback names (and its own address); any with a token."""
    if token:
        return None
    names = tuple(LOOPBACK_NAMES)
    return names if is_loopback(bind_host) else names + (bind_host,)


def _host_name(value: str) -> str:
    """'127.0.0.1:8765' → '127.0.0.1', '[::1]:8765' → '::1', 'LocalHost' → 'localhost'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _refuse_busy(sock: Any, limit: int) -> None:
    body = encode({"error": f"server busy: {limit} connections already open (raise --max-connections)"}).encode() + b"\n"
    head = (f"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").encode()
    try:
        sock.settimeout(1.0)
        sock.sendall(head + body)
    except OSError:
        pass


def network_warning(host: str, token: str | None) -> str | None:
    """The loud warning for a server reachable from other machines (None on loopback)."""
    if is_loopback(host):
        return None
    if token:
        return (f"WARNING: listening on {host}, reachable from other machines; every request must carry the token. "
                "Traffic is not encrypted: use a trusted network or a TLS proxy")
    return (f"WARNING: listening on {host} WITHOUT AUTHENTICATION: anyone who can reach this port may use the "
            f"model and read its path. Start with --token (or {TOKEN_ENV}) for use beyond this machine")


def serve_http(
    service: ChiService,
    host: str = "127.0.0.1",
    port: int = 8765,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    *,
    token: str | None = None,
    max_connections: int = MAX_CONNECTIONS,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGTERM or Ctrl-C, then answer the connections already accepted and return.

    ``on_ready(url)`` runs once the socket listens (`chi-lite ui` opens the browser there).
    """
    try:
        server = ChiHTTPServer((host, port), service, max_request_bytes, token=token, max_connections=max_connections)
    except OSError as exc:
        raise ChiLiteError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    warning = network_warning(host, token)
    if warning:
        _log(warning)

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()  # shutdown() blocks: not in the loop's thread

    previous = [_install(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)]
    _log(f"listening on {server.url} (model {service.predictor.artifact.sha256[:12]})")
    if on_ready is not None:
        on_ready(server.url)
    try:
        server.serve_forever(poll_interval=0.2)
        _drain(server)
    finally:
        server.server_close()  # joins the request threads still answering
        for s, handler in zip((signal.SIGTERM, signal.SIGINT), previous):
            _install(s, handler)
        _log("stopped")


def _drain(server: ChiHTTPServer) -> None:
    """Answer the connections the kernel accepted before the stop (they wait in the listen backlog)."""
    for _ in range(server.request_queue_size):  # bounded: clients still connecting do not keep us alive
        if not select.select([server.socket], [], [], 0)[0]:
            return
        server._handle_request_noblock()  # socketserver's one-connection step
