"""The offline install bundles (`make wheelhouse`): complete, checksummed, licensed, installable offline.

Building needs the package index (wheels are cached in ~/.cache/chi-lite-wheelhouse); everything
after the build is offline. Windows and macOS bundles cannot be installed here, so pip resolves
them for their platform from the bundle alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from target_pip import Target, run_pip  # noqa: E402
from wheelhouse import sha256, target_constraints  # noqa: E402

PS, TOLUENE = "*CC(*)c1ccccc1", "Cc1ccccc1"
TEMPLATES = ROOT / "tools" / "wheelhouse_templates"
TRAINING_ONLY = {"torch", "onnx", "pandas"}


def _offline_env() -> dict[str, str]:
    """pip settings of a site with no index: no config file, no find-links but the bundle's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in ("CHI_LITE_MODEL", "CHI_LITE_THREADS", "PYTHONPATH")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Build-once cache: platform → unpacked bundle directory (Python 3.11, plot extra for Linux)."""
    dist = tmp_path_factory.mktemp("dist")
    built: dict[str, Path] = {}

    def bundle(platform: str) -> Path:
        if platform not in built:
            plot = ["PLOT=1"] if platform == "linux_x86_64" else []
            subprocess.run(["make", "-s", "-C", str(ROOT), "wheelhouse", f"DIST={dist}", f"BIN={Path(sys.executable).parent}",
                            f"PLATFORM={platform}", "PYTHON=3.11", *plot], check=True, capture_output=True, timeout=900)
            (archive,) = (dist / "wheelhouse").glob(f"chi-lite-*-{platform}-py3.11*")
            assert archive.name.endswith(".zip" if platform == "win_amd64" else ".tar.gz")
            unpacked = dist / f"unpacked-{platform}"
            (zipfile.ZipFile(archive) if archive.suffix == ".zip" else tarfile.open(archive)).extractall(unpacked)
            (built[platform],) = unpacked.iterdir()
        return built[platform]

    return bundle


def _wheel_names(bundle: Path) -> set[str]:
    return {w.name.split("-")[0].lower().replace("_", "-") for w in (bundle / "wheels").glob("*.whl")}


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["win_amd64", "macosx_arm64", "linux_x86_64"])
def test_bundle_is_checksummed_licensed_and_has_an_sbom(bundles, platform):
    bundle = bundles(platform)
    names = _wheel_names(bundle)
    assert {"chi-lite", "numpy", "onnxruntime", "rdkit", "click"} <= names and not TRAINING_ONLY & names
    installers = {"install.bat", "install.ps1"} if platform == "win_amd64" else {"install.sh"}
    assert installers | {"INSTALL.txt", "requirements.txt", "SHA256SUMS", "LICENSES.txt", "licence-report.md",
                         "sbom.cdx.json"} <= {p.name for p in bundle.iterdir()}

    sums = dict(line.split("  ")[::-1] for line in (bundle / "SHA256SUMS").read_text().splitlines())
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(sums) == files and all(sha256(bundle / path) == digest for path, digest in sums.items())

    hashed = [line for line in (bundle / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert len(hashed) == len(names) and all("--hash=sha256:" in line for line in hashed)

    listed = {line.split()[0].lower().replace("_", "-") for line in (bundle / "LICENSES.txt").read_text().splitlines()[1:]}
    assert listed == names and "UNKNOWN" not in (bundle / "LICENSES.txt").read_text()
    assert any((bundle / "licenses").rglob("*LICENSE*"))
    report = (bundle / "licence-report.md").read_text().lower()
    assert all(f"| {name} " in report for name in names - {"chi-lite"})

    sbom = json.loads((bundle / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["metadata"]["component"]["name"] == "chi-lite"
    components = {c["name"].lower().replace("_", "-") for c in sbom["components"]}
    assert names - {"chi-lite"} <= components


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["win_amd64", "macosx_arm64"])
def test_bundle_resolves_completely_for_its_platform(bundles, platform, tmp_path):
    bundle = bundles(platform)
    target = Target(platform, "3.11")
    # The plain pip check of the issue: chi-lite and all its dependencies from the bundle alone.
    plain = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index",
         "--find-links", str(bundle / "wheels"), *target.pip_options(), "--target", str(tmp_path / "t1"), "chi-lite"],
        capture_output=True, text=True, timeout=300, env=_offline_env(),
    )
    assert plain.returncode == 0 and "Would install" in plain.stdout, plain.stderr
    # What the install script runs, with the target's markers (Windows-only dependencies
    # included): every hash checks, and the bundle holds exactly what is installed.
    report = tmp_path / "report.json"
    hashed = run_pip(target, ["install", "--dry-run", "--ignore-installed", "--no-index", "--find-links", str(bundle / "wheels"),
                              *target.pip_options(), "--target", str(tmp_path / "t2"), "--require-hashes",
                              "-r", str(bundle / "requirements.txt"), "--report", str(report)],
                     capture_output=True, text=True, timeout=300, env=_offline_env())
    assert hashed.returncode == 0, hashed.stderr
    installed = {item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(report.read_text())["install"]}
    assert installed == _wheel_names(bundle)


@pytest.mark.slow
def test_linux_bundle_installs_offline_and_predicts_without_torch(bundles, tmp_path):
    bundle = bundles("linux_x86_64")
    venv = tmp_path / "site"
    env = {**_offline_env(), "PYTHON": sys.executable}
    install = subprocess.run(["sh", str(bundle / "install.sh"), str(venv)], capture_output=True, text=True, timeout=900, env=env)
    assert install.returncode == 0, install.stderr
    again = subprocess.run(["sh", str(bundle / "install.sh"), str(venv)], capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 2 and again.stderr.startswith("error:") and "already exists" in again.stderr
    bin_ = venv / "bin"

    def chi_lite(*args: str, stdin: str | None = None) -> str:
        out = subprocess.run([str(bin_ / "chi-lite"), *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return out.stdout

    from chi_lite.predictor import ChiPredictor

    expected = ChiPredictor(ROOT / "artifacts").predict(PS, TOLUENE, 25)
    record = json.loads(chi_lite("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--format", "json"))
    assert record["chi"] == pytest.approx(expected.chi, abs=1e-6)
    card = json.loads(chi_lite("info", "--format", "json"))
    shipped = json.loads((ROOT / "artifacts" / "manifest.json").read_text())["files"]["chi_model.onnx"]
    assert Path(card["directory"]).is_relative_to(venv) and card["files"]["chi_model.onnx"] == shipped
    answer = json.loads(chi_lite("serve", "--stdio", stdin=json.dumps(
        {"id": 1, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25}) + "\n"))
    assert answer["id"] == 1 and answer["result"]["chi"] == pytest.approx(expected.chi, abs=1e-6)
    page = subprocess.run(  # the browser page's files travel in the wheel
        [str(bin_ / "python"), "-c", "from chi_lite.web.static import PAGE_FILES, page_file, page_size; "
         "[page_file(n) for n, _ in PAGE_FILES.values()]; print(page_size())"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert page.returncode == 0 and 0 < int(page.stdout) < 100_000, page.stderr
    # PLOT=1: --plot works offline too.
    chi_lite("phase", "--polymer", "polystyrene", "--solvent", "cyclohexane", "--chain-length", "1000", "--plot", str(tmp_path / "phase.png"))
    assert (tmp_path / "phase.png").stat().st_size > 1000

    probe = subprocess.run(
        [str(bin_ / "python"), "-c",
         "import importlib.util as u; print([m for m in ('torch', 'onnx', 'pandas', 'chi_lite') if u.find_spec(m)])"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert probe.stdout.strip() == "['chi_lite']", probe.stderr


def test_install_sh_passes_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed (apt-get install shellcheck; .ci/run tries to)")
    lint = subprocess.run(["shellcheck", "--shell=sh", str(TEMPLATES / "install.sh")], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize("installer", ["install.sh", "install.ps1"])
def test_installers_install_only_hashed_wheels_from_the_bundle(installer):
    text = (TEMPLATES / installer).read_text()
    for flag in ("--no-index", "--find-links", "--require-hashes", "--isolated", "requirements.txt", "already exists"):
        assert flag in text, f"{installer} lacks {flag}"
    assert "install.ps1" in (TEMPLATES / "install.bat").read_text()


def test_constraints_follow_the_target_not_this_machine():
    base, overrides = ROOT / "train" / "constraints.txt", ROOT / "tools" / "wheelhouse-overrides.txt"

    def pins(platform: str, python: str) -> dict[str, str]:
        text = target_constraints(Target(platform, python), base, overrides)
        return dict(line.split("==") for line in text.splitlines())

    linux, win310, mac = pins("linux_x86_64", "3.11"), pins("win_amd64", "3.10"), pins("macosx_arm64", "3.12")
    assert linux["numpy"] != "2.2.6"
    assert win310["numpy"] == "2.2.6" and win310["onnxruntime"] == "1.23.2"
    assert mac["onnxruntime"] == "1.19.2" and mac["numpy"] == linux["numpy"]
    assert linux["onnxruntime"] == dict(l.split("==") for l in base.read_text().split())["onnxruntime"]
