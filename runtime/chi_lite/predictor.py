"""The typed Python API: load a model once, predict χ(T) for one pair or many."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, Union

import numpy as np

from . import contract
from .artifact import Artifact, load_artifact
from .config import ModelManifest
from .errors import ArtifactError, ChiLiteError
from .featurize.featurizer import Featurizer
from .answer import AnswerContext, verdict_fields
from .crystalline import CrystallineProperties
from .flory_huggins import MiscibilityVerdict, miscibility_verdict
from .names import resolve_polymer, resolve_solvent, typed_name
from .phase import PhaseDiagram, build_phase_diagram
from .units import KELVIN_OFFSET, check_chain_length, to_kelvin
from .uncertainty import calibrated_std, is_calibrated

if TYPE_CHECKING:
    from .factorized import FactorizedModel
    from .profile import PolymerProfile

Polymer = Union[str, "PolymerProfile"]  # a name, a repeat-unit SMILES, or a calibrated profile

_BATCH_ROWS = 4096  # rows per onnxruntime call: bounds memory on huge batch files
_CACHE_SIZE = 8192  # descriptor vectors kept per role


@dataclass(frozen=True)
class ChiPrediction:
    """χ at one temperature, its spread, χ(T) = A + B/T, and the one solubility verdict.

    ``p_miscible`` is the probability that the polymer (long chain, or ``chain_length``) dissolves
    in the solvent at this temperature (answer.verdict_fields); ``miscible`` is p_miscible ≥ 0.5.
    ``p_classifier`` is the raw room-temperature classifier (None without a miscibility head).
    ``t_dissolve_c`` is set for semicrystalline polymers; ``domain``/``domain_note`` say how far to trust it.
    """

    polymer: str
    solvent: str
    temperature_k: float
    chi: float
    chi_std: float
    A: float
    B: float
    p_classifier: float | None = None
    chain_length: float | None = None
    chi_critical: float = 0.5
    p_miscible: float = float("nan")
    miscible: bool = False
    verdict: str = ""
    t_dissolve_c: float | None = None
    domain: str = "in"
    domain_note: str = ""
    polymer_name: str | None = None  # the name the user typed (None for a SMILES): what outputs echo
    solvent_name: str | None = None
    # Distances to the nearest χ-training polymer / solvent (standardized descriptors); None for
    # models exported before they existed. Not in to_dict: the domain fields report them.
    polymer_novelty: float | None = None
    solvent_novelty: float | None = None

    @property
    def temperature_c(self) -> float:
        """The temperature in °C."""
        return self.temperature_k - KELVIN_OFFSET

    def to_dict(self) -> dict[str, Any]:
        """Every field plus temperature_c, ready for JSON or CSV; p_classifier only when the model has one."""
        out = asdict(self)
        del out["polymer_novelty"], out["solvent_novelty"]
        for optional in ("p_classifier", "polymer_name", "solvent_name"):
            if out[optional] is None:
                del out[optional]
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


class ChiPredictor:
    """A loaded, verified model. Build once, call many times; not tied to a thread."""

    def __init__(self, model_dir: Path | str | None = None, *, threads: int | None = None) -> None:
        """Load ``model_dir`` (default: the shipped model) with ``threads`` onnxruntime threads."""
        self._load_args = (None if model_dir is None else str(model_dir), threads)
        self.artifact: Artifact = load_artifact(model_dir)
        self.featurizer = Featurizer(self.artifact.manifest.featurizer)
        self._session = self.artifact.open_graph(self.artifact.manifest.model_file, threads)
        self._threads = threads
        self._check_signature()
        self._polymers = _LRU(_CACHE_SIZE)
        self._solvents = _LRU(_CACHE_SIZE)
        self.answer_context = AnswerContext.from_manifest(self.artifact.manifest, self.reports_miscibility)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle as (model directory, threads, model hash): sessions do not travel, the model is reloaded."""
        return {"load_args": self._load_args, "sha256": self.artifact.sha256}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Reload and re-verify the model; refuse one whose hash differs from the pickled predictor's."""
        model_dir, threads = state["load_args"]
        self.__init__(model_dir, threads=threads)
        check_same_model(self.artifact, state["sha256"])

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
        self._novelty = all(name in manifest.outputs for name in contract.NOVELTY_OUTPUTS)  # domain uses them too
        wanted = (["chi", spread, "A", "B"] + (["p_miscible"] if self.reports_miscibility else [])
                  + (list(contract.NOVELTY_OUTPUTS) if self._novelty else []))
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

    # ---- calibrated polymers (chi_lite.profile): χ from the profile's embedding, not the structure ----

    @cached_property
    def factorized(self) -> "FactorizedModel":
        """The model's encoders and pair head, loaded on first use (calibration and profiles need them)."""
        from .factorized import FactorizedModel

        return FactorizedModel(self.artifact, self._threads)

    def solvent_embeddings(self, smiles: Sequence[str]) -> np.ndarray:
        """Solvent-encoder embeddings (n, K, 2Z) of solvent SMILES."""
        return self.factorized.embed_solvents(np.stack([self.solvent_descriptors(s) for s in smiles])).astype(np.float64)

    def calibrate(self, polymer: str, tests: Any, *, kelvin: bool = False, strength: float | None = None) -> "PolymerProfile":
        """Fit ``polymer``'s solubility sphere to lab tests: a CSV path or a list of {solvent, temperature, chi, soluble}.

        Rows that cannot be used are listed in the profile's ``skipped``; no usable row is an error.
        """
        from .calibration import PRIOR_STRENGTH
        from .lab_tests import read_tests, tests_from_records
        from .profile import calibrate_polymer

        rows, skipped = read_tests(tests, kelvin) if isinstance(tests, (str, Path)) else tests_from_records(tests, kelvin)
        return calibrate_polymer(self, polymer, rows, skipped, strength=PRIOR_STRENGTH if strength is None else strength)

    def load_profile(self, profile: Any) -> "PolymerProfile":
        """A profile (object, JSON dict or file path) checked against this model: a foreign one is refused."""
        from .profile import PolymerProfile

        if isinstance(profile, (str, Path)):
            profile = PolymerProfile.load(profile)
        elif not isinstance(profile, PolymerProfile):
            profile = PolymerProfile.from_dict(profile)
        profile.check_model(self.artifact.sha256)
        return profile

    def _predict_profile(
        self,
        profile: "PolymerProfile",
        solvents: list[str],
        t: np.ndarray,
        chain_length: float | None = None,
        typed_solvents: Sequence[Any] | None = None,
    ) -> list[ChiPrediction]:
        """χ and the verdict from the profile's embedding; the verdict and domain see its repeat unit."""
        profile = self.load_profile(profile)
        n = len(solvents)
        embedding, solvent_novelty = self.factorized.encode_solvents(np.stack([self.solvent_descriptors(s) for s in solvents]))
        outputs = self.factorized.pair_head(np.repeat(profile.embedding[None], n, axis=0), embedding, t)
        chi, std, a, b, p = outputs[:5]
        chi, a, b = profile.shift(chi, a, b, t)  # the profile's χ offset (chi_lite.profile)
        p_miscible = p if self.reports_miscibility else [None] * n
        novelty_p = novelty_s = [None] * n
        if self._novelty:  # the structure's novelty: calibration moves the sphere, not the chemistry
            novelty_p = np.repeat(self.factorized.polymer_novelty(self.polymer_descriptors(profile.smiles)[None, :]), n)
            novelty_s = solvent_novelty.reshape(n)
            std = calibrated_std(std, novelty_p, novelty_s, self._uncertainty)
        typed = typed_solvents if typed_solvents is not None else solvents
        raw = [
            ChiPrediction(profile.smiles, s, float(tk), float(c), float(sd), float(aa), float(bb), None if pm is None else float(pm),
                          solvent_name=typed_name("solvents", ts),
                          polymer_novelty=None if npol is None else float(npol), solvent_novelty=None if nsol is None else float(nsol))
            for s, tk, c, sd, aa, bb, pm, ts, npol, nsol in zip(solvents, t, chi, std, a, b, p_miscible, typed, novelty_p, novelty_s)
        ]
        return [replace(r, polymer=profile.label) for r in self._with_verdict(raw, chain_length, None)]

    def _is_profile(self, polymer: Any) -> bool:
        from .profile import PolymerProfile

        return isinstance(polymer, PolymerProfile)

    def predict(
        self,
        polymer: Polymer,
        solvent: str,
        temperature: float,
        *,
        kelvin: bool = False,
        chain_length: float | None = None,
        crystalline: CrystallineProperties | None = None,
    ) -> ChiPrediction:
        """χ and the verdict for one pair (names, SMILES or a calibrated profile); ``temperature`` in °C unless ``kelvin``.

        ``chain_length`` N (default: long chain); ``crystalline`` overrides the names table's
        T_m⁰/ΔH_u/V_u (for a polymer given by SMILES). Raises a ChiLiteError on bad input.
        """
        t = to_kelvin(temperature, kelvin)
        n = None if chain_length is None else check_chain_length(chain_length)
        if self._is_profile(polymer):
            return self._predict_profile(polymer, [resolve_solvent(solvent)], np.array([t]), n, [solvent])[0]
        typed = (polymer, solvent)
        polymer, solvent = resolve_polymer(polymer), resolve_solvent(solvent)
        xp = self.polymer_descriptors(polymer)[None, :]
        xs = self.solvent_descriptors(solvent)[None, :]
        return self._run([polymer], [solvent], xp, xs, np.array([t]), [typed], n, crystalline)[0]

    def predict_temperatures(
        self, polymer: Polymer, solvent: str, temperatures_k: Sequence[float], *, chain_length: float | None = None
    ) -> list[ChiPrediction]:
        """χ of one pair (names, SMILES or a profile) at many temperatures (kelvin) in one call: the phase diagram's grid."""
        t = np.array([to_kelvin(value, kelvin=True) for value in temperatures_k], dtype=float)
        if self._is_profile(polymer):
            return self._predict_profile(polymer, [resolve_solvent(solvent)] * len(t), t, chain_length, [solvent] * len(t))
        typed = (polymer, solvent)
        polymer, solvent = resolve_polymer(polymer), resolve_solvent(solvent)
        xp = np.repeat(self.polymer_descriptors(polymer)[None, :], len(t), axis=0)
        xs = np.repeat(self.solvent_descriptors(solvent)[None, :], len(t), axis=0)
        return self._run([polymer] * len(t), [solvent] * len(t), xp, xs, t, [typed] * len(t), chain_length)

    def phase_diagram(
        self,
        polymer: Polymer,
        solvent: str,
        chain_length: float,
        tmin: float = 0.0,
        tmax: float = 150.0,
        *,
        points: int = 61,
        kelvin: bool = False,
    ) -> PhaseDiagram:
        """Temperature–composition diagram (binodal, spinodal, critical point) over [tmin, tmax] (°C unless ``kelvin``)."""
        return build_phase_diagram(self, polymer, solvent, chain_length, tmin, tmax, points=points, kelvin=kelvin)

    def predict_many(
        self, pairs: Iterable[Sequence[Any]], *, kelvin: bool = False, chain_length: float | None = None
    ) -> list[PairOutcome]:
        """One outcome per (polymer, solvent, temperature) in input order; failures carry their error."""
        rows = [tuple(p) for p in pairs]
        chain_length = None if chain_length is None else check_chain_length(chain_length)
        outcomes: list[PairOutcome | None] = [None] * len(rows)
        good: list[tuple[int, str, str, float, np.ndarray, np.ndarray]] = []
        for i, row in enumerate(rows):
            polymer, solvent, temperature = (list(row) + [None, None, None])[:3]
            try:
                if len(row) != 3:
                    raise ChiLiteError(f"expected (polymer, solvent, temperature), got {len(row)} values")
                t = to_kelvin(temperature, kelvin)
                if self._is_profile(polymer):  # one row at a time: a profile batch is rare and small
                    result = self._predict_profile(polymer, [resolve_solvent(str(solvent))], np.array([t]), chain_length, [solvent])[0]
                    outcomes[i] = PairOutcome(result.polymer, str(solvent), temperature, result=result)
                    continue
                polymer_smiles, solvent_smiles = resolve_polymer(str(polymer)), resolve_solvent(str(solvent))
                xp = self.polymer_descriptors(polymer_smiles)
                xs = self.solvent_descriptors(solvent_smiles)
            except Exception as exc:  # noqa: BLE001 (one bad row fails alone, whatever RDKit raised for it)
                message = str(exc) if isinstance(exc, ChiLiteError) else f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
                shown = polymer.label if self._is_profile(polymer) else str(polymer)
                outcomes[i] = PairOutcome(shown, str(solvent), temperature, error=message)
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
                [(rows[c[0]][0], rows[c[0]][1]) for c in chunk],
                chain_length,
            )
            for (i, _, _, _, _, _), result in zip(chunk, results):
                outcomes[i] = PairOutcome(str(rows[i][0]), str(rows[i][1]), rows[i][2], result=result)
        missing = [i for i, o in enumerate(outcomes) if o is None]
        if missing:  # a batch never drops rows; reaching this is a bug, not bad input
            raise RuntimeError(f"rows {missing[:5]} got no outcome")
        return outcomes  # type: ignore[return-value]

    def _run(
        self,
        polymers: list[str],
        solvents: list[str],
        xp: np.ndarray,
        xs: np.ndarray,
        t: np.ndarray,
        typed: list[tuple[Any, Any]],
        chain_length: float | None = None,
        crystalline: CrystallineProperties | None = None,
    ) -> list[ChiPrediction]:
        """Run the graph and add the verdict; ``typed`` is what the user wrote for each pair, echoed when it was a name."""
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
        if self._novelty:
            novelty_p, novelty_s = outputs[-2:]
            std = calibrated_std(std, novelty_p, novelty_s, self._uncertainty)  # the spread itself when uncalibrated
        raw = [
            ChiPrediction(
                p, s, float(tk), float(c), float(sd), float(aa), float(bb), None if pm is None else float(pm),
                polymer_name=typed_name("polymers", tp), solvent_name=typed_name("solvents", ts),
                polymer_novelty=None if npol is None else float(npol), solvent_novelty=None if nsol is None else float(nsol),
            )
            for p, s, tk, c, sd, aa, bb, pm, (tp, ts), npol, nsol
            in zip(polymers, solvents, t, chi, std, a, b, p_miscible, typed, novelty_p, novelty_s)
        ]
        return self._with_verdict(raw, chain_length, crystalline)

    def _with_verdict(
        self, raw: list[ChiPrediction], chain_length: float | None, crystalline: CrystallineProperties | None
    ) -> list[ChiPrediction]:
        """The answer layer's fields (one verdict, t_dissolve, domain) on every raw prediction."""
        return [
            replace(r, **verdict_fields(self.answer_context, r.polymer, r.solvent, r.temperature_k, r.chi, r.chi_std,
                                        r.A, r.B, r.p_classifier, chain_length, crystalline,
                                        {"polymer": r.polymer_novelty, "solvent": r.solvent_novelty}))
            for r in raw
        ]
