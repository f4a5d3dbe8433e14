"""Build one offline install bundle of chi-lite for a platform and Python version.

    python tools/wheelhouse.py --wheel dist/chi_lite-0.1.0-py3-none-any.whl \
        --platform win_amd64 --python 3.11 [--plot] --out dist/wheelhouse

The bundle (a .zip for Windows, a .tar.gz otherwise) holds the wheels, requirements.txt with
their SHA-256 hashes, an install script that makes a venv and installs with --no-index
--require-hashes, INSTALL.txt, every wheel's licence files, a CycloneDX SBOM and a licence
report, and SHA256SUMS of all of it. Downloaded wheels are kept in --cache for quick reruns.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).resolve().parent))
from target_pip import PLATFORM_TAGS, PYTHONS, Target, run_pip  # noqa: E402
from wheel_licences import extract_licence_files, licence_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "wheelhouse_templates"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "chi-lite-wheelhouse"
INSTALLERS = {"win_amd64": ("install.bat", "install.ps1")}
POSIX_INSTALLERS = ("install.sh",)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def target_constraints(target: Target, base: Path, overrides: Path) -> str:
    """train/constraints.txt's pins, each replaced by an override whose marker holds on the target."""
    chosen: dict[str, str] = {}
    for path, is_override in ((base, False), (overrides, True)):
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line:
                continue
            requirement = Requirement(line)
            if is_override and requirement.marker and not requirement.marker.evaluate(target.markers):
                continue
            requirement.marker = None
            chosen[canonicalize_name(requirement.name)] = str(requirement)
    return "".join(f"{pin}\n" for pin in sorted(chosen.values(), key=str.lower))


def resolve(target: Target, requirement: str, constraints: Path, work: Path) -> list[dict]:
    """pip's resolution for the target (its tags and its markers): one report entry per wheel."""
    report = work / "report.json"
    done = run_pip(target, ["install", "--dry-run", "--ignore-installed", "--quiet", "--disable-pip-version-check",
                            "--target", str(work / "unused"), *target.pip_options(), "-c", str(constraints),
                            "--report", str(report), requirement], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: no complete set of wheels for {target.platform} / Python {target.python}:\n"
                         + (done.stdout + done.stderr).strip()[-3000:])
    return json.loads(report.read_text())["install"]


def _expected_sha256(item: dict) -> str | None:
    archive = item["download_info"].get("archive_info", {})
    if "sha256" in archive.get("hashes", {}):
        return archive["hashes"]["sha256"]
    kind, _, value = archive.get("hash", "").partition("=")
    return value if kind == "sha256" else None


def fetch(target: Target, items: list[dict], cache: Path) -> list[Path]:
    """Every resolved wheel in CACHE (downloaded once, then reused), its hash checked."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels, missing = [], []
    for item in items:
        url = urllib.parse.urlparse(item["download_info"]["url"])
        expected = _expected_sha256(item)
        if url.scheme == "file":  # chi-lite itself, or a local index: used where it is
            local = Path(urllib.request.url2pathname(url.path))
        else:
            local = cache / urllib.parse.unquote(Path(url.path).name)
        if url.scheme != "file" and local.exists() and expected and sha256(local) != expected:
            local.unlink()  # a damaged or stale download: fetch it again
        if not local.exists():
            missing.append(f"{item['metadata']['name']} @ {url.geturl()}")
        wheels.append((local, expected))
    if missing:
        done = run_pip(target, ["download", "--no-deps", "--quiet", "--disable-pip-version-check", "--dest", str(cache),
                                *target.pip_options(), *missing], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit("error: downloading wheels failed:\n" + (done.stdout + done.stderr).strip()[-3000:])
    for local, expected in wheels:
        if expected and sha256(local) != expected:
            raise SystemExit(f"error: {local} does not match the index's sha256 {expected}; delete it and rerun")
    return [local for local, _ in wheels]


def write_requirements(wheels: list[Path], path: Path) -> None:
    """name==version --hash=sha256:… for every wheel: what `pip install --require-hashes` checks."""
    lines = []
    for wheel in sorted(wheels, key=lambda w: w.name.lower()):
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{canonicalize_name(name)}=={version} --hash=sha256:{sha256(wheel)}\n")
    path.write_text("# Every wheel in wheels/, pinned and hashed; install with --no-index --require-hashes.\n" + "".join(lines))


def write_licences(wheels: list[Path], bundle: Path) -> None:
    """licenses/<wheel>/ holds each wheel's licence files; LICENSES.txt lists each declared licence."""
    rows = []
    for wheel in sorted(wheels, key=lambda w: w.name.lower()):
        name, version = wheel.name.split("-")[:2]
        files = extract_licence_files(wheel, bundle / "licenses" / f"{name}-{version}")
        rows.append(f"{name} {version}\t{licence_of(wheel)}\t{len(files)} file(s) in licenses/{name}-{version}/\n")
    (bundle / "LICENSES.txt").write_text("# Package, declared licence (from the wheel's metadata), licence files shipped\n" + "".join(rows))


def _metadata_env(wheels: list[Path], work: Path) -> Path:
    """A pip-less venv whose site-packages holds the unpacked wheels: tools read their metadata there."""
    env = work / "metadata-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site, [n for n in archive.namelist() if ".dist-info/" in n])
    return python


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"error: {name} not found; install the wheelhouse extra: pip install -e '.[wheelhouse]'")
    return found


def write_sbom_and_report(wheels: list[Path], bundle: Path, work: Path) -> None:
    """sbom.cdx.json (cyclonedx-py) and licence-report.md (pip-licenses) of exactly the bundled wheels."""
    python = _metadata_env(wheels, work)
    subprocess.run([_tool("cyclonedx-py"), "environment", str(python), "--pyproject", str(ROOT / "pyproject.toml"),
                    "--of", "JSON", "--output-reproducible", "-o", str(bundle / "sbom.cdx.json")],
                   check=True, capture_output=True)
    subprocess.run([_tool("pip-licenses"), "--python", str(python), "--from", "mixed", "--format", "markdown",
                    "--with-urls", "--order", "name", "--output-file", str(bundle / "licence-report.md")],
                   check=True, capture_output=True)


def write_installers(target: Target, bundle: Path, name: str) -> None:
    values = {"@PYTHON@": target.python, "@BUNDLE@": name, "@PLATFORM@": target.platform}
    windows = target.platform in INSTALLERS
    scripts = INSTALLERS.get(target.platform, POSIX_INSTALLERS)
    guide = "INSTALL-windows.txt" if windows else "INSTALL-posix.txt"
    for template, out in [*((s, s) for s in scripts), (guide, "INSTALL.txt")]:
        text = (TEMPLATES / template).read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        path = bundle / out
        path.write_bytes(text.replace("\n", "\r\n").encode() if windows else text.encode())
        if out.endswith(".sh"):
            path.chmod(0o755)


def write_sha256sums(bundle: Path) -> None:
    """SHA256SUMS in `sha256sum -c` format, every file but itself."""
    files = sorted(p for p in bundle.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    (bundle / "SHA256SUMS").write_text("".join(f"{sha256(p)}  {p.relative_to(bundle).as_posix()}\n" for p in files))


def make_archive(bundle: Path, out_dir: Path, windows: bool) -> Path:
    files = sorted(p for p in bundle.rglob("*") if p.is_file())
    if windows:
        archive = out_dir / f"{bundle.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, f"{bundle.name}/{path.relative_to(bundle).as_posix()}")
    else:
        archive = out_dir / f"{bundle.name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tarred:
            tarred.add(bundle, arcname=bundle.name)
    return archive


def build(wheel: Path, target: Target, plot: bool, out_dir: Path, cache: Path) -> Path:
    """The whole bundle for TARGET, as one archive in OUT_DIR."""
    version = wheel.name.split("-")[1]
    name = f"chi-lite-{version}-{target.platform}-py{target.python}" + ("-plot" if plot else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wheelhouse-") as tmp:
        work = Path(tmp)
        constraints = work / "constraints.txt"
        constraints.write_text(target_constraints(target, ROOT / "train" / "constraints.txt",
                                                  Path(__file__).resolve().parent / "wheelhouse-overrides.txt"))
        items = resolve(target, f"{wheel.resolve()}[plot]" if plot else str(wheel.resolve()), constraints, work)
        wheels = fetch(target, items, cache)
        bundle = work / name
        (bundle / "wheels").mkdir(parents=True)
        for path in wheels:
            shutil.copyfile(path, bundle / "wheels" / path.name)
        staged = sorted((bundle / "wheels").iterdir())
        write_requirements(staged, bundle / "requirements.txt")
        write_licences(staged, bundle)
        write_sbom_and_report(staged, bundle, work)
        write_installers(target, bundle, name)
        write_sha256sums(bundle)
        return make_archive(bundle, out_dir, target.platform in INSTALLERS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="the chi-lite wheel (make wheel)")
    parser.add_argument("--platform", default="linux_x86_64", choices=sorted(PLATFORM_TAGS))
    parser.add_argument("--python", default="3.11", choices=PYTHONS)
    parser.add_argument("--plot", action="store_true", help="add the plot extra (matplotlib) for --plot")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "wheelhouse")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"downloaded wheels (default {DEFAULT_CACHE})")
    args = parser.parse_args(argv)
    if not args.wheel.is_file():
        parser.error(f"no chi-lite wheel at {args.wheel}; run `make wheel` first")
    archive = build(args.wheel, Target(args.platform, args.python), args.plot, args.out, args.cache)
    print(f"{archive} ({archive.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
