"""One loaded model: everything a prediction or a screen needs, loaded and verified once.

ChiPredictor (one pair, many pairs, profiles) and Screener (libraries) are views over a
LoadedModel; serve and the browser page hold one of each over the same object. Each graph is
built on first use: a screen never builds the whole-model graph it does not run, a predictor
never builds the encoders unless a profile or calibration asks for them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import contract
from .answer import AnswerContext
from .artifact import Artifact, load_artifact
from .config import ModelManifest
from .errors import ArtifactError
from .featurize.featurizer import Featurizer
from .uncertainty import calibrated_std, is_calibrated

if TYPE_CHECKING:
    from .factorized import FactorizedModel

CACHE_SIZE = 8192  # descriptor vectors kept per role


def check_same_model(artifact: Artifact, expected_sha256: str) -> None:
    """A reloaded model (another process or machine) must be the one that was pickled or named."""
    if artifact.sha256 != expected_sha256:
        raise ArtifactError(
            f"the model in {artifact.directory} has sha256 {artifact.sha256[:12]}…, expected {expected_sha256[:12]}…: "
            "install the same chi-lite wheel (or --model directory) everywhere"
        )


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or_compute(self, key: str, compute: Callable[[str], np.ndarray]) -> np.ndarray:
        value = self.get(key)
        if value is None:
            value = compute(key)
            self[key] = value
            if len(self) > self.size:
                self.popitem(last=False)
        else:
            self.move_to_end(key)
        return value


@dataclass(frozen=True)
class GraphOutputs:
    """The whole-model graph's outputs for a batch of pairs, each (N,); optional ones None when absent."""

    chi: np.ndarray
    chi_std: np.ndarray  # calibrated σ when the model has a calibration, else the ensemble spread
    A: np.ndarray
    B: np.ndarray
    p_classifier: np.ndarray | None
    polymer_novelty: np.ndarray | None
    solvent_novelty: np.ndarray | None


class WholeGraph:
    """The exported whole-model graph (descriptors → χ, σ, A, B, p), checked against the manifest."""

    def __init__(self, artifact: Artifact, threads: int | None, reports_miscibility: bool, uncertainty: dict | None) -> None:
        manifest = artifact.manifest
        self.session = artifact.open_graph(manifest.model_file, threads)
        self._uncertainty = uncertainty
        self._inputs = dict(zip(("polymer", "solvent", "temperature"), manifest.inputs))
        # A calibrated model outputs the raw spread and the novelties; older graphs output the
        # spread as chi_std and have no novelties.
        spread = contract.SPREAD_OUTPUT if contract.SPREAD_OUTPUT in manifest.outputs else contract.LEGACY_SPREAD_OUTPUT
        self.has_novelty = all(name in manifest.outputs for name in contract.NOVELTY_OUTPUTS)
        self._p = reports_miscibility
        wanted = (["chi", spread, "A", "B"] + (["p_miscible"] if reports_miscibility else [])
                  + (list(contract.NOVELTY_OUTPUTS) if self.has_novelty else []))
        found_outputs = {o.name for o in self.session.get_outputs()}
        if not set(wanted) <= set(manifest.outputs) or not set(wanted) <= found_outputs:
            missing = sorted(set(wanted) - (set(manifest.outputs) & found_outputs))
            raise ArtifactError(f"{artifact.model_path} lacks output(s) {', '.join(missing)} that its manifest promises")
        self._outputs = wanted
        config = manifest.featurizer
        expected = {
            contract.POLYMER_INPUT: len(config.polymer_descriptors),
            contract.SOLVENT_INPUT: len(config.solvent_descriptors),
            contract.TEMPERATURE_INPUT: None,
        }
        found = {i.name: i.shape for i in self.session.get_inputs()}
        if set(found) != set(expected):
            raise ArtifactError(f"{artifact.model_path} has inputs {sorted(found)}, expected {sorted(expected)}")
        for name, width in expected.items():
            if width is not None and found[name][-1] != width:
                raise ArtifactError(
                    f"{artifact.model_path} expects {found[name][-1]} {name} but the manifest lists {width}: "
                    "the manifest belongs to another model; retrain (make train) or reinstall"
                )

    def run(self, xp: np.ndarray, xs: np.ndarray, t: np.ndarray) -> GraphOutputs:
        """One onnxruntime call for a batch of (polymer descriptors, solvent descriptors, kelvin)."""
        outputs = self.session.run(
            self._outputs,
            {
                self._inputs["polymer"]: xp.astype(np.float32),
                self._inputs["solvent"]: xs.astype(np.float32),
                self._inputs["temperature"]: t.astype(np.float32),
            },
        )
        chi, std, a, b = outputs[:4]
        novelty_p = novelty_s = None
        if self.has_novelty:
            novelty_p, novelty_s = outputs[-2:]
            std = calibrated_std(std, novelty_p, novelty_s, self._uncertainty)  # the spread itself when uncalibrated
        return GraphOutputs(chi, std, a, b, outputs[4] if self._p else None, novelty_p, novelty_s)


class LoadedModel:
    """A loaded, verified model: manifest, featurizer, descriptor caches, answer settings, graphs.

    Build once and share: ``ChiPredictor(model=...)`` and ``Screener(...)`` accept one, and a
    Screener built from a ChiPredictor uses the predictor's. Not tied to a thread.
    """

    def __init__(self, model_dir: Path | str | None = None, *, threads: int | None = None) -> None:
        """Load and verify ``model_dir`` (default: the shipped model); ``threads`` onnxruntime threads per graph."""
        self.load_args = (None if model_dir is None else str(model_dir), threads)
        self.artifact: Artifact = load_artifact(model_dir)
        self.threads = threads
        manifest = self.artifact.manifest
        if tuple(manifest.inputs) != contract.MODEL_INPUTS:
            raise ArtifactError(
                f"{self.artifact.manifest_path} lists inputs {manifest.inputs}, this chi-lite reads {list(contract.MODEL_INPUTS)}: "
                "the model was exported by another chi-lite version; reinstall or retrain (make train)"
            )
        self.featurizer = Featurizer(manifest.featurizer)
        # The one decision: predictions carry p_classifier and the verdict stacks it only when this is True.
        self.reports_miscibility: bool = bool(manifest.tasks.get("miscibility", False))
        self.uncertainty: dict | None = dict(manifest.uncertainty) if is_calibrated(manifest.uncertainty) else None
        self.has_novelty: bool = all(name in manifest.outputs for name in contract.NOVELTY_OUTPUTS)
        self.answer_context = AnswerContext.from_manifest(manifest, self.reports_miscibility)
        self._lock = threading.Lock()
        self._polymers = _LRU(CACHE_SIZE)
        self._solvents = _LRU(CACHE_SIZE)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle as (model directory, threads, model hash): sessions do not travel, the model is reloaded."""
        return {"load_args": self.load_args, "sha256": self.artifact.sha256}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Reload and re-verify the model; refuse one whose hash differs from the pickled one."""
        model_dir, threads = state["load_args"]
        self.__init__(model_dir, threads=threads)
        check_same_model(self.artifact, state["sha256"])

    @property
    def manifest(self) -> ModelManifest:
        """The manifest (vocabulary, data hashes, metrics, versions)."""
        return self.artifact.manifest

    @property
    def sha256(self) -> str:
        """Hash of the model graph: what a profile, a cache or a pickled view is tied to."""
        return self.artifact.sha256

    @property
    def graph(self) -> WholeGraph:
        """The whole-model graph, built and checked on first use (predictions run it; screens do not)."""
        return self._once("_graph", lambda: WholeGraph(self.artifact, self.threads, self.reports_miscibility, self.uncertainty))

    @property
    def factorized(self) -> "FactorizedModel":
        """The encoders and pair head, built on first use (screens, profiles and calibration run them)."""
        from .factorized import FactorizedModel

        return self._once("_factorized", lambda: FactorizedModel(self.artifact, self.threads))

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        """Build a graph at most once, even when serve's threads ask for it at the same moment."""
        value = self.__dict__.get(name)
        if value is None:
            with self._lock:
                value = self.__dict__.get(name)
                if value is None:
                    value = build()
                    self.__dict__[name] = value
        return value

    def polymer_descriptors(self, repeat_unit: str) -> np.ndarray:
        """Descriptors of a repeat unit's cyclic oligomer (cached by SMILES)."""
        return self._polymers.get_or_compute(repeat_unit, self.featurizer.polymer)

    def solvent_descriptors(self, smiles: str) -> np.ndarray:
        """Descriptors of a solvent (cached by SMILES)."""
        return self._solvents.get_or_compute(smiles, self.featurizer.solvent)

    def polymer_novelty(self, repeat_unit: str) -> float:
        """Distance to the nearest χ-training polymer (0 for a model without novelties): the calibrated σ grows with it."""
        return float(self.factorized.polymer_novelty(self.polymer_descriptors(repeat_unit)[None, :])[0])
