"""Run pip for another machine: the platform tags AND the environment markers of the target.

`pip download/install --platform … --python-version …` picks wheels by the target's tags but
evaluates environment markers (`colorama; platform_system == "Windows"`, `python_version < "3.11"`)
against the interpreter running pip (pypa/pip#11664). A Windows bundle built that way on Linux
would silently lack Windows-only dependencies. So pip runs in a child interpreter whose vendored
`packaging.markers.default_environment` returns the target's markers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

# Oldest OS each bundle supports: manylinux_2_28 (glibc 2.28: RHEL 8, Debian 10, Ubuntu 20.04), macOS 11.
# pip (23.x) does not widen a manylinux tag to older glibc versions, so every accepted tag is listed.
PLATFORM_TAGS = {
    "linux_x86_64": [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)] + ["manylinux2014_x86_64"],
    "win_amd64": ["win_amd64"],
    "macosx_arm64": ["macosx_11_0_arm64", "macosx_11_0_universal2"],
}
_MARKERS = {
    "linux_x86_64": {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    "win_amd64": {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
    "macosx_arm64": {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
}
PYTHONS = ("3.10", "3.11", "3.12")

_BOOT = """
import json, sys
import pip._vendor.packaging.markers as markers
target = json.loads(sys.argv[1])
markers.default_environment = lambda: dict(target)
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


@dataclass(frozen=True)
class Target:
    """One bundle's machine: a platform name of PLATFORM_TAGS and a CPython version 'X.Y'."""

    platform: str
    python: str

    def __post_init__(self) -> None:
        if self.platform not in PLATFORM_TAGS:
            raise SystemExit(f"error: unknown platform {self.platform!r}; choose one of {', '.join(PLATFORM_TAGS)}")
        if self.python not in PYTHONS:
            raise SystemExit(f"error: unsupported Python {self.python!r}; choose one of {', '.join(PYTHONS)}")

    @property
    def markers(self) -> dict[str, str]:
        """PEP 508 environment of a CPython X.Y.0 on the target."""
        return {
            **_MARKERS[self.platform],
            "python_version": self.python,
            "python_full_version": f"{self.python}.0",
            "implementation_name": "cpython",
            "implementation_version": f"{self.python}.0",
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_version": "",
        }

    def pip_options(self) -> list[str]:
        """pip's tag options: binary wheels only, for this platform and interpreter."""
        tags = [option for tag in PLATFORM_TAGS[self.platform] for option in ("--platform", tag)]
        return [*tags, "--python-version", self.python, "--implementation", "cp", "--only-binary=:all:"]


def run_pip(target: Target, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """`python -m pip ARGS` as the target machine would evaluate markers (tag options not added)."""
    command = [sys.executable, "-c", _BOOT, json.dumps(target.markers), *args]
    return subprocess.run(command, **kwargs)
