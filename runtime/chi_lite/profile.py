"""A calibrated polymer: its fitted solubility sphere per member, a χ offset, the tests behind it, as a small JSON file.

Why: a profile stands in for the polymer everywhere (predict, screen, phase, serve, the API);
χ is then computed from the profile's embedding through the solvent encoder and the pair
head, never from the polymer's structure, plus the profile's χ offset ΔA + ΔB/T (the
polymer-level bias its tests revealed). Every path that predicts with a profile applies the
offset through ``PolymerProfile.shift`` or ``PolymerProfile.shift_scorer``. A profile belongs to one model (its sha256).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from .calibration import CHI_NOISE, PRIOR_STRENGTH, fit_embedding, predict_members, sigmoid
from .errors import ChiLiteError
from .lab_tests import LabTest
from .names import lookup, resolve_polymer

if TYPE_CHECKING:
    from .factorized import PolymerScorer
    from .predictor import ChiPredictor

FORMAT = "chi-lite polymer profile 2"
OLD_FORMATS = ("chi-lite polymer profile 1",)  # no χ offset: read with a zero offset, as they were fitted
MAX_PROFILE_BYTES = 1 << 20


class ProfileError(ChiLiteError, ValueError):
    """A profile file or object that cannot be read, or that belongs to another model."""


@dataclass(frozen=True)
class PolymerProfile:
    """One polymer calibrated on lab tests, for one model."""

    polymer: str  # as the user gave it
    smiles: str  # repeat unit
    name: str | None  # the names table's name, when it has one
    embedding: np.ndarray  # (K, 2Z): fitted u_p, r_p of every member
    tests: tuple[LabTest, ...]
    prior_strength: float
    chi_noise: float
    residuals_before: tuple[float, ...]  # per test: χ_pred − χ (χ tests) or p_miscible − soluble
    residuals_after: tuple[float, ...]
    model_sha256: str
    skipped: tuple[tuple[int, str], ...] = field(default=())  # rows of the tests that could not be used
    chi_offset: np.ndarray | None = None  # (K, 2): per member ΔA, ΔB (kelvin); χ += ΔA + ΔB / T. None: zero

    @property
    def offset_ab(self) -> tuple[float, float]:
        """(ΔA, ΔB) applied to the ensemble's χ: the member mean, so χ's spread stays the embeddings' spread."""
        if self.chi_offset is None:
            return 0.0, 0.0
        mean = np.asarray(self.chi_offset, dtype=np.float64).mean(axis=0)
        return float(mean[0]), float(mean[1])

    def chi_shift(self, temperature_k: Any) -> np.ndarray:
        """ΔA + ΔB / T: what the profile adds to the structure-free χ of its embedding at ``temperature_k``."""
        da, db = self.offset_ab
        return da + db / np.asarray(temperature_k, dtype=np.float64)

    def shift(self, chi: Any, a: Any, b: Any, temperature_k: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """χ, A, B (each (n,)) of the profile's embedding with its χ offset applied: one call per predicting path."""
        da, db = self.offset_ab
        return (np.asarray(chi, dtype=np.float64) + self.chi_shift(temperature_k),
                np.asarray(a, dtype=np.float64) + da, np.asarray(b, dtype=np.float64) + db)

    def shift_scorer(self, scorer: "PolymerScorer", temperature_k: float) -> "PolymerScorer":
        """A screening scorer of this profile's embedding with its χ offset folded in."""
        shift = np.float32(self.chi_shift(temperature_k))
        return replace(scorer, chi_offsets=(scorer.chi_offsets + shift).astype(np.float32))

    @property
    def label(self) -> str:
        """How outputs name the polymer: "PMMA (calibrated on 5 tests)"."""
        n = len(self.tests)
        return f"{self.polymer} (calibrated on {n} test{'s' if n != 1 else ''})"

    def check_model(self, sha256: str) -> None:
        """Refuse a profile fitted against another model: its embedding means nothing here."""
        if self.model_sha256 != sha256:
            raise ProfileError(
                f"profile of {self.name or self.polymer} was calibrated with model {self.model_sha256[:12]}…, "
                f"this is model {sha256[:12]}…: calibrate again (chi-lite calibrate) with this model"
            )

    def to_dict(self) -> dict[str, Any]:
        """The profile as the JSON object `calibrate` writes and `--profile` / serve accept."""
        return {
            "format": FORMAT, "polymer": self.polymer, "smiles": self.smiles, "name": self.name,
            "model_sha256": self.model_sha256, "prior_strength": self.prior_strength, "chi_noise": self.chi_noise,
            "embedding": np.asarray(self.embedding, dtype=float).round(7).tolist(),
            "chi_offset": np.zeros((len(self.embedding), 2)).tolist() if self.chi_offset is None
            else np.asarray(self.chi_offset, dtype=float).round(7).tolist(),
            "tests": [t.to_dict() for t in self.tests],
            "residuals_before": list(self.residuals_before), "residuals_after": list(self.residuals_after),
            "skipped": [{"line": line, "error": error} for line, error in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "profile") -> "PolymerProfile":
        """A profile from its JSON object; anything malformed is a ProfileError naming ``source``."""
        if not isinstance(data, Mapping) or (data.get("format") != FORMAT and data.get("format") not in OLD_FORMATS):
            raise ProfileError(f"{source} is not a chi-lite polymer profile (expected \"format\": \"{FORMAT}\")")
        try:
            embedding = np.asarray(data["embedding"], dtype=np.float64)
            if embedding.ndim != 2 or not np.all(np.isfinite(embedding)):
                raise ValueError("embedding must be a finite (members × width) array")
            offset = None
            if data["format"] == FORMAT:
                offset = np.asarray(data["chi_offset"], dtype=np.float64)
                if offset.shape != (len(embedding), 2) or not np.all(np.isfinite(offset)):
                    raise ValueError("chi_offset must be a finite (members × 2) array")
            profile = cls(
                polymer=str(data["polymer"]), smiles=str(data["smiles"]),
                name=None if data.get("name") is None else str(data["name"]), embedding=embedding,
                tests=tuple(LabTest.from_dict(t) for t in data["tests"]),
                prior_strength=float(data["prior_strength"]), chi_noise=float(data["chi_noise"]),
                residuals_before=tuple(float(r) for r in data["residuals_before"]),
                residuals_after=tuple(float(r) for r in data["residuals_after"]),
                model_sha256=str(data["model_sha256"]),
                skipped=tuple((int(s["line"]), str(s["error"])) for s in data.get("skipped", [])),
                chi_offset=offset,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"{source} is malformed: {exc}") from None
        if not profile.tests:
            raise ProfileError(f"{source} lists no tests")
        return profile

    def save(self, path: Path | str) -> None:
        """Write the profile as JSON to ``path`` (the caller named it)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> "PolymerProfile":
        """Read a profile file; a missing, oversized or malformed file is a ProfileError."""
        path = Path(path)
        if not path.is_file():
            raise ProfileError(f"profile {path} does not exist")
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError(f"profile {path} is larger than {MAX_PROFILE_BYTES >> 20} MB")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError(f"profile {path} is not valid JSON: {exc}") from None
        return cls.from_dict(data, f"profile {path}")


# ---- making and using a profile ------------------------------------------------------------------

def _residuals(tests: Sequence[LabTest], chi: np.ndarray, logit: np.ndarray) -> tuple[float, ...]:
    """χ_pred − χ for χ tests, p_miscible − soluble for soluble tests (both when a row has both: χ first)."""
    p = sigmoid(logit).mean(axis=1)
    out = []
    for i, t in enumerate(tests):
        out.append(float(chi[i].mean() - t.chi) if t.chi is not None else float(p[i] - float(t.soluble)))
    return tuple(round(r, 6) for r in out)


def calibrate_polymer(
    predictor: "ChiPredictor",
    polymer: str,
    tests: Sequence[LabTest],
    skipped: Sequence[tuple[int, str]] = (),
    *,
    strength: float = PRIOR_STRENGTH,
    noise: float = CHI_NOISE,
) -> PolymerProfile:
    """Fit ``polymer``'s embedding to ``tests`` (MAP around its structure-based embedding)."""
    if not tests:
        raise ChiLiteError("give at least one usable test")
    if not (math.isfinite(strength) and strength > 0):
        raise ChiLiteError(f"prior strength must be a positive number, not {strength!r}")
    model = predictor.factorized
    smiles = resolve_polymer(polymer)
    prior = model.embed_polymers(predictor.polymer_descriptors(smiles)[None, :])[0].astype(np.float64)
    solvents = predictor.solvent_embeddings([t.solvent_smiles for t in tests])
    temps = np.array([t.temperature_k for t in tests])
    chi = np.array([np.nan if t.chi is None else t.chi for t in tests])
    soluble = np.array([np.nan if t.soluble is None else float(t.soluble) for t in tests])
    fit = fit_embedding(model.head, prior, solvents, temps, chi, soluble, strength=strength, noise=noise)
    entry = lookup("polymers", polymer)
    offset = fit.offset * np.array([1.0, model.head.t_ref])  # (c, d) → (ΔA, ΔB in kelvin): χ += c + d·T_REF/T
    return PolymerProfile(
        polymer=polymer, smiles=smiles, name=entry.name if entry is not None else None, embedding=fit.embedding,
        tests=tuple(tests), prior_strength=strength, chi_noise=noise,
        residuals_before=_residuals(tests, *predict_members(model.head, prior, solvents, temps)),
        residuals_after=_residuals(tests, *predict_members(model.head, fit.embedding, solvents, temps, fit.offset)),
        model_sha256=predictor.artifact.sha256, skipped=tuple(skipped), chi_offset=offset,
    )


def verdict_flips(predictor: "ChiPredictor", before: np.ndarray, after: "PolymerProfile",
                  solvents: Sequence[tuple[str, str]], temperature_k: float) -> list[tuple[str, bool]]:
    """(name, now soluble) of the (name, SMILES) solvents whose verdict changed from an embedding to a profile.

    The verdict is p_miscible ≥ 0.5 (χ < 0.5 for a model without a miscibility head); solvents
    that cannot be featurized are left out.
    """
    usable = []
    for name, smiles in solvents:
        try:
            predictor.solvent_descriptors(smiles)
        except ChiLiteError:
            continue
        usable.append((name, smiles))
    if not usable:
        return []
    embedded = predictor.solvent_embeddings([smiles for _, smiles in usable])
    temps = np.full(len(usable), temperature_k)
    verdicts = []
    for emb, shift in ((before, 0.0), (after.embedding, after.chi_shift(temperature_k))):
        chi, logit = predict_members(predictor.factorized.head, emb, embedded, temps)
        if predictor.reports_miscibility:
            verdicts.append(sigmoid(logit).mean(axis=1) >= 0.5)
        else:
            verdicts.append(chi.mean(axis=1) + shift < 0.5)
    return [(name, bool(now)) for (name, _), was, now in zip(usable, *verdicts) if was != now]


def structure_embedding(predictor: "ChiPredictor", profile: PolymerProfile) -> np.ndarray:
    """The uncalibrated (structure-based) embedding of the profile's polymer: the fit's starting point."""
    return predictor.factorized.embed_polymers(predictor.polymer_descriptors(profile.smiles)[None, :])[0].astype(np.float64)


def profile_pairs(profile: PolymerProfile, rows: Sequence[Mapping[str, str]]) -> tuple[list[tuple[Any, Any, Any]], dict[int, str]]:
    """(profile, solvent, temperature) per batch row, and the error of each row whose polymer cell names another polymer.

    An empty or absent polymer cell means the profile's polymer.
    """
    pairs: list[tuple[Any, Any, Any]] = []
    mismatched: dict[int, str] = {}
    for i, row in enumerate(rows):
        given = (row.get("polymer") or "").strip()
        if given:
            try:
                same = resolve_polymer(given) == profile.smiles
            except ChiLiteError:
                same = False
            if not same:
                mismatched[i] = f"polymer {given!r} is not the profile's polymer ({profile.name or profile.polymer})"
        pairs.append((profile, row.get("solvent"), row.get("temperature")))
    return pairs, mismatched
