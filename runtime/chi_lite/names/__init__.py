"""Common names → SMILES, so users can type ``toluene`` or ``PS`` instead of a SMILES.

The tables (solvents.csv, polymers.csv beside this file) are written for the
project: columns ``name``, ``aliases`` (``;``-separated) and ``smiles`` (for
polymers a repeat unit with two ``*``). Lookup ignores case and repeated spaces;
text that is not a name is taken as SMILES. Text that is neither is matched once
more ignoring spaces, hyphens, commas, slashes and parentheses, so ``nylon-6``,
``nylon6``, ``nylon 6/6``, ``polyvinyl chloride`` and ``poly(vinyl chloride)`` find
their entry; text that still matches nothing gets an error naming the closest names.
"""

from __future__ import annotations

import csv
import difflib
import re
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


_PUNCTUATION = re.compile(r"[\s\-,/()\[\]'_.]+")


def _loose_key(text: str) -> str:
    """Lower case without spaces, hyphens, commas, slashes or brackets: 'Nylon-6,6' and 'nylon 66' agree."""
    return _PUNCTUATION.sub("", text.lower())


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


@lru_cache(maxsize=None)
def _loose_index(kind: str) -> dict[str, NamedMolecule]:
    """Loose keys that name exactly one entry (a loose key shared by two entries matches neither)."""
    index: dict[str, NamedMolecule] = {}
    shared: set[str] = set()
    for entry in table(kind):
        for label in (entry.name, *entry.aliases):
            key = _loose_key(label)
            if index.setdefault(key, entry) is not entry:
                shared.add(key)
    return {key: entry for key, entry in index.items() if key not in shared and key}


def lookup(kind: str, text: str) -> NamedMolecule | None:
    """The entry whose name or alias is ``text`` (case-insensitive), else None."""
    return _index(kind).get(_key(text)) if isinstance(text, str) else None


def loose_lookup(kind: str, text: str) -> NamedMolecule | None:
    """The entry whose name or alias equals ``text`` ignoring case, spaces, hyphens, commas, slashes and brackets."""
    return _loose_index(kind).get(_loose_key(text)) if isinstance(text, str) else None


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
    if not text.strip() or _parses(text):
        return text  # SMILES: the featurizer checks the chemistry and says what is wrong
    entry = loose_lookup(kind, text)  # after SMILES, so a SMILES is never read as a spelling of a name
    if entry is not None:
        return entry.smiles
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


@lru_cache(maxsize=65536)
def typed_name(kind: str, text: str) -> str | None:
    """The user's text, trimmed, when it names a known molecule (not a SMILES): what outputs echo."""
    if not isinstance(text, str) or lookup(kind, text) is None and (_parses(text) or loose_lookup(kind, text) is None):
        return None
    return " ".join(text.split())


def search(kind: str, text: str | None = None) -> list[NamedMolecule]:
    """Entries whose name, an alias or SMILES contains ``text`` (case-insensitive); all without text."""
    if not text:
        return list(table(kind))
    needle = _key(text)
    return [e for e in table(kind) if any(needle in _key(s) for s in (e.name, *e.aliases, e.smiles))]
