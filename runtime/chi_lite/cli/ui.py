"""`chi-lite ui`: the browser page on loopback, opened in the default browser — no terminal work beyond this."""

from __future__ import annotations

import click

from .options import model_option, threads_option


def _open_browser(url: str) -> None:
    """Open ``url`` without holding up the server (some browsers' launchers block until they exit)."""
    import threading
    import webbrowser

    def run() -> None:
        if not webbrowser.open(url + "/"):
            click.echo(f"chi-lite ui: no browser found; open {url}/ yourself", err=True)

    threading.Thread(target=run, daemon=True).start()


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port; the address is printed).")
@click.option("--no-browser", is_flag=True, help="Only serve the page; do not open a browser.")
@model_option
@threads_option
def ui(port: int, no_browser: bool, model_dir, threads) -> None:
    """Open the chi-lite page in your browser (predict, phase diagram, solvent screen); Ctrl-C stops it."""
    from ..screening import Screener
    from ..server import serve_http
    from ..service import ChiService

    screener = Screener(model_dir, threads=threads)  # one model: the screener holds the predictor
    service = ChiService(screener.predictor, screener=screener)
    on_ready = None if no_browser else _open_browser
    click.echo("chi-lite ui: press Ctrl-C to stop", err=True)
    serve_http(service, "127.0.0.1", port, on_ready=on_ready)
