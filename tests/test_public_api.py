"""The public API is what docs/api.md lists, typed (py.typed) and documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import chi_lite

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_and_method_has_a_docstring():
    missing = []
    for name in chi_lite.__all__:
        obj = getattr(chi_lite, name)
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, Exception):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if callable(target) and not inspect.getdoc(target):
                    missing.append(f"{name}.{attr}")
    assert missing == []


def test_api_page_lists_every_public_name_and_the_package_is_typed():
    readme = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = readme.split("Public names:", 1)[1].split("\n\n", 1)[0]
    assert [n for n in chi_lite.__all__ if not re.search(rf"`{n}`", section)] == []
    assert (ROOT / "runtime" / "chi_lite" / "py.typed").is_file()
