"""The page's files over HTTP: a fixed whitelist read from this package, never a path a client chooses."""

from __future__ import annotations

from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent

# URL path -> (file in this folder, Content-Type). Only these are ever served.
PAGE_FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}

# The page needs nothing from elsewhere: scripts, styles and requests stay on this server,
# and no other site may frame it.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=None)
def page_file(name: str) -> bytes:
    """One of the page's files, read once."""
    return (_HERE / name).read_bytes()


def page_size() -> int:
    """Bytes of everything the page loads (the issue's budget is 100 KB)."""
    return sum((_HERE / name).stat().st_size for name in {name for name, _ in PAGE_FILES.values()})


def send_static(handler: Any, method: str, path: str) -> bool:
    """Answer a GET for one of the page's files on ``handler`` (a BaseHTTPRequestHandler); False when ``path`` is not one."""
    entry = PAGE_FILES.get(path)
    if entry is None or method != "GET":
        return False
    name, content_type = entry
    body = page_file(name)
    handler.send_response(HTTPStatus.OK)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for header, value in _HEADERS.items():
        handler.send_header(header, value)
    handler.end_headers()
    handler.wfile.write(body)
    return True
