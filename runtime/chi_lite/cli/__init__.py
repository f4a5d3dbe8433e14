"""`chi-lite` command line: a click group, one module per subcommand, loaded lazily."""

from __future__ import annotations

import importlib
import sys
import warnings

import click

_COMMANDS = {
    "predict": ("chi_lite.cli.predict", "predict"),
    "info": ("chi_lite.cli.info", "info"),
    "names": ("chi_lite.cli.names", "names"),
    "screen": ("chi_lite.cli.screen", "screen"),
    "phase": ("chi_lite.cli.phase", "phase"),
    "serve": ("chi_lite.cli.serve", "serve"),
    "ui": ("chi_lite.cli.ui", "ui"),
}


class _LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (keeps start-up fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chi-lite", prog_name="chi-lite")
def cli() -> None:
    """Flory–Huggins χ(T) and polymer–solvent miscibility, from a trained ONNX ensemble."""


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> None:
    """Entry point: every refusal is one line on stderr and exit code 2, never a traceback."""
    from ..errors import ChiLiteError

    warnings.formatwarning = _one_line_warning
    try:
        code = cli.main(args=argv, prog_name="chi-lite", standalone_mode=False)
    except ChiLiteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `chi-lite`: the help is the answer
            click.echo(exc.format_message())
            sys.exit(0)
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:  # an output, plot or cache path that cannot be written: the user's to fix
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"error: {exc.strerror or exc}{where}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
