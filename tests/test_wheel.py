"""The offline install path: `make wheelhouse`, then a fresh torch-free venv installs from it with --no-index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PS, TOLUENE = "*CC(*)c1ccccc1", "Cc1ccccc1"


def _offline_env() -> dict[str, str]:
    """pip settings of a site with no index: no config file, no find-links but the wheelhouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k not in ("CHI_LITE_MODEL", "CHI_LITE_THREADS")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.mark.slow
def test_wheelhouse_installs_offline_and_predicts_without_torch(tmp_path):
    # Build with this interpreter's pip (it may reach PyPI or its cache); everything after is offline.
    dist = tmp_path / "dist"
    subprocess.run(
        ["make", "-s", "-C", str(ROOT), "wheelhouse", f"DIST={dist}", f"BIN={Path(sys.executable).parent}"],
        check=True, capture_output=True, timeout=600,
    )
    house = dist / "wheelhouse"
    names = sorted(p.name.split("-")[0].lower() for p in house.glob("*.whl"))
    assert "chi_lite" in names and {"numpy", "onnxruntime", "rdkit", "click"} <= set(names)
    assert not {"torch", "onnx", "pandas"} & set(names)

    venv = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_ = venv / "bin"
    env = _offline_env()
    install = subprocess.run(
        [str(bin_ / "python"), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(house), "chi-lite"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert install.returncode == 0, install.stderr

    def chi_lite(*args: str, stdin: str | None = None) -> str:
        out = subprocess.run([str(bin_ / "chi-lite"), *args], input=stdin, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return out.stdout

    from chi_lite.predictor import ChiPredictor

    expected = ChiPredictor(ROOT / "artifacts").predict(PS, TOLUENE, 25)
    record = json.loads(chi_lite("predict", "--polymer", PS, "--solvent", TOLUENE, "--temperature", "25", "--format", "json"))
    assert record["chi"] == pytest.approx(expected.chi, abs=1e-6)
    card = json.loads(chi_lite("info", "--format", "json"))
    assert Path(card["directory"]).is_relative_to(venv) and card["files"]["chi_model.onnx"] == expected_sha(ROOT)
    assert "sha256" in chi_lite("info")
    answer = json.loads(chi_lite("serve", "--stdio", stdin=json.dumps(
        {"id": 1, "op": "predict", "polymer": PS, "solvent": TOLUENE, "temperature": 25}) + "\n"))
    assert answer["id"] == 1 and answer["result"]["chi"] == pytest.approx(expected.chi, abs=1e-6)

    page = subprocess.run(  # the browser page's files travel in the wheel
        [str(bin_ / "python"), "-c", "from chi_lite.web.static import PAGE_FILES, page_file, page_size; "
         "[page_file(n) for n, _ in PAGE_FILES.values()]; print(page_size())"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert page.returncode == 0 and 0 < int(page.stdout) < 100_000, page.stderr

    probe = subprocess.run(
        [str(bin_ / "python"), "-c",
         "import importlib.util as u; print([m for m in ('torch', 'onnx', 'pandas', 'chi_lite') if u.find_spec(m)])"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert probe.stdout.strip() == "['chi_lite']", probe.stderr


def expected_sha(root: Path) -> str:
    return json.loads((root / "artifacts" / "manifest.json").read_text())["files"]["chi_model.onnx"]
