"""Extraction: a document's text to actors, events, conditions, quantities and citations."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import warnings
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policytrace.extract.version import EXTRACTOR_NAME, EXTRACTOR_VERSION

if TYPE_CHECKING:
    from policytrace.extract.extractor import extract_document

__all__ = ["EXTRACTOR_NAME", "EXTRACTOR_VERSION", "extract_document", "extractor_build"]

_HERE = Path(__file__).resolve().parent
# Written by the build (hatch_build.py) when it compiled the extractor's modules with mypyc.
_RECORD = _HERE / "_compiled.json"


class _SourceFinder(MetaPathFinder):
    """Loads the compiled modules from their .py source: Python prefers an extension module to a
    source file of the same name, and a mix of compiled and source modules must not happen (the
    compiled ones call each other directly)."""

    def __init__(self, modules: dict[str, str]) -> None:
        self.names = {f"{__name__}.{name}" for name in modules}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{fullname.rsplit('.', 1)[1]}.py")


def _choose_build() -> str:
    """'compiled', 'source' (not compiled, or POLICYTRACE_PURE_PYTHON=1) or 'stale source' (the
    source changed since it was compiled); for the last two the compiled files are passed over."""
    if not _RECORD.is_file():
        return "source"
    modules: dict[str, str] = json.loads(_RECORD.read_text(encoding="utf-8"))["modules"]
    if os.environ.get("POLICYTRACE_PURE_PYTHON", "").strip() not in ("", "0"):
        build = "source"
    else:
        changed = [
            name
            for name, digest in modules.items()
            if hashlib.sha256((_HERE / f"{name}.py").read_bytes()).hexdigest() != digest
        ]
        if not changed:
            return "compiled"
        build = "stale source"
        warnings.warn(
            f"policytrace: {', '.join(f'{n}.py' for n in changed)} changed since the extractor was compiled: "
            "running the Python source (slower). Reinstall (pip install -e .) to compile it again.",
            stacklevel=2,
        )
    sys.meta_path.insert(0, _SourceFinder(modules))
    return build


_BUILD = _choose_build()


def extractor_build() -> str:
    """How the extractor runs here: 'compiled' (mypyc), 'source', or 'stale source'."""
    if _BUILD == "compiled":
        # compiled for another Python: the import system takes the source
        spec = importlib.util.find_spec(f"{__name__}.extractor")
        if spec is None or str(spec.origin).endswith(".py"):
            return "source"
    return _BUILD


def __getattr__(name: str) -> Any:
    # The extractor loads spaCy (~90 MB): only on first use, so that reading the version does not.
    if name == "extract_document":
        from policytrace.extract.extractor import extract_document

        return extract_document
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
