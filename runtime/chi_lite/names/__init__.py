"""Common names → SMILES, so users can type ``toluene`` or ``PS`` instead of a SMILES.

The tables (solvents.csv, polymers.csv beside this file) are written for the
project: columns ``name``, ``aliases`` (``;``-separated) and ``smiles`` (for
polymers a repeat unit with two ``*``). Lookup ignores case and repeated spaces;
text that is not a name is taken as SMILES, and text that is neither gets an
error naming the closest known names.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import UnknownNameError

KINDS = ("solvents", "polymers")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NamedMolecule:
    name: str
    aliases: tuple[str, ...]
    smiles: str


def _key(text: str) -> str:
    return " ".join(text.strip().lower().split())


@lru_cache(maxsize=None)
def table(kind: str) -> tuple[NamedMolecule, ...]:
    """Every entry of one table, in file order."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    with open(_HERE / f"{kind}.csv", newline="", encoding="utf-8") as handle:
        return tuple(
            NamedMolecule(row["name"].strip(), tuple(a.strip() for a in row["aliases"].split(";") if a.strip()), row["smiles"].strip())
            for row in csv.DictReader(handle)
        )


@lru_cache(maxsize=None)
def _index(kind: str) -> dict[str, NamedMolecule]:
    index: dict[str, NamedMolecule] = {}
    for entry in table(kind):
        for label in (entry.name, *entry.aliases):
            index.setdefault(_key(label), entry)
    return index


def lookup(kind: str, text: str) -> NamedMolecule | None:
    """The entry whose name or alias is ``text`` (case-insensitive), else None."""
    return _index(kind).get(_key(text)) if isinstance(text, str) else None


def suggestions(kind: str, text: str, n: int = 3) -> list[str]:
    """The closest known names or aliases, for 'did you mean' messages."""
    index = _index(kind)
    close = difflib.get_close_matches(_key(text), list(index), n=n, cutoff=0.6)
    out = []
    for key in close:
        entry = index[key]
        label = entry.name if _key(entry.name) == key else f"{key} ({entry.name})"
        if label not in out:
            out.append(label)
    return out


def _parses(smiles: str) -> bool:
    from ..featurize.oligomer import _quiet_rdkit
    from rdkit import Chem

    _quiet_rdkit()
    mol = Chem.MolFromSmiles(smiles.strip())
    return mol is not None and mol.GetNumAtoms() > 0


@lru_cache(maxsize=65536)
def _resolve(kind: str, text: str) -> str:
    entry = lookup(kind, text)
    if entry is not None:
        return entry.smiles
    if not text.strip():
        return text  # the featurizer names the empty input
    if _parses(text):
        from ..featurize.chemistry import check_polymer, check_solvent

        (check_solvent if kind == "solvents" else check_polymer)(text)  # a polymer–solvent question at all?
        return text
    what = "solvent" if kind == "solvents" else "polymer"
    close = suggestions(kind, text)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; 'chi-lite names --kind {kind}' lists the known names"
    raise UnknownNameError(f"invalid {what} SMILES and no known {what} name: {text!r}{hint}")


def resolve_solvent(text: str) -> str:
    """A solvent name, alias or SMILES → SMILES. Raises UnknownNameError for neither."""
    return _resolve("solvents", text) if isinstance(text, str) else text


def resolve_polymer(text: str) -> str:
    """A polymer name, abbreviation or repeat-unit SMILES → repeat-unit SMILES. Raises UnknownNameError for neither."""
    return _resolve("polymers", text) if isinstance(text, str) else text


def search(kind: str, text: str | None = None) -> list[NamedMolecule]:
    """Entries whose name, an alias or SMILES contains ``text`` (case-insensitive); all without text."""
    if not text:
        return list(table(kind))
    needle = _key(text)
    return [e for e in table(kind) if any(needle in _key(s) for s in (e.name, *e.aliases, e.smiles))]
