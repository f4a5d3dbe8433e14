"""Protocol ops the page needs and any client may use: phase, names, ops.

They join ``ChiService.ops`` (so stdio answers them too) and ``server.HTTP_ROUTES``;
each validates its request like the built-in ops and runs under the service's model lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import RequestError
from ..service import _kelvin, _number_field, _only

if TYPE_CHECKING:
    from ..service import ChiService

MAX_PHASE_POINTS = 400  # temperatures in one phase answer: the page draws ~60, a client may want more

# path -> (method, op), merged into server.HTTP_ROUTES.
WEB_ROUTES: dict[str, tuple[str, str]] = {
    "/phase": ("POST", "phase"),
    "/names": ("GET", "names"),
    "/ops": ("GET", "ops"),
}


def register(service: "ChiService") -> None:
    """Add this module's ops to ``service`` (called once from ChiService.__init__)."""
    service.ops["phase"] = lambda request: phase(service, request)
    service.ops["names"] = names
    service.ops["ops"] = lambda request: list_ops(service, request)


def phase(service: "ChiService", request: dict[str, Any]) -> dict[str, Any]:
    """The Flory–Huggins phase diagram of one pair at ``chain_length``: `chi-lite phase --format json` plus its summary line.

    Fields: ``polymer``, ``solvent``, ``chain_length`` (required); ``tmin`` (0), ``tmax`` (150),
    ``points`` (61, at most MAX_PHASE_POINTS), ``kelvin`` (false: tmin/tmax in °C).
    """
    _only(request, {"id", "op", "polymer", "solvent", "chain_length", "tmin", "tmax", "points", "kelvin"})
    for name in ("polymer", "solvent"):
        if not isinstance(request.get(name), str):
            raise RequestError(f"'{name}' must be a string (a name or SMILES)")
    if "chain_length" not in request:
        raise RequestError("a phase diagram needs 'chain_length' (N, in solvent-sized segments)")
    chain_length = _number_field(request, "chain_length")
    tmin = _number_field(request, "tmin", 0)
    tmax = _number_field(request, "tmax", 150)
    points = request.get("points", 61)
    if isinstance(points, bool) or not isinstance(points, int) or not 2 <= points <= MAX_PHASE_POINTS:
        raise RequestError(f"'points' must be an integer from 2 to {MAX_PHASE_POINTS}")
    kelvin = _kelvin(request)
    with service._lock:  # the predictor's descriptor caches are not thread-safe
        diagram = service.predictor.phase_diagram(
            request["polymer"], request["solvent"], chain_length, tmin, tmax, points=points, kelvin=kelvin
        )
    return {**diagram.to_dict(), "description": diagram.critical.describe()}  # the CLI's "behaviour" line


def names(request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The built-in name tables ({"polymers": [...], "solvents": [...]}), optionally one ``kind``, for suggestions."""
    from ..names import KINDS, table

    _only(request, {"id", "op", "kind"})
    kind = request.get("kind")
    if kind is not None and kind not in KINDS:
        raise RequestError(f"'kind' must be one of {', '.join(KINDS)}")
    return {
        k: [{"name": e.name, "aliases": list(e.aliases), "smiles": e.smiles} for e in table(k)]
        for k in ([kind] if kind else KINDS)
    }


def list_ops(service: "ChiService", request: dict[str, Any]) -> dict[str, Any]:
    """What this server answers: its ops, HTTP routes and batch limit, so a client (the page) asks only what works."""
    from ..server import HTTP_ROUTES

    _only(request, {"id", "op"})
    return {
        "ops": sorted(service.ops),
        "max_batch": service.max_batch,
        "http": {path: {"method": method, "op": op} for path, (method, op) in HTTP_ROUTES.items() if op in service.ops},
    }
