"""What a wheel says about its licence, read from its own metadata (no install, any platform)."""

from __future__ import annotations

import zipfile
from email.parser import Parser
from pathlib import Path

_LICENCE_NAMES = ("licen", "copying", "notice")
_NOT_LICENCE_TEXT = (".py", ".pyc", ".pyi", ".so", ".pyd", ".dll", ".dylib")


def _dist_info(archive: zipfile.ZipFile) -> str:
    return next(name.split("/")[0] for name in archive.namelist() if name.split("/")[0].endswith(".dist-info"))


def licence_of(wheel: Path) -> str:
    """The wheel's declared licence: License-Expression, else License, else the licence classifiers."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = Parser().parsestr(archive.read(f"{_dist_info(archive)}/METADATA").decode("utf-8"))
    if metadata.get("License-Expression"):
        return metadata["License-Expression"].strip()
    classifiers = [c.split("::")[-1].strip() for c in metadata.get_all("Classifier", []) if c.startswith("License ::")]
    licence = (metadata.get("License") or "").strip()
    if licence and "\n" not in licence and len(licence) < 100:
        return licence
    return "; ".join(classifiers) or (licence.splitlines()[0] if licence else "UNKNOWN")


def _is_licence_file(name: str) -> bool:
    base = name.rsplit("/", 1)[-1].lower()
    return bool(base) and any(k in base for k in _LICENCE_NAMES) and not base.endswith(_NOT_LICENCE_TEXT)


def extract_licence_files(wheel: Path, out_dir: Path) -> list[Path]:
    """Copy the licence and notice files the wheel ships (in .dist-info or beside its code) into OUT_DIR."""
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if _is_licence_file(name) or (".dist-info/licenses/" in name and not name.endswith("/")):
                target = out_dir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
                written.append(target)
    return written
