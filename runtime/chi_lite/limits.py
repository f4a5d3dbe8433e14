"""Every bound chi-lite puts on its inputs and resources, in one place (docs/security.md lists them).

The defaults keep a 2-core, 8 GB plant PC responsive while a screen or a server runs:
descriptor time grows with the cube of a molecule's size, and every process or thread
costs memory. Where a user may need more, an environment variable (and, for the CLI,
an option) raises the bound; every refusal names the limit and how to raise it.
"""

from __future__ import annotations

import os

from .errors import ChiLiteError

MAX_HEAVY_ATOMS = 150  # heavy atoms in one solvent or one repeat unit (the training data's largest: 63)
MAX_OLIGOMER_ATOMS = 1000  # heavy atoms in the cyclic oligomer (10 units of ≤ 100 atoms: ~0.7 s of descriptors)
MAX_SMILES_CHARS = 1000  # characters of one SMILES or name, checked before RDKit parses it
MAX_REQUEST_BYTES = 1 << 20  # one serve stdio line or HTTP body
MAX_PAIRS = 1000  # pairs per serve predict request; solvents per inline screen library
MAX_JOBS = 8  # descriptor worker processes (each holds RDKit: ~150 MB)
MAX_THREADS = 16  # onnxruntime intra-op threads
MAX_CONNECTIONS = 32  # HTTP connections answered at once; more wait in the listen backlog
NAME_CACHE_ENTRIES = 1024  # resolved names/SMILES kept by the name resolver

ATOMS_ENV = "CHI_LITE_MAX_ATOMS"
OLIGOMER_ATOMS_ENV = "CHI_LITE_MAX_OLIGOMER_ATOMS"
JOBS_ENV = "CHI_LITE_MAX_JOBS"
THREADS_ENV = "CHI_LITE_MAX_THREADS"


class LimitError(ChiLiteError, ValueError):
    """An input or a resource request over one of the limits above (the message names it)."""


def configured(env: str, default: int) -> int:
    """``default``, or the whole number in $``env`` when it is set (a bad value is refused, not ignored)."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LimitError(f"{env}={raw[:40]!r} is not a whole number") from None
    if value < 1:
        raise LimitError(f"{env} must be at least 1 (got {value})")
    return value


def max_heavy_atoms() -> int:
    return configured(ATOMS_ENV, MAX_HEAVY_ATOMS)


def max_oligomer_atoms() -> int:
    return configured(OLIGOMER_ATOMS_ENV, MAX_OLIGOMER_ATOMS)


def check_text_length(text: str, what: str) -> None:
    """Refuse a SMILES or name longer than MAX_SMILES_CHARS, or not encodable text (a lone surrogate), before any parser sees it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise LimitError(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None
    if len(text) > MAX_SMILES_CHARS:
        raise LimitError(
            f"{what} has {len(text)} characters; the limit is {MAX_SMILES_CHARS} (max SMILES length)"
        )


def check_heavy_atoms(count: int, what: str) -> None:
    """Refuse a molecule over the heavy-atom limit (counted on the parsed SMILES, before descriptors)."""
    limit = max_heavy_atoms()
    if count > limit:
        raise LimitError(
            f"{what} has {count} heavy atoms; the limit is {limit} per molecule (raise it with {ATOMS_ENV}=N)"
        )


def check_oligomer_atoms(count: int, units: int) -> None:
    """Refuse a repeat unit whose cyclic oligomer (``units`` copies) would be over the oligomer limit."""
    limit = max_oligomer_atoms()
    if count > limit:
        raise LimitError(
            f"the {units}-unit cyclic oligomer of this repeat unit has {count} heavy atoms; the limit is {limit} "
            f"(raise it with {OLIGOMER_ATOMS_ENV}=N)"
        )


def check_jobs(jobs: int) -> int:
    """``jobs`` when it is between 1 and the job limit (default MAX_JOBS, env CHI_LITE_MAX_JOBS)."""
    limit = configured(JOBS_ENV, MAX_JOBS)
    if not 1 <= jobs <= limit:
        raise LimitError(f"--jobs {jobs} is outside 1–{limit} (max jobs; raise it with {JOBS_ENV}=N)")
    return jobs


def check_threads(threads: int) -> int:
    """``threads`` when it is between 1 and the thread limit (default MAX_THREADS, env CHI_LITE_MAX_THREADS)."""
    limit = configured(THREADS_ENV, MAX_THREADS)
    if not 1 <= threads <= limit:
        raise LimitError(f"{threads} threads is outside 1–{limit} (max threads; raise it with {THREADS_ENV}=N)")
    return threads
