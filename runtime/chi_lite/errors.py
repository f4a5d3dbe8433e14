"""Exception types of the public API.

Every error a user can cause maps to one of these, so callers (and the CLI) can
catch ``ChiLiteError`` and print one line instead of a traceback.
"""

from __future__ import annotations


class ChiLiteError(Exception):
    """Base class: anything chi-lite refuses on purpose."""


class InvalidSmilesError(ChiLiteError, ValueError):
    """A SMILES string RDKit cannot parse."""


class InvalidPolymerError(ChiLiteError, ValueError):
    """A polymer repeat unit that is not a valid two-ended (two ``*``) unit."""


class InvalidTemperatureError(ChiLiteError, ValueError):
    """A temperature that is not a number or not above absolute zero."""


class InvalidChainLengthError(ChiLiteError, ValueError):
    """A chain length N that is not a finite number ≥ 1."""


class InvalidPlotPathError(ChiLiteError, ValueError):
    """A plot file name whose extension is not a format we draw (.png, .pdf, .svg), or a bad resolution."""


class PlotUnavailableError(ChiLiteError, RuntimeError):
    """A plot was asked for but matplotlib (the ``plot`` extra) is not installed."""


class FeaturizationError(ChiLiteError, ValueError):
    """A molecule whose descriptors cannot be computed (or are not finite)."""


class InputFileError(ChiLiteError, ValueError):
    """A batch input file that is missing, empty, or lacks required columns."""


class ArtifactError(ChiLiteError, RuntimeError):
    """A model artifact that is missing, corrupted, or incompatible with this runtime."""


class UnknownNameError(InvalidSmilesError):
    """Text that is neither a known polymer/solvent name nor a valid SMILES (the message suggests names)."""


class RequestError(ChiLiteError, ValueError):
    """A serve request the protocol refuses (bad JSON, unknown op, missing field, too large)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status this refusal maps to
