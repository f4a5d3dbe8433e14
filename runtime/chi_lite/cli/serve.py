"""`chi-lite serve`: the model behind a JSON protocol, over stdio (pipes) or HTTP (loopback by default)."""

from __future__ import annotations

import click

from .options import model_option, threads_option

DEFAULT_PORT = 8765


@click.command()
@click.option("--stdio", "mode", flag_value="stdio", help="One JSON request per input line, one JSON answer per output line.")
@click.option("--http", "mode", flag_value="http", help="JSON over HTTP (POST /predict, /screen, /phase; GET /model, /health, /names, /ops) and the browser page at /.")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP address to bind (loopback unless you open it).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="HTTP port (0: any free port).")
@click.option("--max-batch", type=click.IntRange(1), default=None, help="Most pairs in one predict request (default 1000).")
@click.option("--max-request-bytes", type=click.IntRange(64), default=None, help="Largest request line or body (default 1 MiB).")
@model_option
@threads_option
def serve(mode, host, port, max_batch, max_request_bytes, model_dir, threads) -> None:
    """Serve predictions to other programs; the model is loaded once, before the first request."""
    if mode is None:
        raise click.UsageError("choose a transport: --stdio or --http")

    from ..screening import Screener
    from ..server import serve_http, serve_stdio
    from ..service import MAX_BATCH, MAX_REQUEST_BYTES, ChiService

    screener = Screener(model_dir, threads=threads)  # one model: the screener holds the predictor
    service = ChiService(screener.predictor, max_batch=max_batch or MAX_BATCH, screener=screener)
    limit = max_request_bytes or MAX_REQUEST_BYTES
    if mode == "stdio":
        serve_stdio(service, max_request_bytes=limit)
    else:
        serve_http(service, host, port, max_request_bytes=limit)
