"""The typed Python API: load a model once, predict χ(T) for one pair or many."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from . import contract
from .artifact import Artifact, load_artifact
from .config import ModelManifest
from .errors import ArtifactError, ChiLiteError
from .featurize.featurizer import Featurizer
from .flory_huggins import MiscibilityVerdict, miscibility_verdict
from .names import resolve_polymer, resolve_solvent
from .session import create_session
from .uncertainty import calibrated_std, is_calibrated
from .units import KELVIN_OFFSET, to_kelvin

if TYPE_CHECKING:
    from .phase import PhaseDiagram

_BATCH_ROWS = 4096  # rows per onnxruntime call: bounds memory on huge batch files
_CACHE_SIZE = 8192  # descriptor vectors kept per role


@dataclass(frozen=True)
class ChiPrediction:
    """χ at one temperature, its ensemble spread, and the fitted χ(T) = A + B/T.

    ``p_miscible`` is the trained classifier's probability that the polymer dissolves at room
    temperature (mean over members); it is None when the model's miscibility head was not trained.
    """

    polymer: str
    solvent: str
    temperature_k: float
    chi: float
    chi_std: float
    A: float
    B: float
    p_miscible: float | None = None
    # Distances to the nearest χ-training polymer / solvent (standardized descriptors); None for
    # models exported before they existed. Not in to_dict: the domain fields report them.
    polymer_novelty: float | None = None
    solvent_novelty: float | None = None

    @property
    def temperature_c(self) -> float:
        """The temperature in °C."""
        return self.temperature_k - KELVIN_OFFSET

    def to_dict(self) -> dict[str, Any]:
        """Every field plus temperature_c, ready for JSON or CSV; p_miscible only when the model reports it."""
        out = asdict(self)
        del out["polymer_novelty"], out["solvent_novelty"]
        if out["p_miscible"] is None:
            del out["p_miscible"]
        out["temperature_c"] = self.temperature_c
        return out

    def miscibility(self, chain_length: float) -> MiscibilityVerdict:
        """Flory–Huggins verdict at chain length N: χ_c(N), miscible (χ < χ_c) and its probability."""
        return miscibility_verdict(self.chi, self.chi_std, chain_length)


@dataclass(frozen=True)
class PairOutcome:
    """One row of a batch: either a prediction or the error that stopped it."""

    polymer: str
    solvent: str
    temperature: Any
    result: ChiPrediction | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the row has a result."""
        return self.error is None


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


class ChiPredictor:
    """A loaded, verified model. Build once, call many times; not tied to a thread."""

    def __init__(self, model_dir: Path | str | None = None, *, threads: int | None = None) -> None:
        """Load ``model_dir`` (default: the shipped model) with ``threads`` onnxruntime threads."""
        self.artifact: Artifact = load_artifact(model_dir)
        self.featurizer = Featurizer(self.artifact.manifest.featurizer)
        self._session = create_session(self.artifact.model_path, threads)
        self._check_signature()
        self._polymers = _LRU(_CACHE_SIZE)
        self._solvents = _LRU(_CACHE_SIZE)

    def _check_signature(self) -> None:
        """The graph's tensors must be the manifest's, and its input widths the vocabulary's."""
        manifest = self.artifact.manifest
        if tuple(manifest.inputs) != contract.MODEL_INPUTS:
            raise ArtifactError(
                f"{self.artifact.manifest_path} lists inputs {manifest.inputs}, this chi-lite reads {list(contract.MODEL_INPUTS)}: "
                "the model was exported by another chi-lite version; reinstall or retrain (make train)"
            )
        self._inputs = dict(zip(("polymer", "solvent", "temperature"), manifest.inputs))
        # A calibrated model outputs the raw spread and the novelties; chi_std = calibrated_std(...).
        # Older graphs output the spread as chi_std and have no novelties.
        self._uncertainty = manifest.uncertainty if is_calibrated(manifest.uncertainty) else None
        spread = contract.SPREAD_OUTPUT if contract.SPREAD_OUTPUT in manifest.outputs else contract.LEGACY_SPREAD_OUTPUT
        wanted = (["chi", spread, "A", "B"] + (["p_miscible"] if self.reports_miscibility else [])
                  + (list(contract.NOVELTY_OUTPUTS) if self._uncertainty else []))
        found_outputs = {o.name for o in self._session.get_outputs()}
        if not set(wanted) <= set(manifest.outputs) or not set(wanted) <= found_outputs:
            missing = sorted(set(wanted) - (set(manifest.outputs) & found_outputs))
            raise ArtifactError(f"{self.artifact.model_path} lacks output(s) {', '.join(missing)} that its manifest promises")
        self._outputs = wanted
        config = manifest.featurizer
        expected = {
            contract.POLYMER_INPUT: len(config.polymer_descriptors),
            contract.SOLVENT_INPUT: len(config.solvent_descriptors),
            contract.TEMPERATURE_INPUT: None,
        }
        found = {i.name: i.shape for i in self._session.get_inputs()}
        if set(found) != set(expected):
            raise ArtifactError(f"{self.artifact.model_path} has inputs {sorted(found)}, expected {sorted(expected)}")
        for name, width in expected.items():
            if width is not None and found[name][-1] != width:
                raise ArtifactError(
                    f"{self.artifact.model_path} expects {found[name][-1]} {name} but the manifest lists {width}: "
                    "the manifest belongs to another model; retrain (make train) or reinstall"
                )

    @property
    def manifest(self) -> ModelManifest:
        """The loaded model's manifest (vocabulary, data hashes, metrics, versions)."""
        return self.artifact.manifest

    @property
    def reports_miscibility(self) -> bool:
        """True when the model's miscibility head was trained, so predictions carry p_miscible."""
        return bool(self.artifact.manifest.tasks.get("miscibility", False))

    def polymer_descriptors(self, repeat_unit: str) -> np.ndarray:
        """Descriptors of a repeat unit's cyclic oligomer (cached by SMILES)."""
        return self._polymers.get_or_compute(repeat_unit, self.featurizer.polymer)

    def solvent_descriptors(self, smiles: str) -> np.ndarray:
        """Descriptors of a solvent (cached by SMILES)."""
        return self._solvents.get_or_compute(smiles, self.featurizer.solvent)

    def predict(self, polymer: str, solvent: str, temperature: float, *, kelvin: bool = False) -> ChiPrediction:
        """χ for one pair (names or SMILES); ``temperature`` in °C unless ``kelvin``. Raises a ChiLiteError on bad input."""
        t = to_kelvin(temperature, kelvin)
        polymer, solvent = resolve_polymer(polymer), resolve_solvent(solvent)
        xp = self.polymer_descriptors(polymer)[None, :]
        xs = self.solvent_descriptors(solvent)[None, :]
        return self._run([polymer], [solvent], xp, xs, np.array([t]))[0]

    def predict_temperatures(self, polymer: str, solvent: str, temperatures_k: Sequence[float]) -> list[ChiPrediction]:
        """χ of one pair (names or SMILES) at many temperatures (kelvin) in one call: the phase diagram's grid."""
        t = np.array([to_kelvin(value, kelvin=True) for value in temperatures_k], dtype=float)
        polymer, solvent = resolve_polymer(polymer), resolve_solvent(solvent)
        xp = np.repeat(self.polymer_descriptors(polymer)[None, :], len(t), axis=0)
        xs = np.repeat(self.solvent_descriptors(solvent)[None, :], len(t), axis=0)
        return self._run([polymer] * len(t), [solvent] * len(t), xp, xs, t)

    def phase_diagram(
        self,
        polymer: str,
        solvent: str,
        chain_length: float,
        tmin: float = 0.0,
        tmax: float = 150.0,
        *,
        points: int = 61,
        kelvin: bool = False,
    ) -> "PhaseDiagram":
        """Temperature–composition diagram (binodal, spinodal, critical point) over [tmin, tmax] (°C unless ``kelvin``)."""
        from .phase import build_phase_diagram

        return build_phase_diagram(self, polymer, solvent, chain_length, tmin, tmax, points=points, kelvin=kelvin)

    def predict_many(
        self, pairs: Iterable[Sequence[Any]], *, kelvin: bool = False
    ) -> list[PairOutcome]:
        """One outcome per (polymer, solvent, temperature) in input order; failures carry their error."""
        rows = [tuple(p) for p in pairs]
        outcomes: list[PairOutcome | None] = [None] * len(rows)
        good: list[tuple[int, str, str, float, np.ndarray, np.ndarray]] = []
        for i, row in enumerate(rows):
            polymer, solvent, temperature = (list(row) + [None, None, None])[:3]
            try:
                if len(row) != 3:
                    raise ChiLiteError(f"expected (polymer, solvent, temperature), got {len(row)} values")
                t = to_kelvin(temperature, kelvin)
                polymer_smiles, solvent_smiles = resolve_polymer(str(polymer)), resolve_solvent(str(solvent))
                xp = self.polymer_descriptors(polymer_smiles)
                xs = self.solvent_descriptors(solvent_smiles)
            except ChiLiteError as exc:
                outcomes[i] = PairOutcome(str(polymer), str(solvent), temperature, error=str(exc))
                continue
            good.append((i, polymer_smiles, solvent_smiles, t, xp, xs))
        for start in range(0, len(good), _BATCH_ROWS):
            chunk = good[start : start + _BATCH_ROWS]
            results = self._run(
                [c[1] for c in chunk],
                [c[2] for c in chunk],
                np.stack([c[4] for c in chunk]),
                np.stack([c[5] for c in chunk]),
                np.array([c[3] for c in chunk]),
            )
            for (i, _, _, _, _, _), result in zip(chunk, results):
                outcomes[i] = PairOutcome(str(rows[i][0]), str(rows[i][1]), rows[i][2], result=result)
        missing = [i for i, o in enumerate(outcomes) if o is None]
        if missing:  # a batch never drops rows; reaching this is a bug, not bad input
            raise RuntimeError(f"rows {missing[:5]} got no outcome")
        return outcomes  # type: ignore[return-value]

    def _run(self, polymers: list[str], solvents: list[str], xp: np.ndarray, xs: np.ndarray, t: np.ndarray) -> list[ChiPrediction]:
        outputs = self._session.run(
            self._outputs,
            {
                self._inputs["polymer"]: xp.astype(np.float32),
                self._inputs["solvent"]: xs.astype(np.float32),
                self._inputs["temperature"]: t.astype(np.float32),
            },
        )
        chi, std, a, b = outputs[:4]
        p_miscible = outputs[4] if self.reports_miscibility else [None] * len(chi)
        novelty_p = novelty_s = [None] * len(chi)
        if self._uncertainty:
            novelty_p, novelty_s = outputs[-2:]
            std = calibrated_std(std, novelty_p, novelty_s, self._uncertainty)
        return [
            ChiPrediction(p, s, float(tk), float(c), float(sd), float(aa), float(bb), None if pm is None else float(pm),
                          None if npol is None else float(npol), None if nsol is None else float(nsol))
            for p, s, tk, c, sd, aa, bb, pm, npol, nsol in zip(polymers, solvents, t, chi, std, a, b, p_miscible, novelty_p, novelty_s)
        ]
