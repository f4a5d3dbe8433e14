"""ONNX export of the ensemble, the manifest beside it, and the torch ↔ onnxruntime parity check."""

from __future__ import annotations

import datetime as _dt
import platform
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chi_lite import contract
from chi_lite.artifact import sha256_of
from chi_lite.contract import MODEL_FILE, OPSET, T_REF
from chi_lite.config import FeaturizerConfig, ModelManifest

from .factorized import export_factorized
from .model import ChiEnsemble

INPUTS = list(contract.MODEL_INPUTS)
OUTPUTS = list(contract.MODEL_OUTPUTS)


def export_onnx(ensemble: ChiEnsemble, vocabulary: FeaturizerConfig, path: Path) -> Path:
    """Write the ensemble as one ONNX graph with a dynamic batch dimension."""
    ensemble.eval()
    n = 3
    example = (
        torch.zeros(n, len(vocabulary.polymer_descriptors)),
        torch.zeros(n, len(vocabulary.solvent_descriptors)),
        torch.full((n,), T_REF),
    )
    dynamic = {name: {0: "batch"} for name in INPUTS + OUTPUTS}
    # The TorchScript exporter is deprecated but needs no onnxscript and gives a small, plain
    # graph for this static MLP; silence its notice rather than print it on every export.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(ensemble, example, path, dynamic)
    return path


def _export(ensemble: ChiEnsemble, example: tuple, path: Path, dynamic: dict) -> None:
    torch.onnx.export(
        ensemble,
        example,
        str(path),
        input_names=INPUTS,
        output_names=OUTPUTS,
        dynamic_axes=dynamic,
        opset_version=OPSET,
        dynamo=False,
        do_constant_folding=True,
    )


def stamp_featurizer(path: Path, vocabulary: FeaturizerConfig) -> None:
    """Write the featurizer section's hash into the graph's metadata; the runtime refuses a manifest that disagrees."""
    import onnx

    model = onnx.load(str(path))
    for entry in [e for e in model.metadata_props if e.key == contract.FEATURIZER_STAMP_KEY]:
        model.metadata_props.remove(entry)
    model.metadata_props.add(key=contract.FEATURIZER_STAMP_KEY, value=vocabulary.fingerprint())
    onnx.save(model, str(path))


def parity_error(ensemble: ChiEnsemble, onnx_path: Path, polymer: np.ndarray, solvent: np.ndarray, temperature_k: np.ndarray) -> float:
    """Largest |χ_torch − χ_onnx| (or |Δp_miscible|, whichever is larger) over the given raw inputs."""
    from chi_lite.session import create_session

    session = create_session(onnx_path)  # built as production builds it
    feed = {
        INPUTS[0]: polymer.astype(np.float32),
        INPUTS[1]: solvent.astype(np.float32),
        INPUTS[2]: temperature_k.astype(np.float32),
    }
    onnx_chi, onnx_p = session.run(["chi", "p_miscible"], feed)
    with torch.no_grad():
        out = ensemble(*(torch.tensor(v) for v in feed.values()))
    return float(max(np.max(np.abs(onnx_chi - out[0].numpy())), np.max(np.abs(onnx_p - out[4].numpy()))))


def library_versions() -> dict[str, str]:
    import importlib.metadata
    import onnx
    import onnxruntime
    import rdkit

    import chi_lite

    return {
        "chi_lite": chi_lite.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "rdkit": rdkit.__version__,
        "numpy": np.__version__,
        "click": importlib.metadata.version("click"),
    }


def write_artifact(
    ensemble: ChiEnsemble,
    vocabulary: FeaturizerConfig,
    out_dir: Path,
    *,
    training: dict[str, Any],
    data: dict[str, Any],
    metrics: dict[str, Any],
    miscibility: bool = False,
    uncertainty: dict[str, Any] | None = None,
) -> ModelManifest:
    """Export the graph and write the manifest with the hash of every artifact file.

    The graph always has the p_miscible output; ``miscibility`` records whether its head was
    trained, and the runtime reports p_miscible only then.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(ensemble, vocabulary, out_dir / MODEL_FILE)
    graphs = export_factorized(
        ensemble, len(vocabulary.polymer_descriptors), len(vocabulary.solvent_descriptors), out_dir
    )
    for name in [MODEL_FILE, *graphs.values()]:
        if name.endswith(".onnx"):
            stamp_featurizer(out_dir / name, vocabulary)
    manifest = ModelManifest(
        featurizer=vocabulary,
        model_file=MODEL_FILE,
        inputs=INPUTS,
        outputs=OUTPUTS,
        tasks={"chi_experimental": True, "chi_cosmo_rs": True, "miscibility": bool(miscibility)},
        ensemble_size=len(ensemble.members),
        files={MODEL_FILE: sha256_of(onnx_path), **{f: sha256_of(out_dir / f) for f in graphs.values()}},
        graphs=graphs,
        training=training,
        data=data,
        metrics=metrics,
        versions=library_versions(),
        uncertainty=uncertainty or {},
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    )
    manifest.save(out_dir)
    return manifest
