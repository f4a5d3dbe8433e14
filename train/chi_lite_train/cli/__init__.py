"""`chi-lite-train`: fit and export the shipped model. One module per command; torch is imported only inside commands."""

from __future__ import annotations

import click

from ..fewshot import fewshot
from .card import card
from .common import config_with as _config  # noqa: F401  (the names fewshot.py imports from here)
from .common import load_data as _load_data  # noqa: F401
from .common import load_labels as _load_labels  # noqa: F401
from .common import log as _log  # noqa: F401
from .common import require_training_extra as _require_training_extra  # noqa: F401
from .cv import cv
from .fit import fit
from .lever import lever
from .polysol_report import polysol_report
from .tune import tune
from .verdict import verdict


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Train the chi-lite multitask χ ensemble and export it to ONNX."""


for _command in (fit, cv, polysol_report, tune, card, verdict, fewshot, lever):
    main.add_command(_command)
