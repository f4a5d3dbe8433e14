"""Screening a library in partitions: on a Dask cluster, or one partition after another in this process.

Why partitions: a 10⁹-molecule library is hundreds of core-hours of descriptors, and
no process should hold it. The client resolves the polymers once and sends every
task the small linear scorers (chi_lite.factorized); a task reads its partition (a
Parquet row group, or a block of rows of a text library), embeds the solvents with
the model its worker loaded once, scores them, writes every row to its own Parquet
part file when asked, and returns only its best ``top`` rows, which the client merges.

Tasks are pure: a partition's result depends only on its arguments, and files are
written under a temporary name and renamed into place, so a task re-run after its
worker died (Dask re-runs the lost partitions) gives the same rows and the same files.

``screen(..., client=None)`` runs without Dask (Parquet in and out on one machine);
dask and pyarrow are imported only when a cluster or a Parquet file is used.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .embedding_cache import DiskCache
from .errors import ChiLiteError, InputFileError
from .factorized import PolymerScorer
from .answer import LONG_CHAIN_CHI_CRITICAL
from .flory_huggins import check_chain_length, critical_chi
from .library import LibraryRow, iter_chunks
from .parquet_library import ParquetPart, is_parquet, parquet_parts, read_part
from .predictor import check_same_model
from .profile import shift_scorer
from .screening import CHUNK_ROWS, SORT_KEYS, ScreenResult, Screener, _Ranking, screen_scores
from .units import to_kelvin
from .verdict import VerdictModel

PARTITION_ROWS = 50_000  # rows per task for text libraries (Parquet: one row group per task)
TASK_RETRIES = 2  # re-runs of a task that raised (a flaky network file system); lost workers are separate
PART_NAME = "part-{index:06d}.parquet"
SCHEDULER_PREFIXES = ("tcp://", "tls://", "ucx://", "inproc://")
SCORE_COLUMNS = 4  # χ, σ, p_miscible (the verdict, before the crystalline gate), p_classifier


@dataclass(frozen=True)
class TextPart:
    """A block of rows of a SMILES or CSV library, shipped to the task with its line numbers."""

    index: int
    lines: tuple[int, ...]
    smiles: tuple[str, ...]
    names: tuple[str, ...]


@dataclass(frozen=True)
class ScreenJob:
    """What every task needs besides its partition (small: the scorers are a few KB per polymer)."""

    scorers: tuple[PolymerScorer, ...]
    labels: tuple[str, ...]  # polymers as given: the column suffixes
    with_p: bool  # the model has a trained classifier: p_classifier columns
    verdict: VerdictModel  # the model's stacking coefficients (answer_context.verdict): p_miscible
    chain_length: float | None  # given: chi_critical columns
    chi_critical: float  # χ_c(N) of the verdict (0.5 for a long chain)
    top: int | None  # rows each task returns (None: all; 0: none, when only the Parquet output is wanted)
    sort: str
    model_dir: str | None  # None: each worker's own shipped model (the wheel's)
    model_sha256: str
    threads: int | None
    cache_dir: str | None
    output_dir: str | None


@dataclass
class PartResult:
    """One partition's best rows (by the first polymer) and what went wrong on the way."""

    index: int
    ranked: list[tuple[int, str, str, list[np.ndarray]]]
    bad_rows: list[tuple[int, str]]
    rows_read: int
    descriptors_computed: int
    from_disk_cache: bool


@dataclass
class DistributedScreenResult(ScreenResult):
    """A ScreenResult (ranked rows as plain dicts, no pandas) plus the output columns and where every row went."""

    columns: list[str] = field(default_factory=list)
    partitions: int = 0
    output: Path | None = None


# ---- worker side ------------------------------------------------------------------------------

_WORKER_SCREENERS: dict[tuple[str | None, int | None], Screener] = {}


def worker_screener(model_dir: str | None, threads: int | None, model_sha256: str) -> Screener:
    """The model this process loaded for ``model_dir`` (loaded and hash-verified on first use, then kept)."""
    key = (model_dir, threads)
    screener = _WORKER_SCREENERS.get(key)
    if screener is None:
        screener = Screener(model_dir, threads=threads)
        _WORKER_SCREENERS[key] = screener
    check_same_model(screener.predictor.artifact, model_sha256)
    return screener


def _part_chunks(part: ParquetPart | TextPart, size: int) -> Iterator[list[LibraryRow]]:
    if isinstance(part, ParquetPart):
        yield from read_part(part, size)
        return
    for start in range(0, len(part.lines), size):
        yield [LibraryRow(*row) for row in zip(part.lines[start : start + size], part.smiles[start : start + size],
                                               part.names[start : start + size])]


def _part_sha256(part: ParquetPart | TextPart) -> str:
    """Content hash of a partition's rows (ids, SMILES, names): names its embedding cache."""
    digest = hashlib.sha256()
    for chunk in _part_chunks(part, CHUNK_ROWS):
        digest.update("".join(f"{r.line}\t{r.smiles}\t{r.name}\n" for r in chunk).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _temporary(path: Path) -> Path:
    """A name no other attempt at the same task uses (a re-run may overlap a presumed-dead worker)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")


class _PartWriter:
    """Every row of one partition, in order, into one Parquet file (renamed into place when complete)."""

    def __init__(self, path: Path, job: ScreenJob) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.path, self.job = pa, path, job
        self.temporary = _temporary(path)
        fields = [("line", pa.int64()), ("name", pa.string()), ("smiles", pa.string())]
        for suffix in _suffixes(job.labels):
            fields += [(f"chi{suffix}", pa.float64()), (f"chi_std{suffix}", pa.float64()),
                       (f"p_miscible{suffix}", pa.float64())]
            fields += [(f"p_classifier{suffix}", pa.float64())] if job.with_p else []
            fields += [(f"chi_critical{suffix}", pa.float64())] if job.chain_length is not None else []
            fields += [(f"miscible{suffix}", pa.bool_())]
        self.schema = pa.schema(fields + [("error", pa.string())])
        self.writer = pq.ParquetWriter(self.temporary, self.schema, compression="zstd")

    def write(self, chunk: list[LibraryRow], valid: np.ndarray, scores: list[np.ndarray], errors: list[str | None]) -> None:
        """``scores`` per polymer: (valid rows, 4) χ, σ, p_miscible, p_classifier (screen_scores) of the rows where ``valid``."""
        pa, n = self.pa, len(chunk)
        columns: list[Any] = [pa.array([r.line for r in chunk], pa.int64()), pa.array([r.name for r in chunk], pa.string()),
                              pa.array([r.smiles for r in chunk], pa.string())]
        invalid = ~valid
        for score in scores:
            full = np.full((n, SCORE_COLUMNS), np.nan)
            full[valid] = score
            columns += [pa.array(full[:, i], mask=invalid) for i in range(3)]  # chi, chi_std, p_miscible
            columns += [pa.array(full[:, 3], mask=invalid)] if self.job.with_p else []
            columns += [pa.array(np.full(n, self.job.chi_critical), mask=invalid)] if self.job.chain_length is not None else []
            columns += [pa.array(full[:, 2] >= 0.5, mask=invalid)]  # miscible, as the answer layer decides it
        columns.append(pa.array(errors, pa.string()))
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))

    def finish(self) -> None:
        self.writer.close()
        os.replace(self.temporary, self.path)

    def abandon(self) -> None:
        self.writer.close()
        self.temporary.unlink(missing_ok=True)


def _suffixes(labels: Sequence[str]) -> list[str]:
    return [f"[{label}]" for label in labels] if len(labels) > 1 else [""]


def _cached_chunks(disk: DiskCache, part: ParquetPart | TextPart) -> Iterator[tuple[list[LibraryRow], np.ndarray, list[str | None]]]:
    """The partition's chunks with their features from a complete cache: (rows, features of the valid rows, errors)."""
    errors = dict(disk.bad_rows())
    stream = disk.read(CHUNK_ROWS)
    lines, features = np.empty(0, dtype=np.int64), np.empty((0, disk.width), dtype=np.float32)
    for chunk in _part_chunks(part, CHUNK_ROWS):
        wanted = [r.line for r in chunk if r.line not in errors]
        while len(lines) < len(wanted):
            more = next(stream, None)
            if more is None:
                raise ChiLiteError(f"embedding cache {disk.path} does not match its partition: delete it")
            more_lines, more_features = more
            lines, features = np.concatenate([lines, more_lines]), np.concatenate([features, more_features])
        if not np.array_equal(lines[: len(wanted)], wanted):
            raise ChiLiteError(f"embedding cache {disk.path} does not match its partition: delete it")
        yield chunk, features[: len(wanted)], [errors.get(r.line) for r in chunk]
        lines, features = lines[len(wanted) :], features[len(wanted) :]


def screen_partition(job: ScreenJob, part: ParquetPart | TextPart, screener: Screener | None = None) -> PartResult:
    """Score one partition (a pure function of its arguments: safe to re-run after a lost worker)."""
    screener = screener or worker_screener(job.model_dir, job.threads, job.model_sha256)
    before = screener.descriptors_computed
    ranking = _Ranking(job.top, job.sort)
    result = PartResult(part.index, [], [], 0, 0, False)
    writer = _PartWriter(Path(job.output_dir) / PART_NAME.format(index=part.index), job) if job.output_dir else None
    disk = cache_path = None
    if job.cache_dir:
        cache_path = Path(job.cache_dir) / f"{job.model_sha256[:16]}-{_part_sha256(part)[:40]}.sqlite"
        disk = DiskCache(cache_path, job.model_sha256, cache_path.stem, screener.model.feature_width)
    try:
        if disk is not None and disk.valid:
            result.from_disk_cache = True
            chunks = _cached_chunks(disk, part)
        else:
            if disk is not None:
                disk = DiskCache(_temporary(cache_path), job.model_sha256, cache_path.stem, screener.model.feature_width)
                disk.start_writing()
            chunks = _embedded_chunks(screener, part, disk)
        for chunk, features, errors in chunks:
            valid = np.array([e is None for e in errors], dtype=bool)
            scores = [screen_scores(scorer, features, job.with_p, job.verdict, job.chi_critical) for scorer in job.scorers]
            kept = [row for row, ok in zip(chunk, valid) if ok]
            if job.top != 0:
                ranking.add([r.line for r in kept], [r.smiles for r in kept], [r.name for r in kept], scores)
            if writer is not None:
                writer.write(chunk, valid, scores, errors)
            result.bad_rows += [(row.line, err) for row, err in zip(chunk, errors) if err is not None]
            result.rows_read += len(chunk)
    except BaseException:
        if writer is not None:
            writer.abandon()
        if disk is not None and not result.from_disk_cache:
            disk.abandon()
            disk.path.unlink(missing_ok=True)
        raise
    if writer is not None:
        writer.finish()
    if disk is not None and not result.from_disk_cache:
        disk.finish()
        os.replace(disk.path, cache_path)
    result.ranked = ranking.ranked() if job.top != 0 else []
    result.descriptors_computed = screener.descriptors_computed - before
    return result


def _embedded_chunks(screener: Screener, part, disk: DiskCache | None):
    for chunk in _part_chunks(part, CHUNK_ROWS):
        embedded = screener._embed([row.smiles for row in chunk])
        if disk is not None:
            disk.write([r.line for r in chunk], [r.smiles for r in chunk], [r.name for r in chunk],
                       [k for _, _, k in embedded], [e for e, _, _ in embedded], [err for _, err, _ in embedded])
        good = [emb for emb, _, _ in embedded if emb is not None]
        features = np.stack(good) if good else np.empty((0, screener.model.feature_width), dtype=np.float32)
        yield chunk, features, [err for _, err, _ in embedded]


# ---- client side ------------------------------------------------------------------------------

def _partitions(library: str | Path, partition_rows: int) -> Iterator[ParquetPart | TextPart]:
    if is_parquet(library):
        yield from parquet_parts(library)
        return
    for index, chunk in enumerate(iter_chunks(library, partition_rows)):
        yield TextPart(index, tuple(r.line for r in chunk), tuple(r.smiles for r in chunk), tuple(r.name for r in chunk))


def _prepare_output(output: Path) -> None:
    """A new directory of part files: an existing file or directory of that name is never replaced."""
    if output.exists():
        raise InputFileError(f"Parquet output {output} already exists: remove it or name a new directory")
    try:
        output.mkdir(parents=True)
    except OSError as exc:
        raise InputFileError(f"cannot create Parquet output directory {output}: {exc}") from None


def screen(
    library: str | Path,
    polymers: Sequence[Any] | str,
    temperature: float = 25.0,
    client: Any = None,
    top: int | None = None,
    *,
    kelvin: bool = False,
    sort: str = "chi",
    chain_length: float | None = None,
    model_dir: Path | str | None = None,
    threads: int | None = None,
    output: Path | str | None = None,
    cache_dir: Path | str | None = None,
    partition_rows: int = PARTITION_ROWS,
    in_flight: int | None = None,
    progress: Callable[[int], None] | None = None,
    as_dataframe: bool = False,
    screener: Screener | None = None,
) -> DistributedScreenResult | Any:
    """Rank a library's solvents for ``polymers`` (by the first), one task per partition.

    ``library``: 'builtin', a SMILES or CSV file, or a Parquet file/directory (one task per row group).
    ``client``: a ``dask.distributed.Client``; None runs the partitions here, one after another.
    ``top``: keep the K best rows (each task returns its own K; the client merges them).
    ``output``: a directory that receives every row (``line``, name, smiles, scores, ``error``) as
    ``part-NNNNNN.parquet`` files, one per partition. Without ``top`` the result then holds no rows.
    ``cache_dir``: per-partition embedding caches, reused by later screens of the same rows under the same model.
    ``as_dataframe``: return ``dask.dataframe.read_parquet(output)`` (needs ``output`` and dask[dataframe]).
    ``screener``: an already loaded Screener to resolve polymers with (its model and threads then apply).
    Returns a DistributedScreenResult whose ``rows`` are plain dicts, as from a local Screener.
    """
    if isinstance(polymers, str):
        polymers = [polymers]
    if sort not in SORT_KEYS:
        raise ChiLiteError(f"sort must be one of {', '.join(SORT_KEYS)}, not {sort!r}")
    if top is not None and top < 1:
        raise ChiLiteError(f"top must be at least 1 (got {top})")
    if partition_rows < 1:
        raise ChiLiteError(f"partition_rows must be at least 1 (got {partition_rows})")
    if as_dataframe and output is None:
        raise ChiLiteError("as_dataframe needs output: the Dask DataFrame is read from the Parquet output")
    t = to_kelvin(temperature, kelvin)
    if chain_length is not None:
        chain_length = check_chain_length(chain_length)
    if output is not None:
        _parquet_available()
        output = Path(output)
        _prepare_output(output)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    local = screener if screener is not None else Screener(model_dir, threads=threads)
    model_arg, threads, _ = local._load_args
    if not polymers:
        raise ChiLiteError("give at least one polymer")
    resolved = [local.polymer_embedding(p) for p in polymers]
    labels = [p if isinstance(p, str) else getattr(p, "label", str(p)) for p in polymers]  # a calibrated profile: its label
    sha = local.predictor.artifact.sha256
    job = ScreenJob(
        scorers=tuple(shift_scorer(p, local.model.scorer(emb, t, local._polymer_novelty(smiles)), t) for p, (smiles, emb) in zip(polymers, resolved)), labels=tuple(labels),
        with_p=local.report_p_miscible, verdict=local.predictor.answer_context.verdict, chain_length=chain_length,
        chi_critical=LONG_CHAIN_CHI_CRITICAL if chain_length is None else critical_chi(chain_length),
        top=0 if (top is None and output is not None) else top, sort=sort,
        model_dir=None if model_arg is None else str(Path(model_arg).resolve()), model_sha256=sha, threads=threads,
        cache_dir=None if cache_dir is None else str(Path(cache_dir).resolve()),
        output_dir=None if output is None else str(output.resolve()),
    )
    result = DistributedScreenResult(
        polymers=labels, polymer_smiles=[s for s, _ in resolved], temperature_k=t, sort=sort,
        report_p_miscible=local.report_p_miscible, chain_length=chain_length, output=output,
    )
    result.columns = local.columns(result)
    ranking = _Ranking(top, sort)
    parts = _partitions(library, partition_rows)
    done = _run_on_cluster(client, job, parts, in_flight) if client is not None else (
        screen_partition(job, part, local) for part in parts)
    all_cached = True
    for part_result in done:
        result.partitions += 1
        if part_result.ranked:
            lines, smiles, names, scores = zip(*part_result.ranked)
            ranking.add(list(lines), list(smiles), list(names), [np.stack(s) for s in zip(*scores)])
        result.bad_rows += part_result.bad_rows
        result.rows_read += part_result.rows_read
        result.descriptors_computed += part_result.descriptors_computed
        all_cached &= part_result.from_disk_cache
        if progress:
            progress(part_result.rows_read)
    result.bad_rows.sort()
    if output is not None:  # what attempts on killed workers left half-written (no attempt is running now)
        for stale in output.glob(".part-*.tmp"):
            stale.unlink(missing_ok=True)
    result.from_disk_cache = all_cached and result.partitions > 0
    result.rows = local._rows(ranking.ranked(), result)
    if as_dataframe:
        import dask.dataframe as dd

        return dd.read_parquet(str(output))
    return result


def _parquet_available() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputFileError("Parquet output needs pyarrow: pip install 'chi-lite[dask]'") from None


def _run_on_cluster(client: Any, job: ScreenJob, parts: Iterator[ParquetPart | TextPart], in_flight: int | None) -> Iterator[PartResult]:
    """Submit partitions as pure tasks, at most ``in_flight`` at a time (text parts carry their rows), in any order."""
    from dask.base import tokenize
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    if in_flight is None:
        in_flight = max(4, 3 * max(1, len(client.scheduler_info().get("workers", {}))))
    job_future = client.scatter(job, broadcast=True, hash=True)
    token = tokenize(job)  # scorers (polymers, temperature), model, top, sort, output and cache directories

    def submit(part):
        # the key names the job and the partition's content, so a re-run (or the same screen again) is the same task
        # and another library's partition never is
        source = os.stat(part.path) if isinstance(part, ParquetPart) else None
        identity = tokenize(token, part, source and (source.st_size, source.st_mtime_ns))
        return client.submit(screen_partition, job_future, part, key=f"chi-lite-screen-{part.index}-{identity}",
                             pure=True, retries=TASK_RETRIES)

    pending = as_completed()
    for part in parts:
        pending.add(submit(part))
        if pending.count() >= in_flight:
            break
    for future in pending:
        try:
            part_result = future.result()
        except FutureCancelledError:
            raise ChiLiteError("the Dask cluster cancelled the screen (scheduler lost or client closed)") from None
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                raise ChiLiteError(f"a partition killed its worker repeatedly (out of memory?): {exc}") from None
            raise
        future.release()
        yield part_result
        next_part = next(parts, None)
        if next_part is not None:
            pending.add(submit(next_part))


def screen_from_cli(screener: Screener, polymers: Sequence[str], library: str | Path, temperature: Any, *,
                    dask: str | None, scheduler_file: Path | None, **options: Any) -> DistributedScreenResult:
    """`chi-lite screen --dask …` (or a Parquet --output / --cache-dir without --dask): the cluster lives for one screen."""
    if dask is None and scheduler_file is None:
        return screen(library, polymers, temperature, screener=screener, **options)
    with DaskCluster(dask, scheduler_file) as client:
        return screen(library, polymers, temperature, client, screener=screener, **options)


# ---- clusters ---------------------------------------------------------------------------------

class DaskCluster:
    """A Dask client for ``--dask local[:N]`` / ``--dask tcp://HOST:PORT`` / ``--dask-scheduler-file FILE``."""

    def __init__(self, address: str | None = None, scheduler_file: Path | str | None = None) -> None:
        try:
            import distributed
        except ImportError:
            raise ChiLiteError("--dask needs the dask extra: pip install 'chi-lite[dask]'") from None
        self.cluster = None
        if scheduler_file is not None:
            if not Path(scheduler_file).is_file():
                raise InputFileError(f"scheduler file {scheduler_file} does not exist")
            self.client = distributed.Client(scheduler_file=str(scheduler_file), timeout="30s")
        elif address is not None and (address == "local" or address.startswith("local:")):
            workers = _local_workers(address)
            self.cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, silence_logs=40)
            self.client = distributed.Client(self.cluster)
        elif address is not None and address.startswith(SCHEDULER_PREFIXES):
            try:
                self.client = distributed.Client(address, timeout="30s")
            except OSError as exc:
                raise ChiLiteError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        else:
            raise ChiLiteError(f"--dask must be local, local:N or a scheduler address like tcp://HOST:8786, not {address!r}")

    def __enter__(self) -> Any:
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


MAX_LOCAL_WORKERS = 256


def _local_workers(address: str) -> int:
    if address == "local":
        return os.cpu_count() or 1
    raw = address.split(":", 1)[1]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LOCAL_WORKERS:
        raise ChiLiteError(f"--dask local:N needs N between 1 and {MAX_LOCAL_WORKERS}, not {raw!r}")
    return int(raw)
