"""`chi-lite serve`: the model behind a JSON protocol, over stdio (pipes) or HTTP (loopback by default)."""

from __future__ import annotations

import click

from ..limits import MAX_CONNECTIONS, MAX_PAIRS, MAX_REQUEST_BYTES
from .options import model_option, threads_option

DEFAULT_PORT = 8765


@click.command()
@click.option("--stdio", is_flag=True, help="One JSON request per input line, one JSON answer per output line.")
@click.option("--http", is_flag=True,
              help="JSON over HTTP (POST /predict, /screen, /phase; GET /model, /health, /names, /ops) and the browser page at /.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="HTTP address to bind (loopback unless you open it; other addresses want --token).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="HTTP port (0: any free port).")
@click.option("--token", envvar="CHI_LITE_TOKEN", default=None,
              help="HTTP: every request must send 'Authorization: Bearer TOKEN' (env CHI_LITE_TOKEN).")
@click.option("--max-connections", type=click.IntRange(1, 1024), default=MAX_CONNECTIONS, show_default=True,
              help="HTTP connections answered at once; more get 503.")
@click.option("--max-batch", type=click.IntRange(1), default=MAX_PAIRS, show_default=True,
              help="Most pairs in one predict request.")
@click.option("--max-request-bytes", type=click.IntRange(64), default=MAX_REQUEST_BYTES, show_default=True,
              help="Largest request line or body.")
@model_option
@threads_option
def serve(stdio, http, host, port, token, max_connections, max_batch, max_request_bytes, model_dir, threads) -> None:
    """Serve predictions to other programs; the model is loaded once, before the first request."""
    if stdio == http:
        raise click.UsageError("choose one transport: --stdio or --http" + (" (not both)" if stdio else ""))

    from ..screening import Screener
    from ..server import serve_http, serve_stdio
    from ..service import ChiService

    screener = Screener(model_dir, threads=threads)  # one model: the screener holds the predictor
    service = ChiService(screener.predictor, max_batch=max_batch, screener=screener)
    if stdio:
        serve_stdio(service, max_request_bytes=max_request_bytes)
    else:
        serve_http(service, host, port, max_request_bytes=max_request_bytes, token=token, max_connections=max_connections)
