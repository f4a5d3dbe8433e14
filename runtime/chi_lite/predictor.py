"""The typed Python API: load a model once, predict χ(T) for one pair or many."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, Union

import numpy as np

from .answer import MiscibilityVerdict, verdict_fields
from .config import ModelManifest
from .crystalline import CrystallineProperties
from .errors import ChiLiteError
from .loaded import GraphOutputs, LoadedModel, check_same_model  # noqa: F401 (check_same_model: re-exported for callers)
from .names import resolve_polymer, resolve_solvent, typed_name
from .phase import PhaseDiagram, build_phase_diagram
from .uncertainty import calibrated_std
from .units import KELVIN_OFFSET, check_chain_length, to_kelvin

if TYPE_CHECKING:
    from .factorized import FactorizedModel
    from .featurize.featurizer import Featurizer
    from .profile import PolymerProfile

Polymer = Union[str, "PolymerProfile"]  # a name, a repeat-unit SMILES, or a calibrated profile

_BATCH_ROWS = 4096  # rows per onnxruntime call: bounds memory on huge batch files
_HIDDEN = ("polymer_novelty", "solvent_novelty", "_answer_at")  # carried, not output fields


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
    # The answer layer's verdict as a function of chain length (set by the predictor): miscibility(N).
    _answer_at: Callable[[float | None], dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def temperature_c(self) -> float:
        """The temperature in °C."""
        return self.temperature_k - KELVIN_OFFSET

    def to_dict(self) -> dict[str, Any]:
        """Every field plus temperature_c, ready for JSON or CSV; p_classifier only when the model has one."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _HIDDEN}
        for optional in ("p_classifier", "polymer_name", "solvent_name"):
            if out[optional] is None:
                del out[optional]
        out["temperature_c"] = self.temperature_c
        return out

    def miscibility(self, chain_length: float) -> MiscibilityVerdict:
        """The one verdict at chain length N: the p_miscible predict(..., chain_length=N) would report."""
        n = check_chain_length(chain_length)
        if self._answer_at is None:
            raise ChiLiteError("this ChiPrediction was built by hand: ask ChiPredictor.predict(..., chain_length=N) instead")
        answer = self._answer_at(n)
        return MiscibilityVerdict(n, answer["chi_critical"], answer["p_miscible"], answer["miscible"], answer["verdict"])


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


class ChiPredictor:
    """Predictions over one loaded model (chi_lite.loaded). Build once, call many times; not tied to a thread."""

    def __init__(self, model_dir: Path | str | None = None, *, threads: int | None = None,
                 model: LoadedModel | None = None) -> None:
        """Load ``model_dir`` (default: the shipped model) with ``threads`` onnxruntime threads, or view ``model``.

        Given a LoadedModel (e.g. a Screener's ``loaded``), nothing is loaded again. Loading a model
        here builds and checks its whole-model graph at once, so a broken model fails at load.
        """
        if model is not None:
            self.loaded = model
        else:
            self.loaded = LoadedModel(model_dir, threads=threads)
            self.loaded.graph  # noqa: B018 (a predictor runs it: verify now, not at the first question)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle as (model directory, threads, model hash): sessions do not travel, the model is reloaded."""
        return self.loaded.__getstate__()

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Reload and re-verify the model; refuse one whose hash differs from the pickled predictor's."""
        self.loaded = LoadedModel.__new__(LoadedModel)
        self.loaded.__setstate__(state)

    @property
    def artifact(self):
        """The verified model files (directory, manifest, sha256)."""
        return self.loaded.artifact

    @property
    def manifest(self) -> ModelManifest:
        """The loaded model's manifest (vocabulary, data hashes, metrics, versions)."""
        return self.loaded.manifest

    @property
    def featurizer(self) -> "Featurizer":
        """The model's featurizer (frozen descriptor vocabulary)."""
        return self.loaded.featurizer

    @property
    def answer_context(self):
        """The verdict's stacking model and the domain facts (answer.AnswerContext)."""
        return self.loaded.answer_context

    @property
    def reports_miscibility(self) -> bool:
        """True when the model's miscibility head was trained, so predictions carry p_classifier."""
        return self.loaded.reports_miscibility

    @property
    def factorized(self) -> "FactorizedModel":
        """The model's encoders and pair head, loaded on first use (calibration and profiles need them)."""
        return self.loaded.factorized

    def polymer_descriptors(self, repeat_unit: str) -> np.ndarray:
        """Descriptors of a repeat unit's cyclic oligomer (cached by SMILES)."""
        return self.loaded.polymer_descriptors(repeat_unit)

    def solvent_descriptors(self, smiles: str) -> np.ndarray:
        """Descriptors of a solvent (cached by SMILES)."""
        return self.loaded.solvent_descriptors(smiles)

    # ---- calibrated polymers (chi_lite.profile): χ from the profile's embedding, not the structure ----

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
        model = self.loaded.factorized
        embedding, solvent_novelty = model.encode_solvents(np.stack([self.solvent_descriptors(s) for s in solvents]))
        chi, std, a, b, p = model.pair_head(np.repeat(profile.embedding[None], n, axis=0), embedding, t)[:5]
        chi, a, b = profile.shift(chi, a, b, t)  # the profile's χ offset (chi_lite.profile)
        novelty_p = novelty_s = None
        if self.loaded.has_novelty:  # the structure's novelty: calibration moves the sphere, not the chemistry
            novelty_p = np.full(n, self.loaded.polymer_novelty(profile.smiles))
            novelty_s = solvent_novelty.reshape(n)
            std = calibrated_std(std, novelty_p, novelty_s, self.loaded.uncertainty)
        outputs = GraphOutputs(chi, std, a, b, p if self.reports_miscibility else None, novelty_p, novelty_s)
        typed = typed_solvents if typed_solvents is not None else solvents
        answers = self._answers([profile.smiles] * n, solvents, t, outputs, [(None, ts) for ts in typed], chain_length)
        return [replace(r, polymer=profile.label) for r in answers]

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
        """Run the whole-model graph on descriptors and answer each pair."""
        return self._answers(polymers, solvents, t, self.loaded.graph.run(xp, xs, t), typed, chain_length, crystalline)

    def _answers(
        self,
        polymers: list[str],
        solvents: list[str],
        t: np.ndarray,
        out: GraphOutputs,
        typed: list[tuple[Any, Any]],
        chain_length: float | None,
        crystalline: CrystallineProperties | None = None,
    ) -> list[ChiPrediction]:
        """Graph outputs → predictions with the answer layer's fields (the one place both paths meet).

        ``typed`` is what the user wrote for each pair, echoed when it was a name. Every field of
        an answer comes from answer.verdict_fields; a new output field goes there, not here.
        """
        n = len(polymers)
        columns = zip(polymers, solvents, t, out.chi, out.chi_std, out.A, out.B, _optional(out.p_classifier, n), typed,
                      _optional(out.polymer_novelty, n), _optional(out.solvent_novelty, n))
        predictions = []
        for p, s, tk, chi, std, a, b, pc, (tp, ts), npol, nsol in columns:
            answer_at = partial(verdict_fields, self.answer_context, p, s, float(tk), float(chi), float(std), float(a), float(b),
                                pc, crystalline=crystalline, novelty={"polymer": npol, "solvent": nsol})
            predictions.append(ChiPrediction(
                p, s, float(tk), float(chi), float(std), float(a), float(b), pc,
                polymer_name=typed_name("polymers", tp), solvent_name=typed_name("solvents", ts),
                polymer_novelty=npol, solvent_novelty=nsol, _answer_at=answer_at, **answer_at(chain_length),
            ))
        return predictions


def _optional(values: np.ndarray | None, n: int) -> list[float | None]:
    """An optional graph output as floats, or n Nones when the model lacks it."""
    return [None] * n if values is None else [float(v) for v in values]
