"""Finding a model directory and verifying it before anything is run from it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .config import MANIFEST_FORMAT, MANIFEST_NAME, ModelManifest
from .errors import ArtifactError

MODEL_ENV = "CHI_LITE_MODEL"


@dataclass(frozen=True)
class Artifact:
    """A verified model directory: its manifest and the path of its ONNX graph."""

    directory: Path
    manifest: ModelManifest

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST_NAME

    @property
    def model_path(self) -> Path:
        return self.directory / self.manifest.model_file

    @property
    def sha256(self) -> str:
        """Hash of the model graph: identifies this model in caches and logs."""
        return self.manifest.files[self.manifest.model_file]


def _candidates() -> list[Path]:
    here = Path(__file__).resolve().parent
    # Inside an installed wheel the model ships as package data; in a source
    # checkout (editable install) it is the repository's artifacts/ directory.
    return [here / "model", here.parent.parent / "artifacts"]


def default_model_dir() -> Path:
    """The model used when none is named: $CHI_LITE_MODEL, else the shipped one."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    for candidate in _candidates():
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    raise ArtifactError(
        "no shipped model found: reinstall chi-lite, or pass --model DIR / set CHI_LITE_MODEL to a trained artifact"
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_artifact(directory: Path | str | None = None) -> Artifact:
    """Read the manifest and check every listed file against its sha256."""
    directory = Path(directory) if directory is not None else default_model_dir()
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} not found: point --model at a directory written by 'chi-lite-train fit'")
    try:
        manifest = ModelManifest.load(directory)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{manifest_path} is not a valid chi-lite manifest ({exc})") from None
    if manifest.format > MANIFEST_FORMAT:
        raise ArtifactError(
            f"{manifest_path} has format {manifest.format}, this chi-lite reads up to {MANIFEST_FORMAT}: upgrade chi-lite"
        )
    if manifest.model_file not in manifest.files:
        raise ArtifactError(f"{manifest_path} lists no hash for {manifest.model_file}")
    for name, expected in manifest.files.items():
        path = directory / name
        if not path.is_file():
            raise ArtifactError(f"artifact file {path} is missing: reinstall chi-lite or retrain (make train)")
        actual = sha256_of(path)
        if actual != expected:
            raise ArtifactError(
                f"artifact file {path} does not match its manifest hash (expected {expected[:12]}…, got {actual[:12]}…): "
                "the file is corrupted or was replaced; reinstall chi-lite or retrain (make train)"
            )
    return Artifact(directory=directory, manifest=manifest)
