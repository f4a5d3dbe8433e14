"""The runtime never needs torch or onnx: checked on the source and on a live process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .shared_data import heavy_modules_after

RUNTIME = Path(__file__).resolve().parent.parent / "runtime" / "chi_lite"
FORBIDDEN = re.compile(r"^\s*(import|from)\s+(torch|onnx|chi_lite_train)\b", re.MULTILINE)


def test_runtime_source_imports_no_torch_onnx_or_training_code():
    offenders = [str(p) for p in RUNTIME.rglob("*.py") if FORBIDDEN.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_predicting_leaves_torch_and_onnx_unimported(tiny_model_dir):
    _, loaded = heavy_modules_after(
        "import chi_lite\n"
        "from chi_lite import ChiPredictor\n"
        f"p = ChiPredictor({str(tiny_model_dir)!r})\n"
        "p.predict('*CC(*)c1ccccc1', 'Cc1ccccc1', 25)\n"
        "p.predict_many([('*CCO*', 'O', 30)])\n"
        "from chi_lite.screening import Screener\n"
        f"Screener({str(tiny_model_dir)!r}).screen(['PS'], 'builtin', 25, top=3)\n"
        "from chi_lite.cli import predict, info, screen, names, serve\n"
        "from chi_lite import ChiService, server\n"
    )
    assert loaded == []


def test_import_is_light():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, chi_lite; print(sorted(m for m in ('rdkit', 'onnxruntime', 'numpy') if m in sys.modules))"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.stdout.strip() == "[]"


def _imported_modules(path: Path) -> set[str]:
    """Runtime modules a source file imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    import ast

    package = ".".join(("chi_lite",) + path.relative_to(RUNTIME).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found.add(target)
    return found


def test_phase_and_predictor_do_not_import_each_other():
    """phase.py works on any χ(T) source (a protocol); only predictor.py depends on the other."""
    assert "chi_lite.predictor" not in _imported_modules(RUNTIME / "phase.py")
    assert "chi_lite.phase" in _imported_modules(RUNTIME / "predictor.py")


def test_a_local_screen_never_imports_dask_or_pyarrow(tiny_model_dir, tmp_path):
    """The dask extra is optional: without --dask or a Parquet file, neither it nor pyarrow is loaded."""
    library = tmp_path / "lib.csv"
    library.write_text("smiles,name\nCc1ccccc1,toluene\nO,water\n")
    _, loaded = heavy_modules_after(
        "import chi_lite, pickle\n"
        "from chi_lite.screening import Screener\n"
        f"s = Screener({str(tiny_model_dir)!r})\n"
        f"s.screen(['PS'], {str(library)!r}, 25, top=1)\n"
        "pickle.loads(pickle.dumps(s))\n"
        "from chi_lite.cli import screen\n"
        "from chi_lite.cli import main\n"
        "try:\n"
        f"    main(['screen', '--polymer', 'PS', '--library', {str(library)!r}, '--model', {str(tiny_model_dir)!r}])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n",
        roots=("dask", "distributed", "pyarrow"),
    )
    assert loaded == []
