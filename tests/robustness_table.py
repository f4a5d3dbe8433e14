"""Run the robustness suite and print the issue-13 table: cases tried / clean / tracebacks / hangs / data loss / security / wrong answers.

Every test (and parametrized case) in tests/test_robustness.py names its failure class
(traceback, hang, dataloss, security, wrong); a case that fails is counted in that column,
one that passes is clean. Property-based tests count once each (40 generated examples apiece).

    PYTHONPATH=runtime:train python tests/robustness_table.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

CLASSES = {"traceback": "tracebacks", "hang": "hangs", "dataloss": "data loss", "security": "security", "wrong": "wrong answers"}
HERE = Path(__file__).resolve().parent


def failure_class(name: str) -> str:
    """The class a test guards against, from its name (``test_hang__…`` or a ``[security-…]`` id)."""
    for key in CLASSES:
        if f"[{key}-" in name or f"test_{key}__" in name:
            return key
    raise SystemExit(f"{name} names no failure class ({', '.join(CLASSES)})")


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", str(HERE / "test_robustness.py"), "-q", "-p", "no:cacheprovider",
                        f"--junitxml={report}"], check=False)
        cases = ElementTree.parse(report).getroot().iter("testcase")
        counts = {key: 0 for key in CLASSES}
        tried = clean = 0
        failed_names = []
        for case in cases:
            if case.find("skipped") is not None:
                continue
            name = case.get("name", "")
            tried += 1
            if case.find("failure") is None and case.find("error") is None:
                clean += 1
            else:
                counts[failure_class(name)] += 1
                failed_names.append(name)
    header = ["cases tried", "clean", *CLASSES.values()]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print("| " + " | ".join(str(v) for v in [tried, clean, *counts.values()]) + " |")
    for name in failed_names:
        print(f"failed: {name}")
    return 0 if clean == tried else 1


if __name__ == "__main__":
    sys.exit(main())
