"""chi-lite: Flory–Huggins χ(T) for polymer–solvent pairs, from an ONNX ensemble.

The public names are imported lazily so that ``import chi_lite`` stays cheap
(no RDKit or onnxruntime until a prediction is asked for).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ChiPredictor",
    "ChiPrediction",
    "PairOutcome",
    "ModelManifest",
    "Screener",
    "ScreenResult",
    "ChiService",
    "PhaseDiagram",
    "PhasePoint",
    "MiscibilityVerdict",
    "CriticalTemperature",
    "plot_phase_diagram",
    "ChiLiteError",
    "InvalidSmilesError",
    "InvalidPolymerError",
    "InvalidTemperatureError",
    "FeaturizationError",
    "InputFileError",
    "ArtifactError",
    "UnknownNameError",
    "RequestError",
    "InvalidChainLengthError",
    "PlotUnavailableError",
    "InvalidPlotPathError",
    "PolymerProfile",
    "CrystallineProperties",
    "ProfileError",
    "NotPolymerSolventError",
    "InvalidCrystallineError",
    "LimitError",
]

_LOCATIONS = {
    "ChiPredictor": "chi_lite.predictor",
    "ChiPrediction": "chi_lite.predictor",
    "PairOutcome": "chi_lite.predictor",
    "ModelManifest": "chi_lite.config",
    "Screener": "chi_lite.screening",
    "ScreenResult": "chi_lite.screening",
    "ChiService": "chi_lite.service",
    "PhaseDiagram": "chi_lite.phase",
    "PhasePoint": "chi_lite.phase",
    "MiscibilityVerdict": "chi_lite.answer",
    "CriticalTemperature": "chi_lite.flory_huggins",
    "plot_phase_diagram": "chi_lite.plot",
    "PolymerProfile": "chi_lite.profile",
    "CrystallineProperties": "chi_lite.crystalline",
    "ProfileError": "chi_lite.profile",
    "LimitError": "chi_lite.limits",
}

if TYPE_CHECKING:
    from .config import ModelManifest
    from .answer import MiscibilityVerdict
    from .flory_huggins import CriticalTemperature
    from .phase import PhaseDiagram, PhasePoint
    from .plot import plot_phase_diagram
    from .predictor import ChiPrediction, ChiPredictor, PairOutcome
    from .screening import ScreenResult, Screener
    from .service import ChiService
    from .crystalline import CrystallineProperties
    from .limits import LimitError
    from .profile import PolymerProfile, ProfileError

from .errors import (
    ArtifactError,
    ChiLiteError,
    FeaturizationError,
    InputFileError,
    InvalidChainLengthError,
    InvalidPolymerError,
    InvalidSmilesError,
    InvalidTemperatureError,
    UnknownNameError,
    RequestError,
    PlotUnavailableError,
    InvalidPlotPathError,
    NotPolymerSolventError,
    InvalidCrystallineError,
)


def __getattr__(name: str) -> Any:
    if name in _LOCATIONS:
        import importlib

        return getattr(importlib.import_module(_LOCATIONS[name]), name)
    raise AttributeError(f"module 'chi_lite' has no attribute {name!r}")
