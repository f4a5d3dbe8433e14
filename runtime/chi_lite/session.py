"""The one place that builds onnxruntime sessions: CPU provider, bounded threads, basic graph optimisation."""

from __future__ import annotations

from pathlib import Path

from .errors import ArtifactError
from .limits import check_threads, configured

THREADS_ENV = "CHI_LITE_THREADS"
DEFAULT_THREADS = 1  # a plant PC runs other software: never take every core unasked


def resolve_threads(threads: int | None = None) -> int:
    """Explicit argument, else $CHI_LITE_THREADS, else one thread."""
    return check_threads(configured(THREADS_ENV, DEFAULT_THREADS) if threads is None else threads)


def create_session(model_path: Path, threads: int | None = None):
    """An InferenceSession on the CPU provider with ``threads`` intra-op threads."""
    import onnxruntime as ort

    if "CPUExecutionProvider" not in ort.get_available_providers():
        raise ArtifactError("onnxruntime has no CPUExecutionProvider: reinstall it with 'pip install onnxruntime'")
    options = ort.SessionOptions()
    options.intra_op_num_threads = resolve_threads(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # BASIC, not ALL: the extended fusions cost ~25 ms at every start (a third of the session
    # build) and bring nothing measurable for this small MLP graph (tests/bench_startup.py).
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ArtifactError(f"onnxruntime cannot load {model_path}: {exc}") from None
