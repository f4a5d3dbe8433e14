"""The serve protocol, shared by `chi-lite serve --stdio` and `--http`.

A request is a JSON object ``{"id": …, "op": "predict" | "screen" | "info" | "health", …}``;
the answer is ``{"id": …, "result": …}`` or ``{"id": …, "error": "…"}``. Ops are
a dispatch table (``ChiService.ops``), so a new request type is one entry here
(plus one route in ``server.HTTP_ROUTES`` to reach it over HTTP).
Transport-free on purpose: tests drive it directly, and stdio and HTTP cannot
drift apart.
"""

from __future__ import annotations

import json
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .errors import ChiLiteError, RequestError
from .flory_huggins import check_chain_length

MAX_BATCH = 1000  # pairs per predict request; solvents per inline screen library
MAX_TOP = 1000  # ranked rows one screen answer may carry
MAX_REQUEST_BYTES = 1 << 20  # one stdio line or one HTTP body

_PAIR_FIELDS = ("polymer", "solvent", "temperature")
_ID_PATTERN = re.compile(r'"id"\s*:\s*(-?\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*")')


Op = Callable[[dict[str, Any]], Any]


class ChiService:
    """One loaded model behind the protocol's ops; safe to call from many threads."""

    def __init__(self, predictor: Any, *, max_batch: int = MAX_BATCH, screener: Any = None) -> None:
        """Serve ``predictor`` (a loaded ChiPredictor); batches larger than ``max_batch`` are refused.

        ``screener`` (a chi_lite.Screener built on the same predictor) enables the screen op.
        """
        self.predictor = predictor
        self.screener = screener
        self.max_batch = max_batch
        # The predictor's descriptor caches are OrderedDict LRUs: not safe to mutate from
        # two threads at once, so every call into it holds this lock.
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._served = 0
        self._count_lock = threading.Lock()
        self.ops: dict[str, Op] = {
            "predict": self.predict,
            "info": self.info,
            "health": self.health,
        }
        if screener is not None:
            self.ops["screen"] = self.screen
        from .web.ops import register  # phase, names, ops (web.ops imports this module)

        register(self)

    # --- entry points -------------------------------------------------------------------------

    def handle_line(self, line: str | bytes) -> dict[str, Any]:
        """Answer one raw request (a JSON text); never raises for bad input."""
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return {"id": salvage_id(line), "error": f"request is not valid JSON: {exc}"}
        return self.handle(request)

    def handle(self, request: Any, op: str | None = None) -> dict[str, Any]:
        """Answer one decoded request; ``op`` overrides the request's own (HTTP routes set it)."""
        request_id = request.get("id") if isinstance(request, dict) else None
        try:
            result = self.call(request, op)
        except ChiLiteError as exc:
            return {"id": request_id, "error": str(exc)}
        return {"id": request_id, "result": result}

    def call(self, request: Any, op: str | None = None) -> Any:
        """The result of one request; raises RequestError / ChiLiteError when it is refused."""
        if not isinstance(request, dict):
            raise RequestError(f"a request must be a JSON object, got {type(request).__name__}")
        name = op if op is not None else request.get("op")
        if name is None:
            raise RequestError(f"request has no 'op' (one of {', '.join(sorted(self.ops))})")
        handler = self.ops.get(name) if isinstance(name, str) else None
        if handler is None:
            raise RequestError(f"unknown op {name!r} (one of {', '.join(sorted(self.ops))})", status=404)
        result = handler(request)
        with self._count_lock:
            self._served += 1
        return result

    # --- ops ----------------------------------------------------------------------------------

    def predict(self, request: dict[str, Any]) -> Any:
        """One pair (polymer, solvent, temperature) → one result; ``pairs`` (a list) → results in order.

        Optional: ``kelvin`` (temperatures in K), ``chain_length`` N (adds the Flory–Huggins
        chi_critical, miscible and p_miscible_fh to every result).
        """
        kelvin = _kelvin(request)
        chain_length = _number_field(request, "chain_length")
        if chain_length is not None:
            chain_length = check_chain_length(chain_length)
        if "pairs" in request:
            _only(request, {"id", "op", "pairs", "kelvin", "chain_length"})
            return self._predict_many(request["pairs"], kelvin, chain_length)
        _only(request, {"id", "op", "kelvin", "chain_length", *_PAIR_FIELDS})
        problem = _pair_problem({k: request[k] for k in _PAIR_FIELDS if k in request})
        if problem:
            raise RequestError(problem)
        with self._lock:
            prediction = self.predictor.predict(
                request["polymer"], request["solvent"], request["temperature"], kelvin=kelvin
            )
        return _shape(prediction, chain_length)

    def _predict_many(self, pairs: Any, kelvin: bool, chain_length: float | None) -> list[dict[str, Any]]:
        """A result or an error for every pair, in order; a malformed pair fails alone."""
        if not isinstance(pairs, list) or not pairs:
            raise RequestError("'pairs' must be a non-empty list of {polymer, solvent, temperature} objects")
        if len(pairs) > self.max_batch:
            raise RequestError(f"{len(pairs)} pairs in one request; the limit is {self.max_batch}", status=413)
        rows = [_pair_row(p) for p in pairs]
        with self._lock:
            outcomes = iter(self.predictor.predict_many([r for r in rows if r is not None], kelvin=kelvin))
        results = []
        for pair, row in zip(pairs, rows):
            if row is None:
                given = {f: pair.get(f) for f in _PAIR_FIELDS} if isinstance(pair, dict) else {}
                results.append({**given, "error": _pair_problem(pair)})
                continue
            outcome = next(outcomes)
            results.append(_shape(outcome.result, chain_length) if outcome.ok else {**_echo(row), "error": outcome.error})
        return results

    def screen(self, request: dict[str, Any]) -> dict[str, Any]:
        """Rank solvents for one polymer (or several: a matrix ranked by the first).

        ``library`` is "builtin" (default) or ``solvents``, an inline list of SMILES or names;
        a server never reads library paths sent by its clients. Optional: ``temperature``
        (25 °C), ``kelvin``, ``top`` (10), ``sort`` (chi | p_miscible), ``chain_length``.
        """
        _only(request, {"id", "op", "polymer", "polymers", "library", "solvents", "temperature", "kelvin", "top",
                        "sort", "chain_length"})
        polymers = request.get("polymers", [request["polymer"]] if "polymer" in request else None)
        if not isinstance(polymers, list) or not polymers or not all(isinstance(p, str) for p in polymers):
            raise RequestError("give 'polymer' (a name or SMILES) or 'polymers' (a non-empty list of them)")
        if "polymer" in request and "polymers" in request:
            raise RequestError("give 'polymer' or 'polymers', not both")
        kelvin = _kelvin(request)
        temperature = _number_field(request, "temperature", 25.0)
        top = request.get("top", 10)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
            raise RequestError(f"'top' must be an integer from 1 to {MAX_TOP}")
        sort = request.get("sort", "chi")
        chain_length = _number_field(request, "chain_length")
        if "solvents" in request:
            if "library" in request:
                raise RequestError("give 'library' or 'solvents', not both")
            return self._screen_inline(request["solvents"], polymers, temperature, kelvin, top, sort, chain_length)
        library = request.get("library", "builtin")
        if library != "builtin":
            raise RequestError("'library' must be \"builtin\"; send other solvents inline as 'solvents': [...]")
        return self._screen(polymers, "builtin", temperature, kelvin, top, sort, chain_length)

    def _screen_inline(self, solvents: Any, *args: Any) -> dict[str, Any]:
        """An inline library goes through the same streaming path as a file; ``line`` is its 1-based position."""
        if not isinstance(solvents, list) or not solvents or not all(isinstance(s, str) for s in solvents):
            raise RequestError("'solvents' must be a non-empty list of SMILES or names")
        if len(solvents) > self.max_batch:
            raise RequestError(f"{len(solvents)} solvents in one request; the limit is {self.max_batch}", status=413)
        if any(not s.strip() or any(c in s for c in "\r\n") for s in solvents):
            raise RequestError("every entry of 'solvents' must be one non-empty line")
        with tempfile.TemporaryDirectory(prefix="chi-lite-serve-") as folder:
            path = Path(folder) / "library.smi"
            path.write_text("".join(_library_line(s.strip()) + "\n" for s in solvents), encoding="utf-8")
            return self._screen(args[0], path, *args[1:])

    def _screen(self, polymers, library, temperature, kelvin, top, sort, chain_length) -> dict[str, Any]:
        with self._lock:  # the screener shares the predictor's caches
            result = self.screener.screen(
                polymers, library, temperature, kelvin=kelvin, top=top, sort=sort, chain_length=chain_length
            )
        return {
            "polymers": result.polymers,
            "polymer_smiles": result.polymer_smiles,
            "temperature_k": result.temperature_k,
            "sort": result.sort,
            "rows_read": result.rows_read,
            "rows": result.rows,
            "bad_rows": [{"line": line, "error": error} for line, error in result.bad_rows],
        }

    def info(self, request: dict[str, Any]) -> dict[str, Any]:
        """The model card (the manifest, as `chi-lite info --format json` prints it)."""
        artifact = self.predictor.artifact
        return {"directory": str(artifact.directory), **artifact.manifest.to_dict()}

    def health(self, request: dict[str, Any]) -> dict[str, Any]:
        """Liveness plus what is loaded: cheap, touches no lock."""
        return {
            "status": "ok",
            "version": __version__,
            "model_sha256": self.predictor.artifact.sha256,
            "uptime_s": round(time.monotonic() - self._started, 3),
            "requests_served": self._served,
        }


def _library_line(text: str) -> str:
    """A known solvent name becomes "SMILES name", so its row shows both; anything else stays as sent."""
    from .names import lookup

    entry = lookup("solvents", text)
    return f"{entry.smiles} {text}" if entry is not None else text


def _shape(prediction: Any, chain_length: float | None) -> dict[str, Any]:
    """One result as JSON-ready data, with the Flory–Huggins verdict when a chain length was given."""
    out = prediction.to_dict()
    if chain_length is not None:
        out.update(prediction.miscibility(chain_length).to_dict())
    return out


def _is_number(value: Any) -> bool:
    """A JSON number or a numeric string (checked later); true/false are not numbers here."""
    return not isinstance(value, bool) and isinstance(value, (int, float, str))


def _number_field(request: dict[str, Any], name: str, default: Any = None) -> Any:
    value = request.get(name, default)
    if value is not None and not _is_number(value):
        raise RequestError(f"'{name}' must be a number")
    return value


def _kelvin(request: dict[str, Any]) -> bool:
    kelvin = request.get("kelvin", False)
    if not isinstance(kelvin, bool):
        raise RequestError("'kelvin' must be true or false")
    return kelvin


def _only(request: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(request) - allowed)
    if extra:
        raise RequestError(f"unknown field(s) {', '.join(map(repr, extra))} (allowed: {', '.join(sorted(allowed))})")


def _pair_problem(pair: Any) -> str:
    """Why ``pair`` is not a {polymer, solvent, temperature} object, or '' when it is."""
    if not isinstance(pair, dict):
        return f"a pair must be an object with {', '.join(_PAIR_FIELDS)}, got {type(pair).__name__}"
    missing = [f for f in _PAIR_FIELDS if f not in pair]
    if missing:
        return f"pair lacks {', '.join(missing)}"
    for name in ("polymer", "solvent"):
        if not isinstance(pair[name], str):
            return f"'{name}' must be a string"
    if not _is_number(pair["temperature"]):
        return "'temperature' must be a number"
    extra = sorted(set(pair) - set(_PAIR_FIELDS))
    if extra:
        return f"unknown pair field(s) {', '.join(map(repr, extra))}"
    return ""


def _pair_row(pair: Any) -> tuple[str, str, Any] | None:
    if _pair_problem(pair):
        return None
    return pair["polymer"], pair["solvent"], pair["temperature"]


def _echo(row: tuple[str, str, Any]) -> dict[str, Any]:
    return dict(zip(_PAIR_FIELDS, row))


def salvage_id(line: str | bytes) -> Any:
    """The id of a request that is not valid JSON, when a plain ``"id": …`` can still be read."""
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    match = _ID_PATTERN.search(text)
    if match is None:
        return None
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return None


def encode(response: dict[str, Any]) -> str:
    """One response as a single JSON line (non-finite floats become null: JSON has no NaN)."""
    try:
        return json.dumps(response, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(response), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
