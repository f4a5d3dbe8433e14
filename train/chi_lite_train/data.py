"""Loading the χ data sets from ../shared/data (read in place, never copied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from chi_lite.artifact import sha256_of

from chi_lite.units import KELVIN_OFFSET
CHI_FILE = "mtl_chi/data_Chi.csv"
COSMO_FILE = "mtl_chi/data_COSMO.csv"
# Hansen δD, δP, δH (MPa^½): the solvents table first, the larger compounds table fills gaps.
HANSEN_FILES = (("hansen/hsp_solvents.csv", ("D", "P", "H")), ("hansen/hsp_compounds.csv", ("dD", "dP", "dH")))


@dataclass
class ChiData:
    """Experimental and COSMO-RS χ rows with one schema.

    Columns: row (id in the source file), pair (polymer_solvent key), polymer
    (repeat unit), solvent, temp_k, chi.
    """

    exp: pd.DataFrame
    cosmo: pd.DataFrame
    fingerprint: dict[str, str]
    hansen: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # canonical SMILES -> δD, δP, δH


def canonical(smiles: str) -> str | None:
    """RDKit canonical SMILES (None if unparsable): the key that joins Hansen tables to solvents."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    return Chem.MolToSmiles(mol) if mol is not None else None


def load_hansen(data_dir: Path) -> dict[str, tuple[float, float, float]]:
    """Hansen parameters by canonical SMILES, for the auxiliary solvent-encoder target."""
    table: dict[str, tuple[float, float, float]] = {}
    for name, cols in HANSEN_FILES:
        path = Path(data_dir) / name
        if not path.is_file():
            continue
        raw = pd.read_csv(path).dropna(subset=["SMILES", *cols])
        for smiles, *values in raw[["SMILES", *cols]].itertuples(index=False):
            key = canonical(smiles)
            if key is not None and key not in table:
                table[key] = tuple(float(v) for v in values)
    return table


def load_chi_data(data_dir: Path) -> ChiData:
    """Read data_Chi.csv and data_COSMO.csv.

    data_COSMO's repeat-unit column is empty almost everywhere (a known defect),
    so its rows take polymer and solvent from data_Chi through the shared
    cyclic ``ps_pair`` key.
    """
    data_dir = Path(data_dir)
    chi_path, cosmo_path = data_dir / CHI_FILE, data_dir / COSMO_FILE
    for path in (chi_path, cosmo_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: pass --data-dir pointing at shared/data")
    raw = pd.read_csv(chi_path, index_col=0)
    parts = raw["ps_pair_nonCyclic"].str.split("_", n=1, expand=True)
    exp = pd.DataFrame(
        {
            "row": raw.index.astype(int),
            "pair": raw["ps_pair_nonCyclic"],
            "polymer": parts[0],
            "solvent": parts[1],
            "temp_k": raw["temp"].astype(float) + KELVIN_OFFSET,
            "chi": raw["chi"].astype(float),
            "polymer_class": raw["polymer_class"].fillna(""),
        }
    ).reset_index(drop=True)
    key = raw.drop_duplicates("ps_pair").set_index("ps_pair")["ps_pair_nonCyclic"]
    craw = pd.read_csv(cosmo_path, index_col=0)
    pair = craw["ps_pair"].map(key)
    if pair.isna().any():
        raise ValueError(f"{int(pair.isna().sum())} COSMO rows have no matching pair in {CHI_FILE}")
    cparts = pair.str.split("_", n=1, expand=True)
    cosmo = pd.DataFrame(
        {
            "row": craw.index.astype(int),
            "pair": pair,
            "polymer": cparts[0],
            "solvent": cparts[1],
            "temp_k": craw["temp"].astype(float) + KELVIN_OFFSET,
            "chi": craw["chi"].astype(float),
        }
    ).reset_index(drop=True)
    fingerprint = {CHI_FILE: sha256_of(chi_path), COSMO_FILE: sha256_of(cosmo_path)}
    fingerprint.update({name: sha256_of(data_dir / name) for name, _ in HANSEN_FILES if (data_dir / name).is_file()})
    return ChiData(exp=exp, cosmo=cosmo, fingerprint=fingerprint, hansen=load_hansen(data_dir))


def training_domain(exp: pd.DataFrame) -> dict:
    """What the model has seen: counts, element set and polymer classes (for the card and `info`)."""
    from rdkit import Chem

    elements: set[str] = set()
    for smiles in set(exp["polymer"]) | set(exp["solvent"]):
        mol = Chem.MolFromSmiles(smiles)
        elements |= {a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() > 0}
    classes = exp.drop_duplicates("polymer")["polymer_class"].replace("", "unclassified").value_counts()
    return {
        "n_polymers": int(exp["polymer"].nunique()),
        "n_solvents": int(exp["solvent"].nunique()),
        "elements": sorted(elements, key=lambda s: Chem.GetPeriodicTable().GetAtomicNumber(s)),
        "polymer_classes": {str(k): int(v) for k, v in classes.items()},
    }
