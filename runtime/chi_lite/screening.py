"""Screening: rank a solvent library for one or several polymers at one temperature.

Each solvent is encoded once (descriptors → solvent encoder), each polymer once,
and a pair costs only the linear head of chi_lite.factorized. The library is
read in chunks and only the best ``top`` rows are kept, so memory does not grow
with the library unless every row is asked for.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import warnings
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .embedding_cache import MEMORY_ENTRIES, DiskCache, MemoryCache
from .errors import ChiLiteError
from .limits import MAX_SMILES_CHARS, LimitError, check_heavy_atoms, check_jobs, check_text_length
from .factorized import FactorizedModel, PolymerScorer
from .answer import LONG_CHAIN_CHI_CRITICAL, VERDICT_COLUMNS, verdict_fields
from .crystalline import known_crystalline
from .domain import canonical
from .flory_huggins import critical_chi
from .verdict import VerdictModel, probability_array
from .featurize.featurizer import Featurizer
from .featurize.oligomer import _quiet_rdkit, has_dummy_atom, heavy_atoms
from .library import LibraryRow, describe, iter_chunks
from .loaded import LoadedModel, check_same_model
from .names import lookup, resolve_polymer
from .predictor import ChiPredictor
from .units import check_chain_length, to_kelvin

SORT_KEYS = ("chi", "p_miscible")
SCREEN_ANSWER_COLUMNS = tuple(VERDICT_COLUMNS)  # per polymer, after its chi and chi_std
CHUNK_ROWS = 4096
CACHED_READ_ROWS = 65536  # cached rows are two integers each: read them in big blocks


@dataclass
class ScreenResult:
    """Ranked rows (best first) and what happened on the way."""

    polymers: list[str]  # as given (names or SMILES)
    polymer_smiles: list[str]
    temperature_k: float
    sort: str
    report_p_miscible: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    rows_read: int = 0
    descriptors_computed: int = 0
    from_disk_cache: bool = False
    chain_length: float | None = None  # N of the verdict (None: a long chain)


# ---- solvent featurization (also run in worker processes) ---------------------------------

_WORKER_FEATURIZER: Featurizer | None = None


def _init_worker(config) -> None:
    global _WORKER_FEATURIZER
    _quiet_rdkit()
    _WORKER_FEATURIZER = Featurizer(config, check_rdkit=False)


def _worker_descriptors(smiles: str) -> tuple[np.ndarray | None, str | None]:
    assert _WORKER_FEATURIZER is not None
    try:
        return _WORKER_FEATURIZER.solvent(smiles), None
    except ChiLiteError as exc:
        return None, str(exc)


def _library_entry(raw: str) -> tuple[str | None, Any, str | None]:
    """(canonical SMILES, mol, None) or (None, None, error) for one library entry (a name is looked up first).

    The key is domain.canonical's, the one canonical form the runtime uses (domain and crystalline
    lookups share its cache); the parsed molecule is kept for the descriptors.
    """
    from rdkit import Chem

    entry = lookup("solvents", raw)
    smiles = entry.smiles if entry is not None else raw
    if not smiles:
        return None, None, "empty solvent SMILES"
    shown = repr(raw if len(raw) <= 80 else raw[:80] + "…")
    try:
        check_text_length(smiles, "solvent SMILES")
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            return None, None, f"invalid solvent SMILES: {shown}"
        check_heavy_atoms(heavy_atoms(mol), "solvent")
    except LimitError as exc:
        return None, None, str(exc)
    if has_dummy_atom(mol):
        return None, None, f"solvent SMILES must not contain '*': {shown}"
    return canonical(smiles), mol, None


def _refuse_unguarded_script() -> None:
    """Fail fast inside a spawned worker that is re-running a script without a main guard.

    Spawned workers import the parent's script; one that builds a Screener(jobs>1) at top level
    would start workers of its own, which import the script again, without end.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ChiLiteError(
            "Screener(jobs>1) was created while a worker process was starting: put the code that uses it "
            "under 'if __name__ == \"__main__\":' in your script (worker processes re-import it)"
        )


class _Ranking:
    """The best rows so far (or all of them), by the first polymer's score."""

    def __init__(self, top: int | None, sort: str) -> None:
        self.top, self.sort = top, sort
        self.lines = np.empty(0, dtype=np.int64)
        self.scores: list[np.ndarray] = []  # per polymer: (n, 3) chi, std, p
        self.smiles: list[str] = []
        self.names: list[str] = []

    def add(self, lines: list[int], smiles: list[str], names: list[str], scores: list[np.ndarray]) -> None:
        if len(lines) == 0:
            return
        self.lines = np.concatenate([self.lines, np.asarray(lines, dtype=np.int64)])
        self.scores = scores if not self.scores else [np.concatenate([a, b]) for a, b in zip(self.scores, scores)]
        self.smiles += smiles
        self.names += names
        if self.top is not None and len(self.lines) > 4 * self.top + CHUNK_ROWS:
            self._keep(self._order()[: self.top])

    def _order(self) -> np.ndarray:
        first = self.scores[0]
        key = first[:, 0] if self.sort == "chi" else -first[:, 2]
        return np.lexsort((self.lines, key))  # ties: library order

    def _keep(self, index: np.ndarray) -> None:
        self.lines = self.lines[index]
        self.scores = [s[index] for s in self.scores]
        self.smiles = [self.smiles[i] for i in index]
        self.names = [self.names[i] for i in index]

    def ranked(self) -> list[tuple[int, str, str, list[np.ndarray]]]:
        if not self.scores:
            return []
        order = self._order()
        if self.top is not None:
            order = order[: self.top]
        return [(int(self.lines[i]), self.smiles[i], self.names[i], [s[i] for s in self.scores]) for i in order]


def screen_scores(scorer: PolymerScorer, features: np.ndarray, with_p: bool, verdict: VerdictModel,
                  chi_critical: float) -> np.ndarray:
    """(N, 4) χ, σ, p_miscible, p_classifier: what Screener.screen ranks by (kept the same, row for row).

    p_miscible is the answer layer's verdict probability (verdict.probability_array); the
    crystalline gate is applied only to the ranked rows (Screener._rows), as in a local screen.
    """
    chi, std, p = scorer.score(features, with_p=with_p)
    p = p if p is not None else np.full_like(chi, np.nan)
    return np.stack([chi, std, probability_array(verdict, p, chi, std, chi_critical), p], axis=1)


class Screener:
    """Screens libraries against polymers over one loaded model; ``jobs`` processes compute descriptors.

    ``model_dir`` is a model directory (None: the shipped model), a ChiPredictor or a LoadedModel:
    given a predictor, the screener shares its model (sessions, featurizer, caches) instead of
    loading it again, and ``screener.predictor`` is a view over the same model.
    """

    def __init__(self, model_dir: Path | str | ChiPredictor | LoadedModel | None = None, *, threads: int | None = None,
                 jobs: int = 1) -> None:
        check_jobs(jobs)
        if jobs > 1:
            _refuse_unguarded_script()
        if isinstance(model_dir, ChiPredictor):
            self.loaded = model_dir.loaded
        elif isinstance(model_dir, LoadedModel):
            self.loaded = model_dir
        else:
            self.loaded = LoadedModel(model_dir, threads=threads)
        self.predictor = ChiPredictor(model=self.loaded)  # a view: builds nothing until it predicts
        self.model: FactorizedModel = self.loaded.factorized  # what a screen runs: built now, so a broken model fails here
        self.memory = MemoryCache(self.loaded.sha256)
        # raw library text → canonical SMILES (or error): libraries repeat molecules, and parsing
        # costs ~50 µs per row against ~1 µs for scoring it
        self._canonical: OrderedDict[str, tuple[str | None, Any, str | None]] = OrderedDict()
        self._failed: dict[str, str] = {}  # canonical SMILES whose descriptors failed → error
        self.jobs = jobs
        self._pool = None
        self.descriptors_computed = 0

    def __getstate__(self) -> dict[str, Any]:
        """Pickle as the loaded model (directory, threads, hash) and jobs; caches and the pool stay behind."""
        return {"loaded": self.loaded, "jobs": self.jobs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """The loaded model reloads and re-verifies itself (LoadedModel.__setstate__)."""
        self.__init__(state["loaded"], jobs=state["jobs"])

    @property
    def _load_args(self) -> tuple[str | None, int | None, int]:
        """(model directory, threads, jobs): how another process builds the same screener."""
        return (*self.loaded.load_args, self.jobs)

    # -- context manager: the worker pool is closed on exit --
    def __enter__(self) -> "Screener":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the descriptor worker processes (if --jobs started any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @property
    def report_p_miscible(self) -> bool:
        """p_miscible stacks the classifier only for a model whose miscibility head was trained (LoadedModel)."""
        return self.loaded.reports_miscibility

    def polymer_embedding(self, polymer: Any) -> tuple[str, np.ndarray]:
        """(repeat-unit SMILES, embedding (K, 2Z)) of a polymer name, SMILES or calibrated profile."""
        smiles, embedding, _ = self._encode_polymer(polymer)
        return smiles, embedding

    def scorer(self, polymer: Any, temperature_k: float) -> tuple[str, PolymerScorer]:
        """(repeat-unit SMILES, linear scorer) of one polymer (name, SMILES or profile) at one temperature."""
        profile = None if isinstance(polymer, str) else self.predictor.load_profile(polymer)  # parsed once
        smiles, embedding, novelty = self._encode_polymer(polymer if profile is None else profile)
        scorer = self.model.scorer(embedding, temperature_k, novelty)
        return smiles, scorer if profile is None else profile.shift_scorer(scorer, temperature_k)

    def _encode_polymer(self, polymer: Any) -> tuple[str, np.ndarray, float]:
        """(repeat-unit SMILES, embedding, novelty): one polymer-encoder run for a structure.

        A profile's embedding is its fitted sphere (checked against this model); its novelty is its
        structure's, since calibration moves the sphere, not the chemistry.
        """
        if not isinstance(polymer, str):
            profile = self.predictor.load_profile(polymer)
            return profile.smiles, profile.embedding.astype(np.float32), self.loaded.polymer_novelty(profile.smiles)
        smiles = resolve_polymer(polymer)
        embedding, novelty = self.model.encode_polymers(self.loaded.polymer_descriptors(smiles)[None, :])
        return smiles, embedding[0], float(novelty[0])

    def solvent_features(self, smiles: Sequence[str]) -> list[tuple[np.ndarray | None, str | None]]:
        """(features (K·2Z,), None) or (None, error) per SMILES or name, in order; cached by canonical SMILES.

        The features are the solvent encoder's embedding in the form the linear head reads
        (chi_lite.factorized.solvent_features); PolymerScorer.score turns them into χ.
        """
        return [(emb, err) for emb, err, _ in self._embed(smiles)]

    def _embed(self, smiles: Sequence[str]) -> list[tuple[np.ndarray | None, str | None, str | None]]:
        """(embedding, error, canonical SMILES) per entry."""
        _quiet_rdkit()
        canon: dict[str, tuple[str | None, Any, str | None]] = {}
        for raw in smiles:
            if raw not in canon:
                known = self._canonical.get(raw)
                if known is None:
                    known = _library_entry(raw)
                    if len(raw) <= MAX_SMILES_CHARS:  # over-long text is refused, never kept (serve runs for months)
                        self._canonical[raw] = (known[0], None, known[2])  # molecules are not kept
                    if len(self._canonical) > MEMORY_ENTRIES:
                        self._canonical.popitem(last=False)
                canon[raw] = known
        todo: dict[str, tuple[str, Any]] = {}
        for raw, (key, mol, _) in canon.items():
            if key in self._failed:  # descriptors failed before: the same error, not the same work again
                canon[raw] = (None, None, self._failed[key])
            elif key is not None and key not in todo and self.memory.get(key) is None:
                entry = lookup("solvents", raw)  # descriptors come from the text as written (or its name's SMILES)
                todo[key] = (entry.smiles if entry is not None else raw, mol)  # mol None: parsed in an earlier call
        errors: dict[str, str] = {}
        if todo:
            computed = self._descriptors([raw for raw, _ in todo.values()], [mol for _, mol in todo.values()])
            ok = [(key, vec) for key, (vec, err) in zip(todo, computed) if vec is not None]
            errors = {key: err for key, (vec, err) in zip(todo, computed) if vec is None}
            if len(self._failed) > MEMORY_ENTRIES:  # bounded like the other caches
                self._failed.clear()
            self._failed.update(errors)
            if ok:
                embedded = self.model.solvent_features(np.stack([vec for _, vec in ok]))
                for (key, _), emb in zip(ok, embedded):
                    self.memory.put(key, emb)
            self.descriptors_computed += len(todo)
        out: list[tuple[np.ndarray | None, str | None, str | None]] = []
        for raw in smiles:
            key, _, error = canon[raw]
            if key is None:
                out.append((None, error, None))
            elif key in errors:
                out.append((None, errors[key], None))
            else:
                emb = self.memory.get(key)
                if emb is None:  # evicted within this call (tiny cache): compute it again
                    emb = self.model.solvent_features(self.loaded.featurizer.solvent(key)[None, :])[0]
                out.append((emb, None, key))
        return out

    def _descriptors(self, smiles: list[str], mols: list[Any]) -> list[tuple[np.ndarray | None, str | None]]:
        if self.jobs == 1 or len(smiles) < 2 * self.jobs:
            out = []
            for s, mol in zip(smiles, mols):
                try:
                    featurizer = self.loaded.featurizer
                    out.append((featurizer.solvent_from_mol(mol, s) if mol is not None else featurizer.solvent(s), None))
                except ChiLiteError as exc:
                    out.append((None, str(exc)))
            return out
        if self._pool is None:
            # spawn, not fork: the parent holds onnxruntime thread pools that must not be forked.
            # An executor, not multiprocessing.Pool: a worker that dies (the OOM killer, a script
            # without a main guard) breaks the executor, and the parent hears of it instead of waiting.
            self._pool = ProcessPoolExecutor(
                self.jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(self.loaded.featurizer.config,),
            )
        try:
            return list(self._pool.map(_worker_descriptors, smiles, chunksize=max(1, len(smiles) // (4 * self.jobs))))
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise ChiLiteError(
                "a descriptor worker process died (killed, e.g. out of memory, or a script using Screener(jobs>1) "
                "without 'if __name__ == \"__main__\":'); retry with fewer --jobs or --jobs 1"
            ) from None

    def screen(
        self,
        polymers: Sequence[Any],  # names, SMILES or calibrated PolymerProfiles
        library: str | Path = "builtin",
        temperature: float = 25.0,
        *,
        kelvin: bool = False,
        top: int | None = None,
        sort: str = "chi",
        cache: Path | str | None = None,
        chunk_rows: int = CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
        chain_length: float | None = None,
    ) -> ScreenResult:
        """Rank the library's solvents for ``polymers`` (ranked by the first); bad rows are skipped and listed."""
        if isinstance(polymers, str):
            polymers = [polymers]
        if not polymers:
            raise ChiLiteError("give at least one polymer")
        if sort not in SORT_KEYS:
            raise ChiLiteError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
        if chain_length is not None:
            chain_length = check_chain_length(chain_length)
        if top is not None and top < 1:
            raise ChiLiteError(f"top must be at least 1 (got {top})")
        t = to_kelvin(temperature, kelvin)
        resolved = [self.scorer(p, t) for p in polymers]
        scorers = [scorer for _, scorer in resolved]
        info = describe(library)
        result = ScreenResult(
            polymers=[p if isinstance(p, str) else p.label for p in polymers], polymer_smiles=[s for s, _ in resolved], temperature_k=t, sort=sort,
            report_p_miscible=self.report_p_miscible, chain_length=chain_length,
        )
        ranking = _Ranking(top, sort)
        chi_c = LONG_CHAIN_CHI_CRITICAL if chain_length is None else critical_chi(chain_length)
        before = self.descriptors_computed
        disk = DiskCache(Path(cache), self.loaded.sha256, info.sha256, self.model.feature_width) if cache else None

        def score(lines, smiles, names, features) -> None:
            if len(lines):
                with_p = result.report_p_miscible
                scores = []
                for scorer in scorers:
                    scores.append(screen_scores(scorer, features, with_p, self.loaded.answer_context.verdict, chi_c))
                ranking.add(lines, smiles, names, scores)

        ranked = None
        if disk is not None and disk.valid:
            try:
                ranked = self._ranked_from_cache(disk, score, result, progress, ranking)
            except sqlite3.DatabaseError as exc:  # truncated or corrupt after its header was read: rebuild
                warnings.warn(f"cache file {disk.path} is corrupt ({exc}); rebuilding it", RuntimeWarning, stacklevel=2)
                ranking = _Ranking(top, sort)
                result.rows_read, result.bad_rows, result.from_disk_cache = 0, [], False
            finally:
                disk.close()
        if ranked is None:
            if disk is not None:
                disk.start_writing()
            try:
                for chunk in iter_chunks(library, chunk_rows):
                    self._screen_chunk(chunk, disk, score, result)
                    if progress:
                        progress(len(chunk))
            except BaseException:
                if disk is not None:
                    disk.abandon()
                raise
            if disk is not None:
                disk.finish()
                disk.close()
            ranked = ranking.ranked()
        result.descriptors_computed = self.descriptors_computed - before
        result.rows = self._rows(ranked, result)
        return result

    @staticmethod
    def _ranked_from_cache(disk: DiskCache, score, result: ScreenResult, progress, ranking: _Ranking) -> list:
        """The ranking from a complete disk cache: no molecule is parsed; strings only for the ranked rows."""
        result.from_disk_cache = True
        for lines, features in disk.read(CACHED_READ_ROWS):
            n = len(lines)
            score(lines, [""] * n, [""] * n, features)
            result.rows_read += n
            if progress:
                progress(n)
        result.bad_rows = disk.bad_rows()
        result.rows_read += len(result.bad_rows)
        ranked = ranking.ranked()
        strings = disk.strings([line for line, _, _, _ in ranked])
        return [(line, *strings[line], scores) for line, _, _, scores in ranked]

    def _screen_chunk(self, chunk: list[LibraryRow], disk: DiskCache | None, score, result: ScreenResult) -> None:
        embedded = self._embed([row.smiles for row in chunk])
        good = [(row, emb) for row, (emb, _, _) in zip(chunk, embedded) if emb is not None]
        result.bad_rows += [(row.line, err) for row, (emb, err, _) in zip(chunk, embedded) if emb is None]
        result.rows_read += len(chunk)
        if disk is not None:
            disk.write([r.line for r in chunk], [r.smiles for r in chunk], [r.name for r in chunk],
                       [k for _, _, k in embedded], [e for e, _, _ in embedded], [err for _, err, _ in embedded])
        if good:
            score([r.line for r, _ in good], [r.smiles for r, _ in good], [r.name for r, _ in good],
                  np.stack([e for _, e in good]))

    def _rows(self, ranked, result: ScreenResult) -> list[dict[str, Any]]:
        """Ranked rows with each polymer's χ, σ and answer fields (answer.verdict_fields, as predict)."""
        rows = []
        several = len(result.polymers) > 1
        context = self.loaded.answer_context
        for rank, (line, smiles, name, scores) in enumerate(ranked, start=1):
            row: dict[str, Any] = {"rank": rank, "name": name, "smiles": smiles, "line": line}
            for label, polymer, (chi, std, _, p) in zip(result.polymers, result.polymer_smiles, scores):
                suffix = f"[{label}]" if several else ""
                a = b = None
                if known_crystalline(polymer) is not None:  # T_d needs χ(T) = A + B/T: one predictor call
                    fit = self.predictor.predict(polymer, smiles, result.temperature_k, kelvin=True)
                    a, b = fit.A, fit.B
                fields = verdict_fields(context, polymer, smiles, result.temperature_k, float(chi), float(std), a, b,
                                        None if p != p else float(p), result.chain_length)
                row[f"chi{suffix}"] = float(chi)
                row[f"chi_std{suffix}"] = float(std)
                for column in SCREEN_ANSWER_COLUMNS:
                    row[f"{column}{suffix}"] = fields[column]
            rows.append(row)
        return rows

    def columns(self, result: ScreenResult) -> list[str]:
        """Output columns in order for ``result``."""
        columns = ["rank", "name", "smiles"]
        several = len(result.polymers) > 1
        for label in result.polymers:
            suffix = f"[{label}]" if several else ""
            columns += [f"{c}{suffix}" for c in ("chi", "chi_std", *SCREEN_ANSWER_COLUMNS)]
        return columns + ["line"]
